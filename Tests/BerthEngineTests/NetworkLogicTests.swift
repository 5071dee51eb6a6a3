import BerthSystem
import Testing

@testable import BerthEngine

@Suite struct SubnetTests {
  @Test func parsesIPv4AndIPv6SubnetsAndRefusesHostBits() throws {
    let v4 = try Subnet(parsing: "10.89.0.0/24")
    #expect(v4.isIPv4 && v4.prefix == 24 && "\(v4)" == "10.89.0.0/24")
    let v6 = try Subnet(parsing: "fd00:1::/64")
    #expect(!v6.isIPv4 && "\(v6)" == "fd00:1::/64")
    for bad in ["10.89.0.1/24", "10.89.0.0", "10.300.0.0/24", "10.0.0.0/33", "fd00::/129", "x/8"] {
      #expect(throws: BerthError.self) { try Subnet(parsing: bad) }
    }
  }

  @Test func overlapIsSymmetricAndFamilyAware() throws {
    let big = try Subnet(parsing: "10.77.0.0/16")
    let inside = try Subnet(parsing: "10.77.5.0/24")
    let apart = try Subnet(parsing: "10.78.0.0/16")
    #expect(big.overlaps(inside) && inside.overlaps(big))
    #expect(!big.overlaps(apart))
    #expect(!big.overlaps(try Subnet(parsing: "fd00::/8")))
  }

  @Test func addressesCountUpFromTheNetworkAddressAndStayInside() throws {
    let subnet = try Subnet(parsing: "10.1.0.0/30")
    #expect(subnet.address(at: 2).map { "\($0)" } == "10.1.0.2")
    #expect(subnet.address(at: 4) == nil)
    #expect(subnet.usableCount == 1)
    let carry = try Subnet(parsing: "10.1.0.0/16")
    #expect(carry.address(at: 256 + 3).map { "\($0)" } == "10.1.1.3")
    let v6 = try Subnet(parsing: "fd00::/64")
    #expect(v6.address(at: 0x1_0002).map { "\($0)" } == "fd00::1:2")
  }

  @Test func leasesSkipTheGatewayUsedAddressesAndBroadcast() throws {
    let subnet = NetworkSubnet(subnet: "10.2.0.0/29", gateway: "10.2.0.1")
    var used: Set<String> = []
    var given: [String] = []
    while let next = try? Engine.allocate(subnet, used: used, wanted: nil, network: "n") {
      given.append(next)
      used.insert(next)
    }
    #expect(given == ["10.2.0.2", "10.2.0.3", "10.2.0.4", "10.2.0.5", "10.2.0.6"])
    #expect(throws: BerthError.self) {
      try Engine.allocate(subnet, used: [], wanted: "10.2.0.1", network: "n")
    }
    #expect(throws: BerthError.self) {
      try Engine.allocate(subnet, used: [], wanted: "10.3.0.2", network: "n")
    }
    let ranged = NetworkSubnet(
      subnet: "10.2.0.0/24", gateway: "10.2.0.1", leaseRange: "10.2.0.128/25")
    #expect(try Engine.allocate(ranged, used: [], wanted: nil, network: "n") == "10.2.0.128")
  }

  @Test func leasesGoRoundRobinSoAnAddressJustGivenBackWaits() throws {
    let subnet = NetworkSubnet(subnet: "10.2.0.0/29", gateway: "10.2.0.1")
    func next(after last: String?, used: Set<String> = []) throws -> String {
      try Engine.allocate(subnet, used: used, wanted: nil, network: "n", after: last)
    }
    // .2 was given and given back: the next lease is .3, not .2 again.
    #expect(try next(after: "10.2.0.2") == "10.2.0.3")
    // After the last usable one it wraps, skipping the used.
    #expect(try next(after: "10.2.0.6") == "10.2.0.2")
    #expect(try next(after: "10.2.0.6", used: ["10.2.0.2"]) == "10.2.0.3")
    // A cursor outside the pool (the subnet changed) starts from the beginning.
    #expect(try next(after: "10.9.0.9") == "10.2.0.2")
  }
}

