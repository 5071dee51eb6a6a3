// The engine's integration tests drive the built `berth` (and its
// berth-monitor) as a user would. Each test gets an EngineSandbox: its own
// --root and --runroot, its own cgroup parent, and the busybox image that
// scripts/test.sh builds once (scripts/make-busybox-image.sh) loaded into
// its store. finish() is the leak check: no container record, no mount
// under the sandbox, no cgroup, no monitor process left.
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

  init(_ label: String = "e") {
    let name = "berth-e2e-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
    dir = "/tmp/" + name
    root = dir + "/root"
    runRoot = dir + "/run"
    cgroupParent = "/" + name
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let load = berth(["load", "-q", "-i", EngineEnvironment.busyboxArchive])
    precondition(load.status == 0, "loading busybox failed: \(load.combined)")
  }

  var environment: [String: String] { ["BERTH_CGROUP_PARENT": cgroupParent] }

  /// `berth --root ... --runroot ... ARGS`.
  @discardableResult
  func berth(_ args: [String], input: String? = nil) -> Output {
    sh(
      [EngineEnvironment.berth, "--root", root, "--runroot", runRoot] + args, input: input,
      env: environment)
  }

  /// The command line to run berth from a shell (tmux, bash -c).
  var command: String {
    "env BERTH_CGROUP_PARENT=\(cgroupParent) \(EngineEnvironment.berth) --root \(root) --runroot \(runRoot)"
  }

  /// Polls `condition` for up to `seconds` (a loaded CI machine is slow).
  func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if condition() { return true }
      usleep(50_000)
    }
    return condition()
  }

  /// Monitors started from this sandbox that are still alive.
  func monitorPids() -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
        return false
      }
      let text = String(decoding: cmdline, as: UTF8.self)
      return text.contains("berth-monitor") && text.contains(runRoot)
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
    let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
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
    for controller in ["memory", "pids", "cpu,cpuacct", "unified"] {
      let path = "/sys/fs/cgroup/\(controller)\(cgroupParent)"
      let children = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter {
        $0.hasPrefix("berth-")
      }
      #expect(
        children.isEmpty, "cgroups left under \(path): \(children)", sourceLocation: sourceLocation)
      rmdir(path)
    }
    umount2(runRoot + "/bin/berth-monitor", Int32(MNT_DETACH))
    try? FileManager.default.removeItem(atPath: dir)
  }
}
