import BerthTestSupport
import Foundation
import Testing

@Suite(
  "berth run: foreground, exit codes, bad input",
  .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct RunTests {
  @Test func foregroundRunPrintsAndExitsWithTheContainersStatus() {
    let box = EngineSandbox("fg")
    defer { box.finish() }
    let hello = box.berth(["run", "--rm", "busybox", "echo", "hello"])
    #expect(hello.status == 0)
    #expect(hello.stdout == "hello\n")
    let failing = box.berth([
      "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7",
    ])
    #expect(failing.status == 7)
    #expect(failing.stdout == "out\n")
    #expect(failing.stderr == "err\n")
    // --rm leaves nothing: no record, no snapshot (finish checks mounts).
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty)
  }

  @Test func aNetworkNoneContainerGetsANewNetworkNamespaceWithLoopbackUpEachRunAndRestart() {
    // The prestarted monitor makes it while the engine works: still one of
    // the container's own, and a restart's clone makes another. Its
    // loopback is up, as podman's is (runc and crun leave it down).
    let box = EngineSandbox("netns")
    defer { box.finish() }
    let host = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net"))
    let script = "readlink /proc/self/ns/net; ip -o link | cut -d: -f2,3 | cut -d' ' -f2,3"
    let first = box.berth(["run", "--rm", "--network", "none", "busybox", "sh", "-c", script])
    let second = box.berth(["run", "--rm", "--network", "none", "busybox", "sh", "-c", script])
    #expect(first.status == 0 && second.status == 0, "\(first.combined)\(second.combined)")
    let namespaces = [first, second].map { $0.stdout.split(separator: "\n").first.map(String.init) }
    #expect(namespaces[0] != nil && namespaces[0] != host && namespaces[0] != namespaces[1])
    #expect(
      first.stdout.split(separator: "\n").dropFirst() == ["lo: <LOOPBACK,UP,LOWER_UP>"],
      "\(first.stdout)")
    let restarted = box.berth([
      "run", "-d", "--network", "none", "--restart", "on-failure:1", "busybox", "sh", "-c",
      "readlink /proc/self/ns/net; ip -o link show lo | grep -c LOOPBACK,UP; exit 1",
    ]).stdout.trimmed
    #expect(
      eventually(10) {
        box.berth(["inspect", "--format", "{{.State.Status}}", restarted]).stdout.trimmed
          == "exited"
      })
    let runs = box.berth(["logs", restarted]).stdout.split(separator: "\n")
    #expect(runs.count == 4 && runs[0] != runs[2], "\(runs)")
    #expect(runs[1] == "1" && runs[3] == "1", "the loopback is up after a restart too: \(runs)")
    #expect(box.berth(["rm", "-f", restarted]).status == 0)
  }

  @Test func anAutoRemovedContainersRootfsSkipsTheSyncAtUnmount() {
    let box = EngineSandbox("unsynced")
    defer { box.finish() }
    // Podman mounts a --rm container's overlay `volatile`: nothing of it is kept.
    let removed = box.berth(["run", "--rm", "-d", "busybox", "sleep", "30"]).stdout.trimmed
    let keptRun = box.berth(["run", "-d", "busybox", "sleep", "30"])
    let kept = keptRun.stdout.trimmed
    let mounts = procFile("/proc/self/mountinfo").split(separator: "\n")
    /// The overlay's super options (newer kernels show `fsync=volatile`).
    func overlayOptions(_ id: String) -> String? {
      mounts.first { $0.contains("/\(id)/merged ") }
        .flatMap { $0.components(separatedBy: " - overlay ").last }
    }
    #expect(overlayOptions(removed)?.contains("volatile") == true, "\(mounts)")
    #expect(overlayOptions(kept).map { !$0.contains("volatile") } == true, "\(keptRun.combined)")
    #expect(box.berth(["rm", "-f", removed, kept]).status == 0)
  }

  @Test func anAutoRemovedContainerKeepsItsFilesInTheRunRoot() {
    let box = EngineSandbox("ephemeral")
    defer { box.finish() }
    // Its bundle, /etc/hosts and log are the run's alone: none is made (and
    // deleted) on the store's filesystem.
    let removed = box.berth(["run", "--rm", "-d", "busybox", "sleep", "30"]).stdout.trimmed
    let kept = box.berth(["run", "-d", "busybox", "sleep", "30"]).stdout.trimmed
    let files = FileManager.default
    #expect(files.fileExists(atPath: "\(box.runRoot)/bundles/\(removed)/config.json"))
    #expect(!files.fileExists(atPath: "\(box.root)/containers/\(removed)"))
    #expect(files.fileExists(atPath: "\(box.root)/containers/\(kept)/config.json"))
    let hosts = box.berth(["exec", removed, "cat", "/etc/hosts"])
    #expect(hosts.status == 0 && hosts.stdout.contains(String(removed.prefix(12))), "\(hosts)")
    #expect(box.berth(["rm", "-f", removed, kept]).status == 0)
    #expect(!files.fileExists(atPath: "\(box.runRoot)/bundles/\(removed)"))
  }

  @Test func anEmptyAutoRemovedSnapshotServesTheNextOne() throws {
    let box = EngineSandbox("spares")
    defer { box.finish() }
    let spares = "\(box.root)/snapshot-spares"
    func parked() -> [String] {
      ((try? FileManager.default.contentsOfDirectory(atPath: spares)) ?? []).sorted()
    }
    // Parked by the monitor before it tells the exit; taken at random once
    // eight wait (their overlays' work directories then churn eight block
    // groups in turn).
    for _ in 0..<8 {
      #expect(box.berth(["run", "--rm", "busybox", "true"]).status == 0)
    }
    #expect(parked().count == 8)
    // The next --rm container takes one; one that wrote anything is deleted.
    let writer = box.berth(["run", "--rm", "busybox", "sh", "-c", "echo x > /written"])
    #expect(writer.status == 0)
    #expect(parked().count == 7)
    #expect(box.berth(["run", "--rm", "busybox", "true"]).status == 0)
    #expect(parked().count == 8)
    // Nothing of the writer's reaches a later container.
    let reader = box.berth(["run", "--rm", "busybox", "ls", "/written"])
    #expect(reader.status != 0, "\(reader.combined)")
    #expect(parked().count == 8)
    // A kept container never takes one.
    let kept = box.berth(["create", "busybox", "true"]).stdout.trimmed
    #expect(parked().count == 8)
    #expect(box.berth(["rm", kept]).status == 0)
  }

  @Test func theEnginesMountPointsAreNotMadeInTheUpperDirectory() throws {
    let box = EngineSandbox("mount-point-base")
    defer { box.finish() }
    // /etc/hosts, /etc/resolv.conf and /run/.containerenv are bind targets
    // that the image lacks: a bottom layer holds them, not the container.
    let id = box.berth(["create", "busybox", "cat", "/etc/hosts", "/run/.containerenv"])
      .stdout.trimmed
    let run = box.berth(["start", "-a", id])
    #expect(run.status == 0 && run.stdout.contains(String(id.prefix(12))), "\(run.combined)")
    let upper = try FileManager.default.contentsOfDirectory(
      atPath: "\(box.root)/snapshots/\(id)/upper")
    #expect(upper.isEmpty, "\(upper)")
    #expect(box.berth(["diff", id]).stdout.trimmed.isEmpty)
    #expect(box.berth(["rm", id]).status == 0)
  }

  @Test func aRootfsThatCannotBeMountedLeavesNothingBehind() throws {
    let box = EngineSandbox("unmountable")
    defer { box.finish() }
    // A layer's directory replaced by a file: the overlay mount fails, in
    // `run` after the monitor started ahead was told its container.
    let files = FileManager.default
    let layer = try #require(try files.contentsOfDirectory(atPath: "\(box.root)/layers").first)
    let diff = "\(box.root)/layers/\(layer)/diff"
    try files.moveItem(atPath: diff, toPath: diff + ".saved")
    files.createFile(atPath: diff, contents: nil)
    let failed = box.berth(["run", "--rm", "busybox", "true"])
    try files.removeItem(atPath: diff)
    try files.moveItem(atPath: diff + ".saved", toPath: diff)
    #expect(failed.status == 125)
    #expect(failed.stderr.contains("mount overlay"), "\(failed.combined)")
    #expect(box.berth(["ps", "-aq"]).stdout.isEmpty)
    #expect(box.berth(["run", "--rm", "busybox", "echo", "ok"]).stdout == "ok\n")
  }

  @Test func stdinReachesAnInteractiveContainer() {
    let box = EngineSandbox("stdin")
    defer { box.finish() }
    let out = box.berth(
      ["run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z"], input: "shout\n")
    #expect(out.status == 0)
    #expect(out.stdout == "SHOUT\n")
    // More than any pipe holds, to a container that reads it slowly.
    let big = sh([
      "bash", "-c",
      "head -c 5000000 /dev/zero | \(box.command) run --rm -i busybox sh -c 'sleep 0.5; wc -c'",
    ])
    #expect(big.stdout.trimmed == "5000000", "\(big.combined)")
  }

  @Test func commandsThatCannotRunExitWith126And127() {
    let box = EngineSandbox("codes")
    defer { box.finish() }
    let missing = box.berth(["run", "--rm", "busybox", "no-such-command"])
    #expect(missing.status == 127)
    #expect(missing.stderr.contains("executable file not found"))
    let notExecutable = box.berth(["run", "--rm", "busybox", "/etc/passwd"])
    #expect(notExecutable.status == 126)
    #expect(notExecutable.stderr.contains("permission denied"))
    // A relative command is found from the working directory, as runc finds it.
    let relative = box.berth(["run", "--rm", "-w", "/bin", "busybox", "./busybox", "echo", "ok"])
    #expect(relative.status == 0, "\(relative.combined)")
    #expect(relative.stdout == "ok\n")
    // A container killed by a signal reports 128+N.
    let id = box.berth(["run", "-d", "busybox", "sleep", "30"]).stdout.trimmed
    #expect(box.berth(["kill", id]).status == 0)
    #expect(box.berth(["wait", id]).stdout == "137\n")
  }

  @Test(arguments: [
    (["--memory", "12q"], "invalid size"), (["--cpus=-1"], "invalid --cpus"),
    (["--restart", "sometimes"], "invalid restart policy"),
    (["-v", "/no/such/dir:/data"], "does not exist"), (["-v", "a/b:/data"], "invalid"),
    (["--pull", "never", "--name", "x"], "image not known"),
    (["--network", "slirp4netns"], "is for rootless containers"),
    (["--platform", "linux/s390x"], "not this host's"),
    (["--pids-limit", "0"], "invalid --pids-limit"),
  ])
  func badInputIsAOneLineErrorAndLeavesNothing(flags: [String], message: String) {
    let box = EngineSandbox("bad")
    defer { box.finish() }
    let image = flags.contains("never") ? "localhost/absent:1" : "busybox"
    let out = box.berth(["run", "--rm"] + flags + [image, "true"])
    #expect(out.status == 125, "\(out.combined)")
    #expect(out.stderr.hasPrefix("Error: "), "\(out.stderr)")
    #expect(out.stderr.contains(message), "\(out.stderr)")
    #expect(out.stderr.split(separator: "\n").count == 1, "\(out.stderr)")
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty)
    #expect(box.berth(["volume", "ls", "-q"]).stdout.isEmpty)
  }

  @Test func aNameCanBeUsedOnce() {
    let box = EngineSandbox("name")
    defer { box.finish() }
    #expect(box.berth(["create", "--name", "one", "busybox", "true"]).status == 0)
    let again = box.berth(["create", "--name", "one", "busybox", "true"])
    #expect(again.status == 125)
    #expect(again.stderr.contains("already in use"))
    #expect(box.berth(["ps", "-a", "-q"]).stdout.split(separator: "\n").count == 1)
  }

  @Test func theSpecFollowsTheFlags() {
    let box = EngineSandbox("flags")
    defer { box.finish() }
    let out = box.berth([
      "run", "--rm", "-e", "GREETING=hi", "-w", "/tmp", "-u", "1000:1000", "--hostname", "boat",
      "--read-only", "--cap-drop", "ALL", "busybox", "sh", "-c",
      "echo $GREETING $(pwd) $(id -u):$(id -g) $(hostname) $container; touch /etc/x 2>&1 || echo ro; grep CapBnd /proc/self/status",
    ])
    #expect(out.status == 0, "\(out.combined)")
    let lines = out.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first == "hi /tmp 1000:1000 boat berth")
    #expect(out.stdout.contains("ro\n"))
    #expect(lines.last?.hasSuffix("0000000000000000") == true)
    // Podman's default capability set for root.
    let caps = box.berth(["run", "--rm", "busybox", "grep", "CapEff", "/proc/self/status"])
    #expect(caps.stdout.hasSuffix("00000000800405fb\n"), "\(caps.stdout)")
    let env = box.berth(["run", "--rm", "busybox", "cat", "/run/.containerenv", "/etc/hostname"])
    #expect(env.stdout.contains("engine=\"berth"))
  }

  @Test func resourceFlagsReachTheCgroup() {
    let box = EngineSandbox("limits")
    defer { box.finish() }
    let id = box.berth([
      "run", "-d", "--memory", "64m", "--pids-limit", "50", "busybox", "sleep", "30",
    ]).stdout.trimmed
    #expect(!id.isEmpty)
    let memory = "/sys/fs/cgroup/memory\(box.cgroupParent)/berth-\(id)/memory.limit_in_bytes"
    let pids = "/sys/fs/cgroup/pids\(box.cgroupParent)/berth-\(id)/pids.max"
    #expect((try? String(contentsOfFile: memory, encoding: .utf8)) == "67108864\n")
    #expect((try? String(contentsOfFile: pids, encoding: .utf8)) == "50\n")
    #expect(box.berth(["rm", "-f", id]).status == 0)
  }
}