@Suite struct PortRequestTests {
  @Test(arguments: [
    ("80", "", 0, 80, "tcp"), ("8080:80", "", 8080, 80, "tcp"),
    ("127.0.0.1:8080:80/udp", "127.0.0.1", 8080, 80, "udp"),
    ("127.0.0.1::80", "127.0.0.1", 0, 80, "tcp"), ("[::1]:8080:80", "::1", 8080, 80, "tcp"),
    ("0.0.0.0:53:53/sctp", "", 53, 53, "sctp"), ("0:8080", "", 0, 8080, "tcp"),
    ("127.0.0.1:0:80", "127.0.0.1", 0, 80, "tcp"),
  ])
  func readsEachFormDockerAccepts(
    text: String, hostIP: String, hostPort: Int, containerPort: Int, proto: String
  ) throws {
    let parsed = try PortRequest.parse(text)
    #expect(
      parsed == [
        PortRequest(
          hostIP: hostIP, hostPort: hostPort, containerPort: containerPort, protocol: proto)
      ])
  }

  @Test func rangesExpandPairwise() throws {
    let ports = try PortRequest.parse("8000-8002:80-82")
    #expect(ports.map(\.hostPort) == [8000, 8001, 8002])
    #expect(ports.map(\.containerPort) == [80, 81, 82])
    #expect(try PortRequest.parse("90-91").map(\.hostPort) == [0, 0])
  }

  @Test(arguments: ["0", "70000", "80/icmp", "1-3:80", "a:b", "1.2.3.4:5:6:7", "[::1:80"])
  func badMappingsAreRefused(text: String) {
    #expect(throws: BerthError.self) { try PortRequest.parse(text) }
  }
}

@Suite struct NetworkFlagTests {
  @Test func noFlagsMeanTheDefaultBridgeAsRootAndPastaRootless() throws {
    var config = ContainerConfig()
    try NetworkFlags().apply(to: &config, rootless: false)
    #expect(config.network == "bridge")
    #expect(config.networks?.map(\.name) == ["berth"])
    var rootless = ContainerConfig()
    try NetworkFlags().apply(to: &rootless, rootless: true)
    #expect(rootless.network == (Engine.pastaPath() != nil ? "pasta" : "none"))
  }

  @Test func networkOptionsAndTheFirstNetworksFlags() throws {
    var flags = NetworkFlags()
    flags.networks = ["front:alias=web,ip=10.1.0.5", "back"]
    flags.aliases = ["www"]
    flags.mac = "02:00:00:00:00:01"
    flags.ports = ["8080:80"]
    var config = ContainerConfig()
    try flags.apply(to: &config, rootless: false)
    #expect(config.networks?.map(\.name) == ["front", "back"])
    #expect(config.networks?.first?.aliases == ["web", "www"])
    #expect(config.networks?.first?.ipv4 == "10.1.0.5")
    #expect(config.networks?.first?.mac == "02:00:00:00:00:01")
    #expect(config.ports?.first?.hostPort == 8080)
  }

  @Test(arguments: [
    (["none", "host"], [String]()), (["host"], ["80"]), (["front:colour=red"], []),
    (["a", "a"], []),
  ])
  func conflictingNetworkFlagsAreRefused(networks: [String], ports: [String]) {
    var flags = NetworkFlags()
    flags.networks = networks
    flags.ports = ports
    var config = ContainerConfig()
    #expect(throws: BerthError.self) { try flags.apply(to: &config, rootless: false) }
  }

  @Test func macAddressesAreUnicastAndLocallyAdministered() {
    for _ in 0..<100 {
      let bytes = MACAddress.bytes(MACAddress.random())
      #expect(bytes.map { $0[0] & 0x03 } == 0x02)
    }
    #expect(MACAddress.bytes("01:00:5e:00:00:01") == nil, "multicast")
  }
}

@Suite struct SubnetPoolTests {
  func subnet(_ text: String) -> Subnet { try! Subnet(parsing: text) }

  @Test func theDefaultNetworkTakesTheFirstFreeSixteen() throws {
    #expect(try Engine.freeSubnet((10, 90, 16), taken: []) == subnet("10.90.0.0/16"))
    #expect(
      try Engine.freeSubnet((10, 90, 16), taken: [subnet("10.90.3.0/24")])
        == subnet("10.91.0.0/16"))
  }

  /// A host route on 10.90/16 pushed the default network to 10.91/16, and
  /// every new network then found no free /24.
  @Test func newNetworksGoOnPastADefaultThatTookTheirSixteen() throws {
    #expect(try Engine.freeSubnet((10, 91, 24), taken: []) == subnet("10.91.0.0/24"))
    #expect(
      try Engine.freeSubnet((10, 91, 24), taken: [subnet("10.90.0.0/16"), subnet("10.91.0.0/16")])
        == subnet("10.92.0.0/24"))
  }
}
