#define _GNU_SOURCE
#include "cberth.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

const uint64_t BERTH_CLONE_NEWNS = CLONE_NEWNS, BERTH_CLONE_NEWUTS = CLONE_NEWUTS,
               BERTH_CLONE_NEWIPC = CLONE_NEWIPC, BERTH_CLONE_NEWUSER = CLONE_NEWUSER,
               BERTH_CLONE_NEWPID = CLONE_NEWPID, BERTH_CLONE_NEWNET = CLONE_NEWNET,
               BERTH_CLONE_NEWCGROUP = CLONE_NEWCGROUP, BERTH_CLONE_NEWTIME = CLONE_NEWTIME;
const uint64_t BERTH_RESOLVE_IN_ROOT = RESOLVE_IN_ROOT,
               BERTH_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS,
               BERTH_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS,
               BERTH_RESOLVE_BENEATH = RESOLVE_BENEATH;

const int BERTH_O_PATH = O_PATH;

pid_t berth_clone(uint64_t flags) {
  // x86_64 and aarch64 both take (flags, stack, parent_tid, child_tid, tls);
  // a NULL stack gives fork semantics.
  return (pid_t)syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, NULL, NULL, NULL);
}

pid_t berth_clone_into_cgroup(uint64_t flags, int cgroup_fd) {
  // struct clone_args up to its cgroup field (CLONE_ARGS_SIZE_VER2), spelt
  // out so that older kernel headers build it too.
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
  } args;
  memset(&args, 0, sizeof args);
  args.flags = flags | 0x200000000ULL; /* CLONE_INTO_CGROUP */
  args.exit_signal = SIGCHLD;
  args.cgroup = (uint64_t)cgroup_fd;
#ifdef SYS_clone3
  return (pid_t)syscall(SYS_clone3, &args, sizeof args);
#else
  errno = ENOSYS;
  return -1;
#endif
}

int berth_is_cgroup2(const char *path) {
  struct statfs fs;
  return statfs(path, &fs) == 0 && fs.f_type == 0x63677270; /* CGROUP2_SUPER_MAGIC */
}

int berth_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int berth_pidfd_send_signal(int pidfd, int sig) {
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  int fd;
  do {
    fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  return fd;
}

int berth_pivot_root(const char *new_root, const char *put_old) {
  return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int berth_close_range_cloexec(unsigned int first) {
  return (int)syscall(SYS_close_range, first, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
}

int berth_memfd_create(const char *name, unsigned int flags) {
  return (int)syscall(SYS_memfd_create, name, flags);
}

int berth_seal_memfd(int fd) {
  return fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
}

int berth_open_readonly_clone(const char *path) {
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0) return -1;
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

/* True for an unprivileged caller (not root, no capabilities) in the initial
   user namespace whose binary only host root may write (owned by root, no
   group or other write bit). Nothing such a caller starts can write it: its
   containers run as its uid or its subordinate ids, never as host root, and
   the capabilities they hold belong to user namespaces it owns, which do not
   reach root's files. Then no copy is needed (a rootless container start
   would otherwise copy the whole binary into a memfd). */
static int only_host_root_can_write(int fd) {
  struct stat st;
  if (geteuid() == 0 || fstat(fd, &st) < 0) return 0;
  if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) return 0;
  uint64_t effective = 0, permitted = 0, inheritable = 0;
  if (berth_capget(&effective, &permitted, &inheritable) < 0 || effective || permitted) return 0;
  char map[128];
  int mapfd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  if (mapfd < 0) return 0;
  ssize_t n = read(mapfd, map, sizeof map - 1);
  close(mapfd);
  if (n <= 0) return 0;
  map[n] = 0;
  unsigned long inside, outside, count;
  int fields = 0;
  if (sscanf(map, "%lu %lu %lu %n", &inside, &outside, &count, &fields) != 3) return 0;
  return inside == 0 && outside == 0 && count == 4294967295UL && map[fields] == 0;
}

int berth_exe_is_protected(void) {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct statvfs vfs;
  int protected = fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
  if (!protected) {
    int seals = fcntl(fd, F_GET_SEALS);
    protected = seals >= 0 && (seals & F_SEAL_WRITE);
  }
  if (!protected) protected = only_host_root_can_write(fd);
  close(fd);
  return protected;
}

/* A sealed memfd copy of our binary: nothing can write it, ever. */
static int sealed_copy_of_exe(void) {
  int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) return -1;
  struct stat st;
  int memfd = -1;
  if (fstat(exe, &st) < 0) goto fail;
  memfd = berth_memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0) goto fail;
  for (off_t left = st.st_size; left > 0;) {
    ssize_t n = sendfile(memfd, exe, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      goto fail;
    }
    left -= n;
  }
  if (berth_seal_memfd(memfd) < 0) goto fail;
  close(exe);
  return memfd;
fail:;
  int saved = errno;
  if (memfd >= 0) close(memfd);
  close(exe);
  errno = saved;
  return -1;
}

