// berth's nftables table, `inet berth`, through Debian's libnftables in
// the berth-nft helper (the static CLI cannot load the shared library).
// Per-container state is map elements, not rules: publishing a port adds
// `proto . port : address . port` to a map the fixed DNAT rules look up,
// so a container's start and stop are one element change each and no rule
// is ever searched for by handle. Per network: its subnet in the
// masquerade set (internal networks: their bridge in a drop set instead).
// The table goes with the last network's bridge.
import BerthSystem
import Glibc

enum Firewall {
  static let table = "inet berth"

  /// Runs an nft script as one kernel transaction (all of it or nothing)
  /// in berth-nft, beside berth-monitor; nft's error comes back on its
  /// stderr.
  static func run(_ script: String, what: String) throws(BerthError) {
    let helper = try MonitorLauncher.helperBinary("berth-nft")
    let result: (status: Int32, output: String)
    do {
      result = try ChildProcess.capture(
        ["berth-nft"], path: helper, input: Array(script.utf8), mergeStderr: true)
    } catch {
      throw BerthError.wrapping(error, "cannot \(what)")
    }
    guard result.status == 0 else {
      let firstLine = result.output.split(separator: "\n").first.map(String.init) ?? "nft failed"
      throw BerthError(
        .system, "cannot \(what): \(firstLine)",
        hint: "the nf_tables kernel module and CAP_NET_ADMIN are needed")
    }
  }

  /// The table, its maps and sets (kept), and its chains (flushed and
  /// filled again, so running this twice leaves one copy of each rule).
  static var baseScript: String {
    """
    add table \(table)
    add map \(table) any4 { type inet_proto . inet_service : ipv4_addr . inet_service; }
    add map \(table) addr4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
    add map \(table) any6 { type inet_proto . inet_service : ipv6_addr . inet_service; }
    add map \(table) addr6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }
    add set \(table) nat4 { type ipv4_addr; flags interval; }
    add set \(table) nat6 { type ipv6_addr; flags interval; }
    add set \(table) internal { type ifname; }
    add chain \(table) ports
    add chain \(table) prerouting { type nat hook prerouting priority dstnat; policy accept; }
    add chain \(table) output { type nat hook output priority -100; policy accept; }
    add chain \(table) postrouting { type nat hook postrouting priority srcnat; policy accept; }
    add chain \(table) forward { type filter hook forward priority filter; policy accept; }
    flush chain \(table) ports
    flush chain \(table) prerouting
    flush chain \(table) output
    flush chain \(table) postrouting
    flush chain \(table) forward
    add rule \(table) ports dnat ip to ip daddr . meta l4proto . th dport map @addr4
    add rule \(table) ports dnat ip to meta l4proto . th dport map @any4
    add rule \(table) ports dnat ip6 to ip6 daddr . meta l4proto . th dport map @addr6
    add rule \(table) ports dnat ip6 to meta l4proto . th dport map @any6
    add rule \(table) prerouting fib daddr type local jump ports
    add rule \(table) output fib daddr type local jump ports
    add rule \(table) postrouting ip saddr @nat4 ip daddr != @nat4 masquerade
    add rule \(table) postrouting ip6 saddr @nat6 ip6 daddr != @nat6 masquerade
    add rule \(table) postrouting ip saddr 127.0.0.0/8 ip daddr @nat4 masquerade
    add rule \(table) forward iifname @internal drop
    add rule \(table) forward oifname @internal drop

    """
  }

  /// A network's bridge joins the rules: NAT for its subnets, or none of
  /// the outside for an internal one.
  static func addNetwork(_ network: Network) throws(BerthError) {
    var script = baseScript
    if network.isInternal {
      script += "add element \(table) internal { \"\(network.interface)\" }\n"
    } else {
      for subnet in network.subnetList {
        let set = subnet.isIPv6 ? "nat6" : "nat4"
        script += "add element \(table) \(set) { \(subnet.subnet) }\n"
      }
    }
    try run(script, what: "add the firewall rules of network \(network.name)")
  }

  /// Takes the network out; with `last`, the whole table goes.
  static func removeNetwork(_ network: Network, last: Bool) {
    if last {
      try? run("delete table \(table)\n", what: "delete berth's nftables table")
      return
    }
    if network.isInternal {
      try? run(
        "delete element \(table) internal { \"\(network.interface)\" }\n",
        what: "remove network \(network.name) from the firewall")
    }
    for subnet in network.subnetList where !network.isInternal {
      let set = subnet.isIPv6 ? "nat6" : "nat4"
      try? run(
        "delete element \(table) \(set) { \(subnet.subnet) }\n",
        what: "remove network \(network.name) from the firewall")
    }
  }

  /// The map elements of one published port for a container address.
  static func elements(_ port: PublishedPort, to address: IPAddress) -> (
    map: String, element: String
  ) {
    let v4 = address.isIPv4
    let target = v4 ? "\(address)" : "[\(address)]"
    let value = "\(target) . \(port.containerPort)"
    if port.hostIP.isEmpty {
      return (v4 ? "any4" : "any6", "\(port.protocol) . \(port.hostPort) : \(value)")
    }
    let host = v4 ? port.hostIP : "[\(port.hostIP)]"
    return (v4 ? "addr4" : "addr6", "\(host) . \(port.protocol) . \(port.hostPort) : \(value)")
  }

  static func publish(_ ports: [(PublishedPort, IPAddress)]) throws(BerthError) {
    guard !ports.isEmpty else { return }
    var script = ""
    for (port, address) in ports {
      let (map, element) = elements(port, to: address)
      script += "add element \(table) \(map) { \(element) }\n"
    }
    try run(script, what: "publish the ports")
  }

  /// The key does not depend on the container address, only on its
  /// family: each distinct deletion runs once.
  static func unpublish(_ ports: [(PublishedPort, IPAddress)]) {
    var done: Set<String> = []
    for (port, address) in ports {
      let (map, element) = elements(port, to: address)
      let statement = "delete element \(table) \(map) { \(deletionKey(element)) }\n"
      // One statement each: an element already gone must not keep the rest.
      if done.insert(statement).inserted { try? run(statement, what: "unpublish a port") }
    }
  }

  /// `proto . port` or `addr . proto . port` (the element before its value).
  static func deletionKey(_ element: String) -> String {
    guard let range = element.range(of: " : ") else { return element }
    return String(element[..<range.lowerBound])
  }
}
