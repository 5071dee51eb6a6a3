import BerthSystem
import Glibc
import Testing

@Suite("starting helper programs")
struct ChildProcessTests {
  @Test func extraFDsReachTheirNumbersEvenWhenTheyStandOnEachOthers() throws {
    // Two pipes, handed over so that the first's target number is the fd the
    // second is open on now: done in order without care, the first dup2
    // would overwrite the second before its turn.
    let first = try makePipe()
    let second = try makePipe()
    defer {
      close(first.read)
      close(second.read)
    }
    let firstTarget = Int(second.write) - 3
    let secondTarget = max(firstTarget, Int(first.write) - 3) + 1
    try #require(firstTarget >= 0)
    var extras = [Int32](repeating: -1, count: secondTarget + 1)
    extras[firstTarget] = first.write
    extras[secondTarget] = second.write
    let pid = try ChildProcess.spawn(
      ["bash", "-c", "echo one >&\(firstTarget + 3); echo two >&\(secondTarget + 3)"],
      path: "/bin/bash", extraFDs: extras)
    // Our write ends closed: a pipe the child did not write reads as empty.
    close(first.write)
    close(second.write)
    #expect(exitCode(fromWaitStatus: try waitForExit(pid)) == 0)
    var buffer = [UInt8](repeating: 0, count: 16)
    let one = read(first.read, &buffer, buffer.count)
    #expect(String(decoding: buffer[0..<max(one, 0)], as: UTF8.self) == "one\n")
    let two = read(second.read, &buffer, buffer.count)
    #expect(String(decoding: buffer[0..<max(two, 0)], as: UTF8.self) == "two\n")
  }
}
