/* The open and fopen families. A managed credential path is served from its
 * sealed memfd inside a grant and does not exist (ENOENT) outside one, also
 * when a plaintext file lies at that path; an open for writing is EACCES
 * with one stderr line. Every other path goes straight to the real call.
 *
 * Rules this file keeps:
 *  1. Before vs_shim_ready() is true (another constructor, or the shim
 *     resolving itself) every call passes through.
 *  2. Unmanaged paths: vs_shim_path_suspect's basename filter only (no
 *     syscall, no PATH_MAX frame); errno is whatever the real function sets.
 *  3. glibc's fopen/freopen open through internal calls, not our hooks, so
 *     nothing here can recurse; paths.c raises vs_shim_guard around its
 *     own syscalls.
 *  4. Stateless but for the real symbols, resolved once each (an atomic
 *     pointer: a race resolves twice, harmlessly).
 * Built without _FORTIFY_SOURCE: its inline wrappers would clash with the
 * definitions of open and openat below. */
#undef _FORTIFY_SOURCE
#include "rawsys.h"
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


/* The fortified entry points (declared by glibc only with _FORTIFY_SOURCE). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef int (*creat_fn)(const char *, mode_t);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef FILE *(*freopen_fn)(const char *, const char *, FILE *);


static bool needs_mode(int flags)
{
    return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

static bool for_writing(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND)) != 0 ||
           (flags & O_TMPFILE) == O_TMPFILE;
}

static int refuse_write(const char *canon)
{
    vs_shim_say(canon, " is a managed credential file, served read-only;",
                " change its values with `vaultctl save NAME`");
    errno = EACCES;
    return -1;
}

/* The open of a managed path: its memfd inside a grant, else ENOENT. */
static int serve(const char *canon, int flags)
{
    if (for_writing(flags))
        return refuse_write(canon);
    int fd = vs_shim_managed_fd(canon, flags & O_CLOEXEC);
    if (fd >= 0 && (flags & O_DIRECTORY) != 0) {
        vs_close(fd);
        errno = ENOTDIR;
        return -1;
    }
    return fd;
}

/* The hooks' managed-path work, out of line: their own frames then hold no
 * PATH_MAX buffer (no stack probe, no canary) for the common, unmanaged
 * path. Each returns VS_PASS when the path is not managed after all. */
static __attribute__((noinline)) int open_managed(int dirfd, const char *path, int flags)
{
    char canon[PATH_MAX];
    if (!vs_shim_managed_path(dirfd, path, canon, sizeof canon))
        return VS_PASS;
    return serve(canon, flags);
}

static __attribute__((noinline)) int creat_managed(const char *path)
{
    char canon[PATH_MAX];
    if (!vs_shim_managed_path(AT_FDCWD, path, canon, sizeof canon))
        return VS_PASS;
    return refuse_write(canon);
}

#define OPEN_HOOK(name)                                                                       \
    VS_EXPORT int name(const char *path, int flags, ...)                                      \
    {                                                                                         \
        mode_t mode = 0;                                                                      \
        if (needs_mode(flags)) {                                                              \
            va_list ap;                                                                       \
            va_start(ap, flags);                                                              \
            mode = va_arg(ap, mode_t);                                                        \
            va_end(ap);                                                                       \
        }                                                                                     \
        int fd;                                                                               \
        if (vs_shim_suspect(path) && (fd = open_managed(AT_FDCWD, path, flags)) != VS_PASS)   \
            return fd;                                                                        \
        return REAL(open_fn, name)(path, flags, mode);                                        \
    }
OPEN_HOOK(open)
OPEN_HOOK(open64)

#define OPENAT_HOOK(name)                                                                     \
    VS_EXPORT int name(int dirfd, const char *path, int flags, ...)                           \
    {                                                                                         \
        mode_t mode = 0;                                                                      \
        if (needs_mode(flags)) {                                                              \
            va_list ap;                                                                       \
            va_start(ap, flags);                                                              \
            mode = va_arg(ap, mode_t);                                                        \
            va_end(ap);                                                                       \
        }                                                                                     \
        int fd;                                                                               \
        if (vs_shim_suspect(path) && (fd = open_managed(dirfd, path, flags)) != VS_PASS)      \
            return fd;                                                                        \
        return REAL(openat_fn, name)(dirfd, path, flags, mode);                               \
    }
OPENAT_HOOK(openat)
OPENAT_HOOK(openat64)

/* The fortified forms: the real one aborts on O_CREAT without a mode, so a
 * managed path with such flags still goes to it (it never opens). */
#define OPEN2_HOOK(name)                                                                      \
    VS_EXPORT int name(const char *path, int flags)                                           \
    {                                                                                         \
        int fd;                                                                               \
        if (!needs_mode(flags) && vs_shim_suspect(path) &&                                    \
            (fd = open_managed(AT_FDCWD, path, flags)) != VS_PASS)                            \
            return fd;                                                                        \
        return REAL(open2_fn, name)(path, flags);                                             \
    }
OPEN2_HOOK(__open_2)
OPEN2_HOOK(__open64_2)

