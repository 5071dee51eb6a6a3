import BerthOCI

/// What the runtime remembers about a container between invocations, kept
/// as `ROOT/ID/state.json`. It carries the spec it was created from, so
/// hooks, cgroups and namespaces are those of create even if the bundle's
/// config.json changes later.
public struct ContainerRecord: Codable, Sendable {
  public var id: String
  public var bundle: String
  public var rootfs: String
  /// Host pid of the container's init; 0 while creating.
  public var pid: Int32
  /// /proc/PID/stat start time of init, to detect pid reuse.
  public var pidStartTime: UInt64
  public var created: String
  public var owner: String
  public var spec: Spec
  /// Absolute cgroup directories the container was placed in.
  public var cgroupPaths: [String]
  public var systemdCgroup: Bool
  public var rootless: Bool
  /// The transient scope holding the container (systemd driver), if any.
  public var systemdScope: SystemdScope?
}
