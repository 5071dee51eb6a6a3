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
    let isRootless = rootless ?? (geteuid() != 0)
    self.rootless = isRootless
    self.store = StateStore(root: root ?? StateStore.defaultRoot(rootless: isRootless))
    self.systemdCgroup = systemdCgroup
  }

  /// Who owns containers created now (runc's `owner` field).
  static func ownerName() -> String {
    let uid = geteuid()
    if let pw = getpwuid(uid), let name = pw.pointee.pw_name { return String(cString: name) }
    return "#\(uid)"
  }
}
