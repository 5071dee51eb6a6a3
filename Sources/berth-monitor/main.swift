// berth-monitor: started by `berth` with posix_spawn, never as a fork of
// the (possibly multithreaded) CLI. It is single-threaded from start to
// exit, so it may clone containers through BerthRuntime in process.
//   berth-monitor start RUNDIR SYNC_FD ATTACH_FD   watch one container
//   berth-monitor start-when-told RUNDIR CHANNEL_FD SYNC_FD [--netns]
//       the same, started before the container's files exist: it readies
//       itself (with --netns, as root, it makes the container's network
//       namespace too), then starts when the channel says so (passing an
//       attach connection), or exits if it closes first
//       (MonitorLauncher.prestart)
//   berth-monitor exec RUNTIME_ROOT ID PROCESS_JSON RUNDIR [--detach]
//   berth-monitor dns RECORDS_FILE LISTEN_ADDRS UPSTREAM_ADDRS
//       a network's DNS responder on port 53 (comma-separated addresses,
//       UPSTREAM_ADDRS may be ""); it exits 0 once RECORDS_FILE is deleted
//   berth-monitor nethost RUNROOT READY_FD GO_FD
//       the user's rootless network host (BerthMonitor/NetworkHost.swift)
//   berth-monitor portproxy PID RUNROOT ID MONITOR_PID TARGET...
//       a rootless bridge container's published TCP and UDP ports (PortProxy.swift)
//   berth-monitor nsexec PID RUNROOT PROGRAM ARGS...
//       PROGRAM in that network host's user and network namespaces
import BerthMonitor
import BerthOCI
import BerthRuntime
import BerthSystem
import CBerth
import CMonitorEntry
import FoundationEssentials
import Glibc

let arguments = CommandLine.arguments

func fail(_ message: String, code: Int32 = EngineExit.engineError) -> Never {
  let line = "Error: " + message + "\n"
  _ = line.withCString { write(2, $0, strlen($0)) }
  exit(code)
}

// A network's DNS responder never enters a container: it needs no
// protected copy of this binary (below), so it starts before that check.
if arguments.count == 5 && arguments[1] == "dns" {
  // Its own session: a ctrl-c at the terminal of the `berth run` that
  // started it must not end the network's names for every container.
  setsid()
  let list = { (text: String) in text.split(separator: ",").map(String.init) }
  exit(
    DNSResponder.run(
      records: arguments[2], listen: list(arguments[3]), upstream: list(arguments[4])))
}

// The rootless network host and what runs in it never enter a container
// either.
if arguments.count == 5 && arguments[1] == "nethost" {
  NetworkHost.run(ready: Int32(arguments[3]) ?? -1, go: Int32(arguments[4]) ?? -1)
}
if arguments.count >= 7 && arguments[1] == "portproxy" {
  // portproxy HOST_PID RUNROOT ID MONITOR_PID TARGET..., listeners on 3...
  let targets = Array(arguments[6...])
  do {
    try NetworkHost.join(pid: pid_t(arguments[2]) ?? -1, runRoot: arguments[3])
  } catch {
    fail(error.description)
  }
  PortProxy.run(
    listeners: targets.indices.map { Int32(3 + $0) }, targets: targets,
    monitor: pid_t(arguments[5]) ?? -1)
}
if arguments.count >= 5 && arguments[1] == "nsexec" {
  do {
    try NetworkHost.exec(
      pid: pid_t(arguments[2]) ?? -1, runRoot: arguments[3], arguments: Array(arguments[4...]))
  } catch {
    fail(error.description)
  }
}

// Every process that enters a container runs from a binary nothing can
// write (CVE-2019-5736): the engine spawns us from a read-only bind mount;
// anywhere else we re-execute from a protected copy first. A rootless
// caller cannot write a binary only root may write, nor can anything it
// starts (its user namespace gives no power over root's files).
func onlyRootMayWrite(_ path: String) -> Bool {
  var st = stat()
  return stat(path, &st) == 0 && st.st_uid == 0 && (st.st_mode & 0o022) == 0
}
if !(geteuid() != 0 && onlyRootMayWrite("/proc/self/exe")) {
  do {
    try BinaryProtection.ensure(arguments: arguments)
  } catch {
    fail(error.description)
  }
}

Trace.mark("monitor: main")
guard arguments.count >= 2 else { fail("usage: berth-monitor start|exec|dns ...") }
/// Its own session, the subreaper of what it starts, nothing blocked (the
/// container inherits the signal mask), SIGPIPE ignored.
func becomeMonitor() {
  setsid()
  _ = berth_set_child_subreaper()
  var none = sigset_t()
  sigemptyset(&none)
  sigprocmask(SIG_SETMASK, &none, nil)
  signal(SIGPIPE, SIG_IGN)
}

