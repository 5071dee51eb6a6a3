import BerthOCI
import BerthSystem
import Glibc

/// Device nodes and the /dev links every container gets.
enum Devices {
  /// The nodes runc and crun always create (rwm for these is allowed by
  /// the default device cgroup rules too).
  static let defaults: [Spec.Device] = [
    .init(type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0),
    .init(type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0),
    .init(type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0),
    .init(type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0),
    .init(type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0),
    .init(type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0),
  ]

  /// Creates `devices` (spec ones override defaults of the same path). In
  /// a user namespace mknod is not allowed, so the host's node is bound.
  static func create(_ devices: [Spec.Device], root: RootFS, bindHost: Bool) throws(BerthError) {
    var byPath: [String: Spec.Device] = [:]
    var order: [String] = []
    for device in defaults + devices {
      if byPath[device.path] == nil { order.append(device.path) }
      byPath[device.path] = device
    }
    // Each parent is opened once: all but a few are /dev.
    var parents: [String: Int32] = [:]
    defer { for fd in parents.values { close(fd) } }
    for path in order {
      guard let device = byPath[path] else { continue }
      let dest = device.path.hasPrefix("/") ? device.path : "/" + device.path
      let (parent, name) = RootFS.split(dest)
      let dir: Int32
      if let open = parents[parent] {
        dir = open
      } else {
        dir = try root.mkdirAll(parent)
        parents[parent] = dir
      }
      try createOne(device, in: dir, name: name, dest: dest, root: root, bindHost: bindHost)
    }
  }

  static func createOne(
    _ device: Spec.Device, in dir: Int32, name: String, dest: String, root: RootFS, bindHost: Bool
  ) throws(BerthError) {
    if bindHost {
      try bindHostDevice(device, dest: dest, root: root)
      return
    }
    let kind: mode_t
    switch device.type {
    case "c", "u": kind = S_IFCHR
    case "b": kind = S_IFBLK
    case "p": kind = S_IFIFO
    default:
      throw BerthError(
        .invalidArgument, "device \(dest) has unknown type \"\(device.type)\"",
        hint: "use c, u, b or p")
    }
    let mode = mode_t(device.fileMode ?? 0o666) & 0o7777
    let dev = makedev(UInt32(device.major ?? 0), UInt32(device.minor ?? 0))
    // What the image has at that path is replaced (on a fresh /dev tmpfs
    // there is nothing, so the unlink is only tried when needed).
    var made = mknodat(dir, name, kind | mode, dev)
    if made != 0 && currentErrno == .fileExists {
      _ = unlinkat(dir, name, 0)
      made = mknodat(dir, name, kind | mode, dev)
    }
    if made != 0 {
      if currentErrno == .notPermitted {
        try bindHostDevice(device, dest: dest, root: root)
        return
      }
      throw .system("cannot create device \(dest)", currentErrno)
    }
    // mknod made it ours: a chown to ourselves would change nothing.
    let uid = device.uid ?? 0
    let gid = device.gid ?? 0
    if uid != geteuid() || gid != getegid() {
      try check("cannot chown device \(dest)") {
        fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)
      }
    }
  }

  /// Binds the host's node at the same path over an empty file.
  static func bindHostDevice(_ device: Spec.Device, dest: String, root: RootFS) throws(BerthError) {
    let source = try check("cannot open host device \(device.path) to bind it") {
      open(device.path, O_PATH | O_CLOEXEC)
    }
    defer { close(source) }
    let target = try root.ensureFile(dest)
    defer { close(target) }
    try mount(
      source: procFDPath(source), target: procFDPath(target), type: nil, flags: UInt(MS_BIND),
      describe: "host device \(device.path)")
  }

  /// /dev/fd, /dev/std{in,out,err} and /dev/ptmx -> pts/ptmx.
  static func createLinks(root: RootFS) throws(BerthError) {
    let dev = try root.mkdirAll("/dev")
    defer { close(dev) }
    let links = [
      ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
      ("stderr", "/proc/self/fd/2"),
    ]
    for (name, target) in links {
      if symlinkat(target, dev, name) != 0 && currentErrno != .fileExists {
        throw .system("cannot create /dev/\(name)", currentErrno)
      }
    }
    // ptmx must be the container's devpts one, whatever the image had.
    _ = unlinkat(dev, "ptmx", 0)
    try check("cannot create /dev/ptmx") { symlinkat("pts/ptmx", dev, "ptmx") }
  }
}
