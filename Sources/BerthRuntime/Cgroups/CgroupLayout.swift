import BerthSystem
import Glibc

/// Where the cgroup hierarchies are mounted on this host: cgroup v2 alone
/// (unified), or v1 controllers with an optional cgroup2 beside them (the
/// hybrid layout systemd sets up, and what this machine has).
public struct CgroupLayout: Codable, Sendable, Equatable {
  public struct Hierarchy: Codable, Sendable, Equatable {
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
    parse(mountinfo: (try? readFile("/proc/self/mountinfo")) ?? [])
  }

  public static func parse(mountinfo: String) -> CgroupLayout {
    parse(mountinfo: Array(mountinfo.utf8))
  }

  /// Parses /proc/self/mountinfo, keeping one mount per hierarchy. It works
  /// on bytes: every `run` reads it twice (CLI and monitor), and splitting
  /// it as Strings (grapheme by grapheme) cost more than the kernel's
  /// making of it. Only the cgroup lines become Strings.
  public static func parse(mountinfo: [UInt8]) -> CgroupLayout {
    var seen = Set<String>()
    var result: [Hierarchy] = []
    for line in mountinfo.split(separator: UInt8(ascii: "\n")) {
      let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
      guard let dash = parts.firstIndex(where: { $0.count == 1 && $0.first == UInt8(ascii: "-") }),
        dash + 3 < parts.count, parts.count > 4
      else { continue }
      let fstype = parts[dash + 1]
      let isV2 = fstype.elementsEqual("cgroup2".utf8)
      guard isV2 || fstype.elementsEqual("cgroup".utf8) else { continue }
      let controllers: [String] =
        isV2
        ? []
        : parts[dash + 3].split(separator: UInt8(ascii: ",")).map {
          String(decoding: $0, as: UTF8.self)
        }
        .filter(isController)
      let key = isV2 ? "cgroup2" : controllers.joined(separator: ",")
      guard seen.insert(key).inserted else { continue }
      result.append(
        Hierarchy(
          mountPoint: unescapeMountinfo(parts[4]), mountRoot: unescapeMountinfo(parts[3]),
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

  /// mountinfo writes a space, tab, newline or backslash in a path as a
  /// backslash and three octal digits.
  static func unescapeMountinfo(_ field: ArraySlice<UInt8>) -> String {
    guard field.contains(UInt8(ascii: "\\")) else { return String(decoding: field, as: UTF8.self) }
    var out: [UInt8] = []
    var i = field.startIndex
    while i < field.endIndex {
      if field[i] == UInt8(ascii: "\\"), i + 4 <= field.endIndex,
        let value = octal(field[(i + 1)..<(i + 4)])
      {
        out.append(value)
        i += 4
      } else {
        out.append(field[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
    var value = 0
    for digit in digits {
      guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
      value = value * 8 + Int(digit - UInt8(ascii: "0"))
    }
    return value <= 255 ? UInt8(value) : nil
  }

  /// The cgroup this process is in, per hierarchy (from /proc/PID/cgroup).
  public static func cgroupsOf(pid: String = "self") -> [String: String] {
    guard let bytes = try? readFile("/proc/\(pid)/cgroup") else { return [:] }
    var result: [String: String] = [:]
    for line in bytes.split(separator: UInt8(ascii: "\n")) {
      let parts = line.split(
        separator: UInt8(ascii: ":"), maxSplits: 2, omittingEmptySubsequences: false)
      guard parts.count == 3 else { continue }
      let key = parts[1].isEmpty ? "cgroup2" : String(decoding: parts[1], as: UTF8.self)
      result[key] = String(decoding: parts[2], as: UTF8.self)
    }
    return result
  }

  public func key(of hierarchy: Hierarchy) -> String {
    hierarchy.isV2 ? "cgroup2" : hierarchy.controllers.joined(separator: ",")
  }
}
