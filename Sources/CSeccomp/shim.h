// libseccomp (Debian's libseccomp-dev) for compiling profiles in the runtime,
// plus the raw seccomp(2) calls the container side needs: it loads a
// program that was compiled (or read from the cache) before clone, so the
// child never runs libseccomp.
#ifndef BERTH_CSECCOMP_SHIM_H
#define BERTH_CSECCOMP_SHIM_H

#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): `insns` holds `count`
// struct sock_filter (8 bytes each). Returns -1 with errno on failure, the
// listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0.
static inline int berth_seccomp_set_filter(const void *insns, size_t count, unsigned int flags) {
  if (count == 0 || count > BPF_MAXINSNS) {
    errno = EINVAL;
    return -1;
  }
  struct sock_fprog prog = {.len = (unsigned short)count, .filter = (struct sock_filter *)insns};
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

// seccomp(SECCOMP_GET_ACTION_AVAIL): 0 when the kernel knows the action.
static inline int berth_seccomp_action_available(uint32_t action) {
  return (int)syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
}

// Whether this kernel accepts `flags` for SECCOMP_SET_MODE_FILTER, without
// loading anything: the flags are checked before the (NULL) program is
// read, so EFAULT means accepted. Returns 0, or -1 with errno (EINVAL).
static inline int berth_seccomp_check_flags(unsigned int flags) {
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL);
  if (rc < 0 && errno == EFAULT) return 0;
  if (rc >= 0) {  // cannot happen with a NULL program; never report success
    errno = EINVAL;
  }
  return -1;
}

#endif
