import BerthTestSupport
import Foundation
import Testing

/// podman (from Debian) driving berth-runtime through conmon, as a real
/// caller would, with a throwaway store.
@Suite(
  "podman --runtime berth-runtime", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers && TestEnvironment.hasCommand("podman")
      && TestEnvironment.hasCommand("conmon"),
    "needs root, the busybox fixture, podman and conmon (scripts/deps.sh installs them)"))
struct PodmanTests {
  static let image = "localhost/berth-busybox:test"

  /// podman with its own root, runroot, tmpdir and our runtime. The machine's hard
  /// limits are below podman's default nofile/nproc and CAP_SYS_RESOURCE is
  /// missing, so the limits are given explicitly (crun and runc need the same).
  final class Podman {
    let box: Sandbox
    var base: [String] {
      [
        "podman", "--root", box.dir + "/storage", "--runroot", box.dir + "/run",
        "--tmpdir", box.dir + "/tmp",
        "--runtime", TestEnvironment.runtime, "--cgroup-manager", "cgroupfs",
        "--events-backend", "file", "--storage-driver", "vfs",
      ]
    }
    var runOptions: [String] {
      [
        "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
        "--cgroup-parent", box.cgroupParent,
      ]
    }

    init(_ box: Sandbox) {
      self.box = box
      let tar = sh([
        "bash", "-c",
        "tar -C \(TestEnvironment.busyboxRootfs) -c . | \(base.joined(separator: " ")) import - \(PodmanTests.image)",
      ])
      precondition(tar.status == 0, tar.stderr)
    }

    @discardableResult
    func callAsFunction(_ args: [String]) -> Output { sh(base + args) }

    func run(_ args: [String]) -> Output { sh(base + ["run", "--rm"] + runOptions + args) }

    /// Removes podman's containers and store, and the cgroup podman makes
    /// for conmon itself under our parent (podman leaves that one behind;
    /// the container cgroups are the runtime's, checked by the sandbox).
    func cleanUp() {
      sh(base + ["rm", "-af", "-t", "0"])
      sh(base + ["system", "reset", "-f"])
      // conmon may still be on its way out after `rm` returns.
      for hierarchy in box.cgroupHierarchies() {
        let dir = hierarchy + box.cgroupParent + "/conmon"
        for _ in 0..<100 where rmdir(dir) != 0 && errno == EBUSY { usleep(20_000) }
      }
    }
  }

  @Test func runRmEchoesAndPropagatesExitCodes() {
    let box = Sandbox("podman")
    let podman = Podman(box)
    defer {
      podman.cleanUp()
      box.finish()
    }
    let hi = podman.run([Self.image, "echo", "hi"])
    #expect(hi.stdout == "hi\n", "\(hi.stderr)")
    #expect(podman.run([Self.image, "sh", "-c", "exit 7"]).status == 7)
    #expect(podman.run([Self.image, "no-such-command"]).status == 127)
    #expect(podman.run([Self.image, "/etc/passwd"]).status == 126)
  }

  @Test func envWorkdirUserReadOnlyAndCapDrop() {
    let box = Sandbox("podmanopts")
    let podman = Podman(box)
    defer {
      podman.cleanUp()
      box.finish()
    }
    let opts = podman.run([
      "-e", "FOO=bar", "-w", "/tmp", "-u", "1000", Self.image, "sh", "-c",
      "echo $FOO $(pwd) $(id -u)",
    ])
    #expect(opts.stdout == "bar /tmp 1000\n", "\(opts.stderr)")
    let ro = podman.run(["--read-only", Self.image, "sh", "-c", "touch /x 2>/dev/null; echo $?"])
    #expect(ro.stdout == "1\n", "\(ro.stderr)")
    let caps = podman.run(["--cap-drop", "ALL", Self.image, "grep", "CapEff", "/proc/self/status"])
    #expect(caps.stdout == "CapEff:\t0000000000000000\n", "\(caps.stderr)")
  }

  @Test func detachedRunExecStopAndRemove() {
    let box = Sandbox("podmand")
    let podman = Podman(box)
    defer {
      podman.cleanUp()
      box.finish()
    }
    let started = podman(
      ["run", "-d", "--name", "d1"] + podman.runOptions + [Self.image, "sleep", "100"])
    #expect(started.status == 0, "\(started.stderr)")
    let exec = podman(["exec", "d1", "sh", "-c", "echo in $(hostname); cat /proc/1/cmdline"])
    #expect(exec.stdout.hasPrefix("in "), "\(exec.stderr)")
    #expect(exec.stdout.hasSuffix("sleep\0" + "100\0"))
    #expect(podman(["exec", "d1", "sh", "-c", "exit 4"]).status == 4)
    #expect(podman(["stop", "-t", "1", "d1"]).status == 0)
    #expect(podman(["ps", "-a", "--format", "{{.Status}}"]).stdout.hasPrefix("Exited"))
    #expect(podman(["rm", "d1"]).status == 0)
  }

