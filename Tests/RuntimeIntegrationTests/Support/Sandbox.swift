import BerthOCI
import BerthTestSupport
import Foundation
import Testing

/// Where the built binaries and fixtures are.
enum TestEnvironment {
  static let packageRoot = BerthTestSupport.packageRoot

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

    let mountinfo = procFile("/proc/self/mountinfo")
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
    let mountinfo = procFile("/proc/self/mountinfo")
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
