/* Bounded reads of /proc/PID files and their parsers. Rules:
 *  1. Every read has a cap; past it the caller gets VS_ETOOBIG, never a
 *     truncated file taken for the whole.
 *  2. Reads go through the /proc/PID directory fd (openat), never by a
 *     path built from the pid.
 *  3. Parsers take (text, len) and never read past len.
 *  4. A read that returns less than asked is the end: every file read
 *     here (stat, status, fdinfo: one seq_file record made whole per
 *     read; cmdline, environ: copied page by page until the area ends) is
 *     produced in one go, so the read that would return 0 is skipped (one
 *     syscall per file, a dozen per grant). A file that fills the buffer is
 *     read on, so a long one is never taken for the whole.
 *  5. A held fd (stat, status, cmdline of a connected peer) is read again
 *     with pread from 0: those files are produced from the task at read
 *     time, so a held one shows the process as it is now, exec included.
 *     Never held: maps and environ, whose open pins the memory map of that
 *     moment (an exec after it would not be seen). */
#include "peer_int.h"

#include "error.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int gone_or_io(const char *what)
{
    if (errno == ESRCH || errno == ENOENT)
        return vs_fail(VS_EDENIED, "peer exited (reading %s)", what);
    if (errno == EACCES || errno == EPERM)
        return vs_fail_errno(VS_EDENIED, "cannot read the peer's %s", what);
    return vs_fail_errno(VS_EIO, "read %s", what);
}

void vs_proc_free(char *buf, size_t len)
{
    if (buf == NULL)
        return;
    sodium_memzero(buf, len);
    free(buf);
}

/* The whole file behind fd, from offset 0 (pread: a held fd is read
 * again from the start, and /proc regenerates its text on every read).
 * Every buffer given up on the way is wiped (vs_proc_free): it grows by
 * copy, not realloc, which would free the old block as it was. */
