import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite(
  "Namespaces", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct NamespaceTests {
  @Test func newNamespacesIsolateThePidTreeNetworkAndIPC() {
    let box = Sandbox("ns")
    defer { box.finish() }
    var spec = box.spec(["sh", "-c", "echo $$; ls /sys/class/net; ipcs -q | wc -l"])
    spec.linux?.namespaces?.append(Spec.Namespace(type: "time"))
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.hasPrefix("1\nlo\n"))
  }

  @Test func joiningAnotherContainersNetworkNamespaceByPath() throws {
    let box = Sandbox("join")
    defer { box.finish() }
    var first = box.spec(["sleep", "30"], id: "a")
    first.hostname = "first"
    #expect(box.run(first, id: "a", extra: ["-d"]).status == 0)
    let pid = try #require(box.state("a")?["pid"] as? Int)
    var second = box.spec(["sh", "-c", "readlink /proc/self/ns/net; hostname"], id: "b")
    let joined = ["network": "net", "uts": "uts"]
    let namespaces = (second.linux?.namespaces ?? []).map { ns in
      joined[ns.type].map { Spec.Namespace(type: ns.type, path: "/proc/\(pid)/ns/\($0)") } ?? ns
    }
    second.linux?.namespaces = namespaces
    second.hostname = nil
    let out = box.run(second, id: "b")
    let theirs = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout == theirs + "\nfirst\n")
    box.runtime(["delete", "--force", "a"])
  }

  @Test func userNamespaceMapsContainerRootToAnUnprivilegedHostID() {
    let box = Sandbox("userns")
    defer { box.finish() }
    var spec = box.spec(["sh", "-c", "id -u; cat /proc/self/uid_map; ls -ln /bin/busybox"])
    spec.linux?.namespaces?.append(Spec.Namespace(type: "user"))
    spec.linux?.uidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 65536)]
    spec.linux?.gidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 65536)]
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.hasPrefix("0\n         0     100000      65536\n"))
    // Host root owns the fixture; unmapped ids show as the overflow id.
    #expect(out.stdout.contains("65534"))
  }
}
