import BerthImage
import BerthOCI
import BerthSystem
import CArchive
import Foundation
import Testing

/// Unpacks into a fresh `root` directory inside `work`.
private func unpack(_ tar: String, in work: TempDir, rootless: Bool = false) throws -> (
  String, UnpackResult
) {
  let target = work.path + "/root-\(UUID().uuidString)"
  try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
  let result = try LayerUnpacker.unpack(
    blob: tar, into: target, options: UnpackOptions(rootless: rootless, name: "test"))
  return (target, result)
}

private func sha256(_ path: String) throws -> String {
  try run(["sha256sum", path]).split(separator: " ")[0].description
}

private func lstatOf(_ path: String) -> stat? {
  var st = stat()
  return lstat(path, &st) == 0 ? st : nil
}

@Test(.enabled(if: canRunAsRoot, "ownership, device nodes and trusted.* xattrs need root"))
func layerKeepsMetadataAndTurnsWhiteoutsIntoOverlayWhiteouts() throws {
  let work = try TempDir()
  let tar = work.path + "/layer.tar"
  try makeTar(
    tar,
    """
    add("etc", tarfile.DIRTYPE, mode=0o755, mtime=2000000)
    add_file("etc/passwd", b"root:x:0:0::/root:/bin/sh\\n", mode=0o644, mtime=1234567)
    add_file("bin/su", b"suid", mode=0o4755, uid=0, gid=0)
    add("bin/sh", tarfile.SYMTYPE, linkname="busybox")
    add("bin/link", tarfile.LNKTYPE, linkname="bin/su")
    add("run/fifo", tarfile.FIFOTYPE, mode=0o600)
    add("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666)
    add_file("home/user/file", b"x", uid=1000, gid=1001, mode=0o600)
    info = tarfile.TarInfo("xattr")
    info.pax_headers = {"SCHILY.xattr.user.berth": "yes"}
    t.addfile(info, io.BytesIO(b""))
    add_file("etc/.wh.old", b"")
    add("var", tarfile.DIRTYPE, mode=0o755)
    add_file("var/.wh..wh..opq", b"")
    """)
  let (root, result) = try unpack(tar, in: work)
  #expect(result.diffID.description == "sha256:" + (try sha256(tar)))
  #expect(try String(contentsOfFile: root + "/etc/passwd", encoding: .utf8).hasPrefix("root:"))
  let passwd = try #require(lstatOf(root + "/etc/passwd"))
  #expect(passwd.st_mtim.tv_sec == 1_234_567)
  #expect(lstatOf(root + "/etc")?.st_mtim.tv_sec == 2_000_000)
  #expect(lstatOf(root + "/bin/su").map { $0.st_mode & 0o7777 } == 0o4755)
  #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/bin/sh") == "busybox")
  #expect(lstatOf(root + "/bin/link")?.st_ino == lstatOf(root + "/bin/su")?.st_ino)
  #expect(lstatOf(root + "/run/fifo").map { $0.st_mode & S_IFMT } == S_IFIFO)
  let null = try #require(lstatOf(root + "/dev/null"))
  #expect(null.st_mode & S_IFMT == S_IFCHR && null.st_rdev == carchive_makedev(1, 3))
  let file = try #require(lstatOf(root + "/home/user/file"))
  #expect(file.st_uid == 1000 && file.st_gid == 1001 && file.st_mode & 0o777 == 0o600)
  var value = [UInt8](repeating: 0, count: 8)
  #expect(lgetxattr(root + "/xattr", "user.berth", &value, 8) == 3)
  let whiteout = try #require(lstatOf(root + "/etc/old"))
  #expect(whiteout.st_mode & S_IFMT == S_IFCHR && whiteout.st_rdev == 0)
  #expect(lstatOf(root + "/etc/.wh.old") == nil)
  #expect(lgetxattr(root + "/var", "trusted.overlay.opaque", &value, 8) == 1 && value[0] == 0x79)
  #expect(lstatOf(root + "/var/.wh..wh..opq") == nil)
}

@Test(arguments: ["gzip", "xz", "zstd"])
func compressedLayersUnpackWithTheUncompressedDiffID(compressor: String) throws {
  let work = try TempDir()
  let tar = work.path + "/layer.tar"
  try makeTar(tar, "add_file('a/b', b'hello' * 1000, mode=0o644)")
  let diffID = try sha256(tar)
  try run([compressor, "-k", "-q", tar])
  let suffix = ["gzip": "gz", "xz": "xz", "zstd": "zst"][compressor]!
  let (root, result) = try unpack("\(tar).\(suffix)", in: work, rootless: !canRunAsRoot)
  #expect(result.diffID.encoded == diffID)
  #expect(try String(contentsOfFile: root + "/a/b", encoding: .utf8).count == 5000)
}

