// Starting a container's monitor: by posix_spawn (the CLI and the API
// service may have threads, so they never fork), from a read-only bind
// mount of berth-monitor made once per boot under the run root. A process
// that enters a container then runs from a binary that cannot be written
// through /proc/self/exe (CVE-2019-5736) without a copy or a re-exec.
import BerthMonitor
import BerthSystem
import CBerth
import Dispatch
import Glibc
import Synchronization

public enum MonitorLauncher {
  /// berth-monitor: $BERTH_MONITOR, or beside this executable.
  public static func installedBinary() throws(BerthError) -> String {
    if let path = getenv("BERTH_MONITOR").map({ String(cString: $0) }), !path.isEmpty {
      return path
    }
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if count > 0 {
      let exe = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let candidate = parentPath(exe) + "/berth-monitor"
      if access(candidate, X_OK) == 0 { return candidate }
    }
    throw BerthError(
      .notFound, "berth-monitor is not installed beside berth",
      hint: "install both binaries together, or set BERTH_MONITOR")
  }

  /// berth-init (`run --init`), beside berth-monitor.
  public static func initBinary() throws(BerthError) -> String {
    try helperBinary("berth-init")
  }

  /// A helper installed beside berth-monitor (berth-init, berth-nft).
  static func helperBinary(_ name: String) throws(BerthError) -> String {
    let path = parentPath(try installedBinary()) + "/" + name
    guard access(path, X_OK) == 0 else {
      throw BerthError(
        .notFound, "\(name) is not installed beside berth-monitor",
        hint: "install it with the other binaries (scripts/install.sh)")
    }
    return path
  }

