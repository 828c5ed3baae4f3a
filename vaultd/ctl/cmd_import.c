/* vaultctl import [--apply] [--undo] [PATH...]: the command. Without
 * --apply it prints the plan (values never shown); with --apply it does
 * it all or nothing (see import.h); --undo puts back the files of the last
 * run byte for byte. */
#include "vaultctl.h"

#include "error.h"
#include "fileio.h"
#include "import.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHOW_AFTER_MAX_LINES 60

struct vault_ctx {
    struct vs_store *store;
    uint8_t *buf; /* VS_VALUE_MAX locked bytes */
};

static bool name_taken(void *ctx, const char *name)
{
    struct vault_ctx *vc = ctx;
    return vs_store_find(vc->store, name) != NULL;
}

/* Is this value already the current version of a secret? */
static bool value_known(void *ctx, const uint8_t *value, size_t len, char *name, size_t cap)
{
    struct vault_ctx *vc = ctx;
    for (size_t i = 0; i < vs_store_count(vc->store); i++) {
        struct vs_secret *sec = vs_store_at(vc->store, i);
        size_t n = 0;
        if (imp_is_backup_name(sec->name) ||
            vs_store_open_value(vc->store, sec, &sec->versions[sec->nversions - 1], vc->buf, &n) != 0)
            continue;
        bool same = n == len && sodium_memcmp(vc->buf, value, len) == 0;
        sodium_memzero(vc->buf, n);
        if (same) {
            (void)snprintf(name, cap, "%s", sec->name);
            return true;
        }
    }
    return false;
}

static int homes(char *home, size_t cap, char *pw_home, size_t pw_cap)
{
    const struct passwd *pw = getpwuid(geteuid());
    if (pw == NULL || pw->pw_dir == NULL)
        return vs_fail(VS_ENOENT, "no home folder in the password database");
    (void)snprintf(pw_home, pw_cap, "%s", pw->pw_dir);
    /* The files are the owner's, found where the owner's shell keeps them. */
    const char *env = getenv("HOME");
    (void)snprintf(home, cap, "%s", env != NULL && env[0] == '/' ? env : pw->pw_dir);
    return 0;
}

static void print_after(const struct imp_file *f)
{
    size_t lines = 0;
    for (size_t i = 0; i < f->after_len; i++)
        lines += f->after[i] == '\n';
    bool crlf = memmem(f->data, f->len, "\r\n", 2) != NULL;
    bool bare_end = f->len > 0 && f->data[f->len - 1] != '\n';
    printf("  after (%s%s%s):\n", crlf ? "CRLF line endings" : "LF line endings",
           bare_end ? ", no final newline" : "", lines > SHOW_AFTER_MAX_LINES ? ", changed lines only" : "");
    if (lines > SHOW_AFTER_MAX_LINES) {
        for (size_t k = 0; k < f->finds.n; k++) {
            const struct imp_find *x = &f->finds.v[k];
            if (x->comment)
                printf("    line %u becomes: # %s moved to vaultshim (secret %s)\n", x->line, x->env, x->name);
            else
                printf("    line %u: the %s is removed\n", x->line, x->what);
        }
        return;
    }
    size_t pos = 0;
    struct imp_line l = {0};
    while (imp_next_line(f->after, f->after_len, &pos, &l))
        printf("    | %.*s\n", (int)l.len, (const char *)f->after + l.off);
}

static size_t print_plan(const struct imp_files *files)
{
    size_t total = 0;
    for (size_t i = 0; i < files->n; i++) {
        const struct imp_file *f = &files->v[i];
        if (f->finds.n == 0)
            continue;
        printf("%s (%s): %zu value%s\n", f->shown, imp_kind_name(f->kind), f->finds.n, f->finds.n == 1 ? "" : "s");
        for (size_t k = 0; k < f->finds.n; k++) {
            const struct imp_find *x = &f->finds.v[k];
            printf("  line %u: %s -> secret %s (%s; %zu bytes, not shown)\n", x->line, x->what, x->name,
                   x->known ? "already in the vault" : "new", x->value_len);
        }
        print_after(f);
        total += f->finds.n;
    }
    return total;
}

