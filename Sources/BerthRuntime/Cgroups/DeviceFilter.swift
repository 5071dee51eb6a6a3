import BerthOCI
import BerthSystem
import CBerth
import Glibc

/// cgroup v2 has no devices.allow/deny files: device access is decided by a
/// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup. This builds
/// that program from `linux.resources.devices` (plus the always-allowed
/// nodes), with v1's meaning: the last rule that matches decides, and no
/// match denies. Hand-assembled because no BPF assembler exists for Swift
/// and the program is a short list of compares.
public enum DeviceFilter {
  /// One eBPF instruction (struct bpf_insn).
  public struct Instruction: Equatable, Sendable {
    var code: UInt8
    var dst: UInt8
    var src: UInt8
    var off: Int16
    var imm: Int32

    var bytes: [UInt8] {
      let o = UInt16(bitPattern: off)
      let i = UInt32(bitPattern: imm)
      return [
        code, dst | (src << 4), UInt8(o & 0xff), UInt8(o >> 8),
        UInt8(i & 0xff), UInt8((i >> 8) & 0xff), UInt8((i >> 16) & 0xff), UInt8(i >> 24),
      ]
    }

    // The few opcodes the filter needs (linux/bpf_common.h, linux/bpf.h).
    static func loadWord(_ dst: UInt8, offset: Int16) -> Self {  // dst = *(u32 *)(r1 + off)
      .init(code: 0x61, dst: dst, src: 1, off: offset, imm: 0)
    }
    static func and32(_ dst: UInt8, _ imm: Int32) -> Self {
      .init(code: 0x54, dst: dst, src: 0, off: 0, imm: imm)
    }
    static func rsh32(_ dst: UInt8, _ imm: Int32) -> Self {
      .init(code: 0x74, dst: dst, src: 0, off: 0, imm: imm)
    }
    static func mov32(_ dst: UInt8, reg: UInt8) -> Self {
      .init(code: 0xbc, dst: dst, src: reg, off: 0, imm: 0)
    }
    static func mov64(_ dst: UInt8, _ imm: Int32) -> Self {
      .init(code: 0xb7, dst: dst, src: 0, off: 0, imm: imm)
    }
    /// if (u32)dst != imm goto +off
    static func jne32(_ dst: UInt8, _ imm: Int32, skip: Int16) -> Self {
      .init(code: 0x56, dst: dst, src: 0, off: skip, imm: imm)
    }
    /// if (u32)dst != (u32)src goto +off
    static func jne32(_ dst: UInt8, reg: UInt8, skip: Int16) -> Self {
      .init(code: 0x5e, dst: dst, src: reg, off: skip, imm: 0)
    }
    static let exit = Self(code: 0x95, dst: 0, src: 0, off: 0, imm: 0)
  }

  /// The rules a program enforces: the spec's, then the always-allowed list.
  static func rules(_ spec: [Spec.Resources.DeviceRule]) -> [Spec.Resources.DeviceRule] {
    let always: [Spec.Resources.DeviceRule] = CgroupResources.alwaysAllowed.map { entry in
      let parts = entry.split(separator: " ")
      let numbers = parts[1].split(separator: ":")
      return .init(
        allow: true, type: String(parts[0]), major: Int64(numbers[0]), minor: Int64(numbers[1]),
        access: String(parts[2]))
    }
    return spec + always
  }

  /// The program: r2 = type, r3 = access, r4 = major, r5 = minor; one
  /// block per rule, last rule first, each returning its verdict on match.
  public static func program(_ spec: [Spec.Resources.DeviceRule]) throws(BerthError)
    -> [Instruction]
  {
    var code: [Instruction] = [
      .loadWord(2, offset: 0), .and32(2, 0xffff),  // access_type & 0xffff: type
      .loadWord(3, offset: 0), .rsh32(3, 16),  // access_type >> 16: access
      .loadWord(4, offset: 4), .loadWord(5, offset: 8),
    ]
    for rule in rules(spec).reversed() {
      var block: [Instruction] = []
      switch rule.type ?? "a" {
      case "a": break
      case "c": block.append(.jne32(2, 2, skip: 0))  // BPF_DEVCG_DEV_CHAR
      case "b": block.append(.jne32(2, 1, skip: 0))  // BPF_DEVCG_DEV_BLOCK
      default:
        throw BerthError(
          .invalidArgument, "device rule type \"\(rule.type ?? "")\" is not a, b or c")
      }
      var mask: Int32 = 0
      for letter in rule.access ?? "rwm" {
        switch letter {
        case "m": mask |= 1
        case "r": mask |= 2
        case "w": mask |= 4
        default:
          throw BerthError(
            .invalidArgument, "device rule access \"\(rule.access ?? "")\" may only hold r, w and m"
          )
        }
      }
      if mask != 7 {
        // Every access asked for must be in the rule: (access & mask) == access.
        block += [.mov32(6, reg: 3), .and32(6, mask), .jne32(6, reg: 3, skip: 0)]
      }
      if let major = rule.major, major >= 0 {
        block.append(.jne32(4, Int32(truncatingIfNeeded: major), skip: 0))
      }
      if let minor = rule.minor, minor >= 0 {
        block.append(.jne32(5, Int32(truncatingIfNeeded: minor), skip: 0))
      }
      let unconditional = block.isEmpty
      block += [.mov64(0, rule.allow ? 1 : 0), .exit]
      // Each "no match" jump lands after this block's exit.
      for i in block.indices where block[i].code == 0x56 || block[i].code == 0x5e {
        block[i].off = Int16(block.count - i - 1)
      }
      code += block
      // A rule that matches everything decides for all earlier ones: the
      // verifier refuses code after it as unreachable.
      if unconditional { return code }
    }
    return code + [.mov64(0, 0), .exit]
  }

  /// Loads the program for `rules` and attaches it to the v2 cgroup `dir`.
  public static func attach(_ rules: [Spec.Resources.DeviceRule], to dir: String) throws(BerthError)
  {
    let bytes = try program(rules).flatMap(\.bytes)
    func load(_ log: UnsafeMutableBufferPointer<CChar>?) -> Int32 {
      bytes.withUnsafeBytes { raw in
        berth_bpf_load_device_program(
          raw.baseAddress, UInt32(bytes.count / 8), log?.baseAddress, UInt32(log?.count ?? 0))
      }
    }
    // Without a log first: a verbose verifier log can overflow (ENOSPC)
    // even when the program is fine. Only a failure is loaded again to
    // learn why (the 64 KiB log is not allocated otherwise: a monitor
    // keeps what its heap grew to).
    var prog = load(nil)
    var errno = currentErrno
    var verifier = ""
    if prog < 0 && errno != .notPermitted {
      var log = [CChar](repeating: 0, count: 65536)
      prog = log.withUnsafeMutableBufferPointer { load($0) }
      errno = currentErrno
      verifier = String(cString: log).trimmed
    }
    if prog < 0 {
      throw .system(
        "cannot load the device filter for \(dir)\(verifier.isEmpty ? "" : " (verifier: \(verifier.split(separator: "\n").prefix(3).joined(separator: "; ")))")",
        errno,
        hint: errno == .notPermitted ? "loading BPF programs needs CAP_SYS_ADMIN or CAP_BPF" : nil)
    }
    defer { close(prog) }
    let cgroup = try check("cannot open cgroup \(dir)") {
      open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }
    defer { close(cgroup) }
    try check("cannot attach the device filter to \(dir)") {
      berth_bpf_attach_device_program(cgroup, prog)
    }
  }
}
