import BerthOCI
import BerthSystem

/// Everything the container's init needs, computed by the runtime before
/// clone so that the child only acts (and the parent already rejected bad
/// input).
struct InitConfig {
  var id: String
  var bundle: String
  var spec: Spec
  var process: Spec.Process
  var setup: ProcessSetup
  var rootfs: String
  var noPivot: Bool
  var noNewKeyring: Bool
  var newNamespaces: Set<NamespaceKind>
  /// Namespaces to join, as fds opened by the parent, in join order.
  var joinNamespaces: [(kind: NamespaceKind, fd: Int32, path: String)]
  var cgroupPaths: [String]
  var cgroupLayout: CgroupLayout
  /// cgroup v1 directories init moves itself into, first thing after "go"
  /// (Cgroups.Join); the parent moves it into the rest.
  var selfJoinCgroups: [Cgroups.TasksFile] = []
  /// The parent's end is closed in the child; messages go through this.
  var syncFD: Int32
  /// The exec fifo, opened read-write: init blocks reading it until `start`.
  var fifoFD: Int32
  var consoleSocketFD: Int32?
  /// linux.seccomp, compiled before clone; loaded by init (see SeccompProgram).
  var seccomp: SeccompProgram? = nil
  /// Set the new network namespace's loopback up (CreateOptions.loopbackUp).
  var loopbackUp = false

  var inUserNamespace: Bool {
    newNamespaces.contains(.user) || joinNamespaces.contains { $0.kind == .user }
  }
}
