// The engine CLI's own behaviour, apart from any store or registry.
import Testing

/// `berth --version` answers as podman's does, without a store.
@Test func berthPrintsItsVersion() throws {
  let out = try run([berthPath, "--version"])
  #expect(out.hasPrefix("berth version "))
}
