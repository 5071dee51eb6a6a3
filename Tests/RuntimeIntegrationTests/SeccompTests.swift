import BerthOCI
import BerthRuntime
import BerthTestSupport
import Foundation
import Testing

/// linux.seccomp on real containers: one test per action, argument
/// conditions, unknown names and actions, exec, and the compiled-filter
/// cache under --root.
@Suite(
  "seccomp", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct SeccompTests {
  func profile(_ json: String) -> Spec.Seccomp {
    try! JSONDecoder().decode(Spec.Seccomp.self, from: Data(json.utf8))
  }

  /// A profile that allows everything but applies `action` to `names`.
  func deny(_ names: [String], _ action: String, errnoRet: Int? = nil) -> Spec.Seccomp {
    let ret = errnoRet.map { #", "errnoRet": \#($0)"# } ?? ""
    let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
    return profile(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
       "syscalls": [{"names": [\(list)], "action": "\(action)"\(ret)}]}
      """)
  }

  func cacheDirectory(_ box: Sandbox) -> String { box.stateRoot + "/@seccomp" }

  /// The compiled-filter cache is expected under --root: removed before
  /// the sandbox's leak check, which wants --root empty.
  func finish(_ box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) {
    try? FileManager.default.removeItem(atPath: cacheDirectory(box))
    box.finish(sourceLocation: sourceLocation)
  }

  @Test(arguments: [
    (nil, "Operation not permitted"), (28, "No space left on device"),
  ])
  func errnoReturnsTheGivenErrno(errnoRet: Int?, message: String) {
    let box = Sandbox("scerrno")
    defer { finish(box) }
    var spec = box.spec(["mkdir", "/dev/shm/x"])
    spec.linux?.seccomp = deny(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", errnoRet: errnoRet)
    let out = box.run(spec)
    #expect(out.status == 1)
    #expect(out.stderr.contains("can't create directory '/dev/shm/x': \(message)"), "\(out.stderr)")
  }

  /// SIGSYS kills the process: 128 + 31.
  @Test(arguments: ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS"])
  func killActionsEndTheProcessWithSIGSYS(action: String) {
    let box = Sandbox("sckill")
    defer { finish(box) }
    var spec = box.spec(["mkdir", "/dev/shm/x"])
    spec.linux?.seccomp = deny(["mkdir", "mkdirat"], action)
    #expect(box.run(spec).status == 159)
  }

  /// TRAP raises SIGSYS, which a process may catch and survive.
  @Test func trapRaisesACatchableSIGSYS() {
    let box = Sandbox("sctrap")
    defer { finish(box) }
    var spec = box.spec(["sh", "-c", "trap 'echo caught' SYS; umask 022; echo after"])
    spec.linux?.seccomp = deny(["umask"], "SCMP_ACT_TRAP")
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.contains("caught") && out.stdout.contains("after"), "\(out.stdout)")
    spec.process?.args = ["mkdir", "/dev/shm/x"]
    spec.linux?.seccomp = deny(["mkdir", "mkdirat"], "SCMP_ACT_TRAP")
    #expect(box.run(spec, id: "d").status == 159)
  }

  /// An allow-list over a default of ERRNO: what is listed works, the rest
  /// fails with defaultErrnoRet.
  @Test func allowListOverADefaultOfErrno() {
    let box = Sandbox("scallow")
    defer { finish(box) }
    let allowed = [
      "execve", "arch_prctl", "set_tid_address", "brk", "mmap", "munmap", "mprotect", "getuid",
      "geteuid", "getgid", "getegid", "getpid", "getppid", "rt_sigaction", "rt_sigprocmask",
      "rt_sigreturn", "ioctl", "write", "writev", "read", "open", "openat", "close", "fstat",
      "newfstatat", "stat", "lstat", "statx", "exit", "exit_group", "prlimit64", "uname",
      "getcwd", "fcntl", "dup2", "dup3", "wait4", "clone", "fork", "vfork", "set_robust_list",
      "rseq", "getrandom", "clock_gettime", "lseek", "getdents64", "sigaltstack", "futex",
    ]
    let list = allowed.map { "\"\($0)\"" }.joined(separator: ", ")
    var spec = box.spec(["sh", "-c", "echo hello; mkdir /dev/shm/x"])
    spec.linux?.seccomp = profile(
      """
      {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 28,
       "syscalls": [{"names": [\(list)], "action": "SCMP_ACT_ALLOW"}]}
      """)
    let out = box.run(spec)
    #expect(out.stdout == "hello\n", "\(out.stderr)")
    #expect(out.stderr.contains("No space left on device"), "\(out.stderr)")
    #expect(out.status == 1)
  }

  /// LOG allows (and logs) the call.
  @Test func logAllowsTheCall() {
    let box = Sandbox("sclog")
    defer { finish(box) }
    var spec = box.spec(["sh", "-c", "mkdir /dev/shm/x && echo made"])
    spec.linux?.seccomp = deny(["mkdir", "mkdirat"], "SCMP_ACT_LOG")
    let out = box.run(spec)
    #expect(out.stdout == "made\n", "\(out.stderr)")
  }

  /// personality is refused only for PER_LINUX32 (linux32), not for
  /// PER_LINUX (linux64).
  @Test func argumentConditionsNarrowARule() {
    let box = Sandbox("scargs")
    defer { finish(box) }
    var spec = box.spec(["sh", "-c", "linux64 true && echo linux64; linux32 true || echo refused"])
    spec.linux?.seccomp = profile(
      """
      {"defaultAction": "SCMP_ACT_ALLOW",
       "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}
      """)
    let out = box.run(spec)
    #expect(out.stdout == "linux64\nrefused\n", "\(out.stderr)")
  }

  /// Two conditions on one argument: either refuses (runc's split), and
  /// other values pass. Also MASKED_EQ.
  @Test func conditionsOnOneArgumentEachRefuse() {
    let box = Sandbox("scsplit")
    defer { finish(box) }
    var spec = box.spec([
      "sh", "-c",
      "kill -0 $$ && echo zero; kill -1 $$ || echo no-hup; kill -15 $$ || echo no-term;"
        + " kill -10 $$ || echo no-usr1",
    ])
    spec.linux?.seccomp = profile(
      """
      {"defaultAction": "SCMP_ACT_ALLOW",
       "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                     "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"},
                              {"index": 1, "value": 15, "op": "SCMP_CMP_EQ"},
                              {"index": 1, "value": 15, "valueTwo": 10, "op": "SCMP_CMP_MASKED_EQ"}]}]}
      """)
    let out = box.run(spec)
    #expect(out.stdout == "zero\nno-hup\nno-term\nno-usr1\n", "\(out.stderr)")
  }

  /// With no_new_privs the filter loads right before execve: the runtime's
  /// own setup calls (ids, capabilities, cwd, hostname, startContainer
  /// hooks) are not filtered. (prctl is left out: busybox itself calls it.)
  @Test func theFilterLoadsAfterTheRuntimesOwnSetup() {
    let box = Sandbox("sclate")
    defer { finish(box) }
    var spec = box.spec(["echo", "ok"])
    spec.process?.user = Spec.User(uid: 1000, gid: 1000, additionalGids: [5])
    var hooks = Spec.Hooks()
    hooks.startContainer = [Spec.Hook(path: "/bin/true", args: ["true"])]
    spec.hooks = hooks
    spec.linux?.seccomp = deny(
      [
        "capset", "setresuid", "setresgid", "setgroups", "chdir", "getcwd", "sethostname",
        "umask", "wait4", "clone", "fork", "vfork",
      ], "SCMP_ACT_KILL_PROCESS")
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout == "ok\n", "\(out.stderr)")
  }

  /// A profile refusing getcwd (runtime-tools' linux_seccomp test) does not
  /// break the runtime's working-directory check (CVE-2024-21626), whether
  /// the filter loads before the capability drop or at execve.
  @Test(arguments: [false, true])
  func aFilterRefusingGetcwdKeepsTheCwdCheck(noNewPrivileges: Bool) {
    let box = Sandbox("scgetcwd")
    defer { finish(box) }
    var spec = box.spec(["sh", "-c", "cd /tmp && echo in-tmp; pwd"])
    spec.process?.noNewPrivileges = noNewPrivileges
    spec.process?.user = Spec.User(uid: 1000, gid: 1000)
    spec.process?.cwd = "/tmp"
    spec.linux?.seccomp = deny(["getcwd"], "SCMP_ACT_ERRNO")
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    // busybox's pwd prints $PWD when getcwd fails.
    #expect(out.stdout.hasPrefix("in-tmp\n"), "\(out.stdout) \(out.stderr)")
  }

  /// The flags reach seccomp(2): the kernel accepts them and the filter works.
  @Test func flagsAreAccepted() {
    let box = Sandbox("scflags")
    defer { finish(box) }
    var spec = box.spec(["sh", "-c", "grep Seccomp: /proc/self/status; mkdir /dev/shm/x"])
    spec.linux?.seccomp = profile(
      """
      {"defaultAction": "SCMP_ACT_ALLOW",
       "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                 "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
       "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]}
      """)
    let out = box.run(spec)
    #expect(out.stdout == "Seccomp:\t2\n", "\(out.stderr)")
    #expect(out.stderr.contains("No space left on device"), "\(out.stderr)")
  }

  /// The built-in default profile runs ordinary programs and refuses
  /// what needs privileges it does not open.
  @Test func theDefaultProfileRunsBusyboxAndRefusesNamespaces() {
    let box = Sandbox("scdefault")
    defer { finish(box) }
    var spec = box.spec([
      "sh", "-c",
      "echo hi; ls / >/dev/null && echo ls; mkdir /dev/shm/d && echo mkdir;"
        + " (sleep 0 &) && echo forked; linux32 true && echo linux32;"
        + " unshare -U true 2>/dev/null || echo no-unshare;"
        + " grep Seccomp: /proc/self/status",
    ])
    spec.linux?.seccomp = DefaultSeccompProfile.profile(
      capabilities: spec.process?.capabilities?.bounding ?? [])
    let out = box.run(spec)
    #expect(
      out.stdout == "hi\nls\nmkdir\nforked\nlinux32\nno-unshare\nSeccomp:\t2\n", "\(out.stderr)")
    #expect(out.status == 0)
  }

  /// `features` reports seccomp with what this kernel and libseccomp take.
  @Test func featuresReportSeccomp() throws {
    let out = sh([TestEnvironment.runtime, "features"])
    let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
    let seccomp = (json?["linux"] as? [String: Any])?["seccomp"] as? [String: Any]
    #expect(seccomp?["enabled"] as? Bool == true)
    let actions = seccomp?["actions"] as? [String] ?? []
    #expect(actions.contains("SCMP_ACT_ERRNO") && actions.contains("SCMP_ACT_KILL_PROCESS"))
    #expect((seccomp?["operators"] as? [String])?.count == 7)
    #expect((seccomp?["archs"] as? [String] ?? []).contains("SCMP_ARCH_X86_64"))
  }

  /// A syscall libseccomp does not know is skipped with a debug line.
  @Test func unknownSyscallNamesAreSkipped() throws {
    let box = Sandbox("scunknown")
    defer { finish(box) }
    var spec = box.spec(["mkdir", "/dev/shm/x"])
    spec.linux?.seccomp = deny(
      ["mkdir", "no_such_syscall_in_any_kernel", "mkdirat"], "SCMP_ACT_ERRNO", errnoRet: 28)
    let log = box.dir + "/log"
    let out = box.runtime([
      "--debug", "--log", log, "run", "--bundle", box.bundle(spec), "c",
    ])
    #expect(out.stderr.contains("No space left on device"), "\(out.stderr)")
    let text = try String(contentsOfFile: log, encoding: .utf8)
    #expect(text.contains("skipping unknown syscall"), "\(text)")
    #expect(text.contains("no_such_syscall_in_any_kernel"), "\(text)")
  }

  /// Unknown actions, operators and architectures fail create with one
  /// clear line, and leave nothing behind (not even a cache entry).
  @Test(arguments: [
    (
      #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_MAYBE"}]}"#,
      "unknown seccomp action \"SCMP_ACT_MAYBE\" in linux.seccomp.syscalls[0].action"
    ),
    (
      #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SOON"}]}]}"#,
      "unknown seccomp operator \"SCMP_CMP_SOON\""
    ),
    (
      #"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PDP11"]}"#,
      "unknown seccomp architecture \"SCMP_ARCH_PDP11\""
    ),
  ])
  func badProfilesAreClearErrorsThatLeaveNothing(json: String, text: String) {
    let box = Sandbox("scbad")
    defer { box.finish() }
    var spec = box.spec(["true"])
    spec.linux?.seccomp = profile(json)
    let out = box.runtime(["create", "--bundle", box.bundle(spec), "c"])
    #expect(out.status != 0)
    #expect(out.stderr.contains(text), "\(out.stderr)")
    #expect(out.stderr.split(separator: "\n").count == 1, "\(out.stderr)")
    #expect(!FileManager.default.fileExists(atPath: cacheDirectory(box)))
  }

  /// The first create compiles and caches; the second reads the cache
  /// (debug line, files untouched). Swapping in another profile's program
  /// shows the cached bytes are what gets loaded.
  @Test func theCompiledFilterIsCachedAndReused() throws {
    let box = Sandbox("sccache")
    defer { finish(box) }
    var spec = box.spec(["mkdir", "/dev/shm/x"])
    spec.linux?.seccomp = deny(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO")
    let bundle = box.bundle(spec)
    let log = box.dir + "/log"
    #expect(box.runtime(["run", "--bundle", bundle, "c1"]).stderr.contains("not permitted"))

    let files = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory(box)).sorted()
    #expect(
      files.count == 2 && files[0].hasSuffix(".bpf") && files[1].hasSuffix(".key"), "\(files)")
    let bpf = cacheDirectory(box) + "/" + files[0]
    let key = try String(contentsOfFile: cacheDirectory(box) + "/" + files[1], encoding: .utf8)
    #expect(key.contains("SCMP_ACT_ALLOW") && key.contains("mkdirat"), "\(key)")
    let before = try FileManager.default.attributesOfItem(atPath: bpf)[.modificationDate] as? Date

    let second = box.runtime(["--debug", "--log", log, "run", "--bundle", bundle, "c2"])
    #expect(second.stderr.contains("not permitted"), "\(second.stderr)")
    #expect(try String(contentsOfFile: log, encoding: .utf8).contains("using the cached filter"))
    let after = try FileManager.default.attributesOfItem(atPath: bpf)[.modificationDate] as? Date
    #expect(before != nil && before == after)

    // Another profile (ENOSPC) compiles to another entry; its program put
    // in place of the first shows up in the first profile's container.
    var other = spec
    other.linux?.seccomp = deny(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", errnoRet: 28)
    #expect(box.run(other, id: "c3").stderr.contains("No space left on device"))
    let otherBPF = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory(box))
      .filter { $0.hasSuffix(".bpf") && $0 != files[0] }
    try #require(otherBPF.count == 1)
    try FileManager.default.removeItem(atPath: bpf)
    try FileManager.default.copyItem(atPath: cacheDirectory(box) + "/" + otherBPF[0], toPath: bpf)
    let swapped = box.runtime(["run", "--bundle", bundle, "c4"])
    #expect(swapped.stderr.contains("No space left on device"), "\(swapped.stderr)")
  }

  /// exec'd processes get the container's filter too.
  @Test func execAppliesTheContainersFilter() {
    let box = Sandbox("scexec")
    defer { finish(box) }
    var spec = box.spec(["sleep", "60"])
    spec.linux?.seccomp = deny(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", errnoRet: 28)
    #expect(box.run(spec, extra: ["-d"]).status == 0)
    let out = box.runtime(["exec", "c", "mkdir", "/dev/shm/x"])
    #expect(out.status == 1)
    #expect(out.stderr.contains("No space left on device"), "\(out.stderr)")
    box.runtime(["delete", "--force", "c"])
  }

  /// Without no_new_privs and without CAP_SYS_ADMIN the filter must load
  /// before the capabilities drop; with CAP_SYS_ADMIN it loads at execve.
  @Test(arguments: [false, true])
  func withoutNoNewPrivileges(keepSysAdmin: Bool) {
    let box = Sandbox("scnnp")
    defer { finish(box) }
    var spec = box.spec(["sh", "-c", "grep NoNewPrivs /proc/self/status; mkdir /dev/shm/x"])
    spec.process?.noNewPrivileges = false
    if keepSysAdmin {
      for keyPath in [\Spec.Capabilities.bounding, \.effective, \.permitted] {
        spec.process?.capabilities?[keyPath: keyPath]?.append("CAP_SYS_ADMIN")
      }
    }
    spec.linux?.seccomp = deny(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", errnoRet: 28)
    let out = box.run(spec)
    #expect(out.stdout.contains("NoNewPrivs:\t0"), "\(out.stdout) \(out.stderr)")
    #expect(out.stderr.contains("No space left on device"), "\(out.stderr)")
  }

  /// A seccomp agent (python) listening on listenerPath gets the listener
  /// fd with the container's state, and answers the notified mkdir with
  /// ENOSPC.
  /// A seccomp agent in python on `box.dir/agent.sock`: accepts
  /// `connections` runtimes, saves each message as one line of
  /// `box.dir/received`, then answers one notification on the last listener
  /// fd with ENOSPC.
  func startAgent(_ box: Sandbox, connections: Int) throws -> Process {
    let agent = """
      import fcntl, socket, struct, sys
      srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      srv.bind(sys.argv[1]); srv.listen(4)
      open(sys.argv[2] + ".ready", "w").close()
      for _ in range(int(sys.argv[3])):
          conn, _ = srv.accept()
          msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
          open(sys.argv[2], "a").write(msg.decode() + "\\n")
      notif = bytearray(80)  # struct seccomp_notif, zeroed
      fcntl.ioctl(fds[0], 0xc0502100, notif, True)  # SECCOMP_IOCTL_NOTIF_RECV
      ident = struct.unpack_from("=Q", notif)[0]
      resp = bytearray(struct.pack("=QqiI", ident, 0, -28, 0))  # error = -ENOSPC
      fcntl.ioctl(fds[0], 0xc0182101, resp, True)  # SECCOMP_IOCTL_NOTIF_SEND
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", "-c", agent, box.dir + "/agent.sock", box.dir + "/received", "\(connections)",
    ]
    try process.run()
    for _ in 0..<100 where !FileManager.default.fileExists(atPath: box.dir + "/received.ready") {
      usleep(20_000)
    }
    return process
  }

  func agentMessages(_ box: Sandbox) throws -> [[String: Any]] {
    try String(contentsOfFile: box.dir + "/received", encoding: .utf8)
      .split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
      }
  }

  func notifyProfile(_ box: Sandbox) -> Spec.Seccomp {
    profile(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "\(box.dir)/agent.sock",
       "listenerMetadata": "hello-agent",
       "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
      """)
  }

  /// The agent gets the listener fd with the container's state and answers
  /// the notified mkdir. Without no_new_privs (and so without CAP_SYS_ADMIN)
  /// the filter and its listener come before the capability drop; with it,
  /// before `ready`.
  @Test(arguments: [true, false])
  func notifyHandsTheListenerToTheAgent(noNewPrivileges: Bool) throws {
    try #require(TestEnvironment.hasCommand("python3"), "needs python3 for the agent")
    let box = Sandbox("scnotify")
    defer { finish(box) }
    let agent = try startAgent(box, connections: 1)
    defer { if agent.isRunning { agent.terminate() } }
    var spec = box.spec(["mkdir", "/dev/shm/x"])
    spec.process?.noNewPrivileges = noNewPrivileges
    spec.linux?.seccomp = notifyProfile(box)
    let out = box.run(spec)
    #expect(out.status == 1)
    #expect(out.stderr.contains("No space left on device"), "\(out.stderr)")
    agent.waitUntilExit()
    let message = try #require(try agentMessages(box).first)
    #expect(message["fds"] as? [String] == ["seccompFd"])
    #expect(message["metadata"] as? String == "hello-agent")
    #expect((message["pid"] as? Int ?? 0) > 1)
    let state = message["state"] as? [String: Any]
    #expect(state?["id"] as? String == "c")
    #expect(state?["status"] as? String == "creating")
  }

  /// exec'd processes get their own listener, sent to the agent too.
  @Test func notifyForAnExecProcess() throws {
    try #require(TestEnvironment.hasCommand("python3"), "needs python3 for the agent")
    let box = Sandbox("scnotifyexec")
    defer { finish(box) }
    let agent = try startAgent(box, connections: 2)
    defer { if agent.isRunning { agent.terminate() } }
    var spec = box.spec(["sleep", "60"])
    spec.linux?.seccomp = notifyProfile(box)
    #expect(box.run(spec, extra: ["-d"]).status == 0)
    let out = box.runtime(["exec", "c", "mkdir", "/dev/shm/x"])
    #expect(out.status == 1)
    #expect(out.stderr.contains("No space left on device"), "\(out.stderr)")
    agent.waitUntilExit()
    let messages = try agentMessages(box)
    #expect(messages.count == 2)
    let states = messages.map { ($0["state"] as? [String: Any])?["status"] as? String }
    #expect(states == ["creating", "running"])
    #expect(messages[0]["pid"] as? Int != messages[1]["pid"] as? Int)
    box.runtime(["delete", "--force", "c"])
  }

  /// With no agent listening, create fails clearly and leaves nothing.
  @Test func notifyWithoutAnAgentFailsCreate() {
    let box = Sandbox("scnoagent")
    defer { finish(box) }
    var spec = box.spec(["true"])
    spec.linux?.seccomp = profile(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "\(box.dir)/nobody.sock",
       "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
      """)
    let out = box.runtime(["create", "--bundle", box.bundle(spec), "c"])
    #expect(out.status != 0)
    #expect(out.stderr.contains("cannot connect to the seccomp agent"), "\(out.stderr)")
  }
}
