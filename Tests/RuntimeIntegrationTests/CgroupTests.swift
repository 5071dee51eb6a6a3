import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@testable import BerthRuntime

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
    // At least one 100 ms period must pass with the loop running; a loaded
    // machine may take longer to give it one.
    var events = Output(status: 0, stdout: "", stderr: "")
    var json: [String: Any] = [:]
    var throttled = 0
    for _ in 0..<30 where throttled == 0 {
      usleep(200_000)
      events = box.runtime(["events", "--stats", "c"])
      json = try #require(
        try JSONSerialization.jsonObject(with: Data(events.stdout.utf8)) as? [String: Any])
      let cpu = (json["data"] as? [String: Any])?["cpu"] as? [String: Any]
      throttled = (cpu?["throttling"] as? [String: Any])?["throttledPeriods"] as? Int ?? 0
    }
    #expect(json["type"] as? String == "stats")
    let data = json["data"] as? [String: Any]
    #expect(throttled > 0, "\(events.stdout)")
    let usage =
      ((data?["cpu"] as? [String: Any])?["usage"] as? [String: Any])?["total"] as? Int ?? 0
    #expect(usage > 0)
    box.runtime(["delete", "--force", "c"])
  }

  /// Init joins its v1 cgroups itself and is cloned into its cgroup2 one,
  /// and an exec'd process does the same (Cgroups.Join: no move that
  /// waits on the kernel's cgroup lock): both are in the container's cgroup
  /// in every hierarchy, v1 and v2 alike, and in nothing else.
  @Test func initAndExecEndUpInTheContainersCgroupInEveryHierarchy() throws {
    let box = Sandbox("selfjoin")
    let path = "/berth-it-selfjoin-\(box.name.suffix(8))"
    defer {
      box.finish()
      for hierarchy in box.cgroupHierarchies() { rmdir(hierarchy + path) }
    }
    var spec = box.spec(["sleep", "60"])
    spec.linux?.cgroupsPath = path
    #expect(box.run(spec, extra: ["-d"]).status == 0)
    let pid = try #require(box.state("c")?["pid"] as? Int)
    // One line per hierarchy the kernel has, mounted here or not: as many
    // as are mounted name the container's cgroup.
    let lines = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
      .split(separator: "\n")
    #expect(
      lines.filter { $0.hasSuffix(":" + path) }.count == box.cgroupHierarchies().count,
      "init: \(lines)")
    #expect(box.runtime(["exec", "-d", "c", "sleep", "60"]).status == 0)
    for hierarchy in box.cgroupHierarchies() {
      var procs: [Substring] = []
      for _ in 0..<50 {
        procs =
          ((try? String(contentsOfFile: hierarchy + path + "/cgroup.procs", encoding: .utf8))
          ?? "").split(separator: "\n")
        if procs.count == 2 { break }
        usleep(20_000)
      }
      #expect(procs.count == 2 && procs.contains(Substring("\(pid)")), "\(hierarchy): \(procs)")
    }
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

/// The cgroup v2 device filter, attached for real to a cgroup2 directory
/// (the hybrid layout here mounts cgroup2 at /sys/fs/cgroup/unified).
@Suite(
  "cgroup v2 device filter",
  .enabled(
    if: TestEnvironment.isRoot && FileManager.default.fileExists(atPath: "/dev/net/tun")
      && CgroupV2.mountPoint != nil,
    "needs root, a cgroup2 mount and /dev/net/tun"))
struct DeviceFilterIntegrationTests {
  func open(_ device: String, inCgroup dir: String) -> Output {
    sh(["sh", "-c", "echo $$ > \(dir)/cgroup.procs && exec 3<>\(device) && echo opened"])
  }

