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
    // Hex by hand: `joined()` and `String(_:radix:)` are generic, and their
    // first use scans every conformance record of the binary.
    let digits = Array("0123456789abcdef".utf8)
    var hex: [UInt8] = []
    hex.reserveCapacity(64)
    for _ in 0..<32 {
      let byte = UInt8.random(in: 0...255)
      hex.append(digits[Int(byte >> 4)])
      hex.append(digits[Int(byte & 15)])
    }
    return String(decoding: hex, as: UTF8.self)
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
