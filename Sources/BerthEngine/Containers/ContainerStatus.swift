// The one-line status both faces print: `Up 5 seconds`, `Exited (0) 2
// minutes ago`, with Go's units.HumanDuration wording that podman and
// docker share.
import BerthSystem
import FoundationEssentials

extension Container {
  /// podman writes `(paused)`, docker `(Paused)`.
  public func statusText(now: Date = Date(), pausedWord: String = "paused") -> String {
    switch state {
    case .created: return "Created"
    case .running, .paused:
      let since = startedAt.flatMap(parseRFC3339) ?? now
      var text = "Up \(humanDuration(now.timeIntervalSince(since)))"
      if state == .paused { text += " (\(pausedWord))" }
      if let health { text += " (\(health))" }
      return text
    case .exited:
      let at = finishedAt.flatMap(parseRFC3339) ?? now
      return "Exited (\(exitCode ?? 0)) \(humanDuration(now.timeIntervalSince(at))) ago"
    }
  }
}

/// RFC 3339 → Date.
public func parseRFC3339(_ text: String) -> Date? {
  LogParser.nanoseconds(rfc3339: text).map { Date(timeIntervalSince1970: Double($0) / 1e9) }
}

/// Go's units.HumanDuration.
public func humanDuration(_ interval: TimeInterval) -> String {
  let seconds = Int(interval)
  if seconds < 1 { return "Less than a second" }
  if seconds == 1 { return "1 second" }
  if seconds < 60 { return "\(seconds) seconds" }
  let minutes = seconds / 60
  if minutes == 1 { return "About a minute" }
  if minutes < 60 { return "\(minutes) minutes" }
  let hours = Int((Double(seconds) / 3600).rounded())
  if hours == 1 { return "About an hour" }
  if hours < 48 { return "\(hours) hours" }
  if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
  if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
  if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
  return "\(hours / 24 / 365) years"
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's civil_from_days). Written out because a Calendar per call
/// (ICU) cost `ps` of 100 containers a few milliseconds.
public func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
  let z = days + 719_468
  let era = (z >= 0 ? z : z - 146_096) / 146_097
  let dayOfEra = z - era * 146_097
  let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
  let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
  let shifted = (5 * dayOfYear + 2) / 153
  let day = dayOfYear - (153 * shifted + 2) / 5 + 1
  let month = shifted < 10 ? shifted + 3 : shifted - 9
  return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
}
