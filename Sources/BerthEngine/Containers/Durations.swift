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
