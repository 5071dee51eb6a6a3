// SHA-256 and SHA-512 through swift-crypto, kept in this one file because
// Crypto's `Digest` protocol would shadow the image spec's `Digest` type.
import BerthOCI
import Crypto

/// Incremental digest of a stream, for the algorithm a digest names.
struct Hasher {
  private var sha256 = SHA256()
  private var sha512: SHA512?

  init(_ algorithm: BerthOCI.Digest.Algorithm = .sha256) {
    if algorithm == .sha512 { sha512 = SHA512() }
  }

  mutating func update(_ buffer: UnsafeRawBufferPointer) {
    if sha512 != nil {
      sha512!.update(bufferPointer: buffer)
    } else {
      sha256.update(bufferPointer: buffer)
    }
  }

  func finalize() -> BerthOCI.Digest {
    let hex: String
    let algorithm: BerthOCI.Digest.Algorithm
    if let sha512 {
      hex = sha512.finalize().map { hexByte($0) }.joined()
      algorithm = .sha512
    } else {
      hex = sha256.finalize().map { hexByte($0) }.joined()
      algorithm = .sha256
    }
    return try! BerthOCI.Digest(algorithm: algorithm, encoded: hex)
  }

  static func digest(_ bytes: [UInt8]) -> BerthOCI.Digest {
    var hasher = Hasher()
    bytes.withUnsafeBytes { hasher.update($0) }
    return hasher.finalize()
  }
}

private func hexByte(_ byte: UInt8) -> String {
  let digits = Array("0123456789abcdef")
  return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
