import BerthSystem
import Glibc
import Testing

@Test(arguments: [
  ("TERM", SIGTERM), ("SIGKILL", SIGKILL), ("sigusr1", SIGUSR1), ("9", 9), ("RTMIN+2", 36),
])
func signalsParseByNameOrNumber(text: String, expected: Int32) throws {
  #expect(try Signal.parse(text) == expected)
}

@Test(arguments: ["BOGUS", "0", "65", "RTMIN+40", ""])
func unknownSignalsAreRefusedWithAHint(text: String) {
  #expect(throws: BerthError.self) { try Signal.parse(text) }
}

@Test func exitCodesFollowTheShellConvention() {
  #expect(exitCode(fromWaitStatus: 7 << 8) == 7)
  #expect(exitCode(fromWaitStatus: SIGKILL) == 137)
}
