import Testing

@testable import BerthBuild

@Suite struct ContainerfileTypesTests {
  @Test func flagLookupKeepsRepeatsInOrder() {
    let instruction = Instruction(
      keyword: "RUN",
      flags: [
        InstructionFlag(name: "mount", value: "type=cache,target=/a"),
        InstructionFlag(name: "network", value: "none"),
        InstructionFlag(name: "mount", value: "type=tmpfs,target=/b"),
      ], command: .run(.shell("true")), line: 3, text: "RUN true")
    #expect(instruction.flagValues("mount") == ["type=cache,target=/a", "type=tmpfs,target=/b"])
    #expect(instruction.hasFlag("network"))
    #expect(!instruction.hasFlag("link"))
  }
}
