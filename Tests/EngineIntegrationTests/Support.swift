// The engine's integration tests drive the built `berth` (and its
// berth-monitor) as a user would. Each test gets an EngineSandbox: its own
// --root and --runroot, its own cgroup parent, and the busybox image that
// scripts/test.sh builds once (scripts/make-busybox-image.sh) loaded into
// its store, and its own network namespace (bridges, nftables table and
// published ports of one sandbox never meet another's; real users have one
// engine root per host). finish() is the leak check: no container record,
// no mount under the sandbox, no cgroup, no monitor or DNS process, no
// veth, lease or published port left.
import BerthTestSupport
import Foundation
import Testing

enum EngineEnvironment {
  static let packageRoot = BerthTestSupport.packageRoot
  static let berth =
    ProcessInfo.processInfo.environment["BERTH"] ?? packageRoot + "/.build/debug/berth"
  static let fixtures =
    ProcessInfo.processInfo.environment["BERTH_FIXTURES"] ?? packageRoot + "/.build/fixtures"
  static let busyboxArchive = fixtures + "/busybox-image.tar"
  static let isRoot = geteuid() == 0
  static let ready =
    isRoot && FileManager.default.fileExists(atPath: busyboxArchive)
    && FileManager.default.isExecutableFile(atPath: berth)
  static var skipReason: Comment {
    if !isRoot { return "needs root (run scripts/test.sh as root)" }
    return "needs \(busyboxArchive) and \(berth) (scripts/test.sh makes them)"
  }

  /// The Python docker package (docker-py), which some service tests drive.
  static let hasDockerPy = sh(["python3", "-c", "import docker"]).status == 0

  static func hasCommand(_ name: String) -> Bool {
    ["/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"].contains {
      FileManager.default.isExecutableFile(atPath: $0 + name)
    }
  }
}

final class EngineSandbox: @unchecked Sendable {
  let dir: String
  let root: String
  let runRoot: String
  let cgroupParent: String
  /// The sandbox's network namespace (`ip netns`), where berth runs.
  let netns: String

  init(_ label: String = "e") {
    let name = "berth-e2e-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
    dir = "/tmp/" + name
    root = dir + "/root"
    runRoot = dir + "/run"
    cgroupParent = "/" + name
    netns = String(name.suffix(15))
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let made = sh(["ip", "netns", "add", netns])
    precondition(made.status == 0, "ip netns add failed: \(made.combined)")
    sh(["ip", "-n", netns, "link", "set", "lo", "up"])
    let load = berth(["load", "-q", "-i", EngineEnvironment.busyboxArchive])
    precondition(load.status == 0, "loading busybox failed: \(load.combined)")
  }

  var environment: [String: String] { ["BERTH_CGROUP_PARENT": cgroupParent] }

  /// `berth --root ... --runroot ... ARGS`.
  @discardableResult
  func berth(_ args: [String], input: String? = nil) -> Output {
    sh(
      [
        "nsenter", "--net=/run/netns/" + netns, EngineEnvironment.berth, "--root", root,
        "--runroot", runRoot,
      ] + args, input: input, env: environment)
  }

  /// A command run in the sandbox's network namespace.
  @discardableResult
  func inNetwork(_ args: [String], input: String? = nil) -> Output {
    sh(["nsenter", "--net=/run/netns/" + netns] + args, input: input)
  }

  /// Starts `shellCommand` in the background (its output to `log`, or
  /// dropped) and returns its pid: servers a test talks to, or a command
  /// it interrupts.
  func background(_ shellCommand: String, log: String = "/dev/null") -> Int32 {
    let started = sh(["sh", "-c", "\(shellCommand) > \(log) 2>&1 & echo $!"])
    return Int32(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
  }

  /// Debian's docker-registry on 127.0.0.1:`port` in the sandbox's network
  /// namespace, storage under the sandbox; returns its pid.
  /// `auth` is YAML under `auth:` (htpasswd).
  func startRegistry(port: Int, auth: String? = nil) throws -> Int32 {
    let registry = dir + "/registry-\(port)"
    try FileManager.default.createDirectory(atPath: registry, withIntermediateDirectories: true)
    try """
    version: 0.1
    storage:
      filesystem:
        rootdirectory: \(registry)/data
    http:
      addr: 127.0.0.1:\(port)
    """.appending(auth.map { "\nauth:\n" + $0 } ?? "").write(
      toFile: registry + "/config.yml", atomically: true, encoding: .utf8)
    return background(
      "nsenter --net=/run/netns/\(netns) docker-registry serve \(registry)/config.yml")
  }

  /// The command line to run berth from a shell (tmux, bash -c).
  var command: String {
    "env BERTH_CGROUP_PARENT=\(cgroupParent) nsenter --net=/run/netns/\(netns) \(EngineEnvironment.berth) --root \(root) --runroot \(runRoot)"
  }

  /// Polls `condition` for up to `seconds` (a loaded CI machine is slow).
  func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    BerthTestSupport.eventually(seconds, condition)
  }

