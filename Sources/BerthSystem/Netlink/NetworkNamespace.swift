// Network namespaces kept by a bind mount of their nsfs file, as `ip netns`
// and podman keep them: the namespace outlives the container's processes
// (a restart joins it again) and is configured before the container starts.
import CBerth
import Glibc

public enum NetworkNamespace {
  /// Makes a new network namespace held at `path`. Only the calling thread
  /// enters it (network namespaces are per thread), and it returns to its
  /// own before this returns, so a multithreaded caller is fine.
  public static func create(at path: String) throws(BerthError) {
    let file = try check("cannot create \(path)") {
      open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
    }
    Glibc.close(file)
    do {
      try inside(nil) { () throws(BerthError) in
        try check("cannot make a network namespace") {
          berth_unshare(Int32(truncatingIfNeeded: BERTH_CLONE_NEWNET))
        }
        try check("cannot bind the network namespace on \(path)") {
          mount("/proc/thread-self/ns/net", path, nil, UInt(MS_BIND), nil)
        }
      }
    } catch {
      unlink(path)
      throw error
    }
  }

  /// A new network namespace, its loopback up, held by the returned
  /// close-on-exec fd; the calling thread stays in its own. Nil when none
  /// can be made.
  public static func makeHeld() -> Int32? {
    try? inside(nil) { () throws(BerthError) -> Int32 in
      try check("cannot make a network namespace") {
        berth_unshare(Int32(truncatingIfNeeded: BERTH_CLONE_NEWNET))
      }
      try setLoopbackUp()
      return try check("cannot open the new network namespace") {
        open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
      }
    }
  }

  /// Sets the calling thread's network namespace's loopback up (in a new
  /// namespace it is always interface 1).
  public static func setLoopbackUp() throws(BerthError) {
    try RouteNetlink().setUp(1, what: "lo")
  }

  /// Deletes host links by name (a veth's other end goes with it, at once).
  public static func removeInterfaces(_ names: [String]) {
    guard !names.isEmpty, let netlink = try? RouteNetlink() else { return }
    for name in names {
      if let index = try? netlink.linkIndex(name) {
        try? netlink.deleteLink(index, what: name)
      }
    }
  }

  /// Unmounts and removes the file at `path`; the namespace (and the veth
  /// ends in it) goes when nothing else holds it. Missing is fine.
  public static func remove(at path: String) {
    _ = umount2(path, Int32(MNT_DETACH))
    unlink(path)
  }

  /// Runs `body` with the calling thread in the network namespace at `path`
  /// (or, with nil, wherever `body` moves it), then puts it back.
  public static func inside<T>(_ path: String?, _ body: () throws(BerthError) -> T)
    throws(BerthError) -> T
  {
    let own = try check("cannot open this thread's network namespace") {
      open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
    }
    defer { Glibc.close(own) }
    if let path {
      let target = try check("cannot open the network namespace \(path)") {
        open(path, O_RDONLY | O_CLOEXEC)
      }
      defer { Glibc.close(target) }
      try check("cannot enter the network namespace \(path)") {
        berth_setns(target, Int32(truncatingIfNeeded: BERTH_CLONE_NEWNET))
      }
    }
    let result: Result<T, BerthError>
    do { result = .success(try body()) } catch { result = .failure(error) }
    // Staying in the wrong namespace would misconfigure whatever this
    // thread does next: that is not recoverable.
    if berth_setns(own, Int32(truncatingIfNeeded: BERTH_CLONE_NEWNET)) != 0 {
      fatalError("cannot return to this thread's network namespace: errno \(errno)")
    }
    return try result.get()
  }
}
