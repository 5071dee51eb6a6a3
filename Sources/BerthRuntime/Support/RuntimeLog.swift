import BerthSystem
import Glibc
import Logging
import SystemPackage

/// A swift-log handler writing runc's log formats to `--log` (or stderr):
/// text as logrus prints it, or JSON lines {"level","msg","time"} that
/// conmon and containerd parse.
public struct RuntimeLogHandler: LogHandler {
  public enum Format: String, Sendable { case text, json }

  let fd: Int32
  let format: Format
  public var logLevel: Logger.Level
  public var metadata: Logger.Metadata = [:]

  public init(fd: Int32, format: Format, level: Logger.Level) {
    self.fd = fd
    self.format = format
    self.logLevel = level
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  static func levelName(_ level: Logger.Level) -> String {
    switch level {
    case .trace, .debug: "debug"
    case .info, .notice: "info"
    case .warning: "warning"
    case .error: "error"
    case .critical: "fatal"
    }
  }

  public func log(event: LogEvent) {
    let time = rfc3339Now()
    let level = Self.levelName(event.level)
    let line: String
    switch format {
    case .json:
      line =
        "{\"level\":\"\(level)\",\"msg\":\(jsonQuote(event.message.description)),\"time\":\"\(time)\"}\n"
    case .text:
      line = "time=\"\(time)\" level=\(level) msg=\(jsonQuote(event.message.description))\n"
    }
    try? FileDescriptor(rawValue: fd).writeFully(line, what: "log")
  }
}

/// A JSON string literal for `s` (quotes, backslashes and control characters escaped).
public func jsonQuote(_ s: String) -> String {
  var out = "\""
  for scalar in s.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case _ where scalar.value < 0x20:
      let hex = String(scalar.value, radix: 16)
      out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}
