import Testing

@testable import BerthRuntime

struct SystemdScopeTests {
  @Test func cgroupsPathNamesTheSliceAndTheScope() {
    let scope = SystemdScope(cgroupsPath: "machine.slice:libpod:abc", id: "x", rootless: false)
    #expect(scope == SystemdScope(unit: "libpod-abc.scope", slice: "machine.slice", user: false))
    let plain = SystemdScope(cgroupsPath: nil, id: "x", rootless: true)
    #expect(plain == SystemdScope(unit: "berth-x.scope", slice: "user.slice", user: true))
    let noSlice = SystemdScope(cgroupsPath: ":libpod:abc", id: "x", rootless: false)
    #expect(noSlice.slice == "system.slice")
  }

  @Test func startTransientUnitCarriesThePidDelegationAndSlice() {
    let scope = SystemdScope(unit: "libpod-abc.scope", slice: "machine.slice", user: false)
    let args = scope.startArguments(pid: 42, description: "berth container abc")
    #expect(args.prefix(3) == ["busctl", "--system", "--quiet"])
    #expect(args.contains("StartTransientUnit"))
    let properties = Array(args.drop { $0 != "fail" }.dropFirst())
    #expect(properties.prefix(5) == ["4", "PIDs", "au", "1", "42"])
    #expect(properties.contains("Delegate") && properties.contains("machine.slice"))
    #expect(args.last == "0")
  }
}
