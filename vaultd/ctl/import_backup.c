/* The encrypted backup of every file an import rewrites, kept in the store
 * itself (so it is sealed like any value and never on disk in plaintext):
 *   import-backup.R        manifest of run R (text, below)
 *   import-backup.R.F.C    chunk C of file F's original bytes
 * Manifest lines:
 *   vaultshim-import 1
 *   secret NAME                      (added by the run)
 *   file CHUNKS SIZE MODE UID GID SHA_BEFORE SHA_AFTER PATH */
#include "import.h"

#include "error.h"
#include "store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAGIC "vaultshim-import 1\n"

bool imp_is_backup_name(const char *name)
{
    return strncmp(name, IMP_BACKUP_PREFIX, strlen(IMP_BACKUP_PREFIX)) == 0;
}

unsigned imp_backup_last_run(struct vs_store *s)
{
    unsigned last = 0;
    for (size_t i = 0; i < vs_store_count(s); i++) {
        const char *name = vs_store_at(s, i)->name;
        if (!imp_is_backup_name(name))
            continue;
        char *end = NULL;
        unsigned long r = strtoul(name + strlen(IMP_BACKUP_PREFIX), &end, 10);
        if (end != NULL && *end == '\0' && r > last && r < 1000000)
            last = (unsigned)r;
    }
    return last;
}

static bool listed(const struct vs_buf *m, const char *name)
{
    char line[VS_SECRET_NAME_MAX + 16];
    int n = snprintf(line, sizeof line, "\nsecret %s\n", name);
    return m->data != NULL && memmem(m->data, m->len, line, (size_t)n) != NULL;
}

int imp_backup_add(struct vs_store *s, unsigned run, const struct imp_files *files, uint64_t now)
{
    struct vs_buf m;
    vs_buf_init(&m, VS_VALUE_MAX);
    (void)vs_buf_put_str(&m, MANIFEST_MAGIC);
    for (size_t i = 0; i < files->n; i++)
        for (size_t k = 0; k < files->v[i].finds.n; k++) {
            const struct imp_find *x = &files->v[i].finds.v[k];
            if (!x->known && !listed(&m, x->name))
                (void)vs_buf_printf(&m, "secret %s\n", x->name);
        }
    int rc = 0;
    unsigned fno = 0;
    for (size_t i = 0; rc == 0 && i < files->n; i++) {
        const struct imp_file *f = &files->v[i];
        if (f->finds.n == 0)
            continue;
        if (strchr(f->path, '\n') != NULL)
            return vs_fail(VS_EINVAL, "%s: a newline in the path", f->shown);
        fno++;
        unsigned chunks = (unsigned)((f->len + VS_VALUE_MAX - 1) / VS_VALUE_MAX);
        char before[65], after[65];
        imp_sha256_hex(f->data, f->len, before);
        imp_sha256_hex(f->after, f->after_len, after);
        (void)vs_buf_printf(&m, "file %u %zu %o %u %u %s %s %s\n", chunks, f->len, (unsigned)f->st.mode,
                            (unsigned)f->st.uid, (unsigned)f->st.gid, before, after, f->path);
        for (unsigned c = 0; rc == 0 && c < chunks; c++) {
            char name[VS_SECRET_NAME_MAX + 1];
            (void)snprintf(name, sizeof name, IMP_BACKUP_PREFIX "%u.%u.%u", run, fno, c);
            size_t off = (size_t)c * VS_VALUE_MAX;
            size_t n = f->len - off < VS_VALUE_MAX ? f->len - off : VS_VALUE_MAX;
            rc = vs_store_add(s, name, f->data + off, n, now);
        }
    }
    if (rc == 0 && m.err != 0)
        rc = vs_fail(m.err, "too many files for one import's manifest");
    if (rc == 0) {
        char name[VS_SECRET_NAME_MAX + 1];
        (void)snprintf(name, sizeof name, IMP_BACKUP_PREFIX "%u", run);
        rc = vs_store_add(s, name, m.data, m.len, now);
    }
    vs_buf_free(&m);
    return rc;
}

static int open_current(struct vs_store *s, const char *name, uint8_t *buf, size_t *len)
{
    struct vs_secret *sec = vs_store_find(s, name);
    if (sec == NULL)
        return vs_fail(VS_ENOENT, "%s: missing from the vault", name);
    return vs_store_open_value(s, sec, &sec->versions[sec->nversions - 1], buf, len);
}

static int parse_file_line(char *line, struct imp_undo_file *f)
{
    unsigned mode, uid, gid;
    size_t size;
    int used = 0;
    if (sscanf(line, "file %u %zu %o %u %u %64s %64s %n", &f->chunks, &size, &mode, &uid, &gid, f->sha_before,
               f->sha_after, &used) != 7 ||
        used == 0 || line[used] != '/' || strlen(line + used) >= sizeof f->path ||
        size > (size_t)f->chunks * VS_VALUE_MAX || f->chunks > IMP_FILE_MAX / VS_VALUE_MAX + 1)
        return vs_fail(VS_ECORRUPT, "import backup manifest: bad file line");
    strcpy(f->path, line + used);
    f->st.mode = (mode_t)mode;
    f->st.uid = (uid_t)uid;
    f->st.gid = (gid_t)gid;
    f->len = size;
    return 0;
}

