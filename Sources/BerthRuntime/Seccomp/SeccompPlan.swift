import BerthOCI
import BerthSystem

/// `linux.seccomp` translated into what libseccomp and seccomp(2) take:
/// action words, comparison operators, architecture names, load flags and
/// one rule per libseccomp call. Pure logic (no libseccomp, no syscalls), so
/// bad input is rejected in the parent before anything exists.
struct SeccompPlan: Equatable, Sendable {
  /// One condition of a rule: `struct scmp_arg_cmp`.
  struct Condition: Equatable, Sendable {
    var index: UInt32
    var op: UInt32
    var datumA: UInt64
    var datumB: UInt64
  }

  /// One `seccomp_rule_add_array` call.
  struct Rule: Equatable, Sendable {
    var syscall: String
    var action: UInt32
    var conditions: [Condition]
  }

  var defaultAction: UInt32
  /// libseccomp's names ("x86_64", "x86", "aarch64"): added besides the native one.
  var architectures: [String]
  /// seccomp(2) SECCOMP_FILTER_FLAG_* bits (NEW_LISTENER included when a
  /// rule notifies).
  var flags: UInt32
  var rules: [Rule]
  /// True when some rule returns SCMP_ACT_NOTIFY.
  var notifies: Bool

  // The action words of seccomp(2) (libseccomp's SCMP_ACT_* use the same).
  static let actKillProcess: UInt32 = 0x8000_0000
  static let actKillThread: UInt32 = 0x0000_0000
  static let actTrap: UInt32 = 0x0003_0000
  static let actErrno: UInt32 = 0x0005_0000
  static let actNotify: UInt32 = 0x7fc0_0000
  static let actTrace: UInt32 = 0x7ff0_0000
  static let actLog: UInt32 = 0x7ffc_0000
  static let actAllow: UInt32 = 0x7fff_0000

  /// OCI action names and their words; ERRNO and TRACE carry data.
  static let actions: [(name: String, word: UInt32)] = [
    ("SCMP_ACT_KILL", actKillThread), ("SCMP_ACT_KILL_PROCESS", actKillProcess),
    ("SCMP_ACT_KILL_THREAD", actKillThread), ("SCMP_ACT_TRAP", actTrap),
    ("SCMP_ACT_ERRNO", actErrno), ("SCMP_ACT_TRACE", actTrace), ("SCMP_ACT_ALLOW", actAllow),
    ("SCMP_ACT_LOG", actLog), ("SCMP_ACT_NOTIFY", actNotify),
  ]

  /// OCI operator names and libseccomp's `enum scmp_compare` values.
  static let operators: [(name: String, value: UInt32)] = [
    ("SCMP_CMP_NE", 1), ("SCMP_CMP_LT", 2), ("SCMP_CMP_LE", 3), ("SCMP_CMP_EQ", 4),
    ("SCMP_CMP_GE", 5), ("SCMP_CMP_GT", 6), ("SCMP_CMP_MASKED_EQ", 7),
  ]
  static let maskedEqual: UInt32 = 7

  /// OCI architecture names; libseccomp's name is the lowercased suffix.
  static let architectureNames = [
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
  ]

