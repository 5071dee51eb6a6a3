import BerthTestSupport
import Foundation
import Testing

/// A second network namespace wired to a sandbox's like another host on
/// a link: 192.0.2.1 (the sandbox's side) and 192.0.2.2 (the peer's).
final class PeerHost {
  let name: String
  let box: EngineSandbox

  init(_ box: EngineSandbox) {
    self.box = box
    name = "peer-" + String(box.netns.suffix(8))
    sh(["ip", "netns", "add", name])
    sh([
      "ip", "link", "add", "vpa" + name.suffix(8), "netns", box.netns, "type", "veth", "peer",
      "name", "vpb" + name.suffix(8), "netns", name,
    ])
    box.inNetwork(["ip", "addr", "add", "192.0.2.1/24", "dev", "vpa" + name.suffix(8)])
    box.inNetwork(["ip", "link", "set", "vpa" + name.suffix(8), "up"])
    sh(["ip", "-n", name, "addr", "add", "192.0.2.2/24", "dev", "vpb" + name.suffix(8)])
    sh(["ip", "-n", name, "link", "set", "vpb" + name.suffix(8), "up"])
    sh(["ip", "-n", name, "link", "set", "lo", "up"])
    sh(["ip", "-n", name, "route", "add", "default", "via", "192.0.2.1"])
  }

  @discardableResult
  func run(_ args: [String]) -> Output { sh(["ip", "netns", "exec", name] + args) }

  func remove() { sh(["ip", "netns", "del", name]) }
}

