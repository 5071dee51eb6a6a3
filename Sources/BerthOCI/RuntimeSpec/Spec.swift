// The OCI runtime specification's config.json (runtime-spec 1.2), as Codable
// value types. Field names are the spec's; unknown keys are ignored, absent
// optional keys stay nil and are omitted again when encoded.

/// The runtime-spec version this implementation follows.
public let ociRuntimeSpecVersion = "1.2.0"

public struct Spec: Codable, Sendable, Equatable {
  public var ociVersion: String
  public var process: Process?
  public var root: Root?
  public var hostname: String?
  public var domainname: String?
  public var mounts: [Mount]?
  public var hooks: Hooks?
  public var annotations: [String: String]?
  public var linux: Linux?

  public init(
    ociVersion: String = ociRuntimeSpecVersion, process: Process? = nil, root: Root? = nil,
    hostname: String? = nil, domainname: String? = nil, mounts: [Mount]? = nil,
    hooks: Hooks? = nil, annotations: [String: String]? = nil, linux: Linux? = nil
  ) {
    self.ociVersion = ociVersion
    self.process = process
    self.root = root
    self.hostname = hostname
    self.domainname = domainname
    self.mounts = mounts
    self.hooks = hooks
    self.annotations = annotations
    self.linux = linux
  }

  public struct Root: Codable, Sendable, Equatable {
    public var path: String
    public var readonly: Bool?
    public init(path: String, readonly: Bool? = nil) {
      self.path = path
      self.readonly = readonly
    }
  }

  public struct Mount: Codable, Sendable, Equatable {
    public var destination: String
    public var type: String?
    public var source: String?
    public var options: [String]?
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    public init(
      destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil
    ) {
      self.destination = destination
      self.type = type
      self.source = source
      self.options = options
    }
  }

  public struct Hook: Codable, Sendable, Equatable {
    public var path: String
    public var args: [String]?
    public var env: [String]?
    public var timeout: Int?
    public init(path: String, args: [String]? = nil, env: [String]? = nil, timeout: Int? = nil) {
      self.path = path
      self.args = args
      self.env = env
      self.timeout = timeout
    }
  }

  public struct Hooks: Codable, Sendable, Equatable {
    public var prestart: [Hook]?
    public var createRuntime: [Hook]?
    public var createContainer: [Hook]?
    public var startContainer: [Hook]?
    public var poststart: [Hook]?
    public var poststop: [Hook]?
    public init() {}
  }
}

public struct IDMapping: Codable, Sendable, Equatable {
  public var containerID: UInt32
  public var hostID: UInt32
  public var size: UInt32
  public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
    self.containerID = containerID
    self.hostID = hostID
    self.size = size
  }
}
