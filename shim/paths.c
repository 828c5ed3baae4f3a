/* Canonical absolute paths for the managed-path check, and the cheap filter
 * that keeps every other path away from it.
 *
 * Rules this file keeps (it runs inside open/stat hooks of every process):
 *  1. An unmanaged path costs a strlen and one bit test: its last two
 *     bytes against those of every managed path's basename (a 64-bit set).
 *     One that passes costs a memrchr and a look-up in a small table of the
 *     basenames (a length bit mask first). No syscall, no lock, no
 *     allocation. Only a path whose basename is the basename of some
 *     managed path is canonicalised.
 *  2. Canonical form: the parent folder resolved physically (openat O_PATH
 *     on the dirfd, then readlink of /proc/self/fd/N: ".", "..", "//" and
 *     symlinked folders all resolved by the kernel), then "/" and the last
 *     component, which is not followed. Without /proc: realpath(3) of the
 *     parent (only for absolute paths or AT_FDCWD).
 *  3. The last component. The policy names a path lexically ("~/.netrc"), so
 *     when ~/.netrc is itself a symlink (to a dotfiles folder), it is still
 *     the managed path: not following it is what keeps it managed. A symlink
 *     whose own basename is a managed basename (~/proj/.netrc ->
 *     ~/.netrc) is followed, up to 8 links, and is managed when it leads to
 *     a managed path. A symlink with another basename (/tmp/x -> ~/.netrc)
 *     is not seen: catching it would cost an lstat on every open. Nor is a
 *     hard link. Both only reach a plaintext file left on disk, which
 *     `vaultctl import` removes; the keys are never served through them.
 *  4. The policy's paths are lexical: when a managed path's folder is
 *     reached through a symlinked folder (HOME below a symlink), its physical
 *     form is computed once, on the first candidate, and is managed too.
 *  5. Syscalls made here (openat) run with vs_shim_guard raised, so our own
 *     syscall/openat hooks pass them through. errno is preserved.
 *  6. The filter is built once per process, from the index (read-only after
 *     vs_shim_ready). A thread that finds another one building it computes
 *     its answer without the cache, so there is no lock, and a fork in the
 *     middle of a build leaves nothing stuck.
 */
#include "shim.h"

#include "rawsys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BN_MAX 64    /* distinct basenames cached; more: every name is a candidate */
#define ALIAS_MAX 16 /* physical forms of managed paths below symlinked folders */
#define LINK_DEPTH 8

struct basename {
    const char *s;
    uint32_t len;
};

static struct {
    _Atomic int state; /* 0 not built, 1 being built, 2 built */
    bool all;          /* too many basenames: every name is a candidate */
    uint64_t len_mask; /* bit (len & 63) of every basename */
    uint64_t tail_mask; /* tail_bit of every basename's last two bytes */
    uint32_t n;
    struct basename names[BN_MAX];
} filt;

static struct {
    _Atomic int state;
    uint32_t n;
    char path[ALIAS_MAX][PATH_MAX];
} alias VS_COLD;

static uint64_t len_bit(size_t len)
{
    return (uint64_t)1 << (len & 63);
}

/* One of 64 bits for the last two bytes of a name ("/x" for a one-byte
 * name: a path ending in "x" then ends in "/x" or is "x"). */
static uint64_t tail_bit(unsigned char prev, unsigned char last)
{
    uint32_t h = ((uint32_t)prev << 8 | last) * UINT32_C(0x9e3779b1);
    return (uint64_t)1 << (h >> 26);
}

/* The basename of s[0..len): after the last '/'; "" for a trailing '/'. */
static const char *base_of(const char *s, size_t len, size_t *blen)
{
    const char *slash = memrchr(s, '/', len);
    const char *b = slash != NULL ? slash + 1 : s;
    *blen = (size_t)(s + len - b);
    return b;
}

