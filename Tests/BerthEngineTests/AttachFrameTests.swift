import BerthMonitor
import Testing

@Suite struct AttachFrameTests {
  @Test func framesSurviveBeingSplitAnywhere() {
    let stream =
      AttachFrame.encode(.stdout, Array("hello\n".utf8)) + AttachFrame.encode(.stderr, [])
      + AttachFrame.encode(.exit, Array("127".utf8))
    for cut in 0...stream.count {
      var buffer = Array(stream[..<cut])
      var frames = AttachFrame.decode(&buffer)
      buffer += stream[cut...]
      frames += AttachFrame.decode(&buffer)
      #expect(buffer.isEmpty)
      #expect(frames.map(\.0) == [.stdout, .stderr, .exit])
      #expect(frames.map { String(decoding: $0.1, as: UTF8.self) } == ["hello\n", "", "127"])
    }
  }

  @Test func startErrorsMapToPodmansExitCodes() {
    #expect(
      EngineExit.code(forStartError: "exec: \"nope\": executable file not found in $PATH") == 127)
    #expect(EngineExit.code(forStartError: "exec: \"/etc/passwd\": permission denied") == 126)
    #expect(EngineExit.code(forStartError: "cannot mount proc") == 125)
  }

  @Test func healthCheckCommandsAsDockerReadsThem() {
    #expect(
      HealthConfig(test: ["CMD-SHELL", "test -f /ok"]).command == ["/bin/sh", "-c", "test -f /ok"])
    #expect(HealthConfig(test: ["CMD", "true"]).command == ["true"])
    #expect(HealthConfig(test: ["NONE"]).command == nil)
  }
}
