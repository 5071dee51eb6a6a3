import BerthOCI
import BerthTestSupport
import Foundation
import Testing

/// One test per class of runc/crun CVE.
@Suite(
  "Security", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct SecurityTests {
  /// CVE-2019-19921 / CVE-2023-27561 class: a mount destination that is a
  /// symlink pointing outside the rootfs lands inside the rootfs.
  @Test(arguments: ["ABSOLUTE", "../../../../../../../../TARGET"])
  func aSymlinkedMountDestinationStaysInsideTheRootfs(link: String) throws {
    let box = Sandbox("symdest")
    defer { box.finish() }
    let rootfs = box.copyRootfs()
    let hostTarget = box.dir + "/host-target"
    try FileManager.default.createDirectory(atPath: hostTarget, withIntermediateDirectories: true)
    let destination =
      link == "ABSOLUTE"
      ? hostTarget : link.replacing("TARGET", with: String(hostTarget.dropFirst()))
    try FileManager.default.createSymbolicLink(
      atPath: rootfs + "/escape", withDestinationPath: destination)
    var spec = box.spec(["sh", "-c", "echo pwned > /escape/file && echo wrote"])
    spec.root = Spec.Root(path: rootfs, readonly: false)
    spec.mounts?.append(
      Spec.Mount(destination: "/escape", type: "tmpfs", source: "tmpfs", options: []))
    let out = box.run(spec)
    #expect(out.stdout == "wrote\n", "\(out.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: hostTarget).isEmpty)
    #expect(FileManager.default.fileExists(atPath: rootfs + hostTarget))
  }

  /// /proc (or /sys) as a symlink in the image is refused, not followed.
  @Test(arguments: ["proc", "sys"])
  func aSymlinkedProcOrSysIsRefused(dir: String) throws {
    let box = Sandbox("symproc")
    defer { box.finish() }
    let rootfs = box.copyRootfs()
    try FileManager.default.removeItem(atPath: rootfs + "/" + dir)
    try FileManager.default.createSymbolicLink(
      atPath: rootfs + "/" + dir, withDestinationPath: "/tmp")
    var spec = box.spec(["true"])
    spec.root = Spec.Root(path: rootfs, readonly: false)
    let out = box.run(spec)
    #expect(out.status != 0)
    #expect(out.stderr.contains("refusing to mount"), "\(out.stderr)")
  }

  /// CVE-2025-31133 class: an image's /dev/null planted as a symlink never
  /// becomes the source of the masks; the mask is the real 1:3 device.
  @Test func maskedPathsUseAVerifiedNullDevice() throws {
    let box = Sandbox("devnull")
    defer { box.finish() }
    let rootfs = box.copyRootfs()
    try FileManager.default.createDirectory(
      atPath: rootfs + "/dev", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: rootfs + "/dev/null", withDestinationPath: "/proc/sys/kernel/core_pattern")
    var spec = box.spec(["sh", "-c", "stat -c '%F %t:%T' /proc/keys /dev/null"])
    spec.root = Spec.Root(path: rootfs, readonly: false)
    spec.mounts?.removeAll { $0.destination == "/dev" }
    let out = box.run(spec)
    #expect(
      out.stdout == "character special file 1:3\ncharacter special file 1:3\n", "\(out.stderr)")
  }

  /// No fd of the caller reaches the container beyond stdio, except
  /// --preserve-fds ones (CVE-2024-21626 class).
  @Test func onlyStdioAndPreservedFDsReachTheContainer() {
    let box = Sandbox("fds")
    defer { box.finish() }
    let bundle = box.bundle(box.spec(["ls", "/proc/self/fd"]))
    let rt = "\(TestEnvironment.runtime) --root \(box.stateRoot)"
    let leaked = sh([
      "bash", "-c", "exec 7</etc/hostname 8>/dev/null; \(rt) run --bundle \(bundle) c",
    ])
    // 3 is ls's own handle on the directory it lists.
    #expect(leaked.stdout == "0\n1\n2\n3\n", "\(leaked.stderr)")
    let preserved = sh([
      "bash", "-c",
      "exec 3</etc/hostname 4</etc/hostname; \(rt) run --preserve-fds 2 --bundle \(bundle) c",
    ])
    #expect(preserved.stdout == "0\n1\n2\n3\n4\n5\n", "\(preserved.stderr)")
  }

  /// A cwd reached through a leaked host fd is outside the root: refused.
  @Test func aWorkingDirectoryOutsideTheRootIsRefused() {
    let box = Sandbox("cwd")
    defer { box.finish() }
    var spec = box.spec(["pwd"])
    spec.process?.cwd = "/proc/self/fd/7"
    let bundle = box.bundle(spec)
    let rt = "\(TestEnvironment.runtime) --root \(box.stateRoot)"
    let out = sh(["bash", "-c", "exec 7</; \(rt) run --bundle \(bundle) c"])
    #expect(out.status != 0)
    #expect(!out.stdout.hasPrefix("/"), "the process ran in \(out.stdout)")
  }

  /// CVE-2019-5736: the attacker holds /proc/PID/exe of the runtime while
  /// it works in the container and reopens it for writing once it exited.
  /// That reopen must fail with EROFS (read-only clone), or the write with
  /// EPERM (sealed memfd); success would mean the host binary was writable.
  /// (The probe never truncates; it appends one byte to a private copy.)
  /// The re-exec happens in berth-runtime's start-up constructor, which
  /// finds the subcommand behind any spelling of runc's global flags.
  @Test(arguments: [
    "--root ROOT", "--root=ROOT --log-format json --debug",
    "--systemd-cgroup --root ROOT --log LOG",
  ])
  func theRuntimeBinaryCannotBeReopenedForWritingAfterExit(globals: String) {
    let box = Sandbox("exe")
    defer { box.finish() }
    #expect(box.run(box.spec(["sleep", "30"]), extra: ["-d"]).status == 0)
    // A private copy: the kernel says ETXTBSY before EROFS while any other
    // process (a parallel test) executes the same inode.
    let copy = box.dir + "/berth-runtime"
    sh(["install", "-m", "0755", TestEnvironment.runtime, copy])
    let rt =
      copy + " "
      + globals.replacingOccurrences(of: "ROOT", with: box.stateRoot)
      .replacingOccurrences(of: "LOG", with: box.dir + "/log.json")
    let out = sh(["bash", "-c", ExeProbe.command], env: ExeProbe.environment(runtime: rt))
    #expect(
      out.stdout == "file EROFS\n" || out.stdout == "memfd EPERM\n", "\(out.stdout) \(out.stderr)")
    box.runtime(["delete", "--force", "c"])
  }
}
