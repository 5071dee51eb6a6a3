// The `linux` object of config.json.

extension Spec {
  public struct Linux: Codable, Sendable, Equatable {
    public var namespaces: [Namespace]?
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    public var timeOffsets: [String: TimeOffset]?
    public var devices: [Device]?
    public var cgroupsPath: String?
    public var resources: Resources?
    public var rootfsPropagation: String?
    public var seccomp: Seccomp?
    public var sysctl: [String: String]?
    public var maskedPaths: [String]?
    public var readonlyPaths: [String]?
    public var mountLabel: String?
    public var personality: Personality?

    public init(namespaces: [Namespace]? = nil) { self.namespaces = namespaces }
  }

  public struct Namespace: Codable, Sendable, Equatable {
    /// pid, network, mount, ipc, uts, user, cgroup, time
    public var type: String
    public var path: String?
    public init(type: String, path: String? = nil) {
      self.type = type
      self.path = path
    }
  }

  public struct TimeOffset: Codable, Sendable, Equatable {
    public var secs: Int64?
    public var nanosecs: UInt32?
  }

  public struct Device: Codable, Sendable, Equatable {
    /// c, u, b or p
    public var type: String
    public var path: String
    public var major: Int64?
    public var minor: Int64?
    public var fileMode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public init(
      type: String, path: String, major: Int64? = nil, minor: Int64? = nil,
      fileMode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil
    ) {
      self.type = type
      self.path = path
      self.major = major
      self.minor = minor
      self.fileMode = fileMode
      self.uid = uid
      self.gid = gid
    }
  }

  public struct Personality: Codable, Sendable, Equatable {
    public var domain: String
    public var flags: [String]?
  }
}
