// Content digests as the OCI image spec defines them: `algorithm:encoded`.
// Only registered algorithms with their exact encodings are accepted, so a
// digest is always safe to use as a file name in the content store.
import BerthSystem

public struct Digest: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
  public enum Algorithm: String, Sendable, Codable {
    case sha256, sha512

    /// Length of the lowercase hex encoding.
    var hexLength: Int { self == .sha256 ? 64 : 128 }
  }

  public let algorithm: Algorithm
  /// Lowercase hex, validated.
  public let encoded: String

  public init(algorithm: Algorithm, encoded: String) throws {
    guard encoded.utf8.count == algorithm.hexLength,
      encoded.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
    else {
      throw BerthError(
        .invalidArgument,
        "invalid \(algorithm.rawValue) digest encoding \"\(encoded)\"",
        hint: "expected \(algorithm.hexLength) lowercase hex characters")
    }
    self.algorithm = algorithm
    self.encoded = encoded
  }

  /// Parses `sha256:<64 hex>` (or sha512).
  public init(parsing string: String) throws {
    guard let colon = string.firstIndex(of: ":") else {
      throw BerthError(
        .invalidArgument, "invalid digest \"\(string)\"", hint: "expected sha256:<64 hex>")
    }
    let name = String(string[..<colon])
    guard let algorithm = Algorithm(rawValue: name) else {
      throw BerthError(
        .unsupported, "unsupported digest algorithm \"\(name)\" in \"\(string)\"",
        hint: "sha256 and sha512 are supported")
    }
    try self.init(algorithm: algorithm, encoded: String(string[string.index(after: colon)...]))
  }

  public var description: String { "\(algorithm.rawValue):\(encoded)" }

  /// The first 12 hex characters, as `podman images` shows image ids.
  public var short: String { String(encoded.prefix(12)) }

  public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    try self.init(parsing: try container.decode(String.self))
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}
