import BerthTestSupport
import Foundation
import Testing

/// The same Containerfiles built by berth and by Debian's buildah (chroot
/// isolation, vfs storage, the same busybox): the file trees and the
/// configs must agree, and each image runs under the other's engine.
@Suite(
  "berth build next to buildah",
  .enabled(
    if: EngineEnvironment.ready && EngineEnvironment.hasCommand("buildah")
      && EngineEnvironment.hasCommand("skopeo"),
    "needs root, the fixtures, buildah and skopeo"))
struct BuildahComparisonTests {
  struct Buildah {
    let box: EngineSandbox

    @discardableResult
    func callAsFunction(_ args: [String]) -> Output {
      sh(
        [
          "buildah", "--root", box.dir + "/buildah", "--runroot", box.dir + "/buildah-run",
          "--storage-driver", "vfs",
        ] + args)
    }

    func cleanUp() {
      self(["rm", "--all"])
      self(["rmi", "--all", "--force"])
      sh(["rm", "-rf", box.dir + "/buildah", box.dir + "/buildah-run"])
    }
  }

  /// Every path under `root`: type, permissions, owner, content digest or link target.
  static func tree(_ root: String) -> [String: String] {
    var result: [String: String] = [:]
    guard let walker = FileManager.default.enumerator(atPath: root) else { return result }
    while let relative = walker.nextObject() as? String {
      let path = root + "/" + relative
      var st = stat()
      guard lstat(path, &st) == 0 else { continue }
      var entry =
        "\(st.st_mode & S_IFMT) \(String(st.st_mode & 0o7777, radix: 8)) \(st.st_uid):\(st.st_gid)"
      if (st.st_mode & S_IFMT) == S_IFREG {
        entry += " " + sh(["sha256sum", path]).stdout.prefix(16)
      } else if (st.st_mode & S_IFMT) == S_IFLNK {
        entry += " -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "")
      }
      result["/" + relative] = entry
    }
    return result
  }

