// Names and ids: 64 hex digit ids, names as docker allows them, and a
// random adjective_noun name when none is given (as docker and podman do).
import BerthSystem
import Glibc

public enum ContainerNames {
  static let adjectives = [
    "brave", "calm", "eager", "fervent", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nifty", "proud", "quirky", "sharp", "tender", "upbeat", "vivid", "witty", "zealous", "bold",
  ]
  static let nouns = [
    "anchor", "bollard", "capstan", "dock", "ferry", "galley", "harbor", "jetty", "keel", "lighter",
    "mooring", "pier", "quay", "rudder", "schooner", "tug", "wharf", "yawl", "buoy", "cutter",
  ]

  public static func randomID() -> String {
    var bytes = [UInt8](repeating: 0, count: 32)
    for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
    return bytes.map { String($0, radix: 16).leftPadded(2) }.joined()
  }

  public static func randomName() -> String {
    "\(adjectives.randomElement()!)_\(nouns.randomElement()!)_\(Int.random(in: 10...99))"
  }

  /// Docker's rule for container and volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
  public static func isValid(_ name: String) -> Bool {
    func plain(_ scalar: Unicode.Scalar) -> Bool {
      ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
    guard let first = name.unicodeScalars.first, plain(first) else { return false }
    return name.unicodeScalars.allSatisfy { plain($0) || "_.-".unicodeScalars.contains($0) }
  }

  public static func validate(_ name: String) throws(BerthError) {
    guard isValid(name) else {
      throw BerthError(
        .invalidArgument, "invalid name \"\(name)\"",
        hint: "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")
    }
  }

}

extension String {
  func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
