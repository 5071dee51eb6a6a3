// Runs a helper program (fuse-overlayfs, fusermount3) through BerthSystem's
// ChildProcess (posix_spawn and waitpid). Foundation's Process waits for exit
// through its own monitoring, which never saw fuse-overlayfs exit once it had
// forked its daemon.
import BerthSystem
import Glibc
import SystemPackage

enum Spawn {
  /// Runs `arguments` (argv[0] a path) with stdin and stdout on /dev/null
  /// and stderr appended to `log`; returns the exit status (128+n on signal n).
  static func run(_ arguments: [String], log: String) throws -> Int32 {
    try ChildProcess.run(
      arguments, stdin: .file("/dev/null", O_RDONLY), stdout: .file("/dev/null", O_WRONLY),
      stderr: .file(log, O_WRONLY | O_CREAT | O_APPEND))
  }
}
