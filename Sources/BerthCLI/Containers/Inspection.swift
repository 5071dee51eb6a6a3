// top, stats, port, diff: looking at a container from the host.
import ArgumentParser
import BerthEngine
import BerthSystem
import Foundation
import Glibc

struct Top: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "top", abstract: "Show the processes of a container.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "Container.") var container: String
  @Argument(help: "ps(1) fields, e.g. pid,args (default user,pid,ppid,pcpu,etime,tty,time,args).")
  var descriptors: [String] = []

  func run() throws {
    let pids = try global.engine().containerProcesses(container)
    let fields =
      descriptors.isEmpty
      ? "user,pid,ppid,pcpu,etime,tty,time,args" : descriptors.joined(separator: ",")
    let status = try ChildProcess.run(
      ["ps", "-o", fields, "-p", pids.map(String.init).joined(separator: ",")], path: "/bin/ps")
    if status != 0 { throw ExitCode(status) }
  }
}

struct Stats: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats", abstract: "Show containers' resource use.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .customLong("no-stream"), help: "Print one sample and exit.") var noStream = false
  @Flag(name: .shortAndLong, help: "All containers (default: running).") var all = false
  @Option(help: "table (default), json or a Go template.") var format = "table"
  @Argument(help: "Containers (default: all running).") var containers: [String] = []

  func run() throws {
    let engine = try global.engine()
    while true {
      let names =
        containers.isEmpty
        ? try engine.containers().filter { all || $0.state == .running }.map(\.id) : containers
      // CPU % over a 200 ms window, as podman samples it.
      let first = try names.map { try engine.stats($0) }
      usleep(200_000)
      let second = try names.map { try engine.stats($0) }
      let rows = zip(first, second).map { a, b -> [String: String] in
        let cpu = Double(b.cpuNanoseconds &- a.cpuNanoseconds) / 2e8 * 100
        let limit =
          b.memoryLimit > 0 && b.memoryLimit < (1 << 62) ? b.memoryLimit : physicalMemory()
        return [
          "ID": String(b.id.prefix(12)), "Name": b.name, "CPUPerc": String(format: "%.2f%%", cpu),
          "MemUsage": "\(humanBytes(b.memoryUsage)) / \(humanBytes(limit))",
          "MemPerc": String(format: "%.2f%%", Double(b.memoryUsage) / Double(max(limit, 1)) * 100),
          "NetIO": b.network.map { "\(humanBytes($0.received)) / \(humanBytes($0.sent))" }
            ?? "-- / --",
          "BlockIO": "-- / --", "PIDs": "\(b.pids)",
        ]
      }
      if format == "json" {
        try printJSON(rows)
      } else {
        let table =
          "table {{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}"
        try printTemplate(
          format == "table" ? table : format, rows,
          headers: [
            "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
            "NetIO": "NET IO", "BlockIO": "BLOCK IO", "Name": "NAME",
          ])
      }
      if noStream { return }
      usleep(800_000)
    }
  }

  func physicalMemory() -> UInt64 {
    UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
  }

  func humanBytes(_ value: UInt64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var size = Double(value)
    var unit = 0
    while size >= 1000 && unit < units.count - 1 {
      size /= 1000
      unit += 1
    }
    return unit == 0 ? "\(value)B" : String(format: "%.4g%@", size, units[unit])
  }
}

struct Port: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "port", abstract: "List a container's published ports.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "All containers.") var all = false
  @Argument(help: "Container.") var container: String?

  @Argument(help: "Only this port: PORT[/PROTO].") var privatePort: String?

  func run() throws {
    let engine = try global.engine()
    let targets: [Container]
    if let container {
      targets = [try engine.refresh(try engine.lookup(container).id)]
    } else if all {
      targets = try engine.containers().filter { $0.state == .running }
    } else {
      throw BerthError(.invalidArgument, "give a container or --all")
    }
    for target in targets {
      var ports = try engine.publishedPorts(of: target.id)
      if let privatePort {
        let parts = privatePort.split(separator: "/").map(String.init)
        ports = ports.filter {
          "\($0.containerPort)" == parts[0] && (parts.count == 1 || $0.protocol == parts[1])
        }
        if ports.isEmpty {
          throw BerthError(.notFound, "failed to find published port \"\(privatePort)\"")
        }
        for port in ports {
          print("\(port.hostIP.isEmpty ? "0.0.0.0" : port.hostIP):\(port.hostPort)")
        }
        continue
      }
      for port in ports.sorted(by: {
        ($0.containerPort, $0.protocol) < ($1.containerPort, $1.protocol)
      }) {
        let line =
          "\(port.containerPort)/\(port.protocol) -> \(port.hostIP.isEmpty ? "0.0.0.0" : port.hostIP):\(port.hostPort)"
        print(container == nil ? "\(target.shortID)\t\(line)" : line)
      }
    }
  }
}
