// Reading a container's log (k8s-file or json-file) for `berth logs`.
import BerthMonitor
import BerthSystem
import FoundationEssentials
import Glibc
import SystemPackage

public struct LogLine: Sendable {
  public var time: String
  public var stream: String
  /// False for a chunk without its newline yet (k8s-file's P).
  public var complete: Bool
  public var text: [UInt8]
}

public enum LogParser {
  /// Parses complete lines of `bytes`; returns them and how many bytes they used.
  public static func parse(_ bytes: ArraySlice<UInt8>, driver: String) -> ([LogLine], Int) {
    var lines: [LogLine] = []
    var start = bytes.startIndex
    while let newline = bytes[start...].firstIndex(of: 0x0A) {
      let line = bytes[start..<newline]
      start = newline + 1
      if driver == "json-file" {
        struct Entry: Decodable {
          var log: String
          var stream: String
          var time: String
        }
        if let entry = try? JSONDecoder().decode(Entry.self, from: Data(line)) {
          let complete = entry.log.hasSuffix("\n")
          lines.append(
            LogLine(
              time: entry.time, stream: entry.stream, complete: complete,
              text: Array((complete ? String(entry.log.dropLast()) : entry.log).utf8)))
        }
        continue
      }
      let fields = line.split(separator: 0x20, maxSplits: 3, omittingEmptySubsequences: false)
      guard fields.count >= 3 else { continue }
      lines.append(
        LogLine(
          time: String(decoding: fields[0], as: UTF8.self),
          stream: String(decoding: fields[1], as: UTF8.self),
          complete: fields[2].first != UInt8(ascii: "P"),
          text: fields.count > 3 ? Array(fields[3]) : []))
    }
    return (lines, start - bytes.startIndex)
  }

  /// RFC 3339 time → Unix nanoseconds (for --since/--until).
  public static func nanoseconds(rfc3339 text: String) -> Int64? {
    let bytes = Array(text.utf8)
    guard bytes.count >= 20 else { return nil }
    func number(_ range: Range<Int>) -> Int64? {
      Int64(String(decoding: bytes[range], as: UTF8.self))
    }
    guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
      let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
    else { return nil }
    var index = 19
    var fraction: Int64 = 0
    if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
      index += 1
      var digits = 0
      while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
        if digits < 9 { fraction = fraction * 10 + Int64(bytes[index] - 48) }
        digits += 1
        index += 1
      }
      for _ in digits..<9 where digits < 9 { fraction *= 10 }
    }
    var offset: Int64 = 0
    if index < bytes.count
      && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")),
      index + 6 <= bytes.count, let h = number((index + 1)..<(index + 3)),
      let m = number((index + 4)..<(index + 6))
    {
      offset = (h * 3600 + m * 60) * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    return seconds * 1_000_000_000 + fraction
  }

  /// `--since`/`--until`: an RFC 3339 time, a Unix time, or a duration
  /// before now such as 10m, 1h30m, 45s.
  public static func parseTime(_ text: String) throws(BerthError) -> Int64 {
    if let time = nanoseconds(rfc3339: text) { return time }
    if let unix = Double(text) { return Int64(unix * 1e9) }
    var total: Double = 0
    var number = ""
    for char in text {
      if char.isNumber || char == "." {
        number.append(char)
        continue
      }
      guard let value = Double(number) else { break }
      switch char {
      case "h": total += value * 3600
      case "m": total += value * 60
      case "s": total += value
      default:
        throw BerthError(
          .invalidArgument, "invalid time \"\(text)\"",
          hint: "use RFC 3339, a Unix time or a duration like 10m")
      }
      number = ""
    }
    guard number.isEmpty, total > 0 else {
      throw BerthError(
        .invalidArgument, "invalid time \"\(text)\"",
        hint: "use RFC 3339, a Unix time or a duration like 10m")
    }
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return (Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)) - Int64(total * 1e9)
  }
}

