// libarchive for Swift, plus the few calls Swift cannot make directly
// (variadic `syscall`, macros), kept tiny and static inline.
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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

static const int carchive_O_PATH = O_PATH;
