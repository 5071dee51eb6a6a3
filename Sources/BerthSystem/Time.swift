import Glibc

/// Now as RFC 3339 with nanoseconds in UTC, as Go's time.RFC3339Nano prints
/// it (runc's `created` and log timestamps).
public func rfc3339Now() -> String {
  var ts = timespec()
  clock_gettime(CLOCK_REALTIME, &ts)
  return rfc3339(seconds: Int64(ts.tv_sec), nanoseconds: Int(ts.tv_nsec))
}

/// A Unix time as RFC 3339 in UTC, trailing zeros of the fraction dropped.
/// Computed here rather than with gmtime_r: glibc's first gmtime_r reads
/// /etc/localtime, a file read for nothing on every container start.
public func rfc3339(seconds: Int64, nanoseconds: Int) -> String {
  let (days, secondOfDay) = floorDivision(seconds, 86_400)
  let (year, month, day) = civilDate(daysSinceEpoch: days)
  func pad(_ v: Int64, _ width: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, width - s.count)) + s
  }
  var nanos = pad(Int64(nanoseconds), 9)
  while nanos.hasSuffix("0") { nanos.removeLast() }
  return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T"
    + "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
    + (nanos.isEmpty ? "" : "." + nanos) + "Z"
}

func floorDivision(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
  let q = a / b
  let r = a % b
  return r < 0 ? (q - 1, r + b) : (q, r)
}

/// The proleptic Gregorian date of a day counted from 1970-01-01: days are
/// shifted to start from 0000-03-01, so that the leap day ends each 400-,
/// 100- and 4-year cycle.
func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
  let days = daysSinceEpoch + 719_468  // 0000-03-01 to 1970-01-01
  let (era, dayOfEra) = floorDivision(days, 146_097)  // 400-year cycles
  let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
  let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
  let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0 = March
  let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
  let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
  let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  return (year, month, day)
}

/// Monotonic milliseconds, for timeouts.
public func monotonicMilliseconds() -> Int64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// BERTH_TRACE=FILE: milestones of every berth process (CLI, monitor)
/// appended to FILE with the monotonic time, to see where a `run` spends
/// its milliseconds across processes.
public enum Trace {
  static let fd: Int32 = {
    guard let path = getenv("BERTH_TRACE") else { return -1 }
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
  }()
  public static var enabled: Bool { fd >= 0 }

  public static func mark(_ label: @autoclosure () -> String) {
    guard fd >= 0 else { return }
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    let line = "\(ts.tv_sec).\(String(ts.tv_nsec / 1000).leftPad6) [\(getpid())] \(label())\n"
    _ = line.withCString { write(fd, $0, strlen($0)) }
  }
}

extension String {
  fileprivate var leftPad6: String { String(repeating: "0", count: max(0, 6 - count)) + self }
}
