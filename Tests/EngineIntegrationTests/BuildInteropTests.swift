import BerthTestSupport
import Foundation
import Testing

/// Images `berth build` makes run unchanged under the other engines: the
/// docker format under dockerd (Debian's docker.io, started here for the
/// test), the OCI format under podman.
@Suite(
  "berth-built images under dockerd and podman",
  .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct BuildInteropTests {
  static let containerfile = """
    FROM busybox
    ENV GREETING=hello PATH=/opt/tool:/usr/bin:/bin
    WORKDIR /opt/tool
    COPY tool.sh ./tool
    RUN chmod 0755 tool && echo 'runner:x:1234:1234::/opt/tool:/bin/sh' >> /etc/passwd \
        && echo built > /opt/tool/stamp
    USER runner
    ENTRYPOINT ["tool"]
    CMD ["world"]
    """

  static let tool = """
    #!/bin/sh
    echo "$GREETING $1 from $(pwd) as $(id -u) $(cat stamp)"
    """

  static let expected = "hello world from /opt/tool as 1234 built\n"

  func buildImage(_ box: EngineSandbox, format: String) throws -> String {
    let context = makeContext(
      box, "ctx-\(format)", files: ["Containerfile": Self.containerfile, "tool.sh": Self.tool])
    let built = box.berth([
      "build", "--network", "none", "--format", format, "-t", "localhost/interop-\(format)",
      context,
    ])
    try #require(built.status == 0, "\(built.combined)")
    let archive = box.dir + "/interop-\(format).tar"
    let saved = box.berth([
      "save", "--format", format == "docker" ? "docker-archive" : "oci-archive", "-o", archive,
      "localhost/interop-\(format)",
    ])
    try #require(saved.status == 0, "\(saved.combined)")
    return archive
  }

  @Test(.enabled(if: EngineEnvironment.hasCommand("dockerd"), "needs dockerd (docker.io)"))
  func aDockerFormatImageRunsUnderDockerd() throws {
    let box = EngineSandbox("dockerd")
    // dockerd's own directories are outside the sandbox: its mounts are
    // its own business, and finish() checks the sandbox's.
    let state = "/tmp/berth-dockerd-\(UUID().uuidString.prefix(8))"
    let socket = state + "/docker.sock"
    try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    let pid = box.background(
      "dockerd --data-root \(state)/data --exec-root \(state)/exec --pidfile \(state)/pid -H unix://\(socket) --iptables=false --ip6tables=false --bridge=none",
      log: state + "/dockerd.log")
    func docker(_ args: [String]) -> Output {
      sh(["env", "DOCKER_HOST=unix://\(socket)", "/usr/local/bin/docker"] + args)
    }
    defer {
      kill(pid, SIGTERM)
      _ = box.eventually(20) { kill(pid, 0) != 0 }
      sh(["sh", "-c", "grep -o ' \(state)[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l"])
      sh(["rm", "-rf", state])
      box.finish()
    }
    let archive = try buildImage(box, format: "docker")
    try #require(
      box.eventually(30) { docker(["version"]).status == 0 },
      "dockerd did not start: \((try? String(contentsOfFile: state + "/dockerd.log", encoding: .utf8)) ?? "")"
    )
    let loaded = docker(["load", "-i", archive])
    #expect(loaded.stdout.contains("localhost/interop-docker:latest"), "\(loaded.combined)")
    let ran = docker(["run", "--rm", "--network", "none", "localhost/interop-docker"])
    #expect(ran.stdout == Self.expected, "\(ran.combined)")
    let config = docker([
      "inspect", "--format", "{{.Config.User}} {{.Config.WorkingDir}} {{json .Config.Entrypoint}}",
      "localhost/interop-docker",
    ])
    #expect(config.stdout == "runner /opt/tool [\"tool\"]\n", "\(config.combined)")
  }

  @Test(.enabled(if: EngineEnvironment.hasCommand("podman"), "needs podman"))
  func anOCIFormatImageRunsUnderPodman() throws {
    let box = EngineSandbox("podmanrun")
    let podmanRoot = box.dir + "/podman"
    func podman(_ args: [String]) -> Output {
      sh(
        [
          "podman", "--root", podmanRoot + "/root", "--runroot", podmanRoot + "/run",
          "--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
          "--events-backend", "none",
        ] + args)
    }
    defer {
      podman(["rm", "-af"])
      podman(["rmi", "-af"])
      sh(["rm", "-rf", podmanRoot])
      box.finish()
    }
    let archive = try buildImage(box, format: "oci")
    let loaded = podman(["load", "-i", archive])
    #expect(loaded.status == 0, "\(loaded.combined)")
    let ran = podman([
      "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit",
      "nproc=1024:1024", "localhost/interop-oci",
    ])
    #expect(ran.stdout == Self.expected, "\(ran.combined)")
  }
}
