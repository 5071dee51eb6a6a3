import BerthOCI
import BerthTestSupport
import Foundation
import Testing

/// berth-runtime run by an unprivileged user (scripts/test.sh creates
/// `berth-test` with /etc/subuid and /etc/subgid ranges).
@Suite(
  "Rootless", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers && RootlessUser.exists,
    "needs root (to set up), the busybox fixture and the berth-test user (scripts/test.sh)"))
struct RootlessTests {
  /// A sandbox owned by the test user, with its own copy of the rootfs.
  func userBox(_ label: String) -> (Sandbox, String) {
    let box = Sandbox(label)
    let rootfs = box.copyRootfs()
    // The build tree may sit under a directory the user cannot enter.
    sh(["install", "-m", "0755", TestEnvironment.runtime, box.dir + "/berth-runtime"])
    sh(["chown", "-R", "\(RootlessUser.uid):\(RootlessUser.gid)", box.dir])
    return (box, rootfs)
  }

  func asUser(
    _ box: Sandbox, _ args: [String], input: String? = nil, runtime: String? = nil,
    environment: [String: String] = [:]
  ) -> Output {
    let runtimeDir = box.dir + "/xdg"
    sh(["install", "-d", "-o", "\(RootlessUser.uid)", "-m", "0700", runtimeDir])
    return sh(
      [
        "setpriv", "--reuid", "\(RootlessUser.uid)", "--regid", "\(RootlessUser.gid)",
        "--init-groups",
        "env", "XDG_RUNTIME_DIR=\(runtimeDir)", "HOME=\(box.dir)",
      ] + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        + [runtime ?? box.dir + "/berth-runtime"] + args, input: input)
  }

  /// CVE-2019-5736, rootless. A binary only root may write runs in place
  /// (nothing the user starts could write it); one the user owns runs from
  /// a sealed memfd copy. Either way, reopening /proc/PID/exe for writing
  /// after the runtime exited fails.
  @Test(arguments: [true, false])
  func theRuntimeBinaryCannotBeReopenedForWriting(rootOwned: Bool) {
    let (box, rootfs) = userBox(rootOwned ? "rl5736root" : "rl5736user")
    defer { box.finish() }
    var runtime = box.dir + "/berth-runtime"
    if rootOwned {
      sh(["install", "-d", "-m", "0755", box.dir + "/rootbin"])
      runtime = box.dir + "/rootbin/berth-runtime"
      sh(["install", "-m", "0755", TestEnvironment.runtime, runtime])
    }
    let bundle = box.bundle(rootlessSpec(box, rootfs: rootfs, ["sleep", "30"]))
    sh(["chown", "-R", "\(RootlessUser.uid)", bundle])
    let started = asUser(box, ["run", "-d", "--bundle", bundle, "c"], runtime: runtime)
    #expect(started.status == 0, "\(started.stderr)")
    let out = asUser(
      box, ["-c", ExeProbe.command], runtime: "/bin/bash",
      environment: ExeProbe.environment(runtime: runtime))
    #expect(out.stdout == (rootOwned ? "file EACCES\n" : "memfd EPERM\n"), "\(out.combined)")
    _ = asUser(box, ["delete", "--force", "c"], runtime: runtime)
  }

  func rootlessSpec(_ box: Sandbox, rootfs: String, _ args: [String]) -> Spec {
    var spec = Spec.runtimeDefault(rootless: true, uid: RootlessUser.uid, gid: RootlessUser.gid)
    spec.process?.terminal = false
    spec.process?.args = args
    spec.root = Spec.Root(path: rootfs, readonly: true)
    return spec
  }