public struct LogOptions: Sendable {
  public var follow = false
  public var since: Int64?
  public var until: Int64?
  public var tail: Int?
  public var timestamps = false
  public init() {}
}

extension Engine {
  /// Writes the container's log to stdout/stderr; with `follow`, until the
  /// container stops.
  public func printLogs(_ reference: String, options: LogOptions) throws(BerthError) {
    let container = try lookup(reference)
    let config = try container.decodedConfig()
    guard config.logDriver == "k8s-file" || config.logDriver == "json-file" else {
      throw BerthError(
        .unsupported,
        "container \(container.name) logs with \(config.logDriver), which berth cannot read back",
        hint: "use --log-driver k8s-file or json-file")
    }
    let path = containerDirectory(container.id) + "/userdata/ctr.log"
    var offset = 0
    var pending: [UInt8] = []
    var first = true
    while true {
      var chunk: [UInt8] = []
      let fd = open(path, O_RDONLY | O_CLOEXEC)
      if fd >= 0 {
        // The log starts over at --log-opt max-size: so does the reader.
        var st = stat()
        if fstat(fd, &st) == 0 && Int(st.st_size) < offset {
          offset = 0
          pending = []
        }
        lseek(fd, off_t(offset), SEEK_SET)
        chunk = (try? FileDescriptor(rawValue: fd).readToEnd(what: "log", limit: 1 << 30)) ?? []
        close(fd)
      }
      offset += chunk.count
      pending += chunk
      let (lines, used) = LogParser.parse(pending[...], driver: config.logDriver)
      pending.removeFirst(used)
      var selected = lines.filter { line in
        guard options.since != nil || options.until != nil,
          let time = LogParser.nanoseconds(rfc3339: line.time)
        else { return true }
        return time >= (options.since ?? .min) && time <= (options.until ?? .max)
      }
      if first, let tail = options.tail {
        // Count whole lines: a P chunk belongs with the F after it.
        var kept = 0
        var index = selected.count
        while index > 0 && kept <= tail {
          index -= 1
          if selected[index].complete { kept += 1 }
        }
        if kept > tail { selected.removeFirst(index + 1) }
      }
      first = false
      var out: [UInt8] = []
      var err: [UInt8] = []
      for line in selected {
        var bytes: [UInt8] = []
        if options.timestamps { bytes += Array((line.time + " ").utf8) }
        bytes += line.text
        if line.complete { bytes.append(0x0A) }
        if line.stream == "stderr" { err += bytes } else { out += bytes }
      }
      if !out.isEmpty { _ = try? FileDescriptor(rawValue: 1).writeFully(out, what: "stdout") }
      if !err.isEmpty { _ = try? FileDescriptor(rawValue: 2).writeFully(err, what: "stderr") }
      guard options.follow else { return }
      let state = try refreshOptional(container.id)?.state
      if state != .running && state != .paused {
        if chunk.isEmpty { return }
        continue
      }
      usleep(100_000)
    }
  }
}

extension Engine {
  /// Every line of the container's k8s-file or json-file log (the API's /logs).
  public func logLines(_ reference: String) throws(BerthError) -> [LogLine] {
    let container = try lookup(reference)
    let config = try container.decodedConfig()
    guard config.logDriver == "k8s-file" || config.logDriver == "json-file" else {
      throw BerthError(
        .unsupported, "container \(container.name) logs with \(config.logDriver)",
        hint: "use the k8s-file or json-file log driver")
    }
    let path = containerDirectory(container.id) + "/userdata/ctr.log"
    guard fileExists(path) else { return [] }
    let bytes = try readFile(path, limit: 1 << 30)
    return LogParser.parse(bytes[...], driver: config.logDriver).0
  }

  /// The text of the log's last `lines` lines (a failed build step's error shows them).
  public func logTail(_ reference: String, lines: Int) throws(BerthError) -> [String] {
    try logLines(reference).suffix(lines).map { String(decoding: $0.text, as: UTF8.self) }
  }
}
