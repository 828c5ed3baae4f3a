/* A small cache keyed by file identity, and the sha256 of executables.
 * Rules:
 *  1. An entry is used only when dev, ino, size, mtime and ctime all match
 *     the file's fstat now: any write, truncate, chmod, chown or rename of
 *     the inode changes ctime, and a replaced file is another inode.
 *  2. A file whose mtime or ctime is within the racy window of now is not
 *     cached (a change inside the same timestamp tick would keep the key;
 *     git's "racily clean" problem).
 *  3. Bounded: VS_FCACHE_SLOTS entries, set-associative (hash of dev and
 *     ino picks a set of 4), least recently used evicted.
 *  4. Not thread-safe (vaultd is single-threaded). */
#include "peer_int.h"

#include "error.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAYS 4
#define SETS (VS_FCACHE_SLOTS / WAYS)
#define HASH_CHUNK (256u * 1024u)

static unsigned racy_window = 2;
static struct vs_fcache sha_cache;

void vs_peer_caches_set_racy_window(unsigned seconds)
{
    racy_window = seconds;
}

static size_t set_of(const struct vs_file_id *id)
{
    uint64_t h = (uint64_t)id->dev * 0x9e3779b97f4a7c15ull ^ (uint64_t)id->ino;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)(h % SETS) * WAYS;
}

const uint8_t *vs_fcache_get(struct vs_fcache *c, const struct vs_file_id *id)
{
    size_t base = set_of(id);
    for (size_t i = base; i < base + WAYS; i++) {
        struct vs_fcache_entry *e = &c->slot[i];
        if (e->used != 0 && vs_file_id_equal(&e->id, id)) {
            e->used = ++c->clock;
            c->hits++;
            return e->value;
        }
    }
    c->misses++;
    return NULL;
}

static bool is_racy(const struct vs_file_id *id)
{
    if (racy_window == 0)
        return false;
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0)
        return true;
    time_t newest = id->mtime.tv_sec > id->ctime.tv_sec ? id->mtime.tv_sec : id->ctime.tv_sec;
    /* A timestamp in the future is racy too. */
    return newest + (time_t)racy_window >= now.tv_sec;
}

void vs_fcache_put(struct vs_fcache *c, const struct vs_file_id *id, const uint8_t value[32])
{
    if (is_racy(id))
        return;
    size_t base = set_of(id);
    struct vs_fcache_entry *victim = NULL;
    for (size_t i = base; i < base + WAYS; i++) {
        struct vs_fcache_entry *e = &c->slot[i];
        if (e->used != 0 && e->id.dev == id->dev && e->id.ino == id->ino) {
            victim = e; /* an older version of the same inode */
            break;
        }
        if (victim == NULL || e->used < victim->used)
            victim = e;
    }
    victim->id = *id;
    memcpy(victim->value, value, sizeof victim->value);
    victim->used = ++c->clock;
}

void vs_fcache_stats(const struct vs_fcache *c, struct vs_cache_stats *st)
{
    st->hits = c->hits;
    st->misses = c->misses;
    st->entries = 0;
    for (size_t i = 0; i < VS_FCACHE_SLOTS; i++)
        if (c->slot[i].used != 0)
            st->entries++;
}

void vs_fcache_clear(struct vs_fcache *c)
{
    memset(c, 0, sizeof *c);
}

static int hash_fd(int fd, off_t size, uint8_t out[32])
{
    uint8_t *chunk = malloc(HASH_CHUNK);
    if (chunk == NULL)
        return vs_fail(VS_ENOMEM, "sha256: out of memory");
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    off_t off = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = pread(fd, chunk, HASH_CHUNK, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = vs_fail_errno(VS_EIO, "sha256: read executable");
            break;
        }
        if (n == 0)
            break;
        crypto_hash_sha256_update(&st, chunk, (unsigned long long)n);
        off += n;
        if (off > size) {
            rc = vs_fail(VS_EIO, "sha256: executable grew while being read");
            break;
        }
    }
    if (rc == 0 && off != size)
        rc = vs_fail(VS_EIO, "sha256: executable changed size while being read");
    crypto_hash_sha256_final(&st, out);
    free(chunk);
    return rc;
}

int vs_hash_cache_sha256(int fd, uint8_t out[32])
{
    struct stat before, after;
    if (fstat(fd, &before) != 0)
        return vs_fail_errno(VS_EIO, "sha256: fstat");
    if (!S_ISREG(before.st_mode))
        return vs_fail(VS_EINVAL, "sha256: not a regular file");
    struct vs_file_id id;
    vs_file_id_from_stat(&before, &id);
    const uint8_t *cached = vs_fcache_get(&sha_cache, &id);
    if (cached != NULL) {
        memcpy(out, cached, 32);
        return 0;
    }
    int rc = hash_fd(fd, before.st_size, out);
    if (rc != 0)
        return rc;
    if (fstat(fd, &after) != 0)
        return vs_fail_errno(VS_EIO, "sha256: fstat");
    struct vs_file_id id2;
    vs_file_id_from_stat(&after, &id2);
    if (!vs_file_id_equal(&id, &id2))
        return vs_fail(VS_EIO, "sha256: executable changed while being read");
    vs_fcache_put(&sha_cache, &id, out);
    return 0;
}

void vs_hash_cache_stats(struct vs_cache_stats *st)
{
    vs_fcache_stats(&sha_cache, st);
}

void vs_peer_caches_reset(void)
{
    vs_fcache_clear(&sha_cache);
    vs_trust_cache_clear();
}
