// Runs a helper program (fuse-overlayfs, fusermount3) with posix_spawn and
// waitpid. Foundation's Process waits for exit through its own monitoring,
// which never saw fuse-overlayfs exit once it had forked its daemon.
import BerthSystem
import Glibc
import SystemPackage

enum Spawn {
  /// Runs `arguments` (argv[0] a path) with stdin and stdout on /dev/null
  /// and stderr appended to `log`; returns the exit status (128+n on signal n).
  static func run(_ arguments: [String], log: String) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
    guard result == 0 else {
      throw BerthError.system("run \(arguments[0])", Errno(rawValue: result))
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
      guard errno == EINTR else {
        throw BerthError.system("wait for \(arguments[0])", Errno(rawValue: errno))
      }
    }
    // WIFEXITED / WEXITSTATUS / WTERMSIG are macros; decode the status word.
    let signal = status & 0x7F
    return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
  }
}
