import BerthOCI
import Foundation
import Testing

/// Where the built binaries and fixtures are.
enum TestEnvironment {
  static let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
    }
    return FileManager.default.currentDirectoryPath
  }()

  static let runtime =
    ProcessInfo.processInfo.environment["BERTH_RUNTIME"]
    ?? packageRoot + "/.build/debug/berth-runtime"
  static let fixtures =
    ProcessInfo.processInfo.environment["BERTH_FIXTURES"] ?? packageRoot + "/.build/fixtures"
  static let busyboxRootfs = fixtures + "/busybox/rootfs"

  static let isRoot = geteuid() == 0
  static let hasBusybox = FileManager.default.fileExists(atPath: busyboxRootfs + "/bin/busybox")
  /// Containers need root and the busybox fixture (scripts/test.sh makes it).
  static let canRunContainers = isRoot && hasBusybox
  static func hasCommand(_ name: String) -> Bool {
    ["/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"].contains {
      FileManager.default.isExecutableFile(atPath: $0 + name)
    }
  }
}

/// The result of running a command.
struct Output {
  var status: Int32
  var stdout: String
  var stderr: String
  var combined: String { stdout + stderr }
}

/// Runs a command and waits; stdin from `input`. posix_spawn and waitpid
/// directly: output goes to files, not pipes, because a detached container
/// inherits stdout and stderr and would hold a pipe open long after the
/// runtime exited.
@discardableResult
func sh(_ args: [String], input: String? = nil, cwd: String? = nil, env: [String: String]? = nil)
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

/// One test's world: a temp directory, its own runtime --root, and its own
/// cgroup parent. `finish()` checks that nothing leaked and cleans up.
final class Sandbox {
  let dir: String
  let stateRoot: String
  let cgroupParent: String
  let name: String

  init(_ label: String = "t") {
    name = "berth-it-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
    dir = NSTemporaryDirectory() + name
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    stateRoot = dir + "/state"
    cgroupParent = "/" + name
  }

  /// Runs berth-runtime with this sandbox's --root.
  @discardableResult
  func runtime(_ args: [String], input: String? = nil, cwd: String? = nil) -> Output {
    sh([TestEnvironment.runtime, "--root", stateRoot] + args, input: input, cwd: cwd)
  }

  /// A busybox spec: no terminal, rootfs shared read-only between tests
  /// unless `ownRootfs`, cgroups under this sandbox's parent.
  func spec(_ args: [String], id: String = "c") -> Spec {
    var spec = Spec.runtimeDefault(rootless: false)
    spec.process?.terminal = false
    spec.process?.args = args
    spec.root = Spec.Root(path: TestEnvironment.busyboxRootfs, readonly: true)
    spec.linux?.cgroupsPath = cgroupParent + "/" + id
    return spec
  }

  /// A copy of the busybox rootfs this test may change.
  func copyRootfs() -> String {
    let path = dir + "/rootfs"
    sh(["cp", "-a", TestEnvironment.busyboxRootfs, path])
    return path
  }

  /// Writes `spec` as a bundle and returns the bundle directory.
  func bundle(_ spec: Spec, name: String = "bundle") -> String {
    let path = dir + "/" + name
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted]
    let data = try! encoder.encode(spec)
    FileManager.default.createFile(atPath: path + "/config.json", contents: data)
    return path
  }

  /// `run` of a spec in a fresh bundle; returns the output.
  func run(_ spec: Spec, id: String = "c", extra: [String] = []) -> Output {
    let bundle = bundle(spec, name: "bundle-\(id)")
    return runtime(["run", "--bundle", bundle] + extra + [id])
  }

  func state(_ id: String) -> [String: Any]? {
    let out = runtime(["state", id])
    guard out.status == 0 else { return nil }
    return try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
  }

  /// Leak check: no state directory, no mount under the sandbox, no cgroup
  /// below its parent, no process left in it. Then removes everything.
  func finish(sourceLocation: SourceLocation = #_sourceLocation) {
    let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: stateRoot)) ?? []
    #expect(
      leftovers.isEmpty, "state directories left behind: \(leftovers)",
      sourceLocation: sourceLocation)
    for id in leftovers { runtime(["delete", "--force", id]) }

    let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    let mounts = mountinfo.split(separator: "\n").filter { $0.contains(dir) }
    #expect(mounts.isEmpty, "mounts left behind: \(mounts)", sourceLocation: sourceLocation)
    for line in mounts {
      let fields = line.split(separator: " ")
      if fields.count > 4 { sh(["umount", "-l", String(fields[4])]) }
    }

    var cgroupLeft: [String] = []
    for hierarchy in cgroupHierarchies() {
      let parent = hierarchy + cgroupParent
      guard FileManager.default.fileExists(atPath: parent) else { continue }
      let children = subdirectories(parent)
      cgroupLeft += children
      for child in children.reversed() {
        if let procs = try? String(contentsOfFile: child + "/cgroup.procs", encoding: .utf8) {
          for pid in procs.split(separator: "\n") { kill(pid_t(pid) ?? 0, SIGKILL) }
        }
        for _ in 0..<50 where rmdir(child) != 0 { usleep(20_000) }
      }
      rmdir(parent)
    }
    #expect(
      cgroupLeft.isEmpty, "cgroups left behind: \(cgroupLeft)", sourceLocation: sourceLocation)
    sh(["rm", "-rf", dir])
  }

  func cgroupHierarchies() -> [String] {
    let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    return mountinfo.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: " ")
      guard let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count,
        fields[dash + 1] == "cgroup" || fields[dash + 1] == "cgroup2"
      else { return nil }
      return String(fields[4])
    }
  }

  func subdirectories(_ path: String) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: path) else { return [] }
    var dirs: [String] = []
    while let item = e.nextObject() as? String {
      var isDir: ObjCBool = false
      if FileManager.default.fileExists(atPath: path + "/" + item, isDirectory: &isDir),
        isDir.boolValue
      {
        dirs.append(path + "/" + item)
      }
    }
    return dirs.sorted()
  }
}
