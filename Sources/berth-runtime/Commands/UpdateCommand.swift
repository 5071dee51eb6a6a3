import ArgumentParser
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials
import Glibc
import SystemPackage

struct UpdateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "update", abstract: "Change the resource limits of a container.")
  @Option(name: [.short, .long], help: "JSON file with linux.resources, or - for stdin.")
  var resources: String?
  @Option(help: "Memory limit in bytes.") var memory: Int64?
  @Option(help: "Memory plus swap limit in bytes (-1 for unlimited).") var memorySwap: Int64?
  @Option(help: "Memory soft limit in bytes.") var memoryReservation: Int64?
  @Option(help: "CPU shares (relative weight).") var cpuShares: UInt64?
  @Option(help: "CPU CFS period in microseconds.") var cpuPeriod: UInt64?
  @Option(help: "CPU CFS quota in microseconds (-1 for none).") var cpuQuota: Int64?
  @Option(help: "CPUs allowed (0-3, 0,1).") var cpusetCpus: String?
  @Option(help: "Memory nodes allowed.") var cpusetMems: String?
  @Option(help: "Maximum number of pids (-1 or 0 for unlimited).") var pidsLimit: Int64?
  @Option(help: "Block IO weight (10-1000).") var blkioWeight: UInt16?
  @Option(help: "Accepted for runc compatibility; kernel memory limits are obsolete.")
  var kernelMemory: String?
  @Argument(help: "Container id.") var id: String

  func run() {
    perform { runtime throws(BerthError) in
      try runtime.update(id, resources: try collect())
    }
  }

  func collect() throws(BerthError) -> Spec.Resources {
    var r = Spec.Resources()
    if let resources {
      let bytes =
        resources == "-"
        ? try FileDescriptor(rawValue: 0).readToEnd(what: "cannot read stdin")
        : try readFile(resources)
      do {
        r = try JSONDecoder().decode(Spec.Resources.self, from: Data(bytes))
      } catch {
        throw BerthError(
          .invalidArgument, "\(resources) is not valid linux.resources JSON: \(error)")
      }
    }
    if memory != nil || memorySwap != nil || memoryReservation != nil {
      var m = r.memory ?? Spec.Resources.Memory()
      m.limit = memory ?? m.limit
      m.swap = memorySwap ?? m.swap
      m.reservation = memoryReservation ?? m.reservation
      r.memory = m
    }
    if cpuShares != nil || cpuPeriod != nil || cpuQuota != nil || cpusetCpus != nil
      || cpusetMems != nil
    {
      var c = r.cpu ?? Spec.Resources.CPU()
      c.shares = cpuShares ?? c.shares
      c.period = cpuPeriod ?? c.period
      c.quota = cpuQuota ?? c.quota
      c.cpus = cpusetCpus ?? c.cpus
      c.mems = cpusetMems ?? c.mems
      r.cpu = c
    }
    if let pidsLimit { r.pids = Spec.Resources.Pids(limit: pidsLimit) }
    if let blkioWeight {
      var b = r.blockIO ?? Spec.Resources.BlockIO()
      b.weight = blkioWeight
      r.blockIO = b
    }
    return r
  }
}
