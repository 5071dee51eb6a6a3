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
