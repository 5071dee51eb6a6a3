import BerthTestSupport
import Foundation
import Testing

/// `berth` as an unprivileged user (scripts/test.sh creates `berth-test`
/// with /etc/subuid and /etc/subgid ranges): the store under XDG paths,
/// the container in the monitor's user namespace with the subordinate ids.
enum TestUser {
  static let ids: (uid: UInt32, gid: UInt32)? = getpwnam("berth-test").map {
    ($0.pointee.pw_uid, $0.pointee.pw_gid)
  }
  static var exists: Bool { ids != nil }
  static var uid: UInt32 { ids?.uid ?? 0 }
  static var gid: UInt32 { ids?.gid ?? 0 }
}

@Suite(
  "berth rootless", .serialized,
  .enabled(
    if: EngineEnvironment.ready && TestUser.exists,
    "needs root (to set up), the fixtures and the berth-test user (scripts/test.sh)"))
struct RootlessEngineTests {
  final class UserBox {
    let dir: String

    init() {
      // Rootless containers get pasta (or slirp4netns), which opens
      // /dev/net/tun as the user: distributions ship it 0666, this machine
      // 0600, so the setup opens it, as the guide says.
      sh(["chmod", "0666", "/dev/net/tun"])
      dir = "/tmp/berth-e2e-rootless-\(UUID().uuidString.prefix(8).lowercased())"
      // Root-owned binaries the user may run but not write (the build tree
      // may sit where the user cannot enter).
      sh(["install", "-d", "-m", "0755", dir, dir + "/bin"])
      for binary in ["berth", "berth-monitor", "berth-nft"] {
        let source = (EngineEnvironment.berth as NSString).deletingLastPathComponent + "/" + binary
        sh(["install", "-m", "0755", source, dir + "/bin/" + binary])
      }
      sh(["install", "-m", "0644", EngineEnvironment.busyboxArchive, dir + "/busybox.tar"])
      sh([
        "install", "-d", "-o", "\(TestUser.uid)", "-g", "\(TestUser.gid)", "-m", "0700",
        dir + "/home",
      ])
      sh([
        "install", "-d", "-o", "\(TestUser.uid)", "-g", "\(TestUser.gid)", "-m", "0700",
        dir + "/run",
      ])
    }

    @discardableResult
    func berth(_ args: [String], input: String? = nil) -> Output {
      sh(
        [
          "setpriv", "--reuid", "\(TestUser.uid)", "--regid", "\(TestUser.gid)", "--init-groups",
          "env", "HOME=\(dir)/home", "XDG_RUNTIME_DIR=\(dir)/run", "XDG_DATA_HOME=\(dir)/home/data",
          dir + "/bin/berth",
        ] + args, input: input)
    }

    func finish() {
      let ids = berth(["ps", "-a", "-q"]).stdout.split(separator: "\n").map(String.init)
      if !ids.isEmpty { berth(["rm", "-f", "-v"] + ids) }
      #expect(berth(["ps", "-a", "-q"]).stdout.isEmpty)
      // A monitor may still be on its way out right after the last command;
      // then no network host, port relay or DNS responder may stay either.
      for pattern in [
        "berth-monitor start(-when-told)? \(dir)/",
        "berth-monitor (nethost|portproxy|dns) .*\(dir)/",
      ] {
        let left = { sh(["pgrep", "-af", pattern]).stdout }
        #expect(eventually(5) { left().isEmpty }, "left running: \(left())")
      }
      berth(["system", "reset", "-f"])
      sh(["rm", "-rf", dir])
    }
  }

  @Test(
    .enabled(
      if: FileManager.default.isExecutableFile(atPath: "/usr/local/bin/docker"),
      "needs the docker CLI at /usr/local/bin/docker"))
  func aRootlessServiceListensInTheUsersRuntimeDirectory() throws {
    let box = UserBox()
    defer { box.finish() }
    #expect(box.berth(["load", "-q", "-i", box.dir + "/busybox.tar"]).status == 0)
    let started = sh([
      "sh", "-c",
      "setpriv --reuid \(TestUser.uid) --regid \(TestUser.gid) --init-groups env HOME=\(box.dir)/home XDG_RUNTIME_DIR=\(box.dir)/run XDG_DATA_HOME=\(box.dir)/home/data \(box.dir)/bin/berth system service --time 0 > \(box.dir)/service.log 2>&1 & echo $!",
    ])
    let pid = Int32(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    defer {
      kill(pid, SIGKILL)
      _ = eventually(5) { kill(pid, 0) != 0 }
    }
    // The default rootless socket: $XDG_RUNTIME_DIR/berth/berth.sock, its
    // directory 0700 and the user's.
    let socket = box.dir + "/run/berth/berth.sock"
    #expect(eventually(10) { FileManager.default.fileExists(atPath: socket) })
    let directory = try FileManager.default.attributesOfItem(atPath: box.dir + "/run/berth")
    #expect((directory[.posixPermissions] as? Int) == 0o700)
    #expect((directory[.ownerAccountID] as? UInt32) == TestUser.uid)
    let ran = sh([
      "env", "DOCKER_HOST=unix://\(socket)", "/usr/local/bin/docker", "run", "--rm", "--network",
      "none", "busybox", "sh", "-c", "echo rootless; id -u",
    ])
    #expect(ran.stdout == "rootless\n0\n", "\(ran.combined)")
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty)
  }

