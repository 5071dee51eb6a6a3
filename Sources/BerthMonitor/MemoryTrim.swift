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
    // Parsed first, in a scope of its own: its buffers (a 64 KiB read chunk
    // among them) are freed before malloc_trim, or they would stay resident
    // (measured: the trim's own chunk was the heap's last 64 KiB). The
    // madvise calls come last: parsing runs a good deal of the standard
    // library, which would fault back the very pages just paged out.
    let (files, stack) = mappings()
    _ = berth_malloc_trim()
    if let stack { trimStack(lowest: stack) }
    for (start, end) in files {
      _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), pageOut)
    }
  }

  /// The ranges of this process's file mappings, and the lowest address of
  /// its stack.
  static func mappings() -> (files: [(start: UInt, end: UInt)], stack: UInt?) {
    guard let bytes = try? readFile("/proc/self/maps", limit: 1 << 20) else { return ([], nil) }
    var files: [(start: UInt, end: UInt)] = []
    var stack: UInt? = nil
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      let range = fields.first?.split(separator: "-") ?? []
      guard fields.count >= 6, range.count == 2, let start = UInt(range[0], radix: 16),
        let end = UInt(range[1], radix: 16)
      else { continue }
      if fields[5] == "[stack]" { stack = start }
      // Only mappings of files: anonymous memory and the vdso stay.
      if fields[5].hasPrefix("/") { files.append((start, end)) }
    }
    return (files, stack)
  }

  /// The stack pages well below where the loop runs were touched once, by
  /// create's deeper calls (the JSON decoders): dropped, they would come
  /// back zeroed if ever used again. 16 KiB below here stay.
  static func trimStack(lowest: UInt) {
    var marker: UInt8 = 0
    let here = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    let keep: UInt = 16 << 10
    guard here > lowest + keep else { return }
    let end = (here - keep) & ~UInt(4095)
    _ = madvise(UnsafeMutableRawPointer(bitPattern: lowest), Int(end - lowest), MADV_DONTNEED)
  }
}
