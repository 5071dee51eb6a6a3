// Shared libraries the CLI loads on first use, not at every start.
//
// Every `berth` command paid for mapping and relocating libarchive (with
// libxml2, ICU, nettle and five compression libraries behind it) and
// libnftables (with five more), about 2.5 ms of each command, though most
// commands, `run` among them, call neither. Each library's C target defines
// the functions Swift calls, with the library's own prototypes, as
// trampolines that dlopen the library once and jump to the real function
// (systemd loads its optional libraries the same way).
#pragma once

struct berth_lazy_library {
  /// The soname to load, e.g. "libarchive.so.13".
  const char *soname;
  /// The Debian package that ships it, for the error message.
  const char *package;
  /// Set once, under a lock, by the first call that needs the library.
  void *handle;
};

#define BERTH_LAZY_LIBRARY(soname, package) {soname, package, 0}

/// The address of `name` in `library`, loading the library on first use.
/// A library or symbol that cannot be found ends the process with status
/// 125 (berth's own failure) and a message naming the package to install:
/// nothing can go on without it.
void *berth_lazy_symbol(struct berth_lazy_library *library, const char *name);

/// Sets `function` to the library's own `name`, resolved at its first call.
#define BERTH_LAZY_RESOLVE(library, name)                                          \
  static __typeof__(&name) resolved;                                               \
  __typeof__(&name) function = __atomic_load_n(&resolved, __ATOMIC_ACQUIRE);       \
  if (!function) {                                                                 \
    function = (__typeof__(&name))berth_lazy_symbol(&library, #name);              \
    __atomic_store_n(&resolved, function, __ATOMIC_RELEASE);                       \
  }

/// Defines `ret name params` as a call of the library's own `name`; the
/// prototype in the library's header must agree, or this does not compile.
#define BERTH_LAZY_FUNCTION(library, ret, name, params, args)                      \
  ret name params {                                                                \
    BERTH_LAZY_RESOLVE(library, name)                                              \
    return function args;                                                          \
  }

/// The same for a function that returns nothing.
#define BERTH_LAZY_VOID_FUNCTION(library, name, params, args)                      \
  void name params {                                                               \
    BERTH_LAZY_RESOLVE(library, name)                                              \
    function args;                                                                 \
  }
