// Rootless networking through pasta (Debian's passt), podman's default: a
// network namespace of the monitor's user namespace, given an interface
// and routes that mirror the host's, and published ports as pasta's own
// listening sockets on the host (no firewall rule, no root). The container
// shares the monitor's namespace; pasta goes when it goes. slirp4netns is
// the fallback (and `--network slirp4netns`): the same namespace, a tap
// device on 10.0.2.0/24, ports added through its API socket.
import BerthMonitor
import BerthSystem
import Glibc

extension Engine {
  /// Ends a container's pasta if it is still there (after a killed monitor).
  func stopPasta(_ id: String) {
    PastaProcess.stop(pidFile: runDirectory(id) + "/" + RunFiles.pasta)
  }

  static func slirpPath() -> String? {
    ["/usr/bin/slirp4netns", "/usr/local/bin/slirp4netns"].first { access($0, X_OK) == 0 }
  }

  /// slirp4netns's orders: its API socket (a short path under the run
  /// root), the ports.
  func slirpConfig(_ container: Container, _ config: ContainerConfig, exposed: [String])
    throws(BerthError) -> SlirpConfig
  {
    guard let path = Self.slirpPath() else {
      throw BerthError(
        .notFound, "--network slirp4netns needs slirp4netns",
        hint: "install Debian's slirp4netns package")
    }
    // A short path: a socket's must fit in sun_path's 108 bytes.
    try mkdirAll(runRoot + "/slirp", mode: 0o700)
    var slirp = SlirpConfig(
      path: path, apiSocket: runRoot + "/slirp/" + container.shortID + ".sock")
    unlink(slirp.apiSocket)
    for port in try claimPorts(container, PortRequest.requested(config, exposed: exposed)) {
      slirp.forwards.append(
        SlirpConfig.Forward(
          proto: port.protocol, hostAddress: port.hostIP.isEmpty ? "0.0.0.0" : port.hostIP,
          hostPort: port.hostPort, guestPort: port.containerPort))
    }
    return slirp
  }

  static func pastaPath() -> String? {
    ["/usr/bin/pasta", "/usr/local/bin/pasta", "/usr/sbin/pasta"].first {
      access($0, X_OK) == 0
    }
  }

  /// pasta configuring a namespace with routes like the host's, forwarding
  /// nothing from it to the host's own ports, and writing its pid to
  /// `pidFile`; the caller adds the ports and the target pid.
  static func pastaCommand(_ path: String, pidFile: String) -> [String] {
    [path, "--config-net", "--quiet", "-T", "none", "-U", "none", "--pid", pidFile]
  }

  /// pasta's argv for the container (the monitor's starter adds the pid).
  func pastaArguments(_ container: Container, _ config: ContainerConfig, exposed: [String])
    throws(BerthError) -> [String]
  {
    guard let path = Self.pastaPath() else {
      throw BerthError(
        .notFound, "--network pasta needs pasta", hint: "install Debian's passt package")
    }
    let published = try claimPorts(container, PortRequest.requested(config, exposed: exposed))
    // Nothing forwarded but what was asked: no automatic port mirroring,
    // no traffic from the namespace to the host's own ports.
    // Its pid file: pasta given a pid (not a namespace path) does not see
    // the namespace go, so the monitor ends it (the engine, after a crash).
    var arguments = Self.pastaCommand(
      path, pidFile: runDirectory(container.id) + "/" + RunFiles.pasta)
    for proto in ["tcp", "udp"] {
      let ports = published.filter { $0.protocol == proto }
      if ports.isEmpty {
        arguments += [proto == "tcp" ? "-t" : "-u", "none"]
      }
      for port in ports {
        let address = port.hostIP.isEmpty ? "" : port.hostIP + "/"
        arguments += [
          proto == "tcp" ? "-t" : "-u", "\(address)\(port.hostPort):\(port.containerPort)",
        ]
      }
    }
    return arguments
  }
}
