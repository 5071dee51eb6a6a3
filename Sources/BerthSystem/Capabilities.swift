import CBerth
import Glibc

/// Linux capabilities by name, and the five sets a process carries.
public enum Capability {
  /// Index = capability number (linux/capability.h).
  public static let names = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
  ]

  /// The highest capability number this kernel knows (probed once).
  public static let lastSupported: Int = Int(berth_last_cap())

  /// Every capability this kernel knows, by name.
  public static var allNames: [String] { Array(names.prefix(lastSupported + 1)) }

  /// The capabilities this process may still give (its bounding set), by
  /// name: one prctl per capability, no /proc parsing.
  public static var boundingSet: [String] {
    allNames.indices.filter { berth_capbset_read(Int32($0)) == 1 }.map { names[$0] }
  }

  public static func number(_ name: String) -> Int? {
    let upper = name.uppercased()
    let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
    return names.firstIndex(of: full)
  }

  /// A bit mask of the named capabilities; names unknown to this kernel are
  /// skipped as runc does (a newer config on an older kernel still runs).
  public static func mask(_ list: [String]?) throws(BerthError) -> UInt64 {
    var mask: UInt64 = 0
    let last = lastSupported
    for name in list ?? [] {
      guard let n = number(name) else {
        throw BerthError(
          .invalidArgument, "unknown capability \"\(name)\"",
          hint: "use names such as CAP_NET_ADMIN")
      }
      if n <= last { mask |= 1 << UInt64(n) }
    }
    return mask
  }

  /// The five sets a spec process asks for.
  public struct Sets: Equatable, Sendable {
    public var bounding: UInt64
    public var effective: UInt64
    public var permitted: UInt64
    public var inheritable: UInt64
    public var ambient: UInt64
    public init(
      bounding: UInt64, effective: UInt64, permitted: UInt64, inheritable: UInt64,
      ambient: UInt64
    ) {
      self.bounding = bounding
      self.effective = effective
      self.permitted = permitted
      self.inheritable = inheritable
      self.ambient = ambient
    }
  }

  /// Drops every capability not in `bounding` from the bounding set. Needs
  /// CAP_SETPCAP, so it runs before the user switch.
  public static func limitBoundingSet(to bounding: UInt64) throws(BerthError) {
    for cap in 0...lastSupported where bounding & (1 << UInt64(cap)) == 0 {
      if berth_capbset_read(Int32(cap)) == 1 {
        let name = cap < names.count ? names[cap] : "capability \(cap)"
        try check("cannot drop \(name) from the bounding set") {
          berth_capbset_drop(Int32(cap))
        }
      }
    }
  }

  /// Sets effective, permitted and inheritable exactly, then raises ambient.
  /// The kernel only lets a capability be ambient if it is permitted and
  /// inheritable; others are skipped, as runc warns and goes on.
  public static func apply(_ sets: Sets) throws(BerthError) {
    try check("cannot set capabilities") {
      berth_capset(sets.effective, sets.permitted, sets.inheritable)
    }
    try check("cannot clear ambient capabilities") { berth_ambient_clear_all() }
    let raisable = sets.ambient & sets.permitted & sets.inheritable
    for cap in 0...lastSupported where raisable & (1 << UInt64(cap)) != 0 {
      try check("cannot raise ambient \(names[cap])") { berth_ambient_raise(Int32(cap)) }
    }
  }
}
