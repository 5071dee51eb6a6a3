import BerthTestSupport
import Foundation
import Testing

/// The service's container endpoints beyond run/stop/rm: top, stats, diff,
/// export, cp (archive), rename, pause, update, prune and `exec -it`,
/// driven by the docker CLI, docker-py and curl.
@Suite(
  "berth system service: container endpoints",
  .enabled(
    if: EngineEnvironment.ready
      && FileManager.default.isExecutableFile(atPath: "/usr/local/bin/docker"),
    "needs root, the fixtures and the docker CLI at /usr/local/bin/docker"))
struct ServiceContainerTests {
  typealias Service = ServiceTests.Service

  /// The HTTP status of a request to the service (curl).
  func status(_ service: Service, _ method: String, _ path: String) -> String {
    // curl reads no body after a HEAD only when asked with --head.
    sh(
      [
        "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20",
        "--unix-socket", service.socket,
      ] + (method == "HEAD" ? ["--head"] : ["-X", method]) + ["http://docker/v1.47" + path]
    ).stdout
  }

  /// A container's memory limit as its cgroup holds it (v1 or v2).
  func cgroupMemoryLimit(_ box: EngineSandbox, _ id: String) -> String {
    sh([
      "sh", "-c",
      "cat /sys/fs/cgroup/memory\(box.cgroupParent)/*\(id)*/memory.limit_in_bytes"
        + " /sys/fs/cgroup\(box.cgroupParent)/*\(id)*/memory.max 2>/dev/null",
    ]).stdout.trimmed
  }

  @Test func topStatsDiffExportRenamePauseUpdateAndPrune() throws {
    let box = EngineSandbox("svcctl")
    let service = Service(box)
    defer { service.finish() }
    let started = service.docker([
      "run", "-d", "--network", "none", "--name", "work", "busybox", "sh", "-c",
      "echo hi > /newfile; rm /etc/group; exec sleep 120",
    ])
    #expect(started.status == 0, "\(started.combined)")
    let id = started.stdout.trimmed
    #expect(box.eventually { service.docker(["diff", "work"]).stdout.contains("/newfile") })

    let top = service.docker(["top", "work"])
    #expect(top.status == 0, "\(top.combined)")
    let header = top.stdout.split(separator: "\n").first.map(String.init) ?? ""
    #expect(
      header.split(separator: " ") == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
      "\(top.stdout)")
    #expect(top.stdout.split(separator: "\n").count == 2, "\(top.stdout)")
    #expect(top.stdout.contains("sleep 120"), "\(top.stdout)")
    let aux = service.docker(["top", "work", "aux"])
    #expect(aux.stdout.contains("%CPU") && aux.stdout.contains("sleep 120"), "\(aux.combined)")

    let stats = service.docker([
      "stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", "work",
    ])
    #expect(stats.status == 0, "\(stats.combined)")
    let fields = stats.stdout.trimmed.split(separator: "|").map(String.init)
    #expect(fields.count == 4, "\(stats.stdout)")
    if fields.count == 4 {
      #expect(fields[0] == "work")
      #expect(fields[1].hasSuffix("%") && Double(fields[1].dropLast()) != nil, "\(fields[1])")
      // Some memory in use, under the host's memory as the limit.
      #expect(!fields[2].hasPrefix("0B"), "\(fields[2])")
      #expect(fields[2].contains("iB /"), "\(fields[2])")
      #expect(fields[3] == "1")
    }

    let diff = service.docker(["diff", "work"])
    #expect(diff.status == 0, "\(diff.combined)")
    for line in ["C /etc", "D /etc/group", "A /newfile"] {
      #expect(diff.stdout.split(separator: "\n").contains(Substring(line)), "\(diff.stdout)")
    }

    let tarPath = box.dir + "/export.tar"
    let exported = service.docker(["export", "-o", tarPath, "work"])
    #expect(exported.status == 0, "\(exported.combined)")
    let names = sh(["tar", "-tf", tarPath]).stdout.split(separator: "\n").map(String.init)
    #expect(names.contains("./newfile") && names.contains("./bin/busybox"), "\(names.prefix(20))")
    #expect(!names.contains("./etc/group"))
    // The mount points, not what /proc and /sys hold.
    #expect(names.contains("./proc/") && !names.contains { $0.hasPrefix("./proc/1/") })
    #expect(!names.contains { $0.hasPrefix("./sys/kernel") })

