// The engine CLI's own behaviour, apart from any store or registry.
import Testing

/// `berth --version` answers as podman's does, without a store.
@Test func berthPrintsItsVersion() throws {
  let out = try run([berthPath, "--version"])
  #expect(out.hasPrefix("berth version "))
}

/// A command that needs neither maps neither libarchive nor libnftables (nor
/// the dozen libraries behind them): both load on first use (CLazyLibrary),
/// which saves every other command about 2.5 ms of start-up.
@Test func berthStartsWithoutArchiveOrFirewallLibraries() throws {
  let loaded = try run(["sh", "-c", "LD_DEBUG=files \"$0\" --version 2>&1 >/dev/null", berthPath])
  #expect(loaded.contains("file=libc.so.6"), "the dynamic loader reports what it loads")
  #expect(!loaded.contains("libarchive"))
  #expect(!loaded.contains("libnftables"))
}
