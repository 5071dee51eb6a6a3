// The state of a container as `berth-runtime state` prints it: the spec's
// fields plus the ones runc adds (rootfs, created, owner), so that callers
// written for runc read it unchanged.

public struct ContainerState: Codable, Sendable, Equatable {
  public enum Status: String, Codable, Sendable {
    case creating, created, running, stopped, paused
  }

  public var ociVersion: String
  public var id: String
  public var pid: Int32
  public var status: Status
  public var bundle: String
  public var rootfs: String
  public var created: String
  public var owner: String
  public var annotations: [String: String]?

  public init(
    id: String, pid: Int32, status: Status, bundle: String, rootfs: String, created: String,
    owner: String, annotations: [String: String]?
  ) {
    self.ociVersion = ociRuntimeSpecVersion
    self.id = id
    self.pid = pid
    self.status = status
    self.bundle = bundle
    self.rootfs = rootfs
    self.created = created
    self.owner = owner
    self.annotations = annotations
  }
}
