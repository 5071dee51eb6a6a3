import BerthOCI
import BerthSystem
import Testing

@testable import BerthRuntime

@Test(arguments: ["abc", "my-ctr_1.2+x", String(repeating: "a", count: 64)])
func validContainerIDs(id: String) throws {
  try StateStore.validate(id: id)
}

@Test(arguments: ["", ".", "..", "a/b", "../x", "sp ace", "tab\t", "ünï"])
func invalidContainerIDs(id: String) {
  #expect(throws: BerthError.self) { try StateStore.validate(id: id) }
}

@Test func sysctlsMustBelongToANamespaceTheContainerOwns() throws {
  try Hardening.validateSysctls(["net.ipv4.ip_forward": "1"], namespaces: ["network"])
  try Hardening.validateSysctls(
    ["kernel.shmmax": "1", "fs.mqueue.msg_max": "5"], namespaces: ["ipc"])
  #expect(throws: BerthError.self) {
    try Hardening.validateSysctls(["net.ipv4.ip_forward": "1"], namespaces: ["ipc"])
  }
  #expect(throws: BerthError.self) {
    try Hardening.validateSysctls(["vm.swappiness": "1"], namespaces: ["ipc", "network", "uts"])
  }
  #expect(throws: BerthError.self) {
    try Hardening.validateSysctls(["net.a/../../b": "1"], namespaces: ["network"])
  }
}

@Test func onlyMajorVersionOneIsAccepted() throws {
  try Bundle.validateVersion("1.0.2-dev")
  try Bundle.validateVersion("1.2.0")
  #expect(throws: BerthError.self) { try Bundle.validateVersion("2.0.0") }
  #expect(throws: BerthError.self) { try Bundle.validateVersion("0.9") }
}

@Test func namespacePlanRejectsDuplicatesAndUnknownTypes() {
  var spec = Spec.runtimeDefault(rootless: false)
  spec.linux?.namespaces?.append(Spec.Namespace(type: "pid"))
  #expect(throws: BerthError.self) { try NamespacePlan(spec: spec) }
  spec.linux?.namespaces = [Spec.Namespace(type: "bogus")]
  #expect(throws: BerthError.self) { try NamespacePlan(spec: spec) }
  spec.linux?.namespaces = [Spec.Namespace(type: "user")]
  #expect(throws: BerthError.self) { try NamespacePlan(spec: spec) }
}

@Test func aNetworkNamespaceMadeAheadIsJoinedUnlessANewUserNamespaceMustOwnIt() throws {
  var spec = Spec.runtimeDefault(rootless: false)
  spec.linux?.namespaces = [Spec.Namespace(type: "network"), Spec.Namespace(type: "uts")]
  var plan = try NamespacePlan(spec: spec)
  plan.joinMadeAhead(.network, fd: 9)
  #expect(plan.cloneFlags == NamespaceKind.uts.cloneFlag)
  #expect(plan.joins.map(\.path) == ["/proc/self/fd/9"])
  #expect(plan.allTypes == ["network", "uts"])
  // A spec that joins a network namespace by path, or makes none, keeps its plan.
  spec.linux?.namespaces = [Spec.Namespace(type: "network", path: "/run/netns/x")]
  plan = try NamespacePlan(spec: spec)
  plan.joinMadeAhead(.network, fd: 9)
  #expect(plan.joins.map(\.path) == ["/run/netns/x"])
  // In a new user namespace the container's network namespace must be its own.
  spec = Spec.runtimeDefault(rootless: true)
  spec.linux?.namespaces = [Spec.Namespace(type: "user"), Spec.Namespace(type: "network")]
  plan = try NamespacePlan(spec: spec)
  plan.joinMadeAhead(.network, fd: 9)
  #expect(plan.new.contains(.network) && plan.joins.isEmpty)
}

@Test func timeNamespacesAreNotCloneFlags() throws {
  var spec = Spec.runtimeDefault(rootless: false)
  spec.linux?.namespaces = [
    Spec.Namespace(type: "time"), Spec.Namespace(type: "uts"), Spec.Namespace(type: "cgroup"),
  ]
  let plan = try NamespacePlan(spec: spec)
  #expect(plan.new.contains(.time) && plan.new.contains(.cgroup))
  #expect(plan.cloneFlags == NamespaceKind.uts.cloneFlag)
}
