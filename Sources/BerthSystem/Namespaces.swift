import CBerth
import Glibc

/// A Linux namespace kind, named as the runtime spec and /proc/PID/ns name it.
public enum NamespaceKind: String, CaseIterable, Sendable {
  case user, mount, pid, network, ipc, uts, cgroup, time

  public var cloneFlag: UInt64 {
    switch self {
    case .user: BERTH_CLONE_NEWUSER
    case .mount: BERTH_CLONE_NEWNS
    case .pid: BERTH_CLONE_NEWPID
    case .network: BERTH_CLONE_NEWNET
    case .ipc: BERTH_CLONE_NEWIPC
    case .uts: BERTH_CLONE_NEWUTS
    case .cgroup: BERTH_CLONE_NEWCGROUP
    case .time: BERTH_CLONE_NEWTIME
    }
  }

  /// The file under /proc/PID/ns/.
  public var procName: String {
    switch self {
    case .mount: "mnt"
    case .network: "net"
    default: rawValue
    }
  }

  /// The order in which to join: user first (it grants the capabilities to
  /// join the rest), mount last (it changes how later paths resolve).
  public static let joinOrder: [NamespaceKind] = [
    .user, .ipc, .uts, .network, .pid, .cgroup, .time, .mount,
  ]
}

public func setns(_ fd: Int32, _ kind: NamespaceKind, path: String) throws(BerthError) {
  try check("cannot join \(kind.rawValue) namespace \(path)") {
    berth_setns(fd, Int32(truncatingIfNeeded: kind.cloneFlag))
  }
}

/// Opens a namespace file, with O_CLOEXEC.
public func openNamespace(_ path: String, _ kind: NamespaceKind) throws(BerthError) -> Int32 {
  try check(
    "cannot open \(kind.rawValue) namespace \(path)",
    hint: "the path must name a namespace file such as /proc/PID/ns/\(kind.procName)"
  ) { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
}

/// The inode identifying a namespace, to tell whether two are the same.
public func namespaceInode(_ path: String) -> UInt64? {
  var st = stat()
  guard stat(path, &st) == 0 else { return nil }
  return UInt64(st.st_ino)
}
