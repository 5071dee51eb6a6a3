#include "lazy_library.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

// 125 is what berth exits with when it fails itself (podman's convention).
static void fail(const struct berth_lazy_library *library, const char *what) {
  fprintf(stderr, "berth: %s: %s (install Debian's %s)\n", what, dlerror(), library->package);
  exit(125);
}

void *berth_lazy_symbol(struct berth_lazy_library *library, const char *name) {
  // Taken once per function, at its first call: no cost worth avoiding.
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&lock);
  // RTLD_LOCAL: the library's symbols stay out of the global scope, where
  // they would stand in for the trampolines of the same names.
  if (!library->handle) library->handle = dlopen(library->soname, RTLD_NOW | RTLD_LOCAL);
  void *handle = library->handle;
  pthread_mutex_unlock(&lock);
  if (!handle) fail(library, "cannot load a shared library");
  dlerror();
  void *symbol = dlsym(handle, name);
  if (!symbol) fail(library, "cannot find a function in a shared library");
  return symbol;
}
