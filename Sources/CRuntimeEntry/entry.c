// berth-runtime's first instructions. The commands that put a process into
// a container (create, run, exec) must run from a copy of the binary that
// nothing can write (CVE-2019-5736), so they re-exec once before anything
// else. Doing it here, in an ELF constructor, skips the Swift runtime's
// start-up in the process that is thrown away (about half a millisecond per
// container); Swift's BinaryProtection.ensure() checks again and reports
// the error if this could not re-exec.
#define _GNU_SOURCE
#include "cruntimeentry.h"

#include <cberth.h>
#include <stddef.h>
#include <string.h>

static int entry_ran;

int berth_runtime_entry_ran(void) { return entry_ran; }

static int named(const char *arg, size_t length, const char *const names[]) {
  for (size_t i = 0; names[i]; i++)
    if (strlen(names[i]) == length && strncmp(arg, names[i], length) == 0) return 1;
  return 0;
}

/* The subcommand after runc's global flags; the same flags GlobalOptions
   (Swift) takes off the command line. */
static const char *subcommand(int argc, char **argv) {
  static const char *const valued[] = {"--root", "--log", "--log-format", "--rootless", "--criu",
                                       NULL};
  static const char *const boolean[] = {"--debug", "--systemd-cgroup", NULL};
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    size_t length = strcspn(arg, "=");
    if (strncmp(arg, "--", 2) != 0) return arg;
    if (named(arg, length, boolean)) continue;
    if (!named(arg, length, valued)) return arg;
    if (arg[length] != '=') i++;
  }
  return NULL;
}

__attribute__((constructor)) static void protect_runtime_binary(int argc, char **argv,
                                                                char **envp) {
  entry_ran = 1;
  const char *verb = subcommand(argc, argv);
  if (!verb || (strcmp(verb, "create") && strcmp(verb, "run") && strcmp(verb, "exec"))) return;
  if (berth_exe_is_protected()) return;
  berth_reexec_protected(argv, envp);
}
