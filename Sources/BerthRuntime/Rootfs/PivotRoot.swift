import BerthSystem
import Glibc

enum RootSwitch {
  /// pivot_root(".", ".") then a lazy unmount of the old root stacked on
  /// top: no temporary directory inside the rootfs is needed (crun and runc
  /// do the same). The new root is entered through the fd held since its
  /// bind mount, not by its path again.
  static func pivot(into root: RootFS) throws(BerthError) {
    let oldRoot = try check("cannot open the old root") {
      open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC)
    }
    defer { close(oldRoot) }
    try check("cannot enter rootfs \(root.path)") { fchdir(root.fd) }
    try pivotRoot(newRoot: ".", putOld: ".")
    try check("cannot enter the old root") { fchdir(oldRoot) }
    // The old root must not propagate our unmount back to the host.
    try mount(
      source: nil, target: ".", type: nil, flags: UInt(MS_SLAVE | MS_REC), describe: "old root")
    try unmount(".", flags: Int32(MNT_DETACH))
    try check("cannot enter the new root") { chdir("/") }
  }

  /// --no-pivot: move the rootfs mount over / and chroot, for hosts where
  /// pivot_root is impossible (a rootfs on ramfs).
  static func moveAndChroot(into root: RootFS) throws(BerthError) {
    try check("cannot enter rootfs \(root.path)") { fchdir(root.fd) }
    try mount(
      source: ".", target: "/", type: nil, flags: UInt(MS_MOVE), describe: "rootfs onto /")
    try check("cannot chroot into rootfs") { chroot(".") }
    try check("cannot enter the new root") { chdir("/") }
  }
}
