// libarchive's functions that berth calls, loaded on first use (see
// lazy_library.h). Add a function here when Swift starts calling it: the
// link fails until then.
#include "carchive.h"
#include "lazy_library.h"

static struct berth_lazy_library libarchive = BERTH_LAZY_LIBRARY("libarchive.so.13", "libarchive13");

#define CALL(ret, name, params, args) BERTH_LAZY_FUNCTION(libarchive, ret, name, params, args)
#define CALL_VOID(name, params, args) BERTH_LAZY_VOID_FUNCTION(libarchive, name, params, args)
typedef struct archive A;
typedef struct archive_entry E;

// Reading.
CALL(A *, archive_read_new, (void), ())
CALL(int, archive_read_support_filter_all, (A *a), (a))
CALL(int, archive_read_support_format_raw, (A *a), (a))
CALL(int, archive_read_support_format_tar, (A *a), (a))
CALL(int, archive_read_open,
     (A *a, void *data, archive_open_callback *open, archive_read_callback *read,
      archive_close_callback *close),
     (a, data, open, read, close))
CALL(int, archive_read_open_filename, (A *a, const char *path, size_t block), (a, path, block))
CALL(int, archive_read_next_header, (A *a, E **entry), (a, entry))
CALL(la_ssize_t, archive_read_data, (A *a, void *buffer, size_t size), (a, buffer, size))
CALL(int, archive_read_data_block, (A *a, const void **buffer, size_t *size, la_int64_t *offset),
     (a, buffer, size, offset))
CALL(int, archive_read_free, (A *a), (a))

// Writing.
CALL(A *, archive_write_new, (void), ())
CALL(int, archive_write_set_format_pax_restricted, (A *a), (a))
CALL(int, archive_write_open_filename, (A *a, const char *path), (a, path))
CALL(int, archive_write_header, (A *a, E *entry), (a, entry))
CALL(la_ssize_t, archive_write_data, (A *a, const void *buffer, size_t size), (a, buffer, size))
CALL(int, archive_write_close, (A *a), (a))
CALL(int, archive_write_free, (A *a), (a))
CALL(const char *, archive_error_string, (A *a), (a))

// Entries.
CALL(E *, archive_entry_new, (void), ())
CALL_VOID(archive_entry_free, (E *e), (e))
CALL_VOID(archive_entry_copy_stat, (E *e, const struct stat *st), (e, st))
CALL(const char *, archive_entry_pathname, (E *e), (e))
CALL(const char *, archive_entry_hardlink, (E *e), (e))
CALL(const char *, archive_entry_symlink, (E *e), (e))
CALL(__LA_MODE_T, archive_entry_filetype, (E *e), (e))
CALL(__LA_MODE_T, archive_entry_perm, (E *e), (e))
CALL(la_int64_t, archive_entry_uid, (E *e), (e))
CALL(la_int64_t, archive_entry_gid, (E *e), (e))
CALL(la_int64_t, archive_entry_size, (E *e), (e))
CALL(time_t, archive_entry_mtime, (E *e), (e))
CALL(long, archive_entry_mtime_nsec, (E *e), (e))
CALL(dev_t, archive_entry_rdevmajor, (E *e), (e))
CALL(dev_t, archive_entry_rdevminor, (E *e), (e))
CALL_VOID(archive_entry_set_pathname, (E *e, const char *path), (e, path))
CALL_VOID(archive_entry_set_symlink, (E *e, const char *target), (e, target))
CALL_VOID(archive_entry_set_uid, (E *e, la_int64_t uid), (e, uid))
CALL_VOID(archive_entry_set_gid, (E *e, la_int64_t gid), (e, gid))
CALL_VOID(archive_entry_set_size, (E *e, la_int64_t size), (e, size))
CALL_VOID(archive_entry_set_mtime, (E *e, time_t seconds, long nanoseconds), (e, seconds, nanoseconds))
CALL_VOID(archive_entry_unset_atime, (E *e), (e))
CALL_VOID(archive_entry_unset_ctime, (E *e), (e))
CALL_VOID(archive_entry_unset_birthtime, (E *e), (e))
CALL(int, archive_entry_xattr_reset, (E *e), (e))
CALL(int, archive_entry_xattr_next, (E *e, const char **name, const void **value, size_t *size),
     (e, name, value, size))
