import BerthTestSupport
import Foundation
import Testing

/// The service's images, build, system and network endpoints, driven by
/// the docker CLI, docker-py, docker-compose and curl.
@Suite(
  "berth system service: images, build, events, networks, compose",
  .enabled(
    if: EngineEnvironment.ready
      && FileManager.default.isExecutableFile(atPath: "/usr/local/bin/docker"),
    "needs root, the fixtures and the docker CLI at /usr/local/bin/docker"))
struct ServiceImageTests {
  typealias Service = ServiceTests.Service

  /// A raw HTTP request on the service's socket: status line and body.
  static func curl(_ service: Service, _ args: [String]) -> Output {
    sh(["curl", "-s", "-w", "\n%{http_code}", "--unix-socket", service.socket] + args)
  }

  @Test func dockerTagsSavesLoadsRemovesAndPrunesImages() {
    let box = EngineSandbox("svcimg")
    let service = Service(box)
    defer { service.finish() }
    #expect(service.docker(["tag", "busybox", "localhost/mine:1"]).status == 0)
    // The docker CLI sorts rows by creation time, unstably for one image's names.
    #expect(
      service.docker(["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout
        .split(separator: "\n").sorted() == ["busybox:latest", "localhost/mine:1"])
    #expect(
      service.docker(["images", "--filter", "reference=localhost/mine", "-q"]).stdout.count == 13)
    let history = service.docker(["history", "--no-trunc", "--format", "{{.ID}}", "busybox"])
    #expect(history.stdout.hasPrefix("sha256:"), "\(history.combined)")
    let archive = box.dir + "/saved.tar"
    #expect(service.docker(["save", "-o", archive, "localhost/mine:1"]).status == 0)
    // A docker-archive that podman's tools read too.
    let listed = sh(["tar", "-tf", archive]).stdout
    #expect(listed.contains("manifest.json"), "\(listed)")
    #expect(service.docker(["rmi", "localhost/mine:1"]).stdout == "Untagged: localhost/mine:1\n")
    let loaded = service.docker(["load", "-i", archive])
    #expect(loaded.stdout.contains("Loaded image: localhost/mine:1"), "\(loaded.combined)")
    // An image a container uses is not deleted.
    #expect(service.docker(["create", "--name", "user", "localhost/mine:1"]).status == 0)
    #expect(service.docker(["rmi", "busybox"]).status == 0, "a second name can go")
    let inUse = service.docker(["rmi", "localhost/mine:1"])
    #expect(inUse.status != 0)
    #expect(inUse.stderr.contains("used by a container"), "\(inUse.stderr)")
    #expect(service.docker(["rm", "user"]).status == 0)
    let missing = service.docker(["rmi", "nope:1"])
    #expect(missing.stderr.contains("No such image: nope:1"), "\(missing.stderr)")
    let search = service.docker(["search", "busybox"])
    #expect(search.status != 0)
    #expect(search.stderr.contains("not supported"), "\(search.stderr)")
    let pruned = service.docker(["image", "prune", "-a", "-f"])
    #expect(pruned.stdout.contains("deleted: sha256:"), "\(pruned.combined)")
    #expect(service.docker(["images", "-q"]).stdout.isEmpty)
  }

