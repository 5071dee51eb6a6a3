import BerthTestSupport
import Foundation
import Testing

/// One container per flag: the flag's effect as the container sees it.
@Suite("berth run flags", .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct FlagTests {
  static let hostName: String = {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, 255)
    return String(cString: buffer)
  }()

  static let cases: [(flags: [String], command: String, expected: String)] = [
    (["-e", "A=1", "-e", "B"], "echo $A-$B", "1-\n"),
    (["--group-add", "tty", "-u", "daemon"], "id -G", "1 5\n"),
    (["--entrypoint", "echo"], "entry", "entry\n"),
    (["--hostname", "harbor"], "hostname; cat /etc/hostname", "harbor\nharbor\n"),
    (["--read-only", "--read-only-tmpfs=false"], "touch /tmp/x 2>/dev/null || echo ro", "ro\n"),
    (["--read-only"], "touch /tmp/x && echo tmpfs-writable", "tmpfs-writable\n"),
    (["--cap-add", "NET_ADMIN"], "grep CapEff /proc/self/status | cut -f2", "00000000800415fb\n"),
    (["--cap-drop", "CHOWN"], "chown 1 /tmp 2>/dev/null || echo denied", "denied\n"),
    (["--privileged"], "grep CapEff /proc/self/status | cut -f2 | grep -c 000001ff", "1\n"),
    (
      ["--security-opt", "no-new-privileges"], "grep NoNewPrivs /proc/self/status | cut -f2", "1\n"
    ),
    (["--security-opt", "seccomp=unconfined"], "grep Seccomp: /proc/self/status | cut -f2", "0\n"),
    ([], "grep Seccomp: /proc/self/status | cut -f2", "2\n"),
    (
      ["--security-opt", "unmask=/proc/timer_list"],
      "test $(wc -l < /proc/timer_list) -gt 0 && echo visible", "visible\n"
    ),
    ([], "wc -l < /proc/timer_list", "0\n"),
    (["--security-opt", "mask=/etc/hostname"], "cat /etc/hostname | wc -c", "0\n"),
    (["--sysctl", "net.ipv4.ip_forward=1"], "cat /proc/sys/net/ipv4/ip_forward", "1\n"),
    (["--ulimit", "nofile=512:512"], "ulimit -n", "512\n"),
    (["--shm-size", "2m"], "df -k /dev/shm | tail -1 | awk '{print $2}'", "2048\n"),
    (["--tmpfs", "/scratch"], "grep -c ' /scratch tmpfs' /proc/mounts", "1\n"),
    (["--device", "/dev/zero:/dev/myzero"], "head -c 3 /dev/myzero | wc -c", "3\n"),
    (["--network", "host"], "test -e /sys/class/net/lo && cat /proc/net/dev | grep -c ':'", ""),
    // The host's network comes with the host's name, as docker and podman give it.
    (["--network", "host"], "hostname", hostName + "\n"),
    // HOME as runc sets it: the user's from the image's passwd, unless given.
    (["-u", "0"], "echo $HOME", "/root\n"),
    (["-u", "nobody"], "echo $HOME", "/nonexistent\n"),
    (["-e", "HOME=/custom"], "echo $HOME", "/custom\n"),
    (["--network", "none"], "cat /proc/net/dev | grep -c ':'", "1\n"),
    (["--uts", "host"], "hostname", ""),
    (["--pid", "host"], "test -d /proc/1 && cat /proc/1/comm | grep -vc '^sh$'", "1\n"),
    (["--ipc", "host"], "true", ""),
    (["--cgroupns", "host"], "true", ""),
    (["--stop-signal", "USR1", "--stop-timeout", "3"], "true", ""),
    (["--annotation", "a=b", "--label", "l=v"], "true", ""),
    (
      [
        "--memory", "32m", "--memory-swap", "64m", "--cpus", "0.5", "--cpu-shares", "512",
        "--cpuset-cpus", "0",
      ], "true", ""
    ),
    (["--log-driver", "json-file", "--log-opt", "max-size=1m"], "echo logged", "logged\n"),
    (["--pull", "never"], "true", ""),
    (["--platform", "linux/amd64"], "true", ""),
  ]

  @Test(arguments: 0..<cases.count)
  func aFlagHasItsEffect(index: Int) {
    let (flags, command, expected) = Self.cases[index]
    let box = EngineSandbox("flag\(index)")
    defer { box.finish() }
    let out = box.berth(["run", "--rm"] + flags + ["busybox", "sh", "-c", command])
    if flags.first == "--entrypoint" {
      let entry = box.berth(["run", "--rm", "--entrypoint", "echo", "busybox", "entry"])
      #expect(entry.stdout == expected, "\(entry.combined)")
      return
    }
    #expect(out.status == 0, "\(flags): \(out.combined)")
    if !expected.isEmpty { #expect(out.stdout == expected, "\(flags): \(out.combined)") }
  }

  @Test func envFileCidfileAndJSONLogs() throws {
    let box = EngineSandbox("files")
    defer { box.finish() }
    try "# comment\nFROM_FILE=yes\n".write(
      toFile: box.dir + "/env", atomically: true, encoding: .utf8)
    let cidfile = box.dir + "/cid"
    let out = box.berth([
      "run", "--name", "f", "--env-file", box.dir + "/env", "--cidfile", cidfile, "--log-driver",
      "json-file",
      "busybox", "sh", "-c", "echo $FROM_FILE",
    ])
    #expect(out.stdout == "yes\n")
    let id = try String(contentsOfFile: cidfile, encoding: .utf8)
    #expect(
      box.berth(["inspect", "--format", "{{.Id}} {{.HostConfig.LogConfig.Type}}", "f"]).stdout
        == "\(id) json-file\n")
    #expect(box.berth(["logs", "f"]).stdout == "yes\n")
    let raw = try String(
      contentsOfFile: box.root + "/containers/\(id)/userdata/ctr.log", encoding: .utf8)
    #expect(raw.hasPrefix("{\"log\":\"yes\\n\",\"stream\":\"stdout\""))
  }

  @Test func namespacesOfAnotherContainerAndTheStopSignal() {
    let box = EngineSandbox("joins")
    defer { box.finish() }
    let first = box.berth([
      "run", "-d", "--name", "first", "--ipc", "shareable", "busybox", "sh", "-c",
      "echo shared > /dev/shm/x; sleep 60",
    ]).stdout.trimmed
    #expect(!first.isEmpty)
    #expect(box.eventually { box.berth(["logs", "first"]).status == 0 })
    usleep(300_000)
    let ipc = box.berth(["run", "--rm", "--ipc", "container:first", "busybox", "cat", "/dev/shm/x"])
    #expect(ipc.stdout == "shared\n", "\(ipc.combined)")
    let pid = box.berth([
      "run", "--rm", "--pid", "container:first", "busybox", "sh", "-c",
      "ps -o comm | grep -c sleep",
    ])
    #expect(pid.stdout == "1\n", "\(pid.combined)")
    // The image's stop signal or --stop-signal: USR1 with a trap ends at once.
    let id = box.berth([
      "run", "-d", "--stop-signal", "USR1", "busybox", "sh", "-c",
      "trap 'exit 9' USR1; while true; do sleep 0.1; done",
    ]).stdout.trimmed
    usleep(300_000)
    #expect(box.berth(["stop", id]).status == 0)
    #expect(box.berth(["wait", id]).stdout == "9\n")
  }

  @Test func attachStdinStartInteractiveAndRestartAlways() {
    let box = EngineSandbox("attach")
    defer { box.finish() }
    #expect(box.berth(["create", "-i", "--name", "cat", "busybox", "cat"]).status == 0)
    let started = box.berth(["start", "-a", "-i", "cat"], input: "through start\n")
    #expect(started.stdout == "through start\n")
    let id = box.berth([
      "run", "-d", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 1",
    ]).stdout.trimmed
    #expect(
      box.eventually {
        Int(box.berth(["inspect", "--format", "{{.RestartCount}}", id]).stdout.trimmed) ?? 0 >= 2
      })
    #expect(box.berth(["stop", "-t", "1", id]).status == 0)
    #expect(
      box.berth(["ps", "-a", "--format", "{{.State}}", "--filter", "id=\(id)"]).stdout == "exited\n"
    )
  }
}

