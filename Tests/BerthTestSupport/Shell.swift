// Running commands from tests.
import Foundation

/// The package's root directory (where Package.swift is), found from this
/// file: the built binaries and fixtures are under its .build.
public let packageRoot: String = {
  var url = URL(fileURLWithPath: #filePath)
  while url.path != "/" {
    url.deleteLastPathComponent()
    if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
  }
  return FileManager.default.currentDirectoryPath
}()

/// The result of running a command.
public struct Output: Sendable {
  public var status: Int32
  public var stdout: String
  public var stderr: String
  public var combined: String { stdout + stderr }
  public init(status: Int32, stdout: String, stderr: String) {
    self.status = status
    self.stdout = stdout
    self.stderr = stderr
  }
}

/// Runs a command and waits; stdin from `input`. posix_spawn and waitpid
/// directly: output goes to files, not pipes, because a detached container
/// inherits stdout and stderr and would hold a pipe open long after the
/// runtime exited.
@discardableResult
public func sh(
  _ args: [String], input: String? = nil, cwd: String? = nil, env: [String: String]? = nil
)
  -> Output
{
  let base = NSTemporaryDirectory() + "berth-io-\(UUID().uuidString)"
  let (inPath, outPath, errPath) = (base + ".in", base + ".out", base + ".err")
  FileManager.default.createFile(atPath: inPath, contents: Data((input ?? "").utf8))
  defer { for p in [inPath, outPath, errPath] { try? FileManager.default.removeItem(atPath: p) } }

  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

  var environment = ProcessInfo.processInfo.environment
  if let env { environment.merge(env) { $1 } }
  // env(1) finds the command in PATH and, with -C, changes directory.
  let path = "/usr/bin/env"
  let argv = (["env"] + (cwd.map { ["-C", $0] } ?? []) + args).map { strdup($0) } + [nil]
  let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
  defer {
    for p in argv { free(p) }
    for p in envp { free(p) }
  }
  // Default dispositions and an empty mask: the test runner's own signal
  // setup must not leak into the commands it runs.
  var attr = posix_spawnattr_t()
  posix_spawnattr_init(&attr)
  defer { posix_spawnattr_destroy(&attr) }
  var all = sigset_t()
  var none = sigset_t()
  sigfillset(&all)
  sigemptyset(&none)
  posix_spawnattr_setsigdefault(&attr, &all)
  posix_spawnattr_setsigmask(&attr, &none)
  posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
  var pid: pid_t = 0
  let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
  guard rc == 0 else { return Output(status: -1, stdout: "", stderr: "spawn \(path): \(rc)") }
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
  let out = FileManager.default.contents(atPath: outPath) ?? Data()
  let err = FileManager.default.contents(atPath: errPath) ?? Data()
  return Output(
    status: code, stdout: String(decoding: out, as: UTF8.self),
    stderr: String(decoding: err, as: UTF8.self))
}

/// Polls `condition` every 50 ms for up to `seconds` (a loaded CI machine
/// is slow); whether it came true.
public func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    if condition() { return true }
    usleep(50_000)
  }
  return condition()
}
