// Image references as docker and podman read them:
//   [domain[:port]/]path[:tag][@algorithm:hex]
// normalised so that `busybox` is `docker.io/library/busybox:latest`. The
// grammar is the distribution project's reference grammar; it is checked by
// hand here (no regex engine on the CLI's start-up path).
import BerthSystem

public struct Reference: Hashable, Sendable, CustomStringConvertible, Codable {
  public static let defaultDomain = "docker.io"
  public static let defaultTag = "latest"

  /// Registry host, with port when given: `docker.io`, `localhost:5000`.
  public var domain: String
  /// Repository path inside the registry: `library/busybox`.
  public var path: String
  public var tag: String?
  public var digest: Digest?
  /// Whether the user gave no domain (a "short name"), so that a caller with
  /// registries.conf may search other registries.
  public var isShortName: Bool

  /// `domain/path`.
  public var repository: String { "\(domain)/\(path)" }

  /// `repository[:tag][@digest]`, fully qualified.
  public var description: String {
    var text = repository
    if let tag { text += ":\(tag)" }
    if let digest { text += "@\(digest)" }
    return text
  }

  /// The reference with `:latest` added when it has neither tag nor digest.
  public var withDefaultTag: Reference {
    var copy = self
    if tag == nil, digest == nil { copy.tag = Reference.defaultTag }
    return copy
  }

  /// What to ask a registry's manifest endpoint for: the digest when pinned.
  public var manifestReference: String {
    digest?.description ?? tag ?? Reference.defaultTag
  }

  public init(domain: String, path: String, tag: String? = nil, digest: Digest? = nil) {
    self.domain = domain
    self.path = path
    self.tag = tag
    self.digest = digest
    self.isShortName = false
  }

  /// Parses and normalises a reference. Adds `:latest` when no tag or digest
  /// is given unless `defaultTag` is false.
  public init(parsing input: String, defaultTag: Bool = true) throws {
    func invalid(_ why: String) -> BerthError {
      BerthError(.invalidArgument, "invalid image reference \"\(input)\": \(why)")
    }
    guard !input.isEmpty else { throw invalid("empty") }
    guard input.utf8.count <= 4096 else { throw invalid("too long") }
    var rest = Substring(input)

    var digest: Digest?
    if let at = rest.firstIndex(of: "@") {
      do {
        digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
      } catch let error as BerthError {
        throw invalid(error.message)
      }
      rest = rest[..<at]
    }

    var tag: String?
    let lastSlash = rest.lastIndex(of: "/")
    if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
      let candidate = String(rest[rest.index(after: colon)...])
      guard Reference.isValidTag(candidate) else {
        throw invalid("tag \"\(candidate)\" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
      }
      tag = candidate
      rest = rest[..<colon]
    }

    var domain = Reference.defaultDomain
    var path = String(rest)
    var isShort = true
    if let slash = rest.firstIndex(of: "/") {
      let first = rest[..<slash]
      // Docker's rule: the first component is a registry host when it has a
      // dot or a port, is localhost, or has an upper-case letter.
      if first.contains(".") || first.contains(":") || first == "localhost"
        || first.contains(where: \.isUppercase)
      {
        domain = String(first)
        path = String(rest[rest.index(after: slash)...])
        isShort = false
      }
    }
    guard Reference.isValidDomain(domain) else { throw invalid("bad registry host \"\(domain)\"") }
    if domain == "index.docker.io" || domain == "registry-1.docker.io" {
      domain = Reference.defaultDomain
    }
    if domain == Reference.defaultDomain, !path.contains("/") { path = "library/" + path }
    if path.contains(where: \.isUppercase) {
      throw invalid("repository name must be lowercase")
    }
    guard !path.isEmpty,
      path.split(separator: "/", omittingEmptySubsequences: false)
        .allSatisfy(Reference.isValidPathComponent)
    else {
      throw invalid("repository path \"\(path)\" has an empty or badly formed component")
    }
    guard domain.utf8.count + 1 + path.utf8.count <= 255 else {
      throw invalid("repository name longer than 255 characters")
    }
    if tag == nil, digest == nil, defaultTag { tag = Reference.defaultTag }
    self.domain = domain
    self.path = path
    self.tag = tag
    self.digest = digest
    self.isShortName = isShort
  }

  /// Tags: `[\w][\w.-]{0,127}`.
  public static func isValidTag(_ tag: String) -> Bool {
    let bytes = Array(tag.utf8)
    guard (1...128).contains(bytes.count) else { return false }
    func word(_ b: UInt8) -> Bool {
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }
    return word(bytes[0]) && bytes.dropFirst().allSatisfy { word($0) || $0 == 0x2E || $0 == 0x2D }
  }

  /// Path components: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
  static func isValidPathComponent(_ component: Substring) -> Bool {
    let bytes = Array(component.utf8)
    func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) }
    guard let first = bytes.first, let last = bytes.last, alnum(first), alnum(last) else {
      return false
    }
    var index = 0
    while index < bytes.count {
      if alnum(bytes[index]) {
        index += 1
        continue
      }
      // A separator run: one `.`, one or two `_`, or any number of `-`.
      let separator = bytes[index]
      var run = 0
      while index < bytes.count, bytes[index] == separator {
        run += 1
        index += 1
      }
      switch separator {
      case 0x2E where run == 1: break
      case 0x5F where run <= 2: break
      case 0x2D: break
      default: return false
      }
      // A separator is always followed by an alphanumeric.
      guard index < bytes.count, alnum(bytes[index]) else { return false }
    }
    return true
  }

  /// Hosts: DNS labels, IPv4, or a bracketed IPv6 address, with an optional port.
  static func isValidDomain(_ domain: String) -> Bool {
    var host = Substring(domain)
    if host.hasPrefix("[") {
      guard let close = host.firstIndex(of: "]") else { return false }
      let inside = host[host.index(after: host.startIndex)..<close]
      guard !inside.isEmpty, inside.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." })
      else { return false }
      host = host[host.index(after: close)...]
      if host.isEmpty { return true }
      guard host.hasPrefix(":") else { return false }
      let port = host.dropFirst()
      return !port.isEmpty && port.allSatisfy(\.isASCII) && port.allSatisfy(\.isNumber)
    }
    if let colon = host.lastIndex(of: ":") {
      let port = host[host.index(after: colon)...]
      guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
      host = host[..<colon]
    }
    guard !host.isEmpty else { return false }
    return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
      guard let first = label.first, let last = label.last else { return false }
      return label.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" }
        && first != "-" && last != "-"
    }
  }

  /// The host to contact for a registry domain: Docker Hub's API lives
  /// elsewhere.
  public static func registryHost(for domain: String) -> String {
    domain == defaultDomain ? "registry-1.docker.io" : domain
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    try self.init(parsing: try container.decode(String.self), defaultTag: false)
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}