  @Test func specRootlessRunsAsIsForAnUnprivilegedUser() throws {
    let (box, rootfs) = userBox("rootless")
    defer { box.finish() }
    let bundle = box.dir + "/bundle"
    sh(["install", "-d", "-o", "\(RootlessUser.uid)", bundle])
    #expect(asUser(box, ["spec", "--rootless", "--bundle", bundle]).status == 0)
    sh(["ln", "-s", rootfs, bundle + "/rootfs"])
    let config = bundle + "/config.json"
    var spec = try JSONDecoder().decode(
      Spec.self, from: Data(contentsOf: URL(fileURLWithPath: config)))
    spec.process?.terminal = false
    spec.process?.args = ["sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '"]
    try JSONEncoder().encode(spec).write(to: URL(fileURLWithPath: config))
    let out = asUser(box, ["run", "--bundle", bundle, "r1"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stdout == "0\n 0 \(RootlessUser.uid) 1\n")
    // State lives under $XDG_RUNTIME_DIR and is gone after run.
    #expect(asUser(box, ["list", "-q"]).stdout.isEmpty)
  }

  /// CVE-2023-25809 class: /sys/fs/cgroup is read-only in a rootless container.
  @Test func sysFsCgroupIsReadOnly() {
    let (box, rootfs) = userBox("rlcgroup")
    defer { box.finish() }
    let spec = rootlessSpec(
      box, rootfs: rootfs,
      [
        "sh", "-c",
        "touch /sys/fs/cgroup/x 2>&1; grep -c ' /sys/fs/cgroup[^ ]* rw' /proc/self/mountinfo",
      ])
    let bundle = box.bundle(spec)
    sh(["chown", "-R", "\(RootlessUser.uid)", bundle])
    let out = asUser(box, ["run", "--bundle", bundle, "r2"])
    #expect(out.stdout.contains("Read-only file system"), "\(out.combined)")
    #expect(out.stdout.hasSuffix("0\n"), "\(out.stdout)")
  }

  @Test func fullRangesAreMappedThroughNewuidmap() throws {
    try #require(TestEnvironment.hasCommand("newuidmap"), "needs Debian's uidmap")
    let (box, rootfs) = userBox("rlrange")
    defer { box.finish() }
    var spec = rootlessSpec(
      box, rootfs: rootfs,
      [
        "sh", "-c",
        "cat /proc/self/uid_map | tr -s ' '; id -u nobody; su -s /bin/sh nobody -c 'id -u' 2>&1 || true",
      ])
    spec.linux?.uidMappings = [
      IDMapping(containerID: 0, hostID: RootlessUser.uid, size: 1),
      IDMapping(containerID: 1, hostID: RootlessUser.subuidStart, size: 65536),
    ]
    spec.linux?.gidMappings = [
      IDMapping(containerID: 0, hostID: RootlessUser.gid, size: 1),
      IDMapping(containerID: 1, hostID: RootlessUser.subgidStart, size: 65536),
    ]
    let bundle = box.bundle(spec)
    sh(["chown", "-R", "\(RootlessUser.uid)", bundle])
    let out = asUser(box, ["run", "--bundle", bundle, "r3"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(
      out.stdout.hasPrefix(" 0 \(RootlessUser.uid) 1\n 1 \(RootlessUser.subuidStart) 65536\n"),
      "\(out.stdout)")
  }

  @Test func privilegedMountsFailWithAClearError() {
    let (box, rootfs) = userBox("rlmount")
    defer { box.finish() }
    var spec = rootlessSpec(box, rootfs: rootfs, ["true"])
    spec.mounts?.append(
      Spec.Mount(destination: "/mnt", type: "ext4", source: "/dev/null", options: []))
    let bundle = box.bundle(spec)
    sh(["chown", "-R", "\(RootlessUser.uid)", bundle])
    let out = asUser(box, ["run", "--bundle", bundle, "r4"])
    #expect(out.status != 0)
    #expect(out.stderr.contains("cannot mount ext4 on /mnt"), "\(out.stderr)")
    #expect(asUser(box, ["list", "-q"]).stdout.isEmpty)
  }
}

/// The unprivileged user the rootless tests run as.
enum RootlessUser {
  static let name = "berth-test"
  static let ids: (uid: UInt32, gid: UInt32)? = getpwnam(name).map {
    ($0.pointee.pw_uid, $0.pointee.pw_gid)
  }
  static let exists = ids != nil && subid("/etc/subuid") != nil
  static var uid: UInt32 { ids?.uid ?? 0 }
  static var gid: UInt32 { ids?.gid ?? 0 }
  static var subuidStart: UInt32 { subid("/etc/subuid") ?? 0 }
  static var subgidStart: UInt32 { subid("/etc/subgid") ?? 0 }

  static func subid(_ file: String) -> UInt32? {
    let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: ":")
      if parts.count == 3, parts[0] == name { return UInt32(parts[1]) }
    }
    return nil
  }
}
