/* The index writer: turns a loaded policy into the file the shim maps (see
 * common/index.h for the format). The file holds names, paths, device and
 * inode numbers; never a secret value, so it is published 0644. */
#ifndef VS_INDEX_WRITE_H
#define VS_INDEX_WRITE_H

#include "buf.h"
#include "policy.h"

#include <stdint.h>

/* Serialises p: NAMES = protect_exact (which holds every tool env name) plus
 * the built-in list; GLOBS = protect_glob; PATHS = every file's path;
 * TOOLS, REFS, INTERP, GRANTED from the tools with available == true.
 * out is initialised here (free it with vs_buf_free; on failure it is
 * already freed). Errors: VS_ENOMEM, VS_ETOOBIG (over VS_INDEX_MAX_BYTES or
 * a pattern over 65535 bytes), VS_EPOLICY (two tools with one key). */
/* flags: VS_INDEX_F_* for the header. */
int vs_index_build(const struct vs_policy *p, uint64_t generation, uint32_t flags, struct vs_buf *out);

/* Builds and atomically replaces dirfd/name (temp file, fsync, rename,
 * fsync of the folder), mode 0644 whatever the umask: the agent's shim must
 * read it. The folder must be readable by the agent's user; a vault folder
 * (0700) is not, in a deployment where vaultd has its own user. */
int vs_index_write(int dirfd, const char *name, const struct vs_policy *p, uint64_t generation,
                   uint32_t flags);

#endif
