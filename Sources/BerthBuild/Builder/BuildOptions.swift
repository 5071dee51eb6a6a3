// What `berth build` (and later the API's POST /build) asks for.
import BerthImage
import BerthOCI

public struct BuildOptions: Sendable {
  public enum Format: String, Sendable { case oci, docker }

  /// `-o type=local,dest=DIR`, `type=oci,dest=FILE`, `type=docker,dest=FILE`.
  public struct Output: Sendable, Equatable {
    public enum Kind: String, Sendable { case local, oci, docker, tar }
    public var kind: Kind
    public var destination: String

    public init(kind: Kind, destination: String) {
      self.kind = kind
      self.destination = destination
    }
  }

  /// The context directory (a tar on stdin is unpacked to one first).
  public var context: String
  /// The Containerfile's text and the name errors use for it.
  public var containerfile: String
  public var containerfileName: String
  /// Where the Containerfile lives on the host, if it does: a
  /// `NAME.dockerignore` beside it wins over the context's ignore file.
  public var containerfilePath: String?
  public var tags: [String] = []
  public var buildArgs: [String: String] = [:]
  public var target: String?
  /// Never reuse a cached step (results are still cached for later builds).
  public var noCache = false
  /// Keep each step's result as a cache entry (podman's --layers, on by default here).
  public var layers = true
  public var labels: [String: String] = [:]
  /// `--secret id=ID,src=PATH`: ID → host file.
  public var secrets: [String: String] = [:]
  /// RUN's network when the instruction names none: nil (the engine's
  /// default, as `berth run`), `none` or `host`.
  public var network: String?
  /// `--timestamp` / SOURCE_DATE_EPOCH: created times and every file time.
  public var timestamp: Int?
  public var format: Format = .oci
  /// Squash this build's new layers into one.
  public var squash = false
  public var quiet = false
  public var outputs: [Output] = []

  public init(context: String, containerfile: String, containerfileName: String) {
    self.context = context
    self.containerfile = containerfile
    self.containerfileName = containerfileName
  }
}
