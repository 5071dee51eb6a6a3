// Debian's libarchive for Swift (linked statically into the release CLI,
// see Package.swift), plus the few calls Swift cannot make directly
// (variadic `syscall`, macros), kept tiny and static inline.
#pragma once
// No _GNU_SOURCE here: clang builds each C module once, and modules that
// see <sys/select.h> under different feature macros (this one, CBerth,
// SwiftGlibc) disagree about fd_set and fail the build. GNU-only
// constants such as O_PATH come from CBerth's .c file (BerthSystem.O_PATH).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

static inline dev_t carchive_makedev(unsigned int major, unsigned int minor) {
  return makedev(major, minor);
}

static inline int carchive_openat(int dirfd, const char *path, int flags, mode_t mode) {
  return openat(dirfd, path, flags, mode);
}

