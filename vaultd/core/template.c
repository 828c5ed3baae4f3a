/* Templates. Rules this file keeps:
 * 1. Secret values are copied once, from the lookup straight into the
 *    caller's buffer; this file allocates nothing while rendering.
 * 2. Every write is bounds-checked before it happens; nothing lands at or
 *    past out + cap, and a failed render wipes what it wrote.
 * 3. Error details name columns and placeholder names, never values. */
#include "template.h"

#include "error.h"
#include "names.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct seg {
    size_t off;   /* literal: offset into text; placeholder: index into names */
    size_t len;   /* literal length; 0 for a placeholder */
    bool is_name;
};

struct vs_template {
    char *text;
    struct seg *segs;
    size_t nsegs;
    char **names; /* distinct, in order of first appearance */
    size_t nnames;
};

void vs_template_free(struct vs_template *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nnames; i++)
        free(t->names[i]);
    free(t->names);
    free(t->segs);
    free(t->text);
    free(t);
}

static int add_name(struct vs_template *t, const char *name, size_t *idx)
{
    for (size_t i = 0; i < t->nnames; i++) {
        if (strcmp(t->names[i], name) == 0) {
            *idx = i;
            return 0;
        }
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return vs_fail(VS_ENOMEM, "template: out of memory");
    t->names[t->nnames] = copy;
    *idx = t->nnames++;
    return 0;
}

int vs_template_compile(const char *text, struct vs_template **out)
{
    *out = NULL;
    if (text == NULL)
        return vs_fail(VS_EINVAL, "no template text");
    size_t len = strnlen(text, VS_TEMPLATE_MAX + 1);
    if (len > VS_TEMPLATE_MAX)
        return vs_fail(VS_ETOOBIG, "template longer than %d bytes", VS_TEMPLATE_MAX);
    struct vs_template *t = calloc(1, sizeof *t);
    if (t == NULL)
        return vs_fail(VS_ENOMEM, "template: out of memory");
    /* At most one placeholder per 5 bytes ("{{a}}"), one literal around each. */
    size_t maxph = len / 5 + 1;
    t->text = strdup(text);
    t->segs = calloc(2 * maxph + 1, sizeof *t->segs);
    t->names = calloc(maxph, sizeof *t->names);
    if (t->text == NULL || t->segs == NULL || t->names == NULL) {
        vs_template_free(t);
        return vs_fail(VS_ENOMEM, "template: out of memory");
    }
    size_t i = 0, lit = 0;
    int rc = 0;
    while (i < len) {
        if (!(text[i] == '{' && text[i + 1] == '{')) {
            i++;
            continue;
        }
        const char *close = strstr(text + i + 2, "}}");
        if (close == NULL) {
            rc = vs_fail(VS_EINVAL, "column %zu: \"{{\" without closing \"}}\"", i + 1);
            break;
        }
        size_t nlen = (size_t)(close - (text + i + 2));
        char name[VS_SECRET_NAME_MAX + 1];
        if (nlen == 0 || nlen > VS_SECRET_NAME_MAX) {
            rc = vs_fail(VS_EINVAL, "column %zu: placeholder name is empty or longer than %d bytes",
                         i + 1, VS_SECRET_NAME_MAX);
            break;
        }
        memcpy(name, text + i + 2, nlen);
        name[nlen] = '\0';
        if (!vs_secret_name_valid(name)) {
            rc = vs_fail(VS_EINVAL, "column %zu: bad secret name in placeholder", i + 1);
            break;
        }
        if (i > lit)
            t->segs[t->nsegs++] = (struct seg){.off = lit, .len = i - lit, .is_name = false};
        size_t idx = 0;
        rc = add_name(t, name, &idx);
        if (rc != 0)
            break;
        t->segs[t->nsegs++] = (struct seg){.off = idx, .len = 0, .is_name = true};
        i += 2 + nlen + 2;
        lit = i;
    }
    if (rc == 0 && len > lit)
        t->segs[t->nsegs++] = (struct seg){.off = lit, .len = len - lit, .is_name = false};
    if (rc != 0) {
        vs_template_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

size_t vs_template_name_count(const struct vs_template *t)
{
    return t->nnames;
}

const char *vs_template_name(const struct vs_template *t, size_t i)
{
    return i < t->nnames ? t->names[i] : NULL;
}

static int seg_bytes(const struct vs_template *t, const struct seg *s, vs_template_lookup_fn lookup,
                     void *ctx, const uint8_t **p, size_t *n)
{
    if (!s->is_name) {
        *p = (const uint8_t *)t->text + s->off;
        *n = s->len;
        return 0;
    }
    *p = NULL;
    *n = 0;
    int rc = lookup(ctx, t->names[s->off], p, n);
    if (rc != 0)
        return rc < 0 ? rc : vs_fail(VS_EINVAL, "template: lookup of %s failed", t->names[s->off]);
    if (*p == NULL && *n != 0)
        return vs_fail(VS_EINVAL, "template: lookup of %s gave no bytes", t->names[s->off]);
    return 0;
}

int vs_template_rendered_size(const struct vs_template *t, vs_template_lookup_fn lookup,
                              void *ctx, size_t *size)
{
    *size = 0;
    size_t total = 0;
    for (size_t i = 0; i < t->nsegs; i++) {
        const uint8_t *p;
        size_t n;
        int rc = seg_bytes(t, &t->segs[i], lookup, ctx, &p, &n);
        if (rc != 0)
            return rc;
        if (n > SIZE_MAX - total)
            return vs_fail(VS_ETOOBIG, "template: rendered size overflows");
        total += n;
    }
    *size = total;
    return 0;
}

int vs_template_render(const struct vs_template *t, vs_template_lookup_fn lookup, void *ctx,
                       uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    size_t used = 0;
    int rc = 0;
    for (size_t i = 0; i < t->nsegs; i++) {
        const uint8_t *p;
        size_t n;
        rc = seg_bytes(t, &t->segs[i], lookup, ctx, &p, &n);
        if (rc != 0)
            break;
        if (n > cap - used) {
            rc = vs_fail(VS_ETOOBIG, "template: rendered text is over %zu bytes", cap);
            break;
        }
        if (n > 0)
            memcpy(out + used, p, n);
        used += n;
    }
    if (rc != 0) {
        if (used > 0)
            explicit_bzero(out, used);
        return rc;
    }
    *out_len = used;
    return 0;
}
