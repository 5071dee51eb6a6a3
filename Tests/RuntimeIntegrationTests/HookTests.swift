import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite(
  "Hooks", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct HookTests {
  /// A hook that saves its stdin (the state JSON), args and env.
  func recorder(_ file: String, args: [String] = []) -> Spec.Hook {
    Spec.Hook(
      path: "/bin/sh",
      args: ["sh", "-c", "cat > \(file); echo \"$@ $HOOK_ENV\" >> \(file).args", "hook"] + args,
      env: ["HOOK_ENV=set"])
  }

  @Test func everyPhaseRunsWithTheStateOnStdin() throws {
    let box = Sandbox("hooks")
    defer { box.finish() }
    let out = box.dir + "/out"
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    // Alive past poststart: a `true` that already exited (a loaded CI
    // machine) gives that hook a stopped state with pid 0.
    var spec = box.spec(["sleep", "1"])
    spec.mounts?.append(
      Spec.Mount(destination: "/hooks", type: "bind", source: out, options: ["rbind"]))
    var hooks = Spec.Hooks()
    hooks.prestart = [recorder(out + "/prestart", args: ["a1"])]
    hooks.createRuntime = [recorder(out + "/createRuntime")]
    hooks.createContainer = [recorder(out + "/createContainer")]
    // startContainer runs in the container: its path resolves there.
    hooks.startContainer = [
      Spec.Hook(path: "/bin/sh", args: ["sh", "-c", "cat > /hooks/startContainer"])
    ]
    hooks.poststart = [recorder(out + "/poststart")]
    hooks.poststop = [recorder(out + "/poststop")]
    spec.hooks = hooks
    #expect(box.run(spec).status == 0)
    var pids: Set<Int> = []
    for phase in [
      "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
    ] {
      let data = try #require(
        FileManager.default.contents(atPath: out + "/" + phase), "\(phase) did not run")
      let state = try JSONSerialization.jsonObject(with: data) as? [String: Any]
      #expect(state?["id"] as? String == "c", "\(phase)")
      #expect(state?["bundle"] as? String == box.dir + "/bundle-c", "\(phase)")
      if phase != "poststop" { pids.insert(state?["pid"] as? Int ?? 0) }
    }
    // Hooks run inside the container see init's host pid too, not 1.
    #expect(pids.count == 1 && !pids.contains(0) && !pids.contains(1), "\(pids)")
    let args = try String(contentsOfFile: out + "/prestart.args", encoding: .utf8)
    #expect(args == "a1 set\n")
    let created =
      try JSONSerialization.jsonObject(
        with: FileManager.default.contents(atPath: out + "/createRuntime")!) as? [String: Any]
    #expect(created?["status"] as? String == "created")
    let stopped =
      try JSONSerialization.jsonObject(
        with: FileManager.default.contents(atPath: out + "/poststop")!) as? [String: Any]
    #expect(stopped?["status"] as? String == "stopped")
  }

  @Test func aFailingCreateRuntimeHookAbortsCreate() {
    let box = Sandbox("hookfail")
    defer { box.finish() }
    var spec = box.spec(["true"])
    var hooks = Spec.Hooks()
    hooks.createRuntime = [Spec.Hook(path: "/bin/sh", args: ["sh", "-c", "exit 3"])]
    spec.hooks = hooks
    let out = box.run(spec)
    #expect(out.status != 0)
    #expect(
      out.stderr.contains("createRuntime hook /bin/sh failed with exit status 3"), "\(out.stderr)")
  }

  @Test func aHookPastItsTimeoutIsKilled() {
    let box = Sandbox("hooktimeout")
    defer { box.finish() }
    var spec = box.spec(["true"])
    var hooks = Spec.Hooks()
    hooks.prestart = [Spec.Hook(path: "/bin/sleep", args: ["sleep", "30"], timeout: 1)]
    spec.hooks = hooks
    let out = box.run(spec)
    #expect(out.status != 0)
    #expect(out.stderr.contains("timed out after 1s"), "\(out.stderr)")
  }

  @Test func aFailingPoststopHookOnlyWarns() {
    let box = Sandbox("poststop")
    defer { box.finish() }
    var spec = box.spec(["true"])
    var hooks = Spec.Hooks()
    hooks.poststop = [Spec.Hook(path: "/bin/false")]
    spec.hooks = hooks
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
  }
}
