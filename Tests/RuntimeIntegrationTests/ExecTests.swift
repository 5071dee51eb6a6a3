import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite(
  "exec", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct ExecTests {
  func running(_ box: Sandbox) -> Bool {
    box.run(box.spec(["sleep", "60"]), extra: ["-d"]).status == 0
  }

  @Test func execJoinsTheContainerAndPropagatesItsExitCode() {
    let box = Sandbox("exec")
    defer { box.finish() }
    #expect(running(box))
    let out = box.runtime([
      "exec", "c", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; hostname; exit 5",
    ])
    #expect(out.status == 5)
    #expect(out.stdout == "sleep 60 berth\n", "\(out.stderr)")
    box.runtime(["delete", "--force", "c"])
  }

  @Test func flagsSetEnvCwdUserAndGroups() {
    let box = Sandbox("execflags")
    defer { box.finish() }
    #expect(running(box))
    let out = box.runtime([
      "exec", "-e", "FOO=bar", "--cwd", "/tmp", "-u", "1000:1000", "-g", "5", "c", "sh", "-c",
      "echo $FOO; pwd; id -u; id -G",
    ])
    #expect(out.stdout == "bar\n/tmp\n1000\n1000 5\n", "\(out.stderr)")
    box.runtime(["delete", "--force", "c"])
  }

  /// exec's flags mean the same to the hand parser and to
  /// swift-argument-parser: repeated options accumulate, `=` forms work,
  /// and a command that starts with a dash goes to the full parser.
  @Test(arguments: [
    ["exec", "-e", "A=1", "--env=B=2", "-g", "5", "--additional-gids=6", "c", "sh", "-c", "S"],
    [
      "exec", "--env", "A=1", "-e", "B=2", "--additional-gids", "5", "-g", "6", "c", "sh", "-c",
      "S",
    ],
  ])
  func repeatedOptionsAccumulate(args: [String]) {
    let box = Sandbox("execrepeat")
    defer { box.finish() }
    #expect(running(box))
    let out = box.runtime(args.map { $0 == "S" ? "echo $A $B; id -G" : $0 })
    #expect(out.stdout == "1 2\n0 5 6\n", "\(out.stderr)")
    let dashed = box.runtime(["exec", "c", "-c", "true"])
    #expect(dashed.status != 0)
    #expect(dashed.stderr.contains("\"-c\": executable file not found"), "\(dashed.stderr)")
    box.runtime(["delete", "--force", "c"])
  }

  @Test func processFileIsUsedAsIs() throws {
    let box = Sandbox("execprocess")
    defer { box.finish() }
    #expect(running(box))
    let process = Spec.Process(
      user: Spec.User(uid: 1, gid: 1), args: ["sh", "-c", "id -u; echo $X"],
      env: ["X=from-file", "PATH=/bin"],
      cwd: "/")
    let file = box.dir + "/process.json"
    try JSONEncoder().encode(process).write(to: URL(fileURLWithPath: file))
    let out = box.runtime(["exec", "--process", file, "c"])
    #expect(out.stdout == "1\nfrom-file\n", "\(out.stderr)")
    box.runtime(["delete", "--force", "c"])
  }

  /// CVE-2022-29162 class: --cap never reaches the inheritable set.
  @Test func execCapAddsCapabilitiesButNeverInheritable() {
    let box = Sandbox("execcap")
    defer { box.finish() }
    #expect(running(box))
    let out = box.runtime([
      "exec", "--cap", "CAP_NET_ADMIN", "--cap", "sys_ptrace", "c", "grep", "^Cap",
      "/proc/self/status",
    ])
    #expect(out.stdout.contains("CapInh:\t0000000000000000"), "\(out.stdout)")
    // NET_ADMIN (12) and SYS_PTRACE (19) on top of the default three (5, 10, 29).
    #expect(out.stdout.contains("CapEff:\t0000000020081420"), "\(out.stdout)")
    // Ambient needs inheritable, which --cap never grants.
    #expect(out.stdout.contains("CapAmb:\t0000000000000000"), "\(out.stdout)")
    box.runtime(["delete", "--force", "c"])
  }

  @Test func detachedExecWritesItsPidFile() throws {
    let box = Sandbox("execdetach")
    defer { box.finish() }
    #expect(running(box))
    let pidFile = box.dir + "/exec.pid"
    #expect(box.runtime(["exec", "-d", "--pid-file", pidFile, "c", "sleep", "20"]).status == 0)
    let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8)))
    let cmdline = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
    #expect(cmdline.hasPrefix("sleep"))
    #expect(box.runtime(["ps", "--format", "json", "c"]).stdout.contains("\(pid)"))
    box.runtime(["delete", "--force", "c"])
  }

  @Test func execOfAMissingCommandOrIntoAStoppedContainerFails() {
    let box = Sandbox("execfail")
    defer { box.finish() }
    #expect(running(box))
    let missing = box.runtime(["exec", "c", "no-such-thing"])
    #expect(missing.status != 0)
    #expect(missing.stderr.contains("executable file not found in $PATH"))
    box.runtime(["kill", "c", "KILL"])
    for _ in 0..<300 where box.state("c")?["status"] as? String != "stopped" { usleep(10_000) }
    let stopped = box.runtime(["exec", "c", "true"])
    #expect(stopped.status != 0)
    #expect(stopped.stderr.contains("it is stopped"))
    box.runtime(["delete", "c"])
  }

  @Test func execWithATerminalSendsItsOwnPty() throws {
    let box = Sandbox("exectty")
    defer { box.finish() }
    #expect(running(box))
    let socket = ConsoleSocket(path: box.dir + "/exec.sock")
    let out = box.runtime([
      "exec", "-t", "-d", "--console-socket", socket.path, "c", "sh", "-c", "tty; echo done",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    let master = socket.receiveMaster()
    try #require(master >= 0)
    defer { close(master) }
    let screen = readUntil(master, "done")
    #expect(screen.contains("/dev/pts/"), "\(screen)")
    box.runtime(["delete", "--force", "c"])
  }
}
