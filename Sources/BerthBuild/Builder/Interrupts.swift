// ctrl-c during a build: the RUN in progress gets the signal (the attach
// session forwards it) and fails; between steps the flag set here stops
// the build. Either way the step's container and snapshots are removed on
// the way out, so nothing half-built is left.
import BerthEngine
import BerthImage
import BerthSystem
import Glibc

nonisolated(unsafe) var buildInterrupted: sig_atomic_t = 0

public enum BuildInterrupt {
  /// (Re)installs the handlers; an attach session replaces them while a RUN runs.
  public static func install() {
    for sig in [SIGINT, SIGTERM, SIGHUP] {
      signal(sig) { _ in buildInterrupted = 1 }
    }
  }

  static func check() throws {
    if buildInterrupted != 0 {
      throw BerthError(.invalidState, "the build was interrupted", hint: "nothing was tagged")
    }
  }
}

/// RUN containers and snapshots in use, removed if the build is abandoned.
final class ActiveSteps: @unchecked Sendable {
  private let items = Locked<(containers: Set<String>, snapshots: Set<String>)>(([], []))

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
