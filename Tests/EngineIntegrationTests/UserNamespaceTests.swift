import BerthTestSupport
import Foundation
import Testing

/// `--uidmap`, `--gidmap` and `--userns` as root: the container in its own
/// user namespace, its layers copied with the owners the maps give.
/// scripts/test.sh gives the user "containers" ids in /etc/subuid for auto.
@Suite(
  "berth run in a user namespace (root)",
  .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct UserNamespaceTests {
  static func columns(_ text: String) -> [String] {
    text.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
  }

  @Test func aUidmapContainerIsRootOfItsOwnNamespaceAndOwnsItsFiles() {
    let box = EngineSandbox("userns")
    defer { box.finish() }
    let script =
      "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u:%g /bin/busybox /;"
      + " touch /made && stat -c %u:%g /made; mkdir /data/sub && stat -c %u /data/sub"
    let out = box.berth([
      "run", "--name", "mapped", "--uidmap", "0:200000:65536", "-v", "mappedvol:/data",
      "busybox", "sh", "-c", script,
    ])
    #expect(out.status == 0, "\(out.combined)")
    #expect(
      Self.columns(out.stdout) == [
        "0 200000 65536", "0 200000 65536", "0", "0:0", "0:0", "0:0", "0",
      ])
    // On the host the new file belongs to what 0 maps to.
    let id = box.berth(["inspect", "--format", "{{.Id}}", "mapped"]).stdout.trimmed
    var info = stat()
    #expect(stat("\(box.root)/snapshots/\(id)/upper/made", &info) == 0)
    #expect(info.st_uid == 200000 && info.st_gid == 200000)
    let inspect = box.berth([
      "inspect", "--format", "{{.HostConfig.UsernsMode}} {{.HostConfig.IDMappings.UidMap}}",
      "mapped",
    ])
    #expect(inspect.stdout.trimmed == "private [0:200000:65536]")
    // A commit stores owners as the container saw them.
    #expect(box.berth(["commit", "-q", "mapped", "localhost/mapped:1"]).status == 0)
    let plain = box.berth(["run", "--rm", "localhost/mapped:1", "stat", "-c", "%u:%g", "/made"])
    #expect(plain.stdout.trimmed == "0:0", "\(plain.combined)")
    #expect(box.berth(["rm", "-v", "mapped"]).status == 0)
    #expect(box.berth(["volume", "rm", "mappedvol"]).status == 0)
    // The layer copies go with the image's layers.
    #expect(box.berth(["rmi", "localhost/mapped:1", "busybox"]).status == 0)
    let left = (try? FileManager.default.contentsOfDirectory(atPath: box.root + "/mapped")) ?? []
    #expect(left.isEmpty, "mapped layer copies left: \(left)")
  }

  @Test func execJoinsTheContainersUserNamespace() {
    let box = EngineSandbox("usernsexec")
    defer { box.finish() }
    let id = box.berth([
      "run", "-d", "--uidmap", "0:300000:1000", "--gidmap", "0:310000:1000", "busybox",
      "sleep", "60",
    ]).stdout.trimmed
    let out = box.berth(["exec", id, "cat", "/proc/self/uid_map", "/proc/self/gid_map"])
    #expect(Self.columns(out.stdout) == ["0 300000 1000", "0 310000 1000"], "\(out.combined)")
    box.berth(["rm", "-f", id])
  }

  @Test func autoGivesEachContainerItsOwnRange() {
    let box = EngineSandbox("usernsauto")
    defer { box.finish() }
    var maps: [String] = []
    var ids: [String] = []
    for size in ["", ":size=2000"] {
      let id = box.berth(["run", "-d", "--userns", "auto" + size, "busybox", "sleep", "60"])
      #expect(id.status == 0, "\(id.combined)")
      ids.append(id.stdout.trimmed)
      let out = box.berth(["exec", id.stdout.trimmed, "cat", "/proc/self/uid_map"])
      maps.append(Self.columns(out.stdout).first ?? "")
    }
    let fields = maps.map { $0.split(separator: " ").compactMap { Int($0) } }
    #expect(fields.count == 2 && fields.allSatisfy { $0.count == 3 }, "\(maps)")
    guard fields.count == 2, fields.allSatisfy({ $0.count == 3 }) else { return }
    #expect(fields[0][0] == 0 && fields[0][2] == 65536 && fields[1][2] == 2000)
    // Disjoint outside.
    #expect(fields[0][1] + fields[0][2] <= fields[1][1] || fields[1][1] + 2000 <= fields[0][1])
    #expect(
      box.berth(["inspect", "--format", "{{.HostConfig.UsernsMode}}", ids[1]]).stdout.trimmed
        == "auto:size=2000")
    box.berth(["rm", "-f", "-a"])
  }

  @Test(arguments: [
    (["--userns", "nomap"], "only for rootless"),
    (["--userns", "sometimes"], "invalid --userns"),
    (["--uidmap", "0:100000"], "invalid --uidmap"),
    (["--uidmap", "0:100000:10,5:200000:10"], "overlap"),
    (["--userns", "auto", "--uidmap", "0:100000:10"], "cannot be used together"),
  ])
  func badUserNamespaceFlagsAreRefusedAndLeaveNothing(flags: [String], message: String) {
    let box = EngineSandbox("usernsbad")
    defer { box.finish() }
    let out = box.berth(["run", "--rm"] + flags + ["busybox", "true"])
    #expect(out.status == 125)
    #expect(out.stderr.contains(message), "\(out.stderr)")
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty)
  }
}
