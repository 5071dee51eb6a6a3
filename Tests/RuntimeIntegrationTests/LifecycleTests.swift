import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite(
  "Container lifecycle", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct LifecycleTests {
  @Test func createStartKillDeleteWalksThroughEveryState() throws {
    let box = Sandbox("life")
    defer { box.finish() }
    let bundle = box.bundle(box.spec(["sleep", "60"]))
    let pidFile = box.dir + "/init.pid"

    let created = box.runtime(["create", "--bundle", bundle, "--pid-file", pidFile, "c1"])
    #expect(created.status == 0, "\(created.stderr)")
    let state = try #require(box.state("c1"))
    #expect(state["status"] as? String == "created")
    #expect(state["ociVersion"] as? String == "1.2.0")
    #expect(state["bundle"] as? String == bundle)
    #expect(state["rootfs"] as? String == TestEnvironment.busyboxRootfs)
    #expect(state["owner"] as? String == "root")
    let pid = try #require(state["pid"] as? Int)
    let pidText = try String(contentsOfFile: pidFile, encoding: .utf8)
    #expect(pidText == "\(pid)")

    #expect(box.runtime(["start", "c1"]).status == 0)
    #expect(box.state("c1")?["status"] as? String == "running")
    let listed = box.runtime(["list", "--format", "json"])
    #expect(listed.stdout.contains("\"id\":\"c1\""))

    let second = box.runtime(["start", "c1"])
    #expect(second.status != 0)
    #expect(second.stderr.contains("is running, not created"))

    #expect(box.runtime(["kill", "c1", "KILL"]).status == 0)
    for _ in 0..<300 where box.state("c1")?["status"] as? String != "stopped" { usleep(10_000) }
    #expect(box.state("c1")?["status"] as? String == "stopped")
    #expect(box.runtime(["delete", "c1"]).status == 0)
    #expect(box.state("c1") == nil)
  }

  /// The lifecycle verbs are parsed by hand on their fast path and by
  /// swift-argument-parser otherwise: every spelling means the same either way.
  @Test(arguments: [
    ["create", "--bundle", "B", "--pid-file", "P", "c1"],
    ["create", "--bundle=B", "--pid-file=P", "c1"],
    ["create", "-b", "B", "c1", "--pid-file", "P"],
    ["create", "c1", "--no-new-keyring", "--bundle", "B", "--pid-file", "P", "--preserve-fds=0"],
    ["create", "--bundle", "B", "--detach", "--pid-file", "P", "c1"],
  ])
  func flagSpellingsOfTheLifecycleVerbs(create: [String]) throws {
    let box = Sandbox("spell")
    defer { box.finish() }
    let bundle = box.bundle(box.spec(["sleep", "60"]))
    let pidFile = box.dir + "/init.pid"
    let args = create.map { $0.replacingOccurrences(of: "B", with: bundle) }
      .map {
        $0 == "P" || $0 == "--pid-file=P" ? $0.replacingOccurrences(of: "P", with: pidFile) : $0
      }
    let created = box.runtime(args)
    #expect(created.status == 0, "\(created.stderr)")
    #expect(FileManager.default.fileExists(atPath: pidFile))
    #expect(box.state("c1")?["bundle"] as? String == bundle)
    #expect(box.runtime(["start", "c1"]).status == 0)
    #expect(box.runtime(["kill", "--all", "c1", "9"]).status == 0)
    for _ in 0..<300 where box.state("c1")?["status"] as? String != "stopped" { usleep(10_000) }
    #expect(box.runtime(["delete", "-f", "c1"]).status == 0)
    #expect(box.state("c1") == nil)
  }

  /// What the hand parser does not take goes to swift-argument-parser: help,
  /// usage errors and flags it alone knows.
  @Test func unusualCommandLinesGetTheFullParser() {
    let box = Sandbox("usage")
    defer { box.finish() }
    let help = box.runtime(["create", "--help"])
    #expect(help.status == 0)
    #expect(help.stdout.contains("--console-socket"))
    let missing = box.runtime(["kill"])
    #expect(missing.status == 64)
    #expect(missing.stderr.contains("Missing expected argument '<id>'"))
    let unknown = box.runtime(["delete", "--bogus", "c1"])
    #expect(unknown.status == 64)
    #expect(unknown.stderr.contains("Unknown option '--bogus'"))
    let noValue = box.runtime(["run", "c1", "--bundle"])
    #expect(noValue.status == 64)
    #expect(noValue.stderr.contains("Missing value for '--bundle <bundle>'"))
    let notANumber = box.runtime(["create", "--preserve-fds", "x", "c1"])
    #expect(notANumber.status == 64)
    #expect(box.state("c1") == nil)
  }

  @Test(arguments: [(0, "exit 0"), (7, "exit 7"), (126, "exit 126")])
  func runExitsWithTheProcessStatus(expected: Int32, script: String) {
    let box = Sandbox("exit")
    defer { box.finish() }
    let out = box.run(box.spec(["sh", "-c", script]))
    #expect(out.status == expected, "\(out.stderr)")
  }

  /// A process outside a pid namespace dies of its own signal: 128+N.
  @Test func aProcessKilledBySignalGives128PlusN() {
    let box = Sandbox("selfkill")
    defer { box.finish() }
    var spec = box.spec(["sh", "-c", "kill -TERM $$"])
    spec.linux?.namespaces?.removeAll { $0.type == "pid" }
    #expect(box.run(spec).status == 143)
  }

  /// Killed by signal N gives 128+N; the foreground `run` is the parent.
  /// (A pid 1 without handlers only dies of KILL, as the kernel decides.)
  @Test(arguments: [("KILL", 137)])
  func runExitsWith128PlusTheSignal(signal: String, expected: Int32) {
    let box = Sandbox("sig")
    defer { box.finish() }
    let bundle = box.bundle(box.spec(["sleep", "30"]))
    let rt = "\(TestEnvironment.runtime) --root \(box.stateRoot)"
    let script = """
      \(rt) run --bundle \(bundle) c & runpid=$!
      for i in $(seq 100); do \(rt) state c 2>/dev/null | grep -q running && break; sleep 0.05; done
      \(rt) kill c \(signal)
      wait $runpid
      """
    let out = sh(["bash", "-c", script])
    #expect(out.status == expected, "\(out.stderr)")
  }

  @Test func runDetachReturnsWhileTheContainerRuns() {
    let box = Sandbox("detach")
    defer { box.finish() }
    let out = box.run(box.spec(["sleep", "30"]), extra: ["--detach"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(box.state("c")?["status"] as? String == "running")
    #expect(box.runtime(["delete", "--force", "c"]).status == 0)
  }

  @Test func deleteRefusesARunningContainerWithoutForce() {
    let box = Sandbox("delrun")
    defer { box.finish() }
    #expect(box.run(box.spec(["sleep", "30"]), extra: ["-d"]).status == 0)
    let refused = box.runtime(["delete", "c"])
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("delete --force"))
    #expect(box.runtime(["delete", "--force", "c"]).status == 0)
  }

  @Test func killAllSignalsEveryProcessAndAcceptsNamesAndNumbers() {
    let box = Sandbox("killall")
    defer { box.finish() }
    #expect(
      box.run(box.spec(["sh", "-c", "sleep 100 & sleep 100 & wait"]), extra: ["-d"]).status == 0)
    // sh and its two sleeps, once sh has started them.
    var ps = Output(status: 0, stdout: "", stderr: "")
    var pids: [Int] = []
    for _ in 0..<300 where pids.count < 3 {
      ps = box.runtime(["ps", "--format", "json", "c"])
      pids = (try? JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [Int]) ?? []
      if pids.count < 3 { usleep(10_000) }
    }
    #expect(pids.count == 3, "\(ps.stdout)")
    #expect(box.runtime(["kill", "--all", "c", "9"]).status == 0)
    for _ in 0..<300 where box.state("c")?["status"] as? String != "stopped" { usleep(10_000) }
    #expect(box.state("c")?["status"] as? String == "stopped")
    let unknown = box.runtime(["kill", "c", "SIGBOGUS"])
    #expect(unknown.status != 0)
    #expect(unknown.stderr.contains("unknown signal \"SIGBOGUS\""))
    #expect(box.runtime(["delete", "c"]).status == 0)
  }

  @Test func psTableShowsTheContainersProcesses() {
    let box = Sandbox("ps")
    defer { box.finish() }
    #expect(box.run(box.spec(["sleep", "31"]), extra: ["-d"]).status == 0)
    let table = box.runtime(["ps", "c"])
    #expect(table.stdout.contains("PID"))
    #expect(table.stdout.contains("sleep 31"))
    box.runtime(["delete", "--force", "c"])
  }

  @Test func specWritesARuncStyleDefaultAndARootlessVariant() throws {
    let box = Sandbox("spec")
    defer { box.finish() }
    #expect(box.runtime(["spec", "--bundle", box.dir]).status == 0)
    let spec = try JSONDecoder().decode(
      Spec.self, from: Data(contentsOf: URL(fileURLWithPath: box.dir + "/config.json")))
    #expect(spec.process?.args == ["sh"])
    #expect(spec.root?.path == "rootfs")
    let again = box.runtime(["spec", "--bundle", box.dir])
    #expect(again.status != 0)
    #expect(again.stderr.contains("already exists"))
    try FileManager.default.removeItem(atPath: box.dir + "/config.json")
    #expect(box.runtime(["spec", "--rootless", "--bundle", box.dir]).status == 0)
    let rootless = try JSONDecoder().decode(
      Spec.self, from: Data(contentsOf: URL(fileURLWithPath: box.dir + "/config.json")))
    #expect(rootless.linux?.namespaces?.contains { $0.type == "user" } == true)
  }

  @Test func featuresReportsHooksNamespacesAndCgroups() throws {
    let out = sh([TestEnvironment.runtime, "features"])
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
    #expect((json["hooks"] as? [String])?.contains("createContainer") == true)
    let linux = json["linux"] as? [String: Any]
    #expect((linux?["namespaces"] as? [String])?.contains("time") == true)
    #expect(sh([TestEnvironment.runtime, "--version"]).stdout.contains("berth-runtime version"))
  }
}
