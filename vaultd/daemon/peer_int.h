/* Internals shared by vaultd/daemon/peer*.c, trust.c and hashcache.c. Not
 * for other callers: the public API is peer.h. */
#ifndef VS_PEER_INT_H
#define VS_PEER_INT_H

#include "peer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* --- peer_proc.c: bounded /proc reads and parsers --- */

/* Reads dirfd/name whole, at most cap bytes (VS_ETOOBIG beyond: the detail
 * names what). *out is malloc'd and NUL-terminated after *len bytes. A
 * vanished process gives VS_EDENIED ("peer exited"). */
int vs_proc_read(int dirfd, const char *name, const char *what, size_t cap, char **out,
                 size_t *len);
/* A /proc file to hold and read again (vs_proc_read_fd reads from offset
 * 0 each time). Only files generated at read time (stat, status,
 * cmdline), never maps or environ. */
int vs_proc_open(int dirfd, const char *name, const char *what, int *fd);
int vs_proc_read_fd(int fd, const char *what, size_t cap, char **out, size_t *len);
/* Wipes len bytes of a buffer read above, then frees it. For cmdline and
 * environ: a peer started with a value in argv or its environment (the
 * audit log masks it) must not leave that value in vaultd's freed heap. */
void vs_proc_free(char *buf, size_t len);

/* The fields of /proc/PID/stat that vaultd uses. */
struct vs_proc_stat {
    char state;
    uint64_t starttime;
    uint64_t layout[VS_PEER_LAYOUT_FIELDS];
};
int vs_proc_parse_stat(const char *text, size_t len, struct vs_proc_stat *st);
int vs_proc_read_stat(int statfd, struct vs_proc_stat *st);

/* The value of "Key:" in /proc/PID/status text (NUL-terminated), or NULL;
 * *vlen is the length up to the end of the line. */
const char *vs_proc_status_field(const char *text, const char *key, size_t *vlen);
/* The field's value as a decimal number (may be negative: fdinfo's Pid is
 * -1 once the process exited); false when absent or not a number. */
bool vs_proc_status_number(const char *text, const char *key, long long *out);

/* Splits a cmdline block into p->argv/p->argc (caps: VS_PEER_MAX_ARGS).
 * Takes ownership of buf (len bytes plus a NUL at buf[len]). */
int vs_proc_split_argv(struct vs_peer *p, char *buf, size_t len);

/* readlinkat(dirfd, name) into a malloc'd string, at most PATH_MAX. */
int vs_proc_readlink(int dirfd, const char *name, char **out);

void vs_file_id_from_stat(const struct stat *st, struct vs_file_id *id);
bool vs_file_id_equal(const struct vs_file_id *a, const struct vs_file_id *b);

/* --- hashcache.c: a small LRU keyed by file identity --- */

#define VS_FCACHE_SLOTS 256

struct vs_fcache_entry {
    struct vs_file_id id;
    uint64_t used;  /* LRU stamp; 0 = empty slot */
    uint8_t value[32];
};

struct vs_fcache {
    struct vs_fcache_entry slot[VS_FCACHE_SLOTS];
    uint64_t clock;
    uint64_t hits;
    uint64_t misses;
};

/* The entry for exactly id (every field equal), or NULL; counts a hit or
 * a miss. */
const uint8_t *vs_fcache_get(struct vs_fcache *c, const struct vs_file_id *id);
/* Stores value for id unless the file changed within the racy window;
 * an older entry for the same (dev, ino) is replaced, else the least
 * recently used one. */
void vs_fcache_put(struct vs_fcache *c, const struct vs_file_id *id, const uint8_t value[32]);
void vs_fcache_stats(const struct vs_fcache *c, struct vs_cache_stats *st);
void vs_fcache_clear(struct vs_fcache *c);

/* --- trust.c --- */

/* As vs_path_trusted, and on success *final is the lstat of the resolved
 * file. */
int vs_path_trusted_stat(const char *path, uid_t vault_uid, struct stat *final);
void vs_trust_cache_clear(void);
/* The file at path (a mapping's path, already stat'ed into mapped and tied
 * to the mapping's dev/ino) is trusted for vault_uid; positive verdicts are
 * cached by mapped's identity. 0 or VS_EDENIED. */
int vs_trusted_mapping(const char *path, const struct stat *mapped, uid_t vault_uid);

/* --- peer.c --- */

/* The loader identities found by vs_peer_init; false when not initialised. */
bool vs_peer_is_loader(dev_t dev, ino_t ino, bool *initialised);
/* Our own user namespace (dev, ino of /proc/self/ns/user). */
int vs_peer_self_userns(dev_t *dev, ino_t *ino);

#endif
