import BerthSystem
import Foundation
import Testing

@testable import BerthEngine

/// The engine's nft scripts run in berth-nft (Debian's libnftables, in a
/// helper because the static CLI cannot load it), each as one transaction.
@Suite(
  "firewall scripts through berth-nft",
  .enabled(if: getuid() == 0, "nf_tables needs root (CAP_NET_ADMIN in the host's namespace)"))
struct FirewallTests {
  let table = "inet berth-test-\(getpid())"

  func tables() throws -> String {
    try ChildProcess.capture(["/usr/sbin/nft", "list", "tables"]).output
  }

  @Test func aScriptChangesTheRules() throws {
    try Firewall.run("add table \(table)\n", what: "add a test table")
    #expect(try tables().contains(table))
    try Firewall.run("delete table \(table)\n", what: "delete the test table")
    #expect(try !tables().contains(table))
  }

  @Test func aRefusedScriptChangesNothingAndSaysWhatNftSaid() throws {
    // The first line is valid; the second is not: neither may take effect.
    let script = "add table \(table)-refused\nadd chain \(table)-refused c { type bogus; }\n"
    let error = try #require(throws: BerthError.self) {
      try Firewall.run(script, what: "add a bad chain")
    }
    #expect(error.description.contains("cannot add a bad chain: Error:"), "\(error)")
    #expect(try !tables().contains("\(table)-refused"))
  }
}
