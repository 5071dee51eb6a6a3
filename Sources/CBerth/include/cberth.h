// C shims for what Swift cannot express: raw clone, macro constants, variadic
// calls (prctl, ioctl), cmsg handling for SCM_RIGHTS and structs the kernel
// headers define but glibc does not wrap. Every function is a thin, checked
// pass-through: it returns -1 with errno set on failure, like the syscall.
#ifndef CBERTH_H
#define CBERTH_H

#include <stdint.h>
#include <sys/types.h>

// clone(2) with fork semantics (no new stack): returns 0 in the child, the
// child's pid in the parent. Only call from a single-threaded process.
pid_t berth_clone(uint64_t flags);
/* clone3 with CLONE_INTO_CGROUP: the child starts in the cgroup2 directory
   open at cgroup_fd. -1 with errno set when the kernel cannot (callers fall
   back to berth_clone and a move). */
pid_t berth_clone_into_cgroup(uint64_t flags, int cgroup_fd);
/* 1 when `path` is on a cgroup2 filesystem, 0 when not or unreadable. */
int berth_is_cgroup2(const char *path);

#include <poll.h>

// ppoll(2) with no timeout, `sig` unblocked for the wait only (the rest of
// the thread's mask kept): a signal blocked elsewhere cannot slip in
// between a check of its flag and the wait.
int berth_ppoll_unblocking(struct pollfd *fds, unsigned long count, int sig);

int berth_pidfd_open(pid_t pid);
int berth_pidfd_send_signal(int pidfd, int sig);
int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
int berth_pivot_root(const char *new_root, const char *put_old);
int berth_close_range_cloexec(unsigned int first);
int berth_memfd_create(const char *name, unsigned int flags);
int berth_seal_memfd(int fd);
// A detached, read-only bind mount of `path` (open_tree OPEN_TREE_CLONE +
// mount_setattr MOUNT_ATTR_RDONLY): an fd to exec from that no one can
// write through, without copying the file.
int berth_open_readonly_clone(const char *path);
/* 1 when /proc/self/exe is on a read-only mount or a write-sealed memfd. */
int berth_exe_is_protected(void);
/* CVE-2019-5736: re-executes from a read-only detached mount of our binary
   (open_tree + mount_setattr), else from a sealed memfd copy. Returns -1
   with errno only if neither could be executed. */
int berth_reexec_protected(char *const argv[], char *const envp[]);
// Makes the mount at `path` and every mount below it read-only
// (mount_setattr with AT_RECURSIVE): a remount only changes the top one.
int berth_make_tree_readonly(const char *path);

// prctl wrappers
int berth_set_no_new_privs(void);
int berth_set_dumpable(int on);
int berth_set_keepcaps(int on);
int berth_set_child_subreaper(void);
// malloc_trim(0): gives freed heap back to the kernel (malloc.h is not in
// Swift's Glibc module).
int berth_malloc_trim(void);
int berth_capbset_drop(int cap);
int berth_capbset_read(int cap);
int berth_ambient_raise(int cap);
int berth_ambient_clear_all(void);
int berth_last_cap(void);

// capget/capset with _LINUX_CAPABILITY_VERSION_3 (two 32-bit words per set).
int berth_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);
int berth_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable);

// terminals
int berth_set_ctty(int fd);
int berth_set_winsize(int fd, unsigned short rows, unsigned short cols);
// The pty slave for a master, opened through the master (no path lookup).
int berth_pty_peer(int master);

// fd passing over a unix socket
int berth_send_fd(int sock, int fd, const char *msg, size_t msglen);
int berth_recv_fd(int sock, char *buf, size_t len);
// One message of up to `len` bytes, and the fd sent with it if any (else
// *fd = -1, close-on-exec); the byte count, 0 at EOF, or -1.
long berth_recv_message(int sock, char *buf, size_t len, int *fd);

// constants that are macros in C
extern const uint64_t BERTH_CLONE_NEWNS, BERTH_CLONE_NEWUTS, BERTH_CLONE_NEWIPC,
    BERTH_CLONE_NEWUSER, BERTH_CLONE_NEWPID, BERTH_CLONE_NEWNET, BERTH_CLONE_NEWCGROUP,
    BERTH_CLONE_NEWTIME;
extern const uint64_t BERTH_RESOLVE_IN_ROOT, BERTH_RESOLVE_NO_MAGICLINKS,
    BERTH_RESOLVE_NO_SYMLINKS, BERTH_RESOLVE_BENEATH;

int berth_pipe_cloexec(int fds[2]);
// keyctl(KEYCTL_JOIN_SESSION_KEYRING): a fresh session keyring per container.
int berth_join_session_keyring(const char *name);
// Raw setres[ug]id: this thread only, no glibc cross-thread broadcast
// (the process is single-threaded wherever these run).
int berth_setresuid(uid_t uid);
int berth_setresgid(gid_t gid);
int berth_setgroups(size_t n, const gid_t *groups);
int berth_setns(int fd, int nstype);
int berth_unshare(int flags);
// The MS_* flags (rdonly, nosuid, nodev, noexec, atime) a mount has now,
// from statvfs; a bind remount in a user namespace must keep the locked ones.
long berth_mount_flags(const char *path);

// cgroup v2 device control: load a BPF_PROG_TYPE_CGROUP_DEVICE program
// (8-byte instructions) and attach it to a cgroup directory fd with
// BPF_F_ALLOW_MULTI. The verifier's log goes to `log` on failure.
int berth_bpf_load_device_program(const void *insns, unsigned int count, char *log,
                                  unsigned int log_size);
int berth_bpf_attach_device_program(int cgroup_fd, int prog_fd);

// Whether `path` (a symlink not followed) is the root of a mount, from
// statx's STATX_ATTR_MOUNT_ROOT: 1 or 0; -1 with errno set when statx
// fails or cannot tell (before Linux 5.8).
int berth_is_mount_root(const char *path);

// Sets FS_TOPDIR_FL on a directory (ext2/3/4's `chattr +T`): its
// subdirectories are then spread over block groups. 0, or -1 with errno
// (ENOTTY where the file system has no such flag).
int berth_mark_top_directory(const char *path);

// O_PATH needs _GNU_SOURCE, which Swift's Glibc module does not define.
extern const int BERTH_O_PATH;

#endif
