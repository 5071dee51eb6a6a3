import BerthOCI
import BerthSystem
import CBerth
import Glibc

/// Turns this process into the spec's process: limits, identity,
/// capabilities and no_new_privs, in the order the kernel requires.
/// Shared by a container's init and by `exec`.
struct ProcessSetup {
  let process: Spec.Process
  /// The capability sets, resolved once (and, for exec, widened by --cap
  /// everywhere but inheritable).
  let capabilities: Capability.Sets
  /// False when the user namespace maps a single id and setgroups is denied.
  let canSetGroups: Bool

  init(process: Spec.Process, canSetGroups: Bool) throws(BerthError) {
    self.process = process
    self.canSetGroups = canSetGroups
    let caps = process.capabilities
    capabilities = Capability.Sets(
      bounding: try Capability.mask(caps?.bounding),
      effective: try Capability.mask(caps?.effective),
      permitted: try Capability.mask(caps?.permitted),
      inheritable: try Capability.mask(caps?.inheritable),
      ambient: try Capability.mask(caps?.ambient))
    for limit in process.rlimits ?? [] where Rlimit.resource(limit.type) == nil {
      throw BerthError(
        .invalidArgument, "unknown rlimit \"\(limit.type)\" in process.rlimits",
        hint: "use names such as RLIMIT_NOFILE")
    }
  }

  func applyRlimits() throws(BerthError) {
    for limit in process.rlimits ?? [] {
      try Rlimit.set(limit.type, soft: limit.soft, hard: limit.hard)
    }
  }

  func applyOOMScoreAdj() throws(BerthError) {
    guard let adj = process.oomScoreAdj else { return }
    try writeKnob("/proc/self/oom_score_adj", "\(adj)")
  }

  /// Bounding set first (needs CAP_SETPCAP), then the ids while keeping
  /// the permitted set, then the exact sets and ambient.
  func applyIdentityAndCapabilities() throws(BerthError) {
    try Capability.limitBoundingSet(to: capabilities.bounding)
    try check("cannot keep capabilities across the user switch") { berth_set_keepcaps(1) }
    let user = process.user
    if canSetGroups {
      var groups = (user.additionalGids ?? []).map { gid_t($0) }
      try check("cannot set supplementary groups \(groups)") {
        berth_setgroups(groups.count, &groups)
      }
    }
    try check(
      "cannot switch to group \(user.gid)",
      hint: "the gid must be mapped in the container's user namespace"
    ) { berth_setresgid(user.gid) }
    try check(
      "cannot switch to user \(user.uid)",
      hint: "the uid must be mapped in the container's user namespace"
    ) { berth_setresuid(user.uid) }
    try check("cannot reset keepcaps") { berth_set_keepcaps(0) }
    try Capability.apply(capabilities)
    if process.noNewPrivileges == true {
      try check("cannot set no_new_privs") { berth_set_no_new_privs() }
    }
  }

  func applyUmask() {
    umask(mode_t(process.user.umask ?? 0o022))
  }

  /// chdir into the process's cwd and check that it is inside the root: a
  /// cwd reached through a leaked host fd would show as "(unreachable)"
  /// (CVE-2024-21626).
  func enterWorkingDirectory() throws(BerthError) {
    try check(
      "cannot change to working directory \(process.cwd)",
      hint: "process.cwd must be an absolute directory in the rootfs"
    ) { chdir(process.cwd) }
    var buf = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buf, buf.count) != nil, buf[0] == CChar(UInt8(ascii: "/")) else {
      throw BerthError(
        .permissionDenied, "working directory \(process.cwd) is outside the container's root")
    }
  }

  /// The executable, looked up in the container before reporting ready, so
  /// that a missing command fails `create` with podman's wording.
  func resolveExecutable() throws(BerthError) -> String {
    guard let name = process.args?.first, !name.isEmpty else {
      throw BerthError(.invalidArgument, "process.args must name a command")
    }
    // `./app.sh` is relative to the working directory, which is entered
    // later: resolve it against process.cwd, as runc does after its chdir.
    if name.contains("/") && !name.hasPrefix("/") {
      let cwd = process.cwd.hasSuffix("/") ? process.cwd : process.cwd + "/"
      return try lookupExecutable(cwd + name, env: process.env ?? []).get()
    }
    return try lookupExecutable(name, env: process.env ?? []).get()
  }
}
