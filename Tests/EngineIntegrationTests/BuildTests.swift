import BerthTestSupport
import Foundation
import Testing

/// A build context in the sandbox: files by relative path, and the Containerfile.
func makeContext(_ box: EngineSandbox, _ name: String, files: [String: String]) -> String {
  let context = box.dir + "/" + name
  for (path, content) in files {
    let full = context + "/" + path
    try? FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: full, contents: Data(content.utf8))
  }
  return context
}

@Suite(
  "berth build", .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct BuildTests {
  @Test func multiStageBuildCopiesFromAStageAndSetsTheConfig() {
    let box = EngineSandbox("build")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "hello.txt": "hello\n",
        "Containerfile": """
        ARG BASE=busybox
        FROM $BASE AS build
        ARG GREETING=hi
        ENV NAME=world
        WORKDIR /app
        COPY hello.txt .
        RUN echo "$GREETING $NAME" > greeting && \\
            cat hello.txt
        RUN <<EOF
        echo from heredoc > /app/here
        EOF
        COPY <<EOF /app/conf.txt
        name=${NAME}
        EOF

        FROM busybox
        COPY --from=build /app /srv
        USER 1000:1000
        EXPOSE 8080
        LABEL a=b
        STOPSIGNAL SIGINT
        HEALTHCHECK --interval=5s CMD true
        CMD ["cat", "/srv/greeting"]
        """,
      ])
    let built = box.berth(["build", "--network", "none", "-t", "localhost/multi", context])
    #expect(built.status == 0, "\(built.combined)")
    #expect(built.stdout.contains("[1/2] STEP 7/8: RUN"))
    #expect(built.stdout.contains("hello\n"), "RUN output is streamed")
    #expect(built.stdout.contains("Successfully tagged localhost/multi:latest"))
    #expect(
      box.berth(["run", "--rm", "--network", "none", "localhost/multi"]).stdout == "hi world\n")
    let files = box.berth([
      "run", "--rm", "--network", "none", "localhost/multi", "cat", "/srv/here", "/srv/conf.txt",
    ])
    #expect(files.stdout == "from heredoc\nname=world\n")
    let config = box.berth([
      "image", "inspect", "--format",
      "{{.Config.User}} {{.Config.ExposedPorts}} {{.Config.Labels}} {{.Config.StopSignal}}",
      "localhost/multi",
    ])
    #expect(
      config.stdout == "1000:1000 map[8080/tcp:map[]] map[a:b] SIGINT\n", "\(config.combined)")
    // The build args of the first stage are not in the image.
    let env = box.berth(["image", "inspect", "--format", "{{.Config.Env}}", "localhost/multi"])
    #expect(!env.stdout.contains("GREETING"))
  }

  @Test func aSecondBuildUsesTheCacheAndAChangedFileRerunsFromItsStep() throws {
    let box = EngineSandbox("cache")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "a.txt": "one\n", "b.txt": "two\n",
        "Containerfile": """
        FROM busybox
        COPY a.txt /a.txt
        RUN echo ran-a >> /log
        COPY b.txt /b.txt
        RUN echo ran-b >> /log
        """,
      ])
    let build = ["build", "--network", "none", "-t", "localhost/cached", context]
    let first = box.berth(build)
    #expect(first.status == 0, "\(first.combined)")
    let second = box.berth(build)
    #expect(second.status == 0)
    #expect(second.stdout.components(separatedBy: "Using cache").count == 5, "\(second.stdout)")
    #expect(!second.stdout.contains("\nran-a\n"), "no RUN ran")
    #expect(lastLine(first.stdout) == lastLine(second.stdout), "the same image")
    // Only the content counts: a touched file is still a hit.
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSince1970: 1000)], ofItemAtPath: context + "/b.txt")
    #expect(box.berth(build).stdout.components(separatedBy: "Using cache").count == 5)
    // A changed b.txt reruns from its COPY on.
    try "three\n".write(toFile: context + "/b.txt", atomically: true, encoding: .utf8)
    let third = box.berth(build)
    #expect(third.stdout.components(separatedBy: "Using cache").count == 3, "\(third.stdout)")
    #expect(
      box.berth(["run", "--rm", "--network", "none", "localhost/cached", "cat", "/log", "/b.txt"])
        .stdout == "ran-a\nran-b\nthree\n")
    // Intermediate images stay out of `images` unless asked for (the image
    // that lost its tag to the last build is listed, as podman lists it).
    let listed = box.berth(["images", "-q"]).stdout.split(separator: "\n").count
    let all = box.berth(["images", "-a", "-q"]).stdout.split(separator: "\n").count
    #expect(all >= listed + 4, "\(listed) listed, \(all) with -a")
    // --no-cache runs everything.
    let fresh = box.berth(["build", "--no-cache"] + build.dropFirst())
    #expect(!fresh.stdout.contains("Using cache"))
    #expect(box.berth(["builder", "prune"]).status == 0)
    #expect(!box.berth(build).stdout.contains("Using cache"))
  }

  @Test func aFileRewrittenWithItsOldTimeAndSizeIsStillAChange() throws {
    let box = EngineSandbox("digests")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "src/a.txt": "one\n", "src/b.txt": "two\n",
        "Containerfile": """
        FROM busybox
        COPY src /app/src
        """,
      ])
    // Digests are kept only for files that were older than a second when
    // they were hashed.
    sleep(2)
    let build = ["build", "--network", "none", "-t", "localhost/digests", context]
    #expect(box.berth(build).status == 0)
    let kept = try FileManager.default.contentsOfDirectory(
      atPath: box.root + "/build-cache/contexts")
    #expect(kept.count == 1)
    #expect(box.berth(build).stdout.contains("Using cache"))
    // The same size and modification time, new content, same inode.
    let path = context + "/src/b.txt"
    let old = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as! Date
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.write(contentsOf: Data("TWO\n".utf8))
    try handle.close()
    try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
    let rebuilt = box.berth(build)
    #expect(rebuilt.status == 0, "\(rebuilt.combined)")
    #expect(!rebuilt.stdout.contains("Using cache"), "\(rebuilt.stdout)")
    // The image ends with its COPY, whose layer is unpacked on first use.
    #expect(
      box.berth(["run", "--rm", "--network", "none", "localhost/digests", "cat", "/app/src/b.txt"])
        .stdout == "TWO\n")
  }

  /// A new path (written straight as a tar) and one that exists (written
  /// through the overlay) alike.
  @Test func aCopiedHostsFileIsKeptWhereARunsMountPointIsNot() {
    let box = EngineSandbox("hostsfile")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "hosts": "10.1.2.3 first\n", "hosts2": "10.1.2.3 pinned\n",
        "Containerfile": """
        FROM busybox
        RUN mkdir -p /etc
        COPY hosts /etc/hosts
        COPY hosts2 /etc/hosts
        """,
      ])
    let out = box.dir + "/out"
    let built = box.berth([
      "build", "--network", "none", "-o", "type=local,dest=" + out, context,
    ])
    #expect(built.status == 0, "\(built.combined)")
    #expect(
      (try? String(contentsOfFile: out + "/etc/hosts", encoding: .utf8)) == "10.1.2.3 pinned\n")
  }

  @Test func argScopingUserAndWorkdirReachLaterSteps() {
    let box = EngineSandbox("args")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "Containerfile": """
        ARG VERSION=1
        FROM busybox
        RUN echo "before: [$VERSION]" > /out
        ARG VERSION
        ARG OTHER=${VERSION:-none}-x
        RUN echo "after: $VERSION $OTHER ${UNSET:-default} ${VERSION:+set}" >> /out
        WORKDIR /work/dir
        RUN pwd >> /out
        USER 1000
        RUN id -u > /tmp/uid && touch /tmp/mine && stat -c %u /tmp/mine >> /tmp/uid
        """
      ])
    let built = box.berth([
      "build", "--network", "none", "--build-arg", "VERSION=2", "-t", "localhost/args", context,
    ])
    #expect(built.status == 0, "\(built.combined)")
    let out = box.berth([
      "run", "--rm", "--network", "none", "localhost/args", "cat", "/out", "/tmp/uid",
    ])
    #expect(out.stdout == "before: []\nafter: 2 2-x default set\n/work/dir\n1000\n1000\n")
  }

  @Test func dockerignoreExceptionsAndCopyRules() {
    let box = EngineSandbox("ignore")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        ".dockerignore": "secret*\nlogs\n!logs/keep.log\n**/*.tmp\n",
        "secret.txt": "no", "logs/drop.log": "no", "logs/keep.log": "kept\n",
        "src/a.go": "a\n", "src/deep/b.tmp": "no", "src/deep/c.go": "c\n",
        "Containerfile": """
        FROM busybox
        COPY . /ctx/
        COPY src/*.go /one/
        COPY --chown=1000:1000 --chmod=0600 src/a.go /owned
        COPY src /dir-contents
        """,
      ])
    let built = box.berth(["build", "--network", "none", "-t", "localhost/ign", context])
    #expect(built.status == 0, "\(built.combined)")
    let listing = box.berth([
      "run", "--rm", "--network", "none", "localhost/ign", "sh", "-c",
      "cd /ctx && find . -type f | sort; ls /one; stat -c '%u:%g %a' /owned; ls /dir-contents",
    ])
    #expect(
      listing.stdout
        == "./.dockerignore\n./Containerfile\n./logs/keep.log\n./src/a.go\n./src/deep/c.go\na.go\n1000:1000 600\na.go\ndeep\n",
      "\(listing.combined)")
    // An ignored file cannot be named either.
    let context2 = makeContext(
      box, "ctx2",
      files: [
        ".dockerignore": "secret.txt\n", "secret.txt": "no",
        "Containerfile": "FROM busybox\nCOPY secret.txt /\n",
      ])
    let refused = box.berth(["build", "--network", "none", context2])
    #expect(refused.status == 125)
    #expect(refused.stderr.contains("Containerfile:2"), "\(refused.stderr)")
  }

  @Test func aCacheMountPersistsBetweenBuildsAndStaysOutOfTheImage() {
    let box = EngineSandbox("cachemount")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "Containerfile": """
        FROM busybox
        ARG RUN_ID
        RUN --mount=type=cache,target=/cache echo "$RUN_ID" >> /cache/runs && cat /cache/runs > /seen
        """
      ])
    for id in ["1", "2"] {
      let built = box.berth([
        "build", "--network", "none", "--build-arg", "RUN_ID=\(id)", "-t", "localhost/cm", context,
      ])
      #expect(built.status == 0, "\(built.combined)")
    }
    let seen = box.berth([
      "run", "--rm", "--network", "none", "localhost/cm", "sh", "-c",
      "cat /seen; ls /cache | wc -l",
    ])
    #expect(seen.stdout == "1\n2\n0\n", "\(seen.combined)")
  }

  @Test func onbuildTriggersRunInTheChildImage() {
    let box = EngineSandbox("onbuild")
    defer { box.finish() }
    let parent = makeContext(
      box, "parent",
      files: ["Containerfile": "FROM busybox\nONBUILD RUN echo triggered > /trigger\n"])
    #expect(
      box.berth(["build", "--network", "none", "-t", "localhost/parent", parent]).status == 0)
    let child = makeContext(box, "child", files: ["Containerfile": "FROM localhost/parent\n"])
    let built = box.berth(["build", "--network", "none", "-t", "localhost/child", child])
    #expect(built.status == 0, "\(built.combined)")
    #expect(
      box.berth(["run", "--rm", "--network", "none", "localhost/child", "cat", "/trigger"]).stdout
        == "triggered\n")
    let triggers = box.berth([
      "image", "inspect", "--format", "{{.Config.OnBuild}}", "localhost/child",
    ])
    #expect(!triggers.stdout.contains("triggered"), "triggers are not inherited twice")
  }

  @Test func badInputIsAClearErrorAndLeavesNothing() throws {
    let box = EngineSandbox("badbuild")
    defer { box.finish() }
    func build(_ file: String, _ extra: [String: String] = [:]) -> Output {
      let context = makeContext(
        box, "ctx-\(UUID().uuidString.prefix(6))",
        files: extra.merging(["Containerfile": file]) { $1 })
      return box.berth(["build", "--network", "none", "-t", "localhost/bad", context])
    }
    let unknown = build("FROM busybox\nRUNN true\n")
    #expect(unknown.status == 125)
    #expect(
      unknown.stderr.contains("Containerfile:2: unknown instruction: RUNN"), "\(unknown.stderr)")
    let missingStage = build("FROM busybox\nCOPY --from=nowhere /x /y\n")
    #expect(missingStage.status == 125)
    let outside = build("FROM busybox\nCOPY ../etc/passwd /x\n")
    #expect(outside.status == 125)
    #expect(outside.stderr.contains("outside the build context"), "\(outside.stderr)")
    try FileManager.default.createDirectory(
      atPath: box.dir + "/linkctx", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: box.dir + "/linkctx/escape", withDestinationPath: "/etc/shadow")
    try "FROM busybox\nCOPY escape /x\n".write(
      toFile: box.dir + "/linkctx/Containerfile", atomically: true, encoding: .utf8)
    let link = box.berth(["build", "--network", "none", box.dir + "/linkctx"])
    #expect(link.status == 125)
    #expect(link.stderr.contains("outside the build context"), "\(link.stderr)")
    let needsArg = build("ARG BASE\nFROM ${BASE}\n")
    #expect(needsArg.status == 125)
    #expect(needsArg.stderr.contains("should not be blank"), "\(needsArg.stderr)")
    let failing = build("FROM busybox\nRUN echo partial > /p\nRUN echo oops; exit 3\n")
    #expect(failing.status == 3, "the RUN's status, as podman exits")
    #expect(failing.stderr.contains("Containerfile:3"), "\(failing.stderr)")
    #expect(failing.stderr.contains("oops"), "the output's tail is in the error")
    #expect(box.berth(["image", "exists", "localhost/bad"]).status == 1, "nothing tagged")
    // The step before the failure is cached.
    let again = build("FROM busybox\nRUN echo partial > /p\nRUN echo oops; exit 3\n")
    #expect(again.stdout.contains("Using cache"))
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty, "no RUN container left")
  }

  @Test func timestampBuildsAreReproducibleAcrossStores() {
    let first = EngineSandbox("repro1")
    defer { first.finish() }
    let second = EngineSandbox("repro2")
    defer { second.finish() }
    var ids: [String] = []
    for box in [first, second] {
      let context = makeContext(
        box, "ctx",
        files: [
          "data/file.txt": "same\n",
          "Containerfile":
            "FROM busybox\nCOPY data /data\nRUN echo built > /built\nCMD [\"true\"]\n",
        ])
      let built = box.berth([
        "build", "--network", "none", "--timestamp", "1700000000", "-q", "-t", "localhost/r",
        context,
      ])
      #expect(built.status == 0, "\(built.combined)")
      ids.append(built.stdout.trimmed)
      Thread.sleep(forTimeInterval: 1.1)
    }
    #expect(ids[0] == ids[1] && !ids[0].isEmpty, "\(ids)")
  }

  @Test func squashAndLocalOutput() {
    let box = EngineSandbox("squash")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "Containerfile": """
        FROM busybox
        RUN echo one > /one
        RUN echo two > /two && rm /one
        RUN echo three > /three
        """
      ])
    let out = box.dir + "/out"
    let built = box.berth([
      "build", "--network", "none", "--squash", "-o", "type=local,dest=\(out)", "-t",
      "localhost/sq", context,
    ])
    #expect(built.status == 0, "\(built.combined)")
    func layers(_ image: String) -> Int {
      box.berth(["image", "inspect", "--format", "{{.RootFS.Layers}}", image]).stdout
        .split(separator: " ").count
    }
    #expect(layers("localhost/sq") == layers("busybox") + 1)
    #expect(
      box.berth([
        "run", "--rm", "--network", "none", "localhost/sq", "sh", "-c", "cat /two /three; ls /one",
      ])
      .stdout == "two\nthree\n")
    #expect(FileManager.default.fileExists(atPath: out + "/three"))
    #expect(!FileManager.default.fileExists(atPath: out + "/one"))
    #expect(FileManager.default.fileExists(atPath: out + "/bin/busybox"))
  }

  @Test func runStepsGetTheDefaultNetworkUnlessAskedOtherwise() {
    let box = EngineSandbox("buildnet")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "Containerfile": """
        FROM busybox
        RUN ip -o addr show | grep -c eth0 > /bridge
        RUN --network=none sh -c 'ls /sys/class/net | sort | tr "\\n" " "' > /none
        """
      ])
    let built = box.berth(["build", "-t", "localhost/net", context])
    #expect(built.status == 0, "\(built.combined)")
    let out = box.berth([
      "run", "--rm", "--network", "none", "localhost/net", "cat", "/bridge", "/none",
    ])
    #expect(out.stdout.hasPrefix("1\n") || out.stdout.hasPrefix("2\n"), "\(out.combined)")
    #expect(out.stdout.hasSuffix("\nlo "), "only lo with --network=none: \(out.combined)")
  }
}

