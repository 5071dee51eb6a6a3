// A file region as an async sequence of buffers, so uploads stream from the
// content store instead of loading a layer into memory.
import BerthSystem
import Glibc
import NIOCore
import SystemPackage

struct FileChunks: AsyncSequence, Sendable {
  typealias Element = ByteBuffer

  let path: String
  let offset: Int64
  let length: Int64
  var chunkSize = 1 << 20

  struct AsyncIterator: AsyncIteratorProtocol {
    let chunks: FileChunks
    var fd: Int32 = -1
    var position: Int64

    init(_ chunks: FileChunks) {
      self.chunks = chunks
      position = chunks.offset
    }

    mutating func next() async throws -> ByteBuffer? {
      let end = chunks.offset + chunks.length
      guard position < end else {
        if fd >= 0 { Sys.close(fd) }
        fd = -1
        return nil
      }
      if fd < 0 { fd = try Sys.open(chunks.path, O_RDONLY) }
      let want = Int(Swift.min(Int64(chunks.chunkSize), end - position))
      var buffer = ByteBufferAllocator().buffer(capacity: want)
      let path = chunks.path
      let offset = position
      let descriptor = fd
      let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { raw in
        try Sys.check("read \(path)") { pread(descriptor, raw.baseAddress, want, off_t(offset)) }
      }
      guard n > 0 else {
        Sys.close(fd)
        fd = -1
        throw BerthError(.invalidState, "\(path) ended early while being uploaded")
      }
      position += Int64(n)
      return buffer
    }
  }

  func makeAsyncIterator() -> AsyncIterator { AsyncIterator(self) }
}
