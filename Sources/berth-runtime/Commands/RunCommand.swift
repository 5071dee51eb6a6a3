import ArgumentParser
import BerthRuntime
import BerthSystem
import Glibc

struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Create and start a container; wait for it unless --detach.",
    discussion: "Exits with the process's exit code, or 128+N when it is killed by signal N.")
  @OptionGroup var flags: CreateFlags
  @Flag(name: [.short, .long], help: "Return once the container has started.")
  var detach = false
  @Flag(help: "Keep the container's state after it exits.")
  var keep = false
  @Argument(help: "Container id.") var id: String

  func run() { Self.execute(flags.options(id: id), detach: detach, keep: keep) }

  static func execute(_ options: CreateOptions, detach: Bool, keep: Bool) -> Never {
    let code = perform { runtime throws(BerthError) in
      try runtime.run(options, detach: detach, keep: keep)
    }
    Glibc.exit(code)
  }
}
