// The image configuration (OCI `application/vnd.oci.image.config.v1+json`,
// Docker `application/vnd.docker.container.image.v1+json`): what to run and
// the ordered diff ids of the layers.

/// Decodes JSON `{}` values in maps such as ExposedPorts and Volumes.
public struct EmptyObject: Codable, Sendable, Hashable {
  public init() {}
}

public struct ImageConfig: Codable, Sendable, Hashable {
  public struct Config: Codable, Sendable, Hashable {
    public var user: String?
    public var exposedPorts: [String: EmptyObject]?
    public var env: [String]?
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var volumes: [String: EmptyObject]?
    public var workingDir: String?
    public var labels: [String: String]?
    public var stopSignal: String?
    public var argsEscaped: Bool?
    /// Docker's HEALTHCHECK (not in the OCI spec; podman and docker keep it).
    public var healthcheck: Healthcheck?
    /// Docker's ONBUILD triggers and SHELL (kept by buildah and docker too).
    public var onBuild: [String]?
    public var shell: [String]?

    /// Durations in nanoseconds, as docker stores them.
    public struct Healthcheck: Codable, Sendable, Hashable {
      public var test: [String]?
      public var interval: Int64?
      public var timeout: Int64?
      public var startPeriod: Int64?
      public var retries: Int?

      public init() {}

      enum CodingKeys: String, CodingKey {
        case test = "Test"
        case interval = "Interval"
        case timeout = "Timeout"
        case startPeriod = "StartPeriod"
        case retries = "Retries"
      }
    }

    enum CodingKeys: String, CodingKey {
      case user = "User"
      case exposedPorts = "ExposedPorts"
      case env = "Env"
      case entrypoint = "Entrypoint"
      case cmd = "Cmd"
      case volumes = "Volumes"
      case workingDir = "WorkingDir"
      case labels = "Labels"
      case stopSignal = "StopSignal"
      case argsEscaped = "ArgsEscaped"
      case healthcheck = "Healthcheck"
      case onBuild = "OnBuild"
      case shell = "Shell"
    }

    public init(
      env: [String]? = nil, entrypoint: [String]? = nil, cmd: [String]? = nil,
      workingDir: String? = nil
    ) {
      self.env = env
      self.entrypoint = entrypoint
      self.cmd = cmd
      self.workingDir = workingDir
    }
  }

  public struct RootFS: Codable, Sendable, Hashable {
    public var type: String
    public var diffIDs: [Digest]

    enum CodingKeys: String, CodingKey {
      case type
      case diffIDs = "diff_ids"
    }

    public init(diffIDs: [Digest]) {
      self.type = "layers"
      self.diffIDs = diffIDs
    }
  }

  public struct History: Codable, Sendable, Hashable {
    public var created: String?
    public var createdBy: String?
    public var author: String?
    public var comment: String?
    public var emptyLayer: Bool?

    enum CodingKeys: String, CodingKey {
      case created, author, comment
      case createdBy = "created_by"
      case emptyLayer = "empty_layer"
    }

    public init(created: String? = nil, createdBy: String? = nil, emptyLayer: Bool? = nil) {
      self.created = created
      self.createdBy = createdBy
      self.emptyLayer = emptyLayer
    }
  }

  public var created: String?
  public var author: String?
  public var architecture: String
  public var os: String
  public var osVersion: String?
  public var variant: String?
  public var config: Config?
  public var rootfs: RootFS
  public var history: [History]?

  enum CodingKeys: String, CodingKey {
    case created, author, architecture, os, variant, config, rootfs, history
    case osVersion = "os.version"
  }

  public init(
    platform: Platform, config: Config? = nil, rootfs: RootFS, history: [History]? = nil,
    created: String? = nil
  ) {
    self.architecture = platform.architecture
    self.os = platform.os
    self.variant = platform.variant
    self.config = config
    self.rootfs = rootfs
    self.history = history
    self.created = created
  }

  public var platform: Platform {
    Platform(os: os, architecture: architecture, variant: variant)
  }
}

/// One entry of a docker-archive's manifest.json (`docker save` format).
public struct DockerArchiveEntry: Codable, Sendable, Hashable {
  public var config: String
  public var repoTags: [String]?
  public var layers: [String]

  enum CodingKeys: String, CodingKey {
    case config = "Config"
    case repoTags = "RepoTags"
    case layers = "Layers"
  }

  public init(config: String, repoTags: [String]?, layers: [String]) {
    self.config = config
    self.repoTags = repoTags
    self.layers = layers
  }
}
