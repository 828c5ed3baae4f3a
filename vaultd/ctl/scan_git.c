/* Scanning a git repository: the staged blobs (`git diff --cached`), or
 * every blob of every commit (`git rev-list --all --objects` fed to one
 * `git cat-file --batch`), and installing the pre-commit hook. git runs
 * through fork + execv with an argv (no shell), found on PATH once. Blob
 * bytes are wiped after they are scanned. */
#include "scan.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define GIT_OUTPUT_MAX (256u << 20)

static int find_git(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    for (const char *p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';) {
        const char *colon = strchr(p, ':');
        size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);
        if (n > 0 && p[0] == '/' && snprintf(out, cap, "%.*s/git", (int)n, p) < (int)cap && access(out, X_OK) == 0)
            return 0;
        p += n + (colon != NULL);
    }
    return vs_fail(VS_ENOENT, "git: not found on PATH");
}

struct child {
    pid_t pid;
    int in, out; /* our ends: its stdin (or -1), its stdout */
};

static int spawn(char *const argv[], bool with_stdin, struct child *ch)
{
    char git[PATH_MAX];
    int rc = find_git(git, sizeof git);
    if (rc != 0)
        return rc;
    int to[2] = {-1, -1}, from[2] = {-1, -1};
    pid_t pid = -1;
    if (pipe2(from, O_CLOEXEC) != 0 || (with_stdin && pipe2(to, O_CLOEXEC) != 0) || (pid = fork()) < 0) {
        rc = vs_fail_errno(VS_EIO, "start git");
        for (int i = 0; i < 2; i++) {
            if (from[i] >= 0)
                close(from[i]);
            if (to[i] >= 0)
                close(to[i]);
        }
        return rc;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (dup2(with_stdin ? to[0] : devnull, 0) < 0 || dup2(from[1], 1) < 0)
            _exit(127);
        execv(git, argv);
        _exit(127);
    }
    close(from[1]);
    if (with_stdin)
        close(to[0]);
    ch->pid = pid;
    ch->in = to[1];
    ch->out = from[0];
    return 0;
}

