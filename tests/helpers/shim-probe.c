/* Test helper: goes through every file entry point the shim hooks for one
 * path and prints one line per entry point, never the content:
 *   "<entry> ok <sha256> <size> <mode>"  an open/fopen that read the file
 *                                         (mode: fstat of the fd, octal)
 *   "<entry> ok <type> <mode> <size> <uid-is-mine>"  a stat-family call
 *   "<entry> ok"                         an access-family call that passed
 *   "<entry> <ERRNO-NAME>"               a call that failed (ENOENT, ...)
 * Usage: shim-probe [--write] [--dirfd DIR] PATH
 *   --write   the write entry points instead (open O_WRONLY, O_RDWR,
 *             O_CREAT, O_TRUNC, creat, fopen "w"/"a"/"r+", ...): only ever
 *             run it on a managed path or a scratch file.
 *   --dirfd   the *at entry points get an fd of DIR and PATH relative to it
 *             (the others still get PATH as given).
 * Built by the Makefile (with -D_FORTIFY_SOURCE=2) and, by the shim_files
 * test, with cc in the other variants (-D_FILE_OFFSET_BITS=64, and without
 * fortification), so every glibc alias is reached: self-contained, libc
 * only (its own SHA-256). Flags are passed through a volatile so that the
 * fortified open() takes __open_2. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __xstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

/* --- SHA-256 (FIPS 180-4), small and slow: files here are tiny. */
struct sha {
    uint32_t h[8];
    uint8_t buf[64];
    uint64_t len;
};
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(struct sha *s, const uint8_t *p)
{
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, s->h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25)) +
                      ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i];
        uint32_t t2 = (ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22)) +
                      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        s->h[i] += v[i];
}

static void sha_init(struct sha *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
}

static void sha_update(struct sha *s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s->buf[s->len++ % 64] = p[i];
        if (s->len % 64 == 0)
            sha_block(s, s->buf);
    }
}

static void sha_hex(struct sha *s, char out[65])
{
    uint64_t bits = s->len * 8;
    uint8_t pad = 0x80, zero = 0, lenb[8];
    sha_update(s, &pad, 1);
    while (s->len % 64 != 56)
        sha_update(s, &zero, 1);
    for (int i = 0; i < 8; i++)
        lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha_update(s, lenb, 8);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", s->h[i]);
}

/* --- output */
static const char *errname(int e)
{
    switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case EINVAL: return "EINVAL";
    case EEXIST: return "EEXIST";
    case EBADF: return "EBADF";
    default: return "EOTHER";
    }
}

static void fail(const char *entry)
{
    printf("%s %s\n", entry, errname(errno));
}

/* Reads fd to its end, closes it (unless keep), prints digest and mode. */
static void report_fd(const char *entry, int fd, int want_cloexec)
{
    if (fd < 0) {
        fail(entry);
        return;
    }
    struct sha s;
    sha_init(&s);
    uint8_t buf[4096];
    ssize_t n;
    size_t total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        sha_update(&s, buf, (size_t)n);
        total += (size_t)n;
    }
    memset(buf, 0, sizeof buf);
    struct stat st;
    int fstat_ok = fstat(fd, &st) == 0;
    int fdflags = fcntl(fd, F_GETFD);
    char hex[65];
    sha_hex(&s, hex);
    printf("%s %s %s %zu %o%s\n", entry, n < 0 ? "readerr" : "ok", hex, total,
           fstat_ok ? (unsigned)st.st_mode : 0u,
           want_cloexec ? ((fdflags & FD_CLOEXEC) ? " cloexec" : " no-cloexec") : "");
}

static void report_stream(const char *entry, FILE *f, int want_cloexec)
{
    if (f == NULL) {
        fail(entry);
        return;
    }
    report_fd(entry, dup(fileno(f)), 0);
    if (want_cloexec) {
        int fl = fcntl(fileno(f), F_GETFD);
        printf("%s-flags %s\n", entry, (fl & FD_CLOEXEC) ? "cloexec" : "no-cloexec");
    }
    fclose(f);
}

