import BerthOCI
import BerthSystem
import Glibc

/// Which namespaces a container gets: new ones (clone flags) and ones
/// joined by path, validated before anything is created.
struct NamespacePlan {
  var new: Set<NamespaceKind> = []
  var joins: [(kind: NamespaceKind, path: String)] = []
  var uidMappings: [IDMapping]

  init(spec: Spec) throws(BerthError) {
    uidMappings = spec.linux?.uidMappings ?? []
    var seen = Set<String>()
    for ns in spec.linux?.namespaces ?? [] {
      guard let kind = NamespaceKind(rawValue: ns.type) else {
        throw BerthError(
          .invalidArgument, "unknown namespace type \"\(ns.type)\" in linux.namespaces",
          hint: "use pid, network, mount, ipc, uts, user, cgroup or time")
      }
      guard seen.insert(ns.type).inserted else {
        throw BerthError(.invalidArgument, "namespace \"\(ns.type)\" is listed twice")
      }
      if let path = ns.path, !path.isEmpty {
        joins.append((kind, path))
      } else {
        new.insert(kind)
      }
    }
    if new.contains(.user) && (spec.linux?.uidMappings ?? []).isEmpty {
      throw BerthError(
        .invalidArgument, "a new user namespace needs linux.uidMappings and gidMappings")
    }
    sortJoins()
  }

  private mutating func sortJoins() {
    joins.sort {
      NamespaceKind.joinOrder.firstIndex(of: $0.kind)! < NamespaceKind.joinOrder.firstIndex(
        of: $1.kind)!
    }
  }

  /// Joins the namespace of `kind` held by `fd`, made ahead, when the spec
  /// asks for a new one that no new user namespace has to own.
  mutating func joinMadeAhead(_ kind: NamespaceKind, fd: Int32) {
    guard new.contains(kind), !new.contains(.user) else { return }
    new.remove(kind)
    joins.append((kind, "/proc/self/fd/\(fd)"))
    sortJoins()
  }

  var allTypes: Set<String> { Set(new.map(\.rawValue) + joins.map(\.kind.rawValue)) }

  /// clone(2) flags for the new namespaces. CLONE_NEWTIME shares its bit
  /// with the exit-signal byte of legacy clone, so a time namespace is made
  /// with unshare before clone instead (see `enterTimeNamespace`).
  /// A cgroup namespace is unshared by init once the parent has put it in
  /// its cgroups: made at clone time, its root would be the runtime's
  /// cgroup and the container would see paths like /../../ctr.
  var cloneFlags: UInt64 { new.subtracting([.time, .cgroup]).reduce(0) { $0 | $1.cloneFlag } }

  /// setgroups is denied when an unprivileged caller maps only itself.
  var canSetGroups: Bool {
    Self.canSetGroups(userNamespace: new.contains(.user), uidMappings: uidMappings)
  }

  /// The same rule for a container created earlier (exec).
  static func canSetGroups(userNamespace: Bool, uidMappings: [IDMapping]) -> Bool {
    !(userNamespace && geteuid() != 0 && uidMappings.count == 1 && uidMappings[0].size == 1)
  }

  func openJoins() throws(BerthError) -> [(kind: NamespaceKind, fd: Int32, path: String)] {
    var result: [(kind: NamespaceKind, fd: Int32, path: String)] = []
    for join in joins {
      do {
        result.append((join.kind, try openNamespace(join.path, join.kind), join.path))
      } catch {
        for opened in result { close(opened.fd) }
        throw error
      }
    }
    return result
  }
}
