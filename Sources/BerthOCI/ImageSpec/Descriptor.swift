// Descriptors, manifests, indexes and the image layout of the OCI image spec
// 1.1. Docker schema2 manifests and manifest lists share these shapes (they
// differ in media types only), so one set of types decodes both.
import BerthSystem

public struct Platform: Codable, Sendable, Hashable, CustomStringConvertible {
  public var architecture: String
  public var os: String
  public var osVersion: String?
  public var osFeatures: [String]?
  public var variant: String?

  enum CodingKeys: String, CodingKey {
    case architecture, os, variant
    case osVersion = "os.version"
    case osFeatures = "os.features"
  }

  public init(os: String, architecture: String, variant: String? = nil) {
    self.os = os
    self.architecture = architecture
    self.variant = variant
  }

  /// `os/arch[/variant]`, as `--platform` takes it.
  public var description: String {
    variant.map { "\(os)/\(architecture)/\($0)" } ?? "\(os)/\(architecture)"
  }

  /// Parses `os/arch[/variant]` and normalises architecture aliases as the
  /// containerd platforms package does (x86_64 → amd64, aarch64 → arm64).
  public init(parsing string: String) throws {
    let parts = string.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
      throw BerthError(
        .invalidArgument, "invalid platform \"\(string)\"",
        hint: "expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8")
    }
    self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    self = normalized
  }

  public var normalized: Platform {
    var result = self
    result.os = os.lowercased()
    switch architecture.lowercased() {
    case "x86_64", "x86-64", "amd64": result.architecture = "amd64"
    case "aarch64", "arm64":
      result.architecture = "arm64"
      if variant == "8" || variant == "v8" { result.variant = nil }
    case "i386", "i686", "386": result.architecture = "386"
    case "armhf": (result.architecture, result.variant) = ("arm", "v7")
    case "armel": (result.architecture, result.variant) = ("arm", "v6")
    case let other: result.architecture = other
    }
    return result
  }

  /// Whether a descriptor's platform can run where `self` was asked for:
  /// os and architecture must match; a variant, when asked, must match too.
  public func matches(_ candidate: Platform) -> Bool {
    let want = normalized
    let have = candidate.normalized
    guard want.os == have.os, want.architecture == have.architecture else { return false }
    if let variant = want.variant { return have.variant == nil || have.variant == variant }
    return true
  }

  /// Checks that `text` (a `--platform` value) names this machine's
  /// platform: berth runs and builds for no other.
  public static func requireHost(_ text: String, hint: String) throws(BerthError) {
    let asked: Platform
    do {
      asked = try Platform(parsing: text)
    } catch {
      throw (error as? BerthError)
        ?? BerthError(.invalidArgument, "invalid platform \(text)", hint: "use OS/ARCH")
    }
    let host = Platform.host
    guard asked.os == host.os && asked.architecture == host.architecture else {
      throw BerthError(
        .unsupported, "platform \(text) is not this host's (\(host.os)/\(host.architecture))",
        hint: hint)
    }
  }

  /// The platform of this machine.
  public static var host: Platform {
    #if arch(x86_64)
      Platform(os: "linux", architecture: "amd64")
    #elseif arch(arm64)
      Platform(os: "linux", architecture: "arm64")
    #elseif arch(arm)
      Platform(os: "linux", architecture: "arm", variant: "v7")
    #elseif arch(s390x)
      Platform(os: "linux", architecture: "s390x")
    #elseif arch(powerpc64le)
      Platform(os: "linux", architecture: "ppc64le")
    #else
      Platform(os: "linux", architecture: "unknown")
    #endif
  }
}

public struct Descriptor: Codable, Sendable, Hashable {
  public var mediaType: String
  public var digest: Digest
  public var size: Int64
  public var urls: [String]?
  public var annotations: [String: String]?
  public var data: String?
  public var platform: Platform?
  public var artifactType: String?

  public init(
    mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil,
    platform: Platform? = nil
  ) {
    self.mediaType = mediaType
    self.digest = digest
    self.size = size
    self.annotations = annotations
    self.platform = platform
  }
}

/// An image manifest: OCI (`application/vnd.oci.image.manifest.v1+json`) or
/// Docker schema2 (`application/vnd.docker.distribution.manifest.v2+json`).
public struct Manifest: Codable, Sendable, Hashable {
  public var schemaVersion: Int
  public var mediaType: String?
  public var artifactType: String?
  public var config: Descriptor
  public var layers: [Descriptor]
  public var subject: Descriptor?
  public var annotations: [String: String]?

  public init(
    mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor],
    annotations: [String: String]? = nil
  ) {
    self.schemaVersion = 2
    self.mediaType = mediaType
    self.config = config
    self.layers = layers
    self.annotations = annotations
  }
}

/// An image index (OCI) or manifest list (Docker).
public struct Index: Codable, Sendable, Hashable {
  public var schemaVersion: Int
  public var mediaType: String?
  public var artifactType: String?
  public var manifests: [Descriptor]
  public var subject: Descriptor?
  public var annotations: [String: String]?

  public init(
    mediaType: String = MediaType.ociIndex, manifests: [Descriptor],
    annotations: [String: String]? = nil
  ) {
    self.schemaVersion = 2
    self.mediaType = mediaType
    self.manifests = manifests
    self.annotations = annotations
  }

  /// The manifest for `platform`, preferring an exact variant match, or nil.
  public func manifest(for platform: Platform) -> Descriptor? {
    let candidates = manifests.filter {
      MediaType.manifests.contains($0.mediaType) && ($0.platform.map(platform.matches) ?? false)
    }
    let want = platform.normalized
    return candidates.first { $0.platform?.normalized.variant == want.variant } ?? candidates.first
  }
}

/// The `oci-layout` file at the root of an OCI image layout.
public struct ImageLayout: Codable, Sendable, Hashable {
  public var imageLayoutVersion: String
  public init(imageLayoutVersion: String = "1.0.0") { self.imageLayoutVersion = imageLayoutVersion }
}

/// Annotation keys the image spec predefines.
public enum AnnotationKey {
  /// Tag (or full reference) of a manifest inside an image layout's index.json.
  public static let refName = "org.opencontainers.image.ref.name"
  /// Full reference, as containerd and podman write it in oci-archives.
  public static let imageName = "io.containerd.image.name"
  public static let created = "org.opencontainers.image.created"
}

/// Sniffs the kind of a manifest-like JSON document whose media type a server
/// or archive did not state, from its fields.
public struct ManifestProbe: Decodable, Sendable {
  public var schemaVersion: Int?
  public var mediaType: String?
  public var manifests: [Descriptor]?
  public var config: Descriptor?
  public var layers: [Descriptor]?

  /// The effective media type, or nil for a document that is neither.
  public var detectedMediaType: String? {
    if let mediaType { return mediaType }
    if manifests != nil { return MediaType.ociIndex }
    if config != nil, layers != nil { return MediaType.ociManifest }
    return nil
  }
}
