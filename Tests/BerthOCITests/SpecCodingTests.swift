import BerthOCI
import FoundationEssentials
import Testing

@Test func defaultSpecRoundTripsThroughJSON() throws {
  let spec = Spec.runtimeDefault(rootless: false)
  let data = try JSONEncoder().encode(spec)
  let back = try JSONDecoder().decode(Spec.self, from: data)
  #expect(back == spec)
  #expect(back.process?.args == ["sh"])
  #expect(back.linux?.namespaces?.map(\.type).contains("mount") == true)
}

@Test func rootlessSpecMapsTheCallerToRootInAUserNamespace() {
  let spec = Spec.runtimeDefault(rootless: true, uid: 1000, gid: 1000)
  let types = spec.linux?.namespaces?.map(\.type) ?? []
  #expect(types.contains("user"))
  #expect(!types.contains("network"))
  #expect(spec.linux?.uidMappings == [IDMapping(containerID: 0, hostID: 1000, size: 1)])
  #expect(spec.mounts?.contains { $0.destination == "/sys/fs/cgroup" } == false)
  #expect(spec.mounts?.allSatisfy { !($0.options ?? []).contains("gid=5") } == true)
}
