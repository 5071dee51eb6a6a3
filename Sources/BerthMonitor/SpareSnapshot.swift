// A `--rm` container's snapshot directories kept for the next `--rm`
// container instead of deleted: see ContentStore.spareSnapshotsDirectory,
// which takes them. The layout (upper, work, merged, image) is the store's;
// the monitor only checks that nothing the container wrote is left.
import BerthSystem
import Glibc

public struct SpareSnapshot: Codable, Sendable, Equatable {
  /// The container's snapshot directory.
  public var snapshot: String
  /// Where spares wait.
  public var directory: String
  /// How many may wait there.
  public var limit: Int

  public init(snapshot: String, directory: String, limit: Int) {
    self.snapshot = snapshot
    self.directory = directory
    self.limit = limit
  }

  /// Renames the snapshot into `directory` as `name`; false when its upper
  /// directory holds anything, enough spares wait, or the rename fails.
  func park(name: String) -> Bool {
    guard let written = try? directoryEntries(snapshot + "/upper"), written.isEmpty else {
      return false
    }
    if mkdir(directory, 0o700) != 0 && errno != EEXIST { return false }
    guard listDirectory(directory).count < limit else { return false }
    return rename(snapshot, directory + "/" + name) == 0
  }
}
