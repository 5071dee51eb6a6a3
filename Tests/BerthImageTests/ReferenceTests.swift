import BerthOCI
import FoundationEssentials
import Testing

@Test(arguments: [
  ("busybox", "docker.io/library/busybox:latest"),
  ("busybox:1.36", "docker.io/library/busybox:1.36"),
  ("library/busybox", "docker.io/library/busybox:latest"),
  ("user/app:v1", "docker.io/user/app:v1"),
  ("index.docker.io/user/app", "docker.io/user/app:latest"),
  ("docker.io/busybox", "docker.io/library/busybox:latest"),
  ("quay.io/podman/stable", "quay.io/podman/stable:latest"),
  ("localhost/app", "localhost/app:latest"),
  ("localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t"),
  ("127.0.0.1:5000/app:1.0", "127.0.0.1:5000/app:1.0"),
  ("[::1]:5000/app", "[::1]:5000/app:latest"),
  ("reg.example.com/a_b/c__d/e-f/g---h/i.j", "reg.example.com/a_b/c__d/e-f/g---h/i.j:latest"),
])
func referencesNormaliseLikeDocker(input: String, expected: String) throws {
  #expect(try Reference(parsing: input).description == expected)
}

@Test func digestReferencesKeepTheDigestAndNoDefaultTag() throws {
  let hex = String(repeating: "ab", count: 32)
  let ref = try Reference(parsing: "busybox@sha256:\(hex)")
  #expect(ref.tag == nil)
  #expect(ref.digest?.encoded == hex)
  #expect(ref.description == "docker.io/library/busybox@sha256:\(hex)")
  #expect(ref.manifestReference == "sha256:\(hex)")
  let both = try Reference(parsing: "localhost:5000/app:1@sha256:\(hex)")
  #expect(both.tag == "1")
  #expect(both.domain == "localhost:5000")
}

@Test func shortNamesAreMarked() throws {
  #expect(try Reference(parsing: "busybox").isShortName)
  #expect(try Reference(parsing: "user/app").isShortName)
  #expect(try !Reference(parsing: "docker.io/busybox").isShortName)
}

@Test(arguments: [
  "", "Busybox", "docker.io/Library/busybox", "busybox:", "busybox:-bad", "a//b", "/a", "a/",
  "busybox@sha256:short", "busybox@md5:00", "app:\(String(repeating: "t", count: 129))",
  "a..b", "a.-b", "-a", "exa mple.com/app", "host:port/app",
])
func badReferencesAreRefused(input: String) {
  #expect(throws: (any Error).self) { try Reference(parsing: input) }
}

@Test func digestsAreValidated() throws {
  let hex = String(repeating: "0f", count: 32)
  let digest = try Digest(parsing: "sha256:\(hex)")
  #expect(digest.description == "sha256:\(hex)")
  #expect(digest.short == String(hex.prefix(12)))
  #expect(throws: (any Error).self) { try Digest(parsing: "sha256:\(hex.uppercased())") }
  #expect(throws: (any Error).self) { try Digest(parsing: "sha256:../../etc/passwd") }
  #expect(throws: (any Error).self) { try Digest(parsing: "sha1:\(hex)") }
  #expect(throws: (any Error).self) { try Digest(parsing: hex) }
}

@Test func platformsParseAndMatch() throws {
  let arm = try Platform(parsing: "linux/aarch64/v8")
  #expect(arm == Platform(os: "linux", architecture: "arm64"))
  #expect(try Platform(parsing: "linux/x86_64").architecture == "amd64")
  #expect(throws: (any Error).self) { try Platform(parsing: "linux") }
  let amd = try Platform(parsing: "linux/amd64")
  #expect(amd.matches(Platform(os: "linux", architecture: "amd64")))
  #expect(!amd.matches(Platform(os: "linux", architecture: "arm64")))
}

@Test func indexSelectsTheRequestedPlatform() throws {
  let json = """
    {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
     "manifests":[
      {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,
       "digest":"sha256:\(String(repeating: "1", count: 64))",
       "platform":{"architecture":"arm","os":"linux","variant":"v6"}},
      {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,
       "digest":"sha256:\(String(repeating: "2", count: 64))",
       "platform":{"architecture":"arm","os":"linux","variant":"v7"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,
       "digest":"sha256:\(String(repeating: "3", count: 64))",
       "platform":{"architecture":"amd64","os":"linux"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,
       "digest":"sha256:\(String(repeating: "4", count: 64))",
       "platform":{"architecture":"unknown","os":"unknown"}}]}
    """
  let index = try JSONDecoder().decode(Index.self, from: Data(json.utf8))
  #expect(index.manifest(for: try Platform(parsing: "linux/arm/v7"))?.digest.encoded.first == "2")
  #expect(index.manifest(for: try Platform(parsing: "linux/amd64"))?.digest.encoded.first == "3")
  #expect(index.manifest(for: try Platform(parsing: "linux/s390x")) == nil)
}

@Test func imageConfigDecodesDockerAndOCIFields() throws {
  let json = """
    {"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",
     "config":{"Env":["PATH=/bin"],"Cmd":["sh"],"ExposedPorts":{"80/tcp":{}},"WorkingDir":"/"},
     "rootfs":{"type":"layers","diff_ids":["sha256:\(String(repeating: "a", count: 64))"]},
     "history":[{"created_by":"/bin/sh -c #(nop) ADD file","empty_layer":false}]}
    """
  let config = try JSONDecoder().decode(ImageConfig.self, from: Data(json.utf8))
  #expect(config.config?.cmd == ["sh"])
  #expect(config.config?.exposedPorts?.keys.first == "80/tcp")
  #expect(config.rootfs.diffIDs.count == 1)
  #expect(config.history?.first?.createdBy == "/bin/sh -c #(nop) ADD file")
  let again = try JSONDecoder().decode(
    ImageConfig.self, from: try JSONEncoder().encode(config))
  #expect(again == config)
}
