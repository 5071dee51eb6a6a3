import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite(
  "Root filesystem and mounts", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct FilesystemTests {
  @Test func readOnlyRootRefusesWrites() {
    let box = Sandbox("ro")
    defer { box.finish() }
    let out = box.run(box.spec(["sh", "-c", "touch /x 2>&1; echo rc=$?"]))
    #expect(out.stdout.contains("Read-only file system"))
  }

  /// linux.rootfsPropagation is what "/" shows inside (mountinfo's optional
  /// fields); a shared one still lets pivot_root through. (Not "slave": it
  /// shows only where the tests' own mounts are shared, and they are
  /// private in scripts/test.sh's namespace.)
  @Test(arguments: [
    ("shared", "shared:"), ("rshared", "shared:"), ("private", "-"), ("unbindable", "unbindable"),
  ])
  func rootfsPropagationIsApplied(propagation: String, shows: String) {
    let box = Sandbox("propagation")
    defer { box.finish() }
    var spec = box.spec(["sh", "-c", "awk '$5 == \"/\" { print $7 }' /proc/self/mountinfo"])
    spec.linux?.rootfsPropagation = propagation
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.hasPrefix(shows), "\(out.stdout)")
  }

  @Test func specMountsWithOptionsAndBindsOfFilesAndDirectories() throws {
    let box = Sandbox("mounts")
    defer { box.finish() }
    let hostDir = box.dir + "/shared"
    try FileManager.default.createDirectory(atPath: hostDir, withIntermediateDirectories: true)
    try "from host\n".write(toFile: hostDir + "/note", atomically: true, encoding: .utf8)
    try "single file\n".write(toFile: box.dir + "/file", atomically: true, encoding: .utf8)
    var spec = box.spec([
      "sh", "-c",
      "cat /data/note /etc/single; touch /data/x 2>&1 | grep -c Read-only; grep ' /scratch ' /proc/mounts; echo hi > /rw/y && cat /rw/y",
    ])
    spec.mounts! += [
      Spec.Mount(destination: "/data", type: "bind", source: hostDir, options: ["rbind", "ro"]),
      Spec.Mount(
        destination: "/etc/single", type: "bind", source: box.dir + "/file", options: ["bind"]),
      Spec.Mount(
        destination: "/scratch", type: "tmpfs", source: "tmpfs",
        options: ["nosuid", "size=1m", "mode=700"]),
      Spec.Mount(destination: "/rw", type: "tmpfs", source: "tmpfs", options: []),
    ]
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.contains("from host\nsingle file\n1\n"))
    #expect(out.stdout.contains("tmpfs /scratch tmpfs rw,nosuid,relatime,size=1024k,mode=700"))
    #expect(out.stdout.hasSuffix("hi\n"))
  }

  @Test func defaultDevicesLinksAndSpecDevicesExist() {
    let box = Sandbox("dev")
    defer { box.finish() }
    var spec = box.spec([
      "sh", "-c",
      "for d in null zero full random urandom tty mydev; do stat -c '%n %F %t:%T %a' /dev/$d; done; for l in fd stdin ptmx; do readlink /dev/$l; done",
    ])
    spec.linux?.devices = [
      Spec.Device(
        type: "c", path: "/dev/mydev", major: 1, minor: 7, fileMode: 0o600, uid: 0, gid: 0)
    ]
    let out = box.run(spec)
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.contains("/dev/null character special file 1:3 666"))
    #expect(out.stdout.contains("/dev/tty character special file 5:0 666"))
    #expect(out.stdout.contains("/dev/mydev character special file 1:7 600"))
    #expect(out.stdout.contains("/proc/self/fd\n/proc/self/fd/0\npts/ptmx\n"))
  }

  @Test func maskedAndReadOnlyPathsAreApplied() {
    let box = Sandbox("mask")
    defer { box.finish() }
    let out = box.run(
      box.spec([
        "sh", "-c",
        "stat -c '%t:%T' /proc/keys; ls /proc/acpi | wc -l; echo 1 2>&1 > /proc/sys/vm/drop_caches | grep -c Read-only",
      ]))
    #expect(out.stdout == "1:3\n0\n1\n", "\(out.stderr)")
  }

  @Test func sysctlsOfOwnedNamespacesAreSetAndOthersRefused() {
    let box = Sandbox("sysctl")
    defer { box.finish() }
    var spec = box.spec(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni"])
    spec.linux?.sysctl = ["net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"]
    let out = box.run(spec)
    #expect(out.stdout == "1\n1234\n", "\(out.stderr)")

    var bad = box.spec(["true"], id: "bad")
    bad.linux?.sysctl = ["vm.swappiness": "10"]
    let refused = box.run(bad, id: "bad")
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("sysctl vm.swappiness is not namespaced"))
  }

  @Test func noPivotMovesTheRootAndChroots() {
    let box = Sandbox("nopivot")
    defer { box.finish() }
    let out = box.run(box.spec(["sh", "-c", "ls /bin/busybox && hostname"]), extra: ["--no-pivot"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.hasPrefix("/bin/busybox\n"))
  }

  @Test func cgroupMountShowsTheContainersHierarchiesReadOnly() {
    let box = Sandbox("cgmount")
    defer { box.finish() }
    let out = box.run(
      box.spec(["sh", "-c", "ls /sys/fs/cgroup; touch /sys/fs/cgroup/x 2>&1 | grep -c Read-only"]))
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout.contains("memory") || out.stdout.contains("cgroup.procs"))
    #expect(out.stdout.hasSuffix("1\n"))
  }
}
