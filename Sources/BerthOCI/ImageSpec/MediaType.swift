// Media types of the OCI image spec 1.1 and of Docker's image manifest v2
// schema 2, which registries and archives still serve side by side.

public enum MediaType {
  public static let ociDescriptor = "application/vnd.oci.descriptor.v1+json"
  public static let ociLayout = "application/vnd.oci.layout.header.v1+json"
  public static let ociIndex = "application/vnd.oci.image.index.v1+json"
  public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
  public static let ociConfig = "application/vnd.oci.image.config.v1+json"
  public static let ociLayerTar = "application/vnd.oci.image.layer.v1.tar"
  public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
  public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
  public static let ociLayerNondistributableTar =
    "application/vnd.oci.image.layer.nondistributable.v1.tar"
  public static let ociLayerNondistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
  public static let ociLayerNondistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
  public static let ociEmpty = "application/vnd.oci.empty.v1+json"

  public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
  public static let dockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json"
  public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
  public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
  public static let dockerLayerForeignGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
  public static let dockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"

  /// Single-image manifests this engine can run.
  public static let manifests: Set<String> = [ociManifest, dockerManifest]
  /// Multi-platform indexes resolved to one manifest.
  public static let indexes: Set<String> = [ociIndex, dockerManifestList]
  /// Layer types unpacked as tar streams; compression is detected from the bytes.
  public static let layers: Set<String> = [
    ociLayerTar, ociLayerGzip, ociLayerZstd, ociLayerNondistributableTar,
    ociLayerNondistributableGzip, ociLayerNondistributableZstd, dockerLayerGzip,
    dockerLayerForeignGzip, dockerLayerTar,
  ]
  /// Config types that carry an image config.
  public static let configs: Set<String> = [ociConfig, dockerConfig]

  /// Accept header for manifest requests, most preferred first.
  public static let manifestAccept = [ociIndex, ociManifest, dockerManifestList, dockerManifest]
}