func lastLine(_ text: String) -> String {
  text.split(separator: "\n").last.map(String.init) ?? ""
}

@Suite(
  "berth build flags", .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct BuildFlagTests {
  @Test func targetSkipsUnneededStagesAndIndependentStagesRunTogether() {
    let box = EngineSandbox("stages")
    defer { box.finish() }
    // a and b each wait for the other's mark in a shared cache mount: they
    // finish only if they run at the same time.
    let wait = { (mine: String, other: String) in
      "RUN --mount=type=cache,id=meet,target=/meet touch /meet/\(mine) && "
        + "for i in $(seq 100); do [ -e /meet/\(other) ] && exit 0; sleep 0.1; done; exit 1"
    }
    let context = makeContext(
      box, "ctx",
      files: [
        "Containerfile": """
        FROM busybox AS a
        \(wait("a", "b"))
        RUN echo a > /a
        FROM busybox AS b
        \(wait("b", "a"))
        RUN echo b > /b
        FROM busybox AS unused
        RUN exit 1
        FROM busybox AS final
        COPY --from=a /a /a
        COPY --from=b /b /b
        FROM busybox AS other
        RUN exit 2
        """
      ])
    let built = box.berth([
      "build", "--network", "none", "--target", "final", "--iidfile", box.dir + "/iid", "-t",
      "localhost/stages", context,
    ])
    #expect(built.status == 0, "\(built.combined)")
    #expect(!built.stdout.contains("AS unused"), "the unused stage is skipped")
    #expect(!built.stdout.contains("AS other"))
    let iid = (try? String(contentsOfFile: box.dir + "/iid", encoding: .utf8)) ?? ""
    #expect(iid.hasPrefix("sha256:") && built.stdout.hasSuffix(iid.dropFirst(7) + "\n"))
    #expect(
      box.berth(["run", "--rm", "--network", "none", "localhost/stages", "cat", "/a", "/b"]).stdout
        == "a\nb\n")
    let missing = box.berth(["build", "--network", "none", "--target", "nope", context])
    #expect(missing.status == 125)
    #expect(missing.stderr.contains("target stage \"nope\""))
  }

  @Test func containerfileAndContextFromStdinLabelsSecretsAndFormats() throws {
    let box = EngineSandbox("buildflags")
    defer { box.finish() }
    let secret = box.dir + "/token"
    try "s3cr3t".write(toFile: secret, atomically: true, encoding: .utf8)
    let file = """
      FROM busybox
      RUN --mount=type=secret,id=token cat /run/secrets/token > /seen
      LABEL from=file
      """
    let context = makeContext(box, "empty", files: ["keep": ""])
    let built = box.berth(
      [
        "build", "--network", "none", "-f", "-", "--secret", "id=token,src=\(secret)", "--label",
        "extra=yes", "--format", "docker", "-o", "type=oci,dest=\(box.dir)/image.tar", "-t",
        "localhost/flags", context,
      ], input: file)
    #expect(built.status == 0, "\(built.combined)")
    #expect(
      box.berth([
        "run", "--rm", "--network", "none", "localhost/flags", "sh", "-c",
        "cat /seen; ls /run/secrets 2>&1",
      ]).stdout
        .hasPrefix("s3cr3t"))
    let labels = box.berth([
      "image", "inspect", "--format", "{{.Config.Labels}}", "localhost/flags",
    ])
    #expect(labels.stdout == "map[extra:yes from:file]\n")
    let type = box.berth(["image", "inspect", "--format", "{{.ManifestType}}", "localhost/flags"])
    #expect(type.stdout == "application/vnd.docker.distribution.manifest.v2+json\n")
    #expect(sh(["tar", "-tf", box.dir + "/image.tar", "index.json"]).status == 0)
    // The context as a tar on stdin.
    let tarContext = makeContext(
      box, "tarctx",
      files: ["f.txt": "from tar\n", "Containerfile": "FROM busybox\nCOPY f.txt /\n"])
    let tar = sh(["tar", "-C", tarContext, "-cf", box.dir + "/ctx.tar", "."])
    #expect(tar.status == 0)
    let fromTar = sh([
      "sh", "-c", "\(box.command) build --network none -t localhost/tarctx - < \(box.dir)/ctx.tar",
    ])
    #expect(fromTar.status == 0, "\(fromTar.combined)")
    #expect(
      box.berth(["run", "--rm", "--network", "none", "localhost/tarctx", "cat", "/f.txt"]).stdout
        == "from tar\n")
  }

  @Test func scratchShellMountsPlatformArgsAndPullPolicy() {
    let box = EngineSandbox("scratch")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: [
        "data/note.txt": "from the context\n",
        "Containerfile": """
        FROM busybox AS tools
        FROM scratch
        COPY --from=tools --link /bin/busybox /bin/busybox
        SHELL ["/bin/busybox", "sh", "-c"]
        ARG TARGETARCH
        RUN /bin/busybox mkdir -p /out && echo "arch=$TARGETARCH" > /out/arch
        RUN --mount=type=bind,source=data,target=/ctx /bin/busybox cat /ctx/note.txt > /out/note
        RUN --mount=type=tmpfs,target=/scratch /bin/busybox sh -c 'echo temp > /scratch/t && /bin/busybox cat /scratch/t > /out/tmpfs'
        CMD ["/bin/busybox", "cat", "/out/arch", "/out/note", "/out/tmpfs"]
        """,
      ])
    let built = box.berth([
      "build", "--network", "none", "--pull", "never", "-t", "localhost/scratch", context,
    ])
    #expect(built.status == 0, "\(built.combined)")
    let arch = sh(["uname", "-m"]).stdout.contains("x86_64") ? "amd64" : "arm64"
    let out = box.berth(["run", "--rm", "--network", "none", "localhost/scratch"])
    #expect(out.stdout == "arch=\(arch)\nfrom the context\ntemp\n", "\(out.combined)")
    // The RUN mounts' targets are not in the image (the runtime's own mount
    // points, /dev /proc /sys, stay as buildah leaves them).
    let out2 = box.dir + "/tree"
    #expect(
      box.berth(["build", "-q", "--network", "none", "-o", "type=local,dest=\(out2)", context])
        .status == 0)
    #expect(FileManager.default.fileExists(atPath: out2 + "/out/note"))
    #expect(!FileManager.default.fileExists(atPath: out2 + "/ctx"))
    #expect(!FileManager.default.fileExists(atPath: out2 + "/scratch"))
    // --pull never with a base that is not here: a clear error, nothing built.
    let absent = makeContext(box, "absent", files: ["Containerfile": "FROM localhost/absent:1\n"])
    let refused = box.berth(["build", "--network", "none", "--pull", "never", absent])
    #expect(refused.status == 125)
    #expect(refused.stderr.contains("image not known"), "\(refused.stderr)")
  }

  @Test func aBindMountFromAnotherStageSeesItsFilesAndIsUnmountedAfter() {
    let box = EngineSandbox("bindfrom")
    defer { box.finish() }  // no snapshot or mount of the stage left
    let context = makeContext(
      box, "ctx",
      files: [
        "Containerfile": """
        FROM busybox AS data
        RUN mkdir /payload && echo from-stage > /payload/file && ln -s /etc /payload/escape
        FROM busybox
        RUN --mount=type=bind,from=data,source=/payload,target=/in cat /in/file > /seen
        """
      ])
    let built = box.berth(["build", "--network", "none", "-t", "localhost/bindfrom", context])
    #expect(built.status == 0, "\(built.combined)")
    #expect(
      box.berth(["run", "--rm", "--network", "none", "localhost/bindfrom", "cat", "/seen"]).stdout
        == "from-stage\n")
  }

  @Test func addFetchesAURLAndCopyTakesFromAnImage() throws {
    let box = EngineSandbox("addurl")
    defer { box.finish() }
    let served = box.dir + "/served"
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    try "remote\n".write(toFile: served + "/file.txt", atomically: true, encoding: .utf8)
    // A plain HTTP server in the sandbox's network namespace (backgrounded
    // by the shell so that only its pid is ours to wait for).
    let serverPid = box.background(
      "nsenter --net=/run/netns/\(box.netns) python3 -m http.server --bind 127.0.0.1 --directory \(served) 18080"
    )
    #expect(serverPid > 0)
    defer { kill(serverPid, SIGKILL) }
    #expect(
      box.eventually {
        box.inNetwork([
          "python3", "-c",
          "import urllib.request; urllib.request.urlopen('http://127.0.0.1:18080/file.txt')",
        ]).status == 0
      })
    let context = makeContext(
      box, "ctx",
      files: [
        "Containerfile": """
        FROM busybox
        ADD http://127.0.0.1:18080/file.txt /downloads/
        COPY --from=busybox /bin/busybox /copied-busybox
        """
      ])
    let built = box.berth(["build", "--network", "none", "-t", "localhost/add", context])
    #expect(built.status == 0, "\(built.combined)")
    let out = box.berth([
      "run", "--rm", "--network", "none", "localhost/add", "sh", "-c",
      "cat /downloads/file.txt; stat -c %a /downloads/file.txt; cmp /bin/busybox /copied-busybox && echo same",
    ])
    #expect(out.stdout == "remote\n600\nsame\n", "\(out.combined)")
    let missing = makeContext(
      box, "ctx404", files: ["Containerfile": "FROM busybox\nADD http://127.0.0.1:18080/none /x\n"])
    let failed = box.berth(["build", "--network", "none", missing])
    #expect(failed.status == 125)
    #expect(failed.stderr.contains("404"), "\(failed.stderr)")
  }

  @Test(
    .enabled(
      if: FileManager.default.fileExists(atPath: EngineEnvironment.fixtures + "/debian-rootfs.tar"),
      "needs .build/fixtures/debian-rootfs.tar (scripts/test.sh makes it with debootstrap)"))
  func aDebianBaseWithUsersAndPackages() {
    let box = EngineSandbox("debian")
    defer { box.finish() }
    let imported = box.berth([
      "import", EngineEnvironment.fixtures + "/debian-rootfs.tar", "localhost/debian:bookworm",
    ])
    #expect(imported.status == 0, "\(imported.combined)")
    let context = makeContext(
      box, "ctx",
      files: [
        "app.sh": "#!/bin/sh\necho \"app as $(id -un) in $(pwd)\"\n",
        "Containerfile": """
        FROM localhost/debian:bookworm
        RUN useradd --create-home --uid 1234 app && dpkg-query -W -f='${Status}\\n' coreutils > /status
        COPY --chown=app:app --chmod=0755 app.sh /home/app/app.sh
        USER app
        WORKDIR /home/app
        RUN touch made-by-app
        CMD ["./app.sh"]
        """,
      ])
    let built = box.berth(["build", "--network", "none", "-t", "localhost/deb-app", context])
    #expect(built.status == 0, "\(built.combined)")
    #expect(
      box.berth(["run", "--rm", "--network", "none", "localhost/deb-app"]).stdout
        == "app as app in /home/app\n")
    let owners = box.berth([
      "run", "--rm", "--network", "none", "localhost/deb-app", "sh", "-c",
      "cat /status; stat -c '%U:%G %a' app.sh made-by-app",
    ])
    #expect(
      owners.stdout == "install ok installed\napp:app 755\napp:app 644\n", "\(owners.combined)")
  }
}

