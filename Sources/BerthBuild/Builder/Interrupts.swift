// ctrl-c during a build: the RUN in progress gets the signal (the attach
// session forwards it) and fails; between steps the flag set here stops
// the build. Either way the step's container and snapshots are removed on
// the way out, so nothing half-built is left.
import BerthEngine
import BerthImage
import BerthSystem
import Glibc
import Synchronization

nonisolated(unsafe) var buildInterrupted: sig_atomic_t = 0
/// The init pids of RUN steps in progress, which the handler kills: a
/// fixed table of plain words, all a signal handler may touch.
nonisolated(unsafe) let runningSteps = UnsafeMutablePointer<pid_t>.allocate(capacity: 64)
let runningStepsInit: Void = runningSteps.initialize(repeating: 0, count: 64)
let runningStepsLock = Mutex<Void>(())

public enum BuildInterrupt {
  public static func install() {
    _ = runningStepsInit
    for sig in [SIGINT, SIGTERM, SIGHUP] {
      signal(sig) { _ in
        buildInterrupted = 1
        for index in 0..<64 where runningSteps[index] > 0 { kill(runningSteps[index], SIGKILL) }
      }
    }
  }

  /// Records a RUN's init pid for the handler; returns its slot.
  static func track(_ pid: pid_t) -> Int {
    _ = runningStepsInit
    return runningStepsLock.withLock { _ in
      for index in 0..<64 where runningSteps[index] == 0 {
        runningSteps[index] = pid
        return index
      }
      return -1
    }
  }

  static func untrack(_ slot: Int) {
    if slot >= 0 { runningSteps[slot] = 0 }
  }

  static func check() throws {
    if buildInterrupted != 0 {
      throw BerthError(.invalidState, "the build was interrupted", hint: "nothing was tagged")
    }
  }
}

/// RUN containers and snapshots in use, removed if the build is abandoned.
final class ActiveSteps: @unchecked Sendable {
  private let items = Mutex<(containers: Set<String>, snapshots: Set<String>)>(([], []))

  func add(_ container: String) { items.withLock { _ = $0.containers.insert(container) } }
  func remove(_ container: String) { items.withLock { _ = $0.containers.remove(container) } }
  func addSnapshot(_ id: String) { items.withLock { _ = $0.snapshots.insert(id) } }
  func removeSnapshot(_ id: String) { items.withLock { _ = $0.snapshots.remove(id) } }

  /// Removes what is left (a step that threw cleans its own; this is the net).
  func removeAll(engine: Engine) {
    let (containers, snapshots) = items.withLock { ($0.containers, $0.snapshots) }
    for id in containers { _ = try? engine.removeContainer(id, force: true, volumes: true) }
    for id in snapshots {
      try? engine.store.unmountSnapshot(id: id)
      try? engine.store.removeSnapshot(id: id)
    }
  }
}
