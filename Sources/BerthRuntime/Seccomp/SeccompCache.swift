import BerthOCI
import BerthSystem
import CSeccomp
import FoundationEssentials
import Glibc
import SystemPackage

/// Compiled programs kept under `--root` (as crun does), so a container with
/// a profile seen before skips libseccomp: `@seccomp/HASH.bpf` holds the
/// program and `@seccomp/HASH.key` the exact key it was compiled from.
///
/// The hash (FNV-1a, 64 bits) only names the files: the stored key is
/// compared byte for byte before the program is trusted. Each name is
/// published once with link(2), which never replaces, so a `.bpf` only ever
/// sits beside the key it was compiled from, even when two creates race.
/// The directory's name cannot be a container id ('@' is not allowed there).
struct SeccompCache {
  let directory: String

  init(root: String) { directory = root + "/@seccomp" }

  /// What the program depends on: the profile, libseccomp's version and API
  /// level, and the native architecture, written out field by field. The
  /// writer is by hand: the sorted-keys JSON it replaces was half of the
  /// monitor's seccomp step in every `run`. Every string is length-prefixed
  /// and every optional marked, so two profiles never give the same bytes;
  /// a test holds the fields written to the fields the spec types have.
  static func key(_ profile: Spec.Seccomp) -> [UInt8] {
    var key = KeyWriter()
    key.text("berth seccomp key 2")
    key.text(SeccompCompiler.libseccompVersion)
    key.number(UInt64(seccomp_api_get()))
    key.number(UInt64(seccomp_arch_native()))
    key.text(profile.defaultAction)
    key.optional(profile.defaultErrnoRet) { $0.number(UInt64($1)) }
    key.optional(profile.architectures) { $0.texts($1) }
    key.optional(profile.flags) { $0.texts($1) }
    key.optional(profile.listenerPath) { $0.text($1) }
    key.optional(profile.listenerMetadata) { $0.text($1) }
    key.optional(profile.syscalls) { key, rules in
      key.number(UInt64(rules.count))
      for rule in rules {
        key.texts(rule.names)
        key.text(rule.action)
        key.optional(rule.errnoRet) { $0.number(UInt64($1)) }
        key.optional(rule.args) { key, args in
          key.number(UInt64(args.count))
          for arg in args {
            key.number(UInt64(arg.index))
            key.number(arg.value)
            key.optional(arg.valueTwo) { $0.number($1) }
            key.text(arg.op)
          }
        }
      }
    }
    return key.bytes
  }

  struct KeyWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(8192) }

    mutating func number(_ value: UInt64) {
      bytes.append(contentsOf: String(value).utf8)
      bytes.append(UInt8(ascii: ";"))
    }

    mutating func text(_ value: String) {
      number(UInt64(value.utf8.count))
      bytes.append(contentsOf: value.utf8)
    }

    mutating func texts(_ values: [String]) {
      number(UInt64(values.count))
      for value in values { text(value) }
    }

    mutating func optional<T>(_ value: T?, _ write: (inout KeyWriter, T) -> Void) {
      guard let value else {
        bytes.append(UInt8(ascii: "-"))
        return
      }
      bytes.append(UInt8(ascii: "+"))
      write(&self, value)
    }
  }

  /// FNV-1a over the key: a file name, not a proof of identity.
  static func name(_ key: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in key {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01b3
    }
    let digits = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }

  func paths(_ key: [UInt8]) -> (key: String, program: String) {
    let base = directory + "/" + Self.name(key)
    return (base + ".key", base + ".bpf")
  }

  /// The cached program for `key`, or nil (missing, another key under the
  /// same name, or unreadable: then the caller compiles).
  func lookup(_ key: [UInt8]) -> [UInt8]? {
    let (keyPath, programPath) = paths(key)
    guard let stored = try? readFile(keyPath, limit: 16 << 20), stored == key,
      let program = try? readFile(programPath, limit: 1 << 20),
      !program.isEmpty, program.count % 8 == 0
    else { return nil }
    return program
  }

  /// Publishes a freshly compiled program. Failures only cost the next
  /// create a compilation: they are logged, never thrown.
  func store(_ key: [UInt8], program: [UInt8]) {
    let (keyPath, programPath) = paths(key)
    do {
      try mkdirAll(directory, mode: 0o700)
      if try !publish(keyPath, key) {
        // Someone published this name first: ours only if the key matches.
        guard (try? readFile(keyPath, limit: 16 << 20)) == key else {
          runtimeLogger.debug("seccomp: cache name \(keyPath) holds another profile; not caching")
          return
        }
      }
      _ = try publish(programPath, program)
    } catch {
      runtimeLogger.debug("seccomp: not caching the compiled filter: \(error)")
    }
  }

  /// Writes `bytes` to a temp file and links it at `path` unless something
  /// is already there. Returns false when `path` existed.
  func publish(_ path: String, _ bytes: [UInt8]) throws(BerthError) -> Bool {
    let tmp = path + ".tmp-\(getpid())"
    unlink(tmp)
    let fd = try check("cannot create \(tmp)") {
      open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    }
    defer { unlink(tmp) }
    do {
      try FileDescriptor(rawValue: fd).writeFully(bytes, what: "cannot write \(tmp)")
      try check("cannot fsync \(tmp)") { fsync(fd) }
    } catch {
      close(fd)
      throw error
    }
    close(fd)
    if link(tmp, path) == 0 { return true }
    if currentErrno == .fileExists { return false }
    throw .system("cannot link \(tmp) to \(path)", currentErrno)
  }
}