/// Watches the container whose files are in `runDirectory`. `detached`:
/// this process already left its starter (a rootful monitor started ahead).
func startMonitor(
  runDirectory: String, syncFD: Int32, attachFD: Int32, detached: Bool = false,
  rootfsGate: Int32 = -1, networkNamespaceAhead: Int32 = -1
) -> Never {
  let loaded = Result { () throws(BerthError) in try MonitorConfig.load(runDirectory: runDirectory)
  }
  let config = try? loaded.get()
  let rootless = config?.uidMappings != nil
  if detached && rootless {
    let message = "error a rootless monitor cannot be started ahead as root\n"
    _ = message.withCString { write(syncFD, $0, strlen($0)) }
    exit(EngineExit.engineError)
  }
  var ready: (read: Int32, write: Int32) = (-1, -1)
  var go: (read: Int32, write: Int32) = (-1, -1)
  // slirp4netns ends when the monitor's end of this pipe closes.
  var slirpExit: (read: Int32, write: Int32) = (-1, -1)
  if config?.slirp4netns != nil {
    guard let pipe = try? makePipe() else { fail("cannot make pipes") }
    slirpExit = pipe
  }
  if rootless {
    guard let first = try? makePipe(), let second = try? makePipe() else {
      fail("cannot make pipes")
    }
    ready = first
    go = second
  }
  // Away from the starter: it reaps this first process at once, and the
  // monitor lives on in its own session, the subreaper of what it starts.
  let child = detached ? 0 : fork()
  if child < 0 { fail("cannot fork the monitor") }
  if child > 0 {
    if rootless, let config {
      close(ready.write)
      close(go.read)
      do {
        close(slirpExit.write)
        try RootlessNamespace.mapChild(
          child, config: config, ready: ready.read, go: go.write, slirpExit: slirpExit.read)
      } catch {
        let message = "error \(error.description)\n"
        _ = message.withCString { write(syncFD, $0, strlen($0)) }
        kill(child, SIGKILL)
        exit(EngineExit.engineError)
      }
    }
    exit(0)
  }
  if !detached { becomeMonitor() }
  if slirpExit.read >= 0 { close(slirpExit.read) }
  // Nothing of ours beyond stdio may reach a runtime we spawn (--runtime):
  // the sync pipe and attach socket are close-on-exec from here on.
  try? closeOnExecFrom(3)
  let logFD = open(
    runDirectory + "/" + RunFiles.monitorLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
  let null = open("/dev/null", O_RDWR | O_CLOEXEC)
  dup2(null, 0)
  dup2(null, 1)
  dup2(logFD >= 0 ? logFD : null, 2)
  // Only the copies on 0, 1 and 2 stay.
  close(null)
  if logFD >= 0 { close(logFD) }
  do {
    if rootless, let config {
      close(ready.read)
      close(go.write)
      try RootlessNamespace.enter(config: config, ready: ready.write, go: go.read)
    }
    var monitor = try Monitor(runDirectory: runDirectory, config: loaded.get())
    monitor.rootfsGate = rootfsGate
    monitor.networkNamespaceAhead = networkNamespaceAhead
    monitor.run(syncFD: syncFD, attachFD: attachFD)
  } catch {
    let message = "error \(error.description)\n"
    _ = message.withCString { write(syncFD, $0, strlen($0)) }
    exit(EngineExit.engineError)
  }
}

switch arguments[1] {
case "start" where arguments.count == 5:
  startMonitor(
    runDirectory: arguments[2], syncFD: Int32(arguments[3]) ?? -1,
    attachFD: Int32(arguments[4]) ?? -1)
case "start-when-told"
where arguments.count == 5 || (arguments.count == 6 && arguments[5] == "--netns"):
  let runDirectory = arguments[2]
  let channel = Int32(arguments[3]) ?? -1
  // As root the fork away from the starter needs nothing from the config,
  // so it happens now (rootless, the first process maps the second's ids
  // from the config, and forks when told).
  let detached = geteuid() == 0
  if detached {
    // Usually done already, before main (CMonitorEntry).
    if berth_monitor_detached_early() == 0 {
      let child = fork()
      if child < 0 { fail("cannot fork the monitor") }
      if child > 0 { exit(0) }
    }
    becomeMonitor()
  }
  // A new network namespace is the costliest part of the container's
  // clone: made now, while the engine still works, the clone joins it.
  let wantsNetwork = arguments.count == 6
  let networkAhead = detached && wantsNetwork ? NetworkNamespace.makeHeld() ?? -1 : -1
  // What the first decode of a monitor config and a runtime spec costs
  // (type metadata, conformance lookups, code paged in) is paid now, while
  // the engine still writes them.
  DecoderWarmUp.run()
  guard let told = PrestartChannel.receive(channel), told.runDirectory == runDirectory else {
    exit(0)
  }
  // Kept: the engine may tell when the rootfs is mounted (awaitRootfs).
  startMonitor(
    runDirectory: runDirectory, syncFD: Int32(arguments[4]) ?? -1, attachFD: told.attachFD,
    detached: detached, rootfsGate: channel, networkNamespaceAhead: networkAhead)
case "exec" where arguments.count >= 6:
  do {
    let bytes = try readFile(arguments[4], limit: 4 << 20)
    let process = try JSONDecoder().decode(Spec.Process.self, from: Data(bytes))
    let runtimePath = arguments.first { $0.hasPrefix("--runtime=") }.map {
      String($0.dropFirst(10))
    }
    let code = try ExecSession.run(
      runtimeRoot: arguments[2], id: arguments[3], process: process,
      detach: arguments.contains("--detach"), socketDirectory: arguments[5],
      runtimePath: runtimePath)
    exit(code)
  } catch let error as BerthError {
    fail(error.description, code: EngineExit.code(forStartError: error.description))
  } catch {
    fail("cannot decode the process to exec: \(error)")
  }
default:
  fail(
    "usage: berth-monitor start RUNDIR SYNC_FD ATTACH_FD | exec ROOT ID PROCESS RUNDIR"
      + " | dns RECORDS LISTEN UPSTREAM")
}
