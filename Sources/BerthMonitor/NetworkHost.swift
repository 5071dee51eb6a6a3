// The user's network host for rootless bridge networks: one long-lived
// process (`berth-monitor nethost RUNROOT`) holding a user namespace
// (mapped as every rootless container's: the user as 0, the subordinate
// ids above) and a network namespace of that user namespace, with pasta
// giving it the way out. The bridges, their firewall table and their DNS
// responders live in its network namespace; each container's monitor joins
// its user namespace, makes the container's network namespace and plugs a
// veth into a bridge there. Podman keeps its pause process and rootless
// netns for the same reason: a veth needs CAP_NET_ADMIN over both of its
// namespaces, which an unprivileged user has only inside one user
// namespace of its own. The engine starts it with the first such container
// and ends it after the last.
import BerthSystem
import CBerth
import Glibc
import SystemPackage

public enum NetworkHost {
  public static func pidFile(runRoot: String) -> String { runRoot + "/nethost.pid" }
  public static func pastaPidFile(runRoot: String) -> String { runRoot + "/nethost-pasta.pid" }

  /// The running network host of `runRoot`, checked by its command line.
  public static func livePid(runRoot: String) -> pid_t? {
    BerthSystem.livePid(fromFile: pidFile(runRoot: runRoot)) { argv in
      argv.count >= 3 && argv[1] == "nethost" && argv[2] == runRoot
    }
  }

  /// The host's user and network namespaces, opened while it is checked to
  /// be the host (before and after, so a reused pid is never joined).
  public static func openNamespaces(pid: pid_t, runRoot: String) throws(BerthError)
    -> (user: Int32, network: Int32)
  {
    let gone = BerthError(
      .notFound, "the rootless network host (pid \(pid)) is gone",
      hint: "start the container again")
    guard livePid(runRoot: runRoot) == pid else { throw gone }
    let user = try openNamespace("/proc/\(pid)/ns/user", .user)
    let network: Int32
    do {
      network = try openNamespace("/proc/\(pid)/ns/net", .network)
    } catch {
      close(user)
      throw error
    }
    guard livePid(runRoot: runRoot) == pid else {
      close(user)
      close(network)
      throw gone
    }
    return (user, network)
  }

  /// `berth-monitor nethost`: a user namespace (mapped by the engine once
  /// the first byte on `ready` says it exists, then `go`), a network
  /// namespace with loopback up (the second byte), then nothing until
  /// SIGTERM. Single-threaded, as unshare(CLONE_NEWUSER) requires.
  public static func run(ready: Int32, go: Int32) -> Never {
    setsid()
    func fail(_ message: String) -> Never {
      let line = "Error: \(message) (errno \(errno))\n"
      _ = line.withCString { write(2, $0, strlen($0)) }
      exit(125)
    }
    var byte: UInt8 = 1
    guard berth_unshare(Int32(BERTH_CLONE_NEWUSER)) == 0 else {
      fail("cannot make a user namespace")
    }
    _ = write(ready, &byte, 1)
    guard read(go, &byte, 1) == 1 else { fail("the user namespace was not mapped") }
    guard berth_setresgid(0) == 0, berth_setresuid(0) == 0 else {
      fail("cannot become root in the user namespace")
    }
    guard berth_unshare(Int32(BERTH_CLONE_NEWNET)) == 0 else {
      fail("cannot make a network namespace")
    }
    do {
      try RouteNetlink().setUp(1, what: "lo")
    } catch {
      fail(error.description)
    }
    _ = write(ready, &byte, 1)
    close(ready)
    close(go)
    while true { pause() }
  }

  /// `berth-monitor nsexec PID RUNROOT PROGRAM ARGS...`: runs PROGRAM in
  /// the network host's user and network namespaces (its DNS responders,
  /// the engine's bridge set-up there).
  public static func exec(pid: pid_t, runRoot: String, arguments: [String]) throws(BerthError)
    -> Never
  {
    try join(pid: pid, runRoot: runRoot)
    let argv = arguments.map { strdup($0) } + [nil]
    execv(arguments[0], argv)
    throw BerthError.system("cannot run \(arguments[0])", Errno(rawValue: errno))
  }

  /// Moves this (single-threaded) process into the host's user and network
  /// namespaces, as root there.
  public static func join(pid: pid_t, runRoot: String) throws(BerthError) {
    let (user, network) = try openNamespaces(pid: pid, runRoot: runRoot)
    defer {
      close(user)
      close(network)
    }
    try setns(user, .user, path: "the rootless network host's user namespace")
    try setns(network, .network, path: "the rootless network host's network namespace")
    try check("cannot become root in the user namespace") { berth_setresgid(0) }
    try check("cannot become root in the user namespace") { berth_setresuid(0) }
  }

  /// In the monitor, in the host's user namespace and the container's new
  /// network namespace: each veth made in the host's network namespace
  /// with its peer in ours, then our side configured.
  static func wire(_ bridge: RootlessBridge, hostNetwork: Int32) throws(BerthError) {
    let own = try openNamespace("/proc/self/ns/net", .network)
    defer { close(own) }
    try setns(hostNetwork, .network, path: "the rootless network host's network namespace")
    let plugged = Result { () throws(BerthError) in
      let host = try RouteNetlink()
      for link in bridge.links {
        // A crashed earlier start's end would make the name taken.
        if let stale = try host.linkIndex(link.hostName) {
          try host.deleteLink(stale, what: link.hostName)
        }
        try host.plugVeth(
          link.hostName, into: link.bridge, peer: link.name, peerNamespace: own, mtu: link.mtu,
          peerMAC: link.mac)
      }
    }
    try setns(own, .network, path: "the container's network namespace")
    try plugged.get()
    try RouteNetlink().configureContainerSide(
      bridge.interfaces, defaultRoutes: bridge.defaultRoutes)
  }
}