  @Test func aTarBombOrEscapingArchiveIsRefusedAndChangesNothing() throws {
    let box = EngineSandbox("svcbomb")
    let service = Service(box)
    defer { service.finish() }
    // An archive whose entries climb out of the extraction directory.
    let staging = box.dir + "/staging"
    try FileManager.default.createDirectory(
      atPath: staging + "/a", withIntermediateDirectories: true)
    try "owned".write(toFile: staging + "/escaped-by-berth", atomically: true, encoding: .utf8)
    let bomb = box.dir + "/bomb.tar"
    sh([
      "tar", "-C", staging + "/a", "-cf", bomb, "--transform", "s|^|../../../../../tmp/|",
      "../escaped-by-berth",
    ])
    let before = service.docker(["images", "-q"]).stdout
    let load = Self.curl(
      service, ["-X", "POST", "--data-binary", "@" + bomb, "http://d/images/load"])
    #expect(!load.stdout.hasSuffix("\n200"), "\(load.stdout)")
    let build = Self.curl(
      service,
      [
        "-X", "POST", "-H", "Content-Type: application/x-tar", "--data-binary", "@" + bomb,
        "http://d/build?t=bomb",
      ])
    #expect(!FileManager.default.fileExists(atPath: "/tmp/escaped-by-berth"))
    #expect(!build.stdout.contains("Successfully built"), "\(build.stdout)")
    #expect(service.docker(["images", "-q"]).stdout == before)
    // Bodies over the limit are refused before they are read whole.
    let big = box.dir + "/big.json"
    try Data(repeating: 0x20, count: 17 << 20).write(to: URL(fileURLWithPath: big))
    let tooLarge = Self.curl(
      service,
      [
        "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + big,
        "http://d/containers/create",
      ])
    #expect(tooLarge.stdout.hasSuffix("\n413"), "\(tooLarge.stdout)")
    #expect(tooLarge.stdout.contains("request body too large"))
    // Malformed JSON and a field of the wrong type: 400, nothing created.
    for body in ["{bad", #"{"Image": 5}"#, #"{"Image": "busybox", "HostConfig": {"Memory": "x"}}"#]
    {
      let bad = Self.curl(
        service,
        [
          "-X", "POST", "-H", "Content-Type: application/json", "-d", body,
          "http://d/containers/create",
        ])
      #expect(bad.stdout.hasSuffix("\n400"), "\(body): \(bad.stdout)")
      #expect(bad.stdout.contains(#""message""#))
    }
    #expect(service.docker(["ps", "-a", "-q"]).stdout.isEmpty)
    // Inputs that once trapped the whole service: a 400 each, and it serves on.
    for path in [
      "/containers/json?filters=%7B%22label%22%3A%5B%22%22%5D%7D",  // {"label":[""]}
      "/events?since=nan", "/events?until=inf",
      "/containers/prune?filters=%7B%22until%22%3A%5B%221e300%22%5D%7D",
    ] {
      let method = path.hasPrefix("/containers/prune") ? "POST" : "GET"
      let answered = Self.curl(service, ["-X", method, "http://d" + path])
      #expect(
        answered.stdout.hasSuffix("\n400") || answered.stdout.hasSuffix("\n200"),
        "\(path): \(answered.stdout)")
    }
    for body in [
      #"{"Image": "busybox", "HostConfig": {"SecurityOpt": [""]}}"#,
      #"{"Image": "busybox", "HostConfig": {"NetworkMode": ":"}}"#,
    ] {
      let bad = Self.curl(
        service,
        [
          "-X", "POST", "-H", "Content-Type: application/json", "-d", body,
          "http://d/containers/create",
        ])
      #expect(bad.stdout.hasSuffix("\n400"), "\(body): \(bad.stdout)")
    }
    #expect(service.docker(["version"]).status == 0, "the service still answers")
    #expect(service.docker(["ps", "-a", "-q"]).stdout.isEmpty)
  }