/* "secrets":["a","b"] for the audit line: names only. */
static void audit_extra(const struct imp_files *files, unsigned run, struct vs_buf *b)
{
    (void)vs_buf_printf(b, "\"run\":%u,\"secrets\":[", run);
    size_t start = b->len;
    for (size_t i = 0; i < files->n; i++)
        for (size_t k = 0; k < files->v[i].finds.n; k++) {
            const struct imp_find *x = &files->v[i].finds.v[k];
            char quoted[VS_SECRET_NAME_MAX + 3];
            int n = snprintf(quoted, sizeof quoted, "\"%s\"", x->name);
            if (x->known || memmem(b->data + start, b->len - start, quoted, (size_t)n) != NULL)
                continue;
            (void)vs_buf_printf(b, "%s%s", b->len > start ? "," : "", quoted);
        }
    (void)vs_buf_put_str(b, "]");
    (void)vs_buf_put_u8(b, 0);
}

static int add_secrets(struct vs_store *s, const struct imp_files *files, uint64_t now)
{
    for (size_t i = 0; i < files->n; i++)
        for (size_t k = 0; k < files->v[i].finds.n; k++) {
            const struct imp_find *x = &files->v[i].finds.v[k];
            if (x->known || vs_store_find(s, x->name) != NULL)
                continue; /* in the vault already, or added for an earlier twin */
            int rc = vs_store_add(s, x->name, x->value, x->value_len, now);
            if (rc != 0)
                return rc;
        }
    return 0;
}

static int unchanged_since_read(const struct imp_file *f)
{
    uint8_t *now = NULL;
    size_t len = 0;
    struct imp_stat st;
    int rc = imp_read_file(f->path, &now, &len, &st);
    if (rc == 0 && (len != f->len || sodium_memcmp(now, f->data, len) != 0))
        rc = vs_fail(VS_EEXIST, "%s changed while the import ran", f->shown);
    sodium_free(now);
    return rc;
}

/* Put back the files already renamed when a later rename failed. */
static void roll_back_files(struct imp_files *files, size_t upto)
{
    for (size_t i = 0; i < upto; i++) {
        struct imp_file *f = &files->v[i];
        if (f->finds.n > 0 && imp_stage(f, f->data, f->len) == 0)
            (void)imp_commit_staged(f);
    }
}

