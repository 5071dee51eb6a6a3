/// The exec form's JSON array. Docker takes an argument list that starts
/// with `[` as JSON only if it is a valid JSON document; anything else is
/// the shell form, but a valid array holding a non-string is an error.
/// Foundation's decoder reads the JSON; `Element` only tells strings from
/// the other values it may hold.
import FoundationEssentials

enum JSONArgs {
  enum Parsed: Equatable {
    case strings([String])
    case notStrings
    case notJSON
  }

  /// Any JSON value: a string's text, or nil for every other kind.
  private struct Element: Decodable {
    let string: String?

    init(from decoder: Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let text = try? container.decode(String.self) {
        string = text
        return
      }
      // Not a string: still a valid value (number, bool, null, array, object)?
      if container.decodeNil() || (try? container.decode(Double.self)) != nil
        || (try? container.decode(Bool.self)) != nil
        || (try? container.decode([Element].self)) != nil
        || (try? container.decode([String: Element].self)) != nil
      {
        string = nil
        return
      }
      throw DecodingError.dataCorruptedError(in: container, debugDescription: "not JSON")
    }
  }

  static func parse(_ text: String) -> Parsed {
    guard text.drop(while: { $0 == " " || $0 == "\t" }).first == "[",
      let elements = try? JSONDecoder().decode([Element].self, from: Data(text.utf8))
    else { return .notJSON }
    var strings: [String] = []
    for element in elements {
      guard let string = element.string else { return .notStrings }
      strings.append(string)
    }
    return .strings(strings)
  }
}
