// Rootless networking through pasta (Debian's passt), podman's default: a
// network namespace of the monitor's user namespace, given an interface
// and routes that mirror the host's, and published ports as pasta's own
// listening sockets on the host (no firewall rule, no root). The container
// shares the monitor's namespace; pasta goes when it goes.
import BerthMonitor
import BerthSystem
import Glibc

extension Engine {
  /// Ends a container's pasta if it is still there (after a killed monitor).
  func stopPasta(_ id: String) {
    PastaProcess.stop(pidFile: runDirectory(id) + "/" + RunFiles.pasta)
  }

  static func pastaPath() -> String? {
    ["/usr/bin/pasta", "/usr/local/bin/pasta", "/usr/sbin/pasta"].first {
      access($0, X_OK) == 0
    }
  }

  /// pasta's argv for the container (the monitor's starter adds the pid).
  func pastaArguments(_ container: Container, _ config: ContainerConfig) throws(BerthError)
    -> [String]
  {
    guard let path = Self.pastaPath() else {
      throw BerthError(
        .notFound, "--network pasta needs pasta", hint: "install Debian's passt package")
    }
    var requests = config.ports ?? []
    if config.publishAll == true, let image = try? store.resolveImage(container.imageID),
      let exposed = try? imageConfiguration(image).exposedPorts
    {
      for port in exposed.keys.sorted() {
        let parts = port.split(separator: "/")
        guard let number = parts.first.flatMap({ Int($0) }) else { continue }
        requests.append(
          PortRequest(
            hostPort: 0, containerPort: number, protocol: parts.count > 1 ? String(parts[1]) : "tcp"
          ))
      }
    }
    let published = try claimPorts(container, requests)
    // Nothing forwarded but what was asked: no automatic port mirroring,
    // no traffic from the namespace to the host's own ports.
    // Its pid file: pasta given a pid (not a namespace path) does not see
    // the namespace go, so the monitor ends it (the engine, after a crash).
    var arguments = [
      path, "--config-net", "--quiet", "-T", "none", "-U", "none", "--pid",
      runDirectory(container.id) + "/" + RunFiles.pasta,
    ]
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
