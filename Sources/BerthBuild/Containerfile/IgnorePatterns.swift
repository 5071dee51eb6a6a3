// `.dockerignore` / `.containerignore`: docker's rules. Patterns are
// cleaned paths relative to the context; `*`, `?` and `[...]` match within
// a component (fnmatch, as Go's filepath.Match), `**` any number of
// components; a pattern that matches a directory excludes what is under
// it; later patterns win, and `!` re-includes.
import FoundationEssentials
import Glibc

public struct IgnorePatterns: Sendable {
  struct Pattern: Sendable {
    var components: [String]
    var negated: Bool
  }

  var patterns: [Pattern] = []

  public init(text: String) {
    for raw in text.split(separator: "\n") {
      var line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      var negated = false
      if line.hasPrefix("!") {
        negated = true
        line = line.dropFirst().trimmingCharacters(in: .whitespaces)
      }
      var components: [String] = []
      for part in line.split(separator: "/") where part != "." {
        if part == ".." {
          if !components.isEmpty { components.removeLast() }
        } else {
          components.append(String(part))
        }
      }
      if components.isEmpty { continue }
      patterns.append(Pattern(components: components, negated: negated))
    }
  }

  /// Whether `path` (relative to the context) is left out of it.
  public func excludes(_ path: String) -> Bool {
    let parts = path.split(separator: "/").map(String.init)
    guard !parts.isEmpty else { return false }
    var excluded = false
    for pattern in patterns where pattern.negated == excluded || !excluded {
      // A pattern matching a parent directory covers the path too.
      var matched = false
      for count in 1...parts.count where Self.match(pattern.components[...], parts[0..<count]) {
        matched = true
        break
      }
      if matched { excluded = !pattern.negated }
    }
    return excluded
  }

  /// Whether a `!` pattern may re-include something under `directory`, so
  /// a walker must still look inside an excluded directory.
  public func mayReinclude(under directory: String) -> Bool {
    let parts = directory.split(separator: "/").map(String.init)
    return patterns.contains { pattern in
      guard pattern.negated else { return false }
      for (index, component) in pattern.components.enumerated() {
        if component == "**" { return true }
        guard index < parts.count else { return true }
        if fnmatch(component, parts[index], 0) != 0 { return false }
      }
      return pattern.components.count > parts.count
    }
  }

  static func match(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
    guard let first = pattern.first else { return path.isEmpty }
    if first == "**" {
      let rest = pattern.dropFirst()
      for skip in 0...path.count where match(rest, path.dropFirst(skip)) { return true }
      return false
    }
    guard let name = path.first, fnmatch(first, name, 0) == 0 else { return false }
    return match(pattern.dropFirst(), path.dropFirst())
  }
}
