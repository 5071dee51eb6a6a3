import BerthSystem
import CBerth
import Glibc

/// How the engine tells a monitor it started early (`berth-monitor
/// start-when-told`) which container to watch: one message on a socket
/// pair, the run directory, with the attach connection (if any) passed
/// along as SCM_RIGHTS. A channel closed before the message means there is
/// nothing to watch (the create failed, or the engine exited).
public enum PrestartChannel {
  /// A connected pair of SOCK_SEQPACKET sockets, close-on-exec: a message
  /// arrives whole, or not at all.
  public static func makePair() throws(BerthError) -> (engine: Int32, monitor: Int32) {
    let pair = try socketPair(SOCK_SEQPACKET)
    return (pair.0, pair.1)
  }

  public static func send(_ socket: Int32, runDirectory: String, attachFD: Int32?)
    throws(BerthError)
  {
    try check("cannot tell the monitor its container") {
      runDirectory.withCString { path in
        if let attachFD { return berth_send_fd(socket, attachFD, path, strlen(path)) }
        return Int32(Glibc.send(socket, path, strlen(path), Int32(MSG_NOSIGNAL)) < 0 ? -1 : 0)
      }
    }
  }

  /// The second message, when the monitor was told to await the rootfs.
  static let mountedWord = "rootfs mounted"

  /// Tells the monitor its container's rootfs is mounted.
  public static func sendRootfsMounted(_ socket: Int32) throws(BerthError) {
    try check("cannot tell the monitor the rootfs is mounted") {
      mountedWord.withCString { Int32(Glibc.send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL))) }
    }
  }

  /// Waits for `sendRootfsMounted`; an error when the channel closes first
  /// (the engine could not mount it, or exited).
  public static func awaitRootfsMounted(_ socket: Int32) throws(BerthError) {
    var buffer = [UInt8](repeating: 0, count: 64)
    while true {
      let got = recv(socket, &buffer, buffer.count, 0)
      if got < 0 && currentErrno == .interrupted { continue }
      guard got > 0, String(decoding: buffer[0..<got], as: UTF8.self) == mountedWord else {
        throw BerthError(.system, "the engine did not mount the container's rootfs")
      }
      return
    }
  }

  /// The run directory and attach connection (-1 for none), or nil when the
  /// channel closed (or failed) first.
  public static func receive(_ socket: Int32) -> (runDirectory: String, attachFD: Int32)? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    var fd: Int32 = -1
    let got = berth_recv_message(socket, &buffer, buffer.count - 1, &fd)
    guard got > 0 else {
      if fd >= 0 { close(fd) }
      return nil
    }
    let path = String(decoding: buffer[0..<Int(got)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return (path, fd)
  }
}
