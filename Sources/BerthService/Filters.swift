// Docker's `filters` query parameter: JSON of `{"key": ["value", ...]}`,
// or the older `{"key": {"value": true}}` that docker-py and compose 1.x
// still send. Values of one key are alternatives; keys must all match.
import BerthEngine
import BerthSystem
import FoundationEssentials

struct Filters: Sendable {
  var values: [String: [String]] = [:]

  init(_ request: APIRequest, allowed: Set<String>) throws(BerthError) {
    guard let text = request.query["filters"], !text.isEmpty else { return }
    do {
      let decoded = try JSONDecoder().decode([String: Value].self, from: Data(text.utf8))
      for (key, value) in decoded {
        guard allowed.contains(key) else {
          throw BerthError(
            .invalidArgument, "invalid filter '\(key)'",
            hint: "filters here: " + allowed.sorted().joined(separator: ", "))
        }
        values[key] = value.list
      }
    } catch let error as BerthError {
      throw error
    } catch {
      throw BerthError(
        .invalidArgument, "invalid filters \(text)",
        hint: "send filters as JSON, e.g. {\"label\":[\"key=value\"]}")
    }
  }

  /// One key's values in any of the shapes clients send.
  struct Value: Decodable {
    var list: [String]

    init(from decoder: Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let list = try? container.decode([String].self) {
        self.list = list
      } else if let set = try? container.decode([String: Bool].self) {
        list = set.filter(\.value).map(\.key).sorted()
      } else {
        list = [try container.decode(String.self)]
      }
    }
  }

  /// True when `key` is not filtered or one of its values satisfies `test`.
  func matches(_ key: String, _ test: (String) -> Bool) -> Bool {
    guard let wanted = values[key], !wanted.isEmpty else { return true }
    return wanted.contains(where: test)
  }

  /// Every `label` filter (`key` or `key=value`) holds for `labels`;
  /// `label!` filters must not.
  func matchesLabels(_ labels: [String: String]) -> Bool {
    (values["label"] ?? []).allSatisfy(labels.satisfies(labelFilter:))
      && !(values["label!"] ?? []).contains(where: labels.satisfies(labelFilter:))
  }

  /// `dangling=true|false`, nil when not asked.
  var dangling: Bool? {
    guard let value = values["dangling"]?.first else { return nil }
    return value == "true" || value == "1"
  }

  /// `until`: a duration before now (10m, 1h30m), Unix seconds, or RFC 3339.
  static func timestamp(_ text: String) throws(BerthError) -> Int64 {
    if let seconds = Double(text) {
      guard let whole = Int64(exactly: seconds.rounded(.down)) else { throw badTime(text) }
      return whole
    }
    if let ns = LogParser.nanoseconds(rfc3339: text) { return ns / 1_000_000_000 }
    let ago = try parseDuration(text, what: "until")
    guard let cutoff = Int64(exactly: (Date().timeIntervalSince1970 - ago).rounded(.down)) else {
      throw badTime(text)
    }
    return cutoff
  }

  /// Unix seconds (a fraction allowed) or RFC 3339 → nanoseconds: events'
  /// and logs' since/until.
  static func nanoseconds(_ text: String) throws(BerthError) -> Int64 {
    if let seconds = Double(text) {
      guard seconds.isFinite, abs(seconds) < 9e9, let ns = Int64(exactly: (seconds * 1e9).rounded())
      else { throw badTime(text) }
      return ns
    }
    return try LogParser.parseTime(text)
  }

  static func badTime(_ text: String) -> BerthError {
    BerthError(
      .invalidArgument, "invalid time \(text)",
      hint: "give Unix seconds, an RFC 3339 time or a duration such as 10m")
  }
}
