import BerthSystem
import Glibc

/// The systemd cgroup driver (`--systemd-cgroup` when systemd runs): the
/// container's init is put in a transient scope unit with Delegate=yes,
/// under the slice the cgroupsPath names ("slice:prefix:name" gives unit
/// prefix-name.scope), so systemd knows and keeps the cgroup. The D-Bus
/// call goes through busctl(1), started like any helper: systemd's own
/// client speaks the protocol, so no D-Bus library is linked into the runtime.
public struct SystemdScope: Codable, Sendable, Equatable {
  public var unit: String
  public var slice: String
  public var user: Bool

  public static var isSystemdRunning: Bool { isDirectory("/run/systemd/system") }

  public init(unit: String, slice: String, user: Bool) {
    self.unit = unit
    self.slice = slice
    self.user = user
  }

  public init(cgroupsPath: String?, id: String, rootless: Bool) {
    user = rootless
    let parts = (cgroupsPath ?? "").split(separator: ":", omittingEmptySubsequences: false).map(
      String.init)
    if parts.count == 3 {
      slice = parts[0].isEmpty ? (rootless ? "user.slice" : "system.slice") : parts[0]
      unit = parts[1].isEmpty ? parts[2] + ".scope" : parts[1] + "-" + parts[2] + ".scope"
    } else {
      slice = rootless ? "user.slice" : "system.slice"
      unit = "berth-\(id).scope"
    }
  }

  /// The busctl arguments for StartTransientUnit(name, mode, properties, aux).
  public func startArguments(pid: pid_t, description: String) -> [String] {
    busctl + [
      "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
      "org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))", unit, "fail",
      "4", "PIDs", "au", "1", "\(pid)", "Delegate", "b", "true", "Slice", "s", slice,
      "Description", "s", description, "0",
    ]
  }

  var busctl: [String] { ["busctl", user ? "--user" : "--system", "--quiet"] }

  /// Starts the scope with `pid` in it and waits until the kernel shows
  /// the pid there; returns the container's cgroup directories.
  public func start(pid: pid_t, id: String, layout: CgroupLayout) throws(BerthError) -> [String] {
    let status = try run(startArguments(pid: pid, description: "berth container \(id)"))
    guard status == 0 else {
      throw BerthError(
        .system, "systemd refused to start scope \(unit) in \(slice) (busctl status \(status))",
        hint: "check `journalctl -u \(unit)`, or run without --systemd-cgroup to use cgroupfs")
    }
    for _ in 0..<200 {
      let own = CgroupLayout.cgroupsOf(pid: "\(pid)")
      if own.values.contains(where: { $0.hasSuffix("/" + unit) }) {
        return Self.directories(of: own, layout: layout)
      }
      usleep(5000)
    }
    throw BerthError(.timeout, "systemd did not move the container into \(unit) within 1s")
  }

  /// Stops the scope (systemd removes its cgroup); errors are only logged.
  public func stop() {
    let args =
      busctl + [
        "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager", "StopUnit", "ss", unit, "replace",
      ]
    if (try? run(args)) != 0 { runtimeLogger.debug("systemd: stopping \(unit) failed") }
  }

  /// Directories in every hierarchy for the cgroups a process is in.
  static func directories(of cgroups: [String: String], layout: CgroupLayout) -> [String] {
    layout.hierarchies.compactMap { hierarchy in
      guard let path = cgroups[layout.key(of: hierarchy)] else { return nil }
      let dir = hierarchy.mountPoint + Cgroups.normalise(path)
      return isDirectory(dir) ? dir : nil
    }
  }

  func run(_ args: [String]) throws(BerthError) -> Int32 {
    try ChildProcess.run(args, path: try lookupExecutable(args[0], env: currentEnvironment()).get())
  }

}
