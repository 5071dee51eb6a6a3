import BerthTestSupport
import Foundation
import Testing

@Suite(
  "berth volumes and mounts", .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct VolumeTests {
  @Test func aNamedVolumeSurvivesItsContainerAndIsReused() {
    let box = EngineSandbox("vol")
    defer { box.finish() }
    #expect(
      box.berth(["run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"])
        .status == 0)
    #expect(box.berth(["volume", "ls", "--format", "{{.Name}}"]).stdout == "data\n")
    let again = box.berth([
      "run", "--rm", "-v", "data:/data:ro", "busybox", "sh", "-c",
      "cat /data/f; touch /data/g 2>/dev/null || echo ro",
    ])
    #expect(again.stdout == "kept\nro\n")
    #expect(
      box.berth(["volume", "inspect", "--format", "{{.Name}} {{.Driver}}", "data"]).stdout
        == "data local\n")
    let inUse = box.berth(["create", "-v", "data:/data", "busybox", "true"]).stdout.trimmed
    let refused = box.berth(["volume", "rm", "data"])
    #expect(refused.status == 125)
    #expect(refused.stderr.contains("being used"))
    #expect(box.berth(["rm", inUse]).status == 0)
    #expect(box.berth(["volume", "rm", "data"]).stdout == "data\n")
    #expect(box.berth(["volume", "ls", "-q"]).stdout.isEmpty)
  }

  /// `-o type=none -o o=bind -o device=DIR`: compose's driver_opts for a
  /// volume over a host directory; `ro` in `o` makes it read-only.
  @Test func aLocalVolumeCanBindAHostDirectory() throws {
    let box = EngineSandbox("volbind")
    defer { box.finish() }
    let host = box.dir + "/shared"
    try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
    try "from the host\n".write(toFile: host + "/f", atomically: true, encoding: .utf8)
    for (name, o) in [("bound", "bind"), ("bound-ro", "bind,ro")] {
      let made = box.berth([
        "volume", "create", "-o", "type=none", "-o", "o=\(o)", "-o", "device=\(host)", name,
      ])
      #expect(made.status == 0, "\(made.combined)")
    }
    let ran = box.berth([
      "run", "--rm", "--network", "none", "-v", "bound:/data", "busybox", "sh", "-c",
      "cat /data/f; echo back > /data/g",
    ])
    #expect(ran.stdout == "from the host\n", "\(ran.combined)")
    #expect((try? String(contentsOfFile: host + "/g", encoding: .utf8)) == "back\n")
    let readOnly = box.berth([
      "run", "--rm", "--network", "none", "-v", "bound-ro:/data", "busybox", "sh", "-c",
      "cat /data/f; touch /data/h 2>/dev/null || echo refused",
    ])
    #expect(readOnly.stdout == "from the host\nrefused\n", "\(readOnly.combined)")
    #expect(!FileManager.default.fileExists(atPath: host + "/h"))
    #expect(box.berth(["volume", "rm", "bound", "bound-ro"]).status == 0)
    // The host directory is the user's: removing the volume leaves it.
    #expect(FileManager.default.fileExists(atPath: host + "/g"))
  }

  @Test func aNewVolumeIsFilledFromTheImage() {
    let box = EngineSandbox("fill")
    defer { box.finish() }
    let out = box.berth(["run", "--rm", "-v", "etc:/etc", "busybox", "cat", "/etc/group"])
    #expect(out.stdout.contains("root:x:0:"))
    #expect(
      box.berth([
        "run", "--rm", "--mount", "type=volume,source=empty,destination=/etc,nocopy", "busybox",
        "ls", "/etc",
      ]).stdout == "hostname\nhosts\nresolv.conf\n")
    #expect(
      box.berth(["volume", "prune"]).stdout.split(separator: "\n").sorted() == ["empty", "etc"])
  }

  @Test func anonymousVolumesGoWithRmV() {
    let box = EngineSandbox("anon")
    defer { box.finish() }
    let id = box.berth(["create", "-v", "/scratch", "busybox", "true"]).stdout.trimmed
    #expect(box.berth(["volume", "ls", "-q"]).stdout.split(separator: "\n").count == 1)
    #expect(box.berth(["rm", "-v", id]).status == 0)
    #expect(box.berth(["volume", "ls", "-q"]).stdout.isEmpty)
  }

  @Test func bindMountsAndTmpfs() throws {
    let box = EngineSandbox("bind")
    defer { box.finish() }
    let host = box.dir + "/host"
    try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
    try "from host\n".write(toFile: host + "/in", atomically: true, encoding: .utf8)
    let out = box.berth([
      "run", "--rm", "-v", "\(host):/h:z", "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c",
      "cat /h/in; echo back > /h/out; grep -c ' /scratch tmpfs' /proc/mounts",
    ])
    #expect(out.stdout == "from host\n1\n", "\(out.combined)")
    #expect((try? String(contentsOfFile: host + "/out", encoding: .utf8)) == "back\n")
  }
}
