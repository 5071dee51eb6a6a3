import BerthTestSupport
import Foundation
import Testing

/// `berth system service` driven by the docker CLI (28, /usr/local/bin/docker).
@Suite(
  "berth system service",
  .enabled(
    if: EngineEnvironment.ready
      && FileManager.default.isExecutableFile(atPath: "/usr/local/bin/docker"),
    "needs root, the fixtures and the docker CLI at /usr/local/bin/docker"))
struct ServiceTests {
  /// A service on a socket in the sandbox, in its network namespace.
  final class Service {
    let box: EngineSandbox
    let socket: String
    let pid: Int32

    /// `environment`: VAR=value words put before the command.
    init(_ box: EngineSandbox, idle: Int = 0, environment: [String] = []) {
      self.box = box
      socket = box.dir + "/api.sock"
      let prefix = environment.isEmpty ? "" : "env " + environment.joined(separator: " ") + " "
      pid = box.background(
        "\(prefix)\(box.command) system service --time \(idle) unix://\(socket)",
        log: box.dir + "/service.log")
      _ = box.eventually { FileManager.default.fileExists(atPath: self.socket) }
    }

    @discardableResult
    func docker(_ args: [String], input: String? = nil) -> Output {
      sh(["env", "DOCKER_HOST=unix://\(socket)", "/usr/local/bin/docker"] + args, input: input)
    }

    /// With the CLI's own config (credentials) in `config`, not ~/.docker.
    @discardableResult
    func docker(_ args: [String], config: String) -> Output {
      sh(
        [
          "env", "DOCKER_HOST=unix://\(socket)", "DOCKER_CONFIG=\(config)", "/usr/local/bin/docker",
        ] + args)
    }

    func stop() {
      kill(pid, SIGKILL)
      _ = box.eventually { kill(self.pid, 0) != 0 }
    }

