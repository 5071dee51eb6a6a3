import CBerth
import Foundation

/// A unix socket that receives a pty master the way conmon does for
/// --console-socket.
final class ConsoleSocket {
  let path: String
  let listener: Int32

  init(path: String) {
    self.path = path
    listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { buf in
      for (i, b) in path.utf8.enumerated() { buf[i] = b }
    }
    _ = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    listen(listener, 4)
  }

  deinit { close(listener) }

  /// Accepts one connection and returns the fd it carries (or -1).
  func receiveMaster() -> Int32 {
    let conn = accept(listener, nil, nil)
    guard conn >= 0 else { return -1 }
    defer { close(conn) }
    var buf = [CChar](repeating: 0, count: 256)
    return berth_recv_fd(conn, &buf, buf.count)
  }
}

/// Reads what arrives on `fd` until `marker` shows up or 5 s pass.
func readUntil(_ fd: Int32, _ marker: String) -> String {
  var out = ""
  var buf = [UInt8](repeating: 0, count: 4096)
  let deadline = Date().addingTimeInterval(5)
  while Date() < deadline && !out.contains(marker) {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, 200) > 0 else { continue }
    let n = read(fd, &buf, buf.count)
    if n <= 0 { break }
    out += String(decoding: buf[0..<n], as: UTF8.self)
  }
  return out
}