@Suite(
  "berth run --timeout, image health checks, volume options",
  .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct MoreRunTests {
  @Test func timeoutKillsTheContainer() {
    let box = EngineSandbox("timeout")
    defer { box.finish() }
    let out = box.berth(["run", "--rm", "--timeout", "1", "busybox", "sleep", "30"])
    #expect(out.status == 137)
  }

  @Test func anImagesHealthcheckRunsUnlessDisabled() {
    let box = EngineSandbox("imagehealth")
    defer { box.finish() }
    #expect(box.berth(["run", "--name", "base", "busybox", "true"]).status == 0)
    // An image whose config carries a HEALTHCHECK, made with commit.
    let commit = box.berth([
      "commit", "-c", "HEALTHCHECK --interval=200ms --retries=1 CMD test -f /never", "base",
      "localhost/healthy:1",
    ])
    #expect(commit.status == 0, "\(commit.combined)")
    let id = box.berth(["run", "-d", "localhost/healthy:1", "sleep", "30"]).stdout.trimmed
    #expect(
      box.eventually {
        box.berth(["inspect", "--format", "{{.State.Health.Status}}", id]).stdout == "unhealthy\n"
      })
    let none = box.berth(["run", "-d", "--no-healthcheck", "localhost/healthy:1", "sleep", "30"])
      .stdout.trimmed
    usleep(600_000)
    let state = box.berth(["inspect", "--format", "{{json .State}}", none])
    #expect(state.status == 0)
    #expect(!state.stdout.contains("Health"), "\(state.stdout)")
  }

  @Test func attachOnlySomeStreamsAndChownAVolume() {
    let box = EngineSandbox("streams")
    defer { box.finish() }
    let out = box.berth([
      "run", "--rm", "-a", "STDERR", "busybox", "sh", "-c", "echo out; echo err >&2",
    ])
    #expect(out.stdout.isEmpty)
    #expect(out.stderr == "err\n")
    let owned = box.berth([
      "run", "--rm", "-u", "1000:1000", "-v", "mine:/data:U", "busybox", "stat", "-c", "%u:%g",
      "/data",
    ])
    #expect(owned.stdout == "1000:1000\n", "\(owned.combined)")
    let driver = box.berth(["run", "--rm", "--volume-driver", "nfs-plugin", "busybox", "true"])
    #expect(driver.status == 125)
  }

  @Test func aVolumeWithMountOptionsIsMountedOnFirstUse() {
    let box = EngineSandbox("tmpfsvol")
    defer { box.finish() }
    #expect(
      box.berth([
        "volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=4m",
        "fast",
      ]).status == 0)
    let out = box.berth([
      "run", "--rm", "-v", "fast:/fast", "busybox", "sh", "-c",
      "df -k /fast | tail -1 | awk '{print $2}'",
    ])
    #expect(out.stdout == "4096\n", "\(out.combined)")
    #expect(box.berth(["volume", "rm", "fast"]).status == 0)
  }
}
