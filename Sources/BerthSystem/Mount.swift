import CBerth
import Glibc

/// mount(2), checked; `what` in the error names source and target.
public func mount(
  source: String?, target: String, type: String?, flags: UInt, data: String? = nil,
  describe: String? = nil
) throws(BerthError) {
  try check("cannot mount \(describe ?? target)") {
    Glibc.mount(source, target, type, flags, data.flatMap { $0.isEmpty ? nil : $0 })
  }
}

/// Unmounts lazily (MNT_DETACH); errors are the caller's to ignore or not.
public func unmount(_ target: String, flags: Int32 = Int32(MNT_DETACH)) throws(BerthError) {
  try check("cannot unmount \(target)") { umount2(target, flags) }
}

/// Whether `path` is a mount point in this mount namespace: statx's
/// mount-root attribute (one syscall; a bind mount keeps its device, so
/// stat alone cannot tell), else field 5 of /proc/self/mountinfo, which is
/// read and scanned whole (before Linux 5.8).
public func isMountPoint(_ path: String) -> Bool {
  switch berth_is_mount_root(path) {
  case 1: return true
  case 0: return false
  default: break
  }
  guard let table = try? readFile("/proc/self/mountinfo") else { return true }
  return String(decoding: table, as: UTF8.self).split(separator: "\n").contains { line in
    let fields = line.split(separator: " ", maxSplits: 5)
    return fields.count > 4 && fields[4] == path
  }
}

public func pivotRoot(newRoot: String, putOld: String) throws(BerthError) {
  try check("cannot pivot_root into \(newRoot)") { berth_pivot_root(newRoot, putOld) }
}

/// The path through which the kernel reaches an open fd: mounting onto it
/// mounts onto the fd's object, not onto whatever a path string names now.
public func procFDPath(_ fd: Int32) -> String { "/proc/self/fd/\(fd)" }

/// The flags (MS_RDONLY, MS_NOSUID, ...) a mount currently has: a bind
/// remount inside a user namespace must keep the locked ones.
public func mountFlags(ofPath path: String) -> UInt {
  let flags = berth_mount_flags(path)
  return flags < 0 ? 0 : UInt(flags)
}

/// Marks `path` a top directory for ext4's allocator (`chattr +T`): its
/// subdirectories are unrelated trees, spread over the block groups rather
/// than packed into the parent's. False where the file system has no such
/// flag (tmpfs, xfs).
@discardableResult
public func markTopDirectory(_ path: String) -> Bool {
  berth_mark_top_directory(path) == 0
}
