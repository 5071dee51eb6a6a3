import BerthTestSupport
import Foundation
import Testing

/// The same commands through berth and through podman (Debian's, with runc:
/// crun refuses this machine's hybrid cgroup layout), with the same image.
@Suite(
  "berth next to podman", .serialized,
  .enabled(
    if: EngineEnvironment.ready && EngineEnvironment.hasCommand("podman")
      && EngineEnvironment.hasCommand("runc"),
    "needs root, the fixtures, podman and runc"))
struct PodmanComparisonTests {
  final class Podman {
    let box: EngineSandbox
    var base: [String] {
      [
        "podman", "--root", box.dir + "/podman", "--runroot", box.dir + "/podman-run", "--tmpdir",
        box.dir + "/podman-tmp", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
        "--events-backend", "file",
        "--storage-driver", "vfs",
      ]
    }

    init(_ box: EngineSandbox) {
      self.box = box
      let load = sh(base + ["load", "-q", "-i", EngineEnvironment.busyboxArchive])
      precondition(load.status == 0, load.combined)
    }

    /// podman's run options that this machine needs (its hard limits are
    /// below podman's defaults; no bridge network in tests).
    var runOptions: [String] {
      [
        "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
        "--cgroup-parent", box.cgroupParent + "-podman",
      ]
    }

    @discardableResult
    func callAsFunction(_ args: [String]) -> Output { sh(base + args) }

    func cleanUp() {
      sh(base + ["rm", "-af", "-t", "0"])
      sh(base + ["system", "reset", "-f"])
      // Every hierarchy: runc makes the parent in all of them (blkio,
      // cpuset, devices, freezer... were left behind before, a CI run's worth each time).
      let controllers =
        (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
      for controller in controllers {
        let parent = "/sys/fs/cgroup/\(controller)\(box.cgroupParent)-podman"
        for child in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        where !child.contains(".") {
          rmdir(parent + "/" + child)
        }
        rmdir(parent)
      }
    }
  }

  @Test func aUidmapContainerSeesWhatPodmansSees() {
    let box = EngineSandbox("pmuserns")
    let podman = Podman(box)
    defer {
      podman.cleanUp()
      box.finish()
    }
    let command = [
      "sh", "-c",
      "cat /proc/self/uid_map /proc/self/gid_map; id; stat -c '%u:%g %n' / /bin /etc/passwd",
    ]
    let flags = ["--uidmap", "0:400000:65536", "--gidmap", "0:500000:65536"]
    let ours = box.berth(["run", "--rm", "--network", "none"] + flags + ["busybox"] + command)
    let theirs = podman(["run", "--rm"] + podman.runOptions + flags + ["busybox"] + command)
    #expect(ours.status == 0 && theirs.status == 0, "\(ours.combined) \(theirs.combined)")
    #expect(ours.stdout == theirs.stdout)
  }

  @Test func exitCodesMatch() {
    let box = EngineSandbox("pmcodes")
    let podman = Podman(box)
    defer {
      podman.cleanUp()
      box.finish()
    }
    for command in [["sh", "-c", "exit 7"], ["no-such-command"], ["/etc/passwd"], ["true"]] {
      let ours = box.berth(["run", "--rm", "busybox"] + command)
      let theirs = podman(["run", "--rm"] + podman.runOptions + ["busybox"] + command)
      #expect(
        ours.status == theirs.status,
        "\(command): berth \(ours.status), podman \(theirs.status) \(theirs.stderr)")
    }
    let ours = box.berth(["run", "--rm", "--memory", "12q", "busybox", "true"])
    #expect(ours.status == 125)
    let theirs = podman(
      ["run", "--rm", "--memory", "12q"] + podman.runOptions + ["busybox", "true"])
    #expect(ours.status == theirs.status)
    let oursMissing = box.berth(["rm", "no-such"])
    let theirsMissing = podman(["rm", "no-such"])
    #expect(oursMissing.status == theirsMissing.status)
  }

  static func withoutTimes(_ text: String) -> String {
    text.replacingOccurrences(
      of: "(Less than a second|[0-9]+ seconds?|About a minute) ago", with: "TIME ago",
      options: .regularExpression)
  }

  @Test func psAndInspectTemplatesPrintTheSame() {
    let box = EngineSandbox("pmfmt")
    let podman = Podman(box)
    defer {
      podman.cleanUp()
      box.finish()
    }
    let create = ["--name", "same", "--label", "a=b", "busybox", "sh", "-c", "exit 3"]
    #expect(box.berth(["run"] + create).status == 3)
    #expect(podman(["run"] + podman.runOptions + create).status == 3)
    // Debian's podman (4.3) prints the status words for .State; berth prints
    // the state, as podman 4.4 and later do, so .State is not compared.
    for template in [
      "{{.Names}} {{.Image}} {{.Labels}} {{.Command}}", "{{.Names}}\\t{{.Status}}",
      "{{.RunningFor}}",
    ] {
      // The two containers exited moments apart: relative times are
      // compared by their form, not their value.
      let ours = Self.withoutTimes(box.berth(["ps", "-a", "--format", template]).stdout)
      let theirs = Self.withoutTimes(podman(["ps", "-a", "--format", template]).stdout)
      #expect(ours == theirs, "template \(template)")
    }
    for template in [
      "{{.State.Status}} {{.State.ExitCode}} {{.Name}}", "{{.Config.Labels.a}} {{.State.Running}}",
      "{{.HostConfig.AutoRemove}} {{.RestartCount}}",
    ] {
      let ours = box.berth(["inspect", "--format", template, "same"])
      let theirs = podman(["inspect", "--format", template, "same"])
      #expect(ours.stdout == theirs.stdout, "template \(template): \(theirs.stderr)")
    }
    #expect(box.berth(["wait", "same"]).stdout == podman(["wait", "same"]).stdout)
    #expect(box.berth(["ps", "-a", "-q"]).stdout.count == podman(["ps", "-a", "-q"]).stdout.count)
  }
}
