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
      let filters = try Filters(
        request, allowed: ["name", "label", "label!", "dangling", "driver"])
      let listed = try engine.volumes().filter { volume in
        filters.matches("name", { volume.name.contains($0) })
          && filters.matches("driver", { $0 == volume.driver })
          && filters.matchesLabels(volume.labelMap)
          && filters.dangling.map { (try? engine.volumeUsers(volume.name).isEmpty) == $0 } ?? true
      }
      return .json(.ok, Router.dockerJSON(List(volumes: listed.map(InspectedVolume.init))))
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
      // Since API 1.42 docker prunes only anonymous volumes unless asked
      // for `all`: a named volume holds data someone chose to keep.
      let filters = try Filters(request, allowed: ["label", "label!", "all"])
      let all =
        request.minorVersion < 42
        || filters.values["all"]?.contains { $0 == "true" || $0 == "1" } == true
      let deleted = try engine.pruneVolumes { volume in
        (all || volume.anonymous) && filters.matchesLabels(volume.labelMap)
      }
      return .json(.ok, Router.json(Pruned(VolumesDeleted: deleted)))
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
    var Containers: [String: Member] = [:]

    struct Member: Encodable {
      var Name: String
      var EndpointID: String
      var MacAddress: String
      var IPv4Address: String
      var IPv6Address: String
    }

    struct IPAMInfo: Encodable {
      var Driver = "default"
      var Config: [[String: String]]
    }

    /// Docker calls the default network `bridge`.
    init(_ network: Network, engine: Engine? = nil) {
      Name = network.name == Engine.defaultNetwork ? "bridge" : network.name
      Id = network.id
      Created = network.created
      Driver = network.driver
      EnableIPv6 = network.subnetList.contains { $0.isIPv6 }
      Internal = network.isInternal
      IPAM = IPAMInfo(
        Config: network.subnetList.map { ["Subnet": $0.subnet, "Gateway": $0.gateway] })
      Labels = network.labelMap
      Options = network.optionMap
      for id in (try? engine?.containers(on: network)) ?? [] {
        guard let engine, let container = try? engine.lookup(id),
          let attachment = (try? engine.attachments(of: id))?.first(where: {
            $0.0.name == network.name
          })?.1
        else { continue }
        func cidr(_ address: String?, _ ipv6: Bool) -> String {
          guard let address else { return "" }
          let prefix = network.subnetList.first { $0.isIPv6 == ipv6 }?.subnet.split(separator: "/")
            .last
          return prefix.map { "\(address)/\($0)" } ?? address
        }
        Containers[id] = Member(
          Name: container.name, EndpointID: id + "-" + network.id.prefix(12),
          MacAddress: attachment.mac, IPv4Address: cidr(attachment.ipv4, false),
          IPv6Address: cidr(attachment.ipv6, true))
      }
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

  struct ConnectBody: Decodable {
    var Container: String
    var EndpointConfig: ContainerCreateBody.Endpoint?
    var Force: Bool?
  }

  /// Docker's name for the default network is `bridge`.
  static func networkName(_ name: String) -> String {
    name == "bridge" ? Engine.defaultNetwork : name
  }

  static func route(_ request: APIRequest, _ path: [String], _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    switch (request.method, path.count, path.first ?? "") {
    case (.GET, 0, _):
      let filters = try Filters(
        request, allowed: ["name", "id", "label", "label!", "driver", "type"])
      let listed = try engine.networks().map { NetworkInfo($0) }.filter { info in
        filters.matches("name", { info.Name.contains($0) })
          && filters.matches("id", { info.Id.hasPrefix($0) })
          && filters.matches("driver", { $0 == info.Driver })
          && filters.matches("type", { $0 == (info.Name == "bridge" ? "builtin" : "custom") })
          && filters.matchesLabels(info.Labels)
      }
      return .json(.ok, Router.json(listed))
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
    case (.POST, 2, _) where path[1] == "connect":
      let body = try Router.decode(ConnectBody.self, request.body)
      var endpoint = NetworkRequest(name: networkName(path[0]))
      endpoint.aliases = body.EndpointConfig?.Aliases ?? []
      endpoint.ipv4 = body.EndpointConfig?.IPAMConfig?.IPv4Address.flatMap { $0.isEmpty ? nil : $0 }
      endpoint.ipv6 = body.EndpointConfig?.IPAMConfig?.IPv6Address.flatMap { $0.isEmpty ? nil : $0 }
      try engine.connect(networkName(path[0]), container: body.Container, request: endpoint)
      return .empty(.ok)
    case (.POST, 2, _) where path[1] == "disconnect":
      let body = try Router.decode(ConnectBody.self, request.body)
      try engine.disconnect(networkName(path[0]), container: body.Container)
      return .empty(.ok)
    case (.GET, 1, let name):
      return .json(
        .ok, Router.json(NetworkInfo(try engine.network(networkName(name)), engine: engine)))
    case (.DELETE, 1, let name):
      _ = try engine.removeNetwork(networkName(name), force: false)
      return .empty(.noContent)
    default:
      return Router.notFound("page not found")
    }
  }
}