    /// Stops the service, then checks and removes its sandbox.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
      stop()
      box.finish(sourceLocation: sourceLocation)
    }
  }

  @Test func requestsOneAfterAnotherShareOneOpenEngine() throws {
    let box = EngineSandbox("service-engines")
    let trace = box.dir + "/trace"
    // BERTH_TRACE marks every engine the service opens.
    let service = Service(box, environment: ["BERTH_TRACE=\(trace)"])
    defer { service.finish() }
    for _ in 0..<10 {
      #expect(service.docker(["ps", "-a"]).status == 0)
    }
    let opened = try String(contentsOfFile: trace, encoding: .utf8)
      .split(separator: "\n").filter { $0.hasSuffix("engine: database opened") }
    #expect(opened.count == 1, "\(opened)")
  }

  @Test func aRunWhoseRootfsCannotBeMountedLeavesTheServiceNoSocket() throws {
    let box = EngineSandbox("service-unmountable")
    let service = Service(box)
    defer { service.finish() }
    func sockets() -> Int {
      let fds =
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(service.pid)/fd")) ?? []
      return fds.filter { fd in
        let target = try? FileManager.default.destinationOfSymbolicLink(
          atPath: "/proc/\(service.pid)/fd/\(fd)")
        return target?.hasPrefix("socket:") == true
      }.count
    }
    #expect(service.docker(["run", "--rm", "--network", "none", "busybox", "true"]).status == 0)
    let before = sockets()
    // A layer's directory replaced by a file: each start fails at the mount,
    // after the monitor started ahead was told (with docker's attach socket).
    let files = FileManager.default
    let layer = try #require(try files.contentsOfDirectory(atPath: "\(box.root)/layers").first)
    let diff = "\(box.root)/layers/\(layer)/diff"
    try files.moveItem(atPath: diff, toPath: diff + ".saved")
    files.createFile(atPath: diff, contents: nil)
    // docker run --rm waits for the removal after a failed start: a start
    // that left the record would hang it (bounded here).
    func run(_ args: [String]) -> Output {
      sh(
        ["timeout", "60", "env", "DOCKER_HOST=unix://\(service.socket)", "/usr/local/bin/docker"]
          + ["run", "--rm", "--network", "none"] + args + ["busybox", "true"])
    }
    for _ in 0..<3 {
      let failed = run([])
      #expect(failed.status != 0 && failed.status != 124, "\(failed.combined)")
      #expect(failed.stderr.contains("mount overlay"), "\(failed.combined)")
    }
    // With a user to look up, the mount comes before the monitor: the same.
    let withUser = run(["--user", "1000"])
    #expect(withUser.status != 0 && withUser.status != 124, "\(withUser.combined)")
    #expect(service.docker(["ps", "-aq"]).stdout.isEmpty)
    try files.removeItem(atPath: diff)
    try files.moveItem(atPath: diff + ".saved", toPath: diff)
    #expect(service.docker(["run", "--rm", "--network", "none", "busybox", "true"]).status == 0)
    #expect(box.eventually { sockets() <= before }, "sockets: \(before) before, \(sockets()) after")
  }

  @Test func dockerRunsContainersThroughTheService() {
    let box = EngineSandbox("service")
    let service = Service(box)
    defer { service.finish() }
    let version = service.docker(["version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}"])
    #expect(version.stdout == "1.47 linux\n", "\(version.combined)")
    let hello = service.docker(["run", "--rm", "--network", "none", "busybox", "echo", "hello"])
    #expect(hello.status == 0, "\(hello.combined)")
    #expect(hello.stdout == "hello\n")
    let failing = service.docker([
      "run", "--name", "fails", "--network", "none", "busybox", "sh", "-c",
      "echo out; echo err >&2; exit 3",
    ])
    #expect(failing.status == 3)
    #expect(failing.stdout == "out\n")
    #expect(failing.stderr == "err\n")
    #expect(service.docker(["logs", "fails"]).stdout == "out\n")
    #expect(
      service.docker(["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout
        == "busybox:latest\n")
    let detached = service.docker([
      "run", "-d", "--network", "none", "--name", "bg", "busybox", "sleep", "60",
    ])
    #expect(detached.status == 0, "\(detached.combined)")
    #expect(
      service.docker(["ps", "--format", "{{.Names}} {{.Status}}"]).stdout.hasPrefix("bg Up "))
    #expect(service.docker(["inspect", "--format", "{{.State.Running}}", "bg"]).stdout == "true\n")
    #expect(service.docker(["stop", "-t", "1", "bg"]).status == 0)
    #expect(service.docker(["rm", "bg", "fails"]).status == 0)
    #expect(service.docker(["ps", "-a", "-q"]).stdout.isEmpty)
    // docker's errors and statuses.
    let missing = service.docker(["rm", "no-such"])
    #expect(missing.status != 0)
    #expect(missing.stderr.contains("no-such"), "\(missing.stderr)")
    let conflict = service.docker(["create", "--name", "same", "busybox"])
    #expect(conflict.status == 0)
    let again = service.docker(["create", "--name", "same", "busybox"])
    #expect(again.status != 0)
    #expect(again.stderr.contains("already in use"), "\(again.stderr)")
  }

  @Test func logsFollowExecVolumesAndNetworks() {
    let box = EngineSandbox("service4")
    let service = Service(box)
    defer { service.finish() }
    #expect(
      service.docker([
        "run", "-d", "--network", "none", "--name", "ticks", "busybox", "sh", "-c",
        "for i in 1 2 3; do echo tick $i; sleep 0.3; done",
      ]).status == 0)
    #expect(service.docker(["logs", "-f", "ticks"]).stdout == "tick 1\ntick 2\ntick 3\n")
    #expect(
      service.docker(["run", "-d", "--network", "none", "--name", "ex", "busybox", "sleep", "60"])
        .status == 0)
    let exec = service.docker(["exec", "ex", "sh", "-c", "echo in exec; echo e >&2; exit 4"])
    #expect(exec.status == 4)
    #expect(exec.stdout == "in exec\n")
    #expect(exec.stderr == "e\n")
    #expect(service.docker(["exec", "-i", "ex", "cat"], input: "piped\n").stdout == "piped\n")
    #expect(service.docker(["volume", "create", "vol1"]).status == 0)
    #expect(service.docker(["volume", "ls", "-q"]).stdout == "vol1\n")
    #expect(box.berth(["volume", "ls", "-q"]).stdout == "vol1\n")
    #expect(service.docker(["network", "create", "net1"]).status == 0)
    #expect(box.berth(["network", "exists", "net1"]).status == 0)
    #expect(service.docker(["network", "rm", "net1"]).status == 0)
    #expect(service.docker(["volume", "rm", "vol1"]).status == 0)
    #expect(service.docker(["rm", "-f", "ex", "ticks"]).status == 0)
  }

  @Test(
    .enabled(
      if: EngineEnvironment.hasDockerPy, "needs the Python docker package"))
  func dockerPyCreatesRunsWaitsReadsLogsAndExecs() {
    let box = EngineSandbox("dockerpy")
    let service = Service(box)
    defer { service.finish() }
    let script = """
      import docker
      c = docker.DockerClient(base_url="unix://\(service.socket)")
      out = c.containers.run("busybox", ["sh", "-c", "echo hi; echo err >&2"],
                             network_mode="none", remove=True, stderr=True)
      print("run", out)
      ct = c.containers.create("busybox", ["sh", "-c", "echo created; exit 2"], network_mode="none")
      ct.start()
      print("wait", ct.wait()["StatusCode"])
      print("logs", ct.logs())
      ct2 = c.containers.run("busybox", ["sleep", "30"], detach=True, network_mode="none")
      r = ct2.exec_run(["sh", "-c", "echo via exec"])
      print("exec", r.exit_code, r.output)
      ct2.remove(force=True)
      ct.remove()
      print("left", len(c.containers.list(all=True)))
      """
    let ran = sh(["python3", "-"], input: script)
    #expect(ran.status == 0, "\(ran.combined)")
    #expect(
      ran.stdout
        == "run b'hi\\nerr\\n'\nwait 2\nlogs b'created\\n'\nexec 0 b'via exec\\n'\nleft 0\n",
      "\(ran.combined)")
  }

  @Test(.enabled(if: EngineEnvironment.hasCommand("docker-registry"), "needs docker-registry"))
  func dockerPullsThroughTheServiceFromARegistry() throws {
    let box = EngineSandbox("svcpull")
    let service = Service(box)
    let registryPid = try box.startRegistry(port: 15001)
    defer {
      kill(registryPid, SIGKILL)
      service.finish()
    }
    #expect(
      box.eventually {
        box.berth(["push", "--tls-verify=false", "busybox", "127.0.0.1:15001/mybox:1"]).status == 0
      })
    let pulled = service.docker(["pull", "127.0.0.1:15001/mybox:1"])
    #expect(pulled.status == 0, "\(pulled.combined)")
    #expect(pulled.stdout.contains("Status: Downloaded newer image for 127.0.0.1:15001/mybox:1"))
    let ran = service.docker([
      "run", "--rm", "--network", "none", "127.0.0.1:15001/mybox:1", "echo", "ok",
    ])
    #expect(ran.stdout == "ok\n", "\(ran.combined)")
    let missing = service.docker(["pull", "127.0.0.1:15001/nope:1"])
    #expect(missing.status != 0)
    #expect(missing.stderr.contains("not found"), "\(missing.stderr)")
  }

  @Test func theCLIAndTheAPISeeTheSameContainers() {
    let box = EngineSandbox("service2")
    let service = Service(box)
    defer { service.finish() }
    #expect(
      box.berth(["run", "-d", "--network", "none", "--name", "fromcli", "busybox", "sleep", "60"])
        .status == 0)
    #expect(service.docker(["ps", "--format", "{{.Names}}"]).stdout == "fromcli\n")
    #expect(service.docker(["rm", "-f", "fromcli"]).status == 0)
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty)
    #expect(
      service.docker([
        "run", "-d", "--network", "none", "--name", "fromapi", "busybox", "sleep", "60",
      ]).status == 0)
    #expect(box.berth(["ps", "--format", "{{.Names}}"]).stdout == "fromapi\n")
    // A killed service leaves its containers running under their monitors.
    service.stop()
    #expect(box.berth(["ps", "--format", "{{.Names}} {{.State}}"]).stdout == "fromapi running\n")
    #expect(box.berth(["rm", "-f", "fromapi"]).status == 0)
  }

  @Test func logsTakeSinceUntilTailAndTimestamps() {
    let box = EngineSandbox("svclogs")
    let service = Service(box)
    defer { service.finish() }
    let ran = service.docker([
      "run", "--name", "talker", "--network", "none", "busybox", "sh", "-c",
      "echo one; echo two; sleep 2; echo three",
    ])
    #expect(ran.stdout == "one\ntwo\nthree\n", "\(ran.combined)")
    #expect(service.docker(["logs", "--tail", "1", "talker"]).stdout == "three\n")
    let stamped = service.docker(["logs", "-t", "talker"]).stdout.split(separator: "\n")
    #expect(stamped.count == 3)
    // The third line's time splits the log: until before it, since after.
    let third = String(stamped.last?.split(separator: " ").first ?? "")
    let seconds = Double(
      sh(["date", "-d", third, "+%s.%N"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    #expect(seconds != nil, "\(stamped)")
    if let seconds {
      let at = String(format: "%.3f", seconds - 1)
      #expect(service.docker(["logs", "--until", at, "talker"]).stdout == "one\ntwo\n")
      #expect(service.docker(["logs", "--since", at, "talker"]).stdout == "three\n")
    }
    #expect(service.docker(["rm", "talker"]).status == 0)
  }

  @Test func aServiceKilledMidRequestLeavesItsContainersAndStateIntact() {
    let box = EngineSandbox("svckill")
    var service = Service(box)
    defer { service.finish() }
    // An attached `docker run` and a pending `docker wait` are in flight.
    let log = box.dir + "/client.log"
    _ = box.background(
      "env DOCKER_HOST=unix://\(service.socket) /usr/local/bin/docker run --name mid --network none busybox sh -c 'sleep 4; echo done'",
      log: log)
    #expect(
      box.eventually { box.berth(["ps", "--format", "{{.Names}}"]).stdout == "mid\n" },
      "\(box.berth(["ps", "-a"]).combined) client: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "") service: \((try? String(contentsOfFile: box.dir + "/service.log", encoding: .utf8)) ?? "") \(sh(["ps", "-ef"]).stdout.split(separator: "\n").filter { $0.contains(box.dir) }.joined(separator: "\n"))"
    )
    _ = box.background(
      "env DOCKER_HOST=unix://\(service.socket) /usr/local/bin/docker wait mid", log: "/dev/null")
    usleep(200_000)
    service.stop()
    // The container runs on under its monitor and ends normally.
    let afterKill = box.berth(["ps", "-a", "--format", "{{.Names}} {{.State}}"])
    #expect(afterKill.stdout == "mid running\n", "\(afterKill.combined)")
    #expect(
      box.eventually {
        box.berth(["ps", "-a", "--format", "{{.Names}} {{.State}} {{.ExitCode}}"]).stdout
          == "mid exited 0\n"
      })
    #expect(box.berth(["logs", "mid"]).stdout == "done\n")
    // A new service sees the same state.
    try? FileManager.default.removeItem(atPath: service.socket)
    service = Service(box)
    #expect(
      service.docker(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout.hasPrefix(
        "mid Exited (0)"))
    #expect(service.docker(["rm", "mid"]).status == 0)
  }

  @Test(
    .enabled(
      if: EngineEnvironment.hasDockerPy, "needs the Python docker package"))
  func dockerPyAttachesToARunningContainer() {
    let box = EngineSandbox("svcpyattach")
    let service = Service(box)
    defer { service.finish() }
    let script = """
      import docker
      c = docker.DockerClient(base_url="unix://\(service.socket)")
      ct = c.containers.run("busybox", ["sh", "-c", "sleep 1; echo out; echo err >&2"],
                            detach=True, network_mode="none")
      chunks = b"".join(ct.attach(stdout=True, stderr=True, stream=True))
      print("attached", sorted(chunks.decode().split()))
      print("exit", ct.wait()["StatusCode"])
      ct.remove()
      """
    let ran = sh(["python3", "-"], input: script)
    #expect(ran.stdout == "attached ['err', 'out']\nexit 0\n", "\(ran.combined)")
  }

  @Test func theSocketIsPrivateNothingListensOnTCPAndIdleServicesExit() throws {
    let box = EngineSandbox("service3")
    let service = Service(box, idle: 1)
    defer { service.finish() }
    let attributes = try FileManager.default.attributesOfItem(atPath: service.socket)
    #expect((attributes[.posixPermissions] as? Int) == 0o660)
    let listening = box.inNetwork(["ss", "-ltnp"]).stdout
    #expect(!listening.contains("berth"), "\(listening)")
    #expect(service.docker(["version"]).status == 0)
    #expect(box.eventually(10) { kill(service.pid, 0) != 0 }, "the service exits when idle")
  }
}

