// `berth-runtime features`: what this runtime implements (runtime-spec features.md).

public struct Features: Codable, Sendable {
  public var ociVersionMin: String
  public var ociVersionMax: String
  public var hooks: [String]
  public var mountOptions: [String]
  public var linux: LinuxFeatures
  public var annotations: [String: String]?

  public init(
    ociVersionMin: String, ociVersionMax: String, hooks: [String], mountOptions: [String],
    linux: LinuxFeatures, annotations: [String: String]? = nil
  ) {
    self.ociVersionMin = ociVersionMin
    self.ociVersionMax = ociVersionMax
    self.hooks = hooks
    self.mountOptions = mountOptions
    self.linux = linux
    self.annotations = annotations
  }

  public struct LinuxFeatures: Codable, Sendable {
    public var namespaces: [String]
    public var capabilities: [String]
    public var cgroup: Cgroup
    public var seccomp: Seccomp
    public var apparmor: Enabled
    public var selinux: Enabled
    public var mountExtensions: MountExtensions
    public init(
      namespaces: [String], capabilities: [String], cgroup: Cgroup, seccomp: Seccomp,
      apparmor: Enabled, selinux: Enabled, mountExtensions: MountExtensions
    ) {
      self.namespaces = namespaces
      self.capabilities = capabilities
      self.cgroup = cgroup
      self.seccomp = seccomp
      self.apparmor = apparmor
      self.selinux = selinux
      self.mountExtensions = mountExtensions
    }
  }

  public struct Cgroup: Codable, Sendable {
    public var v1: Bool
    public var v2: Bool
    public var systemd: Bool
    public var systemdUser: Bool
    public init(v1: Bool, v2: Bool, systemd: Bool, systemdUser: Bool) {
      self.v1 = v1
      self.v2 = v2
      self.systemd = systemd
      self.systemdUser = systemdUser
    }
  }

  public struct Seccomp: Codable, Sendable {
    public var enabled: Bool
    public var actions: [String]?
    public var operators: [String]?
    public var archs: [String]?
    public init(
      enabled: Bool, actions: [String]? = nil, operators: [String]? = nil, archs: [String]? = nil
    ) {
      self.enabled = enabled
      self.actions = actions
      self.operators = operators
      self.archs = archs
    }
  }

  public struct Enabled: Codable, Sendable {
    public var enabled: Bool
    public init(enabled: Bool) { self.enabled = enabled }
  }

  public struct MountExtensions: Codable, Sendable {
    public var idmap: Enabled
    public init(idmap: Enabled) { self.idmap = idmap }
  }
}