  @Test func aRootlessBuildIsRefusedWithAClearError() {
    let box = UserBox()
    defer { box.finish() }
    sh(["install", "-d", "-o", "\(TestUser.uid)", "-m", "0755", box.dir + "/ctx"])
    sh(["sh", "-c", "echo 'FROM busybox' > \(box.dir)/ctx/Containerfile"])
    let built = box.berth(["build", box.dir + "/ctx"])
    #expect(built.status == 125)
    #expect(built.stderr.contains("needs root"), "\(built.stderr)")
  }

  @Test func aRootlessContainerRunsInTheUsersNamespace() {
    let box = UserBox()
    defer { box.finish() }
    #expect(box.berth(["load", "-q", "-i", box.dir + "/busybox.tar"]).status == 0)
    let out = box.berth([
      "run", "--rm", "busybox", "sh", "-c", "id -u; cat /proc/self/uid_map; ls -ln /bin/busybox",
    ])
    #expect(out.status == 0, "\(out.combined)")
    let lines = out.stdout.split(separator: "\n").map {
      $0.split(separator: " ").joined(separator: " ")
    }
    #expect(lines.first == "0")
    // The user is root in the container; its subordinate ids are the rest.
    #expect(lines.count > 2 && lines[1] == "0 \(TestUser.uid) 1")
    #expect(lines.count > 2 && lines[2].hasPrefix("1 "))
    #expect(box.berth(["run", "--rm", "busybox", "sh", "-c", "exit 3"]).status == 3)
    #expect(box.berth(["run", "--rm", "busybox", "no-such-command"]).status == 127)
  }

