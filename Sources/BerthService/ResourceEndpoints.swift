// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// /volumes and /networks: list, inspect, create, remove, prune, in
// docker's shapes, on the engine's records.
import BerthEngine
import BerthSystem
import FoundationEssentials

enum VolumeEndpoints {
  struct CreateBody: Decodable {
    var Name: String?
    var Driver: String?
    var DriverOpts: [String: String]?
    var Labels: [String: String]?
  }

  static func route(_ request: APIRequest, _ path: [String], _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    switch (request.method, path.count, path.first ?? "") {
    case (.GET, 0, _):
      struct List: Encodable {
        var volumes: [InspectedVolume]
        var warnings: [String] = []
      }
      return .json(
        .ok, Router.dockerJSON(List(volumes: try engine.volumes().map(InspectedVolume.init))))
    case (.POST, 1, "create"):
      let body = try Router.decode(CreateBody.self, request.body)
      let volume = try engine.createVolume(
        name: body.Name.flatMap { $0.isEmpty ? nil : $0 }, driver: body.Driver ?? "local",
        labels: body.Labels ?? [:], options: body.DriverOpts ?? [:])
      return .json(.created, Router.dockerJSON(InspectedVolume(volume)))
    case (.POST, 1, "prune"):
      struct Pruned: Encodable {
        var VolumesDeleted: [String]
        var SpaceReclaimed = 0
      }
      return .json(.ok, Router.json(Pruned(VolumesDeleted: try engine.pruneVolumes())))
    case (.GET, 1, let name):
      return .json(.ok, Router.dockerJSON(InspectedVolume(try engine.volume(name))))
    case (.DELETE, 1, let name):
      try engine.removeVolume(name, force: request.flag("force"))
      return .empty(.noContent)
    default:
      return Router.notFound("page not found")
    }
  }
}

enum NetworkEndpoints {
  struct NetworkInfo: Encodable {
    var Name: String
    var Id: String
    var Created: String
    var Scope = "local"
    var Driver: String
    var EnableIPv6: Bool
    var Internal: Bool
    var IPAM: IPAMInfo
    var Labels: [String: String]
    var Options: [String: String]

    struct IPAMInfo: Encodable {
      var Driver = "default"
      var Config: [[String: String]]
    }

    init(_ network: Network) {
      Name = network.name
      Id = network.id
      Created = network.created
      Driver = network.driver
      EnableIPv6 = network.subnetList.contains { $0.isIPv6 }
      Internal = network.isInternal
      IPAM = IPAMInfo(
        Config: network.subnetList.map { ["Subnet": $0.subnet, "Gateway": $0.gateway] })
      Labels = network.labelMap
      Options = network.optionMap
    }
  }

  struct CreateBody: Decodable {
    var Name: String
    var Driver: String?
    var Internal: Bool?
    var EnableIPv6: Bool?
    var Labels: [String: String]?
    var Options: [String: String]?
    var IPAM: IPAM?

    struct IPAM: Decodable {
      var Config: [Entry]?

      struct Entry: Decodable {
        var Subnet: String?
        var Gateway: String?
        var IPRange: String?
      }
    }
  }

  static func route(_ request: APIRequest, _ path: [String], _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    switch (request.method, path.count, path.first ?? "") {
    case (.GET, 0, _):
      return .json(.ok, Router.json(try engine.networks().map(NetworkInfo.init)))
    case (.POST, 1, "create"):
      let body = try Router.decode(CreateBody.self, request.body)
      var create = NetworkCreateRequest(name: body.Name)
      create.driver = body.Driver ?? "bridge"
      create.isInternal = body.Internal ?? false
      create.ipv6 = body.EnableIPv6 ?? false
      create.labels = body.Labels ?? [:]
      create.options = body.Options ?? [:]
      for entry in body.IPAM?.Config ?? [] {
        if let subnet = entry.Subnet { create.subnets.append(subnet) }
        if let gateway = entry.Gateway { create.gateways.append(gateway) }
        if let range = entry.IPRange { create.ipRanges.append(range) }
      }
      let network = try engine.createNetwork(create)
      struct Created: Encodable {
        var Id: String
        var Warning = ""
      }
      return .json(.created, Router.json(Created(Id: network.id)))
    case (.POST, 1, "prune"):
      struct Pruned: Encodable { var NetworksDeleted: [String] }
      return .json(.ok, Router.json(Pruned(NetworksDeleted: try engine.pruneNetworks())))
    case (.GET, 1, let name):
      return .json(.ok, Router.json(NetworkInfo(try engine.network(name))))
    case (.DELETE, 1, let name):
      _ = try engine.removeNetwork(name, force: false)
      return .empty(.noContent)
    default:
      return Router.notFound("page not found")
    }
  }
}
