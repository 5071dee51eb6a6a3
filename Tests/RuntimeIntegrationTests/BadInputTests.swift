import BerthOCI
import BerthTestSupport
import Foundation
import Testing

/// Each bad input gets one clear line on stderr, a non-zero exit, and
/// leaves nothing behind (the sandbox's leak check).
@Suite(
  "Bad input", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct BadInputTests {
  func expectOneLineError(
    _ out: Output, _ text: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(out.status != 0, sourceLocation: sourceLocation)
    #expect(out.stderr.contains(text), "\(out.stderr)", sourceLocation: sourceLocation)
    #expect(
      out.stderr.split(separator: "\n").count == 1, "\(out.stderr)", sourceLocation: sourceLocation)
  }

  @Test func aBundleWithoutConfigJSON() throws {
    let box = Sandbox("noconfig")
    defer { box.finish() }
    try FileManager.default.createDirectory(
      atPath: box.dir + "/empty", withIntermediateDirectories: true)
    expectOneLineError(
      box.runtime(["create", "--bundle", box.dir + "/empty", "c"]), "config.json not found")
  }

  @Test func malformedJSONNamesTheProblem() throws {
    let box = Sandbox("badjson")
    defer { box.finish() }
    let bundle = box.bundle(box.spec(["true"]))
    try "{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": 5".write(
      toFile: bundle + "/config.json", atomically: true, encoding: .utf8)
    expectOneLineError(
      box.runtime(["create", "--bundle", bundle, "c"]), "is not a valid runtime spec")
    try "{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": 5, \"user\": {\"uid\": 0, \"gid\": 0}}}"
      .write(
        toFile: bundle + "/config.json", atomically: true, encoding: .utf8)
    expectOneLineError(box.runtime(["create", "--bundle", bundle, "c"]), "process.cwd")
  }

  @Test func anUnsupportedMajorVersion() {
    let box = Sandbox("version")
    defer { box.finish() }
    var spec = box.spec(["true"])
    spec.ociVersion = "2.0.0"
    expectOneLineError(
      box.runtime(["create", "--bundle", box.bundle(spec), "c"]), "unsupported ociVersion \"2.0.0\""
    )
  }

  @Test func anIDAlreadyInUse() {
    let box = Sandbox("dupid")
    defer { box.finish() }
    let bundle = box.bundle(box.spec(["sleep", "30"]))
    #expect(box.runtime(["create", "--bundle", bundle, "c"]).status == 0)
    expectOneLineError(
      box.runtime(["create", "--bundle", bundle, "c"]), "container \"c\" already exists")
    #expect(box.state("c")?["status"] as? String == "created")
    box.runtime(["delete", "--force", "c"])
  }

  @Test(arguments: ["../escape", "a/b", ".", "with space"])
  func anInvalidID(id: String) {
    let box = Sandbox("badid")
    defer { box.finish() }
    expectOneLineError(
      box.runtime(["create", "--bundle", box.bundle(box.spec(["true"])), id]),
      "invalid container id")
    #expect(!FileManager.default.fileExists(atPath: box.dir + "/escape"))
  }

  @Test func aMissingRootfs() {
    let box = Sandbox("norootfs")
    defer { box.finish() }
    var spec = box.spec(["true"])
    spec.root = Spec.Root(path: "/nonexistent/rootfs")
    expectOneLineError(
      box.runtime(["create", "--bundle", box.bundle(spec), "c"]),
      "rootfs /nonexistent/rootfs does not exist")
  }

  @Test func commandsOnAContainerThatDoesNotExist() {
    let box = Sandbox("noctr")
    defer { box.finish() }
    for verb in [["start"], ["state"], ["kill"], ["delete"], ["exec", "nope", "true"]] {
      let args = verb.count > 1 ? verb : verb + ["nope"]
      expectOneLineError(box.runtime(args), "container \"nope\" does not exist")
    }
  }

  @Test func errorsGoToTheJSONLogAsRuncWritesThem() throws {
    let box = Sandbox("jsonlog")
    defer { box.finish() }
    let log = box.dir + "/runtime.log"
    let out = sh([
      TestEnvironment.runtime, "--root", box.stateRoot, "--log", log, "--log-format", "json",
      "start", "nope",
    ])
    #expect(out.status != 0)
    let line =
      try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").last.map(String.init)
      ?? ""
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
    #expect(json["level"] == "error")
    #expect(json["msg"]?.contains("container \"nope\" does not exist") == true)
    #expect(json["time"]?.hasSuffix("Z") == true)
  }
}

@Suite(
  "delete --force",
  .enabled(if: TestEnvironment.canRunContainers, "needs root and the busybox fixture"))
struct ForceDeleteTests {
  /// podman relies on this: --force of an unknown id succeeds, as in runc,
  /// and clears a directory an aborted create left without state.json.
  @Test func forceDeleteOfNothingOrOfAnAbortedCreateSucceeds() throws {
    let box = Sandbox("forcedel")
    defer { box.finish() }
    #expect(box.runtime(["delete", "--force", "ghost"]).status == 0)
    try FileManager.default.createDirectory(
      atPath: box.stateRoot + "/half", withIntermediateDirectories: true)
    #expect(box.runtime(["delete", "--force", "half"]).status == 0)
    #expect(!FileManager.default.fileExists(atPath: box.stateRoot + "/half"))
    #expect(box.runtime(["delete", "ghost"]).status != 0)
  }
}
