// berth-runtime's first instructions. The commands that put a process into
// a container (create, run, exec) must run from a copy of the binary that
// nothing can write (CVE-2019-5736), so they re-exec once before anything
// else. Doing it here, in an ELF constructor, skips the Swift runtime's
// start-up in the process that is thrown away (about half a millisecond per
// container). What it found is kept for main.swift, which calls
// BinaryProtection.ensure() only if the re-exec failed (to report why).
#define _GNU_SOURCE
#include "cruntimeentry.h"

#include <cberth.h>
#include <stddef.h>
#include <string.h>

static enum berth_runtime_entry entry_state = BERTH_ENTRY_NOT_RUN;

enum berth_runtime_entry berth_runtime_entry_state(void) { return entry_state; }

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
  const char *verb = subcommand(argc, argv);
  if (!verb || (strcmp(verb, "create") && strcmp(verb, "run") && strcmp(verb, "exec"))) {
    entry_state = BERTH_ENTRY_NOT_NEEDED;
  } else if (berth_exe_is_protected()) {
    entry_state = BERTH_ENTRY_PROTECTED;
  } else {
    berth_reexec_protected(argv, envp);
    entry_state = BERTH_ENTRY_UNPROTECTED;
  }
}