static int apply(struct ctl *c, struct vs_vault *v, struct imp_files *files, const char *pw_home)
{
    unsigned run = imp_backup_last_run(v->store) + 1;
    char policy_name[64];
    (void)snprintf(policy_name, sizeof policy_name, "import-policy-%u.conf", run);
    struct vs_buf snippet, extra;
    vs_buf_init(&snippet, 0);
    vs_buf_init(&extra, 0);
    int rc = 0;
    /* 1. every new file staged beside its original */
    for (size_t i = 0; rc == 0 && i < files->n; i++)
        if (files->v[i].finds.n > 0)
            rc = imp_stage(&files->v[i], files->v[i].after, files->v[i].after_len);
    /* a file edited since it was read would lose that edit: stop */
    for (size_t i = 0; rc == 0 && i < files->n; i++)
        if (files->v[i].finds.n > 0)
            rc = unchanged_since_read(&files->v[i]);
    /* 2. the policy snippet, 3. the vault: values and backups, one commit */
    if (rc == 0)
        rc = imp_policy_snippet(files, pw_home, &snippet);
    if (rc == 0)
        rc = vs_create_file_excl(v->dirfd, policy_name, 0600, snippet.data, snippet.len);
    bool snippet_written = rc == 0;
    uint64_t now = (uint64_t)(vs_now_ms() / 1000);
    if (rc == 0)
        rc = add_secrets(v->store, files, now);
    if (rc == 0)
        rc = imp_backup_add(v->store, run, files, now);
    if (rc == 0) {
        audit_extra(files, run, &extra);
        struct vs_audit_event ev = ctl_event("import", NULL, 0, NULL);
        ev.extra = extra.err == 0 ? (const char *)extra.data : NULL;
        rc = vs_vault_commit(v, &ev);
    }
    if (rc != 0) {
        char why[400];
        (void)snprintf(why, sizeof why, "%s", vs_last_error(rc));
        for (size_t i = 0; i < files->n; i++)
            imp_drop_staged(&files->v[i]);
        if (snippet_written)
            (void)unlinkat(v->dirfd, policy_name, 0);
        vs_buf_free(&snippet);
        vs_buf_free(&extra);
        return ctl_say(c, CTL_ERROR, "%s; nothing was changed", why);
    }
    /* 4. the swap: renames in the same folders cannot run out of space */
    for (size_t i = 0; i < files->n; i++) {
        if (files->v[i].finds.n == 0)
            continue;
        rc = imp_commit_staged(&files->v[i]);
        if (rc != 0) {
            char why[400];
            (void)snprintf(why, sizeof why, "%s", vs_last_error(rc));
            roll_back_files(files, i);
            vs_buf_free(&snippet);
            vs_buf_free(&extra);
            return ctl_say(c, CTL_ERROR, "%s; the files were put back; the vault keeps run %u (vaultctl import --undo "
                                         "removes it)", why, run);
        }
    }
    size_t nfiles = 0, nvalues = 0;
    for (size_t i = 0; i < files->n; i++) {
        nfiles += files->v[i].finds.n > 0;
        nvalues += files->v[i].finds.n;
    }
    printf("imported %zu value%s from %zu file%s (run %u); backups are in the vault (vaultctl import --undo)\n"
           "policy entries: %s/%s\n",
           nvalues, nvalues == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s", run, v->home, policy_name);
    vs_buf_free(&snippet);
    vs_buf_free(&extra);
    return CTL_OK;
}

/* --undo: every file of the last run back byte for byte (mode, owner),
 * then the run's backups and the secrets it added (unless rotated since)
 * leave the vault. A file changed since the import stops it all. */
static int undo(struct ctl *c)
{
    struct vs_vault *v = NULL;
    int rc = ctl_open_vault(c, VS_VAULT_WRITE, &v);
    if (rc != 0)
        return ctl_fail(c, rc);
    unsigned run = imp_backup_last_run(v->store);
    if (run == 0) {
        vs_vault_close(v);
        return ctl_say(c, CTL_ERROR, "no import to undo");
    }
    struct imp_undo u;
    rc = imp_backup_load(v->store, run, &u);
    struct imp_file *fs = rc == 0 ? calloc(u.nfiles + 1, sizeof *fs) : NULL;
    if (rc == 0 && fs == NULL)
        rc = vs_fail(VS_ENOMEM, "out of memory");
    size_t restored = 0;
    for (size_t i = 0; rc == 0 && i < u.nfiles; i++) {
        struct imp_file *f = &fs[i];
        (void)snprintf(f->path, sizeof f->path, "%s", u.files[i].path);
        (void)snprintf(f->shown, sizeof f->shown, "%s", u.files[i].path);
        f->st = u.files[i].st;
        uint8_t *now = NULL;
        size_t len = 0;
        struct imp_stat st;
        int r = imp_read_file(f->path, &now, &len, &st);
        char sha[65] = "";
        if (r == 0)
            imp_sha256_hex(now, len, sha);
        sodium_free(now);
        if (r == 0 && strcmp(sha, u.files[i].sha_before) == 0)
            continue; /* put back already (an undo whose vault step failed) */
        if (r != 0 && r != VS_ENOENT)
            rc = r;
        else if (r == 0 && strcmp(sha, u.files[i].sha_after) != 0)
            rc = vs_fail(VS_EEXIST, "%s changed since the import (an undo would lose that change)", f->path);
        else
            rc = imp_stage(f, u.files[i].data, u.files[i].len);
    }
    for (size_t i = 0; rc == 0 && i < u.nfiles; i++) {
        if (fs[i].temp[0] == '\0')
            continue;
        rc = imp_commit_staged(&fs[i]);
        restored += rc == 0;
    }
    if (rc != 0 && restored == 0)
        rc = vs_fail(rc, "%s; nothing was changed", vs_last_error(rc));
    size_t kept = 0;
    if (rc == 0)
        rc = imp_backup_remove(v->store, &u, &kept);
    if (rc == 0) {
        char extra[32];
        (void)snprintf(extra, sizeof extra, "\"run\":%u", run);
        struct vs_audit_event ev = ctl_event("import-undo", NULL, 0, NULL);
        ev.extra = extra;
        rc = vs_vault_commit(v, &ev);
        if (rc != 0)
            rc = vs_fail(rc, "%s; the files are back, the vault still holds run %u (run --undo again)",
                         vs_last_error(rc), run);
    }
    if (rc == 0) {
        char policy_name[64];
        (void)snprintf(policy_name, sizeof policy_name, "import-policy-%u.conf", run);
        if (unlinkat(v->dirfd, policy_name, 0) != 0 && errno != ENOENT)
            rc = vs_fail_errno(VS_EIO, "remove %s", policy_name);
    }
    for (size_t i = 0; fs != NULL && i < u.nfiles; i++)
        imp_drop_staged(&fs[i]);
    free(fs);
    size_t nfiles = u.nfiles, nsecrets = u.nsecrets;
    imp_undo_free(&u);
    vs_vault_close(v);
    if (rc != 0)
        return ctl_fail(c, rc);
    printf("undid import run %u: %zu file%s restored, %zu secret%s removed", run, nfiles, nfiles == 1 ? "" : "s",
           nsecrets - kept, nsecrets - kept == 1 ? "" : "s");
    if (kept > 0)
        printf(", %zu kept (rotated since)", kept);
    printf("\n");
    return CTL_OK;
}

int cmd_import(struct ctl *c)
{
    if (c->undo && (c->apply || c->argc > 0))
        return ctl_say(c, CTL_USAGE, "--undo takes no paths and no --apply");
    if (c->undo)
        return undo(c);
    char home[PATH_MAX], pw_home[PATH_MAX], cwd[PATH_MAX];
    int rc = homes(home, sizeof home, pw_home, sizeof pw_home);
    if (rc == 0 && getcwd(cwd, sizeof cwd) == NULL)
        rc = vs_fail_errno(VS_EIO, "getcwd");
    if (rc != 0)
        return ctl_fail(c, rc);
    struct imp_files files = {0};
    struct vs_vault *v = NULL;
    struct vault_ctx vc = {0};
    rc = imp_collect(home, cwd, c->argc, c->argv, &files);
    if (rc == 0)
        rc = ctl_open_vault(c, c->apply ? VS_VAULT_WRITE : 0, &v);
    if (rc == 0 && (vc.buf = sodium_malloc(VS_VALUE_MAX)) == NULL)
        rc = vs_fail(VS_ENOMEM, "out of locked memory");
    if (rc == 0) {
        vc.store = v->store;
        rc = imp_plan(&files, name_taken, value_known, &vc);
    }
    int code = CTL_OK;
    if (rc != 0) {
        code = ctl_fail(c, rc);
    } else {
        size_t total = print_plan(&files);
        if (total == 0) {
            printf("nothing to import (%zu file%s looked at)\n", files.n, files.n == 1 ? "" : "s");
        } else if (!c->apply) {
            struct vs_buf snippet;
            vs_buf_init(&snippet, 0);
            rc = imp_policy_snippet(&files, pw_home, &snippet);
            if (rc == 0)
                printf("\npolicy entries (written to %s/import-policy-%u.conf by --apply):\n%.*s\n"
                       "nothing changed: run again with --apply to do it\n",
                       v->home, imp_backup_last_run(v->store) + 1, (int)snippet.len, (const char *)snippet.data);
            vs_buf_free(&snippet);
            if (rc != 0)
                code = ctl_fail(c, rc);
        } else {
            code = apply(c, v, &files, pw_home);
        }
    }
    sodium_free(vc.buf);
    vs_vault_close(v);
    imp_files_free(&files);
    if (code == CTL_OK && fflush(stdout) != 0)
        code = CTL_ERROR;
    return code;
}