/* Calls fn(path, len, ctx) for every managed path of the index. */
static void each_managed(void (*fn)(const char *, size_t, void *), void *ctx)
{
    const struct vs_index *idx = &vs_shim.index;
    for (uint32_t i = 0; i < idx->n_paths; i++) {
        uint32_t off = idx->paths[i].str;
        if (off != 0) {
            const char *s = idx->strings + off;
            fn(s, strlen(s), ctx);
        }
    }
}

static void add_basename(const char *s, size_t len, void *ctx)
{
    (void)ctx;
    size_t bl;
    const char *b = base_of(s, len, &bl);
    for (uint32_t i = 0; i < filt.n; i++)
        if (filt.names[i].len == bl && memcmp(filt.names[i].s, b, bl) == 0)
            return;
    if (filt.n == BN_MAX) {
        filt.all = true;
        return;
    }
    filt.names[filt.n].s = b;
    filt.names[filt.n].len = (uint32_t)bl;
    filt.n++;
    filt.len_mask |= len_bit(bl);
    if (bl != 0)
        filt.tail_mask |= tail_bit(bl >= 2 ? (unsigned char)b[bl - 2] : '/', (unsigned char)b[bl - 1]);
}

struct scan {
    const char *b;
    size_t bl;
    bool hit;
};

static void scan_basename(const char *s, size_t len, void *ctx)
{
    struct scan *sc = ctx;
    size_t bl;
    const char *b = base_of(s, len, &bl);
    if (bl == sc->bl && memcmp(b, sc->b, bl) == 0)
        sc->hit = true;
}

/* The filter's build and its unbuilt case, out of line so that the common
 * answer below needs no register saves. */
static __attribute__((noinline)) bool candidate_unbuilt(const char *b, size_t bl)
{
    int zero = 0;
    if (atomic_compare_exchange_strong(&filt.state, &zero, 1)) {
        each_managed(add_basename, NULL);
        atomic_store_explicit(&filt.state, 2, memory_order_release);
        return false; /* not decided: the caller looks in the built filter */
    }
    struct scan sc = {b, bl, false};
    each_managed(scan_basename, &sc);
    return sc.hit;
}

static __attribute__((noinline)) bool candidate_compare(const char *b, size_t bl)
{
    for (uint32_t i = 0; i < filt.n; i++)
        if (filt.names[i].len == bl && memcmp(filt.names[i].s, b, bl) == 0)
            return true;
    return filt.all;
}

/* Is b[0..bl) the basename of some managed path? Rule 1 and rule 6. */
static inline __attribute__((always_inline)) bool candidate(const char *b, size_t bl)
{
    if (bl == 0)
        return false;
    if (atomic_load_explicit(&filt.state, memory_order_acquire) != 2) {
        if (candidate_unbuilt(b, bl))
            return true;
        if (atomic_load_explicit(&filt.state, memory_order_acquire) != 2)
            return false; /* another thread is building: scanned in full above */
    }
    if ((filt.len_mask & len_bit(bl)) == 0)
        return filt.all;
    return candidate_compare(b, bl);
}

bool vs_shim_fd_path(char *out, size_t cap, int fd, const char *rest)
{
    static const char prefix[] = "/proc/self/fd/";
    char digits[12];
    size_t n = 0;
    unsigned v = fd < 0 ? 0u : (unsigned)fd;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    size_t rl = rest != NULL ? strlen(rest) : 0;
    size_t at = sizeof prefix - 1 + n;
    if (at + (rl != 0 ? 1 + rl : 0) >= cap)
        return false;
    vs_copy(out, prefix, sizeof prefix - 1);
    for (size_t i = 0; i < n; i++)
        out[sizeof prefix - 1 + i] = digits[n - 1 - i];
    if (rl != 0) {
        out[at++] = '/';
        vs_copy(out + at, rest, rl);
        at += rl;
    }
    out[at] = '\0';
    return true;
}

static long raw_openat(int dirfd, const char *path, int flags)
{
    vs_shim_guard++;
    long fd = vs_sys(SYS_openat, dirfd, path, flags, 0);
    vs_shim_guard--;
    return fd;
}