int berth_reexec_protected(char *const argv[], char *const envp[]) {
  int fd = berth_open_readonly_clone("/proc/self/exe");
  if (fd < 0) fd = sealed_copy_of_exe();
  if (fd < 0) return -1;
  fexecve(fd, argv, envp);
  int saved = errno;
  close(fd);
  errno = saved;
  return -1;
}

int berth_make_tree_readonly(const char *path) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_RDONLY;
  return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr);
}

int berth_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int berth_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, on, 0, 0, 0); }
int berth_set_keepcaps(int on) { return prctl(PR_SET_KEEPCAPS, on, 0, 0, 0); }
int berth_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
int berth_malloc_trim(void) { return malloc_trim(0); }
int berth_capbset_drop(int cap) { return prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); }
int berth_capbset_read(int cap) { return prctl(PR_CAPBSET_READ, cap, 0, 0, 0); }
int berth_ambient_raise(int cap) {
  return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}
int berth_ambient_clear_all(void) {
  return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

int berth_last_cap(void) {
  // Probe the bounding set: PR_CAPBSET_READ fails with EINVAL past the last
  // capability the running kernel knows.
  int cap = 0;
  while (cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0) cap++;
  return cap - 1;
}

int berth_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  data[0].effective = (uint32_t)effective;
  data[1].effective = (uint32_t)(effective >> 32);
  data[0].permitted = (uint32_t)permitted;
  data[1].permitted = (uint32_t)(permitted >> 32);
  data[0].inheritable = (uint32_t)inheritable;
  data[1].inheritable = (uint32_t)(inheritable >> 32);
  return (int)syscall(SYS_capset, &hdr, data);
}

int berth_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return -1;
  *effective = (uint64_t)data[0].effective | ((uint64_t)data[1].effective << 32);
  *permitted = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
  *inheritable = (uint64_t)data[0].inheritable | ((uint64_t)data[1].inheritable << 32);
  return 0;
}

int berth_set_ctty(int fd) { return ioctl(fd, TIOCSCTTY, 0); }

int berth_set_winsize(int fd, unsigned short rows, unsigned short cols) {
  struct winsize ws = {.ws_row = rows, .ws_col = cols};
  return ioctl(fd, TIOCSWINSZ, &ws);
}

int berth_pty_peer(int master) {
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) return -1;
  return ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

int berth_send_fd(int sock, int fd, const char *msg, size_t msglen) {
  char dummy = 0;
  struct iovec iov = {.iov_base = msglen ? (void *)msg : &dummy, .iov_len = msglen ? msglen : 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                      .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t r;
  do {
    r = sendmsg(sock, &mh, MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : 0;
}

long berth_recv_message(int sock, char *buf, size_t len, int *fd) {
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  union {
    char b[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                      .msg_controllen = sizeof u.b};
  *fd = -1;
  ssize_t r;
  do {
    r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
    memcpy(fd, CMSG_DATA(c), sizeof(int));
  }
  return r;
}

int berth_recv_fd(int sock, char *buf, size_t len) {
  int fd;
  if (berth_recv_message(sock, buf, len, &fd) < 0) return -1;
  if (fd < 0) {
    errno = EBADMSG;
    return -1;
  }
  return fd;
}

int berth_setns(int fd, int nstype) { return setns(fd, nstype); }
int berth_unshare(int flags) { return unshare(flags); }

long berth_mount_flags(const char *path) {
  struct statvfs st;
  if (statvfs(path, &st) < 0) return -1;
  long flags = 0;
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

int berth_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int berth_setresuid(uid_t uid) { return (int)syscall(SYS_setresuid, uid, uid, uid); }
int berth_setresgid(gid_t gid) { return (int)syscall(SYS_setresgid, gid, gid, gid); }
int berth_setgroups(size_t n, const gid_t *groups) {
  return (int)syscall(SYS_setgroups, n, groups);
}

int berth_join_session_keyring(const char *name) {
  return (int)syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name, 0, 0, 0);
}

int berth_bpf_load_device_program(const void *insns, unsigned int count, char *log,
                                  unsigned int log_size) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = count;
  attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
  if (log && log_size) {
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = log_size;
    attr.log_level = 1;
  }
  int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

int berth_bpf_attach_device_program(int cgroup_fd, int prog_fd) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cgroup_fd;
  attr.attach_bpf_fd = (uint32_t)prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  return (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr);
}

int berth_ppoll_unblocking(struct pollfd *fds, unsigned long count, int sig) {
  sigset_t mask;
  if (sigprocmask(SIG_SETMASK, NULL, &mask) < 0) return -1;
  sigdelset(&mask, sig);
  return ppoll(fds, (nfds_t)count, NULL, &mask);
}

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

int berth_is_mount_root(const char *path) {
  struct statx stx;
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, 0, &stx) != 0) return -1;
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) {
    errno = ENOTSUP;
    return -1;
  }
  return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}

int berth_mark_top_directory(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int flags = 0;
  int result = ioctl(fd, FS_IOC_GETFLAGS, &flags);
  if (result == 0 && !(flags & FS_TOPDIR_FL)) {
    flags |= FS_TOPDIR_FL;
    result = ioctl(fd, FS_IOC_SETFLAGS, &flags);
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return result;
}
