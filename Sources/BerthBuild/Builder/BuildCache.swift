// The layer cache. Every state of a stage has a key: the hash of its
// parent's key and what the step saw (the instruction with its expanded
// arguments and environment, and for COPY the content digest of what it
// copies). A step that makes a layer stores an intermediate image (its
// layers, no runnable config) and an entry key → {image, history}; a later
// build with the same key reuses them. Entries whose image was pruned are
// misses. `image prune` removes intermediate images (they have no names),
// and `builder prune` removes them with the entries and cache mounts.
import BerthImage
import BerthOCI
import BerthSystem
import Crypto
import FoundationEssentials

struct CacheEntry: Codable {
  /// The intermediate image holding this state's layers.
  var image: String
  /// The history entry the step added (its created time kept, so a cache
  /// hit gives the same image as the build that filled it).
  var history: ImageConfig.History
}

struct BuildCache {
  let directory: String
  let store: ContentStore

  init(store: ContentStore) {
    directory = store.root + "/build-cache/steps"
    self.store = store
  }

  static func key(parent: String, step: String) -> String {
    var hasher = SHA256()
    hasher.update(data: Array(parent.utf8))
    hasher.update(data: [0])
    hasher.update(data: Array(step.utf8))
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }

  func lookup(_ key: String) -> (ImageRecord, ImageConfig.History)? {
    guard let bytes = try? readFile(directory + "/" + key, limit: 1 << 20),
      let entry = try? JSONDecoder().decode(CacheEntry.self, from: Data(bytes)),
      let image = try? store.resolveImage(entry.image)
    else { return nil }
    return (image, entry.history)
  }

  func record(_ key: String, image: ImageRecord, history: ImageConfig.History) {
    // A cache that cannot be written only costs a later rebuild.
    guard (try? mkdirAll(directory, mode: 0o700)) != nil,
      let bytes = try? JSONEncoder().encode(
        CacheEntry(image: image.id.description, history: history))
    else { return }
    try? writeFileAtomically(directory + "/" + key, Array(bytes), durable: false)
  }

  /// Removes every entry and the RUN cache mounts; returns how many entries went.
  /// Returns the keys of the steps removed.
  static func prune(store: ContentStore) throws(BerthError) -> [String] {
    let root = store.root + "/build-cache"
    let keys = ((try? directoryEntries(root + "/steps")) ?? []).sorted()
    if fileExists(root) { try removeTree(root) }
    return keys
  }
}

/// Canonical text for cache keys: JSON with sorted keys.
func canonical<T: Encodable>(_ value: T) -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
}
