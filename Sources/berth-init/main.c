// berth-init: the tiny init `berth run --init` puts in front of the
// container's command (podman uses catatonit, docker tini). As PID 1 it
// starts the command, forwards the signals it receives to it, reaps every
// zombie that is reparented to it, and exits with the command's status
// (128+N for signal N). C and linked statically: it runs inside images
// that have no libraries at all.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2;
  if (argc <= first) {
    fprintf(stderr, "usage: berth-init [--] COMMAND [ARG...]\n");
    return 125;
  }
  sigset_t all, previous;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &previous);
  pid_t child = fork();
  if (child < 0) {
    perror("berth-init: fork");
    return 125;
  }
  if (child == 0) {
    // Its own process group, so a terminal's ctrl-c reaches it as it would
    // without us; made the terminal's foreground group while SIGTTOU is
    // still blocked (a background group's tcsetpgrp would stop us).
    setpgid(0, 0);
    if (isatty(0)) tcsetpgrp(0, getpid());
    sigprocmask(SIG_SETMASK, &previous, NULL);
    execvp(argv[first], argv + first);
    int code = errno == ENOENT ? 127 : 126;
    fprintf(stderr, "berth-init: %s: %s\n", argv[first], strerror(errno));
    _exit(code);
  }
  int status = 0;
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      // Job control stops are for the command, not for us.
      kill(child, sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU ? SIGSTOP : sig);
      continue;
    }
    for (;;) {
      int reaped_status;
      pid_t reaped = waitpid(-1, &reaped_status, WNOHANG);
      if (reaped <= 0) break;
      if (reaped == child) {
        status = reaped_status;
        child = -1;
      }
    }
    if (child < 0) break;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
