// The `label=` filter of ps, volume ls, network ls and the API's lists:
// KEY (the label is set) or KEY=VALUE (set to that value), as podman and
// docker read it.

extension Dictionary where Key == String, Value == String {
  /// Whether one `label` filter value holds for these labels.
  public func satisfies(labelFilter filter: String) -> Bool {
    let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
    guard let key = parts.first, let value = self[key] else { return false }
    return parts.count == 1 || value == parts[1]
  }
}
