// berth-monitor's first instructions. A rootful monitor started ahead
// (`start-when-told`) leaves its starter at once: the process posix_spawn
// made forks, and only the child goes on. Forking here, in an ELF
// constructor, spares the process that is thrown away the Swift runtime's
// start-up and main's first work, and spares the child the copy-on-write
// faults on every page that start-up wrote (profiled: the first process was
// a ninth of the monitor's CPU time per `run`). Rootless monitors fork later,
// from main: the first process maps the second's ids from the config.
#define _GNU_SOURCE
#include "cmonitorentry.h"

#include <string.h>
#include <unistd.h>

static int detached_early = 0;

int berth_monitor_detached_early(void) { return detached_early; }

__attribute__((constructor)) static void detach_monitor_early(int argc, char **argv,
                                                              char **envp) {
  (void)envp;
  if (argc < 2 || strcmp(argv[1], "start-when-told") != 0 || geteuid() != 0) return;
  pid_t child = fork();
  // A failed fork is left to main, which forks again and reports it.
  if (child < 0) return;
  if (child > 0) _exit(0);
  detached_early = 1;
}