#define OPENAT2_HOOK(name)                                                                    \
    VS_EXPORT int name(int dirfd, const char *path, int flags)                                \
    {                                                                                         \
        int fd;                                                                               \
        if (!needs_mode(flags) && vs_shim_suspect(path) &&                                    \
            (fd = open_managed(dirfd, path, flags)) != VS_PASS)                               \
            return fd;                                                                        \
        return REAL(openat2_fn, name)(dirfd, path, flags);                                    \
    }
OPENAT2_HOOK(__openat_2)
OPENAT2_HOOK(__openat64_2)

#define CREAT_HOOK(name)                                                                      \
    VS_EXPORT int name(const char *path, mode_t mode)                                         \
    {                                                                                         \
        int fd;                                                                               \
        if (vs_shim_suspect(path) && (fd = creat_managed(path)) != VS_PASS)                   \
            return fd;                                                                        \
        return REAL(creat_fn, name)(path, mode);                                              \
    }
CREAT_HOOK(creat)
CREAT_HOOK(creat64)

/* fopen's mode as open flags: "r" reads; "w", "a", "+" and "x" write; "e"
 * is O_CLOEXEC. Letters after the first are glibc's extensions. */
static int mode_flags(const char *mode)
{
    int flags = mode[0] == 'r' ? O_RDONLY : O_WRONLY | O_CREAT;
    for (const char *m = mode + 1; *m != '\0' && *m != ','; m++) {
        if (*m == '+')
            flags = (flags & ~O_ACCMODE) | O_RDWR;
        else if (*m == 'e')
            flags |= O_CLOEXEC;
        else if (*m == 'x')
            flags |= O_EXCL;
    }
    return flags;
}

static FILE *serve_stream(const char *canon, const char *mode)
{
    if (mode == NULL || (mode[0] != 'r' && mode[0] != 'w' && mode[0] != 'a')) {
        errno = EINVAL;
        return NULL;
    }
    int flags = mode_flags(mode);
    int fd = serve(canon, flags);
    if (fd < 0)
        return NULL;
    FILE *f = LAZY(fdopen)(fd, "r");
    if (f == NULL) {
        int e = errno;
        vs_close(fd);
        errno = e;
    }
    return f;
}

/* fopen's and freopen's VS_PASS: a FILE pointer no stream has. */
static char pass_stream_marker;
#define PASS_STREAM ((FILE *)(void *)&pass_stream_marker)

static __attribute__((noinline)) FILE *fopen_managed(const char *path, const char *mode)
{
    char canon[PATH_MAX];
    if (!vs_shim_managed_path(AT_FDCWD, path, canon, sizeof canon))
        return PASS_STREAM;
    return serve_stream(canon, mode);
}

#define FOPEN_HOOK(name)                                                                      \
    VS_EXPORT FILE *name(const char *path, const char *mode)                                  \
    {                                                                                         \
        FILE *f;                                                                              \
        if (vs_shim_suspect(path) && (f = fopen_managed(path, mode)) != PASS_STREAM)          \
            return f;                                                                         \
        return REAL(fopen_fn, name)(path, mode);                                              \
    }
FOPEN_HOOK(fopen)
FOPEN_HOOK(fopen64)

/* freopen of a managed path: like the real one, the stream is closed when
 * the open fails. Inside a grant the stream is reopened on the memfd
 * through /proc/self/fd (glibc keeps the stream's fd number). */
static FILE *reopen_managed(freopen_fn next, const char *canon, const char *mode, FILE *stream)
{
    if (mode == NULL || (mode[0] != 'r' && mode[0] != 'w' && mode[0] != 'a')) {
        errno = EINVAL;
        return NULL;
    }
    int flags = mode_flags(mode);
    int fd = serve(canon, flags);
    if (fd < 0) {
        int e = errno;
        (void)LAZY(fclose)(stream);
        errno = e;
        return NULL;
    }
    char proc[32];
    (void)vs_shim_fd_path(proc, sizeof proc, fd, NULL); /* 32 bytes hold any fd's */
    vs_shim_guard++;
    FILE *f = next(proc, (flags & O_CLOEXEC) != 0 ? "re" : "r", stream);
    vs_shim_guard--;
    int e = errno;
    vs_close(fd);
    errno = e;
    return f;
}

static __attribute__((noinline)) FILE *freopen_managed(freopen_fn next, const char *path, const char *mode,
                                                       FILE *stream)
{
    char canon[PATH_MAX];
    if (!vs_shim_managed_path(AT_FDCWD, path, canon, sizeof canon))
        return PASS_STREAM;
    return reopen_managed(next, canon, mode, stream);
}

#define FREOPEN_HOOK(name)                                                                    \
    VS_EXPORT FILE *name(const char *path, const char *mode, FILE *stream)                    \
    {                                                                                         \
        freopen_fn next = REAL(freopen_fn, name);                                             \
        FILE *f;                                                                              \
        if (vs_shim_suspect(path) && (f = freopen_managed(next, path, mode, stream)) != PASS_STREAM) \
            return f;                                                                         \
        return next(path, mode, stream);                                                      \
    }
FREOPEN_HOOK(freopen)
FREOPEN_HOOK(freopen64)