static int load_chunks(struct vs_store *s, unsigned run, unsigned fno, struct imp_undo_file *f, uint8_t *buf)
{
    f->data = sodium_malloc(f->len + 1);
    if (f->data == NULL)
        return vs_fail(VS_ENOMEM, "out of locked memory");
    size_t got = 0;
    for (unsigned c = 0; c < f->chunks; c++) {
        char name[VS_SECRET_NAME_MAX + 1];
        (void)snprintf(name, sizeof name, IMP_BACKUP_PREFIX "%u.%u.%u", run, fno, c);
        size_t n = 0;
        int rc = open_current(s, name, buf, &n);
        if (rc == 0 && got + n > f->len)
            rc = vs_fail(VS_ECORRUPT, "%s: longer than its manifest says", name);
        if (rc != 0)
            return rc;
        memcpy(f->data + got, buf, n);
        got += n;
    }
    sodium_memzero(buf, VS_VALUE_MAX);
    char sha[65];
    imp_sha256_hex(f->data, got, sha);
    if (got != f->len || strcmp(sha, f->sha_before) != 0)
        return vs_fail(VS_ECORRUPT, "backup of %s does not match its manifest", f->path);
    return 0;
}

int imp_backup_load(struct vs_store *s, unsigned run, struct imp_undo *u)
{
    memset(u, 0, sizeof *u);
    u->run = run;
    uint8_t *buf = sodium_malloc(VS_VALUE_MAX + 1);
    if (buf == NULL)
        return vs_fail(VS_ENOMEM, "out of locked memory");
    char name[VS_SECRET_NAME_MAX + 1];
    (void)snprintf(name, sizeof name, IMP_BACKUP_PREFIX "%u", run);
    size_t len = 0;
    int rc = open_current(s, name, buf, &len);
    char *text = rc == 0 ? malloc(len + 1) : NULL;
    if (rc == 0 && text == NULL)
        rc = vs_fail(VS_ENOMEM, "out of memory");
    if (rc == 0) {
        memcpy(text, buf, len);
        text[len] = '\0';
        if (strncmp(text, MANIFEST_MAGIC, strlen(MANIFEST_MAGIC)) != 0)
            rc = vs_fail(VS_ECORRUPT, "%s: not an import manifest", name);
    }
    size_t lines = 0;
    for (size_t i = 0; rc == 0 && i < len; i++)
        lines += text[i] == '\n';
    if (rc == 0) {
        u->files = calloc(lines + 1, sizeof *u->files);
        u->secrets = calloc(lines + 1, sizeof *u->secrets);
        if (u->files == NULL || u->secrets == NULL)
            rc = vs_fail(VS_ENOMEM, "out of memory");
    }
    char *save = NULL;
    for (char *line = rc == 0 ? strtok_r(text + strlen(MANIFEST_MAGIC), "\n", &save) : NULL; rc == 0 && line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "secret ", 7) == 0 && vs_secret_name_valid(line + 7)) {
            strcpy(u->secrets[u->nsecrets++], line + 7);
        } else if (strncmp(line, "file ", 5) == 0) {
            struct imp_undo_file *f = &u->files[u->nfiles++];
            rc = parse_file_line(line, f);
            if (rc == 0)
                rc = load_chunks(s, run, (unsigned)u->nfiles, f, buf);
        } else {
            rc = vs_fail(VS_ECORRUPT, "%s: unknown manifest line", name);
        }
    }
    free(text);
    sodium_free(buf);
    return rc;
}

int imp_backup_remove(struct vs_store *s, const struct imp_undo *u, size_t *kept)
{
    *kept = 0;
    char name[VS_SECRET_NAME_MAX + 1];
    for (size_t i = 0; i < u->nfiles; i++)
        for (unsigned c = 0; c < u->files[i].chunks; c++) {
            (void)snprintf(name, sizeof name, IMP_BACKUP_PREFIX "%u.%zu.%u", u->run, i + 1, c);
            int rc = vs_store_remove(s, name);
            if (rc != 0)
                return rc;
        }
    (void)snprintf(name, sizeof name, IMP_BACKUP_PREFIX "%u", u->run);
    int rc = vs_store_remove(s, name);
    for (size_t i = 0; rc == 0 && i < u->nsecrets; i++) {
        struct vs_secret *sec = vs_store_find(s, u->secrets[i]);
        if (sec == NULL)
            continue;
        if (sec->nversions > 1 || sec->versions[0].version != 1)
            ++*kept; /* rotated since: the newer value is the owner's */
        else
            rc = vs_store_remove(s, u->secrets[i]);
    }
    return rc;
}

void imp_undo_free(struct imp_undo *u)
{
    for (size_t i = 0; i < u->nfiles; i++)
        sodium_free(u->files[i].data);
    free(u->files);
    free(u->secrets);
    memset(u, 0, sizeof *u);
}
