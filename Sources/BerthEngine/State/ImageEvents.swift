// Image events (pull, push, tag, untag, remove, load, save) as podman logs
// them. The store has no database of its own: its callers, the CLI's image
// commands and the API, log what they did once it is done. A failure to
// log does not undo it.
import BerthImage

extension Engine {
  public func recordImageEvent(_ action: String, id: String, name: String) {
    try? database.write { db in
      try EventLog.record(
        db, type: "image", action: action, id: id, name: name, attributes: ["name": name])
    }
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