/// Each hostile archive must be refused with a clear error and must write
/// nothing outside the target directory.
@Test(arguments: [
  ("dotdot", "add_file('../escaped', b'x')", "`..`"),
  ("nested-dotdot", "add_file('a/../../escaped', b'x')", "`..`"),
  ("absolute", "add_file('/tmp/berth-escaped-absolute', b'x')", "absolute"),
  (
    "symlink-then-file",
    "add('link', tarfile.SYMTYPE, linkname='OUTSIDE')\nadd_file('link/escaped', b'x')",
    "symlink"
  ),
  (
    "symlink-then-dir",
    "add('link', tarfile.SYMTYPE, linkname='OUTSIDE')\nadd('link/sub', tarfile.DIRTYPE)",
    "symlink"
  ),
  (
    "relative-symlink-then-file",
    "add('link', tarfile.SYMTYPE, linkname='../..')\nadd_file('link/escaped', b'x')", "symlink"
  ),
  ("hardlink-outside", "add('hl', tarfile.LNKTYPE, linkname='../secret')", "`..`"),
  ("hardlink-absolute", "add('hl', tarfile.LNKTYPE, linkname='/etc/passwd')", "absolute"),
  (
    "hardlink-through-symlink",
    "add('link', tarfile.SYMTYPE, linkname='OUTSIDE')\nadd('hl', tarfile.LNKTYPE, linkname='link/secret')",
    "symlink"
  ),
  ("whiteout-dot", "add('d', tarfile.DIRTYPE)\nadd_file('d/.wh..', b'')", "whiteout"),
  ("whiteout-dotdot", "add('d', tarfile.DIRTYPE)\nadd_file('d/.wh...', b'')", "whiteout"),
])
func hostileArchivesAreRefused(name: String, body: String, reason: String) throws {
  let work = try TempDir()
  let outside = work.path + "/outside"
  try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
  try "secret".write(toFile: work.path + "/secret", atomically: true, encoding: .utf8)
  try "secret".write(toFile: outside + "/secret", atomically: true, encoding: .utf8)
  let tar = work.path + "/\(name).tar"
  try makeTar(tar, body.replacingOccurrences(of: "OUTSIDE", with: outside))
  let target = work.path + "/root"
  try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
  let error = #expect(throws: BerthError.self) {
    try LayerUnpacker.unpack(
      blob: tar, into: target, options: UnpackOptions(rootless: !canRunAsRoot, name: name))
  }
  #expect(error?.description.contains(reason) == true, "\(error?.description ?? "")")
  #expect(!FileManager.default.fileExists(atPath: work.path + "/escaped"))
  #expect(!FileManager.default.fileExists(atPath: outside + "/escaped"))
  #expect(!FileManager.default.fileExists(atPath: outside + "/sub"))
  #expect(!FileManager.default.fileExists(atPath: "/tmp/berth-escaped-absolute"))
  #expect(!FileManager.default.fileExists(atPath: "/escaped"))
  #expect(try String(contentsOfFile: work.path + "/secret", encoding: .utf8) == "secret")
}

@Test func deviceNodesAreRefusedRootless() throws {
  let work = try TempDir()
  let tar = work.path + "/dev.tar"
  try makeTar(tar, "add('dev/sda', tarfile.BLKTYPE, devmajor=8, devminor=0)")
  let error = #expect(throws: BerthError.self) { try unpack(tar, in: work, rootless: true) }
  #expect(error?.description.contains("device node") == true)
}

@Test func truncatedAndGarbageLayersAreRefused() throws {
  let work = try TempDir()
  let tar = work.path + "/layer.tar"
  try makeTar(tar, "add_file('big', b'y' * 300000)")
  try run(["gzip", "-k", tar])
  let gz = try Data(contentsOf: URL(fileURLWithPath: tar + ".gz"))
  try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: work.path + "/truncated.gz"))
  #expect(throws: BerthError.self) { try unpack(work.path + "/truncated.gz", in: work) }
  try Data("this is not a layer at all, just some text".utf8).write(
    to: URL(fileURLWithPath: work.path + "/garbage"))
  #expect(throws: BerthError.self) { try unpack(work.path + "/garbage", in: work) }
  // A tar whose declared size exceeds its data.
  let full = try Data(contentsOf: URL(fileURLWithPath: tar))
  try full.prefix(4096).write(to: URL(fileURLWithPath: work.path + "/short.tar"))
  #expect(throws: BerthError.self) { try unpack(work.path + "/short.tar", in: work) }
}

@Test func laterEntriesReplaceEarlierOnes() throws {
  let work = try TempDir()
  let tar = work.path + "/layer.tar"
  try makeTar(
    tar,
    """
    add("a", tarfile.DIRTYPE)
    add_file("a/x", b"1")
    add("a", tarfile.SYMTYPE, linkname="elsewhere")
    add_file("f", b"old")
    add_file("f", b"new")
    """)
  let (root, _) = try unpack(tar, in: work, rootless: !canRunAsRoot)
  #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/a") == "elsewhere")
  #expect(try String(contentsOfFile: root + "/f", encoding: .utf8) == "new")
}
