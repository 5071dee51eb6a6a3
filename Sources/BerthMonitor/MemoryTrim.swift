// An idle monitor should cost next to nothing (conmon, its peer, is C).
// Ours is Swift: starting a container touches the runtime's code, the JSON
// coders and the seccomp and mount code, none of which the poll loop needs.
// Once the container runs, the monitor hands back what it allocated and
// freed (malloc_trim) and lets go of its binary's pages in two steps:
// - MADV_PAGEOUT reclaims the pages only this process maps (the one idle
//   monitor on a host): the few the loop uses come back, and fault-around
//   maps no neighbours that are not in the page cache.
// - MADV_PAGEOUT skips a page another process maps too, so with ten idle
//   containers each monitor kept about 6 MB of the binary mapped (a Pss of
//   1.3 MB each). Those pages, still the file's own (present and
//   file-backed in /proc/self/pagemap), are unmapped with MADV_DONTNEED:
//   they stay in the page cache, shared, and what the loop touches maps
//   again from there.
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
    // library, which would fault back the very pages just dropped.
    let (files, stack) = mappings()
    _ = berth_malloc_trim()
    if let stack { trimStack(lowest: stack) }
    for (start, end) in files {
      _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), pageOut)
    }
    let pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
    guard pagemap >= 0 else { return }
    defer { close(pagemap) }
    for (start, end) in files { dropUnwrittenPages(start: start, end: end, pagemap: pagemap) }
  }

  /// Unmaps the pages of a private file mapping that still are the file's
  /// own (present and file-backed in /proc/self/pagemap): nothing is lost,
  /// the next touch maps them again from the page cache. A page this
  /// process wrote (a copy, anonymous: the data segment's globals, the
  /// relocated read-only-after-start pages) stays, as does any page the
  /// pagemap cannot be read for.
  static func dropUnwrittenPages(start: UInt, end: UInt, pagemap: Int32) {
    let pageSize = UInt(getpagesize())
    let present: UInt64 = 1 << 63
    let fileBacked: UInt64 = 1 << 61
    let batch = 512
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: batch) { entries in
      var page = start
      while page < end {
        let count = min(batch, Int((end - page) / pageSize))
        let got = pread(
          pagemap, entries.baseAddress, count * 8, off_t(page / pageSize * 8))
        guard got == count * 8 else { return }
        var run: UInt? = nil
        for index in 0...count {
          let address = page + UInt(index) * pageSize
          let drop =
            index < count && entries[index] & (present | fileBacked) == present | fileBacked
          if drop, run == nil { run = address }
          if !drop, let first = run {
            _ = madvise(
              UnsafeMutableRawPointer(bitPattern: first), Int(address - first), MADV_DONTNEED)
            run = nil
          }
        }
        page += UInt(count) * pageSize
      }
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
    let end = (here - keep) & ~(UInt(getpagesize()) - 1)
    _ = madvise(UnsafeMutableRawPointer(bitPattern: lowest), Int(end - lowest), MADV_DONTNEED)
  }
}
