/* Fault injection for tests (LD_PRELOAD): the Nth call of one file-system
 * function fails with an errno, as a failing disk would make it fail; every
 * other call goes to libc. Standard fault injection, not a mock: the program
 * under test runs whole, only the kernel's answer to one call is changed.
 *
 *   VS_FAULT=FUNC:N[:ERRNO]   FUNC: write (writes to regular files only:
 *                             not the terminal or a pipe), fsync (fsync and
 *                             fdatasync), rename (rename, renameat,
 *                             renameat2); ERRNO: EIO (default), ENOSPC, EDQUOT
 *   VS_FAULT_REPORT=PATH      appends "FUNC N hit" when the fault fired, so
 *                             a test knows its Nth call happened at all
 *   VS_FAULT_WHILE=PATH       a disk that fails for a while: calls are
 *                             counted only while PATH exists, and the Nth
 *                             and every later one fail while it does (a
 *                             test creates and removes PATH)
 *
 * Built by the test that uses it (cc -shared -fPIC), not by the Makefile:
 * it lives apart from the helper programs in tests/helpers/. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum func { F_NONE, F_WRITE, F_FSYNC, F_RENAME };

static enum func fault_func = F_NONE;
static long fault_nth;
static int fault_errno = EIO;
static atomic_long calls;
static atomic_int parsed;
static const char *fault_while;

static void parse(void)
{
    if (atomic_exchange(&parsed, 1))
        return;
    const char *spec = getenv("VS_FAULT");
    if (spec == NULL)
        return;
    char name[16];
    char err[16] = "EIO";
    long n = 0;
    if (sscanf(spec, "%15[a-z]:%ld:%15[A-Z]", name, &n, err) < 2 || n < 1)
        return;
    if (strcmp(err, "ENOSPC") == 0)
        fault_errno = ENOSPC;
    else if (strcmp(err, "EDQUOT") == 0)
        fault_errno = EDQUOT;
    fault_nth = n;
    fault_while = getenv("VS_FAULT_WHILE");
    if (strcmp(name, "write") == 0)
        fault_func = F_WRITE;
    else if (strcmp(name, "fsync") == 0)
        fault_func = F_FSYNC;
    else if (strcmp(name, "rename") == 0)
        fault_func = F_RENAME;
}

static void report(const char *what)
{
    const char *path = getenv("VS_FAULT_REPORT");
    if (path == NULL)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char line[64];
    int len = snprintf(line, sizeof line, "%s %ld hit\n", what, fault_nth);
    /* libc's write, not ours: the fault has fired, no more counting */
    ssize_t (*real_write)(int, const void *, size_t) = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (real_write != NULL && len > 0)
        (void)real_write(fd, line, (size_t)len);
    close(fd);
}

/* true when this call is the one to fail */
static int fire(enum func f, const char *what)
{
    parse();
    if (fault_func != f)
        return 0;
    if (fault_while != NULL) {
        if (access(fault_while, F_OK) != 0 || atomic_fetch_add(&calls, 1) + 1 < fault_nth)
            return 0;
    } else if (atomic_fetch_add(&calls, 1) + 1 != fault_nth) {
        return 0;
    }
    report(what);
    errno = fault_errno;
    return 1;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

ssize_t write(int fd, const void *buf, size_t len)
{
    struct stat st;
    parse();
    if (fault_func == F_WRITE && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fire(F_WRITE, "write"))
        return -1;
    return REAL("write", ssize_t(*)(int, const void *, size_t))(fd, buf, len);
}

int fsync(int fd)
{
    if (fire(F_FSYNC, "fsync"))
        return -1;
    return REAL("fsync", int (*)(int))(fd);
}

int fdatasync(int fd)
{
    if (fire(F_FSYNC, "fdatasync"))
        return -1;
    return REAL("fdatasync", int (*)(int))(fd);
}

int rename(const char *from, const char *to)
{
    if (fire(F_RENAME, "rename"))
        return -1;
    return REAL("rename", int (*)(const char *, const char *))(from, to);
}

int renameat(int fromdir, const char *from, int todir, const char *to)
{
    if (fire(F_RENAME, "renameat"))
        return -1;
    return REAL("renameat", int (*)(int, const char *, int, const char *))(fromdir, from, todir, to);
}

int renameat2(int fromdir, const char *from, int todir, const char *to, unsigned flags)
{
    if (fire(F_RENAME, "renameat2"))
        return -1;
    return REAL("renameat2", int (*)(int, const char *, int, const char *, unsigned))(fromdir, from, todir, to, flags);
}
