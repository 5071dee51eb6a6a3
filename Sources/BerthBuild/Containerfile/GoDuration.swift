/// Go's `time.ParseDuration` syntax, which HEALTHCHECK's options use
/// (`30s`, `1m30s`, `1.5h`, `500ms`), read into seconds.
enum GoDuration {
  private static let units: [(suffix: String, seconds: Double)] = [
    ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60),
    ("h", 3600),
  ]

  static func seconds(_ text: String) -> Double? {
    var rest = Substring(text)
    var sign = 1.0
    if let first = rest.first, first == "-" || first == "+" {
      sign = first == "-" ? -1 : 1
      rest = rest.dropFirst()
    }
    if rest == "0" { return 0 }
    guard !rest.isEmpty else { return nil }
    var total = 0.0
    while !rest.isEmpty {
      let number = rest.prefix { ($0.isASCII && $0.isNumber) || $0 == "." }
      guard number.contains(where: \.isNumber), number.count(where: { $0 == "." }) <= 1,
        let amount = Double(number.hasPrefix(".") ? "0" + number : String(number))
      else { return nil }
      rest = rest.dropFirst(number.count)
      // Longest suffix first so "ms" is not read as "m".
      guard
        let unit = units.sorted(by: { $0.suffix.count > $1.suffix.count }).first(where: {
          rest.hasPrefix($0.suffix)
        })
      else { return nil }
      rest = rest.dropFirst(unit.suffix.count)
      total += amount * unit.seconds
    }
    return sign * total
  }
}
