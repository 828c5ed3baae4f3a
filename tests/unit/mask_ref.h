/* A reference masker for the tests and the fuzz target: the same pattern
 * set (vs_mask_forms), found by a naive search over the whole stream at
 * once; every maximal run of covered bytes becomes one mask. Slow and
 * obviously right, so the streaming engine is compared against it. */
#ifndef VS_MASK_REF_H
#define VS_MASK_REF_H

#include "mask.h"
#include "mask_forms.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ref_patterns {
    uint8_t **p;
    size_t *len;
    size_t n, cap;
};

static int ref_add(void *ctx, const uint8_t *p, size_t len)
{
    struct ref_patterns *r = ctx;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 32;
        uint8_t **np = realloc(r->p, cap * sizeof *np);
        if (np == NULL)
            return -2;
        r->p = np;
        size_t *nl = realloc(r->len, cap * sizeof *nl);
        if (nl == NULL)
            return -2;
        r->len = nl;
        r->cap = cap;
    }
    r->p[r->n] = malloc(len ? len : 1);
    if (r->p[r->n] == NULL)
        return -2;
    memcpy(r->p[r->n], p, len);
    r->len[r->n++] = len;
    return 0;
}

static void ref_free(struct ref_patterns *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->p[i]);
    free(r->p);
    free(r->len);
    memset(r, 0, sizeof *r);
}

/* Masks s[0..n) into a malloc'd buffer (*out, *out_len); *masks gets the
 * number of masks written. Returns 0, or -1 on no memory. */
static int ref_mask(const struct vs_mask_value *values, size_t nvalues, const uint8_t *s, size_t n,
                    uint8_t **out, size_t *out_len, uint64_t *masks)
{
    struct ref_patterns r = {0};
    for (size_t i = 0; i < nvalues; i++)
        if (vs_mask_forms(values[i].data, values[i].len, ref_add, &r) != 0) {
            ref_free(&r);
            return -1;
        }
    bool *covered = calloc(n ? n : 1, sizeof *covered);
    uint8_t *o = malloc(n * 8 + 8);
    if (covered == NULL || o == NULL) {
        free(covered), free(o), ref_free(&r);
        return -1;
    }
    for (size_t k = 0; k < r.n; k++)
        for (size_t i = 0; r.len[k] > 0 && i + r.len[k] <= n; i++)
            if (memcmp(s + i, r.p[k], r.len[k]) == 0)
                memset(covered + i, 1, r.len[k]);
    size_t w = 0;
    *masks = 0;
    for (size_t i = 0; i < n; i++) {
        if (!covered[i]) {
            o[w++] = s[i];
        } else if (i == 0 || !covered[i - 1]) {
            memcpy(o + w, VS_MASK_REPLACEMENT, 8);
            w += 8;
            (*masks)++;
        }
    }
    free(covered);
    ref_free(&r);
    *out = o;
    *out_len = w;
    return 0;
}

#endif
