import BerthOCI
import BerthSystem
import Foundation
import Testing

@testable import BerthRuntime

/// linux.seccomp JSON → action words, conditions and rules (pure logic),
/// plus the compiler and the cache against a throwaway directory.
struct SeccompPlanTests {
  func profile(_ json: String) throws -> Spec.Seccomp {
    try JSONDecoder().decode(Spec.Seccomp.self, from: Data(json.utf8))
  }

  func plan(_ json: String) throws -> SeccompPlan {
    try SeccompPlan(profile(json))
  }

  @Test func errnoDefaultsToEPERMAndTakesErrnoRet() throws {
    let p = try plan(
      """
      {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
        {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["ptrace"], "action": "SCMP_ACT_TRACE"}]}
      """)
    #expect(p.defaultAction == 0x0005_0001)
    #expect(p.rules.map(\.syscall) == ["mkdir", "getpid", "ptrace"])
    #expect(p.rules.map(\.action) == [0x0005_001c, 0x7fff_0000, 0x7ff0_0001])
    let withDefaultRet = try plan(#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}"#)
    #expect(withDefaultRet.defaultAction == 0x0005_0026)
  }

  @Test(arguments: [
    ("SCMP_ACT_KILL", UInt32(0)), ("SCMP_ACT_KILL_THREAD", 0),
    ("SCMP_ACT_KILL_PROCESS", 0x8000_0000),
    ("SCMP_ACT_TRAP", 0x0003_0000), ("SCMP_ACT_ALLOW", 0x7fff_0000), ("SCMP_ACT_LOG", 0x7ffc_0000),
  ])
  func actionWords(name: String, word: UInt32) throws {
    let p = try plan(#"{"defaultAction": "\#(name)"}"#)
    #expect(p.defaultAction == word)
  }

  @Test func aRuleWithTheDefaultActionAddsNothing() throws {
    let p = try plan(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir"], "action": "SCMP_ACT_KILL_PROCESS"}]}
      """)
    #expect(p.rules == [.init(syscall: "mkdir", action: 0x8000_0000, conditions: [])])
  }

  /// runc's rule: conditions on distinct arguments form one rule (all
  /// must hold); several on the same argument become one rule each.
  @Test func conditionsOnOneArgumentSplitIntoRules() throws {
    let p = try plan(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
          {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
          {"index": 0, "value": 131072, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [
          {"index": 0, "value": 16, "op": "SCMP_CMP_NE"},
          {"index": 2, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_GE"}]},
        {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "args": [
          {"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]}
      """)
    typealias C = SeccompPlan.Condition
    #expect(
      p.rules == [
        .init(
          syscall: "personality", action: 0x0005_0001,
          conditions: [C(index: 0, op: 4, datumA: 8, datumB: 0)]),
        .init(
          syscall: "personality", action: 0x0005_0001,
          conditions: [C(index: 0, op: 4, datumA: 131_072, datumB: 0)]),
        .init(
          syscall: "socket", action: 0x0005_0001,
          conditions: [
            C(index: 0, op: 1, datumA: 16, datumB: 0), C(index: 2, op: 5, datumA: 9, datumB: 0),
          ]),
        .init(
          syscall: "clone", action: 0x0005_0001,
          conditions: [C(index: 0, op: 7, datumA: 2_114_060_288, datumB: 0)]),
      ])
  }

  @Test(arguments: [
    (#"{"defaultAction": "SCMP_ACT_SOMETIMES"}"#, "unknown seccomp action \"SCMP_ACT_SOMETIMES\""),
    (
      #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "ALLOW"}]}"#,
      "linux.seccomp.syscalls[0].action"
    ),
    (
      #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}"#,
      "unknown seccomp operator \"SCMP_CMP_ABOUT\""
    ),
    (
      #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
      "index 6"
    ),
    (
      #"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}"#,
      "unknown seccomp architecture \"SCMP_ARCH_Z80\""
    ),
    (
      #"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}"#,
      "unknown seccomp flag"
    ),
    (
      #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
      "needs linux.seccomp.listenerPath"
    ),
    (#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#, "cannot be linux.seccomp.defaultAction"),
    (#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}"#, "does not fit in 16 bits"),
  ])
  func badProfilesAreRefusedWithTheirPlace(json: String, text: String) throws {
    let p = try profile(json)
    let error = #expect(throws: BerthError.self) { try SeccompPlan(p) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.description.contains(text) == true, "\(error?.description ?? "")")
  }

  @Test func architecturesAndFlags() throws {
    let p = try plan(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
       "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                 "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}
      """)
    #expect(p.architectures == ["x86_64", "x86", "x32", "aarch64"])
    // WAIT_KILLABLE_RECV only goes with a listener: dropped here.
    #expect(p.flags == 0b111)
    #expect(!p.notifies)
  }

  @Test func notifyAddsAListenerAndTsyncESRCH() throws {
    let p = try plan(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
       "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
       "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
      """)
    #expect(p.notifies)
    #expect(p.flags == 1 | 8 | 16)
    let killable = try plan(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
       "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
       "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
      """)
    #expect(killable.flags == 8 | 32)
  }

  @Test func theFilterLoadsBeforeTheCapabilityDropOnlyWhenItMust() {
    let sysAdmin: UInt64 = 1 << 21
    #expect(SeccompPlan.mustLoadBeforeCapabilityDrop(noNewPrivileges: false, effective: 0))
    #expect(!SeccompPlan.mustLoadBeforeCapabilityDrop(noNewPrivileges: false, effective: sysAdmin))
    #expect(!SeccompPlan.mustLoadBeforeCapabilityDrop(noNewPrivileges: true, effective: 0))
  }

  @Test func compilingSkipsUnknownSyscallsAndIsDeterministic() throws {
    let p = try plan(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
       "syscalls": [{"names": ["mkdir", "no_such_syscall_at_all"], "action": "SCMP_ACT_ERRNO"},
                    {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
                      {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}
      """)
    let program = try SeccompCompiler.compile(p)
    #expect(!program.isEmpty && program.count % 8 == 0)
    #expect(try SeccompCompiler.compile(p) == program)
    let withoutUnknown = try plan(
      """
      {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
       "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                    {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
                      {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}
      """)
    #expect(try SeccompCompiler.compile(withoutUnknown) == program)
  }

  @Test func cacheNamesAreFNV1a() {
    #expect(SeccompCache.name([]) == "cbf29ce484222325")
    #expect(SeccompCache.name(Array("a".utf8)) == "af63dc4c8601ec8c")
  }

  @Test func theCacheKeyCoversEveryFieldOfTheProfile() throws {
    // The key is written field by field: a field added to the spec types
    // must be added to the key too, or two profiles could share a program.
    func fields(_ value: Any) -> [String] { Mirror(reflecting: value).children.compactMap(\.label) }
    let arg = Spec.Seccomp.Arg(index: 1, value: 2, valueTwo: 3, op: "SCMP_CMP_MASKED_EQ")
    let rule = Spec.Seccomp.Syscall(
      names: ["a"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [arg])
    var full = try profile(#"{"defaultAction": "SCMP_ACT_ERRNO"}"#)
    full.defaultErrnoRet = 1
    full.architectures = ["SCMP_ARCH_X86_64"]
    full.flags = ["SECCOMP_FILTER_FLAG_LOG"]
    full.listenerPath = "/l"
    full.listenerMetadata = "m"
    full.syscalls = [rule]
    #expect(
      fields(full) == [
        "defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath",
        "listenerMetadata", "syscalls",
      ])
    #expect(fields(rule) == ["names", "action", "errnoRet", "args"])
    #expect(fields(arg) == ["index", "value", "valueTwo", "op"])

    // Each field, changed alone (or dropped), changes the key.
    var variants: [Spec.Seccomp] = [full]
    func variant(_ change: (inout Spec.Seccomp) -> Void) {
      var copy = full
      change(&copy)
      variants.append(copy)
    }
    variant { $0.defaultAction = "SCMP_ACT_KILL" }
    variant { $0.defaultErrnoRet = nil }
    variant { $0.defaultErrnoRet = 2 }
    variant { $0.architectures = nil }
    variant { $0.architectures = [] }
    variant { $0.flags = nil }
    variant { $0.listenerPath = nil }
    variant { $0.listenerPath = "/m" }
    variant { $0.listenerMetadata = nil }
    variant { $0.syscalls = nil }
    variant { $0.syscalls = [] }
    variant { $0.syscalls?[0].names = ["a", "b"] }
    variant { $0.syscalls?[0].names = ["ab"] }
    variant { $0.syscalls?[0].action = "SCMP_ACT_LOG" }
    variant { $0.syscalls?[0].errnoRet = nil }
    variant { $0.syscalls?[0].args = nil }
    variant { $0.syscalls?[0].args?[0].index = 2 }
    variant { $0.syscalls?[0].args?[0].value = 3 }
    variant { $0.syscalls?[0].args?[0].valueTwo = nil }
    variant { $0.syscalls?[0].args?[0].op = "SCMP_CMP_EQ" }
    let keys = variants.map(SeccompCache.key)
    #expect(Set(keys).count == variants.count)
    #expect(SeccompCache.key(full) == keys[0])
  }

  @Test func theCacheTrustsOnlyTheExactKey() throws {
    let root = NSTemporaryDirectory() + "berth-seccomp-cache-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let cache = SeccompCache(root: root)
    let key = SeccompCache.key(try profile(#"{"defaultAction": "SCMP_ACT_ALLOW"}"#))
    #expect(cache.lookup(key) == nil)
    let program: [UInt8] = Array(repeating: 7, count: 16)
    cache.store(key, program: program)
    #expect(cache.lookup(key) == program)
    // Storing again never replaces what is published.
    cache.store(key, program: Array(repeating: 9, count: 16))
    #expect(cache.lookup(key) == program)

    // Another key under the same file name (a hash collision) is not
    // trusted, and does not overwrite the other's program.
    let (keyPath, programPath) = cache.paths(key)
    let other = key + Array(" ".utf8)
    try Data(other).write(to: URL(fileURLWithPath: keyPath))
    #expect(cache.lookup(key) == nil)
    #expect(cache.lookup(other) == nil)  // its name differs: nothing there
    cache.store(key, program: Array(repeating: 9, count: 16))
    #expect(try Data(contentsOf: URL(fileURLWithPath: programPath)) == Data(program))
  }

  @Test(arguments: [
    [], ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_TIME", "CAP_SYSLOG", "CAP_BPF"],
  ])
  func theDefaultProfileCompiles(capabilities: [String]) throws {
    let profile = DefaultSeccompProfile.profile(capabilities: capabilities)
    let plan = try SeccompPlan(profile)
    #expect(plan.defaultAction == 0x0005_0001)
    let program = try SeccompCompiler.compile(plan)
    #expect(program.count / 8 < 4096)
    let names = Set(plan.rules.map(\.syscall))
    #expect(names.contains("read") && !names.contains("kexec_load") && !names.contains("keyctl"))
    #expect(names.contains("mount") == capabilities.contains("CAP_SYS_ADMIN"))
    let clone = plan.rules.filter { $0.syscall == "clone" }
    #expect(clone.count == 1)
    #expect(clone.first?.conditions.isEmpty == capabilities.contains("CAP_SYS_ADMIN"))
  }

  @Test func theDefaultProfileIsWhatConfigJSONCarries() throws {
    // Built as values, it must survive the trip through a bundle's
    // config.json unchanged: that is what the monitor compiles.
    let profile = DefaultSeccompProfile.profile(capabilities: ["CAP_SYS_PTRACE"])
    let carried = try JSONDecoder().decode(
      Spec.Seccomp.self, from: JSONEncoder().encode(profile))
    #expect(carried == profile)
    #expect(profile.defaultAction == "SCMP_ACT_ERRNO" && profile.defaultErrnoRet == 1)
  }
}
