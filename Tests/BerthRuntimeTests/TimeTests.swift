import BerthSystem
import Glibc
import Testing

/// `created` and log times are computed without gmtime_r; glibc's gmtime_r
/// is the reference they must match.
struct TimeTests {
  func reference(_ seconds: Int64) -> String {
    var secs = time_t(seconds)
    var tmv = tm()
    gmtime_r(&secs, &tmv)
    func pad(_ v: Int32, _ width: Int) -> String {
      String(repeating: "0", count: max(0, width - String(v).count)) + String(v)
    }
    return "\(pad(tmv.tm_year + 1900, 4))-\(pad(tmv.tm_mon + 1, 2))-\(pad(tmv.tm_mday, 2))T"
      + "\(pad(tmv.tm_hour, 2)):\(pad(tmv.tm_min, 2)):\(pad(tmv.tm_sec, 2))Z"
  }

  @Test(
    arguments: [
      0, 59, 86_399, 86_400, 951_782_400, 951_868_799, 1_709_164_800, 4_107_542_399,
      13_569_465_600, 253_402_300_799, -1, -86_401, -2_208_988_800,
    ] as [Int64])
  func matchesGmtime(seconds: Int64) {
    #expect(rfc3339(seconds: seconds, nanoseconds: 0) == reference(seconds))
  }

  @Test func everyDayOfFourCenturiesMatchesGmtime() {
    var seconds: Int64 = -2_208_988_800  // 1900-01-01
    while seconds < 10_413_792_000 {  // 2300-01-01
      if rfc3339(seconds: seconds + 45_296, nanoseconds: 0) != reference(seconds + 45_296) {
        Issue.record("differs at \(seconds)")
        return
      }
      seconds += 86_400
    }
  }

  @Test func fractionsDropTrailingZeros() {
    #expect(rfc3339(seconds: 0, nanoseconds: 500_000_000) == "1970-01-01T00:00:00.5Z")
    #expect(rfc3339(seconds: 0, nanoseconds: 123_456_789) == "1970-01-01T00:00:00.123456789Z")
    #expect(rfc3339(seconds: 0, nanoseconds: 1000) == "1970-01-01T00:00:00.000001Z")
  }
}
