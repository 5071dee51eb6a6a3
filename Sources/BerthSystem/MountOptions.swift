import Glibc

/// The `options` of a spec mount split into what mount(2) takes: flags to
/// set, flags to clear, a propagation change, and the filesystem data string.
public struct MountOptions: Equatable, Sendable {
  public var flags: UInt = 0
  public var clearedFlags: UInt = 0
  public var propagation: UInt = 0
  public var data: [String] = []
  public var isBind = false
  public var isRecursive = false
  /// `tmpcopyup` and the other options the runtime acts on itself.
  public var extensions: Set<String> = []

  public init() {}

  static let setFlags: [String: UInt] = [
    "ro": UInt(MS_RDONLY), "nosuid": UInt(MS_NOSUID), "nodev": UInt(MS_NODEV),
    "noexec": UInt(MS_NOEXEC), "sync": UInt(MS_SYNCHRONOUS), "dirsync": UInt(MS_DIRSYNC),
    "remount": UInt(MS_REMOUNT), "mand": UInt(MS_MANDLOCK), "noatime": UInt(MS_NOATIME),
    "nodiratime": UInt(MS_NODIRATIME), "relatime": UInt(MS_RELATIME),
    "strictatime": UInt(MS_STRICTATIME), "silent": UInt(MS_SILENT),
  ]
  static let clearFlags: [String: UInt] = [
    "rw": UInt(MS_RDONLY), "suid": UInt(MS_NOSUID), "dev": UInt(MS_NODEV),
    "exec": UInt(MS_NOEXEC), "async": UInt(MS_SYNCHRONOUS), "nomand": UInt(MS_MANDLOCK),
    "atime": UInt(MS_NOATIME), "diratime": UInt(MS_NODIRATIME), "norelatime": UInt(MS_RELATIME),
    "nostrictatime": UInt(MS_STRICTATIME), "loud": UInt(MS_SILENT),
  ]
  static let propagations: [String: UInt] = [
    "private": UInt(MS_PRIVATE), "rprivate": UInt(MS_PRIVATE | MS_REC),
    "shared": UInt(MS_SHARED), "rshared": UInt(MS_SHARED | MS_REC),
    "slave": UInt(MS_SLAVE), "rslave": UInt(MS_SLAVE | MS_REC),
    "unbindable": UInt(MS_UNBINDABLE), "runbindable": UInt(MS_UNBINDABLE | MS_REC),
  ]
  static let runtimeExtensions: Set<String> = ["tmpcopyup", "idmap", "ridmap", "copy-symlink"]

  /// Parses a spec mount's options; anything not a flag is filesystem data.
  public static func parse(_ options: [String]) -> MountOptions {
    var result = MountOptions()
    for option in options {
      if option == "bind" {
        result.isBind = true
      } else if option == "rbind" {
        result.isBind = true
        result.isRecursive = true
      } else if let flag = setFlags[option] {
        result.flags |= flag
        result.clearedFlags &= ~flag
      } else if let flag = clearFlags[option] {
        result.flags &= ~flag
        result.clearedFlags |= flag
      } else if let prop = propagations[option] {
        result.propagation = prop
      } else if runtimeExtensions.contains(option) {
        result.extensions.insert(option)
      } else if option == "defaults" {
        continue
      } else {
        result.data.append(option)
      }
    }
    return result
  }

  public var dataString: String { data.joined(separator: ",") }

  /// Every option name the parser understands, for `features`.
  public static var known: [String] {
    (Array(setFlags.keys) + Array(clearFlags.keys) + Array(propagations.keys)
      + Array(runtimeExtensions) + ["bind", "rbind", "defaults"]).sorted()
  }
}