  @Test func keepIDRunsAsTheUserAndNomapLeavesTheUserOut() {
    let box = UserBox()
    defer { box.finish() }
    #expect(box.berth(["load", "-q", "-i", box.dir + "/busybox.tar"]).status == 0)
    func columns(_ text: String) -> [String] {
      text.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
    }
    let uid = TestUser.uid
    let keep = box.berth([
      "run", "--rm", "--network", "none", "--userns", "keep-id", "busybox", "sh", "-c",
      "id -u; id -g; cat /proc/self/uid_map; stat -c %u /bin/busybox",
    ])
    #expect(keep.status == 0, "\(keep.combined)")
    // Maps relative to the monitor's namespace (0 = the user), as podman's.
    #expect(
      columns(keep.stdout) == [
        "\(uid)", "\(TestUser.gid)", "0 1 \(uid)", "\(uid) 0 1",
        "\(uid + 1) \(uid + 1) \(65536 - uid)",
        "0",
      ])
    // nomap's root must pass the directories above the store: a clear
    // error while the sandbox's home is 0700, a container once it is 0711.
    let refused = box.berth([
      "run", "--rm", "--network", "none", "--userns", "nomap", "busybox", "true",
    ])
    #expect(refused.status == 125)
    #expect(refused.stderr.contains("chmod o+x"), "\(refused.stderr)")
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty)
    sh(["chmod", "0711", box.dir + "/home", box.dir + "/home/data"])
    let nomap = box.berth([
      "run", "--rm", "--network", "none", "--userns", "nomap", "busybox", "sh", "-c",
      "cat /proc/self/uid_map; touch /made && stat -c %u /made",
    ])
    #expect(nomap.status == 0, "\(nomap.combined)")
    #expect(columns(nomap.stdout) == ["0 1 65536", "0"])
  }

  @Test func aRootlessDetachedContainerIsManagedAsRootsIs() {
    let box = UserBox()
    defer { box.finish() }
    #expect(box.berth(["load", "-q", "-i", box.dir + "/busybox.tar"]).status == 0)
    let run = box.berth([
      "run", "-d", "--name", "bg", "-v", "data:/data", "busybox", "sh", "-c",
      "echo started; echo kept > /data/f; trap 'exit 4' TERM; while true; do sleep 0.1; done",
    ])
    #expect(run.status == 0, "\(run.combined)")
    var logs = ""
    for _ in 0..<100 where logs != "started\n" {
      usleep(50_000)
      logs = box.berth(["logs", "bg"]).stdout
    }
    #expect(logs == "started\n")
    #expect(box.berth(["ps", "--format", "{{.Names}} {{.State}}"]).stdout == "bg running\n")
    #expect(box.berth(["exec", "bg", "cat", "/data/f"]).stdout == "kept\n")
    #expect(box.berth(["stop", "bg"]).status == 0)
    #expect(box.berth(["wait", "bg"]).stdout == "4\n")
    #expect(box.berth(["rm", "bg"]).status == 0)
    #expect(
      box.berth(["run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/f"]).stdout == "kept\n"
    )
  }
  @Test func aRootlessContainersPublishedPortAnswersOnTheHostsLoopback() throws {
    try #require(
      FileManager.default.isExecutableFile(atPath: "/usr/bin/pasta"),
      "needs pasta (Debian's passt; scripts/deps.sh installs it)")
    let box = UserBox()
    defer { box.finish() }
    #expect(box.berth(["load", "-q", "-i", box.dir + "/busybox.tar"]).status == 0)
    let route = box.berth(["run", "--rm", "busybox", "ip", "route"])
    #expect(route.stdout.contains("default via"), "pasta gives a route out: \(route.combined)")
    let web = box.berth([
      "run", "-d", "--name", "web", "-p", "18090:80", "busybox", "httpd", "-f", "-p", "80", "-h",
      "/etc",
    ])
    #expect(web.status == 0, "\(web.combined)")
    let hostname = box.berth(["exec", "web", "hostname"]).stdout
    let fetch = [
      "timeout", "3", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:18090/hostname",
    ]
    #expect(eventually(5) { sh(fetch).stdout == hostname })
    #expect(box.berth(["port", "web"]).stdout == "80/tcp -> 0.0.0.0:18090\n")
    #expect(box.berth(["rm", "-f", "web"]).status == 0)
    // pasta went with the container's namespace: the port is free again.
    #expect(
      eventually(5) { sh(["pgrep", "-f", "pasta.*18090"]).stdout.isEmpty }, "pasta still runs")
  }
  @Test func aRootlessVolumeIsFilledFromTheImageAndChownedWithU() {
    let box = UserBox()
    defer { box.finish() }
    #expect(box.berth(["load", "-q", "-i", box.dir + "/busybox.tar"]).status == 0)
    // Filled once, inside the user's namespace (the image's files belong to
    // subordinate ids the user cannot read from outside).
    let filled = box.berth(["run", "--rm", "-v", "etc:/etc", "busybox", "cat", "/etc/group"])
    #expect(filled.stdout.contains("root:x:0:"), "\(filled.combined)")
    let kept = box.berth([
      "run", "--rm", "-v", "etc:/etc", "busybox", "sh", "-c", "rm /etc/group; ls /etc | wc -l",
    ])
    #expect(kept.status == 0, "\(kept.combined)")
    let again = box.berth(["run", "--rm", "-v", "etc:/etc", "busybox", "ls", "/etc/group"])
    #expect(again.status != 0, "a filled volume is not filled again: \(again.combined)")
    // :U gives the volume to the container's user, as the namespace numbers it.
    let owned = box.berth([
      "run", "--rm", "-u", "1000:1000", "-v", "mine:/data:U", "busybox", "stat", "-c", "%u:%g",
      "/data",
    ])
    #expect(owned.stdout == "1000:1000\n", "\(owned.combined)")
    // As the host numbers it: the user's 1000th subordinate uid (the first
    // berth-test range in /etc/subuid is its namespace's 1, 2, ...).
    let subuid = (try? String(contentsOfFile: "/etc/subuid", encoding: .utf8)) ?? ""
    let start = subuid.split(separator: "\n").first { $0.hasPrefix("berth-test:") }?
      .split(separator: ":").dropFirst().first.flatMap { Int($0) }
    let onHost = sh(["stat", "-c", "%u", box.dir + "/home/data/berth/volumes/mine/_data"]).stdout
    #expect(onHost == "\((start ?? -1) + 999)\n", "\(onHost)")
  }

  @Test func rootlessContainersOnAUserNetworkReachEachOtherByNameAndAlias() throws {
    try #require(
      FileManager.default.isExecutableFile(atPath: "/usr/bin/pasta"),
      "needs pasta (Debian's passt; scripts/deps.sh installs it)")
    let box = UserBox()
    defer { box.finish() }
    func networkHost() -> String {
      sh(["pgrep", "-f", "berth-monitor nethost \(box.dir)/"]).stdout
    }
    #expect(box.berth(["load", "-q", "-i", box.dir + "/busybox.tar"]).status == 0)
    #expect(box.berth(["network", "create", "apps"]).status == 0)
    let web = box.berth([
      "run", "-d", "--name", "web", "--network", "apps", "--network-alias", "www", "busybox",
      "sh", "-c", "echo served-by-web > /tmp/index.html; httpd -f -p 80 -h /tmp",
    ])
    #expect(web.status == 0, "\(web.combined)")
    #expect(!networkHost().isEmpty, "the first container starts the user's network host")
    let fetch = box.berth([
      "run", "--rm", "--network", "apps", "busybox", "sh", "-c",
      "nslookup web >/dev/null && wget -q -O - http://web/ && wget -q -O - http://www/",
    ])
    #expect(fetch.stdout == "served-by-web\nserved-by-web\n", "\(fetch.combined)")
    // The way out is pasta's: the host's loopback answers on the network
    // host's gateway (pasta maps it), through the bridge's masquerade.
    let route = box.berth(["run", "--rm", "--network", "apps", "busybox", "ip", "route"])
    #expect(route.stdout.contains("default via 10."), "\(route.combined)")
    // A published port: the host's socket, relayed into the network host.
    let relayed = box.berth([
      "run", "-d", "--name", "front", "--network", "apps", "-p", "18092:80", "busybox", "sh",
      "-c", "echo served-by-front > /tmp/index.html; httpd -f -p 80 -h /tmp",
    ])
    #expect(relayed.status == 0, "\(relayed.combined)")
    let viaHost = ["timeout", "3", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:18092/"]
    #expect(eventually(5) { sh(viaHost).stdout == "served-by-front\n" })
    #expect(box.berth(["port", "front"]).stdout == "80/tcp -> 0.0.0.0:18092\n")
    // UDP too: an echo server (the host's python3, bound in read-only: busybox
    // has no UDP server) answers a client on the host's loopback.
    let echo = box.berth([
      "run", "-d", "--name", "echo", "--network", "apps", "-p", "18093:7/udp", "-v", "/usr:/usr:ro",
      "-v", "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro", "busybox", "/usr/bin/python3", "-c",
      "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('', 7))\n"
        + "while True:\n    data, peer = s.recvfrom(512)\n    s.sendto(b'echo:' + data, peer)\n",
    ])
    #expect(echo.status == 0, "\(echo.combined)")
    let client = [
      "python3", "-c",
      "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(1)\n"
        + "s.sendto(b'ping', ('127.0.0.1', 18093))\nprint(s.recvfrom(512)[0].decode())\n",
    ]
    #expect(eventually(5) { sh(client).stdout == "echo:ping\n" }, "\(sh(client).combined)")
    // SCTP is not relayed: refused before anything is made.
    let sctp = box.berth(["run", "--rm", "--network", "apps", "-p", "18095:9/sctp", "busybox"])
    #expect(sctp.status == 125)
    #expect(sctp.stderr.contains("TCP and UDP ports"), "\(sctp.stderr)")
    #expect(box.berth(["rm", "-f", "front", "echo"]).status == 0)
    #expect(
      eventually(5) { sh(["pgrep", "-f", "portproxy.*\(box.dir)/"]).stdout.isEmpty },
      "the port relay still runs")
    #expect(box.berth(["rm", "-f", "web"]).status == 0)
    // The last container takes the network host, its pasta and the names with it.
    #expect(eventually(5) { networkHost().isEmpty }, "network host left: \(networkHost())")
    #expect(
      eventually(5) { sh(["pgrep", "-f", "pasta.*nethost-pasta.pid"]).stdout.isEmpty },
      "the network host's pasta still runs")
    #expect(
      eventually(5) { sh(["pgrep", "-f", "monitor dns \(box.dir)/"]).stdout.isEmpty },
      "the network's DNS responder still runs")
    #expect(box.berth(["network", "rm", "apps"]).status == 0)
  }

  @Test func slirp4netnsIsTheFallbackWithPublishedPortsToo() throws {
    try #require(
      FileManager.default.isExecutableFile(atPath: "/usr/bin/slirp4netns"),
      "needs slirp4netns (scripts/deps.sh installs it)")
    let box = UserBox()
    defer { box.finish() }
    #expect(box.berth(["load", "-q", "-i", box.dir + "/busybox.tar"]).status == 0)
    let web = box.berth([
      "run", "-d", "--name", "web", "--network", "slirp4netns", "-p", "18091:80", "busybox",
      "httpd", "-f", "-p", "80", "-h", "/etc",
    ])
    #expect(web.status == 0, "\(web.combined)")
    let address = box.berth(["exec", "web", "ip", "-4", "addr", "show", "tap0"]).stdout
    #expect(address.contains("inet 10.0.2.100/24"), "\(address)")
    let hostname = box.berth(["exec", "web", "hostname"]).stdout
    let fetch = [
      "timeout", "3", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:18091/hostname",
    ]
    #expect(eventually(5) { sh(fetch).stdout == hostname })
    #expect(box.berth(["rm", "-f", "web"]).status == 0)
    #expect(
      eventually(5) { sh(["pgrep", "-f", "slirp4netns.*slirp/"]).stdout.isEmpty },
      "slirp4netns still runs")
  }
}
