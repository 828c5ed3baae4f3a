/* The scan's patterns and the one-pass matcher (see scan.h for why a hash
 * on the first 4 bytes). A base64 form covers only the characters that
 * depend on the value's bits alone, at each of the 3 byte alignments a
 * value can have inside a longer encoded text; that is still every bit of
 * the value but the last few, so it is a full-value match. */
#include "scan.h"

#include "error.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pattern {
    size_t off, len; /* in the arena */
    int32_t next;    /* chain in the bucket; -1 ends */
    uint32_t secret; /* index into names */
    const char *form;
};

struct scan_set {
    uint8_t *arena; /* sodium_malloc'd */
    size_t arena_len, arena_cap;
    struct pattern *pats;
    size_t n, cap;
    char (*names)[VS_SECRET_NAME_MAX + 1];
    size_t nnames;
    int32_t *buckets;
    uint32_t shift;
};

int scan_set_new(struct scan_set **out)
{
    struct scan_set *s = calloc(1, sizeof *s);
    if (s == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    *out = s;
    return 0;
}

void scan_set_free(struct scan_set *s)
{
    if (s == NULL)
        return;
    sodium_free(s->arena); /* wipes */
    free(s->pats);
    free(s->names);
    free(s->buckets);
    free(s);
}

size_t scan_set_count(const struct scan_set *s)
{
    return s->n;
}

static uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int grow_arena(struct scan_set *s, size_t extra)
{
    if (s->arena_len + extra <= s->arena_cap)
        return 0;
    size_t cap = s->arena_cap == 0 ? 65536 : s->arena_cap;
    while (cap < s->arena_len + extra)
        cap *= 2;
    uint8_t *a = sodium_malloc(cap);
    if (a == NULL)
        return vs_fail(VS_ENOMEM, "out of locked memory");
    if (s->arena_len > 0)
        memcpy(a, s->arena, s->arena_len);
    sodium_free(s->arena);
    s->arena = a;
    s->arena_cap = cap;
    return 0;
}

/* Keeps the pattern just written at the arena's end, unless it is too
 * short or the same bytes as one of this secret's earlier forms. */
static int keep(struct scan_set *s, size_t off, size_t len, uint32_t secret, const char *form)
{
    if (len < 4) {
        s->arena_len = off;
        return 0;
    }
    for (size_t i = s->n; i > 0 && s->pats[i - 1].secret == secret; i--)
        if (s->pats[i - 1].len == len && memcmp(s->arena + s->pats[i - 1].off, s->arena + off, len) == 0) {
            sodium_memzero(s->arena + off, len);
            s->arena_len = off;
            return 0;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 64 : s->cap * 2;
        struct pattern *p = realloc(s->pats, cap * sizeof *p);
        if (p == NULL)
            return vs_fail(VS_ENOMEM, "out of memory");
        s->pats = p;
        s->cap = cap;
    }
    s->pats[s->n++] = (struct pattern){.off = off, .len = len, .next = -1, .secret = secret, .form = form};
    s->arena_len = off + len;
    return 0;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The base64 characters of (pad zero bytes + value) whose 6 bits all come
 * from the value: char i covers bits [6i, 6i+6). */
static size_t b64_form(const uint8_t *v, size_t len, unsigned pad, const char *alphabet, uint8_t *out)
{
    size_t total_bits = 8 * (pad + len), n = 0;
    for (size_t i = 0; 6 * i + 6 <= total_bits; i++) {
        if (6 * i < 8 * pad)
            continue;
        unsigned sextet = 0;
        for (unsigned b = 0; b < 6; b++) {
            size_t bit = 6 * i + b, byte = bit / 8;
            unsigned val = byte < pad ? 0 : v[byte - pad];
            sextet = sextet << 1 | ((val >> (7 - bit % 8)) & 1u);
        }
        out[n++] = (uint8_t)alphabet[sextet];
    }
    return n;
}

static size_t hex_form(const uint8_t *v, size_t len, bool upper, uint8_t *out)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = (uint8_t)d[v[i] >> 4];
        out[2 * i + 1] = (uint8_t)d[v[i] & 15];
    }
    return 2 * len;
}

static size_t url_form(const uint8_t *v, size_t len, bool upper, uint8_t *out)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = v[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            out[n++] = c;
        } else {
            out[n++] = '%';
            out[n++] = (uint8_t)d[c >> 4];
            out[n++] = (uint8_t)d[c & 15];
        }
    }
    return n;
}