extension String {
  var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

@Suite(
  "berth run --init and bad state",
  .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct InitAndStateTests {
  @Test func theBuiltInInitReapsZombiesAndForwardsSignals() {
    let box = EngineSandbox("init")
    defer { box.finish() }
    // An orphan is reparented to PID 1; berth-init reaps it.
    let out = box.berth([
      "run", "--rm", "--init", "busybox", "sh", "-c",
      "(sleep 0.1 &); sleep 0.5; ps -o stat,comm | grep -c '^Z' || true; echo pid $$",
    ])
    #expect(out.stdout == "0\npid 2\n", "\(out.combined)")
    // sleep as PID 1 ignores SIGTERM; under the init it gets it and dies.
    let id = box.berth(["run", "-d", "--init", "busybox", "sleep", "60"]).stdout.trimmed
    #expect(box.berth(["stop", "-t", "30", id]).status == 0)
    #expect(box.berth(["wait", id]).stdout == "143\n")
  }

  @Test func aCommandWaitsForAnotherWritersLockInsteadOfFailing() {
    let box = EngineSandbox("locked")
    defer { box.finish() }
    #expect(box.berth(["ps"]).status == 0)
    // Another writer holds the database for 1.5 s; create waits, then works.
    let holder =
      "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('held', flush=True)\ntime.sleep(1.5)\nc.execute('COMMIT')"
    let out = sh(
      [
        "bash", "-c",
        "python3 -c \"$HOLDER\" \(box.root)/berth.db > \(box.dir)/held & sleep 0.5; start=$(date +%s%N); \(box.command) create --name late busybox true >/dev/null && echo $(( ($(date +%s%N) - start) / 1000000 )); wait",
      ], env: ["HOLDER": holder])
    let waited = Int(out.stdout.trimmed) ?? -1
    #expect(waited >= 500, "create returned after \(waited) ms: \(out.combined)")
    #expect(box.berth(["ps", "-a", "--format", "{{.Names}}"]).stdout == "late\n")
  }

  @Test func aCorruptDatabaseIsAClearErrorNotACrash() throws {
    let box = EngineSandbox("corrupt")
    defer {
      try? FileManager.default.removeItem(atPath: box.root + "/berth.db")
      box.finish()
    }
    #expect(box.berth(["ps"]).status == 0)
    for suffix in ["-wal", "-shm"] {
      try? FileManager.default.removeItem(atPath: box.root + "/berth.db" + suffix)
    }
    try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: box.root + "/berth.db"))
    let out = box.berth(["ps"])
    #expect(out.status == 125)
    #expect(out.stderr.hasPrefix("Error: "), "\(out.stderr)")
    #expect(out.stderr.contains("berth.db"), "\(out.stderr)")
  }
}
