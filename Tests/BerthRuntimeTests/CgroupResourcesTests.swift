import BerthOCI
import Foundation
import Testing

@testable import BerthRuntime

struct CgroupResourcesTests {
  var resources: Spec.Resources {
    var r = Spec.Resources()
    var m = Spec.Resources.Memory()
    m.limit = 64 << 20
    m.swap = 128 << 20
    m.reservation = 32 << 20
    m.swappiness = 10
    r.memory = m
    var c = Spec.Resources.CPU()
    c.shares = 1024
    c.quota = 50_000
    c.period = 100_000
    c.cpus = "0"
    r.cpu = c
    r.pids = Spec.Resources.Pids(limit: 20)
    return r
  }

  @Test func v1WritesGoToEachControllersFiles() {
    let memory = CgroupResources.v1Writes(resources, controllers: ["memory"])
    #expect(
      memory.map(\.file) == [
        "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.limit_in_bytes",
        "memory.swappiness",
      ])
    let cpu = CgroupResources.v1Writes(resources, controllers: ["cpu", "cpuacct"])
    #expect(
      cpu == [
        .init("cpu.shares", "1024"), .init("cpu.cfs_period_us", "100000"),
        .init("cpu.cfs_quota_us", "50000"),
      ])
    #expect(CgroupResources.v1Writes(resources, controllers: ["pids"]) == [.init("pids.max", "20")])
    #expect(
      CgroupResources.v1Writes(resources, controllers: ["cpuset"]) == [.init("cpuset.cpus", "0")])
  }

  @Test func v1DeviceRulesKeepTheAlwaysAllowedNodes() {
    var r = Spec.Resources()
    r.devices = [
      .init(allow: false, access: "rwm"),
      .init(allow: true, type: "c", major: 10, minor: 200, access: "rw"),
    ]
    let writes = CgroupResources.v1Writes(r, controllers: ["devices"])
    #expect(
      writes.prefix(2) == [.init("devices.deny", "a"), .init("devices.allow", "c 10:200 rw")])
    #expect(writes.contains(.init("devices.allow", "c 136:* rwm")))
  }

  @Test func v2TranslatesV1UnitsAsRuncDoes() throws {
    let writes = try CgroupResources.v2Writes(resources)
    #expect(writes.contains(.init("memory.max", "\(64 << 20)")))
    #expect(writes.contains(.init("memory.swap.max", "\(64 << 20)")))
    #expect(writes.contains(.init("memory.low", "\(32 << 20)")))
    #expect(writes.contains(.init("cpu.weight", "39")))
    #expect(writes.contains(.init("cpu.max", "50000 100000")))
    #expect(writes.contains(.init("pids.max", "20")))
    #expect(CgroupResources.weight(fromShares: 2) == 1)
    #expect(CgroupResources.weight(fromShares: 262144) == 10000)
    #expect(CgroupResources.ioWeight(fromBlkio: 1000) == 10000)
  }

  @Test func v2RefusesSwapBelowTheLimitAndBadUnifiedKeys() {
    var r = resources
    r.memory?.swap = 1
    #expect(throws: (any Error).self) { try CgroupResources.v2Writes(r) }
    var u = Spec.Resources()
    u.unified = ["../../etc/passwd": "x"]
    #expect(throws: (any Error).self) { try CgroupResources.v2Writes(u) }
  }

  /// The writes land in a throwaway tree standing in for cgroupfs.
  @Test func applyWritesIntoAFakeHierarchy() throws {
    let root = NSTemporaryDirectory() + "berth-cgfs-\(UUID().uuidString)"
    let dir = root + "/memory/ctr"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for file in [
      "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.limit_in_bytes",
      "memory.swappiness",
    ] {
      FileManager.default.createFile(atPath: dir + "/" + file, contents: nil)
    }
    defer { try? FileManager.default.removeItem(atPath: root) }
    let layout = CgroupLayout(hierarchies: [
      .init(mountPoint: root + "/memory", mountRoot: "/", controllers: ["memory"], isV2: false)
    ])
    try CgroupResources.apply(resources, dirs: [dir], layout: layout)
    #expect(
      try String(contentsOfFile: dir + "/memory.limit_in_bytes", encoding: .utf8) == "\(64 << 20)")
    #expect(try String(contentsOfFile: dir + "/memory.swappiness", encoding: .utf8) == "10")
  }
}
