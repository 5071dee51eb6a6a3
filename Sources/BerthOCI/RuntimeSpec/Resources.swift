// `linux.resources`: cgroup limits, shared by config.json and `update --resources`.

extension Spec {
  public struct Resources: Codable, Sendable, Equatable {
    public var devices: [DeviceRule]?
    public var memory: Memory?
    public var cpu: CPU?
    public var pids: Pids?
    public var blockIO: BlockIO?
    public var hugepageLimits: [HugepageLimit]?
    public var network: Network?
    public var rdma: [String: RDMA]?
    public var unified: [String: String]?
    public init() {}

    public struct DeviceRule: Codable, Sendable, Equatable {
      public var allow: Bool
      public var type: String?
      public var major: Int64?
      public var minor: Int64?
      public var access: String?
      public init(
        allow: Bool, type: String? = nil, major: Int64? = nil, minor: Int64? = nil,
        access: String? = nil
      ) {
        self.allow = allow
        self.type = type
        self.major = major
        self.minor = minor
        self.access = access
      }
    }

    public struct Memory: Codable, Sendable, Equatable {
      public var limit: Int64?
      public var reservation: Int64?
      public var swap: Int64?
      public var kernel: Int64?
      public var kernelTCP: Int64?
      public var swappiness: UInt64?
      public var disableOOMKiller: Bool?
      public var useHierarchy: Bool?
      public var checkBeforeUpdate: Bool?
      public init() {}
    }

    public struct CPU: Codable, Sendable, Equatable {
      public var shares: UInt64?
      public var quota: Int64?
      public var burst: UInt64?
      public var period: UInt64?
      public var realtimeRuntime: Int64?
      public var realtimePeriod: UInt64?
      public var cpus: String?
      public var mems: String?
      public var idle: Int64?
      public init() {}
    }

    public struct Pids: Codable, Sendable, Equatable {
      public var limit: Int64
      public init(limit: Int64) { self.limit = limit }
    }

    public struct BlockIO: Codable, Sendable, Equatable {
      public var weight: UInt16?
      public var leafWeight: UInt16?
      public var weightDevice: [WeightDevice]?
      public var throttleReadBpsDevice: [ThrottleDevice]?
      public var throttleWriteBpsDevice: [ThrottleDevice]?
      public var throttleReadIOPSDevice: [ThrottleDevice]?
      public var throttleWriteIOPSDevice: [ThrottleDevice]?
      public init() {}

      public struct WeightDevice: Codable, Sendable, Equatable {
        public var major: Int64
        public var minor: Int64
        public var weight: UInt16?
        public var leafWeight: UInt16?
      }

      public struct ThrottleDevice: Codable, Sendable, Equatable {
        public var major: Int64
        public var minor: Int64
        public var rate: UInt64
      }
    }

    public struct HugepageLimit: Codable, Sendable, Equatable {
      public var pageSize: String
      public var limit: UInt64
    }

    public struct Network: Codable, Sendable, Equatable {
      public var classID: UInt32?
      public var priorities: [Priority]?
      public struct Priority: Codable, Sendable, Equatable {
        public var name: String
        public var priority: UInt32
      }
    }

    public struct RDMA: Codable, Sendable, Equatable {
      public var hcaHandles: UInt32?
      public var hcaObjects: UInt32?
    }
  }
}
