import BerthOCI
import BerthSystem
import Glibc

/// The runtime as a library: one value per invocation, holding the global
/// options. Every method runs in a single-threaded process.
public struct Runtime: Sendable {
  public let store: StateStore
  public let rootless: Bool
  public let systemdCgroup: Bool

  public init(root: String?, rootless: Bool?, systemdCgroup: Bool) {
    // As runc's "auto": rootless when not root, or root only inside a user
    // namespace (rootless podman runs us in its own), where host cgroups
    // and /run are not ours.
    let isRootless = rootless ?? (geteuid() != 0 || Runtime.inUserNamespace)
    self.rootless = isRootless
    self.store = StateStore(root: root ?? StateStore.defaultRoot(rootless: isRootless))
    self.systemdCgroup = systemdCgroup
  }

  /// True inside a user namespace other than the initial one.
  static var inUserNamespace: Bool {
    guard let bytes = try? readFile("/proc/self/uid_map", limit: 4096) else { return false }
    let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: {
      $0 == " " || $0 == "\n"
    })
    return fields != ["0", "0", "4294967295"]
  }

  /// Who owns containers created now (runc's `owner` field), from
  /// /etc/passwd as runc reads it. Not getpwuid: the runtime is a static
  /// executable, where glibc's NSS would have to dlopen modules.
  static func ownerName() -> String {
    let uid = geteuid()
    // On bytes, a line at a time: root is usually the first line, and
    // splitting the whole file as Strings cost more than reading it.
    if let bytes = try? readFile("/etc/passwd", limit: 1 << 20) {
      let wanted = Array("\(uid)".utf8)
      var rest = bytes[...]
      while !rest.isEmpty {
        let end = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
        let fields = rest[..<end].split(
          separator: UInt8(ascii: ":"), maxSplits: 3, omittingEmptySubsequences: false)
        if fields.count > 2 && fields[2].elementsEqual(wanted) && !fields[0].isEmpty {
          return String(decoding: fields[0], as: UTF8.self)
        }
        rest = end < rest.endIndex ? rest[(end + 1)...] : []
      }
    }
    return "#\(uid)"
  }
}
