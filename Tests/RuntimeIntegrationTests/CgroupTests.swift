import BerthOCI
import Foundation
import Testing

@Suite(
  "cgroups", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct CgroupTests {
  @Test func aMemoryLimitKillsAnAllocator() {
    let box = Sandbox("memory")
    defer { box.finish() }
    var spec = box.spec([
      "sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
    ])
    var memory = Spec.Resources.Memory()
    memory.limit = 32 << 20
    memory.swap = 32 << 20
    spec.linux?.resources?.memory = memory
    let out = box.run(spec)
    #expect(out.status == 137, "\(out.stdout) \(out.stderr)")
    #expect(!out.stdout.contains("survived"))
  }

  @Test func aPidsLimitRefusesForks() {
    let box = Sandbox("pids")
    defer { box.finish() }
    var spec = box.spec(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done 2>&1; wait"])
    spec.linux?.resources?.pids = Spec.Resources.Pids(limit: 4)
    let out = box.run(spec)
    #expect(
      out.combined.contains("fork") || out.combined.contains("Resource temporarily unavailable"),
      "\(out.combined)")
  }

  @Test func aCPUQuotaThrottlesAndShowsInStats() throws {
    let box = Sandbox("cpu")
    defer { box.finish() }
    var spec = box.spec(["sh", "-c", "while :; do :; done"])
    var cpu = Spec.Resources.CPU()
    cpu.quota = 10_000
    cpu.period = 100_000
    spec.linux?.resources?.cpu = cpu
    #expect(box.run(spec, extra: ["-d"]).status == 0)
    usleep(600_000)
    let events = box.runtime(["events", "--stats", "c"])
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(events.stdout.utf8)) as? [String: Any])
    #expect(json["type"] as? String == "stats")
    let data = json["data"] as? [String: Any]
    let throttling = (data?["cpu"] as? [String: Any])?["throttling"] as? [String: Any]
    #expect((throttling?["throttledPeriods"] as? Int ?? 0) > 0, "\(events.stdout)")
    let usage =
      ((data?["cpu"] as? [String: Any])?["usage"] as? [String: Any])?["total"] as? Int ?? 0
    #expect(usage > 0)
    box.runtime(["delete", "--force", "c"])
  }

  @Test func pauseFreezesAndResumeThaws() {
    let box = Sandbox("pause")
    defer { box.finish() }
    #expect(box.run(box.spec(["sleep", "60"]), extra: ["-d"]).status == 0)
    #expect(box.runtime(["pause", "c"]).status == 0)
    #expect(box.state("c")?["status"] as? String == "paused")
    let again = box.runtime(["pause", "c"])
    #expect(again.status != 0)
    #expect(again.stderr.contains("is paused, not running"))
    #expect(box.runtime(["resume", "c"]).status == 0)
    #expect(box.state("c")?["status"] as? String == "running")
    #expect(box.runtime(["pause", "c"]).status == 0)
    // delete --force of a paused container thaws it so SIGKILL lands.
    #expect(box.runtime(["delete", "--force", "c"]).status == 0)
  }

  @Test func updateChangesLimitsOfARunningContainer() throws {
    let box = Sandbox("update")
    defer { box.finish() }
    #expect(box.run(box.spec(["sleep", "60"]), extra: ["-d"]).status == 0)
    #expect(
      box.runtime(["update", "--pids-limit", "7", "--memory", "\(48 << 20)", "c"]).status == 0)
    let pidsMax = box.cgroupHierarchies().compactMap { h in
      try? String(contentsOfFile: h + box.cgroupParent + "/c/pids.max", encoding: .utf8)
    }
    #expect(pidsMax == ["7\n"])
    let resources = "{\"pids\": {\"limit\": 9}}"
    #expect(box.runtime(["update", "--resources", "-", "c"], input: resources).status == 0)
    let events = box.runtime(["events", "--stats", "c"]).stdout
    #expect(events.contains("\"limit\":9"), "\(events)")
    let bad = box.runtime(["update", "--resources", "-", "c"], input: "{nope")
    #expect(bad.status != 0)
    #expect(bad.stderr.contains("not valid linux.resources JSON"))
    box.runtime(["delete", "--force", "c"])
  }
}
