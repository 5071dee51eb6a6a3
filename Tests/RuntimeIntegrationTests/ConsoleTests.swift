import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite(
  "Terminals", .serialized,
  .enabled(
    if: TestEnvironment.canRunContainers, "needs root and the busybox fixture (scripts/test.sh)"))
struct ConsoleTests {
  @Test func thePtyMasterArrivesOnTheConsoleSocketWithTheRequestedSize() throws {
    let box = Sandbox("console")
    defer { box.finish() }
    let socket = ConsoleSocket(path: box.dir + "/console.sock")
    var spec = box.spec(["sh", "-c", "tty; stty size; ls -l /dev/console | cut -c1; echo done"])
    spec.process?.terminal = true
    spec.process?.consoleSize = Spec.ConsoleSize(height: 33, width: 111)
    let bundle = box.bundle(spec)
    let created = box.runtime(["create", "--bundle", bundle, "--console-socket", socket.path, "c"])
    #expect(created.status == 0, "\(created.stderr)")
    let master = socket.receiveMaster()
    try #require(master >= 0)
    defer { close(master) }
    #expect(box.runtime(["start", "c"]).status == 0)
    let screen = readUntil(master, "done")
    #expect(screen.contains("/dev/pts/0"), "\(screen)")
    #expect(screen.contains("33 111"))
    #expect(screen.contains("c\r\ndone"))
    for _ in 0..<300 where box.state("c")?["status"] as? String != "stopped" { usleep(20_000) }
    box.runtime(["delete", "--force", "c"])
  }

  /// CVE-2025-52565 class: /dev/console planted as a symlink in the image
  /// is replaced, never followed; the file it pointed at is untouched.
  @Test func aPlantedConsoleSymlinkIsNotFollowed() throws {
    let box = Sandbox("consolelink")
    defer { box.finish() }
    let rootfs = box.copyRootfs()
    try "secret\n".write(toFile: rootfs + "/etc/target", atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(
      atPath: rootfs + "/dev/pts", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: rootfs + "/dev/console", withDestinationPath: "/etc/target")
    let socket = ConsoleSocket(path: box.dir + "/console.sock")
    var spec = box.spec(["sh", "-c", "stat -c '%F %t' /dev/console; cat /etc/target; echo done"])
    spec.root = Spec.Root(path: rootfs, readonly: false)
    spec.mounts?.removeAll { $0.destination == "/dev" }
    spec.process?.terminal = true
    let created = box.runtime([
      "create", "--bundle", box.bundle(spec), "--console-socket", socket.path, "c",
    ])
    #expect(created.status == 0, "\(created.stderr)")
    let master = socket.receiveMaster()
    defer { close(master) }
    #expect(box.runtime(["start", "c"]).status == 0)
    let screen = readUntil(master, "done")
    #expect(screen.contains("character special file 88"), "\(screen)")
    #expect(screen.contains("secret"))
    #expect(try String(contentsOfFile: rootfs + "/etc/target", encoding: .utf8) == "secret\n")
    for _ in 0..<300 where box.state("c")?["status"] as? String != "stopped" { usleep(20_000) }
    box.runtime(["delete", "--force", "c"])
  }

  /// A foreground run relays its stdio to the container's pty, as runc.
  @Test func aForegroundRunRelaysItsTerminal() {
    let box = Sandbox("relay")
    defer { box.finish() }
    var spec = box.spec(["sh"])
    spec.process?.terminal = true
    let bundle = box.bundle(spec)
    let out = box.runtime(
      ["run", "--bundle", bundle, "c"], input: "tty\necho hi-$((1+1))\nexit 5\n")
    #expect(out.status == 5, "\(out.stderr)")
    #expect(out.stdout.contains("/dev/pts/0"), "\(out.stdout)")
    #expect(out.stdout.contains("hi-2"))
  }

  @Test func aDetachedTerminalWithoutAConsoleSocketIsAClearError() {
    let box = Sandbox("noconsole")
    defer { box.finish() }
    var spec = box.spec(["true"])
    spec.process?.terminal = true
    let out = box.run(spec, extra: ["--detach"])
    #expect(out.status != 0)
    #expect(out.stderr.contains("--console-socket"))
  }
}
