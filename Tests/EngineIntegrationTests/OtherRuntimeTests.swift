import BerthTestSupport
import Foundation
import Testing

/// The core scenarios with another OCI runtime driven through its command
/// line (`--runtime`), as podman drives them.
enum OtherRuntimes {
  /// Debian 12's crun refuses a hybrid cgroup layout whose cgroup2 has
  /// controllers (this machine's has hugetlb).
  static var crunUsable: Bool {
    guard EngineEnvironment.hasCommand("crun") else { return false }
    let controllers =
      (try? String(contentsOfFile: "/sys/fs/cgroup/unified/cgroup.controllers", encoding: .utf8))
      ?? ""
    return controllers.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
  }
}

struct CoreScenarios {
  static func run(_ runtime: String, _ box: EngineSandbox) {
    let hello = box.berth([
      "run", "--rm", "--runtime", runtime, "busybox", "sh", "-c", "echo out; echo err >&2; exit 3",
    ])
    #expect(hello.status == 3, "\(hello.combined)")
    #expect(hello.stdout == "out\n")
    #expect(hello.stderr == "err\n")
    #expect(
      box.berth(["run", "--rm", "--runtime", runtime, "busybox", "no-such-command"]).status == 127)
    let id = box.berth([
      "run", "-d", "--runtime", runtime, "--name", "bg", "busybox", "sh", "-c",
      "echo started; trap 'exit 5' TERM; while true; do sleep 0.1; done",
    ]).stdout.trimmed
    #expect(!id.isEmpty)
    #expect(box.eventually { box.berth(["logs", "bg"]).stdout == "started\n" })
    let exec = box.berth(["exec", "bg", "sh", "-c", "echo in; exit 2"])
    #expect(exec.status == 2)
    #expect(exec.stdout == "in\n")
    #expect(box.berth(["pause", "bg"]).status == 0)
    #expect(box.berth(["ps", "--format", "{{.State}}"]).stdout == "paused\n")
    #expect(box.berth(["unpause", "bg"]).status == 0)
    // stats from the cgroups the other runtime made (found through its init).
    let stats = box.berth(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "bg"])
    #expect(stats.status == 0, "\(stats.combined)")
    #expect(stats.stdout.hasPrefix("bg "), "\(stats.stdout)")
    let pids = Int(String(stats.stdout.split(separator: " ").last ?? "").trimmed) ?? 0
    #expect(pids >= 1, "\(stats.stdout)")
    #expect(box.berth(["stop", "bg"]).status == 0)
    #expect(box.berth(["wait", "bg"]).stdout == "5\n")
    #expect(box.berth(["rm", "bg"]).status == 0)
  }
}

@Suite(
  "berth --runtime runc",
  .enabled(
    if: EngineEnvironment.ready && EngineEnvironment.hasCommand("runc"),
    "needs root, the fixtures and runc"))
struct RuncRuntimeTests {
  @Test func theCoreScenariosUnderRunc() {
    let box = EngineSandbox("runc")
    defer { box.finish() }
    CoreScenarios.run("runc", box)
  }
}

@Suite(
  "berth --runtime crun",
  .enabled(
    if: EngineEnvironment.ready && OtherRuntimes.crunUsable,
    "needs crun and a cgroup layout it accepts (Debian 12's crun refuses hybrid cgroups with cgroup2 controllers)"
  ))
struct CrunRuntimeTests {
  @Test func theCoreScenariosUnderCrun() {
    let box = EngineSandbox("crun")
    defer { box.finish() }
    CoreScenarios.run("crun", box)
  }
}

@Suite(
  "berth --runtime errors", .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct RuntimeChoiceTests {
  @Test func anUnknownRuntimeIsAClearErrorAndCreatesNothing() {
    let box = EngineSandbox("noruntime")
    defer { box.finish() }
    let out = box.berth(["run", "--rm", "--runtime", "no-such-runtime", "busybox", "true"])
    #expect(out.status == 125)
    #expect(out.stderr.contains("is not installed"))
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty)
  }
}
