// Health checks run by the monitor itself (podman needs systemd timers for
// this): the check is exec'd into the container every interval, its output
// kept, and after `retries` failures in a row the container is unhealthy.
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials
import Glibc

extension Monitor {
  /// Starts a check when one is due, and ends one that ran past its timeout.
  mutating func healthTimers() {
    guard let config = config.health, status.state == .running else { return }
    let now = monotonicMilliseconds()
    if let run = health {
      if now >= run.deadline {
        Glibc.kill(run.pid, SIGKILL)
        healthCheckEnded(timedOut: true)
      }
      return
    }
    guard now >= nextHealthCheck else { return }
    nextHealthCheck = now + Int64(max(config.intervalSeconds, 0.1) * 1000)
    startHealthCheck(config)
  }

  mutating func startHealthCheck(_ config: HealthConfig) {
    guard let command = config.command else { return }
    let started = rfc3339Now()
    if let external {
      startExternalHealthCheck(external, command: command, config: config, started: started)
      return
    }
    do {
      let record = try runtime.store.load(self.config.id)
      guard var process = record.spec.process else { return }
      process.args = command
      process.terminal = false
      var options = ExecOptions(id: self.config.id, process: process)
      options.detach = true
      let pidFile = runDirectory + "/health.pid"
      options.pidFile = pidFile
      let pipe = try makePipe()
      defer { close(pipe.write) }
      let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
      defer { close(devNull) }
      try withStdio(devNull, pipe.write, pipe.write) { () throws(BerthError) in
        _ = try runtime.exec(options, record: record)
      }
      try begin(
        pidFile: pidFile, output: pipe.read, started: started, timeout: config.timeoutSeconds)
    } catch {
      record(
        HealthLogEntry(start: started, end: rfc3339Now(), exitCode: 125, output: error.description))
    }
  }

  mutating func startExternalHealthCheck(
    _ oci: OCIRuntimeCommand, command: [String], config: HealthConfig, started: String
  ) {
    let pidFile = runDirectory + "/health.pid"
    let processFile = runDirectory + "/health.json"
    do {
      let bytes = try readFile(self.config.bundle + "/config.json", limit: 16 << 20)
      guard var process = try JSONDecoder().decode(Spec.self, from: Data(bytes)).process else {
        return
      }
      process.args = command
      process.terminal = false
      try writeFileAtomically(processFile, Array(try JSONEncoder().encode(process)), durable: false)
      let pipe = try makePipe()
      defer { close(pipe.write) }
      try oci.run(
        ["exec", "--detach", "--pid-file", pidFile, "--process", processFile, self.config.id],
        stdout: .fd(pipe.write), stderr: .fd(pipe.write))
      try begin(
        pidFile: pidFile, output: pipe.read, started: started, timeout: config.timeoutSeconds)
    } catch {
      record(
        HealthLogEntry(start: started, end: rfc3339Now(), exitCode: 125, output: "\(error)"))
    }
  }

  /// Tracks a check the runtime started detached, by the pid it wrote.
  mutating func begin(pidFile: String, output: Int32, started: String, timeout: Double)
    throws(BerthError)
  {
    let text = String(decoding: try readFile(pidFile, limit: 64), as: UTF8.self)
    unlink(pidFile)
    guard let pid = pid_t(text.trimmed) else {
      close(output)
      throw BerthError(.internalError, "the health check's exec wrote no pid")
    }
    health = HealthRun(
      pid: pid, pidFD: pidfdOpen(pid), outputFD: output, started: started,
      deadline: monotonicMilliseconds() + Int64(max(timeout, 0.1) * 1000))
  }

  /// Collects a check's result (a timed-out one counts as failed).
  mutating func healthCheckEnded(timedOut: Bool) {
    guard let run = health else { return }
    var waitStatus: Int32 = 0
    let code =
      waitpid(run.pid, &waitStatus, 0) == run.pid ? exitCode(fromWaitStatus: waitStatus) : 1
    if run.pidFD >= 0 { close(run.pidFD) }
    var output = run.output
    if run.outputFD >= 0 {
      _ = fcntl(run.outputFD, F_SETFL, O_NONBLOCK)
      var buffer = [UInt8](repeating: 0, count: 4096)
      while output.count < 4096 {
        let got = read(run.outputFD, &buffer, buffer.count)
        if got <= 0 { break }
        output += buffer[0..<got]
      }
      close(run.outputFD)
    }
    health = nil
    // A check cloned from this process (in-process runtime) dirtied pages.
    if external == nil { scheduleTrim(at: monotonicMilliseconds() + 100, again: false) }
    let text = timedOut ? "health check timed out" : String(decoding: output, as: UTF8.self)
    record(
      HealthLogEntry(
        start: run.started, end: rfc3339Now(), exitCode: timedOut ? 1 : code, output: text))
  }

  mutating func record(_ entry: HealthLogEntry) {
    guard let config = config.health else { return }
    status.healthLog.append(entry)
    if status.healthLog.count > 5 { status.healthLog.removeFirst() }
    if entry.exitCode == 0 {
      status.failingStreak = 0
      status.health = "healthy"
    } else {
      status.failingStreak += 1
      // Failures inside the start period do not count against the container.
      if let started = status.startedAt, inStartPeriod(started, config) {
        status.failingStreak = 0
      } else if status.failingStreak >= max(config.retries, 1) {
        status.health = "unhealthy"
      }
    }
    try? status.save(statusPath)
  }

  func inStartPeriod(_ startedAt: String, _ config: HealthConfig) -> Bool {
    config.startPeriodSeconds > 0
      && Double(monotonicMilliseconds() - launchedAt) / 1000 < config.startPeriodSeconds
  }
}