int scan_set_add(struct scan_set *s, const char *name, const uint8_t *value, size_t len)
{
    if (s->buckets != NULL)
        return vs_fail(VS_EINVAL, "scan set already sealed");
    char (*names)[VS_SECRET_NAME_MAX + 1] = realloc(s->names, (s->nnames + 1) * sizeof *names);
    if (names == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    s->names = names;
    (void)snprintf(s->names[s->nnames], sizeof s->names[0], "%s", name);
    uint32_t secret = (uint32_t)s->nnames++;
    /* room for every form: raw, 6 base64 (4/3 each), 2 hex, 2 url (3x) */
    int rc = grow_arena(s, len * 20 + 64);
    if (rc != 0)
        return rc;
    size_t off = s->arena_len;
    memcpy(s->arena + off, value, len);
    rc = keep(s, off, len, secret, "raw");
    static const struct { const char *alphabet, *form[3]; } b64[] = {
        {b64_std, {"base64", "base64", "base64"}}, {b64_url, {"base64url", "base64url", "base64url"}}};
    for (size_t a = 0; rc == 0 && a < 2; a++)
        for (unsigned pad = 0; rc == 0 && pad < 3; pad++) {
            off = s->arena_len;
            rc = keep(s, off, b64_form(value, len, pad, b64[a].alphabet, s->arena + off), secret, b64[a].form[pad]);
        }
    for (int up = 0; rc == 0 && up < 2; up++) {
        off = s->arena_len;
        rc = keep(s, off, hex_form(value, len, up != 0, s->arena + off), secret, "hex");
    }
    for (int up = 0; rc == 0 && up < 2; up++) {
        off = s->arena_len;
        rc = keep(s, off, url_form(value, len, up != 0, s->arena + off), secret, "url-encoded");
    }
    return rc;
}

static uint32_t bucket_of(const struct scan_set *s, uint32_t key)
{
    return (uint32_t)((key * 2654435761u) >> s->shift);
}

int scan_set_seal(struct scan_set *s)
{
    uint32_t bits = 4;
    while (bits < 28 && ((size_t)1 << bits) < s->n * 4)
        bits++;
    s->shift = 32 - bits;
    s->buckets = malloc(((size_t)1 << bits) * sizeof *s->buckets);
    if (s->buckets == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    memset(s->buckets, 0xff, ((size_t)1 << bits) * sizeof *s->buckets);
    for (size_t i = 0; i < s->n; i++) {
        uint32_t b = bucket_of(s, load32(s->arena + s->pats[i].off));
        s->pats[i].next = s->buckets[b];
        s->buckets[b] = (int32_t)i;
    }
    return 0;
}

/* Finds already reported on the current line: (secret, form) pairs. */
struct seen {
    unsigned line;
    size_t n;
    struct { uint32_t secret; const char *form; } v[32];
};

static bool seen_before(struct seen *sn, unsigned line, uint32_t secret, const char *form)
{
    if (sn->line != line) {
        sn->line = line;
        sn->n = 0;
    }
    for (size_t i = 0; i < sn->n; i++)
        if (sn->v[i].secret == secret && strcmp(sn->v[i].form, form) == 0)
            return true;
    if (sn->n < sizeof sn->v / sizeof sn->v[0]) {
        sn->v[sn->n].secret = secret;
        sn->v[sn->n].form = form;
        sn->n++;
    }
    return false;
}

int scan_buffer(const struct scan_set *s, const uint8_t *text, size_t len, scan_hit_fn hit, void *ctx)
{
    if (s->buckets == NULL || len < 4)
        return 0;
    unsigned line = 1;
    size_t counted = 0; /* newlines counted up to here */
    struct seen sn = {0};
    for (size_t i = 0; i + 4 <= len; i++) {
        uint32_t key = load32(text + i);
        for (int32_t p = s->buckets[bucket_of(s, key)]; p >= 0; p = s->pats[p].next) {
            const struct pattern *pt = &s->pats[p];
            /* no copy of a pattern's bytes outside the locked arena, so
             * the first 4 are compared there too */
            if (pt->len > len - i || memcmp(s->arena + pt->off, text + i, pt->len) != 0)
                continue;
            for (; counted < i; counted++)
                line += text[counted] == '\n';
            if (seen_before(&sn, line, pt->secret, pt->form))
                continue;
            int rc = hit(ctx, line, s->names[pt->secret], pt->form);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int scan_print_hit(void *ctx, unsigned line, const char *name, const char *form)
{
    struct scan_report *r = ctx;
    r->finds++;
    printf("%s:%u: secret %s (%s)\n", r->where, line, name, form);
    return 0;
}