  /// Monitors started from this sandbox that are still alive: those that
  /// name its directories, and those run from its copy of the binary (a
  /// monitor `run` started ahead, which names none until it is told).
  func monitorPids() -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
        return false
      }
      let text = String(decoding: cmdline, as: UTF8.self)
      guard text.contains("berth-monitor") else { return false }
      let binary = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
      return text.contains(dir + "/") || binary?.hasPrefix(runRoot + "/") == true
    }
  }

  /// Removes every container, then checks that nothing is left behind.
  func finish(sourceLocation: SourceLocation = #_sourceLocation) {
    let ids = berth(["ps", "-a", "-q"]).stdout.split(separator: "\n").map(String.init)
    if !ids.isEmpty { berth(["rm", "-f", "-v"] + ids) }
    #expect(berth(["ps", "-a", "-q"]).stdout.isEmpty, sourceLocation: sourceLocation)
    #expect(
      eventually(5) { monitorPids().isEmpty }, "monitors left: \(monitorPids())",
      sourceLocation: sourceLocation)
    let mounts = procFile("/proc/self/mountinfo")
    // The read-only monitor binary is the one mount meant to stay (once per boot).
    let leaked = mounts.split(separator: "\n").filter {
      $0.contains(dir + "/") && !$0.contains(runRoot + "/bin/berth-monitor")
    }
    #expect(leaked.isEmpty, "mounts left: \(leaked)", sourceLocation: sourceLocation)
    let snapshots =
      (try? FileManager.default.contentsOfDirectory(atPath: root + "/snapshots")) ?? []
    #expect(
      snapshots.filter { !$0.hasPrefix(".") }.isEmpty, "snapshots left: \(snapshots)",
      sourceLocation: sourceLocation)
    // --rm trees are deleted before their monitor exits.
    let trash = (try? FileManager.default.contentsOfDirectory(atPath: root + "/trash")) ?? []
    #expect(trash.isEmpty, "trash left: \(trash)", sourceLocation: sourceLocation)
    for controller in ["memory", "pids", "cpu,cpuacct", "unified"] {
      let path = "/sys/fs/cgroup/\(controller)\(cgroupParent)"
      let children = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter {
        $0.hasPrefix("berth-")
      }
      #expect(
        children.isEmpty, "cgroups left under \(path): \(children)", sourceLocation: sourceLocation)
    }
    // The sandbox's own parent goes from every hierarchy the runtime made
    // it in (cpuset, devices, freezer... too: CI runs left 230 a run).
    for controller in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
    {
      let path = "/sys/fs/cgroup/\(controller)\(cgroupParent)"
      _ = eventually(2) { rmdir(path) == 0 || errno == ENOENT || errno == ENOTDIR }
    }
    // Containers gone, their network state must be too: veths, leases,
    // published ports (the bridge and the table stay with the network).
    let links = inNetwork(["ip", "-o", "link"]).stdout
    #expect(!links.contains(" bv"), "veths left: \(links)", sourceLocation: sourceLocation)
    let netnsFiles =
      (try? FileManager.default.contentsOfDirectory(atPath: runRoot + "/netns")) ?? []
    #expect(netnsFiles.isEmpty, "namespaces left: \(netnsFiles)", sourceLocation: sourceLocation)
    for map in ["any4", "addr4", "any6", "addr6"] {
      let listed = inNetwork(["nft", "list", "map", "inet", "berth", map]).stdout
      #expect(
        !listed.contains("elements"), "published ports left: \(listed)",
        sourceLocation: sourceLocation)
    }
    if FileManager.default.fileExists(atPath: root + "/berth.db") {
      let leases = sh(["sqlite3", root + "/berth.db", "SELECT count(*) FROM attachment"]).stdout
      #expect(
        leases.trimmed == "0" || leases.isEmpty, "leases left: \(leases)",
        sourceLocation: sourceLocation)
    }
    umount2(runRoot + "/bin/berth-monitor", Int32(MNT_DETACH))
    sh(["ip", "netns", "del", netns])
    try? FileManager.default.removeItem(atPath: dir)
  }
}

/// Types `command` into a terminal until its screen shows `text`: a new
/// window size reaches the container when the client gets to it, which a
/// fixed sleep misses on a loaded machine.
@discardableResult
func keepTyping(
  _ command: String, until text: String, in box: EngineSandbox, type: (String) -> Void,
  screen: () -> String
) -> Bool {
  box.eventually {
    type(command)
    usleep(200_000)
    return screen().contains(text)
  }
}