  /// The binary to spawn: as root, a read-only bind mount of the installed
  /// one under the run root, made on first use (and again if the installed
  /// file changed); rootless, the installed file (the monitor protects
  /// itself with a sealed copy when it must).
  public static func protectedBinary(runRoot: String, rootless: Bool) throws(BerthError) -> String {
    let source = try installedBinary()
    if rootless || BerthMonitorBinary.isReadOnlyMount(source) { return source }
    let directory = runRoot + "/bin"
    let target = directory + "/berth-monitor"
    if BerthMonitorBinary.sameFile(source, target) && BerthMonitorBinary.isReadOnlyMount(target) {
      return target
    }
    try mkdirAll(directory, mode: 0o755)
    // A stale bind (the installed file was replaced) comes off first.
    while umount2(target, Int32(MNT_DETACH)) == 0 {}
    let fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0o755)
    if fd >= 0 { close(fd) }
    try check("bind-mount \(source) on \(target)") {
      mount(source, target, nil, UInt(MS_BIND), nil)
    }
    try check("make \(target) read-only") {
      mount(nil, target, nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV), nil)
    }
    return target
  }

  /// Spawns `berth-monitor start RUNDIR 3 4` with the sync pipe's write end
  /// as fd 3 and an attach connection as fd 4; waits for the first process
  /// (it forks the monitor proper and exits) and returns the report line.
  public static func start(
    binary: String, runDirectory: String, attachFD: Int32?
  ) throws(BerthError) -> String {
    let sync = try makePipe()
    defer { close(sync.read) }
    let null = ChildProcess.Stream.file("/dev/null", O_RDWR)
    let pid: pid_t
    do {
      defer { close(sync.write) }
      pid = try ChildProcess.spawn(
        ["berth-monitor", "start", runDirectory, "3", attachFD == nil ? "-1" : "4"], path: binary,
        stdin: null, stdout: null, stderr: null, extraFDs: [sync.write, attachFD ?? -1])
    }
    _ = try? waitForExit(pid)
    return readReport(sync.read)
  }

  /// Spawns `berth-monitor start-when-told RUNDIR 4 3` for the container
  /// `id` before its files exist, with the sync pipe's write end as fd 3 and
  /// its end of the start channel as fd 4: its exec and start-up then
  /// overlap the engine's create and start (see PendingMonitor).
  static func prestart(
    binary: String, id: String, runDirectory: String, networkAhead: Bool = false
  ) throws(BerthError)
    -> PendingMonitor
  {
    let sync = try makePipe()
    let channel: (engine: Int32, monitor: Int32)
    do {
      channel = try PrestartChannel.makePair()
    } catch {
      close(sync.read)
      close(sync.write)
      throw error
    }
    let null = ChildProcess.Stream.file("/dev/null", O_RDWR)
    defer {
      close(sync.write)
      close(channel.monitor)
    }
    do {
      let pid = try ChildProcess.spawn(
        ["berth-monitor", "start-when-told", runDirectory, "4", "3"]
          + (networkAhead ? ["--netns"] : []), path: binary,
        stdin: null, stdout: null, stderr: null, extraFDs: [sync.write, channel.monitor])
      return PendingMonitor(
        pid: pid, binary: binary, id: id, runDirectory: runDirectory, channel: channel.engine,
        sync: sync.read)
    } catch {
      close(sync.read)
      close(channel.engine)
      throw error
    }
  }

  /// Tells a prestarted monitor to start, with the attach connection;
  /// waits for its first process and returns the report line, as `start`
  /// does. Nil when the monitor is gone before it was told (killed, say):
  /// the caller spawns a new one.
  static func start(_ pending: PendingMonitor, attachFD: Int32?) -> String? {
    guard tell(pending, attachFD: attachFD) else { return nil }
    return report(pending)
  }

  /// Tells a prestarted monitor its container and keeps the channel open
  /// (for `PrestartChannel.sendRootfsMounted`); false, and the monitor
  /// cancelled, when it is gone.
  static func tell(_ pending: PendingMonitor, attachFD: Int32?) -> Bool {
    guard
      (try? PrestartChannel.send(
        pending.channel, runDirectory: pending.runDirectory, attachFD: attachFD)) != nil
    else {
      cancel(pending)
      return false
    }
    return true
  }

  /// A told monitor's report; closing the channel first ends a wait for
  /// the rootfs that nobody will end otherwise (the monitor reports that).
  static func report(_ pending: PendingMonitor) -> String {
    close(pending.channel)
    if !pending.reaped { _ = try? waitForExit(pending.pid) }
    defer { close(pending.sync) }
    return readReport(pending.sync)
  }

  /// A prestarted monitor not needed after all: closing its channel ends it.
  static func cancel(_ pending: PendingMonitor) {
    close(pending.channel)
    close(pending.sync)
    if !pending.reaped { _ = try? waitForExit(pending.pid) }
  }

  /// The monitor's report: one line on the sync pipe ("ok PID" or
  /// "error MESSAGE"), or what it wrote before closing it.
  static func readReport(_ fd: Int32) -> String {
    var report: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let got = read(fd, &buffer, buffer.count)
      if got > 0 {
        report += buffer[0..<got]
        if report.contains(0x0A) { break }
      } else if got == 0 || currentErrno != .interrupted {
        break
      }
    }
    return String(decoding: report, as: UTF8.self).trimmed
  }

  /// Runs `berth-monitor exec ...` in the foreground with our stdio;
  /// returns its exit code.
  public static func exec(
    binary: String, arguments: [String], quiet: Bool = false, detached: Bool = false
  ) throws(BerthError) -> Int32 {
    // A detached process keeps none of the caller's stdio (or terminal);
    // errors before it starts still reach stderr.
    let output: ChildProcess.Stream = quiet || detached ? .file("/dev/null", O_WRONLY) : .inherit
    let input: ChildProcess.Stream = detached ? .file("/dev/null", O_RDONLY) : .inherit
    let pid = try ChildProcess.spawn(
      ["berth-monitor", "exec"] + arguments, path: binary, stdin: input, stdout: output,
      stderr: detached ? .inherit : output)
    // The CLI forwards what the terminal sends to the exec'd process.
    execForwardPid = pid
    for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
      signal(sig) { received in if execForwardPid > 0 { kill(execForwardPid, received) } }
    }
    defer { execForwardPid = 0 }
    return exitCode(fromWaitStatus: try waitForExit(pid))
  }
}