  @Test func theProgramDeniesWhatTheRulesDenyAndAllowsTheRest() throws {
    let root = try #require(CgroupV2.mountPoint)
    let dir = root + "/berth-it-devfilter-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
    defer { rmdir(dir) }
    try DeviceFilter.attach([.init(allow: false, access: "rwm")], to: dir)
    let denied = open("/dev/net/tun", inCgroup: dir)
    #expect(denied.stdout.isEmpty)
    #expect(denied.stderr.contains("Operation not permitted"), "\(denied.stderr)")
    // The always-allowed nodes stay usable.
    #expect(open("/dev/null", inCgroup: dir).stdout == "opened\n")

    let allowDir = dir + "-allow"
    try FileManager.default.createDirectory(atPath: allowDir, withIntermediateDirectories: false)
    defer { rmdir(allowDir) }
    try DeviceFilter.attach(
      [
        .init(allow: false, access: "rwm"),
        .init(allow: true, type: "c", major: 10, minor: 200, access: "rw"),
      ],
      to: allowDir)
    #expect(open("/dev/net/tun", inCgroup: allowDir).stdout == "opened\n")
  }
}

enum CgroupV2 {
  static let mountPoint: String? = {
    let mountinfo = procFile("/proc/self/mountinfo")
    for line in mountinfo.split(separator: "\n") {
      let f = line.split(separator: " ")
      if let dash = f.firstIndex(of: "-"), dash + 1 < f.count, f[dash + 1] == "cgroup2" {
        return String(f[4])
      }
    }
    return nil
  }()
}

/// The systemd driver needs a running systemd (a host booted with it); on
/// machines without one, --systemd-cgroup falls back to cgroupfs.
@Suite(
  "systemd cgroup driver",
  .enabled(
    if: TestEnvironment.canRunContainers && SystemdScope.isSystemdRunning
      && TestEnvironment.hasCommand("busctl"),
    "needs root, the busybox fixture and a running systemd with busctl"))
struct SystemdDriverTests {
  @Test func theContainerRunsInATransientScopeThatDeleteStops() throws {
    let box = Sandbox("systemd")
    defer { box.finish() }
    var spec = box.spec(["sleep", "30"])
    let unitName = "berth-it-\(box.name.suffix(8))"
    spec.linux?.cgroupsPath = "system.slice:berth-it:\(box.name.suffix(8))"
    let bundle = box.bundle(spec)
    let out = sh([
      TestEnvironment.runtime, "--systemd-cgroup", "--root", box.stateRoot, "run", "-d", "--bundle",
      bundle, "c",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    let pid = try #require(box.state("c")?["pid"] as? Int)
    let cgroup = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
    #expect(cgroup.contains("/system.slice/\(unitName).scope"), "\(cgroup)")
    #expect(sh(["systemctl", "is-active", "\(unitName).scope"]).stdout == "active\n")
    #expect(box.runtime(["delete", "--force", "c"]).status == 0)
    #expect(sh(["systemctl", "is-active", "\(unitName).scope"]).stdout != "active\n")
  }
}

@Suite(
  "systemd cgroup fallback",
  .enabled(
    if: TestEnvironment.canRunContainers && !SystemdScope.isSystemdRunning,
    "this machine runs systemd: the driver itself is tested instead"))
struct CgroupFallbackTests {
  @Test func systemdCgroupWithoutSystemdUsesCgroupfsAndSaysSo() throws {
    let box = Sandbox("nosystemd")
    // A slice name without dashes: systemd nests "a-b.slice" under "a.slice".
    let slice = "berthit" + box.name.suffix(8) + ".slice"
    defer {
      for h in box.cgroupHierarchies() {
        #expect(!FileManager.default.fileExists(atPath: h + "/" + slice + "/berth-c.scope"))
        rmdir(h + "/" + slice)
      }
      box.finish()
    }
    var spec = box.spec(["sleep", "30"])
    spec.linux?.cgroupsPath = "\(slice):berth:c"
    let out = sh([
      TestEnvironment.runtime, "--systemd-cgroup", "--root", box.stateRoot, "run", "-d", "--bundle",
      box.bundle(spec), "c",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stderr.contains("systemd is not running here; using cgroupfs"))
    let pid = try #require(box.state("c")?["pid"] as? Int)
    let host = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
    #expect(host.contains(":/\(slice)/berth-c.scope"), "\(host)")
    // Inside its cgroup namespace the container sees its cgroup as the root.
    let inside = box.runtime(["exec", "c", "grep", "memory", "/proc/self/cgroup"]).stdout
    #expect(inside.hasSuffix(":memory:/\n"), "\(inside)")
    box.runtime(["delete", "--force", "c"])
  }
}