    #expect(service.docker(["rename", "work", "renamed"]).status == 0)
    #expect(service.docker(["ps", "--format", "{{.Names}}"]).stdout == "renamed\n")
    #expect(box.berth(["ps", "--format", "{{.Names}}"]).stdout == "renamed\n")
    #expect(service.docker(["create", "--name", "idle", "busybox", "true"]).status == 0)
    let clash = service.docker(["rename", "renamed", "idle"])
    #expect(clash.status != 0)
    #expect(clash.stderr.contains("already in use"), "\(clash.stderr)")
    #expect(status(service, "POST", "/containers/renamed/rename?name=idle") == "409")
    #expect(status(service, "POST", "/containers/renamed/rename") == "400")
    #expect(status(service, "POST", "/containers/no-such/rename?name=x") == "404")

    #expect(service.docker(["pause", "renamed"]).status == 0)
    #expect(
      service.docker(["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "renamed"]).stdout
        == "paused true\n")
    #expect(
      service.docker(["ps", "-a", "--format", "{{.Names}}: {{.Status}}"]).stdout.split(
        separator: "\n"
      ).contains { $0.hasPrefix("renamed: Up ") && $0.hasSuffix(" (Paused)") })
    #expect(status(service, "POST", "/containers/renamed/pause") == "409")
    #expect(service.docker(["unpause", "renamed"]).status == 0)
    #expect(
      service.docker(["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "renamed"]).stdout
        == "running false\n")
    #expect(status(service, "POST", "/containers/idle/pause") == "409")
    #expect(status(service, "POST", "/containers/no-such/pause") == "404")

    let updated = service.docker(["update", "--memory", "64m", "--memory-swap", "128m", "renamed"])
    #expect(updated.status == 0, "\(updated.combined)")
    #expect(
      service.docker([
        "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}", "renamed",
      ])
      .stdout == "67108864 134217728\n")
    #expect(cgroupMemoryLimit(box, id) == "67108864")
    let more = service.docker(["update", "--cpus", "0.5", "--pids-limit", "50", "renamed"])
    #expect(more.status == 0, "\(more.combined)")
    #expect(
      service.docker([
        "inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", "renamed",
      ])
      .stdout == "500000000 50\n")
    let restart = service.docker(["update", "--restart", "on-failure:2", "idle"])
    #expect(restart.status == 0, "\(restart.combined)")
    #expect(
      service.docker([
        "inspect", "-f",
        "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
        "idle",
      ]).stdout == "on-failure:2\n")
    let tooSmall = service.docker(["update", "--memory", "64m", "--memory-swap", "32m", "renamed"])
    #expect(tooSmall.status != 0)

    // prune: the stopped ones, narrowed by label; the running one stays.
    #expect(
      service.docker(["create", "--name", "labelled", "--label", "tier=scratch", "busybox", "true"])
        .status == 0)
    let byLabel = service.docker(["container", "prune", "-f", "--filter", "label=tier=scratch"])
    #expect(byLabel.status == 0, "\(byLabel.combined)")
    #expect(
      service.docker(["ps", "-a", "--format", "{{.Names}}"]).stdout.split(separator: "\n").sorted()
        == ["idle", "renamed"])
    #expect(
      service.docker([
        "run", "--network", "none", "--name", "ran", "busybox", "sh", "-c",
        "head -c 300000 /dev/zero > /blob",
      ]).status == 0)
    let pruned = service.docker(["container", "prune", "-f"])
    #expect(pruned.status == 0, "\(pruned.combined)")
    #expect(pruned.stdout.contains("Deleted Containers:"), "\(pruned.stdout)")
    // The 300 kB file written by `ran` counts.
    #expect(!pruned.stdout.contains("Total reclaimed space: 0B"), "\(pruned.stdout)")
    #expect(pruned.stdout.contains("kB\n"), "\(pruned.stdout)")
    #expect(service.docker(["ps", "-a", "--format", "{{.Names}}"]).stdout == "renamed\n")
    #expect(service.docker(["rm", "-f", "renamed"]).status == 0)
  }

  @Test func dockerCpCopiesBothWays() throws {
    let box = EngineSandbox("svccp")
    let service = Service(box)
    defer { service.finish() }
    #expect(
      service.docker(["run", "-d", "--network", "none", "--name", "box", "busybox", "sleep", "120"])
        .status == 0)
    #expect(service.docker(["create", "--name", "stopped", "busybox", "true"]).status == 0)
    let host = box.dir + "/host"
    try FileManager.default.createDirectory(
      atPath: host + "/tree/sub", withIntermediateDirectories: true)
    try "file one\n".write(toFile: host + "/one.txt", atomically: true, encoding: .utf8)
    try "deep\n".write(toFile: host + "/tree/sub/deep.txt", atomically: true, encoding: .utf8)

    // In: a file into a directory, a file under a new name, a directory
    // into a directory and under a new name.
    for target in ["box", "stopped"] {
      #expect(service.docker(["cp", host + "/one.txt", target + ":/tmp/"]).status == 0)
      #expect(service.docker(["cp", host + "/one.txt", target + ":/renamed.txt"]).status == 0)
      let tree = service.docker(["cp", host + "/tree", target + ":/tmp"])
      #expect(tree.status == 0, "\(tree.combined)")
      let named = service.docker(["cp", host + "/tree", target + ":/newdir"])
      #expect(named.status == 0, "\(named.combined)")
    }
    #expect(service.docker(["exec", "box", "cat", "/tmp/one.txt"]).stdout == "file one\n")
    #expect(service.docker(["exec", "box", "cat", "/renamed.txt"]).stdout == "file one\n")
    #expect(service.docker(["exec", "box", "cat", "/tmp/tree/sub/deep.txt"]).stdout == "deep\n")
    #expect(service.docker(["exec", "box", "cat", "/newdir/sub/deep.txt"]).stdout == "deep\n")

    // A stopped container's export mounts its rootfs for the while.
    let stoppedTar = box.dir + "/stopped.tar"
    #expect(service.docker(["export", "-o", stoppedTar, "stopped"]).status == 0)
    let exported = sh(["tar", "-tf", stoppedTar]).stdout.split(separator: "\n")
    #expect(exported.contains("./renamed.txt") && exported.contains("./newdir/sub/deep.txt"))

    // Out: a file, a file under a new name, a directory, from both.
    for source in ["box", "stopped"] {
      let out = box.dir + "/out-" + source
      try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
      #expect(service.docker(["cp", source + ":/renamed.txt", out + "/"]).status == 0)
      #expect(service.docker(["cp", source + ":/tmp/one.txt", out + "/copy.txt"]).status == 0)
      #expect(service.docker(["cp", source + ":/tmp/tree", out + "/tree"]).status == 0)
      #expect(try String(contentsOfFile: out + "/renamed.txt", encoding: .utf8) == "file one\n")
      #expect(try String(contentsOfFile: out + "/copy.txt", encoding: .utf8) == "file one\n")
      #expect(
        try String(contentsOfFile: out + "/tree/sub/deep.txt", encoding: .utf8) == "deep\n")
    }
    let missing = service.docker(["cp", "box:/no/such/file", box.dir + "/x"])
    #expect(missing.status != 0)
    #expect(missing.stderr.contains("Could not find the file /no/such/file"), "\(missing.stderr)")
    #expect(status(service, "HEAD", "/containers/box/archive?path=/no/such") == "404")
    #expect(status(service, "GET", "/containers/box/archive") == "400")
    #expect(status(service, "HEAD", "/containers/nope/archive?path=/") == "404")
    // docker cp's noOverwriteDirNonDir: a file named like a directory is refused.
    let clash = box.dir + "/clash.tar"
    #expect(sh(["tar", "-C", host, "-cf", clash, "one.txt"]).status == 0)
    #expect(service.docker(["exec", "box", "mkdir", "/dir", "/dir/one.txt"]).status == 0)
    func put(_ query: String) -> String {
      sh([
        "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "-X", "PUT",
        "--unix-socket", service.socket, "-H", "Content-Type: application/x-tar",
        "--data-binary", "@" + clash,
        "http://docker/v1.47/containers/box/archive?path=/dir" + query,
      ]).stdout
    }
    #expect(put("&noOverwriteDirNonDir=1") == "400")
    #expect(service.docker(["exec", "box", "test", "-d", "/dir/one.txt"]).status == 0)
    #expect(put("") == "200")
    #expect(service.docker(["exec", "box", "cat", "/dir/one.txt"]).stdout == "file one\n")
    #expect(service.docker(["rm", "-f", "box", "stopped"]).status == 0)
  }

  @Test(.enabled(if: EngineEnvironment.hasCommand("tmux"), "needs tmux"))
  func dockerRunWithATerminalFollowsTheWindowSize() {
    let box = EngineSandbox("svcruntty")
    let service = Service(box)
    func tmux(_ args: [String]) -> Output { sh(["tmux", "-L", "berth-e2e-svcrun"] + args) }
    func screen() -> String { tmux(["capture-pane", "-p", "-t", "run"]).stdout }
    defer {
      _ = tmux(["kill-server"])
      service.finish()
    }
    _ = tmux([
      "new-session", "-d", "-s", "run", "-x", "90", "-y", "25",
      "env DOCKER_HOST=unix://\(service.socket) /usr/local/bin/docker run -it --rm --network none"
        + " busybox sh; echo run-exit-$?; sleep 30",
    ])
    #expect(box.eventually { screen().contains("/ #") }, "\(screen())")
    _ = tmux(["send-keys", "-t", "run", "stty size; echo one-$((2*3))", "Enter"])
    #expect(box.eventually { screen().contains("one-6") }, "\(screen())")
    #expect(screen().contains("25 90"), "\(screen())")
    // The CLI sends the new size through POST /containers/{id}/resize.
    _ = tmux(["resize-window", "-t", "run", "-x", "71", "-y", "19"])
    keepTyping(
      "stty size", until: "19 71", in: box,
      type: { _ = tmux(["send-keys", "-t", "run", $0, "Enter"]) },
      screen: screen)
    _ = tmux(["send-keys", "-t", "run", "stty size; exit 3", "Enter"])
    #expect(box.eventually { screen().contains("run-exit-3") }, "\(screen())")
    #expect(screen().contains("19 71"), "\(screen())")
  }

  /// The API's resize writes one frame on a connection of its own and
  /// hangs up. The monitor reads it before it forwards the container's
  /// output: a write to a client that has gone drops it, and once dropped
  /// the frame it had not read yet with it (the size then stayed as it was).
  @Test func everyResizeReachesABusyTerminal() {
    let box = EngineSandbox("svcresize")
    let service = Service(box)
    defer { service.finish() }
    let started = service.docker([
      "run", "-d", "-t", "--network", "none", "busybox", "sh", "-c",
      "while :; do echo busy; usleep 500; done",
    ])
    #expect(started.status == 0, "\(started.combined)")
    let id = started.stdout.trimmed
    for step in 1...12 {
      let (rows, columns) = (10 + step, 40 + step)
      #expect(status(service, "POST", "/containers/\(id)/resize?h=\(rows)&w=\(columns)") == "200")
      let size = service.docker(["exec", id, "stty", "-F", "/dev/console", "size"])
      #expect(size.stdout.trimmed == "\(rows) \(columns)", "step \(step): \(size.combined)")
    }
    #expect(service.docker(["rm", "-f", id]).status == 0)
  }

  @Test(
    .enabled(if: EngineEnvironment.hasCommand("tmux"), "needs tmux"))
  func dockerExecWithATerminal() {
    let box = EngineSandbox("svcexectty")
    let service = Service(box)
    // Its own tmux server: TerminalTests kill theirs.
    func tmux(_ args: [String]) -> Output { sh(["tmux", "-L", "berth-e2e-svc"] + args) }
    func screen() -> String { tmux(["capture-pane", "-p", "-t", "exec"]).stdout }
    defer {
      _ = tmux(["kill-server"])
      service.finish()
    }
    #expect(
      service.docker(["run", "-d", "--network", "none", "--name", "tty", "busybox", "sleep", "120"])
        .status == 0)
    _ = tmux([
      "new-session", "-d", "-s", "exec", "-x", "100", "-y", "30",
      "env DOCKER_HOST=unix://\(service.socket) /usr/local/bin/docker exec -it tty sh;"
        + " echo exec-exit-$?; sleep 30",
    ])
    #expect(box.eventually { screen().contains("/ #") }, "\(screen())")
    _ = tmux(["send-keys", "-t", "exec", "tty; stty size; echo typed-$((6*7))", "Enter"])
    #expect(box.eventually { screen().contains("typed-42") }, "\(screen())")
    let first = screen()
    #expect(first.contains("/dev/pts/"), "\(first)")
    #expect(first.contains("30 100"), "\(first)")
    _ = tmux(["resize-window", "-t", "exec", "-x", "77", "-y", "22"])
    keepTyping(
      "stty size", until: "22 77", in: box,
      type: { _ = tmux(["send-keys", "-t", "exec", $0, "Enter"]) },
      screen: screen)
    _ = tmux(["send-keys", "-t", "exec", "stty size; exit 7", "Enter"])
    #expect(box.eventually { screen().contains("exec-exit-7") }, "\(screen())")
    #expect(screen().contains("22 77"), "\(screen())")
    // A client that goes away hangs up the process, as a closed terminal would.
    _ = tmux([
      "new-session", "-d", "-s", "hup", "-x", "100", "-y", "30",
      "env DOCKER_HOST=unix://\(service.socket) /usr/local/bin/docker exec -it tty sleep 300",
    ])
    #expect(box.eventually { service.docker(["top", "tty"]).stdout.contains("sleep 300") })
    _ = tmux(["kill-session", "-t", "hup"])
    #expect(
      box.eventually { !service.docker(["top", "tty"]).stdout.contains("sleep 300") },
      "\(service.docker(["top", "tty"]).stdout)")
    #expect(service.docker(["rm", "-f", "tty"]).status == 0)
  }

  @Test(.enabled(if: EngineEnvironment.hasDockerPy, "needs the Python docker package"))
  func dockerPyStatsAndArchivesAndNoEscapeFromTheRootfs() throws {
    let box = EngineSandbox("svcpy")
    let service = Service(box)
    defer { service.finish() }
    let outside = box.dir + "/outside"
    try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
    let script = """
      import docker, io, tarfile, itertools
      c = docker.DockerClient(base_url="unix://\(service.socket)")
      ct = c.containers.run("busybox", ["sh", "-c", "mkdir /data; echo hello > /data/f; exec sleep 120"],
                            detach=True, network_mode="none", name="py")
      import time
      for _ in range(100):
          if ct.exec_run(["test", "-f", "/data/f"]).exit_code == 0: break
          time.sleep(0.1)
      s = ct.stats(stream=False, one_shot=True)
      print("stats", s["name"], s["id"] == ct.id, s["cpu_stats"]["cpu_usage"]["total_usage"] > 0,
            s["cpu_stats"]["online_cpus"] > 0, s["cpu_stats"]["system_cpu_usage"] > 0,
            s["memory_stats"]["usage"] > 0, s["memory_stats"]["limit"] > 0, s["pids_stats"]["current"])
      stream = ct.stats(stream=True, decode=True)
      two = list(itertools.islice(stream, 2))
      print("streamed", len(two), two[1]["precpu_stats"]["cpu_usage"]["total_usage"] > 0,
            two[1]["preread"] == two[0]["read"])
      bits, st = ct.get_archive("/data")
      print("stat", st["name"], st["mode"] == (1 << 31 | 0o755), st["linkTarget"] == "")
      t = tarfile.open(fileobj=io.BytesIO(b"".join(bits)))
      print("get", sorted(t.getnames()), t.extractfile("data/f").read())
      def tar(*entries):
          buf = io.BytesIO()
          with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
              for name, kind, data in entries:
                  info = tarfile.TarInfo(name)
                  if kind == "link":
                      info.type = tarfile.SYMTYPE; info.linkname = data
                      t.addfile(info)
                  else:
                      info.size = len(data); t.addfile(info, io.BytesIO(data))
          return buf.getvalue()
      print("put", ct.put_archive("/data", tar(("new", "file", b"put\\n"))))
      print("read", ct.exec_run(["cat", "/data/new"]).output)
      attempts = {
          "dotdot": tar(("../../../../../../../..\(outside)/dotdot", "file", b"x")),
          "absolute": tar(("\(outside)/absolute", "file", b"x")),
          "symlink": tar(("out", "link", "\(outside)"), ("out/symlink", "file", b"x")),
          "relative": tar(("up", "link", "../../../../../../../..\(outside)"), ("up/relative", "file", b"x")),
      }
      for name, data in attempts.items():
          try:
              ct.put_archive("/data", data)
              print(name, "accepted")
          except docker.errors.APIError as e:
              print(name, "refused", e.status_code)
      try:
          ct.get_archive("/nope")
      except docker.errors.NotFound as e:
          print("missing", e.status_code)
      try:
          ct.put_archive("/data/f", tar(("x", "file", b"x")))
      except docker.errors.APIError as e:
          print("not a directory", e.status_code)
      ct.remove(force=True)
      """
    let ran = sh(["python3", "-"], input: script)
    #expect(ran.status == 0, "\(ran.combined)")
    let lines = ran.stdout.split(separator: "\n").map(String.init)
    #expect(lines.contains("stats /py True True True True True True 1"), "\(ran.combined)")
    #expect(lines.contains("streamed 2 True True"), "\(ran.combined)")
    #expect(lines.contains("stat data True True"), "\(ran.combined)")
    #expect(lines.contains("get ['data', 'data/f'] b'hello\\n'"), "\(ran.combined)")
    #expect(lines.contains("put True"), "\(ran.combined)")
    #expect(lines.contains("read b'put\\n'"), "\(ran.combined)")
    #expect(lines.contains("missing 404"), "\(ran.combined)")
    #expect(lines.contains("not a directory 400"), "\(ran.combined)")
    // Whatever became of each attempt, nothing landed outside the rootfs.
    let escaped = (try? FileManager.default.contentsOfDirectory(atPath: outside)) ?? []
    #expect(escaped.isEmpty, "written outside the container: \(escaped); \(ran.stdout)")
    for name in ["dotdot", "absolute", "symlink", "relative"] {
      #expect(lines.contains { $0.hasPrefix(name + " ") }, "\(ran.combined)")
    }
  }
}