static int reap(struct child *ch, const char *what)
{
    int status = 0;
    while (waitpid(ch->pid, &status, 0) < 0)
        if (errno != EINTR)
            return vs_fail_errno(VS_EIO, "wait for %s", what);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return vs_fail(VS_EIO, "%s failed (exit %d)", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

/* Runs git with argv and returns its whole stdout (malloc'd, NUL-ended). */
static int capture(char *const argv[], char **out, size_t *out_len)
{
    struct child ch;
    int rc = spawn(argv, false, &ch);
    if (rc != 0)
        return rc;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    while (rc == 0 && buf != NULL) {
        if (len + 1 == cap) {
            char *b = cap < GIT_OUTPUT_MAX ? realloc(buf, cap * 2) : NULL;
            if (b == NULL) {
                rc = vs_fail(VS_ETOOBIG, "git %s: output too large", argv[1]);
                break;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t r = read(ch.out, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = vs_fail_errno(VS_EIO, "read from git");
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(ch.out);
    if (buf == NULL && rc == 0)
        rc = vs_fail(VS_ENOMEM, "out of memory");
    char what[64];
    (void)snprintf(what, sizeof what, "git %s", argv[1]);
    int wrc = reap(&ch, what);
    if (rc == 0)
        rc = wrc;
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

/* One `git cat-file --batch` for a whole scan: a name in, a blob out. */
struct batch {
    struct child ch;
    FILE *in, *out;
};

static int batch_open(struct batch *b)
{
    char *argv[] = {"git", "cat-file", "--batch", NULL};
    int rc = spawn(argv, true, &b->ch);
    if (rc != 0)
        return rc;
    b->in = fdopen(b->ch.in, "w");
    b->out = fdopen(b->ch.out, "r");
    if (b->in == NULL || b->out == NULL)
        return vs_fail_errno(VS_EIO, "fdopen");
    return 0;
}

static int batch_close(struct batch *b)
{
    if (b->in != NULL)
        (void)fclose(b->in);
    if (b->out != NULL)
        (void)fclose(b->out);
    return reap(&b->ch, "git cat-file");
}

/* Reads one object; *data is malloc'd (NULL for a non-blob or a blob over
 * the size cap, which is read and dropped). */
static int batch_get(struct batch *b, const char *oid, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (fprintf(b->in, "%s\n", oid) < 0 || fflush(b->in) != 0)
        return vs_fail_errno(VS_EIO, "write to git cat-file");
    char header[256], type[32];
    unsigned long long size;
    if (fgets(header, sizeof header, b->out) == NULL)
        return vs_fail(VS_EIO, "git cat-file ended early");
    if (sscanf(header, "%*s %31s %llu", type, &size) != 2)
        return strstr(header, "missing") != NULL ? 0 : vs_fail(VS_EIO, "git cat-file: odd reply");
    bool keep = strcmp(type, "blob") == 0 && size <= SCAN_FILE_MAX;
    uint8_t *buf = keep ? malloc(size + 1) : NULL;
    if (keep && buf == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    uint8_t sink[4096];
    for (unsigned long long got = 0; got < size;) {
        size_t want = buf != NULL ? size - got : (size - got < sizeof sink ? size - got : sizeof sink);
        size_t r = fread(buf != NULL ? buf + got : sink, 1, want, b->out);
        if (r == 0) {
            free(buf);
            return vs_fail(VS_EIO, "git cat-file ended early");
        }
        got += r;
    }
    if (fgetc(b->out) != '\n') {
        free(buf);
        return vs_fail(VS_EIO, "git cat-file: odd reply");
    }
    if (!keep && strcmp(type, "blob") == 0)
        fprintf(stderr, "vaultctl: scan: blob %s: skipped (larger than %u MiB)\n", oid, SCAN_FILE_MAX >> 20);
    *data = buf;
    *len = (size_t)size;
    return 0;
}

static void wipe_free(uint8_t *data, size_t len)
{
    if (data != NULL)
        sodium_memzero(data, len);
    free(data);
}

int scan_git_staged(const struct scan_set *s, size_t *finds)
{
    char *argv[] = {"git", "diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--diff-filter=d", NULL};
    char *out = NULL;
    size_t len = 0;
    int rc = capture(argv, &out, &len);
    if (rc != 0)
        return rc;
    struct batch b = {0};
    rc = batch_open(&b);
    /* ":oldmode newmode oldoid newoid status\0path\0" per change */
    for (size_t p = 0; rc == 0 && p < len;) {
        char *head = out + p;
        p += strlen(head) + 1;
        if (head[0] != ':' || p >= len)
            continue;
        char *path = out + p;
        p += strlen(path) + 1;
        char newmode[16], oid[80];
        if (sscanf(head, ":%*s %15s %*s %79s", newmode, oid) != 2 || strcmp(newmode, "160000") == 0)
            continue;
        uint8_t *data;
        size_t dlen;
        rc = batch_get(&b, oid, &data, &dlen);
        if (rc == 0 && data != NULL) {
            struct scan_report r = {.where = path};
            rc = scan_buffer(s, data, dlen, scan_print_hit, &r);
            *finds += r.finds;
        }
        wipe_free(data, dlen);
    }
    int crc = b.ch.pid > 0 ? batch_close(&b) : 0;
    free(out);
    return rc != 0 ? rc : crc;
}

/* A find in history: "commit:path:line", the commit being the first that
 * brought the blob in. */
struct history_hit {
    const char *oid, *path;
    char where[PATH_MAX + 64];
    size_t finds;
};

static int history_print(void *ctx, unsigned line, const char *name, const char *form)
{
    struct history_hit *h = ctx;
    if (h->where[0] == '\0') {
        char arg[128];
        (void)snprintf(arg, sizeof arg, "--find-object=%s", h->oid);
        char *argv[] = {"git", "log", "--all", "--reverse", "--format=%h", arg, NULL};
        char *out = NULL;
        size_t len = 0;
        const char *commit = "?";
        if (capture(argv, &out, &len) == 0 && len > 0) {
            out[strcspn(out, "\n")] = '\0';
            commit = out;
        }
        (void)snprintf(h->where, sizeof h->where, "%s:%s", commit, h->path);
        free(out);
    }
    h->finds++;
    printf("%s:%u: secret %s (%s)\n", h->where, line, name, form);
    return 0;
}

int scan_git_history(const struct scan_set *s, size_t *finds)
{
    char *argv[] = {"git", "rev-list", "--all", "--objects", NULL};
    char *out = NULL;
    size_t len = 0;
    int rc = capture(argv, &out, &len);
    if (rc != 0)
        return rc;
    struct batch b = {0};
    rc = batch_open(&b);
    char *save = NULL;
    for (char *line = rc == 0 ? strtok_r(out, "\n", &save) : NULL; rc == 0 && line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *space = strchr(line, ' ');
        if (space == NULL || space[1] == '\0')
            continue; /* a commit, or the root tree */
        *space = '\0';
        uint8_t *data;
        size_t dlen;
        rc = batch_get(&b, line, &data, &dlen);
        if (rc == 0 && data != NULL) {
            struct history_hit h = {.oid = line, .path = space + 1};
            rc = scan_buffer(s, data, dlen, history_print, &h);
            *finds += h.finds;
        }
        wipe_free(data, dlen);
    }
    int crc = b.ch.pid > 0 ? batch_close(&b) : 0;
    free(out);
    return rc != 0 ? rc : crc;
}

static int put_quoted(FILE *f, const char *s)
{
    /* a shell single-quoted word: ' becomes '\'' */
    if (fputc('\'', f) == EOF)
        return -1;
    for (; *s != '\0'; s++)
        if ((*s == '\'' ? fputs("'\\''", f) : fputc(*s, f)) == EOF)
            return -1;
    return fputc('\'', f) == EOF ? -1 : 0;
}

int scan_git_install_hook(const char *vaultctl_path, const char *vault_home, bool *already)
{
    *already = false;
    char *argv[] = {"git", "rev-parse", "--git-path", "hooks", NULL};
    char *out = NULL;
    size_t len = 0;
    int rc = capture(argv, &out, &len);
    if (rc != 0)
        return vs_fail(rc, "not in a git repository (%s)", vs_last_error(rc));
    out[strcspn(out, "\n")] = '\0';
    char hook[PATH_MAX];
    if (snprintf(hook, sizeof hook, "%s/pre-commit", out) >= (int)sizeof hook) {
        free(out);
        return vs_fail(VS_ETOOBIG, "hooks path too long");
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST)
        rc = vs_fail_errno(VS_EIO, "mkdir %s", out);
    free(out);
    if (rc != 0)
        return rc;
    /* the hook's text */
    char *text = NULL;
    size_t tlen = 0;
    FILE *m = open_memstream(&text, &tlen);
    if (m == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    int w = fputs("#!/bin/sh\n# vaultshim: refuse a commit whose staged changes hold a vaulted value\n"
                  "# (installed by vaultctl scan --install-hook).\nexec ", m) < 0;
    w |= put_quoted(m, vaultctl_path) != 0 || fputs(" --home ", m) < 0 || put_quoted(m, vault_home) != 0 ||
         fputs(" scan --staged\n", m) < 0;
    if (fclose(m) != 0 || w)
        rc = vs_fail(VS_ENOMEM, "out of memory");
    /* an existing hook: the same one is fine; another is never replaced */
    int fd = rc == 0 ? open(hook, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (fd >= 0) {
        char old[8192];
        ssize_t n = read(fd, old, sizeof old);
        close(fd);
        if (n >= 0 && (size_t)n == tlen && memcmp(old, text, tlen) == 0)
            *already = true;
        else
            rc = vs_fail(VS_EEXIST, "%s exists and is not this hook: add `vaultctl scan --staged` to it by hand",
                         hook);
    } else if (rc == 0 && errno != ENOENT) {
        rc = vs_fail_errno(VS_EIO, "%s", hook);
    } else if (rc == 0) {
        fd = open(hook, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
        if (fd < 0)
            rc = vs_fail_errno(VS_EIO, "create %s", hook);
        else {
            ssize_t n = write(fd, text, tlen);
            if (n != (ssize_t)tlen || fsync(fd) != 0)
                rc = vs_fail_errno(VS_EIO, "write %s", hook);
            if (close(fd) != 0 && rc == 0)
                rc = vs_fail_errno(VS_EIO, "close %s", hook);
            if (rc != 0)
                (void)unlink(hook);
        }
    }
    free(text);
    return rc;
}