/* The physical absolute form of folder dir (relative to dirfd) into out. */
static bool physical_dir(int dirfd, const char *dir, char *out, size_t cap)
{
    long fd = raw_openat(dirfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char link[48];
    (void)vs_shim_fd_path(link, sizeof link, (int)fd, NULL); /* 48 bytes hold any fd's */
    ssize_t n = vs_readlink(link, out, cap);
    vs_close((int)fd);
    if (n > 0 && (size_t)n < cap && out[0] == '/') {
        out[n] = '\0';
        /* an unlinked folder reads "/x (deleted)": not a path */
        return !(n > 10 && memcmp(out + n - 10, " (deleted)", 10) == 0);
    }
    if (n >= 0 || (dir[0] != '/' && dirfd != AT_FDCWD) || cap < PATH_MAX)
        return false;
    /* No /proc: realpath works from the cwd, so not for another dirfd. */
    vs_shim_guard++;
    char *r = realpath(dir, out);
    vs_shim_guard--;
    return r != NULL;
}

static bool join(char *out, size_t cap, const char *dir, const char *b, size_t bl)
{
    size_t dl = strlen(dir);
    if (dl == 1 && dir[0] == '/')
        dl = 0;
    if (dl + 1 + bl + 1 > cap)
        return false;
    memmove(out, dir, dl);
    out[dl] = '/';
    vs_copy(out + dl + 1, b, bl);
    out[dl + 1 + bl] = '\0';
    return true;
}

bool vs_shim_canonical(int dirfd, const char *path, char *out, size_t cap)
{
    if (path == NULL || path[0] == '\0' || out == NULL || cap < 2)
        return false;
    int saved = errno;
    size_t len = strlen(path), bl;
    const char *b = base_of(path, len, &bl);
    bool ok;
    char dir[PATH_MAX];
    if (bl == 0 || (bl == 1 && b[0] == '.') || (bl == 2 && b[0] == '.' && b[1] == '.')) {
        /* a folder ("x/", "x/.", "x/.."): resolved as a whole */
        ok = physical_dir(dirfd, path, out, cap);
    } else {
        size_t pl = (size_t)(b - path); /* the parent with its trailing '/' */
        if (pl >= sizeof dir) {
            errno = saved;
            return false;
        }
        if (pl == 0) {
            dir[0] = '.';
            dir[1] = '\0';
        } else {
            vs_copy(dir, path, pl);
            dir[pl] = '\0';
        }
        ok = physical_dir(dirfd, dir, dir, sizeof dir) && join(out, cap, dir, b, bl);
    }
    errno = saved;
    return ok;
}

static void add_alias(const char *s, size_t len, void *ctx)
{
    (void)ctx;
    char canon[PATH_MAX];
    if (alias.n < ALIAS_MAX && vs_shim_canonical(AT_FDCWD, s, canon, sizeof canon) &&
        (strlen(canon) != len || memcmp(canon, s, len) != 0))
        vs_copy(alias.path[alias.n++], canon, strlen(canon) + 1);
}

struct alias_scan {
    const char *canon;
    bool hit;
};

static void scan_alias(const char *s, size_t len, void *ctx)
{
    struct alias_scan *sc = ctx;
    char canon[PATH_MAX];
    if (!sc->hit && vs_shim_canonical(AT_FDCWD, s, canon, sizeof canon) &&
        (strlen(canon) != len || memcmp(canon, s, len) != 0) && strcmp(canon, sc->canon) == 0)
        sc->hit = true;
}

/* Is canon the physical form of a managed path below a symlinked folder? */
static bool is_alias(const char *canon)
{
    int st = atomic_load_explicit(&alias.state, memory_order_acquire);
    if (st != 2) {
        int zero = 0;
        if (st == 0 && atomic_compare_exchange_strong(&alias.state, &zero, 1)) {
            each_managed(add_alias, NULL);
            atomic_store_explicit(&alias.state, 2, memory_order_release);
        } else {
            struct alias_scan sc = {canon, false};
            each_managed(scan_alias, &sc);
            return sc.hit;
        }
    }
    for (uint32_t i = 0; i < alias.n; i++)
        if (strcmp(alias.path[i], canon) == 0)
            return true;
    return false;
}

bool vs_shim_path_managed(const char *canon)
{
    if (canon == NULL || !vs_shim.have_index || vs_shim.index.n_paths == 0)
        return false;
    return vs_index_path_managed(&vs_shim.index, canon) || is_alias(canon);
}

/* canon is not managed: is its last component a symlink that leads (through
 * links whose basenames are managed basenames, rule 3) to a managed path? */
static bool link_to_managed(char *canon, size_t cap)
{
    char target[PATH_MAX], next[PATH_MAX];
    for (int depth = 0; depth < LINK_DEPTH; depth++) {
        ssize_t n = vs_readlink(canon, target, sizeof target);
        if (n <= 0 || (size_t)n >= sizeof target)
            return false;
        target[n] = '\0';
        if (target[0] != '/') { /* relative to the link's folder */
            size_t cl = strlen(canon), bl;
            const char *b = base_of(canon, cl, &bl);
            size_t pl = (size_t)(b - canon);
            if (pl + (size_t)n + 1 > sizeof next)
                return false;
            vs_copy(next, canon, pl);
            vs_copy(next + pl, target, (size_t)n + 1);
            vs_copy(target, next, pl + (size_t)n + 1);
        }
        size_t tl = strlen(target), tbl;
        const char *tb = base_of(target, tl, &tbl);
        if (!candidate(tb, tbl) || !vs_shim_canonical(AT_FDCWD, target, next, sizeof next) ||
            strlen(next) >= cap)
            return false;
        vs_copy(canon, next, strlen(next) + 1);
        if (vs_shim_path_managed(canon))
            return true;
    }
    return false;
}

static bool index_managed(int dirfd, const char *path, char *canon, size_t cap)
{
    if (path == NULL || !vs_shim.have_index || vs_shim.index.n_paths == 0)
        return false;
    size_t len = strlen(path), bl;
    const char *b = base_of(path, len, &bl);
    if (!candidate(b, bl))
        return false;
    int saved = errno;
    bool managed = vs_shim_canonical(dirfd, path, canon, cap) &&
                   (vs_shim_path_managed(canon) || link_to_managed(canon, cap));
    errno = saved;
    return managed;
}

/* Rule 1's first step: can path[0..len) end in a managed basename? Only
 * an answer once the filter is built and holds every basename; false
 * answers "maybe". A path whose basename is b ends in b's last two bytes
 * ("/x" or just "x" for a one-byte b), so no managed path is rejected. */
static inline __attribute__((always_inline)) bool tail_rejects(const char *path, size_t len)
{
    if (atomic_load_explicit(&filt.state, memory_order_acquire) != 2 || filt.all)
        return false;
    if (len == 0)
        return true; /* no basename: candidate() says no as well */
    unsigned char prev = len >= 2 ? (unsigned char)path[len - 2] : '/';
    return (filt.tail_mask & tail_bit(prev, (unsigned char)path[len - 1])) == 0;
}

/* The basename's look-ups, out of line: the common answer above them
 * saves no register for them. */
static __attribute__((noinline)) bool suspect_by_basename(const char *path, size_t len,
                                                          bool maybe_managed)
{
    size_t bl;
    const char *b = base_of(path, len, &bl);
    return (maybe_managed && candidate(b, bl)) || vs_shim_hide_candidate(b, bl);
}

bool vs_shim_path_suspect(const char *path)
{
    if (path == NULL)
        return false;
    size_t len = strlen(path);
    bool maybe_managed = vs_shim.have_index && vs_shim.index.n_paths != 0 && !tail_rejects(path, len);
    if (!maybe_managed && !vs_shim_hide_any())
        return false;
    return suspect_by_basename(path, len, maybe_managed);
}

bool vs_shim_managed_path(int dirfd, const char *path, char *canon, size_t cap)
{
    /* A hidden path is never a served file, so the hooks answer ENOENT. */
    return index_managed(dirfd, path, canon, cap) || vs_shim_hidden(dirfd, path, canon, cap);
}
