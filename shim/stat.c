/* The stat and access families, statx, and syscall(2) for SYS_statx,
 * SYS_newfstatat and SYS_openat. A managed credential path is, inside a
 * grant, a regular 0600 file of the rendered size owned by the process's
 * uid (device, inode and times are its memfd's, so stat and fstat agree);
 * outside a grant it does not exist (ENOENT), whatever is on disk.
 *
 * Rules this file keeps:
 *  1. Before vs_shim_ready() is true every call passes through.
 *  2. Unmanaged paths cost the basename filter of paths.c (no syscall, no
 *     PATH_MAX frame).
 *  3. The syscall hook forwards every other number, and every call made
 *     while vs_shim_guard is raised (paths.c's own openat, the index
 *     reader's raw calls), with six long arguments, unchanged.
 *  4. The old __xstat names are glibc's x86-64 ABI (_STAT_VER 1: the
 *     struct stat of today); other versions pass through.
 *  5. access with W_OK or X_OK on a managed path is EACCES: the file is
 *     served read-only. */
#undef _FORTIFY_SOURCE
#include "rawsys.h"
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>


/* The pre-2.33 names (no longer declared by glibc's headers). */
int __xstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);
int eaccess(const char *path, int mode);


/* The stat of a managed path into *st: 0, or -1 with ENOENT outside the
 * grants. */
static int managed_stat(const char *canon, struct stat *st)
{
    int saved = errno;
    long long size = vs_shim_managed_size(canon);
    if (size < 0)
        return -1;
    int fd = vs_shim_managed_fd(canon, O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = vs_fstat(fd, st);
    vs_close(fd);
    if (rc != 0) {
        errno = ENOENT;
        return -1;
    }
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    st->st_uid = vs_getuid();
    st->st_gid = vs_getgid();
    st->st_size = (off_t)size;
    st->st_blocks = (blkcnt_t)((size + 511) / 512);
    errno = saved;
    return 0;
}

static int managed_stat64(const char *canon, struct stat64 *st)
{
    struct stat s;
    if (managed_stat(canon, &s) != 0)
        return -1;
    memset(st, 0, sizeof *st);
    st->st_dev = s.st_dev;
    st->st_ino = s.st_ino;
    st->st_mode = s.st_mode;
    st->st_nlink = s.st_nlink;
    st->st_uid = s.st_uid;
    st->st_gid = s.st_gid;
    st->st_rdev = s.st_rdev;
    st->st_size = s.st_size;
    st->st_blksize = s.st_blksize;
    st->st_blocks = s.st_blocks;
    st->st_atim = s.st_atim;
    st->st_mtim = s.st_mtim;
    st->st_ctim = s.st_ctim;
    return 0;
}

static void ts_to_statx(struct statx_timestamp *t, struct timespec ts)
{
    t->tv_sec = ts.tv_sec;
    t->tv_nsec = (uint32_t)ts.tv_nsec;
}

static int managed_statx(const char *canon, struct statx *sx)
{
    struct stat s;
    if (managed_stat(canon, &s) != 0)
        return -1;
    memset(sx, 0, sizeof *sx);
    sx->stx_mask = STATX_BASIC_STATS;
    sx->stx_blksize = (uint32_t)s.st_blksize;
    sx->stx_nlink = (uint32_t)s.st_nlink;
    sx->stx_uid = s.st_uid;
    sx->stx_gid = s.st_gid;
    sx->stx_mode = (uint16_t)s.st_mode;
    sx->stx_ino = s.st_ino;
    sx->stx_size = (uint64_t)s.st_size;
    sx->stx_blocks = (uint64_t)s.st_blocks;
    ts_to_statx(&sx->stx_atime, s.st_atim);
    ts_to_statx(&sx->stx_ctime, s.st_ctim);
    ts_to_statx(&sx->stx_mtime, s.st_mtim);
    sx->stx_dev_major = major(s.st_dev);
    sx->stx_dev_minor = minor(s.st_dev);
    return 0;
}

/* The hooks' managed-path work, out of line: their own frames then hold no
 * PATH_MAX buffer (no stack probe, no canary) for the common, unmanaged
 * path. Each returns VS_PASS when the path is not managed after all. */
#define MANAGED_AT(fn, st_t, serve)                                                           \
    static __attribute__((noinline)) int fn(int dirfd, const char *path, st_t *st)            \
    {                                                                                         \
        char canon[PATH_MAX];                                                                 \
        if (!vs_shim_managed_path(dirfd, path, canon, sizeof canon))                          \
            return VS_PASS;                                                                   \
        return serve(canon, st);                                                              \
    }
MANAGED_AT(stat_managed, struct stat, managed_stat)
MANAGED_AT(stat64_managed, struct stat64, managed_stat64)
MANAGED_AT(statx_managed, struct statx, managed_statx)

/* --- stat, lstat, fstatat and the *64 forms: the same answer for a managed
 * path (lstat included: the path, not a link, is what the policy names). */
#define STAT_HOOK(name, st_t, slow)                                                           \
    VS_EXPORT int name(const char *path, st_t *st)                                            \
    {                                                                                         \
        int rc;                                                                               \
        if (vs_shim_suspect(path) && (rc = slow(AT_FDCWD, path, st)) != VS_PASS)              \
            return rc;                                                                        \
        return REAL(int (*)(const char *, st_t *), name)(path, st);                           \
    }
STAT_HOOK(stat, struct stat, stat_managed)
STAT_HOOK(lstat, struct stat, stat_managed)
STAT_HOOK(stat64, struct stat64, stat64_managed)
STAT_HOOK(lstat64, struct stat64, stat64_managed)

#define FSTATAT_HOOK(name, st_t, slow)                                                        \
    VS_EXPORT int name(int dirfd, const char *path, st_t *st, int flags)                      \
    {                                                                                         \
        int rc;                                                                               \
        if (vs_shim_suspect(path) && (rc = slow(dirfd, path, st)) != VS_PASS)                 \
            return rc;                                                                        \
        return REAL(int (*)(int, const char *, st_t *, int), name)(dirfd, path, st, flags);   \
    }
FSTATAT_HOOK(fstatat, struct stat, stat_managed)
FSTATAT_HOOK(fstatat64, struct stat64, stat64_managed)

#define XSTAT_VER 1 /* _STAT_VER_LINUX on x86-64 */
#define XSTAT_HOOK(name, st_t, slow)                                                          \
    VS_EXPORT int name(int ver, const char *path, st_t *st)                                   \
    {                                                                                         \
        int rc;                                                                               \
        if (ver == XSTAT_VER && vs_shim_suspect(path) &&                                      \
            (rc = slow(AT_FDCWD, path, st)) != VS_PASS)                                       \
            return rc;                                                                        \
        return REAL(int (*)(int, const char *, st_t *), name)(ver, path, st);                 \
    }
XSTAT_HOOK(__xstat, struct stat, stat_managed)
XSTAT_HOOK(__lxstat, struct stat, stat_managed)
XSTAT_HOOK(__xstat64, struct stat64, stat64_managed)
XSTAT_HOOK(__lxstat64, struct stat64, stat64_managed)

#define FXSTATAT_HOOK(name, st_t, slow)                                                       \
    VS_EXPORT int name(int ver, int dirfd, const char *path, st_t *st, int flags)             \
    {                                                                                         \
        int rc;                                                                               \
        if (ver == XSTAT_VER && vs_shim_suspect(path) && (rc = slow(dirfd, path, st)) != VS_PASS) \
            return rc;                                                                        \
        return REAL(int (*)(int, int, const char *, st_t *, int), name)(ver, dirfd, path, st, \
                                                                        flags);               \
    }
FXSTATAT_HOOK(__fxstatat, struct stat, stat_managed)
FXSTATAT_HOOK(__fxstatat64, struct stat64, stat64_managed)

VS_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *sx)
{
    int rc;
    if (vs_shim_suspect(path) && (rc = statx_managed(dirfd, path, sx)) != VS_PASS)
        return rc;
    return REAL(int (*)(int, const char *, int, unsigned int, struct statx *), statx)(
        dirfd, path, flags, mask, sx);
}

