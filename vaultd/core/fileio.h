/* Careful file access for the vault's own files.
 *
 * Rules this module keeps:
 *  1. Every file is opened relative to the vault folder's fd, with
 *     O_NOFOLLOW|O_CLOEXEC, and checked on the open fd (fstat), never by path.
 *  2. A vault file is refused unless it is a regular file owned by the
 *     effective uid (or root) with no group or other permission bits.
 *  3. Replacing a file is atomic and durable: temp file, write, fsync,
 *     rename, fsync of the folder. A failure at any step leaves the old file
 *     untouched and removes the temp file. */
#ifndef VS_FILEIO_H
#define VS_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Opens (and with create, makes: mode 0700, parents as needed) the folder
 * and checks it is a directory owned by the euid with mode 0700 or
 * stricter. Returns a directory fd or a negative code. */
int vs_open_private_dir(const char *path, int create);

/* Checks an open fd: regular file, owner euid or root, no bits in forbid
 * (e.g. 077 for secrets, 022 for config). what names it in the error. */
int vs_check_fd_safe(int fd, const char *what, mode_t forbid);

/* Reads a whole file below dirfd, at most max bytes (VS_ETOOBIG beyond).
 * The file must pass vs_check_fd_safe(forbid). *out is malloc'd. Returns
 * VS_ENOENT when the file does not exist. */
int vs_read_file_at(int dirfd, const char *name, const char *what, mode_t forbid, size_t max,
                    uint8_t **out, size_t *out_len);

/* Atomically replaces dirfd/name with data (mode 0600). */
int vs_write_file_atomic(int dirfd, const char *name, const void *data, size_t len);

/* The same; *replaced says whether the rename happened, so a caller can
 * undo a replacement whose folder fsync failed (the new file is in place
 * but not durable, and the caller was told it failed). */
int vs_write_file_atomic_ex(int dirfd, const char *name, const void *data, size_t len, bool *replaced);

/* Creates dirfd/name exclusively with mode and data, fsyncs file and folder.
 * On failure the partial file is removed. */
int vs_create_file_excl(int dirfd, const char *name, mode_t mode, const void *data, size_t len);

/* Writes all of len bytes, retrying on EINTR and short writes. */
int vs_write_all(int fd, const void *data, size_t len);
int vs_write_all_str(int fd, const char *text);

/* Takes an exclusive flock on dirfd/name (created 0600), waiting for other
 * writers. Returns the lock fd; closing it releases the lock. */
int vs_lock_file_at(int dirfd, const char *name);

/* Removes leftover temp files of interrupted writes (call under the lock). */
void vs_remove_stale_temps(int dirfd, const char *name);

#endif
