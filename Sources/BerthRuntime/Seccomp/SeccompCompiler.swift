import BerthSystem
import CBerth
import CSeccomp
import Glibc
import SystemPackage

/// Compiles a `SeccompPlan` to a classic BPF program with libseccomp. Runs in
/// the runtime before clone; the container side only loads the bytes.
enum SeccompCompiler {
  /// libseccomp's "no such syscall" (__NR_SCMP_ERROR).
  static let unknownSyscall: Int32 = -1

  static func compile(_ plan: SeccompPlan) throws(BerthError) -> [UInt8] {
    guard let ctx = seccomp_init(plan.defaultAction) else {
      throw BerthError(
        .system, "libseccomp cannot create a filter for linux.seccomp.defaultAction",
        hint: "the kernel or libseccomp does not support this default action")
    }
    defer { seccomp_release(ctx) }

    for name in plan.architectures {
      let token = seccomp_arch_resolve_name(name)
      guard token != 0 else {
        throw BerthError(
          .unsupported, "libseccomp \(libseccompVersion) does not know architecture \"\(name)\"",
          hint: "remove it from linux.seccomp.architectures")
      }
      // The native architecture is already there: EEXIST is fine.
      let rc = seccomp_arch_add(ctx, token)
      if rc != 0 && rc != -EEXIST {
        throw .system("cannot add seccomp architecture \(name)", Errno(rawValue: -rc))
      }
    }

    for rule in plan.rules {
      let number = seccomp_syscall_resolve_name(rule.syscall)
      if number == unknownSyscall {
        // As runc: profiles name syscalls newer (or older) than libseccomp.
        runtimeLogger.debug("seccomp: skipping unknown syscall \"\(rule.syscall)\"")
        continue
      }
      let conditions = rule.conditions.map {
        scmp_arg_cmp(arg: $0.index, op: scmp_compare($0.op), datum_a: $0.datumA, datum_b: $0.datumB)
      }
      let rc = conditions.withUnsafeBufferPointer {
        seccomp_rule_add_array(ctx, rule.action, number, UInt32($0.count), $0.baseAddress)
      }
      if rc < 0 {
        throw .system(
          "cannot add the seccomp rule for \(rule.syscall) (action \(hex(rule.action)), "
            + "\(rule.conditions.count) argument conditions)", Errno(rawValue: -rc),
          hint: "check the rule's args in linux.seccomp.syscalls")
      }
    }
    return try export(ctx)
  }

  /// seccomp_export_bpf writes the program to an fd: a memfd, read back.
  static func export(_ ctx: scmp_filter_ctx) throws(BerthError) -> [UInt8] {
    let fd = try check("cannot create a memfd for the seccomp program") {
      berth_memfd_create("berth-seccomp", 0x1)  // MFD_CLOEXEC
    }
    defer { close(fd) }
    let rc = seccomp_export_bpf(ctx, fd)
    if rc < 0 {
      throw .system("libseccomp cannot export the seccomp program", Errno(rawValue: -rc))
    }
    try check("cannot rewind the seccomp program's memfd") { lseek(fd, off_t(0), Int32(SEEK_SET)) }
    let bytes = try FileDescriptor(rawValue: fd).readToEnd(what: "cannot read the seccomp program")
    guard !bytes.isEmpty, bytes.count % 8 == 0 else {
      throw BerthError(
        .internalError, "libseccomp exported a malformed program (\(bytes.count) bytes)")
    }
    return bytes
  }

  static var libseccompVersion: String {
    guard let v = seccomp_version() else { return "?" }
    return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.micro)"
  }

  static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
