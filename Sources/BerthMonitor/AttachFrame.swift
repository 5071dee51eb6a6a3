// The attach socket's framing, both ways: one kind byte, a 4-byte
// big-endian length, the payload. Frames keep stdout, stderr and the exit
// code apart on one stream socket (podman's attach socket does the same
// with a kind byte on a seqpacket socket).
import BerthSystem
import Glibc

public enum FrameKind: UInt8, Sendable {
  /// Client → monitor: bytes for the container's stdin.
  case stdin = 0
  case stdout = 1
  case stderr = 2
  /// Monitor → client: the container's exit code as decimal text; last frame.
  case exit = 3
  /// Client → monitor: the terminal size, "ROWS COLS".
  case resize = 4
  /// Client → monitor: the client's stdin ended.
  case closeStdin = 5
}

public enum AttachFrame {
  public static func encode(_ kind: FrameKind, _ payload: some Collection<UInt8>) -> [UInt8] {
    let length = UInt32(payload.count)
    var bytes: [UInt8] = [kind.rawValue]
    bytes.reserveCapacity(5 + payload.count)
    for shift in stride(from: 24, through: 0, by: -8) {
      bytes.append(UInt8(truncatingIfNeeded: length >> UInt32(shift)))
    }
    bytes.append(contentsOf: payload)
    return bytes
  }

  /// Splits complete frames off the front of `buffer`.
  public static func decode(_ buffer: inout [UInt8]) -> [(FrameKind, [UInt8])] {
    var frames: [(FrameKind, [UInt8])] = []
    var offset = 0
    while buffer.count - offset >= 5 {
      var length = 0
      for index in 1...4 { length = length << 8 | Int(buffer[offset + index]) }
      guard buffer.count - offset - 5 >= length else { break }
      let payload = Array(buffer[(offset + 5)..<(offset + 5 + length)])
      if let kind = FrameKind(rawValue: buffer[offset]) { frames.append((kind, payload)) }
      offset += 5 + length
    }
    if offset > 0 { buffer.removeFirst(offset) }
    return frames
  }
}

/// Unix socket paths can be longer than sun_path allows; going through the
/// directory's fd (/proc/self/fd/N/NAME) keeps them short.
public enum UnixSocket {
  public static func listen(directory: String, name: String) throws(BerthError) -> Int32 {
    try withShortPath(directory: directory, name: name) {
      (path: String) throws(BerthError) -> Int32 in
      let fd = try check("cannot create a socket") {
        socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      }
      unlink(path)
      var address = try makeAddress(path)
      let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
      }
      guard bound == 0, Glibc.listen(fd, 16) == 0 else {
        let error = currentErrno
        close(fd)
        throw .system("cannot listen on \(directory)/\(name)", error)
      }
      return fd
    }
  }

  public static func connect(directory: String, name: String) throws(BerthError) -> Int32 {
    try withShortPath(directory: directory, name: name) {
      (path: String) throws(BerthError) -> Int32 in
      let fd = try check("cannot create a socket") {
        socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      }
      var address = try makeAddress(path)
      let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
      }
      guard result == 0 else {
        let error = currentErrno
        close(fd)
        throw .system("cannot connect to \(directory)/\(name)", error)
      }
      return fd
    }
  }

  /// accept(2), the new fd close-on-exec.
  public static func accept(_ listener: Int32) -> Int32 {
    let fd = Glibc.accept(listener, nil, nil)
    if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return fd
  }

  private static func withShortPath<T>(
    directory: String, name: String, _ body: (String) throws(BerthError) -> T
  ) throws(BerthError) -> T {
    let full = directory + "/" + name
    if full.utf8.count < 100 { return try body(full) }
    let dirFD = try check("cannot open \(directory)") { open(directory, O_PATH | O_CLOEXEC) }
    defer { close(dirFD) }
    return try body("/proc/self/fd/\(dirFD)/\(name)")
  }

  private static func makeAddress(_ path: String) throws(BerthError) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      throw BerthError(.invalidArgument, "socket path \(path) is too long")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in bytes.enumerated() { raw[index] = byte }
    }
    return address
  }
}
