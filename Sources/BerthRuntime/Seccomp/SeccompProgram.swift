import BerthOCI
import BerthSystem
import CBerth
import CSeccomp
import Glibc
import SystemPackage

/// A compiled seccomp filter, ready for the container's process to load.
/// Made by the runtime before clone (validated, compiled or read from the
/// cache); the child only calls seccomp(2) with the bytes.
///
/// When it loads: as late as possible (just before execve), so the
/// runtime's own setup is not filtered. Two exceptions, as in runc:
/// - without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter,
///   so if the process will not keep it, before the capability drop;
/// - with a listener (SCMP_ACT_NOTIFY), before `ready`, while the runtime
///   is still there to pass the listener fd on to the agent.
struct SeccompProgram: Sendable {
  var instructions: [UInt8]
  var flags: UInt32
  var beforeCapabilityDrop: Bool
  var listenerPath: String?
  var listenerMetadata: String?

  var hasListener: Bool { flags & SeccompPlan.flagNewListener != 0 }

  /// Validates and compiles `profile` (or finds it in the cache under
  /// `cacheRoot`). Nil when there is no profile.
  static func prepare(
    _ profile: Spec.Seccomp?, noNewPrivileges: Bool, effectiveCapabilities: UInt64,
    cacheRoot: String
  ) throws(BerthError) -> SeccompProgram? {
    guard let profile else { return nil }
    let plan = try SeccompPlan(profile)
    // Flags the kernel refuses would only fail at load, after `create`
    // reported success: ask it now (seccomp(2) checks flags first).
    if plan.flags != 0 && berth_seccomp_check_flags(plan.flags) != 0 {
      throw .system(
        "this kernel does not accept linux.seccomp.flags \(profile.flags ?? [])", currentErrno,
        hint: "remove the flags the kernel does not know")
    }
    let cache = SeccompCache(root: cacheRoot)
    let key = SeccompCache.key(profile)
    let instructions: [UInt8]
    if let cached = cache.lookup(key) {
      runtimeLogger.debug("seccomp: using the cached filter \(cache.paths(key).program)")
      instructions = cached
    } else {
      instructions = try SeccompCompiler.compile(plan)
      cache.store(key, program: instructions)
    }
    guard instructions.count / 8 <= 4096 else {
      throw BerthError(
        .invalidArgument,
        "the seccomp profile compiles to \(instructions.count / 8) instructions, over the kernel's 4096",
        hint: "merge rules with the same action, or drop architectures")
    }
    return SeccompProgram(
      instructions: instructions, flags: plan.flags,
      beforeCapabilityDrop: SeccompPlan.mustLoadBeforeCapabilityDrop(
        noNewPrivileges: noNewPrivileges, effective: effectiveCapabilities),
      listenerPath: profile.listenerPath, listenerMetadata: profile.listenerMetadata)
  }

  /// seccomp(SECCOMP_SET_MODE_FILTER); the listener fd when there is one.
  func load() throws(BerthError) -> Int32? {
    let result = try check(
      "cannot load the seccomp filter",
      hint: "without no_new_privs loading needs CAP_SYS_ADMIN; check linux.seccomp.flags"
    ) {
      instructions.withUnsafeBytes {
        berth_seccomp_set_filter($0.baseAddress, $0.count / 8, flags)
      }
    }
    return hasListener ? result : nil
  }

  // The call sites, in the order a container's process reaches them.

  /// Before ids and capabilities change: loads if the process would lack
  /// the privilege afterwards. The working directory is entered and
  /// verified first (getcwd, CVE-2024-21626): the filter may refuse getcwd,
  /// as the runtime-tools seccomp test's does.
  func applyBeforeCapabilityDrop(setup: ProcessSetup, syncFD: Int32) throws(BerthError) {
    guard beforeCapabilityDrop else { return }
    try setup.enterWorkingDirectory()
    try loadAndHandOver(syncFD: syncFD)
  }

  /// After the user switch: `setup.enterWorkingDirectory()`, unless the
  /// filter went on before the capability drop. Then the directory was
  /// verified before it and is only entered again, as the user, so that
  /// permissions are the user's (nothing else runs in the container yet).
  static func enterWorkingDirectory(_ program: SeccompProgram?, setup: ProcessSetup)
    throws(BerthError)
  {
    guard let program, program.beforeCapabilityDrop else {
      try setup.enterWorkingDirectory()
      return
    }
    let cwd = setup.process.cwd
    try check(
      "cannot change to working directory \(cwd)",
      hint: "process.cwd must be an absolute directory in the rootfs"
    ) { chdir(cwd) }
  }

  /// After capabilities, before telling the runtime we are ready: loads a
  /// filter with a listener (the runtime passes the fd on).
  func applyBeforeReady(syncFD: Int32) throws(BerthError) {
    guard hasListener, !beforeCapabilityDrop else { return }
    try loadAndHandOver(syncFD: syncFD)
  }

  var loadsAtExecve: Bool { !beforeCapabilityDrop && !hasListener }

  func loadAndHandOver(syncFD: Int32) throws(BerthError) {
    guard let listener = try load() else { return }
    defer { close(listener) }
    try SeccompListener.handOver(listener, syncFD: syncFD)
  }

  /// execve, loading the filter right before it unless it is loaded
  /// already. Arguments are converted first, so nothing between the load
  /// and execve allocates or makes another system call.
  static func execve(_ program: SeccompProgram?, path: String, args: [String], env: [String])
    throws(BerthError) -> Errno
  {
    let cPath = strdup(path)
    var cArgs = args.map { strdup($0) } + [nil]
    var cEnv = env.map { strdup($0) } + [nil]
    if let program, program.loadsAtExecve { _ = try program.load() }
    if let cPath { Glibc.execve(cPath, &cArgs, &cEnv) }
    return currentErrno
  }
}
