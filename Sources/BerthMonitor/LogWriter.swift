// The container log, in podman's k8s-file format by default: one line per
// chunk, "TIME STREAM P|F TEXT", P for a partial line (no newline yet), F
// for a full one. json-file writes docker's {"log","stream","time"} lines.
import BerthRuntime
import BerthSystem
import Glibc
import SystemPackage

public struct LogWriter {
  let driver: String
  let path: String
  let maxSize: Int64
  var fd: Int32 = -1
  var size: Int64 = 0

  public init(driver: String, path: String, maxSize: Int64) throws(BerthError) {
    self.driver = driver
    self.path = path
    self.maxSize = maxSize
    if driver == "k8s-file" || driver == "json-file" {
      fd = try check("cannot open the log \(path)") {
        open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
      }
      var st = stat()
      if fstat(fd, &st) == 0 { size = Int64(st.st_size) }
    }
  }

  /// Writes `bytes` of `stream` ("stdout" or "stderr"), a line at a time.
  public mutating func write(stream: String, _ bytes: ArraySlice<UInt8>) {
    if driver == "passthrough" {
      _ = try? FileDescriptor(rawValue: stream == "stderr" ? 2 : 1).writeFully(bytes, what: "log")
      return
    }
    guard fd >= 0 else { return }
    let time = rfc3339Now()
    var out: [UInt8] = []
    var start = bytes.startIndex
    while start < bytes.endIndex {
      let newline = bytes[start...].firstIndex(of: 0x0A)
      let end = newline ?? bytes.endIndex
      let text = bytes[start..<end]
      if driver == "json-file" {
        let line = String(decoding: text, as: UTF8.self) + (newline == nil ? "" : "\n")
        out += Array(
          "{\"log\":\(jsonQuote(line)),\"stream\":\"\(stream)\",\"time\":\"\(time)\"}\n".utf8)
      } else {
        out += Array("\(time) \(stream) \(newline == nil ? "P" : "F") ".utf8)
        out += text
        out.append(0x0A)
      }
      start = newline.map { bytes.index(after: $0) } ?? bytes.endIndex
    }
    if maxSize > 0 && size + Int64(out.count) > maxSize {
      // As conmon: the log starts over when it would pass max-size.
      _ = ftruncate(fd, 0)
      size = 0
    }
    if (try? FileDescriptor(rawValue: fd).writeFully(out, what: "log")) != nil {
      size += Int64(out.count)
    }
  }
}
