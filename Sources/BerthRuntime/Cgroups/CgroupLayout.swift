import BerthSystem
import Glibc

/// Where the cgroup hierarchies are mounted on this host: cgroup v2 alone
/// (unified), or v1 controllers with an optional cgroup2 beside them (the
/// hybrid layout systemd sets up, and what this machine has).
public struct CgroupLayout: Sendable, Equatable {
  public struct Hierarchy: Sendable, Equatable {
    /// Mount point, e.g. /sys/fs/cgroup/memory.
    public var mountPoint: String
    /// The path inside the hierarchy the mount shows at its root.
    public var mountRoot: String
    /// Controllers ("cpu", "cpuacct") or "name=systemd"; empty for cgroup2.
    public var controllers: [String]
    public var isV2: Bool
  }

  public var hierarchies: [Hierarchy]

  /// True when the host has only cgroup v2.
  public var isUnified: Bool { hierarchies.count == 1 && hierarchies[0].isV2 }

  public static func current() -> CgroupLayout {
    let text = (try? readFile("/proc/self/mountinfo")).map { String(decoding: $0, as: UTF8.self) }
    return parse(mountinfo: text ?? "")
  }

  /// Parses /proc/self/mountinfo, keeping one mount per hierarchy.
  public static func parse(mountinfo: String) -> CgroupLayout {
    var seen = Set<String>()
    var result: [Hierarchy] = []
    for line in mountinfo.split(separator: "\n") {
      let parts = line.split(separator: " ", omittingEmptySubsequences: false)
      guard let dash = parts.firstIndex(of: "-"), dash + 3 < parts.count, parts.count > 4 else {
        continue
      }
      let fstype = parts[dash + 1]
      guard fstype == "cgroup" || fstype == "cgroup2" else { continue }
      let isV2 = fstype == "cgroup2"
      let controllers: [String] =
        isV2 ? [] : parts[dash + 3].split(separator: ",").map(String.init).filter(isController)
      let key = isV2 ? "cgroup2" : controllers.joined(separator: ",")
      guard !seen.contains(key) else { continue }
      seen.insert(key)
      result.append(
        Hierarchy(
          mountPoint: unescapeMountinfo(String(parts[4])), mountRoot: String(parts[3]),
          controllers: controllers, isV2: isV2))
    }
    return CgroupLayout(hierarchies: result)
  }

  /// Super options of a v1 cgroup mount that are not controller names.
  static let mountOptions: Set<String> = [
    "rw", "ro", "relatime", "noprefix", "xattr", "clone_children", "nosuid", "nodev", "noexec",
  ]
  static func isController(_ option: String) -> Bool {
    !mountOptions.contains(option) && !option.hasPrefix("release_agent")
  }

  static func unescapeMountinfo(_ s: String) -> String {
    // Most paths have no escapes; `replacing` is a generic collection
    // algorithm, slow to start in a process that lives milliseconds.
    s.utf8.contains(UInt8(ascii: "\\")) ? s.replacing("\\040", with: " ") : s
  }

  /// The cgroup this process is in, per hierarchy (from /proc/PID/cgroup).
  public static func cgroupsOf(pid: String = "self") -> [String: String] {
    guard let bytes = try? readFile("/proc/\(pid)/cgroup") else { return [:] }
    var result: [String: String] = [:]
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
      guard parts.count == 3 else { continue }
      let key = parts[1].isEmpty ? "cgroup2" : String(parts[1])
      result[key] = String(parts[2])
    }
    return result
  }

  public func key(of hierarchy: Hierarchy) -> String {
    hierarchy.isV2 ? "cgroup2" : hierarchy.controllers.joined(separator: ",")
  }
}
