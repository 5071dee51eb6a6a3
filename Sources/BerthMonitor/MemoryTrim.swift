// An idle monitor should cost next to nothing (conmon, its peer, is C).
// Ours is Swift: starting a container touches the runtime's code, the JSON
// coders and the seccomp and mount code, none of which the poll loop needs.
// Once the container runs, the monitor hands back what it allocated and
// freed (malloc_trim) and asks the kernel to page out its file-backed
// mappings (MADV_PAGEOUT): the few pages the loop uses fault back in,
// the rest stay in the page cache, shared, instead of counting as the
// monitor's own.
import BerthSystem
import CBerth
import Glibc

enum MemoryTrim {
  static let pageOut: Int32 = 21  // MADV_PAGEOUT, Linux 5.4

  static func trim() {
    _ = berth_malloc_trim()
    guard let bytes = try? readFile("/proc/self/maps", limit: 1 << 20) else { return }
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      // Only mappings of files: anonymous memory, the stack and the vdso stay.
      guard fields.count >= 6, fields[5].hasPrefix("/") else { continue }
      let range = fields[0].split(separator: "-")
      guard range.count == 2, let start = UInt(range[0], radix: 16),
        let end = UInt(range[1], radix: 16)
      else { continue }
      _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), pageOut)
    }
  }
}
