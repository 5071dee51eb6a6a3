// A `--rm` container's directories are renamed aside before its exit is
// reported and deleted after, so a foreground `run --rm` returns without
// waiting for the tree removal (about 2 ms). Each entry is named after the
// monitor that owns it; one whose monitor is gone (killed between the
// rename and the removal) is swept by `Trash.sweep`.
import BerthSystem
import Glibc

public enum Trash {
  /// Renames `path` into `directory` as PID-N-NAME; nil when it cannot (then
  /// the caller removes it in place).
  static func move(_ path: String, into directory: String) -> String? {
    if mkdir(directory, 0o700) != 0 && errno != EEXIST { return nil }
    let name = path.split(separator: "/").last.map(String.init) ?? "entry"
    for attempt in 0..<4 {
      let target = directory + "/\(getpid())-\(attempt)-" + name
      if rename(path, target) == 0 { return target }
      if errno != EEXIST && errno != ENOTEMPTY { return nil }
    }
    return nil
  }

  /// Deletes the entries whose monitor is no longer alive.
  public static func sweep(_ directory: String) {
    for name in listDirectory(directory) {
      guard let pid = name.split(separator: "-").first.flatMap({ pid_t($0) }), pid > 0 else {
        continue
      }
      if kill(pid, 0) == 0 || errno == EPERM { continue }
      try? removeTree(directory + "/" + name)
    }
  }
}
