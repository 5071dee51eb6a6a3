// Events that come with no state change of the engine's own: what a user
// did to a container (kill, stop, exec) and what the image store did
// (pull, push, tag, untag, remove, load), as docker and podman log them.
// The store has no database; its callers, the CLI's image commands and the
// API, log each once it is done. A failure to log does not undo it.
import BerthImage

extension Engine {
  func logEvent(
    type: String, action: String, id: String, name: String, attributes: [String: String]
  ) {
    try? database.write { db in
      try EventLog.record(
        db, type: type, action: action, id: id, name: name, attributes: attributes)
    }
  }

  func recordEvent(_ container: Container, _ action: String, _ extra: [String: String] = [:]) {
    logEvent(
      type: "container", action: action, id: container.id, name: container.name,
      attributes: ["image": container.imageName].merging(extra) { _, new in new })
  }

  public func recordImageEvent(_ action: String, id: String, name: String) {
    logEvent(type: "image", action: action, id: id, name: name, attributes: ["name": name])
  }

  /// `rmi`'s output lines ("Untagged: NAME", "Deleted: ID") as events.
  public func recordImageRemoval(_ lines: [String], id: String) {
    for line in lines {
      if line.hasPrefix("Untagged: ") {
        recordImageEvent("untag", id: id, name: String(line.dropFirst("Untagged: ".count)))
      } else if line.hasPrefix("Deleted: ") {
        recordImageEvent("remove", id: id, name: id)
      }
    }
  }
}