  /// The runnable config of a docker-archive, as skopeo reads it.
  static func config(_ archive: String) -> [String: String] {
    let text = sh(["skopeo", "inspect", "--config", "docker-archive:" + archive]).stdout
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
      var config = object["config"] as? [String: Any]
    else { return [:] }
    if var labels = config["Labels"] as? [String: Any] {
      // buildah's own label; with no other label left, none at all.
      labels["io.buildah.version"] = nil
      config["Labels"] = labels.isEmpty ? nil : labels
    }
    var result: [String: String] = [:]
    for key in [
      "Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels",
      "StopSignal", "Healthcheck",
    ] {
      let value = config[key].map {
        (try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]))
          .map { String(decoding: $0, as: UTF8.self) } ?? ""
      }
      result[key] = value ?? "null"
    }
    return result
  }

  static let containerfiles: [String: String] = [
    "multistage": """
    FROM busybox AS build
    WORKDIR /build
    COPY src/ ./in/
    RUN mkdir -p out && cp -a in/* out/ && echo built > out/built && rm -f /etc/group
    FROM busybox
    ENV A=1 B="two words"
    COPY --from=build /build/out /app
    COPY --chown=1000:1000 --chmod=0640 src/a /owned
    RUN rm /bin/ls && mkdir -p /data && echo x > /data/x
    WORKDIR /app
    USER 1000
    EXPOSE 8080/tcp 53/udp
    VOLUME /data
    LABEL org.example.name="demo" version=1
    STOPSIGNAL SIGINT
    HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD test -f /app/built
    ENTRYPOINT ["/bin/sh", "-c"]
    CMD ["cat /app/built"]
    """,
    "copyrules": """
    FROM busybox
    ARG DEST=/opt
    COPY src/a src/link ${DEST}/files/
    COPY src/sub /opt/subcontents
    COPY src /opt/whole/
    ADD archive.tar /unpacked/
    COPY --chown=1000:1000 src/a /chowned/deep/
    COPY --chown=1000:1000 src/sub src /merged/deep/
    RUN ln -s /opt/files/a /abs-link && rm -rf /opt/whole/sub && touch -d @0 /opt/files/a
    CMD ["sh"]
    """,
  ]

  @Test(arguments: ["multistage", "copyrules"])
  func buildahAndBerthBuildTheSameImage(_ name: String) throws {
    let box = EngineSandbox("vsbuildah")
    let buildah = Buildah(box: box)
    defer {
      buildah.cleanUp()
      box.finish()
    }
    let context = makeContext(
      box, "ctx",
      files: [
        "src/a": "a\n", "src/sub/b": "b\n", "Containerfile": Self.containerfiles[name] ?? "",
      ])
    #expect(sh(["ln", "-s", "a", context + "/src/link"]).status == 0)
    #expect(sh(["chmod", "0750", context + "/src/sub"]).status == 0)
    #expect(
      sh(["tar", "-C", context + "/src", "-cf", context + "/archive.tar", "sub"]).status == 0)
    #expect(
      buildah(["pull", "-q", "docker-archive:" + EngineEnvironment.busyboxArchive]).status == 0)
    let theirs = buildah([
      "bud", "--isolation", "chroot", "--pull=never", "--format", "docker", "-t", "localhost/bh",
      context,
    ])
    try #require(theirs.status == 0, "\(theirs.combined)")
    let ours = box.berth([
      "build", "--network", "none", "--format", "docker", "-o", "type=local,dest=\(box.dir)/ours",
      "-t", "localhost/bb", context,
    ])
    try #require(ours.status == 0, "\(ours.combined)")
    // Their tree, from a working container's mount.
    let container = buildah(["from", "--pull-never", "localhost/bh"]).stdout.trimmingCharacters(
      in: .whitespacesAndNewlines)
    let mountpoint = buildah(["mount", container]).stdout.trimmingCharacters(
      in: .whitespacesAndNewlines)
    var theirTree = Self.tree(mountpoint)
    buildah(["umount", container])
    // buildah leaves the empty mount points of RUN's /etc/hosts and
    // /etc/resolv.conf in its layer when the base lacks them; berth does not.
    theirTree["/etc/hosts"] = nil
    theirTree["/etc/resolv.conf"] = nil
    let ourTree = Self.tree(box.dir + "/ours")
    for path in Set(theirTree.keys).union(ourTree.keys).sorted()
    where theirTree[path] != ourTree[path] {
      Issue.record(
        "\(name): \(path): buildah \(theirTree[path] ?? "absent"), berth \(ourTree[path] ?? "absent")"
      )
    }
    #expect(!ourTree.isEmpty)
    // The same config.
    let theirArchive = box.dir + "/bh.tar"
    let ourArchive = box.dir + "/bb.tar"
    #expect(
      buildah(["push", "localhost/bh", "docker-archive:\(theirArchive):localhost/bh:latest"]).status
        == 0)
    #expect(box.berth(["save", "-o", ourArchive, "localhost/bb"]).status == 0)
    let theirConfig = Self.config(theirArchive)
    let ourConfig = Self.config(ourArchive)
    #expect(!theirConfig.isEmpty)
    for key in theirConfig.keys.sorted() where theirConfig[key] != ourConfig[key] {
      Issue.record(
        "\(name): config \(key): buildah \(theirConfig[key] ?? ""), berth \(ourConfig[key] ?? "")")
    }
    // Each image runs under the other's engine.
    #expect(box.berth(["load", "-q", "-i", theirArchive]).status == 0)
    let expected = name == "multistage" ? "built\n" : ""
    let underBerth = box.berth(
      ["run", "--rm", "--network", "none", "localhost/bh"] + (name == "multistage" ? [] : ["true"]))
    #expect(underBerth.status == 0, "\(underBerth.combined)")
    #expect(underBerth.stdout == expected)
    let working = buildah(["from", "--pull-never", "docker-archive:" + ourArchive]).stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let underBuildah = buildah(
      ["run", "--isolation", "chroot", working, "--"]
        + (name == "multistage" ? ["/bin/sh", "-c", "cat /app/built"] : ["true"]))
    #expect(underBuildah.status == 0, "\(underBuildah.combined)")
    #expect(underBuildah.stdout == expected)
  }
}
