import BerthOCI
import BerthSystem
import Glibc
import SystemPackage

/// What is applied after pivot_root: sysctls, masked and read-only paths,
/// and the read-only root.
enum Hardening {
  /// Masks each path: a directory gets an empty read-only tmpfs, anything
  /// else the container's /dev/null, opened without following links and
  /// verified through its fd to be the 1:3 character device (CVE-2025-31133
  /// class: a /dev/null swapped for a symlink would turn the mask into a
  /// writable bind of whatever it points to).
  static func mask(_ paths: [String], root: RootFS, devNull: Int32) throws(BerthError) {
    for path in paths {
      guard let target = try? root.open(path, flags: O_PATH) else { continue }
      defer { close(target) }
      let st = try fileStatus(target, what: path)
      if (st.st_mode & S_IFMT) == S_IFDIR {
        try mount(
          source: "tmpfs", target: procFDPath(target), type: "tmpfs", flags: UInt(MS_RDONLY),
          describe: "mask on \(path)")
      } else {
        try mount(
          source: procFDPath(devNull), target: procFDPath(target), type: nil,
          flags: UInt(MS_BIND), describe: "mask on \(path)")
      }
    }
  }

  /// Opens /dev/null in `root` (after pivot_root) and checks it by fd.
  static func openVerifiedDevNull(root: RootFS) throws(BerthError) -> Int32 {
    let fd = try root.open("/dev/null", flags: O_PATH | O_NOFOLLOW, noSymlinks: true)
    let st = try fileStatus(fd, what: "/dev/null")
    guard (st.st_mode & S_IFMT) == S_IFCHR, major(st.st_rdev) == 1, minor(st.st_rdev) == 3 else {
      close(fd)
      throw BerthError(
        .permissionDenied, "/dev/null in the container is not the null device (1:3)",
        hint: "refusing to mask paths with it")
    }
    return fd
  }

  static func makeReadOnly(_ paths: [String], root: RootFS) throws(BerthError) {
    for path in paths {
      guard let target = try? root.open(path, flags: O_PATH) else { continue }
      try mount(
        source: procFDPath(target), target: procFDPath(target), type: nil,
        flags: UInt(MS_BIND | MS_REC), describe: "read-only bind of \(path)")
      close(target)
      let mounted = try root.open(path, flags: O_PATH)
      defer { close(mounted) }
      let locked = mountFlags(ofPath: procFDPath(mounted)) & UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
      try mount(
        source: nil, target: procFDPath(mounted), type: nil,
        flags: UInt(MS_BIND | MS_REMOUNT | MS_RDONLY) | locked,
        describe: "read-only remount of \(path)")
    }
  }

  static func remountRootReadOnly() throws(BerthError) {
    let locked = mountFlags(ofPath: "/") & UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
    try mount(
      source: nil, target: "/", type: nil, flags: UInt(MS_BIND | MS_REMOUNT | MS_RDONLY) | locked,
      describe: "read-only root")
  }

  /// Writes sysctls under the container's /proc/sys (validated at create).
  static func applySysctls(_ sysctls: [String: String], root: RootFS) throws(BerthError) {
    for (key, value) in sysctls.sorted(by: { $0.key < $1.key }) {
      let path = "/proc/sys/" + key.replacing(".", with: "/")
      let fd = try root.open(path, flags: O_WRONLY, noSymlinks: true)
      defer { close(fd) }
      try FileDescriptor(rawValue: fd).writeFully(value, what: "cannot set sysctl \(key)")
    }
  }

  /// The sysctls a container may set: those of namespaces it owns, as runc
  /// allows them. Checked at create so a bad one fails before anything runs.
  static func validateSysctls(_ sysctls: [String: String], namespaces: Set<String>)
    throws(BerthError)
  {
    let ipc = [
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
      "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
    ]
    for key in sysctls.keys {
      if key.contains("/") || key.split(separator: ".").contains("..") {
        throw BerthError(.invalidArgument, "invalid sysctl name \"\(key)\"")
      }
      if ipc.contains(key) || key.hasPrefix("fs.mqueue.") {
        guard namespaces.contains("ipc") else {
          throw BerthError(
            .invalidArgument, "sysctl \(key) needs an ipc namespace",
            hint: "add {\"type\": \"ipc\"} to linux.namespaces")
        }
      } else if key.hasPrefix("net.") {
        guard namespaces.contains("network") else {
          throw BerthError(
            .invalidArgument, "sysctl \(key) needs a network namespace",
            hint: "add {\"type\": \"network\"} to linux.namespaces")
        }
      } else if key == "kernel.hostname" || key == "kernel.domainname" {
        guard namespaces.contains("uts") else {
          throw BerthError(
            .invalidArgument, "sysctl \(key) needs a uts namespace",
            hint: "add {\"type\": \"uts\"} to linux.namespaces")
        }
      } else {
        throw BerthError(
          .invalidArgument, "sysctl \(key) is not namespaced and cannot be set for a container")
      }
    }
  }
}
