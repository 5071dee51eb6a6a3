import ArgumentParser
import BerthImage
import BerthOCI
import BerthSystem
import Foundation

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect", abstract: "Show details of images as JSON.")

  @OptionGroup var global: GlobalOptions

  @Option(name: .shortAndLong, help: "Go template for each image, e.g. {{.Id}}; JSON by default.")
  var format: String?

  @Argument(help: "Images by name or id.")
  var images: [String]

  func run() throws {
    let store = try global.store()
    var result: [InspectedImage] = []
    for name in images {
      result.append(try inspectImage(store, name))
    }
    // The same rendering as `berth inspect`: nested fields ({{.Config.User}}) included.
    try printInspected(result, format: format)
  }
}

/// podman's `image inspect` fields.
struct InspectedImage: Encodable {
  struct RootFSInfo: Encodable {
    var type: String
    var layers: [String]

    enum CodingKeys: String, CodingKey {
      case type = "Type"
      case layers = "Layers"
    }
  }
  var id: String
  var digest: String
  var repoTags: [String]
  var repoDigests: [String]
  var created: String?
  var author: String?
  var config: ImageConfig.Config?
  var architecture: String
  var os: String
  var variant: String?
  var size: Int64
  var rootFS: RootFSInfo
  var history: [ImageConfig.History]
  var manifestType: String
  var layers: [String]

  enum CodingKeys: String, CodingKey {
    case id = "Id"
    case digest = "Digest"
    case repoTags = "RepoTags"
    case repoDigests = "RepoDigests"
    case created = "Created"
    case author = "Author"
    case config = "Config"
    case architecture = "Architecture"
    case os = "Os"
    case variant = "Variant"
    case size = "Size"
    case rootFS = "RootFS"
    case history = "History"
    case manifestType = "ManifestType"
    case layers = "Layers"
  }
}

/// One image in podman's inspect shape.
func inspectImage(_ store: ContentStore, _ name: String) throws -> InspectedImage {
  let record = try store.resolveImage(name)
  let config = try store.config(of: record)
  let manifest = try store.manifest(of: record)
  return InspectedImage(
    id: record.id.encoded, digest: record.manifest.description,
    repoTags: record.names,
    repoDigests: record.names.compactMap { name in
      (try? Reference(parsing: name, defaultTag: false)).map {
        "\($0.repository)@\(record.manifest)"
      }
    },
    created: config.created, author: config.author, config: config.config,
    architecture: config.architecture, os: config.os, variant: config.variant,
    size: store.unpackedSize(of: record),
    rootFS: .init(type: config.rootfs.type, layers: config.rootfs.diffIDs.map(\.description)),
    history: config.history ?? [], manifestType: record.manifestMediaType,
    layers: manifest.layers.map(\.digest.description))
}
