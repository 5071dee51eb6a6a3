import BerthOCI
import BerthSystem
import Glibc

/// Writes the uid/gid maps of a child that waits in a new user namespace:
/// directly when we may (root, or one mapping of our own ids), otherwise
/// through the setuid helpers newuidmap/newgidmap and /etc/subuid.
public enum UserNamespace {
  public static func writeMaps(pid: pid_t, uid: [IDMapping], gid: [IDMapping]) throws(BerthError) {
    let euid = geteuid()
    let egid = getegid()
    let single =
      uid.count == 1 && gid.count == 1 && uid[0].hostID == euid && uid[0].size == 1
      && gid[0].hostID == egid && gid[0].size == 1
    if euid == 0 || single {
      if euid != 0 {
        // An unprivileged process may only map its own gid after denying setgroups.
        try writeKnob("/proc/\(pid)/setgroups", "deny")
      }
      try writeKnob("/proc/\(pid)/uid_map", format(uid))
      try writeKnob("/proc/\(pid)/gid_map", format(gid))
      return
    }
    try helper("newuidmap", pid: pid, mappings: uid)
    try helper("newgidmap", pid: pid, mappings: gid)
  }

  static func format(_ mappings: [IDMapping]) -> String {
    mappings.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
  }

  static func helper(_ name: String, pid: pid_t, mappings: [IDMapping]) throws(BerthError) {
    guard case .success(let path) = lookupExecutable(name, env: ["PATH=/usr/bin:/bin"]) else {
      throw BerthError(
        .notFound, "\(name) is needed to map more than your own id",
        hint:
          "install Debian's uidmap package and give your user ranges in /etc/subuid and /etc/subgid"
      )
    }
    let args =
      [path, "\(pid)"] + mappings.flatMap { ["\($0.containerID)", "\($0.hostID)", "\($0.size)"] }
    let status = try ChildProcess.run(args, env: [])
    if status != 0 {
      throw BerthError(
        .permissionDenied,
        "\(name) failed to write the id maps (status \(status))",
        hint:
          "check that /etc/sub\(name == "newuidmap" ? "uid" : "gid") gives your user the ranges in config.json"
      )
    }
  }
}
