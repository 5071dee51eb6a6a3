import BerthOCI
import Testing

@testable import BerthRuntime

struct DeviceFilterTests {
  @Test func eachRuleBecomesABlockAndNoMatchDenies() throws {
    let program = try DeviceFilter.program([
      .init(allow: false, access: "rwm"),
      .init(allow: true, type: "c", major: 10, minor: 200, access: "rw"),
    ])
    // 6 loads, then the 11 always-allowed rules and the two above, last
    // first; the deny-all matches everything, so it ends the program.
    #expect(program.prefix(6).allSatisfy { [0x61, 0x54, 0x74].contains($0.code) })
    #expect(program.suffix(2) == [.mov64(0, 0), .exit])
    #expect(program.filter { $0 == .exit }.count == 13)
  }

  @Test func withoutACatchAllNoMatchDenies() throws {
    let program = try DeviceFilter.program([.init(allow: true, type: "c", major: 10, minor: 200)])
    #expect(program.filter { $0 == .exit }.count == 13)
    #expect(program.suffix(2) == [.mov64(0, 0), .exit])
    #expect(program.dropLast(2).suffix(2) == [.mov64(0, 1), .exit])
  }

  @Test func jumpsLandAfterTheirBlock() throws {
    let program = try DeviceFilter.program([
      .init(allow: true, type: "b", major: 8, minor: 0, access: "r")
    ])
    for (i, insn) in program.enumerated() where insn.code == 0x56 || insn.code == 0x5e {
      let target = i + 1 + Int(insn.off)
      #expect(target < program.count)
      #expect(program[target - 1] == .exit, "jump at \(i) must skip to just after an exit")
    }
  }

  @Test func badRulesAreRefused() {
    #expect(throws: (any Error).self) { try DeviceFilter.program([.init(allow: true, type: "x")]) }
    #expect(throws: (any Error).self) {
      try DeviceFilter.program([.init(allow: true, type: "c", access: "rwz")])
    }
  }
}
