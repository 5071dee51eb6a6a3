import BerthTestSupport
import Foundation
import Testing

@Suite("berth engine security", .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct EngineSecurityTests {
  /// CVE-2019-5736: the processes that enter a container (the monitor,
  /// which clones init, and the exec helper) run from a binary that cannot
  /// be written through /proc/PID/exe, even after they exit.
  @Test func processesThatEnterAContainerRunFromAReadOnlyBinary() {
    let box = EngineSandbox("cve")
    defer { box.finish() }
    let id = box.berth(["run", "-d", "busybox", "sleep", "60"]).stdout.trimmed
    // While any monitor runs the file the kernel answers ETXTBSY before
    // EROFS, so the mount itself is checked: it must be read-only.
    let monitors = box.monitorPids()
    #expect(monitors.count == 1)
    for pid in monitors {
      var info = statvfs()
      #expect(statvfs("/proc/\(pid)/exe", &info) == 0)
      #expect(info.f_flag & UInt(ST_RDONLY) != 0, "the monitor runs from a writable mount")
      let fd = open("/proc/\(pid)/exe", O_RDWR)
      #expect(fd < 0)
      if fd >= 0 { close(fd) }
    }
    // The exec helper, held by an "attacker" until it has exited.
    let probe =
      "\(box.command) exec \(id) sleep 1.5 & p=$!; sleep 0.4; m=$(pgrep -P $p -f berth-monitor); python3 -c \"$PROBE\" $m"
    let out = sh(["bash", "-c", probe], env: ["PROBE": Self.readOnlyProbe])
    #expect(out.stdout.hasPrefix("read-only "), "\(out.combined)")
    #expect(!out.stdout.contains("WRITABLE"), "\(out.combined)")
  }

  /// Holds /proc/PID/exe of the exec helper as an attacker in the container
  /// would, and once it has exited reports its mount's ro flag and how a
  /// write went.
  static let readOnlyProbe = """
    import errno, os, sys, time
    pid = sys.argv[1]
    held = os.open(f"/proc/{pid}/exe", os.O_PATH)
    while os.path.exists(f"/proc/{pid}/exe"):
        time.sleep(0.05)
    flag = "read-only" if os.statvfs(f"/proc/self/fd/{held}").f_flag & os.ST_RDONLY else "writable-mount"
    try:
        fd = os.open(f"/proc/self/fd/{held}", os.O_RDWR)
        print(flag, "WRITABLE")
    except OSError as e:
        print(flag, errno.errorcode[e.errno])
    """
}