@Suite(
  "berth build: interruptions, cycles, other engines",
  .enabled(
    if: EngineEnvironment.ready && EngineEnvironment.hasCommand("podman")
      && EngineEnvironment.hasCommand("docker-registry") && EngineEnvironment.hasCommand("skopeo"),
    "needs root, the fixtures, podman, runc, docker-registry and skopeo"))
struct BuildEdgeTests {
  @Test func stagesInACycleAreAnError() {
    let box = EngineSandbox("cycle")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: ["Containerfile": "FROM b AS a\nRUN true\nFROM a AS b\nRUN true\n"])
    let built = box.berth(["build", "--network", "none", context])
    #expect(built.status == 125)
    #expect(built.stderr.contains("cycle"), "\(built.stderr)")
  }

  @Test func ctrlCStopsTheBuildAndLeavesNothing() {
    let box = EngineSandbox("interrupt")
    defer { box.finish() }
    let context = makeContext(
      box, "ctx",
      files: ["Containerfile": "FROM busybox\nRUN echo first > /f\nRUN echo started; sleep 60\n"])
    let pid = box.background(
      "\(box.command) build --network none -t localhost/never \(context)", log: box.dir + "/out")
    #expect(pid > 0)
    #expect(
      box.eventually(20) {
        ((try? String(contentsOfFile: box.dir + "/out", encoding: .utf8)) ?? "")
          .contains("started\n")
      })
    kill(pid, SIGINT)
    #expect(box.eventually(20) { kill(pid, 0) != 0 }, "the build ends")
    #expect(box.berth(["image", "exists", "localhost/never"]).status == 1, "nothing tagged")
    #expect(box.berth(["ps", "-a", "-q"]).stdout.isEmpty, "the RUN container is gone")
    // finish() checks that no snapshot, mount or cgroup is left.
  }

  @Test func builtImagesRunUnderPodmanAndPushToARegistry() throws {
    let box = EngineSandbox("bpush")
    let podman = PodmanComparisonTests.Podman(box)
    defer {
      podman.cleanUp()
      box.finish()
    }
    let context = makeContext(
      box, "ctx",
      files: [
        "Containerfile": """
        FROM busybox
        RUN echo built-here > /message
        ENV GREETING=hello
        CMD ["sh", "-c", "echo $GREETING; cat /message"]
        """
      ])
    let registryPid = try box.startRegistry(port: 15000)
    defer { kill(registryPid, SIGKILL) }
    #expect(
      box.eventually {
        box.inNetwork([
          "python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 15000))",
        ]).status == 0
      })
    for format in ["oci", "docker"] {
      let tag = "localhost/built-\(format)"
      let built = box.berth(["build", "--network", "none", "--format", format, "-t", tag, context])
      #expect(built.status == 0, "\(built.combined)")
      // Under podman, from a docker-archive.
      let archive = box.dir + "/\(format).tar"
      #expect(box.berth(["save", "-o", archive, tag]).status == 0)
      #expect(podman(["load", "-q", "-i", archive]).status == 0)
      let ran = podman(["run", "--rm"] + podman.runOptions + [tag])
      #expect(ran.stdout == "hello\nbuilt-here\n", "\(format): \(ran.combined)")
      // Pushed, and read back by skopeo.
      let pushed = box.berth([
        "push", "--tls-verify=false", tag, "127.0.0.1:15000/built:\(format)",
      ])
      #expect(pushed.status == 0, "\(pushed.combined)")
      let inspected = box.inNetwork([
        "skopeo", "inspect", "--tls-verify=false", "--config",
        "docker://127.0.0.1:15000/built:\(format)",
      ])
      #expect(inspected.stdout.contains("GREETING=hello"), "\(inspected.combined)")
    }
  }
}
