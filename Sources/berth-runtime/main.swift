import ArgumentParser
import BerthRuntime
import BerthSystem
import Glibc

// berth-runtime: an OCI runtime with runc's command line. This process is
// single-threaded from start to exit (no Dispatch, no async): `create`,
// `run` and `exec` clone children that run Swift until execve.

let arguments = CommandLine.arguments
do {
  let (parsed, rest) = try GlobalOptions.parse(Array(arguments.dropFirst()))
  globals = parsed
  globals.installLogging()
  // Commands that put a process into a container first move the runtime
  // onto a sealed copy of its binary (CVE-2019-5736).
  if let verb = rest.first, ["create", "run", "exec"].contains(verb) {
    try BinaryProtection.ensure(arguments: arguments)
  }
  // The verbs of every container start and stop skip the reflective parser.
  HotPath.run(rest)
  BerthRuntimeCommand.main(rest)
} catch {
  fail(error)
}
