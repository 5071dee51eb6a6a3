import ArgumentParser
import BerthImage
import BerthOCI
import Foundation

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show details of images as JSON.")

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Images by name or id.")
  var images: [String]

  func run() throws {
    let store = try global.store()
    var result: [InspectedImage] = []
    for name in images {
      let record = try store.resolveImage(name)
      let config = try store.config(of: record)
      let manifest = try store.manifest(of: record)
      result.append(
        InspectedImage(
          Id: record.id.encoded, Digest: record.manifest.description,
          RepoTags: record.names,
          RepoDigests: record.names.compactMap { name in
            (try? Reference(parsing: name, defaultTag: false)).map {
              "\($0.repository)@\(record.manifest)"
            }
          },
          Created: config.created, Author: config.author, Config: config.config,
          Architecture: config.architecture, Os: config.os, Variant: config.variant,
          Size: record.size,
          RootFS: .init(Type: config.rootfs.type, Layers: config.rootfs.diffIDs.map(\.description)),
          History: config.history ?? [], ManifestType: record.manifestMediaType,
          Layers: manifest.layers.map(\.digest.description)))
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(result), as: UTF8.self))
  }
}

/// podman's `image inspect` fields.
struct InspectedImage: Encodable {
  struct RootFSInfo: Encodable {
    var `Type`: String
    var Layers: [String]
  }
  var Id: String
  var Digest: String
  var RepoTags: [String]
  var RepoDigests: [String]
  var Created: String?
  var Author: String?
  var Config: ImageConfig.Config?
  var Architecture: String
  var Os: String
  var Variant: String?
  var Size: Int64
  var RootFS: RootFSInfo
  var History: [ImageConfig.History]
  var ManifestType: String
  var Layers: [String]
}