@Suite(
  "berth networks: bridges, published ports, names, teardown",
  .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct NetworkTests {
  /// `busybox wget -O -` of a URL, from the sandbox's namespace (the host).
  func fetch(_ box: EngineSandbox, _ url: String) -> Output {
    box.inNetwork(["timeout", "5", "busybox", "wget", "-q", "-O", "-", url])
  }

  @Test func aContainerGetsAnAddressOnTheDefaultBridgeAndARouteOut() {
    let box = EngineSandbox("net-default")
    defer { box.finish() }
    let out = box.berth(["run", "--rm", "busybox", "sh", "-c", "ip -4 addr show eth0; ip route"])
    #expect(out.status == 0, "\(out.combined)")
    #expect(out.stdout.contains("inet 10."), "\(out.stdout)")
    #expect(out.stdout.contains("default via 10."), "\(out.stdout)")
    let ls = box.berth(["network", "ls"])
    #expect(ls.stdout.hasPrefix("NETWORK ID    NAME   DRIVER\n"), "\(ls.stdout)")
    #expect(ls.stdout.contains("  berth  bridge\n"), "\(ls.stdout)")
    // The bridge answers on the gateway address the container was given.
    let inspect = box.berth(["network", "inspect", "--format", "{{.NetworkInterface}}", "berth"])
    #expect(inspect.stdout == "berth0\n", "\(inspect.combined)")
    #expect(box.inNetwork(["ip", "-o", "addr", "show", "berth0"]).stdout.contains("10."))
  }

  @Test func aPublishedPortAnswersOnLoopbackOnTheBridgeAndFromAnotherHost() {
    let box = EngineSandbox("net-ports")
    let peer = PeerHost(box)
    defer {
      peer.remove()
      box.finish()
    }
    let web = box.berth([
      "run", "-d", "--name", "web", "-p", "8080:80", "-p", "127.0.0.1:8081:80", "-p", "80",
      "busybox", "httpd", "-f", "-p", "80", "-h", "/etc",
    ])
    #expect(web.status == 0, "\(web.combined)")
    let hostname = box.berth(["exec", "web", "hostname"]).stdout
    #expect(!hostname.isEmpty)
    #expect(box.eventually { fetch(box, "http://127.0.0.1:8080/hostname").stdout == hostname })
    let gateway = box.berth([
      "inspect", "--format", "{{.NetworkSettings.Gateway}}", "web",
    ]).stdout.trimmed
    #expect(fetch(box, "http://\(gateway):8080/hostname").stdout == hostname)
    #expect(
      peer.run([
        "timeout", "5", "busybox", "wget", "-q", "-O", "-", "http://192.0.2.1:8080/hostname",
      ]).stdout == hostname)
    // Bound to 127.0.0.1 only: not from the other host.
    #expect(fetch(box, "http://127.0.0.1:8081/hostname").stdout == hostname)
    #expect(
      peer.run([
        "timeout", "3", "busybox", "wget", "-q", "-O", "-", "http://192.0.2.1:8081/hostname",
      ]).status != 0)
    // `-p 80` took a free host port; port reports all three as podman does.
    let ports = box.berth(["port", "web"]).stdout.split(separator: "\n").map(String.init)
    #expect(ports.count == 3, "\(ports)")
    #expect(ports.contains("80/tcp -> 0.0.0.0:8080"), "\(ports)")
    #expect(ports.contains("80/tcp -> 127.0.0.1:8081"), "\(ports)")
    let random = ports.first { !$0.hasSuffix(":8080") && !$0.hasSuffix(":8081") } ?? ""
    let randomPort = random.split(separator: ":").last.map(String.init) ?? ""
    #expect(Int(randomPort).map { $0 >= 32768 } == true, "\(random)")
    #expect(fetch(box, "http://127.0.0.1:\(randomPort)/hostname").stdout == hostname)
    #expect(box.berth(["port", "web", "80/tcp"]).stdout.contains("0.0.0.0:8080"))
    // ps's PORTS column, podman's HOST->CONTAINER/PROTO list.
    let column = box.berth(["ps", "--format", "{{.Ports}}", "--filter", "name=^web$"]).stdout
    #expect(column.contains("0.0.0.0:8080->80/tcp"), "\(column)")
    #expect(column.contains("127.0.0.1:8081->80/tcp"), "\(column)")
    // stats counts the traffic of the container's own interfaces.
    let netIO = box.berth(["stats", "--no-stream", "--format", "{{.NetIO}}", "web"]).stdout
    #expect(!netIO.hasPrefix("--") && netIO.contains(" / "), "\(netIO)")
    // The same host port again is refused while web runs, and nothing is left half-made.
    let clash = box.berth(["run", "-d", "-p", "8080:80", "busybox", "sleep", "5"])
    #expect(clash.status == 125)
    #expect(clash.stderr.contains("8080/tcp is already published"), "\(clash.stderr)")
    // Stopped, the port is free again: the map element went with the container.
    #expect(box.berth(["stop", "-t", "0", "web"]).status == 0)
    #expect(fetch(box, "http://127.0.0.1:8080/hostname").status != 0)
    #expect(box.berth(["run", "--rm", "-p", "8080:80", "busybox", "true"]).status == 0)
  }

  @Test func publishAllPublishesTheImagesExposedPorts() {
    let box = EngineSandbox("net-publish-all")
    defer { box.finish() }
    #expect(box.berth(["create", "--name", "base", "busybox", "true"]).status == 0)
    let commit = box.berth([
      "commit", "-c", "EXPOSE 80/tcp", "-c",
      "CMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/etc\"]",
      "base", "localhost/web:1",
    ])
    #expect(commit.status == 0, "\(commit.combined)")
    #expect(box.berth(["run", "-d", "--name", "web", "-P", "localhost/web:1"]).status == 0)
    let port = box.berth(["port", "web", "80"]).stdout.trimmed
    #expect(port.hasPrefix("0.0.0.0:"), "\(port)")
    let hostname = box.berth(["exec", "web", "hostname"]).stdout
    let number = port.split(separator: ":").last.map(String.init) ?? ""
    #expect(box.eventually { fetch(box, "http://127.0.0.1:\(number)/hostname").stdout == hostname })
    #expect(box.berth(["rm", "-f", "web", "base"]).status == 0)
    #expect(box.berth(["rmi", "localhost/web:1"]).status == 0)
  }

  @Test func aPortAHostProcessHoldsIsRefused() {
    let box = EngineSandbox("net-inuse")
    defer { box.finish() }
    let listener = box.inNetwork([
      "bash", "-c", "busybox nc -l -p 9090 </dev/null >/dev/null 2>&1 & echo $!",
    ]).stdout.trimmed
    defer { sh(["kill", listener]) }
    #expect(box.eventually { box.inNetwork(["ss", "-ltn"]).stdout.contains(":9090") })
    let out = box.berth(["run", "--rm", "-p", "9090:80", "busybox", "true"])
    #expect(out.status == 125)
    #expect(out.stderr.contains("9090/tcp is already in use on the host"), "\(out.stderr)")
  }

  @Test func hostsAndResolvConfFollowTheFlags() {
    let box = EngineSandbox("net-files")
    defer { box.finish() }
    let out = box.berth([
      "run", "--rm", "--hostname", "box1", "--add-host", "db.local:10.9.9.9", "--add-host",
      "gw:host-gateway", "--dns", "192.0.2.53", "--dns-search", "example.test", "--dns-option",
      "ndots:2", "busybox", "cat", "/etc/hosts", "/etc/resolv.conf",
    ])
    #expect(out.status == 0, "\(out.combined)")
    #expect(out.stdout.contains("10.9.9.9\tdb.local\n"), "\(out.stdout)")
    #expect(out.stdout.contains("\tgw\n"), "\(out.stdout)")
    #expect(!out.stdout.contains("host-gateway"), "\(out.stdout)")
    #expect(out.stdout.contains("\tbox1 "), "\(out.stdout)")
    #expect(out.stdout.contains("host.containers.internal"), "\(out.stdout)")
    #expect(out.stdout.contains("nameserver 192.0.2.53\n"), "\(out.stdout)")
    #expect(out.stdout.contains("search example.test\n"), "\(out.stdout)")
    #expect(out.stdout.contains("options ndots:2\n"), "\(out.stdout)")
  }

  @Test func mtuAndIPRangeShapeTheContainersInterface() {
    let box = EngineSandbox("net-mtu")
    defer { box.finish() }
    let create = box.berth([
      "network", "create", "--subnet", "10.56.0.0/24", "--ip-range", "10.56.0.128/25", "--opt",
      "mtu=1400", "narrow",
    ])
    #expect(create.status == 0, "\(create.combined)")
    let out = box.berth([
      "run", "--rm", "--network", "narrow", "busybox", "ip", "addr", "show", "eth0",
    ])
    #expect(out.stdout.contains("mtu 1400"), "\(out.stdout)")
    #expect(out.stdout.contains("inet 10.56.0.128/24"), "\(out.stdout)")
    let range = box.berth(["network", "inspect", "--format", "{{.Subnets}}", "narrow"])
    #expect(range.stdout == "10.56.0.0/24\n", "\(range.combined)")
    #expect(box.berth(["network", "create", "--opt", "mtu=10", "bad"]).status == 125)
  }

  @Test func systemPruneTakesStoppedContainersUnusedNetworksAndAllTheirState() {
    let box = EngineSandbox("net-prune")
    defer { box.finish() }
    #expect(box.berth(["network", "create", "--subnet", "10.57.0.0/24", "gone"]).status == 0)
    let run = box.berth([
      "run", "-d", "--name", "short", "--network", "gone", "-p", "8095:80", "busybox", "sleep",
      "60",
    ])
    #expect(run.status == 0, "\(run.combined)")
    let bridge = box.berth(["network", "inspect", "--format", "{{.NetworkInterface}}", "gone"])
      .stdout.trimmed
    #expect(box.inNetwork(["ip", "-o", "link", "show", bridge]).status == 0)
    #expect(box.berth(["stop", "-t", "0", "short"]).status == 0)
    let prune = box.berth(["system", "prune", "-f"])
    #expect(prune.status == 0, "\(prune.combined)")
    #expect(prune.stdout.contains("Deleted Networks\ngone\n"), "\(prune.stdout)")
    #expect(box.inNetwork(["ip", "-o", "link", "show", bridge]).status != 0, "bridge left")
    let table = box.inNetwork(["nft", "list", "set", "inet", "berth", "nat4"]).stdout
    #expect(!table.contains("10.57.0.0"), "\(table)")
    #expect(box.berth(["network", "ls", "-q"]).stdout == "berth\n")
    // A namespace whose container is gone (a --rm monitor killed after it
    // told the exit, before it deleted its veths) is swept by network prune.
    let orphan = box.runRoot + "/netns/" + String(repeating: "e", count: 64)
    let made = sh([
      "sh", "-c",
      "mkdir -p \(box.runRoot)/netns && touch \(orphan) && unshare --net=\(orphan) true",
    ])
    #expect(made.status == 0, "\(made.combined)")
    #expect(box.berth(["network", "prune", "-f"]).status == 0)
    #expect(!FileManager.default.fileExists(atPath: orphan), "the orphaned namespace stayed")
  }

  @Test func anInternalNetworkHasNoRouteOut() {
    let box = EngineSandbox("net-internal")
    defer { box.finish() }
    #expect(box.berth(["network", "create", "--internal", "closed"]).status == 0)
    let out = box.berth(["run", "--rm", "--network", "closed", "busybox", "ip", "route"])
    #expect(out.status == 0, "\(out.combined)")
    #expect(!out.stdout.contains("default"), "\(out.stdout)")
    #expect(out.stdout.contains("dev eth0"), "\(out.stdout)")
    // Nor can it reach the host past its own bridge.
    box.inNetwork(["ip", "addr", "add", "198.51.100.1/32", "dev", "lo"])
    func connect(_ network: String) -> Output {
      box.berth([
        "run", "--rm", "--network", network, "busybox", "timeout", "3", "wget", "-q", "-O", "-",
        "http://198.51.100.1:9/",
      ])
    }
    // From the default network the host answers (nothing listens: refused);
    // from the internal one there is no route to it at all.
    #expect(connect("bridge").stderr.contains("refused"), "\(connect("bridge").combined)")
    let closed = connect("closed")
    #expect(closed.status != 0)
    #expect(closed.stderr.contains("unreachable"), "\(closed.combined)")
    let inspect = box.berth(["network", "inspect", "--format", "{{.Internal}}", "closed"])
    #expect(inspect.stdout == "true\n")
  }

  @Test func aDualStackNetworkGivesIPv6AddressesThatReachEachOther() {
    let box = EngineSandbox("net-v6")
    defer { box.finish() }
    #expect(box.berth(["network", "create", "--ipv6", "dual"]).status == 0)
    let server = box.berth([
      "run", "-d", "--name", "v6web", "--network", "dual", "-p", "8082:80", "busybox", "httpd",
      "-f", "-p", "80", "-h", "/etc",
    ])
    #expect(server.status == 0, "\(server.combined)")
    let address = box.berth([
      "inspect", "--format", "{{.NetworkSettings.GlobalIPv6Address}}", "v6web",
    ]).stdout.trimmed
    #expect(address.hasPrefix("fd"), "\(address)")
    let hostname = box.berth(["exec", "v6web", "hostname"]).stdout
    let client = box.berth([
      "run", "--rm", "--network", "dual", "busybox", "timeout", "5", "wget", "-q", "-O", "-",
      "http://[\(address)]/hostname",
    ])
    #expect(client.stdout == hostname, "\(client.combined)")
    // The published port answers on the bridge's IPv6 address too.
    let gateway6 = box.berth([
      "inspect", "--format", "{{.NetworkSettings.IPv6Gateway}}", "v6web",
    ]).stdout.trimmed
    #expect(box.eventually { fetch(box, "http://[\(gateway6)]:8082/hostname").stdout == hostname })
  }

  @Test(arguments: [
    (["network", "create", "--subnet", "10.300.0.0/24", "x"], "invalid subnet"),
    (["network", "create", "--subnet", "10.77.0.1/24", "x"], "host bits are set"),
    (
      ["network", "create", "--subnet", "10.77.0.0/24", "--gateway", "10.78.0.1", "x"],
      "not an address in subnet"
    ),
    (["network", "create", "--driver", "macvlan", "x"], "unsupported network driver"),
    (["network", "inspect", "nosuch"], "network not found"),
    (["network", "rm", "nosuch"], "network not found"),
    (["run", "--rm", "--network", "nosuch", "busybox", "true"], "network not found"),
    (["run", "--rm", "-p", "70000:80", "busybox", "true"], "invalid port mapping"),
    (["run", "--rm", "-p", "1-3:80", "busybox", "true"], "ranges differ in length"),
    (["run", "--rm", "--mac-address", "zz:00", "busybox", "true"], "invalid MAC address"),
    (["run", "--rm", "--ip", "10.1", "busybox", "true"], "invalid IPv4 address"),
    (["run", "--rm", "--network", "none", "-p", "80", "busybox", "true"], "cannot be published"),
  ])
  func badNetworkInputIsAOneLineErrorAndLeavesNothing(args: [String], message: String) {
    let box = EngineSandbox("net-bad")
    defer { box.finish() }
    let out = box.berth(args)
    #expect(out.status == 125, "\(out.combined)")
    #expect(out.stderr.hasPrefix("Error: "), "\(out.stderr)")
    #expect(out.stderr.contains(message), "\(out.stderr)")
    #expect(out.stderr.split(separator: "\n").count == 1, "\(out.stderr)")
    #expect(!box.berth(["network", "ls", "-q"]).stdout.contains("x\n"))
  }

  @Test func overlappingSubnetsAndUsedNetworksAreRefused() {
    let box = EngineSandbox("net-overlap")
    defer { box.finish() }
    #expect(box.berth(["network", "create", "--subnet", "10.77.0.0/16", "a"]).status == 0)
    let overlap = box.berth(["network", "create", "--subnet", "10.77.5.0/24", "b"])
    #expect(overlap.status == 125)
    #expect(overlap.stderr.contains("already used by network a"), "\(overlap.stderr)")
    // A host interface with a route (a veth pair: this kernel has no dummy links).
    box.inNetwork(["ip", "link", "add", "hostroute0", "type", "veth", "peer", "name", "hostroute1"])
    box.inNetwork(["ip", "addr", "add", "10.66.0.1/24", "dev", "hostroute0"])
    box.inNetwork(["ip", "link", "set", "hostroute0", "up"])
    box.inNetwork(["ip", "link", "set", "hostroute1", "up"])
    let route = box.berth(["network", "create", "--subnet", "10.66.0.0/16", "c"])
    #expect(route.status == 125)
    #expect(route.stderr.contains("overlaps the host's route"), "\(route.stderr)")
    #expect(box.berth(["network", "create", "a"]).stderr.contains("already exists"))
    // A bridge name the host already has (another store's) is skipped.
    box.inNetwork(["ip", "link", "add", "berth2", "type", "veth", "peer", "name", "berth2p"])
    #expect(box.berth(["network", "create", "d"]).status == 0)
    #expect(
      box.berth(["network", "inspect", "d", "--format", "{{.NetworkInterface}}"]).stdout
        == "berth3\n")
    // The addresses are the asked ones; a taken one is refused.
    let fixed = box.berth([
      "run", "-d", "--name", "fixed", "--network", "a", "--ip", "10.77.3.3", "--mac-address",
      "02:42:0a:4d:03:03", "busybox", "sleep", "60",
    ])
    #expect(fixed.status == 0, "\(fixed.combined)")
    let shown = box.berth(["exec", "fixed", "ip", "addr", "show", "eth0"]).stdout
    #expect(shown.contains("inet 10.77.3.3/16"), "\(shown)")
    #expect(shown.contains("02:42:0a:4d:03:03"), "\(shown)")
    let taken = box.berth(["run", "--rm", "--network", "a", "--ip", "10.77.3.3", "busybox", "true"])
    #expect(taken.status == 125)
    #expect(taken.stderr.contains("already in use"), "\(taken.stderr)")
    let inUse = box.berth(["network", "rm", "a"])
    #expect(inUse.status == 125)
    #expect(inUse.stderr.contains("used by 1 container"), "\(inUse.stderr)")
    #expect(box.berth(["network", "rm", "-f", "a"]).status == 0)
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty)
    #expect(!box.inNetwork(["ip", "-o", "link"]).stdout.contains("berth1"))
  }

  @Test func aKilledMonitorsNetworkIsRepairedByTheNextCommand() {
    let box = EngineSandbox("net-crash")
    defer { box.finish() }
    let id = box.berth(["run", "-d", "-p", "8090:80", "busybox", "sleep", "60"]).stdout.trimmed
    #expect(!id.isEmpty)
    #expect(box.inNetwork(["ip", "-o", "link"]).stdout.contains(" bv"))
    for pid in box.monitorPids() { kill(pid, SIGKILL) }
    // The next command sees the dead monitor and undoes the network setup.
    let ps = box.berth(["ps", "-a", "--format", "{{.Status}}"])
    #expect(ps.stdout.hasPrefix("Exited"), "\(ps.stdout)")
    #expect(!box.inNetwork(["ip", "-o", "link"]).stdout.contains(" bv"))
    let map = box.inNetwork(["nft", "list", "map", "inet", "berth", "any4"]).stdout
    #expect(!map.contains("8090"), "\(map)")
    // And it starts again with the same address.
    #expect(box.berth(["start", id]).status == 0)
    #expect(box.berth(["port", id]).stdout == "80/tcp -> 0.0.0.0:8090\n")
  }

  @Test func networkInspectHasPodmansFields() throws {
    let box = EngineSandbox("net-inspect")
    defer { box.finish() }
    #expect(
      box.berth(["network", "create", "--subnet", "10.55.0.0/24", "--label", "a=b", "n1"]).status
        == 0)
    let ours = box.berth(["network", "inspect", "n1"])
    let object = try #require(
      (try JSONSerialization.jsonObject(with: Data(ours.stdout.utf8)) as? [[String: Any]])?.first)
    for key in [
      "name", "id", "driver", "network_interface", "created", "subnets", "ipv6_enabled",
      "internal", "dns_enabled", "ipam_options",
    ] {
      #expect(object[key] != nil, "missing \(key)")
    }
    let subnets = object["subnets"] as? [[String: String]]
    #expect(subnets?.first?["subnet"] == "10.55.0.0/24")
    #expect(subnets?.first?["gateway"] == "10.55.0.1")
    #expect(object["dns_enabled"] as? Bool == true)
    #expect(box.berth(["network", "exists", "n1"]).status == 0)
    #expect(box.berth(["network", "exists", "n2"]).status == 1)
    #expect(
      box.berth(["network", "ls", "--format", "{{.Name}} {{.Driver}}"]).stdout.contains(
        "n1 bridge\n"))
    #expect(box.berth(["network", "prune", "-f"]).stdout == "n1\n")
  }
  @Test func containersOnAUserNetworkReachEachOtherByNameAndAlias() {
    let box = EngineSandbox("net-dns")
    defer { box.finish() }
    #expect(box.berth(["network", "create", "app"]).status == 0)
    let web = box.berth([
      "run", "-d", "--name", "web", "--network", "app", "--network-alias", "www", "busybox",
      "httpd", "-f", "-p", "80", "-h", "/etc",
    ])
    #expect(web.status == 0, "\(web.combined)")
    let hostname = box.berth(["exec", "web", "hostname"]).stdout
    for name in ["web", "www", "www.dns.berth"] {
      let out = box.berth([
        "run", "--rm", "--network", "app", "busybox", "timeout", "5", "wget", "-q", "-O", "-",
        "http://\(name)/hostname",
      ])
      #expect(out.stdout == hostname, "\(name): \(out.combined)")
    }
    // TCP by name with nc too, and the resolver is the network's gateway.
    let nc = box.berth([
      "run", "--rm", "--network", "app", "busybox", "sh", "-c",
      "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | timeout 5 nc web 80 | tail -1; cat /etc/resolv.conf",
    ])
    #expect(nc.stdout.hasPrefix(hostname), "\(nc.combined)")
    #expect(nc.stdout.contains("search dns.berth"), "\(nc.stdout)")
    // The responder goes with the last container on the network. (A --rm
    // monitor may still be deleting its trees just after its run returned.)
    #expect(
      box.eventually(5) { box.monitorPids().count == 2 }, "a monitor and a DNS responder")
    #expect(box.berth(["rm", "-f", "web"]).status == 0)
    #expect(box.eventually(5) { box.monitorPids().isEmpty }, "\(box.monitorPids())")
    // A name is gone with its container.
    let gone = box.berth(["run", "--rm", "--network", "app", "busybox", "nslookup", "web"])
    #expect(gone.status != 0, "\(gone.combined)")
  }

  @Test func thirtyTwoContainersStartedAtOnceGetDistinctAddressesAndResolveEachOther() {
    let box = EngineSandbox("net-32")
    defer { box.finish() }
    #expect(box.berth(["network", "create", "many"]).status == 0)
    let started = sh([
      "bash", "-c",
      "for i in $(seq 1 32); do \(box.command) run -d --name c$i --network many busybox sleep 120 >/dev/null & done; wait",
    ])
    #expect(started.status == 0, "\(started.combined)")
    let addresses = (1...32).map { i in
      box.berth([
        "inspect", "--format", "{{.NetworkSettings.IPAddress}}", "c\(i)",
      ]).stdout.trimmed
    }
    #expect(Set(addresses).count == 32, "\(addresses)")
    #expect(!addresses.contains(""), "\(addresses)")
    // c1 resolves every other, and each resolves the next one round.
    let all = (2...32).map { "c\($0)" }.joined(separator: " ")
    let lookups = box.berth([
      "exec", "c1", "sh", "-c", "for n in \(all); do nslookup $n >/dev/null || echo FAIL $n; done",
    ])
    #expect(lookups.status == 0 && !lookups.stdout.contains("FAIL"), "\(lookups.combined)")
    let ring = sh([
      "bash", "-c",
      "for i in $(seq 1 32); do n=$(( i % 32 + 1 )); \(box.command) exec c$i nslookup c$n >/dev/null || echo FAIL c$i; done",
    ])
    #expect(!ring.stdout.contains("FAIL"), "\(ring.combined)")
  }

  @Test func aRunningContainerCanBeConnectedToAnotherNetworkAndDisconnected() {
    let box = EngineSandbox("net-connect")
    defer { box.finish() }
    #expect(box.berth(["network", "create", "front"]).status == 0)
    #expect(box.berth(["network", "create", "back"]).status == 0)
    #expect(
      box.berth(["run", "-d", "--name", "api", "--network", "front", "busybox", "sleep", "60"])
        .status == 0)
    let db = box.berth([
      "run", "-d", "--name", "db", "--network", "back", "busybox", "httpd", "-f", "-p", "80", "-h",
      "/etc",
    ])
    #expect(db.status == 0, "\(db.combined)")
    let dbAddress = box.berth([
      "inspect", "--format", "{{.NetworkSettings.IPAddress}}", "db",
    ]).stdout.trimmed
    let fetch = [
      "exec", "api", "timeout", "3", "wget", "-q", "-O", "-", "http://\(dbAddress)/hostname",
    ]
    // Before: not on db's network, so db's responder does not know api.
    #expect(box.berth(["exec", "db", "nslookup", "apiback"]).status != 0)
    #expect(box.berth(["exec", "api", "nslookup", "db"]).status != 0)
    let connect = box.berth(["network", "connect", "--alias", "apiback", "back", "api"])
    #expect(connect.status == 0, "\(connect.combined)")
    #expect(box.berth(["exec", "api", "ip", "link", "show", "eth1"]).status == 0)
    #expect(box.berth(fetch).status == 0)
    // db's network's responder knows api by the alias it joined with.
    #expect(box.berth(["exec", "db", "nslookup", "apiback"]).status == 0)
    // And api, which asks its first network's responder, finds db on the other.
    #expect(box.berth(["exec", "api", "nslookup", "db"]).status == 0)
    #expect(box.berth(["exec", "api", "grep", "-c", "api$", "/etc/hosts"]).stdout.trimmed == "2")
    let networks = box.berth(["inspect", "--format", "{{json .NetworkSettings.Networks}}", "api"])
    #expect(networks.stdout.contains("\"back\"") && networks.stdout.contains("\"front\""))
    #expect(box.berth(["network", "disconnect", "back", "api"]).status == 0)
    #expect(box.berth(["exec", "api", "ip", "link", "show", "eth1"]).status != 0)
    #expect(box.berth(["exec", "db", "nslookup", "apiback"]).status != 0)
    #expect(box.berth(["exec", "api", "nslookup", "db"]).status != 0)
  }
}
