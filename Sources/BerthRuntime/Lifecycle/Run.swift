import BerthOCI
import BerthSystem
import Glibc

/// The pid that signals sent to a foreground `run` or `exec` are forwarded
/// to; read from a signal handler, so a plain global.
nonisolated(unsafe) var forwardSignalsTo: pid_t = 0

/// Forwards the usual terminal and job-control signals to `pid`.
func forwardSignals(to pid: pid_t) {
  forwardSignalsTo = pid
  for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH] {
    signal(sig) { received in
      if forwardSignalsTo > 0 { kill(forwardSignalsTo, received) }
    }
  }
}

extension Runtime {
  /// `run`: create, start, and unless detached wait for the process and
  /// delete the container; returns the exit code (128+N for signal N).
  public func run(_ options: CreateOptions, detach: Bool, keep: Bool = false) throws(BerthError)
    -> Int32
  {
    var options = options
    options.relayTerminal = !detach && options.consoleSocket == nil
    let (record, master) = try createReturningTerminal(options)
    do {
      try start(record)
    } catch {
      if let master { close(master) }
      try? delete(record, force: true)
      throw error
    }
    if detach { return 0 }
    forwardSignals(to: record.pid)
    if let master {
      TerminalRelay.run(master: master)
      close(master)
    }
    let status = try waitForExit(record.pid)
    forwardSignalsTo = 0
    if !keep { try? delete(record, force: true) }
    return exitCode(fromWaitStatus: status)
  }
}
