// What the user configured about registries: registries.conf (insecure
// registries, unqualified-search-registries) and credentials from auth.json
// (podman's path) or ~/.docker/config.json.
import BerthOCI
import BerthSystem
import Foundation
import Glibc

public struct RegistriesConf: Sendable {
  public var insecure: Set<String> = []
  public var blocked: Set<String> = []
  public var unqualifiedSearch: [String] = []

  public init() {}

  /// Reads the first of $CONTAINERS_REGISTRIES_CONF,
  /// $XDG_CONFIG_HOME/containers/registries.conf (rootless) and
  /// /etc/containers/registries.conf that exists.
  public static func load() -> RegistriesConf {
    var paths: [String] = []
    if let env = Environment.get("CONTAINERS_REGISTRIES_CONF") { paths.append(env) }
    if geteuid() != 0 { paths.append(Environment.configHome + "/containers/registries.conf") }
    paths.append("/etc/containers/registries.conf")
    for path in paths where Sys.exists(path) {
      if let bytes = try? Sys.readFile(path) {
        return parse(String(decoding: bytes, as: UTF8.self))
      }
    }
    return RegistriesConf()
  }

  /// A small reader for the subset of registries.conf (TOML, v2 format) that
  /// matters here: `unqualified-search-registries` and `[[registry]]` tables
  /// with `location`, `insecure` and `blocked`.
  public static func parse(_ text: String) -> RegistriesConf {
    var conf = RegistriesConf()
    var location: String?
    var insecure = false
    var blocked = false
    func flush() {
      if let location {
        if insecure { conf.insecure.insert(location) }
        if blocked { conf.blocked.insert(location) }
      }
      location = nil
      insecure = false
      blocked = false
    }
    // Joins array values that span lines before reading key = value pairs.
    var logical: [String] = []
    var pending = ""
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      var line = String(raw)
      if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
      line = line.trimmingCharacters(in: .whitespaces)
      if line.isEmpty { continue }
      pending += pending.isEmpty ? line : " " + line
      let opens = pending.filter { $0 == "[" }.count
      let closes = pending.filter { $0 == "]" }.count
      if opens == closes {
        logical.append(pending)
        pending = ""
      }
    }
    func strings(_ value: String) -> [String] {
      value.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter {
        $0.offset % 2 == 1
      }.map {
        String($0.element)
      }
    }
    for line in logical {
      if line == "[[registry]]" {
        flush()
        continue
      }
      if line.hasPrefix("[") {
        flush()
        continue
      }
      guard let equals = line.firstIndex(of: "=") else { continue }
      let key = line[..<equals].trimmingCharacters(in: .whitespaces)
      let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      switch key {
      case "unqualified-search-registries": conf.unqualifiedSearch = strings(value)
      case "location": location = strings(value).first
      case "prefix": location = location ?? strings(value).first
      case "insecure": insecure = value == "true"
      case "blocked": blocked = value == "true"
      default: break
      }
    }
    flush()
    return conf
  }

  public func isInsecure(_ host: String) -> Bool { insecure.contains(host) }
}

enum Environment {
  static func get(_ name: String) -> String? {
    guard let value = getenv(name), value.pointee != 0 else { return nil }
    return String(cString: value)
  }

  static var home: String { Environment.get("HOME") ?? "/root" }
  static var configHome: String { Environment.get("XDG_CONFIG_HOME") ?? home + "/.config" }
}

public struct Credentials: Sendable, Equatable {
  public var username: String
  public var password: String

  public init(username: String, password: String) {
    self.username = username
    self.password = password
  }

  var basic: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }
}

/// auth.json as podman and docker write it: {"auths": {"host": {"auth": base64}}}.
public struct AuthFile: Sendable {
  public var path: String

  public init(path: String? = nil) {
    self.path = path ?? AuthFile.defaultPath
  }

  /// $REGISTRY_AUTH_FILE, else podman's: $XDG_RUNTIME_DIR/containers/auth.json
  /// rootless and /run/containers/0/auth.json as root.
  public static var defaultPath: String {
    if let env = Environment.get("REGISTRY_AUTH_FILE") { return env }
    if geteuid() == 0 { return "/run/containers/0/auth.json" }
    if let runtime = Environment.get("XDG_RUNTIME_DIR") {
      return runtime + "/containers/auth.json"
    }
    return Environment.configHome + "/containers/auth.json"
  }

  private struct Entry: Codable {
    var auth: String?
  }

  private static func read(_ path: String) -> [String: Any] {
    guard Sys.exists(path), let bytes = try? Sys.readFile(path),
      let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
    else { return [:] }
    return object
  }

  /// Credentials for `host` from this file, then ~/.docker/config.json.
  public func credentials(for host: String) -> Credentials? {
    for file in [path, Environment.home + "/.docker/config.json"] {
      let auths = AuthFile.read(file)["auths"] as? [String: Any] ?? [:]
      let keys =
        [host, "https://\(host)", "http://\(host)"]
        + (host == "docker.io" || host == "registry-1.docker.io"
          ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io"] : [])
      for key in keys {
        guard let entry = auths[key] as? [String: Any], let auth = entry["auth"] as? String,
          let data = Data(base64Encoded: auth)
        else { continue }
        let text = String(decoding: data, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { continue }
        return Credentials(
          username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
      }
    }
    return nil
  }

  /// Removes every registry's credentials, keeping other settings.
  public func removeAll() throws {
    guard Sys.exists(path) else { return }
    var object = AuthFile.read(path)
    object["auths"] = [String: Any]()
    let data = try JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try Sys.writeFileAtomically(path, Array(data), mode: 0o600)
  }

  /// Stores (or with nil, removes) the credentials for `host`, keeping the
  /// rest of the file; returns whether an entry was removed.
  @discardableResult
  public func store(_ credentials: Credentials?, for host: String) throws -> Bool {
    var object = AuthFile.read(path)
    var auths = object["auths"] as? [String: Any] ?? [:]
    let existed = auths.removeValue(forKey: host) != nil
    if let credentials {
      let auth = Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
      auths[host] = ["auth": auth]
    }
    object["auths"] = auths
    let data = try JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try Sys.mkdirs(Sys.parentPath(path))
    try Sys.writeFileAtomically(path, Array(data), mode: 0o600)
    return existed
  }
}
