import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc
import Testing

@testable import BerthRuntime

/// state.json carries the spec as config.json had it (spliced in, not
/// encoded again) and reads back as the same record.
struct StateStoreTests {
  func record(specJSON: [UInt8]?) throws -> ContainerRecord {
    var spec = Spec.runtimeDefault(rootless: false)
    spec.annotations = ["org.example/key": "välue \"quoted\""]
    var record = ContainerRecord(
      id: "c1", bundle: "/b", rootfs: "/b/rootfs", pid: 42, pidStartTime: 7,
      created: "2026-01-01T00:00:00Z", owner: "root", spec: spec, cgroupPaths: ["/sys/fs/cgroup/x"],
      systemdCgroup: false, rootless: false, systemdScope: nil)
    record.specJSON = specJSON
    return record
  }

  func roundTrip(_ record: ContainerRecord) throws -> (ContainerRecord, [UInt8]) {
    var template = Array("/tmp/berth-state-XXXXXX".utf8CString)
    let dir = String(cString: try #require(mkdtemp(&template)))
    defer { try? removeTree(dir) }
    let store = StateStore(root: dir)
    try store.reserve(record.id)
    try store.save(record)
    let bytes = try readFile(dir + "/c1/state.json")
    return (try store.load(record.id), bytes)
  }

  @Test func theSpecIsSplicedAsConfigJSONHadIt() throws {
    let base = try record(specJSON: nil)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted]
    let config = Array(try encoder.encode(base.spec)) + Array("\n\n".utf8)
    let (loaded, bytes) = try roundTrip(try record(specJSON: config))
    #expect(loaded.spec == base.spec)
    #expect(loaded.id == "c1" && loaded.pid == 42 && loaded.cgroupPaths == base.cgroupPaths)
    // The pretty-printed original is in the file as it was.
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(text.contains(String(decoding: config, as: UTF8.self)))
  }

  @Test func withoutConfigBytesOrWithAByteOrderMarkTheSpecIsEncoded() throws {
    let plain = try record(specJSON: nil)
    let bom = [0xEF, 0xBB, 0xBF] + Array(try JSONEncoder().encode(plain.spec))
    for candidate in [plain, try record(specJSON: bom)] {
      let (loaded, bytes) = try roundTrip(candidate)
      #expect(loaded.spec == plain.spec)
      #expect(!bytes.contains(0xEF))
    }
  }
}
