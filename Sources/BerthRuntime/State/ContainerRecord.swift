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
  /// The config.json bytes `spec` was decoded from, while they still say
  /// the same: saved as they are instead of encoding the spec again (a
  /// third of a millisecond on every create). Not itself saved.
  var specJSON: [UInt8]? = nil

  enum CodingKeys: String, CodingKey {
    case id, bundle, rootfs, pid, pidStartTime, created, owner, spec, cgroupPaths
    case systemdCgroup, rootless, systemdScope
  }

  /// The encoder's userInfo key that leaves `spec` out (StateStore splices
  /// specJSON in its place).
  static let omitSpec = CodingUserInfoKey(rawValue: "berth.omitSpec")!

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(id, forKey: .id)
    try container.encode(bundle, forKey: .bundle)
    try container.encode(rootfs, forKey: .rootfs)
    try container.encode(pid, forKey: .pid)
    try container.encode(pidStartTime, forKey: .pidStartTime)
    try container.encode(created, forKey: .created)
    try container.encode(owner, forKey: .owner)
    if encoder.userInfo[Self.omitSpec] as? Bool != true {
      try container.encode(spec, forKey: .spec)
    }
    try container.encode(cgroupPaths, forKey: .cgroupPaths)
    try container.encode(systemdCgroup, forKey: .systemdCgroup)
    try container.encode(rootless, forKey: .rootless)
    try container.encodeIfPresent(systemdScope, forKey: .systemdScope)
  }
}
