// What `system df` reports, for the CLI and the API alike: images, each
// container's writable layer and each volume, with what is in use.
import BerthImage
import BerthSystem
import Glibc

public struct DiskUsage: Sendable {
  public struct ContainerUsage: Sendable {
    public var container: Container
    /// Bytes in the container's writable layer.
    public var size: Int64
  }

  public struct VolumeUsage: Sendable {
    public var volume: Volume
    public var size: Int64
    public var users: Int
  }

  public var images: [ImageRecord]
  /// Image ids (`sha256:...`) a container was made from.
  public var imagesInUse: Set<String>
  public var containers: [ContainerUsage]
  public var volumes: [VolumeUsage]
}

extension Engine {
  public func diskUsage() throws(BerthError) -> DiskUsage {
    let images: [ImageRecord]
    do {
      images = try store.images()
    } catch {
      throw BerthError.wrapping(error, "cannot list images")
    }
    let containers = try containers()
    var volumes: [DiskUsage.VolumeUsage] = []
    for volume in try self.volumes() {
      volumes.append(
        .init(
          volume: volume, size: Self.allocatedSize(volume.mountpoint),
          users: try volumeUsers(volume.name).count))
    }
    return DiskUsage(
      images: images, imagesInUse: Set(containers.map(\.imageID)),
      containers: containers.map {
        .init(container: $0, size: Self.allocatedSize(store.snapshotDirectory($0.id) + "/upper"))
      },
      volumes: volumes)
  }

  /// Bytes allocated under `path` (files and directories, symlinks not
  /// followed), walked by directory fds; 0 when it does not exist.
  static func allocatedSize(_ path: String) -> Int64 {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    return allocatedSize(directory: fd, depth: 0)
  }

  /// Walks the directory `fd`; deeper than 256 levels is not descended (a
  /// hostile tree must not exhaust the stack).
  private static func allocatedSize(directory fd: Int32, depth: Int) -> Int64 {
    var total: Int64 = 0
    for entry in (try? directoryEntries(fd: fd, what: "a directory")) ?? [] {
      var st = stat()
      guard fstatat(fd, entry.name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
      total += Int64(st.st_blocks) * 512
      if (st.st_mode & S_IFMT) == S_IFDIR && depth < 256 {
        let child = openat(fd, entry.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard child >= 0 else { continue }
        defer { close(child) }
        total += allocatedSize(directory: child, depth: depth + 1)
      }
    }
    return total
  }
}
