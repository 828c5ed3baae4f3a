/* Invariant 1 in the audit log: a granted value never appears in it, even
 * when the process was started with it in argv (a script running
 * `tool --token $T`). The tool's current values are decrypted into locked
 * memory for the time a decision is logged and every occurrence in an
 * argument is written as ********. While the vault is locked there are no
 * values to look for, so every argument is written as ********. */
#include "vaultd.h"

#include "error.h"
#include "template.h"

#include <sodium.h>
#include <string.h>

static int add_value(struct vaultd *d, struct masks *m, const char *secret)
{
    struct vs_secret *s = vs_store_find(d->vault->store, secret);
    if (s == NULL)
        return 0; /* nothing to mask: it is refused for that reason */
    for (size_t i = 0; i < m->n; i++) /* one entry per secret, not per use */
        if (m->from[i] == s)
            return 0;
    if (m->n == VAULTD_MAX_MASKS)
        return vs_fail(VS_ETOOBIG, "a tool names more than %d secrets", VAULTD_MAX_MASKS);
    int rc = vs_store_open_value(d->vault->store, s, &s->versions[s->nversions - 1],
                                 m->values + m->n * VS_VALUE_MAX, &m->lens[m->n]);
    if (rc == 0)
        m->from[m->n++] = s;
    return rc;
}

/* One locked buffer for the daemon's life (it is single-threaded and a
 * decision is logged before the next starts): allocating 512 KiB of
 * guarded, locked memory per request cost a third of a grant. */
static uint8_t *pool;

int vaultd_masks_load(struct vaultd *d, struct conn *c)
{
    vaultd_masks_free(c);
    if (c->tool == NULL || c->policy_gen != d->policy_gen || d->vault == NULL)
        return 0;
    if (pool == NULL && (pool = sodium_malloc(VAULTD_MAX_MASKS * VS_VALUE_MAX)) == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    struct masks *m = calloc(1, sizeof *m);
    if (m == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    m->values = pool;
    c->masks = m;
    const struct vs_policy_tool *t = c->tool;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->n_env; i++)
        rc = add_value(d, m, t->env[i].secret);
    for (size_t i = 0; rc == 0 && i < t->n_files; i++) {
        const struct vs_template *tmpl = d->policy->files[t->files[i]].tmpl;
        for (size_t k = 0; rc == 0 && k < vs_template_name_count(tmpl); k++)
            rc = add_value(d, m, vs_template_name(tmpl, k));
    }
    if (rc != 0)
        vaultd_masks_free(c);
    return rc;
}

void vaultd_masks_free(struct conn *c)
{
    if (c == NULL || c->masks == NULL)
        return;
    /* Each slot holds its value's length of plaintext; a failed decryption
     * writes no plaintext (libsodium checks the tag first). */
    for (size_t i = 0; i < c->masks->n; i++)
        sodium_memzero(c->masks->values + i * VS_VALUE_MAX, c->masks->lens[i]);
    free(c->masks);
    c->masks = NULL;
}

/* The first mask that occurs at text, or 0. */
static size_t match_at(const char *text, size_t left, const struct masks *m)
{
    for (size_t i = 0; m != NULL && i < m->n; i++)
        if (m->lens[i] != 0 && m->lens[i] <= left && memcmp(text, m->values + i * VS_VALUE_MAX, m->lens[i]) == 0)
            return m->lens[i];
    return 0;
}

const struct masks *vaultd_masks_of(const struct vaultd *d, const struct conn *c)
{
    /* Locked, there are no values to compare with, whatever the peer. */
    static const struct masks every_argument = {.all = true};
    return d->vault == NULL ? &every_argument : c->masks;
}

void vaultd_put_masked(struct vs_buf *b, const char *text, const struct masks *m)
{
    if (m != NULL && m->all) {
        (void)vs_buf_put_str(b, "********");
        return;
    }
    size_t len = strlen(text);
    size_t plain = 0; /* start of the run not yet written */
    for (size_t at = 0; at < len;) {
        size_t hit = match_at(text + at, len - at, m);
        if (hit == 0) {
            at++;
            continue;
        }
        char run[256];
        for (size_t from = plain; from < at;) { /* escape the plain run in pieces */
            size_t n = at - from < sizeof run - 1 ? at - from : sizeof run - 1;
            memcpy(run, text + from, n);
            run[n] = '\0';
            (void)vs_buf_put_json_str(b, run);
            from += n;
        }
        (void)vs_buf_put_str(b, "********");
        at += hit;
        plain = at;
    }
    (void)vs_buf_put_json_str(b, text + plain);
}
