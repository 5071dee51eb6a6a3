import BerthSystem

/// Go durations as podman takes them: 30s, 1m30s, 500ms, 2h (a bare
/// number is seconds). Zero only with `allowZero` (HEALTHCHECK's 0s).
public func parseDuration(_ text: String, what: String, allowZero: Bool = false)
  throws(BerthError) -> Double
{
  var total = 0.0
  var units = 0
  var number = ""
  var rest = Substring(text)
  while let char = rest.first {
    if char.isNumber || char == "." {
      number.append(char)
      rest.removeFirst()
      continue
    }
    guard let value = Double(number) else { break }
    if rest.hasPrefix("ms") {
      total += value / 1000
      rest.removeFirst(2)
    } else if rest.hasPrefix("s") {
      total += value
      rest.removeFirst()
    } else if rest.hasPrefix("m") {
      total += value * 60
      rest.removeFirst()
    } else if rest.hasPrefix("h") {
      total += value * 3600
      rest.removeFirst()
    } else {
      break
    }
    number = ""
    units += 1
  }
  if rest.isEmpty && number.isEmpty && units > 0 && (total > 0 || allowZero) { return total }
  if rest.isEmpty, let value = Double(number), value > 0 || allowZero && value == 0 {
    return value
  }
  throw BerthError(
    .invalidArgument, "invalid duration \"\(text)\" for \(what)",
    hint: "use e.g. 30s, 1m30s or 500ms")
}

/// A size such as `64m`, `1.5g` or `512` (bytes), as podman's and docker's
/// flags and API options take them.
public func parseSize(_ text: String, what: String) throws(BerthError) -> Int64 {
  let invalid = BerthError(
    .invalidArgument, "invalid size \"\(text)\" for \(what)",
    hint: "use a number with b, k, m or g, e.g. 64m")
  let lower = text.lowercased()
  let units: [(String, Double)] = [
    ("kb", 1024), ("mb", 1_048_576), ("gb", 1_073_741_824), ("k", 1024), ("m", 1_048_576),
    ("g", 1_073_741_824),
    ("b", 1),
  ]
  for (suffix, factor) in units where lower.hasSuffix(suffix) {
    if let value = Double(lower.dropLast(suffix.count)), value >= 0 {
      // Int64(exactly:) rather than a conversion that traps on inf or 1e300.
      guard let bytes = Int64(exactly: (value * factor).rounded(.down)) else { throw invalid }
      return bytes
    }
  }
  if let value = Int64(lower), value >= 0 { return value }
  throw invalid
}