nonisolated(unsafe) var execForwardPid: pid_t = 0

enum BerthMonitorBinary {
  static func sameFile(_ a: String, _ b: String) -> Bool {
    var sa = stat()
    var sb = stat()
    guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
  }

  static func isReadOnlyMount(_ path: String) -> Bool {
    var info = statvfs()
    return statvfs(path, &info) == 0 && (info.f_flag & UInt(ST_RDONLY)) != 0
  }
}

/// A monitor spawned before its container exists (`berth-monitor
/// start-when-told`), waiting to be told to start. `run` starts one as soon
/// as it has parsed its flags, for the id its container will get: the
/// monitor's exec, its start-up and its first JSON decodes (about 3 ms)
/// then run on the other CPU while the engine creates the container and
/// writes its files, and `ps` shows from the start which container it is for.
struct PendingMonitor: Sendable {
  let pid: pid_t
  /// The binary it runs: a start that would spawn another cancels it.
  let binary: String
  /// The id the next container created gets, and its run directory.
  let id: String
  let runDirectory: String
  /// The engine's end of the start channel.
  let channel: Int32
  /// The read end of the sync pipe.
  let sync: Int32
  /// The process spawned has been waited for: a rootful one leaves at once
  /// (CMonitorEntry), and is reaped then rather than left a zombie for as
  /// long as its container is not started (a service's `docker create`).
  var reaped = false
}

/// The process's one prestarted monitor: the next create takes its id, and
/// that container's start takes the monitor.
enum PrestartedMonitor {
  static let slot = Mutex<PendingMonitor?>(nil)
  /// Ids of spawns begun and not yet given to a create, newest last.
  static let reserved = Mutex<[String]>([])
  /// Spawns under way on other threads; `take` waits for them.
  static let spawning = DispatchGroup()

  /// Spawns one on another thread: posix_spawn holds its caller until the
  /// child has exec'd a 16 MB binary (about 0.7 ms), which the command's
  /// own thread spends opening the engine meanwhile. Its id is drawn now,
  /// so a create can take it without waiting for the spawn (the API
  /// service creates right after it asks for one).
  /// `networkAhead`: the container will want a new network namespace
  /// (`--network none`), which the monitor makes while it waits.
  static func spawnAhead(runRoot: String, rootless: Bool, networkAhead: Bool = false) {
    let id = ContainerNames.randomID()
    reserved.withLock { ids in
      // Ids of creates that failed before they took one are not kept.
      if ids.count >= 4 { ids.removeFirst() }
      ids.append(id)
    }
    spawning.enter()
    HelperThread.run {
      spawn(id: id, runRoot: runRoot, rootless: rootless, networkAhead: networkAhead)
      spawning.leave()
    }
  }

  /// Spawns one for container `id` under `runRoot` (replacing one not
  /// taken); a failure is left for the start to meet and report.
  static func spawn(id: String, runRoot: String, rootless: Bool, networkAhead: Bool = false) {
    guard let binary = try? MonitorLauncher.protectedBinary(runRoot: runRoot, rootless: rootless),
      var pending = try? MonitorLauncher.prestart(
        binary: binary, id: id, runDirectory: Engine.runDirectory(id, runRoot: runRoot),
        networkAhead: networkAhead)
    else { return }
    if geteuid() == 0 {
      _ = try? waitForExit(pending.pid)
      pending.reaped = true
    }
    let replaced = slot.withLock { held in
      defer { held = pending }
      return held
    }
    if let replaced { MonitorLauncher.cancel(replaced) }
  }

  /// The id for a new container: a prestarted monitor's, each once.
  static func claimID() -> String? {
    reserved.withLock { $0.popLast() }
  }

  /// The prestarted monitor for container `id`, if there is one.
  static func take(id: String) -> PendingMonitor? {
    spawning.wait()
    return slot.withLock { held in
      guard let monitor = held, monitor.id == id else { return nil }
      held = nil
      return monitor
    }
  }
}
