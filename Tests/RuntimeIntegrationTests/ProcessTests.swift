import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite(
  "The container process", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct ProcessTests {
  @Test func argsEnvCwdAndHostnameReachTheProcess() {
    let box = Sandbox("proc")
    defer { box.finish() }
    var spec = box.spec([
      "sh", "-c", "echo $GREETING; pwd; hostname; cat /proc/sys/kernel/domainname",
    ])
    spec.process?.env = ["PATH=/bin:/usr/bin", "GREETING=hello berth"]
    spec.process?.cwd = "/tmp"
    spec.hostname = "boxhost"
    spec.domainname = "example.test"
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout == "hello berth\n/tmp\nboxhost\nexample.test\n")
  }

  @Test func userGroupsAndUmaskAreApplied() {
    let box = Sandbox("user")
    defer { box.finish() }
    var spec = box.spec(["sh", "-c", "id -u; id -g; id -G; umask"])
    spec.process?.user = Spec.User(uid: 1000, gid: 1000, umask: 0o027, additionalGids: [5, 1000])
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout == "1000\n1000\n1000 5\n0027\n")
  }

  @Test func capabilitySetsAreExactlyTheSpecs() {
    let box = Sandbox("caps")
    defer { box.finish() }
    var spec = box.spec(["grep", "^Cap", "/proc/self/status"])
    spec.process?.capabilities = Spec.Capabilities(
      bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"], inheritable: [],
      permitted: ["CAP_KILL"], ambient: [])
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.contains("CapInh:\t0000000000000000"))
    #expect(out.stdout.contains("CapPrm:\t0000000000000020"))
    #expect(out.stdout.contains("CapEff:\t0000000000000020"))
    #expect(out.stdout.contains("CapBnd:\t0000000000000021"))
  }

  @Test func noNewPrivilegesIsSet() {
    let box = Sandbox("nnp")
    defer { box.finish() }
    var spec = box.spec(["grep", "NoNewPrivs", "/proc/self/status"])
    spec.process?.noNewPrivileges = true
    #expect(box.run(spec).stdout.contains("NoNewPrivs:\t1"))
  }

  @Test func rlimitsAreAppliedAndAnImpossibleOneFailsClearly() {
    let box = Sandbox("rlimit")
    defer { box.finish() }
    var spec = box.spec(["sh", "-c", "ulimit -n; ulimit -Hn"])
    spec.process?.rlimits = [Spec.Rlimit(type: "RLIMIT_NOFILE", hard: 512, soft: 256)]
    let out = box.run(spec)
    #expect(out.stdout == "256\n512\n", "\(out.stderr)")

    // Raising a hard limit past the runtime's needs CAP_SYS_RESOURCE.
    var hard = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &hard)
    var tooHigh = box.spec(["true"], id: "high")
    tooHigh.process?.rlimits = [
      Spec.Rlimit(type: "RLIMIT_NOFILE", hard: UInt64(hard.rlim_max) * 4, soft: 1024)
    ]
    let failed = box.run(tooHigh, id: "high")
    let haveSysResource = sh(["grep", "CapEff", "/proc/self/status"]).stdout.contains("ffffffff")
    if !haveSysResource || failed.status != 0 {
      #expect(failed.status != 0)
      #expect(failed.stderr.contains("cannot set RLIMIT_NOFILE"), "\(failed.stderr)")
    }
    #expect(box.runtime(["list", "-q"]).stdout.isEmpty)
  }

  @Test func oomScoreAdjIsWritten() {
    let box = Sandbox("oom")
    defer { box.finish() }
    var spec = box.spec(["cat", "/proc/self/oom_score_adj"])
    spec.process?.oomScoreAdj = 500
    #expect(box.run(spec).stdout == "500\n")
  }

  @Test func aMissingCommandFailsCreateWithPodmansWording() {
    let box = Sandbox("nocmd")
    defer { box.finish() }
    let out = box.run(box.spec(["no-such-command"]))
    #expect(out.status != 0)
    #expect(out.stderr.contains("executable file not found in $PATH"), "\(out.stderr)")
  }

  @Test func stdioPassesThroughWithoutATerminal() {
    let box = Sandbox("stdio")
    defer { box.finish() }
    let bundle = box.bundle(box.spec(["sh", "-c", "read line; echo got:$line; echo err >&2"]))
    let out = box.runtime(["run", "--bundle", bundle, "c"], input: "ping\n")
    #expect(out.stdout == "got:ping\n")
    #expect(out.stderr == "err\n")
  }
}
