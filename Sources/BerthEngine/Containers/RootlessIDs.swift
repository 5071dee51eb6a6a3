// The id maps of a rootless container's user namespace: the user as 0 and
// the user's subordinate ranges (/etc/subuid, /etc/subgid) as 1..N, the
// same maps the rootless image store unpacked the layers with.
import BerthImage
import BerthOCI
import BerthSystem
import Glibc

enum RootlessIDs {
  static func mappings() throws(BerthError) -> (uid: [IDMapping], gid: [IDMapping]) {
    guard let password = getpwuid(getuid()), let name = password.pointee.pw_name else {
      throw BerthError(.notFound, "user \(getuid()) is not in /etc/passwd")
    }
    let user = String(cString: name)
    func range(_ file: String, _ id: UInt32) throws(BerthError) -> SubordinateIDs {
      let text = (try? readFile(file)).map { String(decoding: $0, as: UTF8.self) } ?? ""
      guard let range = BerthImage.UserNamespace.range(in: text, user: user, id: id) else {
        throw BerthError(
          .notFound, "\(file) gives \(user) no subordinate ids",
          hint: "add a line such as \(user):100000:65536 (see subuid(5))")
      }
      return range
    }
    let uids = try range("/etc/subuid", getuid())
    let gids = try range("/etc/subgid", getgid())
    return (
      [
        IDMapping(containerID: 0, hostID: getuid(), size: 1),
        IDMapping(containerID: 1, hostID: uids.start, size: uids.count),
      ],
      [
        IDMapping(containerID: 0, hostID: getgid(), size: 1),
        IDMapping(containerID: 1, hostID: gids.start, size: gids.count),
      ]
    )
  }
}
