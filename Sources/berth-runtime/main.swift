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
  // re-executed already; if it could not, ensure() tries once more and
  // reports why.
  switch berth_runtime_entry_state() {
  case BERTH_ENTRY_NOT_RUN: preconditionFailure("CRuntimeEntry is not linked in")
  case BERTH_ENTRY_UNPROTECTED: try BinaryProtection.ensure(arguments: arguments)
  default: break
  }
  // The verbs of every container start and stop skip the reflective parser.
  HotPath.run(rest)
  BerthRuntimeCommand.main(rest)
} catch {
  fail(error)
}
