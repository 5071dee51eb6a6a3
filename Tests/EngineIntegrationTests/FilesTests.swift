import BerthTestSupport
import Foundation
import Testing

@Suite(
  "berth diff, commit, cp, export, import",
  .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct FilesTests {
  @Test func commitMakesAnImageOfTheChangesWhiteoutsIncluded() {
    let box = EngineSandbox("commit")
    defer { box.finish() }
    let made = box.berth([
      "run", "--name", "src", "busybox", "sh", "-c", "echo data > /root/new; rm /etc/group",
    ])
    #expect(made.status == 0, "\(made.combined)")
    #expect(box.berth(["diff", "src"]).stdout == "C /etc\nD /etc/group\nC /root\nA /root/new\n")
    let commit = box.berth([
      "commit", "-c", "CMD [\"cat\", \"/root/new\"]", "-m", "a message", "--author", "me", "src",
      "localhost/made:1",
    ])
    #expect(commit.status == 0, "\(commit.combined)")
    #expect(box.berth(["run", "--rm", "localhost/made:1"]).stdout == "data\n")
    let gone = box.berth(["run", "--rm", "localhost/made:1", "ls", "/etc/group"])
    #expect(gone.status == 1)
    #expect(
      box.berth(["image", "inspect", "--format", "{{.Author}}", "localhost/made:1"]).stdout
        == "me\n")
    // The image is in use: rmi refuses, --force removes the container first.
    let refused = box.berth(["run", "-d", "--name", "user", "localhost/made:1", "sleep", "60"])
    #expect(refused.status == 0)
    #expect(box.berth(["rmi", "localhost/made:1"]).status == 125)
    #expect(box.berth(["rmi", "--force", "localhost/made:1"]).status == 0)
    #expect(box.berth(["ps", "-a", "--format", "{{.Names}}"]).stdout == "src\n")
  }

  @Test func cpCopiesBothWaysAndAsATarStream() throws {
    let box = EngineSandbox("cp")
    defer { box.finish() }
    let host = box.dir + "/host"
    try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
    try "from host\n".write(toFile: host + "/in.txt", atomically: true, encoding: .utf8)
    #expect(
      box.berth(["create", "--name", "c", "busybox", "cat", "/root/in.txt", "/root/renamed"]).status
        == 0)
    #expect(box.berth(["cp", host + "/in.txt", "c:/root/"]).status == 0)
    #expect(box.berth(["cp", host + "/in.txt", "c:/root/renamed"]).status == 0)
    #expect(box.berth(["start", "-a", "c"]).stdout == "from host\nfrom host\n")
    #expect(box.berth(["cp", "c:/etc/passwd", host + "/"]).status == 0)
    #expect(
      (try? String(contentsOfFile: host + "/passwd", encoding: .utf8))?.hasPrefix("root:x:0:0")
        == true)
    #expect(box.berth(["cp", "c:/root", host + "/rootcopy"]).status == 0)
    #expect(FileManager.default.fileExists(atPath: host + "/rootcopy/renamed"))
    let stream = sh(["bash", "-c", "\(box.command) cp c:/root - | tar -t | sort"])
    #expect(stream.stdout == "root/\nroot/in.txt\nroot/renamed\n")
    let upload = sh(["bash", "-c", "tar -C \(host) -cf - in.txt | \(box.command) cp - c:/tmp"])
    #expect(upload.status == 0, "\(upload.combined)")
    #expect(box.berth(["cp", "c:/no/such", host + "/x"]).status == 125)
  }

  @Test func cpResolvesSymlinksInsideTheContainer() throws {
    let box = EngineSandbox("cpsym")
    defer { box.finish() }
    let outside = box.dir + "/outside"
    try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
    // Links that would lead to the host if followed there: to the host's
    // root and to a host directory by its absolute path.
    let setup = box.berth([
      "run", "--name", "c", "busybox", "sh", "-c",
      "ln -s / /escape; ln -s \(outside) /into; mkdir -p \(outside); echo inside > /etc/marker",
    ])
    #expect(setup.status == 0)
    let host = box.dir + "/got"
    try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
    #expect(box.berth(["cp", "c:/escape/etc/marker", host + "/"]).status == 0)
    #expect((try? String(contentsOfFile: host + "/marker", encoding: .utf8)) == "inside\n")
    #expect(box.berth(["cp", "c:/../../../etc/hostname", host + "/h"]).status == 0)
    try "payload\n".write(toFile: host + "/payload", atomically: true, encoding: .utf8)
    #expect(box.berth(["cp", host + "/payload", "c:/into/"]).status == 0)
    // It went to the container's directory of that name, not the host's.
    #expect(!FileManager.default.fileExists(atPath: outside + "/payload"))
    #expect(box.berth(["start", "-a", "c"]).status == 0)
  }

  @Test func exportThenImportRunsTheSameFiles() {
    let box = EngineSandbox("export")
    defer { box.finish() }
    #expect(
      box.berth(["run", "--name", "c", "busybox", "sh", "-c", "echo exported > /root/f"]).status
        == 0)
    let tar = box.dir + "/c.tar"
    #expect(box.berth(["export", "-o", tar, "c"]).status == 0)
    let imported = sh([
      "bash", "-c",
      "cat \(tar) | \(box.command) import -c 'CMD [\"cat\", \"/root/f\"]' - localhost/exported:1",
    ])
    #expect(imported.status == 0, "\(imported.combined)")
    #expect(box.berth(["run", "--rm", "localhost/exported:1"]).stdout == "exported\n")
  }
}