static int read_whole(int fd, const char *what, size_t cap, char **out, size_t *len)
{
    size_t size = 4096, used = 0;
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return vs_fail(VS_ENOMEM, "read %s: out of memory", what);
    for (;;) {
        if (used == size) {
            if (size > cap) {
                vs_proc_free(buf, used);
                return vs_fail(VS_ETOOBIG, "%s is over %zu bytes", what, cap);
            }
            size_t nsize = size * 2 > cap + 1 ? cap + 1 : size * 2;
            char *nbuf = malloc(nsize + 1);
            if (nbuf != NULL)
                memcpy(nbuf, buf, used);
            vs_proc_free(buf, used);
            if (nbuf == NULL)
                return vs_fail(VS_ENOMEM, "read %s: out of memory", what);
            buf = nbuf;
            size = nsize;
        }
        ssize_t n = pread(fd, buf + used, size - used, (off_t)used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = gone_or_io(what);
            vs_proc_free(buf, used);
            return rc;
        }
        if (n == 0)
            break;
        bool short_read = (size_t)n < size - used;
        used += (size_t)n;
        if (used > cap) {
            vs_proc_free(buf, used);
            return vs_fail(VS_ETOOBIG, "%s is over %zu bytes", what, cap);
        }
        if (short_read) /* rule 4 */
            break;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return 0;
}

int vs_proc_read(int dirfd, const char *name, const char *what, size_t cap, char **out,
                 size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return gone_or_io(what);
    int rc = read_whole(fd, what, cap, out, len);
    close(fd);
    return rc;
}

int vs_proc_open(int dirfd, const char *name, const char *what, int *fd)
{
    *fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    return *fd < 0 ? gone_or_io(what) : 0;
}

int vs_proc_read_fd(int fd, const char *what, size_t cap, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    return read_whole(fd, what, cap, out, len);
}

static int token_u64(const char *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return VS_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return VS_EINVAL;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return VS_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

#define STAT_FIELDS 52

int vs_proc_parse_stat(const char *text, size_t len, struct vs_proc_stat *st)
{
    memset(st, 0, sizeof *st);
    /* "pid (comm) state ...": comm may hold spaces and ')', so the fields
     * start after the last ')'. Field numbers as in proc(5): state is 3. */
    const char *end = text + len;
    const char *close = NULL;
    for (const char *q = text; q < end; q++)
        if (*q == ')')
            close = q;
    if (close == NULL || end - close < 3 || close[1] != ' ')
        return vs_fail(VS_EIO, "/proc/PID/stat: malformed");
    const char *tok[STAT_FIELDS + 1] = {0};
    size_t tlen[STAT_FIELDS + 1] = {0};
    int n = 2;
    const char *p = close + 2;
    while (n < STAT_FIELDS) {
        while (p < end && *p == ' ')
            p++;
        if (p == end || *p == '\n')
            break;
        tok[++n] = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        tlen[n] = (size_t)(p - tok[n]);
    }
    if (n < 22 || tlen[3] != 1 || token_u64(tok[22], tlen[22], &st->starttime) != 0)
        return vs_fail(VS_EIO, "/proc/PID/stat: malformed");
    st->state = tok[3][0];
    static const int layout_field[VS_PEER_LAYOUT_FIELDS] = {26, 27, 28, 48, 49, 50, 51};
    for (size_t i = 0; i < VS_PEER_LAYOUT_FIELDS; i++) {
        int f = layout_field[i];
        if (f > n) /* fields 45+ are absent before Linux 3.5 */
            break;
        if (token_u64(tok[f], tlen[f], &st->layout[i]) != 0)
            return vs_fail(VS_EIO, "/proc/PID/stat: field %d malformed", f);
    }
    return 0;
}

int vs_proc_read_stat(int statfd, struct vs_proc_stat *st)
{
    char *text = NULL;
    size_t len = 0;
    int rc = vs_proc_read_fd(statfd, "/proc/PID/stat", 4096, &text, &len);
    if (rc != 0)
        return rc;
    rc = vs_proc_parse_stat(text, len, st);
    free(text);
    return rc;
}

const char *vs_proc_status_field(const char *text, const char *key, size_t *vlen)
{
    size_t klen = strlen(key);
    const char *line = text;
    while (line != NULL && *line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t llen = nl != NULL ? (size_t)(nl - line) : strlen(line);
        if (llen > klen && memcmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            while (v < line + llen && (*v == '\t' || *v == ' '))
                v++;
            *vlen = (size_t)(line + llen - v);
            return v;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    return NULL;
}

bool vs_proc_status_number(const char *text, const char *key, long long *out)
{
    size_t vlen = 0;
    const char *v = vs_proc_status_field(text, key, &vlen);
    char num[24];
    if (v == NULL || vlen == 0 || vlen >= sizeof num)
        return false;
    memcpy(num, v, vlen);
    num[vlen] = '\0';
    char *end = NULL;
    errno = 0;
    long long value = strtoll(num, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = value;
    return true;
}

int vs_proc_split_argv(struct vs_peer *p, char *buf, size_t len)
{
    size_t argc = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            argc++;
    if (len > 0 && buf[len - 1] != '\0')
        argc++; /* an argv area rewritten without a final NUL */
    if (argc > VS_PEER_MAX_ARGS) {
        vs_proc_free(buf, len);
        return vs_fail(VS_EDENIED, "command line has more than %d arguments", VS_PEER_MAX_ARGS);
    }
    char **argv = calloc(argc + 1, sizeof *argv);
    if (argv == NULL) {
        vs_proc_free(buf, len);
        return vs_fail(VS_ENOMEM, "argv: out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < len && k < argc;) {
        argv[k++] = buf + i;
        i += strnlen(buf + i, len - i) + 1;
    }
    p->argv = argv;
    p->argc = argc;
    p->argbuf = buf;
    p->arglen = len;
    return 0;
}

int vs_proc_readlink(int dirfd, const char *name, char **out)
{
    *out = NULL;
    char *buf = malloc(PATH_MAX + 1);
    if (buf == NULL)
        return vs_fail(VS_ENOMEM, "readlink: out of memory");
    ssize_t n = readlinkat(dirfd, name, buf, PATH_MAX + 1);
    if (n < 0) {
        free(buf);
        return gone_or_io(name);
    }
    if ((size_t)n > PATH_MAX) {
        free(buf);
        return vs_fail(VS_ETOOBIG, "/proc/PID/%s: link over %d bytes", name, PATH_MAX);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

void vs_file_id_from_stat(const struct stat *st, struct vs_file_id *id)
{
    memset(id, 0, sizeof *id);
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
    id->ctime = st->st_ctim;
}

bool vs_file_id_equal(const struct vs_file_id *a, const struct vs_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}
