/* The import plan: a secret name for every value found (deterministic:
 * from the file kind and where the value sits; one name per distinct
 * value; a value already in the vault keeps its name there), each file's
 * new bytes, and its template (the original with {{name}} where the value
 * was) for the shim to serve. */
#include "import.h"

#include "error.h"
#include "template.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_BASE_MAX (VS_SECRET_NAME_MAX - 8) /* room for ".NNNNNNN" */

static bool used_in_run(const struct imp_files *files, size_t upto_file, size_t upto_find, const char *name)
{
    for (size_t i = 0; i <= upto_file && i < files->n; i++) {
        const struct imp_finds *fs = &files->v[i].finds;
        size_t n = i == upto_file ? upto_find : fs->n;
        for (size_t k = 0; k < n; k++)
            if (strcmp(fs->v[k].name, name) == 0)
                return true;
    }
    return false;
}

static const struct imp_find *same_value(const struct imp_files *files, size_t upto_file, size_t upto_find,
                                         const struct imp_find *f)
{
    for (size_t i = 0; i <= upto_file && i < files->n; i++) {
        const struct imp_finds *fs = &files->v[i].finds;
        size_t n = i == upto_file ? upto_find : fs->n;
        for (size_t k = 0; k < n; k++)
            if (fs->v[k].value_len == f->value_len &&
                sodium_memcmp(fs->v[k].value, f->value, f->value_len) == 0)
                return &fs->v[k];
    }
    return NULL;
}

static int name_find(struct imp_files *files, size_t fi, size_t k, imp_name_taken_fn taken,
                     imp_value_known_fn known, void *ctx)
{
    struct imp_find *f = &files->v[fi].finds.v[k];
    const struct imp_find *twin = same_value(files, fi, k, f);
    if (twin != NULL) {
        memcpy(f->name, twin->name, sizeof f->name);
        f->known = twin->known;
        return 0;
    }
    if (known != NULL && known(ctx, f->value, f->value_len, f->name, sizeof f->name)) {
        f->known = true;
        return 0;
    }
    char base[VS_SECRET_NAME_MAX + 16], cand[VS_SECRET_NAME_MAX + 32];
    (void)snprintf(base, sizeof base, "%s%.*s", vs_secret_name_valid(f->hint) ? "" : "imported.", NAME_BASE_MAX,
                   f->hint);
    base[NAME_BASE_MAX] = '\0';
    if (!vs_secret_name_valid(base))
        return vs_fail(VS_EINVAL, "%s: no valid secret name for line %u", files->v[fi].shown, f->line);
    (void)snprintf(cand, sizeof cand, "%s", base);
    for (unsigned n = 2; (taken != NULL && taken(ctx, cand)) || used_in_run(files, fi, k, cand); n++) {
        if (n > 9999999)
            return vs_fail(VS_EEXIST, "%s: no free secret name", base);
        (void)snprintf(cand, sizeof cand, "%s.%u", base, n);
    }
    memcpy(f->name, cand, sizeof f->name - 1);
    f->name[sizeof f->name - 1] = '\0';
    return 0;
}

static int cmp_cut(const void *a, const void *b)
{
    const struct imp_find *x = a, *y = b;
    return x->cut_off < y->cut_off ? -1 : x->cut_off > y->cut_off;
}

int imp_build_after(struct imp_file *f)
{
    struct vs_buf out, tmpl;
    vs_buf_init(&out, 0);
    vs_buf_init(&tmpl, VS_TEMPLATE_MAX);
    /* cuts in file order; overlapping cuts (a bare last line taking the
     * previous terminator, itself cut) merge */
    size_t pos = 0;
    for (size_t i = 0; i < f->finds.n; i++) {
        const struct imp_find *x = &f->finds.v[i];
        size_t end = x->cut_off + x->cut_len;
        if (x->cut_off > pos)
            (void)vs_buf_put(&out, f->data + pos, x->cut_off - pos);
        if (x->comment)
            (void)vs_buf_printf(&out, "# %s moved to vaultshim (secret %s)", x->env, x->name);
        if (end > pos)
            pos = end;
    }
    if (pos < f->len)
        (void)vs_buf_put(&out, f->data + pos, f->len - pos);
    /* a file that ended bare still does when its last lines were cut */
    bool bare = f->len > 0 && f->data[f->len - 1] != '\n';
    if (bare && out.err == 0 && out.len > 0 && out.data[out.len - 1] == '\n')
        out.len -= out.len > 1 && out.data[out.len - 2] == '\r' ? 2 : 1;
    /* template: values replaced by placeholders (credential files only) */
    bool credential_file = f->kind != IMP_ENV && f->kind != IMP_PROFILE;
    bool literal_braces = memmem(f->data, f->len, "{{", 2) != NULL || memchr(f->data, 0, f->len) != NULL;
    if (credential_file && !literal_braces && f->finds.n > 0) {
        pos = 0;
        for (size_t i = 0; i < f->finds.n; i++) {
            const struct imp_find *x = &f->finds.v[i];
            if (x->raw_off < pos)
                continue;
            (void)vs_buf_put(&tmpl, f->data + pos, x->raw_off - pos);
            (void)vs_buf_printf(&tmpl, "{{%s}}", x->name);
            pos = x->raw_off + x->raw_len;
        }
        (void)vs_buf_put(&tmpl, f->data + pos, f->len - pos);
        (void)vs_buf_put_u8(&tmpl, 0);
    }
    if (out.err != 0) {
        vs_buf_free(&out);
        vs_buf_free(&tmpl);
        return vs_fail(out.err, "%s: cannot build the new file", f->shown);
    }
    free(f->after);
    free(f->tmpl);
    f->after = out.data != NULL ? out.data : calloc(1, 1);
    f->after_len = out.len;
    f->tmpl = NULL;
    if (tmpl.err == 0 && tmpl.len > 0)
        f->tmpl = (char *)tmpl.data;
    else
        vs_buf_free(&tmpl);
    return f->after != NULL ? 0 : vs_fail(VS_ENOMEM, "out of memory");
}

int imp_plan(struct imp_files *files, imp_name_taken_fn taken, imp_value_known_fn known, void *ctx)
{
    for (size_t i = 0; i < files->n; i++) {
        struct imp_file *f = &files->v[i];
        if (f->finds.n > 1)
            qsort(f->finds.v, f->finds.n, sizeof f->finds.v[0], cmp_cut);
        for (size_t k = 0; k < f->finds.n; k++) {
            int rc = name_find(files, i, k, taken, known, ctx);
            if (rc != 0)
                return rc;
        }
        if (f->finds.n > 0) {
            int rc = imp_build_after(f);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}
