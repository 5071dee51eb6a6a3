// The engine CLI's own behaviour, apart from any store or registry.
import Foundation
import Testing

/// `berth --version` answers as podman's does, without a store.
@Test func berthPrintsItsVersion() throws {
  let out = try run([berthPath, "--version"])
  #expect(out.hasPrefix("berth version "))
}

/// Built as it ships (BERTH_STATIC_RUNTIME=1, as scripts/test.sh builds),
/// `berth` is a static executable: no dynamic loader runs at any command's
/// start, and nothing it links (SQLite, libarchive) is looked up at run time.
@Test(
  .enabled(
    if: ProcessInfo.processInfo.environment["BERTH_STATIC_RUNTIME"] == "1",
    "a plain `swift build` links berth dynamically (BERTH_STATIC_RUNTIME is not 1)"))
func berthIsAStaticExecutable() throws {
  let description = try run(["file", "-L", berthPath])
  #expect(description.contains("statically linked"), "\(description)")
  // LD_DEBUG is the dynamic loader's: a static program never prints it.
  let loaded = try run(["sh", "-c", "LD_DEBUG=files \"$0\" --version 2>&1", berthPath])
  #expect(!loaded.contains("file="), "\(loaded)")
  #expect(loaded.hasPrefix("berth version "))
}
