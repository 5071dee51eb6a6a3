// The subset of podman's Go-template `--format` that scripts use:
// `{{.Field}}` placeholders, `\t` and `\n` escapes, and a `table ` prefix
// that prints a header row and aligns columns.

struct Template {
  enum Piece {
    case text(String)
    case field(String)
  }

  let pieces: [Piece]
  let isTable: Bool

  init(_ source: String) throws {
    var text = source
    isTable = text.hasPrefix("table ")
    if isTable { text.removeFirst(6) }
    text = text.replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(
      of: "\\n", with: "\n")
    var pieces: [Piece] = []
    var rest = Substring(text)
    while let open = rest.range(of: "{{") {
      if open.lowerBound > rest.startIndex {
        pieces.append(.text(String(rest[..<open.lowerBound])))
      }
      guard let close = rest[open.upperBound...].range(of: "}}") else {
        throw TemplateError(message: "unclosed {{ in format \"\(source)\"")
      }
      var inner = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
      // {{json .Field}}: the field's JSON, kept under "json:Field".
      var prefix = ""
      if inner.hasPrefix("json ") {
        inner = inner.dropFirst(5).trimmingCharacters(in: .whitespaces)
        prefix = "json:"
      }
      if inner == "." { inner = ".json:" }
      guard inner.hasPrefix("."), inner.count > 1, !inner.contains(" ") else {
        throw TemplateError(
          message: "unsupported template action \"{{\(inner)}}\": only {{.Field}} is understood")
      }
      pieces.append(.field(prefix + String(inner.dropFirst())))
      rest = rest[close.upperBound...]
    }
    if !rest.isEmpty { pieces.append(.text(String(rest))) }
    self.pieces = pieces
  }

  /// Renders one row; an unknown field is an error naming the known ones.
  func render(_ fields: [String: String]) throws -> String {
    try pieces.map { piece in
      switch piece {
      case .text(let text): return text
      case .field(let name):
        guard let value = fields[name] else {
          throw TemplateError(
            message: "unknown field .\(name); known: "
              + fields.keys.filter { !$0.hasPrefix("json:") && !$0.contains(".") }.sorted().map {
                "." + $0
              }.joined(separator: " "))
        }
        return value
      }
    }.joined()
  }

  /// The header row of a `table` template: field names upper-cased.
  func header(_ names: [String: String] = [:]) -> String {
    pieces.map { piece in
      switch piece {
      case .text(let text): return text
      case .field(let name): return names[name] ?? name.uppercased()
      }
    }.joined()
  }

  /// Prints rows; tab-separated cells of a table are aligned.
  func print(_ rows: [[String: String]], headers: [String: String] = [:]) throws {
    let lines = try rows.map { try render($0) }
    guard isTable else {
      for line in lines { Swift.print(line) }
      return
    }
    printTable(([header(headers)] + lines).map { $0.components(separatedBy: "\t") })
  }
}

struct TemplateError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}