static void report_stat(const char *entry, int rc, mode_t mode, long long size, uid_t uid)
{
    if (rc != 0) {
        fail(entry);
        return;
    }
    printf("%s ok %s %o %lld %s\n", entry, S_ISREG(mode) ? "reg" : S_ISLNK(mode) ? "lnk" : "other",
           (unsigned)(mode & 07777), size, uid == getuid() ? "mine" : "other-uid");
}

#define STAT_CALL(entry, type, call)                                                          \
    do {                                                                                      \
        type st_;                                                                             \
        memset(&st_, 0, sizeof st_);                                                          \
        errno = 0;                                                                            \
        int rc_ = (call);                                                                     \
        report_stat(entry, rc_, st_.st_mode, (long long)st_.st_size, st_.st_uid);             \
    } while (0)

#define ACCESS_CALL(entry, call)                                                              \
    do {                                                                                      \
        if ((call) == 0)                                                                      \
            printf("%s ok\n", entry);                                                         \
        else                                                                                  \
            fail(entry);                                                                      \
    } while (0)

static volatile int RD = O_RDONLY; /* not a constant: fortified open() takes __open_2 */

static void reads(const char *path, int dfd, const char *rel)
{
    int rd = RD;
    report_fd("open", open(path, rd), 0);
    report_fd("open-cloexec", open(path, rd | O_CLOEXEC), 1);
    report_fd("open64", open64(path, rd), 0);
    report_fd("openat", openat(dfd, rel, rd), 0);
    report_fd("openat-cloexec", openat(dfd, rel, rd | O_CLOEXEC), 1);
    report_fd("openat64", openat64(dfd, rel, rd), 0);
    report_fd("__open_2", __open_2(path, rd), 0);
    report_fd("__open64_2", __open64_2(path, rd), 0);
    report_fd("__openat_2", __openat_2(dfd, rel, rd), 0);
    report_fd("__openat64_2", __openat64_2(dfd, rel, rd), 0);
    report_fd("syscall-openat", (int)syscall(SYS_openat, dfd, rel, rd | O_CLOEXEC, 0), 1);
    report_stream("fopen", fopen(path, "r"), 0);
    report_stream("fopen-e", fopen(path, "re"), 1);
    report_stream("fopen64", fopen64(path, "r"), 0);
    FILE *f = fopen("/dev/null", "r");
    report_stream("freopen", f != NULL ? freopen(path, "r", f) : NULL, 0);
    f = fopen("/dev/null", "r");
    report_stream("freopen64", f != NULL ? freopen64(path, "r", f) : NULL, 0);

    uid_t me = getuid();
    (void)me;
    STAT_CALL("stat", struct stat, stat(path, &st_));
    STAT_CALL("lstat", struct stat, lstat(path, &st_));
    STAT_CALL("fstatat", struct stat, fstatat(dfd, rel, &st_, 0));
    STAT_CALL("fstatat-nofollow", struct stat, fstatat(dfd, rel, &st_, AT_SYMLINK_NOFOLLOW));
    STAT_CALL("stat64", struct stat64, stat64(path, &st_));
    STAT_CALL("lstat64", struct stat64, lstat64(path, &st_));
    STAT_CALL("fstatat64", struct stat64, fstatat64(dfd, rel, &st_, 0));
    STAT_CALL("__xstat", struct stat, __xstat(1, path, &st_));
    STAT_CALL("__lxstat", struct stat, __lxstat(1, path, &st_));
    STAT_CALL("__fxstatat", struct stat, __fxstatat(1, dfd, rel, &st_, 0));
    STAT_CALL("__xstat64", struct stat64, __xstat64(1, path, &st_));
    STAT_CALL("__lxstat64", struct stat64, __lxstat64(1, path, &st_));
    STAT_CALL("__fxstatat64", struct stat64, __fxstatat64(1, dfd, rel, &st_, 0));
    STAT_CALL("syscall-newfstatat", struct stat, (int)syscall(SYS_newfstatat, dfd, rel, &st_, 0));
    {
        struct statx sx;
        memset(&sx, 0, sizeof sx);
        int rc = statx(dfd, rel, 0, STATX_BASIC_STATS, &sx);
        report_stat("statx", rc, sx.stx_mode, (long long)sx.stx_size, sx.stx_uid);
        memset(&sx, 0, sizeof sx);
        rc = (int)syscall(SYS_statx, dfd, rel, 0, STATX_BASIC_STATS, &sx);
        report_stat("syscall-statx", rc, sx.stx_mode, (long long)sx.stx_size, sx.stx_uid);
    }
    ACCESS_CALL("access", access(path, R_OK));
    ACCESS_CALL("access-F_OK", access(path, F_OK));
    ACCESS_CALL("faccessat", faccessat(dfd, rel, R_OK, 0));
    ACCESS_CALL("faccessat-eaccess", faccessat(dfd, rel, R_OK, AT_EACCESS));
    ACCESS_CALL("eaccess", eaccess(path, R_OK));
    ACCESS_CALL("euidaccess", euidaccess(path, R_OK));
    /* a syscall number the shim does not look at still works */
    printf("syscall-getpid %s\n", syscall(SYS_getpid) == getpid() ? "ok" : "wrong");
}