  /// OCI flag names and seccomp(2)'s SECCOMP_FILTER_FLAG_* bits.
  static let flagBits: [(name: String, bit: UInt32)] = [
    ("SECCOMP_FILTER_FLAG_TSYNC", 1 << 0), ("SECCOMP_FILTER_FLAG_LOG", 1 << 1),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1 << 2),
    ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1 << 5),
  ]
  static let flagTsync: UInt32 = 1 << 0
  static let flagNewListener: UInt32 = 1 << 3
  static let flagWaitKillableRecv: UInt32 = 1 << 5
  /// With TSYNC, a listener needs TSYNC_ESRCH (the two return values clash).
  static let flagTsyncESRCH: UInt32 = 1 << 4

  static let eperm: UInt32 = 1

  /// Translates a profile; throws on unknown actions, operators,
  /// architectures and flags, and on notify without a listener.
  init(_ profile: Spec.Seccomp) throws(BerthError) {
    defaultAction = try Self.action(
      profile.defaultAction, errnoRet: profile.defaultErrnoRet, where: "linux.seccomp.defaultAction"
    )
    if defaultAction == Self.actNotify {
      throw BerthError(
        .invalidArgument, "SCMP_ACT_NOTIFY cannot be linux.seccomp.defaultAction",
        hint: "notify on chosen syscalls only; the runtime itself must still run to execve")
    }
    architectures = try (profile.architectures ?? []).map { name throws(BerthError) in
      guard Self.architectureNames.contains(name) else {
        throw BerthError(
          .invalidArgument,
          "unknown seccomp architecture \"\(name)\" in linux.seccomp.architectures",
          hint: "use names such as SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_AARCH64")
      }
      return Self.libseccompArchitecture(name)
    }
    flags = 0
    for name in profile.flags ?? [] {
      guard let bit = Self.flagBits.first(where: { $0.name == name })?.bit else {
        throw BerthError(
          .invalidArgument, "unknown seccomp flag \"\(name)\" in linux.seccomp.flags",
          hint: "use " + Self.flagBits.map(\.name).joined(separator: ", "))
      }
      flags |= bit
    }

    rules = []
    for (number, call) in (profile.syscalls ?? []).enumerated() {
      let place = "linux.seccomp.syscalls[\(number)]"
      let action = try Self.action(call.action, errnoRet: call.errnoRet, where: place + ".action")
      let conditions = try (call.args ?? []).map { arg throws(BerthError) in
        try Self.condition(arg, where: place)
      }
      // As runc: rules with the default's action add nothing.
      if action == defaultAction { continue }
      if action == Self.actNotify && call.names.contains("sendmsg") {
        throw BerthError(
          .invalidArgument, "SCMP_ACT_NOTIFY cannot apply to sendmsg (\(place))",
          hint: "the runtime hands the listener fd over with sendmsg after loading the filter")
      }
      // As runc: several conditions on one argument cannot hold at once in
      // one libseccomp rule, so each becomes a rule of its own (any of them
      // matches); otherwise one rule with all conditions (all must match).
      let indexes = conditions.map(\.index)
      let splits = Set(indexes).count != indexes.count
      for name in call.names where !name.isEmpty {
        if splits {
          for condition in conditions {
            rules.append(Rule(syscall: name, action: action, conditions: [condition]))
          }
        } else {
          rules.append(Rule(syscall: name, action: action, conditions: conditions))
        }
      }
    }
    notifies = rules.contains { $0.action == Self.actNotify }
    if notifies {
      guard let path = profile.listenerPath, !path.isEmpty else {
        throw BerthError(
          .invalidArgument, "SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath",
          hint: "set listenerPath to the unix socket of the seccomp agent")
      }
      flags |= Self.flagNewListener
      if flags & Self.flagTsync != 0 { flags |= Self.flagTsyncESRCH }
    }
    // The kernel takes WAIT_KILLABLE_RECV only together with a listener.
    if !notifies && flags & Self.flagWaitKillableRecv != 0 {
      flags &= ~Self.flagWaitKillableRecv
    }
  }

  /// The action word for an OCI action name; ERRNO and TRACE return
  /// `errnoRet` (EPERM when absent), as runc does.
  static func action(_ name: String, errnoRet: UInt32?, where place: String) throws(BerthError)
    -> UInt32
  {
    guard let word = actions.first(where: { $0.name == name })?.word else {
      throw BerthError(
        .invalidArgument, "unknown seccomp action \"\(name)\" in \(place)",
        hint: "use " + actions.map(\.name).joined(separator: ", "))
    }
    guard word == actErrno || word == actTrace else { return word }
    let data = errnoRet ?? eperm
    guard data <= 0xffff else {
      throw BerthError(
        .invalidArgument, "errnoRet \(data) in \(place) does not fit in 16 bits",
        hint: "use an errno number such as 1 (EPERM) or 38 (ENOSYS)")
    }
    return word | data
  }

  static func condition(_ arg: Spec.Seccomp.Arg, where place: String) throws(BerthError)
    -> Condition
  {
    guard let op = operators.first(where: { $0.name == arg.op })?.value else {
      throw BerthError(
        .invalidArgument, "unknown seccomp operator \"\(arg.op)\" in \(place).args",
        hint: "use " + operators.map(\.name).joined(separator: ", "))
    }
    guard arg.index < 6 else {
      throw BerthError(
        .invalidArgument, "seccomp argument index \(arg.index) in \(place).args is out of range",
        hint: "system calls have arguments 0 to 5")
    }
    // MASKED_EQ compares (arg & value) with valueTwo; the others compare
    // with value (valueTwo unused, passed along as runc does).
    return Condition(index: arg.index, op: op, datumA: arg.value, datumB: arg.valueTwo ?? 0)
  }

  /// "SCMP_ARCH_X86_64" → "x86_64", the name seccomp_arch_resolve_name takes.
  static func libseccompArchitecture(_ name: String) -> String {
    String(name.dropFirst("SCMP_ARCH_".count)).lowercased()
  }

  /// Whether the loaded filter needs the caller to be privileged: without
  /// no_new_privs the kernel wants CAP_SYS_ADMIN, so the filter goes on
  /// before capabilities are dropped when the process will not keep it.
  static func mustLoadBeforeCapabilityDrop(noNewPrivileges: Bool, effective: UInt64) -> Bool {
    let capSysAdmin: UInt64 = 1 << 21
    return !noNewPrivileges && effective & capSysAdmin == 0
  }
}
