import ArgumentParser
import BerthRuntime
import BerthSystem
import CRuntimeEntry
import Glibc

// berth-runtime: an OCI runtime with runc's command line. This process is
// single-threaded from start to exit (no Dispatch, no async): `create`,
// `run` and `exec` clone children that run Swift until execve.

let arguments = CommandLine.arguments
do {
  let (parsed, rest) = try GlobalOptions.parse(Array(arguments.dropFirst()))
  globals = parsed
  globals.installLogging()
  // Commands that put a process into a container run from a copy of the
  // binary nothing can write (CVE-2019-5736). CRuntimeEntry's constructor
  // has re-executed already; this checks, and reports what went wrong.
  if let verb = rest.first, ["create", "run", "exec"].contains(verb) {
    precondition(berth_runtime_entry_ran() == 1, "CRuntimeEntry is not linked in")
    try BinaryProtection.ensure(arguments: arguments)
  }
  // The verbs of every container start and stop skip the reflective parser.
  HotPath.run(rest)
  BerthRuntimeCommand.main(rest)
} catch {
  fail(error)
}
