/// A build context's `.dockerignore` / `.containerignore`, with docker's
/// rules (moby/patternmatcher): patterns are checked in order and the last
/// one that matches a path decides; `!` re-includes; a pattern that matches
/// a directory matches everything below it.
public struct IgnorePatterns: Sendable, Equatable {
  struct Rule: Sendable, Equatable {
    /// Cleaned, without the `!`.
    var pattern: String
    var reincludes: Bool
    var glob: GlobPattern
  }

  private var rules: [Rule] = []

  /// The patterns as docker keeps them (cleaned, `!` kept), for messages.
  public var patterns: [String] { rules.map { ($0.reincludes ? "!" : "") + $0.pattern } }

  public var isEmpty: Bool { rules.isEmpty }

  /// One pattern a line. A line starting with `#` is a comment (only in the
  /// first column, as in docker); whitespace around a pattern is dropped;
  /// the path is cleaned like Go's filepath.Clean and a leading `/` removed.
  /// Patterns docker would reject (a bare `!`, an unclosed `[`) are left
  /// out: they can match nothing.
  public init(text: String) {
    for line in SourceLine.lines(of: text) {
      guard !line.text.hasPrefix("#") else { continue }
      var pattern = line.text.trimmedWhitespace
      guard !pattern.isEmpty else { continue }
      let reincludes = pattern.hasPrefix("!")
      if reincludes { pattern = String(pattern.dropFirst()).trimmedWhitespace }
      guard !pattern.isEmpty else { continue }
      pattern = Self.clean(pattern)
      if pattern.count > 1 && pattern.hasPrefix("/") { pattern.removeFirst() }
      guard let glob = GlobPattern.path(pattern) else { continue }
      rules.append(Rule(pattern: pattern, reincludes: reincludes, glob: glob))
    }
  }

  /// Whether the context-relative `path` (`dir/file`, no leading slash) is
  /// left out of the build context. The context root never is.
  public func excludes(_ path: String) -> Bool {
    // A caller's leading slash still means the context root.
    let file = Self.clean(String(path.drop { $0 == "/" }))
    guard file != "." else { return false }
    let parents = file.split(separator: "/").dropLast().map(String.init)
    var excluded = false
    for rule in rules {
      // Only a rule that could change the answer is worth matching.
      guard rule.reincludes == excluded else { continue }
      if rule.glob.matches(file) || matchesAParent(rule, parents) {
        excluded = !rule.reincludes
      }
    }
    return excluded
  }

  /// For a directory walker that found `directory` excluded: whether a `!`
  /// pattern could still re-include something below it, so it must descend
  /// rather than skip the whole tree. Errs on the side of descending.
  public func mayReinclude(under directory: String) -> Bool {
    let components = Self.clean(String(directory.drop { $0 == "/" })).split(separator: "/").map(
      String.init)
    return rules.contains { rule in
      rule.reincludes && Self.couldMatchBelow(rule.pattern, components)
    }
  }

  private func matchesAParent(_ rule: Rule, _ parents: [String]) -> Bool {
    guard !parents.isEmpty else { return false }
    var prefix = ""
    for parent in parents {
      prefix += prefix.isEmpty ? parent : "/" + parent
      if rule.glob.matches(prefix) { return true }
    }
    return false
  }

  /// Whether `pattern` could match a path inside the directory whose
  /// elements are `directory`: each of its elements matches the directory's
  /// in turn until one of them runs out; a `**` could match anything.
  private static func couldMatchBelow(_ pattern: String, _ directory: [String]) -> Bool {
    let elements = pattern.split(separator: "/", omittingEmptySubsequences: false)
    for (index, name) in directory.enumerated() {
      // The pattern matched a parent, which re-includes all below it.
      guard index < elements.count else { return true }
      if elements[index].contains("**") { return true }
      guard let glob = GlobPattern.path(String(elements[index])), glob.matches(name) else {
        return false
      }
    }
    return true
  }

  /// Go's filepath.Clean for `/`-separated paths: repeated separators, `.`
  /// elements and `dir/..` pairs removed, no trailing slash, "." for nothing.
  static func clean(_ path: String) -> String {
    let rooted = path.hasPrefix("/")
    var elements: [Substring] = []
    for element in path.split(separator: "/") {
      switch element {
      case ".":
        continue
      case "..":
        if let last = elements.last, last != ".." {
          elements.removeLast()
        } else if !rooted {
          elements.append(element)
        }
      default:
        elements.append(element)
      }
    }
    let joined = elements.joined(separator: "/")
    if rooted { return "/" + joined }
    return joined.isEmpty ? "." : joined
  }
}
