// A user namespace's uid and gid maps as one value: what a container's
// `--userns`/`--uidmap`/`--gidmap` resolve to, what its layers are copied
// with, and what its runtime spec carries.
import BerthSystem

public struct IDMaps: Codable, Sendable, Equatable {
  public var uid: [IDMapping]
  public var gid: [IDMapping]

  public init(uid: [IDMapping], gid: [IDMapping]) {
    self.uid = uid
    self.gid = gid
  }

  /// The id outside that `id` inside maps to, or nil when it is not mapped.
  public static func outside(_ id: UInt32, in mappings: [IDMapping]) -> UInt32? {
    for mapping in mappings
    where id >= mapping.containerID
      && UInt64(id) < UInt64(mapping.containerID) + UInt64(mapping.size)
    {
      return mapping.hostID + (id - mapping.containerID)
    }
    return nil
  }

  /// The id inside that `id` outside maps to, or nil when it is not mapped.
  public static func inside(_ id: UInt32, in mappings: [IDMapping]) -> UInt32? {
    for mapping in mappings
    where id >= mapping.hostID && UInt64(id) < UInt64(mapping.hostID) + UInt64(mapping.size) {
      return mapping.containerID + (id - mapping.hostID)
    }
    return nil
  }

  /// Whether every id in 0..<65536 maps to itself: a namespace whose files
  /// look as they do outside it.
  public var isIdentity: Bool {
    func identity(_ mappings: [IDMapping]) -> Bool {
      mappings.contains { $0.containerID == 0 && $0.hostID == 0 && $0.size >= 65536 }
    }
    return identity(uid) && identity(gid)
  }

  /// "C:H:S" lines, as /proc/PID/uid_map and podman's inspect show them.
  public static func describe(_ mappings: [IDMapping]) -> [String] {
    mappings.map { "\($0.containerID):\($0.hostID):\($0.size)" }
  }

  /// Parses one `--uidmap`/`--gidmap` value: CONTAINER:HOST:SIZE, several
  /// joined by commas allowed. Ranges may not overlap inside or outside.
  public static func parse(_ values: [String], flag: String) throws(BerthError) -> [IDMapping] {
    var result: [IDMapping] = []
    for value in values {
      for part in value.split(separator: ",") {
        let fields = part.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 3, let inside = UInt32(fields[0]), let outside = UInt32(fields[1]),
          let size = UInt32(fields[2]), size > 0,
          UInt64(inside) + UInt64(size) <= UInt64(UInt32.max),
          UInt64(outside) + UInt64(size) <= UInt64(UInt32.max)
        else {
          throw BerthError(
            .invalidArgument, "invalid \(flag) \"\(part)\"",
            hint: "use CONTAINER_ID:HOST_ID:SIZE with a size of at least 1, e.g. 0:100000:65536")
        }
        result.append(IDMapping(containerID: inside, hostID: outside, size: size))
      }
    }
    func overlaps(_ a: UInt32, _ b: UInt32, _ sizeA: UInt32, _ sizeB: UInt32) -> Bool {
      UInt64(a) < UInt64(b) + UInt64(sizeB) && UInt64(b) < UInt64(a) + UInt64(sizeA)
    }
    for (i, a) in result.enumerated() {
      for b in result[(i + 1)...]
      where overlaps(a.containerID, b.containerID, a.size, b.size)
        || overlaps(a.hostID, b.hostID, a.size, b.size)
      {
        throw BerthError(
          .invalidArgument,
          "\(flag) ranges \(describe([a])[0]) and \(describe([b])[0]) overlap",
          hint: "give each container id and each host id to one range only")
      }
    }
    return result
  }
}
