import Glibc

/// Now as RFC 3339 with nanoseconds in UTC, as Go's time.RFC3339Nano prints
/// it (runc's `created` and log timestamps).
public func rfc3339Now() -> String {
  var ts = timespec()
  clock_gettime(CLOCK_REALTIME, &ts)
  var tmv = tm()
  var secs = ts.tv_sec
  gmtime_r(&secs, &tmv)
  func pad(_ v: Int32, _ width: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, width - s.count)) + s
  }
  var nanos = pad(Int32(ts.tv_nsec), 9)
  while nanos.hasSuffix("0") { nanos.removeLast() }
  return "\(pad(tmv.tm_year + 1900, 4))-\(pad(tmv.tm_mon + 1, 2))-\(pad(tmv.tm_mday, 2))T"
    + "\(pad(tmv.tm_hour, 2)):\(pad(tmv.tm_min, 2)):\(pad(tmv.tm_sec, 2))"
    + (nanos.isEmpty ? "" : "." + nanos) + "Z"
}

/// Monotonic milliseconds, for timeouts.
public func monotonicMilliseconds() -> Int64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
