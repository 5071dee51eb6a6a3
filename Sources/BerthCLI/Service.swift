// `berth system service [--time SECONDS] [URI]`: the Docker Engine API for
// docker, docker-py and compose, from the same engine library. Exits after
// --time idle seconds (0: never); systemd socket activation passes the
// listening socket (LISTEN_FDS).
import ArgumentParser
import BerthService
import Glibc

struct Service: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "service", abstract: "Serve the Docker Engine API on a socket.")

  @OptionGroup var global: GlobalOptions
  @Option(name: [.customShort("t"), .long], help: "Exit after this many idle seconds (0: never).")
  var time = 5
  @Argument(help: "unix:///path (default /run/berth/berth.sock) or tcp://HOST:PORT.")
  var uri: String?

  func run() throws {
    var inherited: Int32?
    if let count = getenv("LISTEN_FDS").flatMap({ Int(String(cString: $0)) }), count >= 1,
      getenv("LISTEN_PID").flatMap({ Int32(String(cString: $0)) }) == getpid()
    {
      inherited = 3
    }
    let server = APIServer(
      root: global.root, runRoot: global.runroot, idleSeconds: time, version: berthVersion)
    try server.run(address: uri ?? APIServer.defaultSocket(), inheritedFD: inherited)
  }
}