  @Test func memoryPidsAndCPULimitsPauseAndUnpause() {
    let box = Sandbox("podmanlimits")
    let podman = Podman(box)
    defer {
      podman.cleanUp()
      box.finish()
    }
    let memory = podman.run([
      "--memory", "64m", Self.image, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ])
    let memoryV2 = podman.run(["--memory", "64m", Self.image, "cat", "/sys/fs/cgroup/memory.max"])
    #expect(memory.stdout == "67108864\n" || memoryV2.stdout == "67108864\n", "\(memory.stderr)")
    let pids = podman.run([
      "--pids-limit", "20", Self.image, "sh", "-c",
      "for i in $(seq 30); do sleep 3 & done 2>&1 | head -1",
    ])
    #expect(pids.stdout.contains("can't fork"), "\(pids.combined)")
    let cpus = podman.run([
      "--cpus", "0.5", Self.image, "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
    ])
    #expect(cpus.stdout == "50000\n", "\(cpus.stderr)")

    #expect(
      podman(["run", "-d", "--name", "p1"] + podman.runOptions + [Self.image, "sleep", "100"])
        .status == 0)
    #expect(podman(["pause", "p1"]).status == 0)
    #expect(podman(["inspect", "--format", "{{.State.Status}}", "p1"]).stdout == "paused\n")
    #expect(podman(["unpause", "p1"]).status == 0)
    #expect(podman(["inspect", "--format", "{{.State.Status}}", "p1"]).stdout == "running\n")
    #expect(podman(["rm", "-f", "-t", "0", "p1"]).status == 0)
  }

  @Test(.enabled(if: TestEnvironment.hasCommand("tmux"), "needs tmux"))
  func interactiveTerminalThroughTmux() throws {
    let box = Sandbox("podmantty")
    let podman = Podman(box)
    let session = "berth-\(box.name.suffix(8))"
    defer {
      sh(["tmux", "kill-session", "-t", session])
      podman.cleanUp()
      box.finish()
    }
    let command = (podman.base + ["run", "-it", "--rm"] + podman.runOptions + [Self.image, "sh"])
      .joined(separator: " ")
    sh([
      "tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30",
      "\(command); echo EXITED=$?; sleep 30",
    ])
    var screen = ""
    for _ in 0..<50 where !screen.contains("/ #") {
      usleep(100_000)
      screen = sh(["tmux", "capture-pane", "-t", session, "-p"]).stdout
    }
    sh(["tmux", "send-keys", "-t", session, "echo $((6*7)); stty size; exit 3", "Enter"])
    for _ in 0..<50 where !screen.contains("EXITED") {
      usleep(100_000)
      screen = sh(["tmux", "capture-pane", "-t", session, "-p"]).stdout
    }
    #expect(screen.contains("\n42\n"), "\(screen)")
    #expect(screen.contains("30 100"), "\(screen)")
    #expect(screen.contains("EXITED=3"), "\(screen)")
  }
}

/// Rootless podman (as the berth-test user) with berth-runtime: podman runs
/// the runtime inside its own user namespace.
@Suite(
  "rootless podman --runtime berth-runtime", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers && TestEnvironment.hasCommand("podman")
      && TestEnvironment.hasCommand("conmon") && RootlessUser.exists,
    "needs root (to set up), podman, conmon and the berth-test user (scripts/test.sh)"))
struct RootlessPodmanTests {
  @Test func runExecStopAsAnUnprivilegedUser() {
    let box = Sandbox("rlpodman")
    let uid = RootlessUser.uid
    let runtimeDir = box.dir + "/xdg"
    sh(["install", "-m", "0755", TestEnvironment.runtime, box.dir + "/berth-runtime"])
    sh(["bash", "-c", "tar -C \(TestEnvironment.busyboxRootfs) -c . > \(box.dir)/image.tar"])
    sh(["install", "-d", "-m", "0700", runtimeDir])
    sh(["chown", "-R", "\(uid):\(RootlessUser.gid)", box.dir])
    func podman(_ args: [String]) -> Output {
      sh(
        [
          "setpriv", "--reuid", "\(uid)", "--regid", "\(RootlessUser.gid)", "--init-groups", "env",
          "XDG_RUNTIME_DIR=\(runtimeDir)", "HOME=\(box.dir)", "podman", "--root",
          box.dir + "/storage",
          "--runroot", runtimeDir + "/podman", "--runtime", box.dir + "/berth-runtime",
          "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--storage-driver", "vfs",
        ] + args)
    }
    defer {
      podman(["rm", "-af", "-t", "0"])
      podman(["unshare", "rm", "-rf", box.dir + "/storage"])
      box.finish()
    }
    let image = "localhost/berth-busybox:rootless"
    #expect(podman(["import", box.dir + "/image.tar", image]).status == 0)
    let options = ["--network", "none", "--ulimit", "host"]
    let id = podman(["run", "--rm"] + options + [image, "id"])
    #expect(id.stdout == "uid=0(root) gid=0(root)\n", "\(id.stderr)")
    #expect(podman(["run", "-d", "--name", "r1"] + options + [image, "sleep", "100"]).status == 0)
    let exec = podman(["exec", "r1", "sh", "-c", "echo exec-ok"])
    #expect(exec.stdout == "exec-ok\n", "\(exec.stderr)")
    #expect(podman(["stop", "-t", "1", "r1"]).status == 0)
    #expect(podman(["rm", "r1"]).status == 0)
  }
}