@Suite(
  "berth system and inspection commands",
  .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct SystemCommandTests {
  @Test func topStatsEventsInfoDfAndHealthcheck() {
    let box = EngineSandbox("sys")
    defer { box.finish() }
    let id = box.berth([
      "run", "-d", "--name", "s", "--health-cmd", "true", "busybox", "sleep", "60",
    ]).stdout.trimmed
    #expect(box.berth(["top", "s", "pid,args"]).stdout.contains("sleep 60"))
    #expect(
      box.berth(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"]).stdout == "s 1\n")
    #expect(box.berth(["healthcheck", "run", "s"]).status == 0)
    let events = box.berth([
      "events", "--since", "1h", "--stream=false", "--filter", "event=start", "--format", "json",
    ])
    #expect(events.stdout.contains("\"Status\":\"start\""))
    #expect(events.stdout.contains(id))
    // Image commands are logged too, and a stop as kill, died, stop.
    #expect(box.berth(["tag", "busybox", "localhost/logged:1"]).status == 0)
    #expect(box.berth(["rmi", "localhost/logged:1"]).status == 0)
    #expect(box.berth(["stop", "-t", "1", "s"]).status == 0)
    let logged = box.berth([
      "events", "--since", "1h", "--stream=false", "--format", "{{.Type}} {{.Status}}",
    ]).stdout
    #expect(logged.contains("image tag\nimage untag\n"), "\(logged)")
    #expect(logged.contains("container kill\n"), "\(logged)")
    #expect(logged.contains("container stop\n"), "\(logged)")
    #expect(box.berth(["info", "--format", "{{.Store.ContainerStore}}"]).stdout == "1\n")
    #expect(
      box.berth(["system", "df", "--format", "{{.Type}} {{.Total}}"]).stdout
        == "Images 1\nContainers 1\nLocal Volumes 0\n")
    #expect(box.berth(["version", "--format", "{{.Client.Version}}"]).status == 0)
    #expect(box.berth(["completion", "bash"]).stdout.contains("berth"))
    #expect(box.berth(["rm", "-f", "s"]).status == 0)
    #expect(box.berth(["system", "prune", "--volumes"]).status == 0)
  }
}

@Suite("berth review fixes", .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct ReviewFixTests {
  @Test func helpBeforeTheImageIsTheVerbsAndAfterItTheContainers() {
    let box = EngineSandbox("help")
    defer { box.finish() }
    for verb in [
      ["run"], ["create"], ["container", "exec"], ["run", "-d"], ["run", "-e", "A=1"],
    ] {
      let help = box.berth(verb + ["--help"])
      #expect(help.status == 0, "\(verb)")
      #expect(help.stdout.contains("USAGE: berth "), "\(verb)")
    }
    let passed = box.berth(["run", "--rm", "busybox", "echo", "--help"])
    #expect(passed.stdout == "--help\n")
  }

  @Test func execKeepsTheEnvironmentOffCommandLines() {
    let box = EngineSandbox("secret")
    defer { box.finish() }
    let id = box.berth(["run", "-d", "busybox", "sleep", "60"]).stdout.trimmed
    let out = sh([
      "bash", "-c",
      // The user's own `berth exec -e` line holds it, as any command would; the
      // helper that enters the container must not repeat it.
      "\(box.command) exec -e TOKEN=hunter2-\(id.prefix(6)) \(id) sleep 1 & sleep 0.5; pids=$(pgrep -f '^berth-monitor exec \(box.runRoot)/'); echo $pids | wc -w; for p in $pids; do tr '\\0' ' ' < /proc/$p/cmdline; echo; done | grep -c hunter2; wait",
    ])
    // This sandbox's helper seen (its clone may show too, before it execs),
    // and no command line of theirs with the value.
    let lines = out.stdout.split(separator: "\n")
    #expect(lines.count == 2 && (Int(lines[0]) ?? 0) >= 1 && lines[1] == "0", "\(out.combined)")
  }

  @Test func waitPrintsTheCodeOfARemovedContainer() {
    let box = EngineSandbox("waitrm")
    defer { box.finish() }
    let id = box.berth(["run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.5; exit 3"]).stdout
      .trimmed
    #expect(box.berth(["wait", id]).stdout == "3\n")
  }

  @Test func cpOfARunningContainerSeesItsVolumes() throws {
    let box = EngineSandbox("cpvol")
    defer { box.finish() }
    let id = box.berth([
      "run", "-d", "-v", "data:/data", "busybox", "sh", "-c", "echo in-volume > /data/f; sleep 60",
    ]).stdout.trimmed
    #expect(box.eventually { box.berth(["exec", id, "test", "-f", "/data/f"]).status == 0 })
    let host = box.dir + "/out"
    try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
    #expect(box.berth(["cp", "\(id):/data/f", host + "/"]).status == 0)
    #expect((try? String(contentsOfFile: host + "/f", encoding: .utf8)) == "in-volume\n")
    #expect(box.berth(["cp", "\(id):/..", host + "/x"]).status == 125)
  }

  @Test func anAnonymousVolumeStillInUseOutlivesItsContainer() {
    let box = EngineSandbox("anonshare")
    defer { box.finish() }
    let first = box.berth(["create", "-v", "/shared", "busybox", "true"]).stdout.trimmed
    let volume = box.berth(["volume", "ls", "-q"]).stdout.trimmed
    let second = box.berth(["run", "-d", "-v", "\(volume):/data", "busybox", "sleep", "60"]).stdout
      .trimmed
    #expect(box.berth(["rm", "-v", first]).status == 0)
    #expect(box.berth(["ps", "-q", "--no-trunc"]).stdout == second + "\n")
    #expect(box.berth(["volume", "ls", "-q"]).stdout.trimmed == volume)
  }
}