@Suite(
  "contrib/systemd units",
  .enabled(
    if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")
      && EngineEnvironment.ready,
    "needs systemd-analyze and the built berth"))
struct SystemdUnitTests {
  @Test func theSocketAndServiceUnitsVerify() throws {
    let dir = "/tmp/berth-units-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for unit in ["berth.socket", "berth.service"] {
      // ExecStart names the installed binary; the built one stands in for it.
      let text = try String(
        contentsOfFile: EngineEnvironment.packageRoot + "/contrib/systemd/" + unit, encoding: .utf8
      ).replacingOccurrences(of: "/usr/local/bin/berth", with: EngineEnvironment.berth)
      try text.write(toFile: dir + "/" + unit, atomically: true, encoding: .utf8)
    }
    let verified = sh(["systemd-analyze", "verify", dir + "/berth.socket", dir + "/berth.service"])
    #expect(verified.status == 0, "\(verified.combined)")
  }

  @Test(
    .enabled(
      if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate"),
      "needs systemd-socket-activate"))
  func aSocketPassedAsSystemdDoesIsServed() {
    let box = EngineSandbox("activate")
    let socket = box.dir + "/activated.sock"
    let pid = box.background(
      "systemd-socket-activate -l \(socket) \(box.command) system service --time 0",
      log: box.dir + "/activate.log")
    defer {
      // systemd-socket-activate execs the service in its own process.
      kill(pid, SIGKILL)
      box.finish()
    }
    #expect(box.eventually { FileManager.default.fileExists(atPath: socket) })
    let version = sh([
      "env", "DOCKER_HOST=unix://\(socket)", "/usr/local/bin/docker", "version", "--format",
      "{{.Server.APIVersion}}",
    ])
    #expect(version.stdout == "1.47\n", "\(version.combined)")
  }
}