  @Test func dockerBuildsThroughTheService() throws {
    let box = EngineSandbox("svcbuild")
    let service = Service(box)
    defer { service.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "Dockerfile": """
        FROM busybox
        ARG GREETING=hi
        COPY a.txt /a.txt
        RUN echo "$GREETING from $(cat /a.txt)" | tee /greeting
        LABEL stage=test
        CMD ["cat", "/greeting"]
        """,
        "a.txt": "context\n",
        "fails/Dockerfile": "FROM busybox\nRUN echo doomed; exit 7\n",
      ])
    func build(_ args: [String]) -> Output {
      sh(
        [
          "env", "DOCKER_HOST=unix://\(service.socket)", "DOCKER_BUILDKIT=0",
          "/usr/local/bin/docker", "build", "--network", "none",
        ] + args)
    }
    let built = build(["--build-arg", "GREETING=hello", "-t", "greeter:1", context])
    #expect(built.status == 0, "\(built.combined)")
    #expect(built.stdout.contains("Successfully built"), "\(built.stdout)")
    // A RUN's output reaches the client, not the service's own stdout.
    #expect(built.stdout.contains("hello from context\n"), "\(built.stdout)")
    let log = (try? String(contentsOfFile: box.dir + "/service.log", encoding: .utf8)) ?? ""
    #expect(!log.contains("hello from context"), "\(log)")
    let ran = service.docker(["run", "--rm", "--network", "none", "greeter:1"])
    #expect(ran.stdout == "hello from context\n", "\(ran.combined)")
    #expect(
      service.docker(["inspect", "--format", "{{.Config.Labels.stage}}", "greeter:1"]).stdout
        == "test\n")
    // Unchanged inputs: the cache answers, with the same id.
    let again = build(["-q", "--build-arg", "GREETING=hello", context])
    let id = service.docker(["inspect", "--format", "{{.Id}}", "greeter:1"]).stdout
    #expect(again.stdout == id, "\(again.combined)")
    let failed = build(["-f", context + "/fails/Dockerfile", context])
    #expect(failed.status != 0)
    #expect(failed.combined.contains("doomed"), "\(failed.combined)")
    #expect(failed.combined.contains("7"), "\(failed.combined)")
    // A Dockerfile named outside the context, or a symlink to one, is not
    // read: the name is resolved beneath the unpacked context.
    try FileManager.default.createSymbolicLink(
      atPath: context + "/Linked", withDestinationPath: "/etc/hostname")
    let tar = box.dir + "/context.tar"
    sh(["tar", "-C", context, "-cf", tar, "."])
    for (name, message) in [
      ("../../../../etc/hostname", "Cannot locate specified Dockerfile"),
      ("Linked", "leads outside the build context"),
    ] {
      let refused = Self.curl(
        service,
        [
          "-X", "POST", "-H", "Content-Type: application/x-tar", "--data-binary", "@" + tar,
          "http://d/build?dockerfile=\(name)",
        ])
      #expect(refused.stdout.contains(message), "\(refused.stdout)")
      #expect(refused.stdout.hasSuffix("\n403") || refused.stdout.hasSuffix("\n404"))
    }
    let pruned = service.docker(["builder", "prune", "-f"])
    #expect(pruned.status == 0, "\(pruned.combined)")
  }

  @Test func aBuildWhoseClientGoesAwayIsCancelled() throws {
    let box = EngineSandbox("svcbuildgone")
    let service = Service(box)
    defer { service.finish() }
    let context = makeContext(
      box, "slow", files: ["Dockerfile": "FROM busybox\nRUN echo started; sleep 300\n"])
    let tar = box.dir + "/slow.tar"
    sh(["tar", "-C", context, "-cf", tar, "."])
    // The client waits until the step runs, then hangs up.
    let client = Self.curl(
      service,
      [
        "-N", "--max-time", "4", "-X", "POST", "-H", "Content-Type: application/x-tar",
        "--data-binary", "@" + tar, "http://d/build?networkmode=none",
      ])
    #expect(client.stdout.contains("started"), "\(client.stdout)")
    // The step's container goes with it, and no image is made.
    #expect(box.eventually(15) { box.monitorPids().isEmpty }, "\(box.monitorPids())")
    #expect(service.docker(["images", "-q"]).stdout.split(separator: "\n").count == 1)
  }

  @Test(.enabled(if: EngineEnvironment.hasCommand("docker-registry"), "needs docker-registry"))
  func dockerLogsInAndPushesThroughTheService() throws {
    let box = EngineSandbox("svcpush")
    let service = Service(box)
    let port = 15002
    let registryPid = try box.startRegistry(port: port)
    defer {
      kill(registryPid, SIGKILL)
      service.finish()
    }
    let config = box.dir + "/docker-config"
    func docker(_ args: [String]) -> Output { service.docker(args, config: config) }
    let name = "127.0.0.1:\(port)/pushed/box:1"
    #expect(docker(["tag", "busybox", name]).status == 0)
    #expect(box.eventually { box.inNetwork(["ss", "-ltn"]).stdout.contains(":\(port)") })
    let pushed = docker(["push", name])
    #expect(pushed.status == 0, "\(pushed.combined)")
    #expect(pushed.stdout.contains("1: digest: sha256:"), "\(pushed.stdout)")
    let inspected = box.inNetwork([
      "skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://" + name,
    ])
    #expect(inspected.stdout.hasPrefix("sha256:"), "\(inspected.combined)")
    #expect(pushed.stdout.contains(inspected.stdout.trimmingCharacters(in: .newlines)))
    // Round trip: removed here, pulled back.
    #expect(docker(["rmi", name]).status == 0)
    #expect(docker(["pull", name]).status == 0)
    #expect(docker(["run", "--rm", "--network", "none", name, "true"]).status == 0)
  }

  @Test(
    .enabled(
      if: EngineEnvironment.hasCommand("docker-registry")
        && EngineEnvironment.hasCommand("htpasswd"),
      "needs docker-registry and htpasswd"))
  func dockerLoginChecksCredentialsThroughTheService() throws {
    let box = EngineSandbox("svcauth")
    let service = Service(box)
    let port = 15003
    let auth = box.dir + "/auth"
    try FileManager.default.createDirectory(atPath: auth, withIntermediateDirectories: true)
    sh(["htpasswd", "-Bbc", auth + "/htpasswd", "alice", "s3cret"])
    let registryPid = try box.startRegistry(
      port: port, auth: "  htpasswd:\n    realm: berth-test\n    path: \(auth)/htpasswd\n")
    defer {
      kill(registryPid, SIGKILL)
      service.finish()
    }
    let config = box.dir + "/docker-config"
    func docker(_ args: [String]) -> Output { service.docker(args, config: config) }
    #expect(box.eventually { box.inNetwork(["ss", "-ltn"]).stdout.contains(":\(port)") })
    let wrong = docker(["login", "-u", "alice", "-p", "wrong", "127.0.0.1:\(port)"])
    #expect(wrong.status != 0, "\(wrong.combined)")
    let right = docker(["login", "-u", "alice", "-p", "s3cret", "127.0.0.1:\(port)"])
    #expect(right.stdout.contains("Login Succeeded"), "\(right.combined)")
    // The CLI now sends the stored credentials with the push.
    let name = "127.0.0.1:\(port)/private/box:1"
    #expect(docker(["tag", "busybox", name]).status == 0)
    let pushed = docker(["push", name])
    #expect(pushed.status == 0, "\(pushed.combined)")
  }

  @Test(
    .enabled(
      if: EngineEnvironment.hasDockerPy, "needs the Python docker package"))
  func eventsDiskUsageFiltersAndNetworkConnect() {
    let box = EngineSandbox("svcevents")
    let service = Service(box)
    defer { service.finish() }
    let script = """
      import docker, time
      c = docker.DockerClient(base_url="unix://\(service.socket)")
      t0 = time.time()
      ct = c.containers.run("busybox", ["true"], name="evented", network_mode="none",
                            labels={"team": "a"}, detach=True)
      ct.wait()
      ct.remove()
      t1 = time.time() + 1
      actions = [e["Action"] for e in c.events(since=t0, until=t1, decode=True,
                                               filters={"type": "container"})]
      print("events", " ".join(a for a in actions if a in ("create", "start", "die", "destroy")))
      names = {e["Actor"]["Attributes"]["name"] for e in c.events(since=t0, until=t1, decode=True)}
      print("names", sorted(names))
      """
    let ran = sh(["python3", "-"], input: script)
    // Docker's words: `die` and `destroy` (podman's `died` and `remove`).
    #expect(ran.stdout.contains("events create start die destroy\n"), "\(ran.combined)")
    #expect(ran.stdout.contains("names ['evented']\n"), "\(ran.combined)")
    // Label and status filters on the list.
    #expect(
      service.docker([
        "run", "-d", "--name", "labelled", "--label", "tier=web", "--network", "none", "busybox",
        "sleep", "60",
      ]).status == 0)
    #expect(service.docker(["create", "--name", "plain", "busybox"]).status == 0)
    #expect(
      service.docker(["ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}}"]).stdout
        == "labelled\n")
    #expect(
      service.docker(["ps", "-a", "--filter", "status=created", "--format", "{{.Names}}"]).stdout
        == "plain\n")
    let df = service.docker(["system", "df", "--format", "{{.Type}} {{.TotalCount}}"])
    #expect(df.stdout.contains("Images 1\nContainers 2\n"), "\(df.combined)")
    // Connect and disconnect a running container.
    #expect(service.docker(["network", "create", "back"]).status == 0)
    #expect(service.docker(["network", "create", "front"]).status == 0)
    #expect(
      service.docker([
        "run", "-d", "--name", "multi", "--network", "back", "busybox", "sleep", "60",
      ]).status == 0)
    let connected = service.docker(["network", "connect", "--alias", "api", "front", "multi"])
    #expect(connected.status == 0, "\(connected.combined)")
    #expect(
      service.docker(["exec", "multi", "ip", "-o", "-4", "addr"]).stdout.contains("eth1"))
    let members = service.docker([
      "network", "inspect", "--format", "{{range .Containers}}{{.Name}}{{end}}", "front",
    ])
    #expect(members.stdout == "multi\n", "\(members.combined)")
    #expect(service.docker(["network", "disconnect", "front", "multi"]).status == 0)
    #expect(
      !service.docker(["exec", "multi", "ip", "-o", "-4", "addr"]).stdout.contains("eth1"))
    // Several networks at create (API 1.44+ sends them all in EndpointsConfig).
    let two = service.docker([
      "run", "-d", "--name", "two", "--network", "back", "--network", "front", "busybox", "sleep",
      "60",
    ])
    #expect(two.status == 0, "\(two.combined)")
    #expect(service.docker(["exec", "two", "ip", "-o", "-4", "addr"]).stdout.contains("eth1"))
    #expect(service.docker(["rm", "-f", "multi", "labelled", "plain", "two"]).status == 0)
    #expect(service.docker(["network", "rm", "back", "front"]).status == 0)
  }

  @Test(.enabled(if: EngineEnvironment.hasCommand("docker-compose"), "needs docker-compose"))
  func composeBringsUpTwoServicesWithANetworkAVolumeAndAPort() throws {
    let box = EngineSandbox("svccompose")
    let service = Service(box)
    defer { service.finish() }
    let project = makeContext(
      box, "project",
      files: [
        "docker-compose.yml": """
        version: "3.8"
        services:
          web:
            image: busybox
            command: ["sh", "-c", "echo served > /www/index.html && httpd -f -p 80 -h /www"]
            volumes: ["data:/www"]
            ports: ["18082:80"]
            networks: [back]
          client:
            image: busybox
            command: ["sh", "-c", "echo client up; sleep 300"]
            environment: [ROUND=one]
            networks: [back]
            depends_on: [web]
        volumes:
          data:
        networks:
          back:
        """
      ])
    func compose(_ args: [String]) -> Output {
      sh(
        ["env", "DOCKER_HOST=unix://\(service.socket)", "docker-compose", "-p", "demo"] + args,
        cwd: project)
    }
    let up = compose(["up", "-d"])
    #expect(up.status == 0, "\(up.combined)")
    let ps = compose(["ps"])
    #expect(ps.stdout.contains("demo_web_1"), "\(ps.combined)")
    #expect(ps.stdout.contains("demo_client_1"), "\(ps.combined)")
    #expect(box.eventually { compose(["logs", "client"]).stdout.contains("client up") })
    // The client reaches the web service by name on the user network.
    let fetched = compose(["exec", "-T", "client", "wget", "-qO-", "http://web/"])
    #expect(fetched.stdout == "served\n", "\(fetched.combined)")
    // The published port answers on the host (the sandbox's namespace).
    let published = box.inNetwork(["busybox", "wget", "-qO-", "http://127.0.0.1:18082/"])
    #expect(published.stdout == "served\n", "\(published.combined)")
    #expect(box.berth(["volume", "ls", "-q"]).stdout == "demo_data\n")
    // A changed service is recreated (compose 1.x reads the image's
    // ContainerConfig for that, and failed on a KeyError without it).
    let file = project + "/docker-compose.yml"
    try String(contentsOfFile: file, encoding: .utf8)
      .replacingOccurrences(of: "ROUND=one", with: "ROUND=two")
      .write(toFile: file, atomically: true, encoding: .utf8)
    let again = compose(["up", "-d"])
    #expect(again.status == 0, "\(again.combined)")
    #expect(again.combined.contains("Recreating"), "\(again.combined)")
    let round = compose(["exec", "-T", "client", "sh", "-c", "echo $ROUND"])
    #expect(round.stdout == "two\n", "\(round.combined)")
    let down = compose(["down", "-v"])
    #expect(down.status == 0, "\(down.combined)")
    #expect(service.docker(["ps", "-a", "-q"]).stdout.isEmpty)
    #expect(box.berth(["volume", "ls", "-q"]).stdout.isEmpty)
    #expect(!box.berth(["network", "ls"]).stdout.contains("demo_back"))
  }
}