static void writes(const char *path, int dfd, const char *rel)
{
    volatile int wr = O_WRONLY;
    report_fd("open-wronly", open(path, wr), 0);
    report_fd("open-rdwr", open(path, O_RDWR), 0);
    report_fd("open-creat", open(path, O_RDONLY | O_CREAT, 0600), 0);
    report_fd("open-trunc", open(path, O_RDONLY | O_TRUNC), 0);
    report_fd("open64-wronly", open64(path, O_WRONLY), 0);
    report_fd("openat-wronly", openat(dfd, rel, O_WRONLY), 0);
    report_fd("openat64-creat", openat64(dfd, rel, O_WRONLY | O_CREAT, 0600), 0);
    report_fd("__open_2-wronly", __open_2(path, O_WRONLY), 0);
    report_fd("__open64_2-rdwr", __open64_2(path, O_RDWR), 0);
    report_fd("__openat_2-wronly", __openat_2(dfd, rel, O_WRONLY), 0);
    report_fd("__openat64_2-wronly", __openat64_2(dfd, rel, O_WRONLY), 0);
    report_fd("creat", creat(path, 0600), 0);
    report_fd("creat64", creat64(path, 0600), 0);
    report_fd("syscall-openat-wronly", (int)syscall(SYS_openat, dfd, rel, O_WRONLY, 0), 0);
    report_stream("fopen-w", fopen(path, "w"), 0);
    report_stream("fopen-a", fopen(path, "a"), 0);
    report_stream("fopen-r+", fopen(path, "r+"), 0);
    report_stream("fopen64-w", fopen64(path, "w"), 0);
    FILE *f = fopen("/dev/null", "r");
    report_stream("freopen-w", f != NULL ? freopen(path, "w", f) : NULL, 0);
    f = fopen("/dev/null", "r");
    report_stream("freopen64-a", f != NULL ? freopen64(path, "a", f) : NULL, 0);
    ACCESS_CALL("access-W_OK", access(path, W_OK));
}

int main(int argc, char **argv)
{
    int write_mode = 0, dfd = AT_FDCWD, i = 1;
    const char *dir = NULL;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--write") == 0)
            write_mode = 1;
        else if (strcmp(argv[i], "--dirfd") == 0 && i + 1 < argc)
            dir = argv[++i];
    }
    if (i + 1 != argc) {
        fprintf(stderr, "usage: shim-probe [--write] [--dirfd DIR] PATH\n");
        return 2;
    }
    const char *path = argv[i];
    if (dir != NULL && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        perror(dir);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (write_mode)
        writes(path, dfd, path);
    else
        reads(path, dfd, path);
    return 0;
}
