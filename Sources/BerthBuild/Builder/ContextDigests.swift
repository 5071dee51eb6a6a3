// The content digests of a context's files, kept between builds and
// trusted while a file's inode, size, modification and change times are
// those it had when it was hashed (git's index does the same). A rebuild
// then reads only the files that changed: hashing 2,000 unchanged files
// was a third of a one-file rebuild.
//
// A file changed in the same clock tick as it was hashed would keep its
// times, so a digest is only recorded for a file whose times are at least
// a second older than the hashing (git's "racy" check); a file younger
// than that is hashed again next time.
import BerthSystem
import Crypto
import Glibc
import Synchronization

final class ContextDigests: Sendable {
  struct Entry: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64
    var changed: Int64
    var digest: String
  }

  private let path: String?
  private let entries: Mutex<[String: Entry]>
  private let dirty = Atomic<Bool>(false)

  /// The digests recorded for `context` under the store's build cache
  /// (`builder prune` removes them); none, and nothing saved, for a context
  /// that cannot be named or is a temporary one.
  init(storeRoot: String, context: String) {
    path = Self.cacheFile(storeRoot: storeRoot, context: context)
    entries = Mutex(path.map(Self.load) ?? [:])
  }

  static func cacheFile(storeRoot: String, context: String) -> String? {
    func real(_ path: String) -> String? {
      guard let resolved = realpath(path, nil) else { return nil }
      defer { free(resolved) }
      return String(cString: resolved)
    }
    // A context sent as a tar (stdin, the API) is unpacked afresh under the
    // store's ingest directory for every build: nothing to keep for it.
    guard let name = real(context),
      !name.hasPrefix((real(storeRoot) ?? storeRoot) + "/ingest/")
    else { return nil }
    let key = ContentDigest.hex(SHA256.hash(data: Array(name.utf8))).prefix(24)
    return storeRoot + "/build-cache/contexts/" + key
  }

  /// The recorded digest of the file at `relative`, if `st` still matches.
  func digest(_ relative: String, _ st: stat) -> String? {
    guard let entry = entries.withLock({ $0[relative] }) else { return nil }
    return entry == Self.entry(st, digest: entry.digest) ? entry.digest : nil
  }

  /// Records `digest` for `relative`, hashed at `hashedAt` (seconds since
  /// the epoch), unless the file changed less than a second before.
  func record(_ relative: String, _ st: stat, digest: String, hashedAt: Int) {
    let newest = max(st.st_mtim.tv_sec, st.st_ctim.tv_sec)
    guard newest < hashedAt - 1 else { return }
    let entry = Self.entry(st, digest: digest)
    entries.withLock { $0[relative] = entry }
    dirty.store(true, ordering: .relaxed)
  }

  /// Writes the digests back (atomically); a cache that cannot be written
  /// only costs the next build a read of every file.
  func save() {
    guard let path, dirty.load(ordering: .relaxed) else { return }
    var text = ""
    for (relative, entry) in entries.withLock({ $0 }).sorted(by: { $0.key < $1.key })
    where !relative.contains("\n") {
      text +=
        "\(entry.device) \(entry.inode) \(entry.size) \(entry.modified) \(entry.changed) \(entry.digest) \(relative)\n"
    }
    let directory = String(path[..<path.lastIndex(of: "/")!])
    guard (try? mkdirAll(directory, mode: 0o700)) != nil else { return }
    try? writeFileAtomically(path, Array(text.utf8), durable: false)
  }

  static func entry(_ st: stat, digest: String) -> Entry {
    Entry(
      device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
      modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
      changed: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec),
      digest: digest)
  }

  /// One line per file: device inode size mtime ctime digest path. A line
  /// that does not parse is skipped (its file is hashed again).
  static func load(_ path: String) -> [String: Entry] {
    guard let bytes = try? readFile(path, limit: 256 << 20) else { return [:] }
    var result: [String: Entry] = [:]
    for line in bytes.split(separator: UInt8(ascii: "\n")) {
      let fields = line.split(
        separator: UInt8(ascii: " "), maxSplits: 6, omittingEmptySubsequences: false)
      guard fields.count == 7,
        let device = UInt64(String(decoding: fields[0], as: UTF8.self)),
        let inode = UInt64(String(decoding: fields[1], as: UTF8.self)),
        let size = Int64(String(decoding: fields[2], as: UTF8.self)),
        let modified = Int64(String(decoding: fields[3], as: UTF8.self)),
        let changed = Int64(String(decoding: fields[4], as: UTF8.self)),
        fields[5].count == 64
      else { continue }
      result[String(decoding: fields[6], as: UTF8.self)] = Entry(
        device: device, inode: inode, size: size, modified: modified, changed: changed,
        digest: String(decoding: fields[5], as: UTF8.self))
    }
    return result
  }
}
