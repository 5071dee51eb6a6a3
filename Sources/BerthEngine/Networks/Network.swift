// A network's row, a container's lease on one, and a published port.
import BerthSystem
import FoundationEssentials
import GRDB

public struct NetworkSubnet: Codable, Sendable, Equatable {
  public var subnet: String
  public var gateway: String
  /// `--ip-range`: leases come from this part of the subnet only.
  public var leaseRange: String?

  enum CodingKeys: String, CodingKey {
    case subnet, gateway
    case leaseRange = "lease_range"
  }

  public var isIPv6: Bool { subnet.contains(":") }
  /// The prefix length of the stored (canonical, valid) subnet.
  public var prefixLength: Int { Int(subnet.split(separator: "/").last ?? "") ?? 0 }

  public init(subnet: String, gateway: String, leaseRange: String? = nil) {
    self.subnet = subnet
    self.gateway = gateway
    self.leaseRange = leaseRange
  }
}

public struct Network: Codable, Sendable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "network"
  public var name: String
  public var id: String
  public var driver: String
  /// The bridge's name on the host (berth0, berth1, ...).
  public var interface: String
  public var created: String
  public var subnets: Data
  public var isInternal = false
  public var dns = false
  public var labels: Data
  public var options: Data

  public var subnetList: [NetworkSubnet] {
    (try? JSONDecoder().decode([NetworkSubnet].self, from: subnets)) ?? []
  }
  public var labelMap: [String: String] {
    (try? JSONDecoder().decode([String: String].self, from: labels)) ?? [:]
  }
  public var optionMap: [String: String] {
    (try? JSONDecoder().decode([String: String].self, from: options)) ?? [:]
  }
  public var ipv6: Bool { subnetList.contains(where: \.isIPv6) }
  public var mtu: UInt32? { optionMap["mtu"].flatMap { UInt32($0) } }
}

/// A container's place on a network: its interface (eth + ordinal), MAC,
/// addresses and DNS aliases. Kept from first start to removal, so a
/// restarted container has the same addresses.
public struct Attachment: Codable, Sendable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "attachment"
  public var container: String
  public var network: String
  public var ordinal: Int
  public var mac: String
  public var ipv4: String?
  public var ipv6: String?
  public var aliases: Data

  public var interfaceName: String { "eth\(ordinal)" }
  public var aliasList: [String] {
    (try? JSONDecoder().decode([String].self, from: aliases)) ?? []
  }
}

/// A host port forwarded to a container while it runs.
public struct PublishedPort: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "published"
  public var container: String
  public var `protocol`: String
  /// "" for every address of the host.
  public var hostIP: String
  public var hostPort: Int
  public var containerPort: Int
}

func encodeJSON(_ value: some Encodable) throws(BerthError) -> Data {
  do {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return try encoder.encode(value)
  } catch {
    throw BerthError(.internalError, "cannot encode \(type(of: value)): \(error)")
  }
}