/* --- access family */
static int managed_access(const char *canon, int mode)
{
    int saved = errno;
    if (vs_shim_managed_size(canon) < 0)
        return -1;
    if ((mode & (W_OK | X_OK)) != 0) {
        errno = EACCES;
        return -1;
    }
    errno = saved;
    return 0;
}

static __attribute__((noinline)) int access_managed(int dirfd, const char *path, int mode)
{
    char canon[PATH_MAX];
    if (!vs_shim_managed_path(dirfd, path, canon, sizeof canon))
        return VS_PASS;
    return managed_access(canon, mode);
}

#define ACCESS_HOOK(name)                                                                     \
    VS_EXPORT int name(const char *path, int mode)                                            \
    {                                                                                         \
        int rc;                                                                               \
        if (vs_shim_suspect(path) && (rc = access_managed(AT_FDCWD, path, mode)) != VS_PASS)  \
            return rc;                                                                        \
        return REAL(int (*)(const char *, int), name)(path, mode);                            \
    }
ACCESS_HOOK(access)
ACCESS_HOOK(eaccess)
ACCESS_HOOK(euidaccess)

VS_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
    int rc;
    if (vs_shim_suspect(path) && (rc = access_managed(dirfd, path, mode)) != VS_PASS)
        return rc;
    return REAL(int (*)(int, const char *, int, int), faccessat)(dirfd, path, mode, flags);
}

/* --- syscall(2): node's libuv calls statx this way; glibc's own wrappers
 * do not come through here. */
typedef long (*syscall_fn)(long, ...);

static int serve_open_raw(const char *canon, int flags)
{
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND)) != 0) {
        vs_shim_say(canon, " is a managed credential file, served read-only;",
                    " change its values with `vaultctl save NAME`");
        errno = EACCES;
        return -1;
    }
    return vs_shim_managed_fd(canon, flags & O_CLOEXEC);
}

static __attribute__((noinline)) long syscall_managed(long number, const long a[6])
{
    char canon[PATH_MAX];
    if (!vs_shim_managed_path((int)a[0], (const char *)a[1], canon, sizeof canon))
        return VS_PASS;
    if (number == SYS_statx)
        return managed_statx(canon, (struct statx *)a[4]);
    if (number == SYS_newfstatat)
        return managed_stat(canon, (struct stat *)a[2]);
    return serve_open_raw(canon, (int)a[2]);
}

VS_EXPORT long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    syscall_fn next = REAL(syscall_fn, syscall);
    if (number == SYS_vfork || number == SYS_clone || number == SYS_clone3)
        vs_exec_resolve(); /* the child may share our memory (fork.c) */
    if ((number == SYS_statx || number == SYS_newfstatat || number == SYS_openat) &&
        vs_shim_guard == 0 && vs_shim_suspect((const char *)a[1])) {
        long rc = syscall_managed(number, a);
        if (rc != VS_PASS)
            return rc;
    }
    return next(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
