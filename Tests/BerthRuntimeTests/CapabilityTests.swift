import BerthSystem
import Foundation
import Testing

@Suite("capabilities")
struct CapabilityTests {
  @Test func theBoundingSetIsTheOneProcStatusShows() throws {
    // What the kernel reports for this process, as /proc parses it.
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") })
    let mask = try #require(
      UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16))
    let expected = Capability.allNames.indices.filter { mask & (1 << UInt64($0)) != 0 }.map {
      Capability.names[$0]
    }
    #expect(Capability.boundingSet == expected)
  }
}
