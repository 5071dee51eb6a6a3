// The `process` object of config.json; also the file `exec --process` reads.

extension Spec {
  public struct Process: Codable, Sendable, Equatable {
    public var terminal: Bool?
    public var consoleSize: ConsoleSize?
    public var user: User
    public var args: [String]?
    public var commandLine: String?
    public var env: [String]?
    public var cwd: String
    public var capabilities: Capabilities?
    public var rlimits: [Rlimit]?
    public var noNewPrivileges: Bool?
    public var apparmorProfile: String?
    public var oomScoreAdj: Int?
    public var selinuxLabel: String?

    public init(
      terminal: Bool? = nil, user: User = User(uid: 0, gid: 0), args: [String]? = nil,
      env: [String]? = nil, cwd: String = "/", capabilities: Capabilities? = nil,
      rlimits: [Rlimit]? = nil, noNewPrivileges: Bool? = nil
    ) {
      self.terminal = terminal
      self.user = user
      self.args = args
      self.env = env
      self.cwd = cwd
      self.capabilities = capabilities
      self.rlimits = rlimits
      self.noNewPrivileges = noNewPrivileges
    }
  }

  public struct ConsoleSize: Codable, Sendable, Equatable {
    public var height: UInt16
    public var width: UInt16
    public init(height: UInt16, width: UInt16) {
      self.height = height
      self.width = width
    }
  }

  public struct User: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var umask: UInt32?
    public var additionalGids: [UInt32]?
    public var username: String?
    public init(uid: UInt32, gid: UInt32, umask: UInt32? = nil, additionalGids: [UInt32]? = nil) {
      self.uid = uid
      self.gid = gid
      self.umask = umask
      self.additionalGids = additionalGids
    }
  }

  public struct Capabilities: Codable, Sendable, Equatable {
    public var bounding: [String]?
    public var effective: [String]?
    public var inheritable: [String]?
    public var permitted: [String]?
    public var ambient: [String]?
    public init(
      bounding: [String]? = nil, effective: [String]? = nil, inheritable: [String]? = nil,
      permitted: [String]? = nil, ambient: [String]? = nil
    ) {
      self.bounding = bounding
      self.effective = effective
      self.inheritable = inheritable
      self.permitted = permitted
      self.ambient = ambient
    }
  }

  public struct Rlimit: Codable, Sendable, Equatable {
    public var type: String
    public var hard: UInt64
    public var soft: UInt64
    public init(type: String, hard: UInt64, soft: UInt64) {
      self.type = type
      self.hard = hard
      self.soft = soft
    }
  }
}
