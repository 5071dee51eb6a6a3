// `-p/--publish` as podman and docker read it:
//   CONTAINER[/PROTO]                 a free host port (so is a HOST of 0)
//   HOST:CONTAINER[/PROTO]
//   IP:HOST:CONTAINER[/PROTO], IP::CONTAINER, [IPv6]:HOST:CONTAINER
// with N-M ranges of equal length on either side (a container range alone
// gets free host ports). PROTO is tcp (default), udp or sctp.
import BerthSystem

public struct PortRequest: Codable, Sendable, Equatable {
  /// "" for all of the host's addresses.
  public var hostIP: String = ""
  /// 0: a free port, chosen at start.
  public var hostPort: Int
  public var containerPort: Int
  public var `protocol`: String = "tcp"

  public init(hostIP: String = "", hostPort: Int, containerPort: Int, protocol: String = "tcp") {
    self.hostIP = hostIP
    self.hostPort = hostPort
    self.containerPort = containerPort
    self.protocol = `protocol`
  }

  /// What a container publishes: its `-p` ports and, with `-P`, each port
  /// its image exposes ("80/tcp") that `-p` does not, on a free host port.
  static func requested(_ config: ContainerConfig, exposed: [String]) -> [PortRequest] {
    var requests = config.ports ?? []
    guard config.publishAll == true else { return requests }
    for port in exposed {
      let parts = port.split(separator: "/")
      guard let number = parts.first.flatMap({ Int($0) }) else { continue }
      let proto = parts.count > 1 ? String(parts[1]) : "tcp"
      if !requests.contains(where: { $0.containerPort == number && $0.protocol == proto }) {
        requests.append(PortRequest(hostPort: 0, containerPort: number, protocol: proto))
      }
    }
    return requests
  }

  public static func parse(_ text: String) throws(BerthError) -> [PortRequest] {
    func invalid(_ why: String) -> BerthError {
      BerthError(
        .invalidArgument, "invalid port mapping \"\(text)\": \(why)",
        hint: "use [[IP:]HOST:]CONTAINER[/tcp|udp|sctp], e.g. 8080:80 or 127.0.0.1:8080:80/udp")
    }
    var spec = Substring(text)
    var proto = "tcp"
    if let slash = spec.lastIndex(of: "/") {
      proto = spec[spec.index(after: slash)...].lowercased()
      spec = spec[..<slash]
      guard ["tcp", "udp", "sctp"].contains(proto) else { throw invalid("unknown protocol") }
    }
    var hostIP = ""
    if spec.hasPrefix("[") {
      guard let close = spec.firstIndex(of: "]") else { throw invalid("unclosed [") }
      hostIP = String(spec[spec.index(after: spec.startIndex)..<close])
      spec = spec[spec.index(after: close)...]
      guard spec.hasPrefix(":") else { throw invalid("a host port must follow the address") }
      spec = spec.dropFirst()
      guard IPAddress(hostIP)?.isIPv4 == false else { throw invalid("bad IPv6 address") }
    }
    var parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    if hostIP.isEmpty && parts.count == 3 {
      hostIP = parts.removeFirst()
      guard IPAddress(hostIP) != nil else { throw invalid("bad host address \"\(hostIP)\"") }
    }
    guard parts.count == 1 || parts.count == 2 else { throw invalid("too many colons") }
    let container = try range(parts.last!, invalid)
    var host: ClosedRange<Int>? = nil
    // An empty host port or 0 (docker's `-p 0:80`, an API HostPort "0"):
    // a free one.
    if parts.count == 2 && !parts[0].isEmpty && parts[0] != "0" {
      host = try range(parts[0], invalid)
    }
    // Canonical text (it goes into nft scripts): what inet_ntop prints.
    hostIP = hostIP.isEmpty ? "" : IPAddress(hostIP).map { "\($0)" } ?? hostIP
    if hostIP == "0.0.0.0" || hostIP == "::" { hostIP = "" }
    if let host {
      guard host.count == container.count else {
        throw invalid("the host and container ranges differ in length")
      }
      return zip(host, container).map {
        PortRequest(hostIP: hostIP, hostPort: $0, containerPort: $1, protocol: proto)
      }
    }
    return container.map {
      PortRequest(hostIP: hostIP, hostPort: 0, containerPort: $0, protocol: proto)
    }
  }

  static func range(_ text: String, _ invalid: (String) -> BerthError) throws(BerthError)
    -> ClosedRange<Int>
  {
    let ends = text.split(separator: "-", omittingEmptySubsequences: false)
    guard ends.count == 1 || ends.count == 2,
      let low = Int(ends[0]), let high = Int(ends.last!), low >= 1, high <= 65535, low <= high
    else { throw invalid("\"\(text)\" is not a port (1-65535) or a range of them") }
    return low...high
  }
}
