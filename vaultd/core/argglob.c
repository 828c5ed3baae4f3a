/* Argument globs. Rules this file keeps:
 * 1. A pattern is compiled once; a malformed one is refused, never guessed.
 * 2. '*' never crosses an argument boundary; only a final "**" token spans
 *    arguments.
 * 3. Matching is iterative (no recursion) and bounded by
 *    O(len(token) * len(argument)) per token. */
#include "argglob.h"

#include "error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op_kind { OP_LIT, OP_ANY, OP_STAR, OP_CLASS };

struct op {
    uint8_t kind;
    uint8_t ch;     /* OP_LIT */
    uint32_t cls;   /* OP_CLASS: index into classes */
};

struct cls {
    uint8_t bits[32];
};

struct token {
    size_t first; /* index into ops */
    size_t n;
};

struct vs_argglob {
    char *pattern;
    char *deny_reason;
    struct op *ops;
    size_t nops;
    struct cls *classes;
    size_t nclasses;
    struct token *tokens;
    size_t ntokens;
    bool rest; /* final "**" */
};

static void cls_set(struct cls *c, unsigned char lo, unsigned char hi)
{
    for (unsigned v = lo; v <= hi; v++)
        c->bits[v >> 3] |= (uint8_t)(1u << (v & 7));
}

static bool cls_has(const struct cls *c, unsigned char v)
{
    return (c->bits[v >> 3] >> (v & 7)) & 1u;
}

/* Parses a class starting at p[*i] == '['; on success *i is past ']'. */
static int parse_class(const char *p, size_t *i, struct cls *c)
{
    size_t start = *i;
    size_t j = start + 1;
    bool negate = false;
    memset(c, 0, sizeof *c);
    if (p[j] == '!' || p[j] == '^') {
        negate = true;
        j++;
    }
    bool first = true;
    for (;;) {
        unsigned char lo = (unsigned char)p[j];
        if (lo == '\0')
            return vs_fail(VS_EINVAL, "column %zu: '[' without closing ']'", start + 1);
        if (lo == ']' && !first)
            break;
        if (lo == '\\') {
            if (p[j + 1] == '\0')
                return vs_fail(VS_EINVAL, "column %zu: '\\' at end of pattern", j + 1);
            lo = (unsigned char)p[++j];
        }
        j++;
        unsigned char hi = lo;
        if (p[j] == '-' && p[j + 1] != ']' && p[j + 1] != '\0') {
            j++;
            hi = (unsigned char)p[j];
            if (hi == '\\') {
                if (p[j + 1] == '\0')
                    return vs_fail(VS_EINVAL, "column %zu: '\\' at end of pattern", j + 1);
                hi = (unsigned char)p[++j];
            }
            j++;
            if (hi < lo)
                return vs_fail(VS_EINVAL, "column %zu: reversed range in class", start + 1);
        }
        cls_set(c, lo, hi);
        first = false;
    }
    if (negate)
        for (size_t k = 0; k < sizeof c->bits; k++)
            c->bits[k] = (uint8_t)~c->bits[k];
    *i = j + 1;
    return 0;
}

void vs_argglob_free(struct vs_argglob *g)
{
    if (g == NULL)
        return;
    free(g->pattern);
    free(g->deny_reason);
    free(g->ops);
    free(g->classes);
    free(g->tokens);
    free(g);
}

int vs_argglob_compile(const char *pattern, struct vs_argglob **out)
{
    *out = NULL;
    if (pattern == NULL)
        return vs_fail(VS_EINVAL, "no pattern");
    size_t len = strnlen(pattern, VS_ARGGLOB_MAX_PATTERN + 1);
    if (len > VS_ARGGLOB_MAX_PATTERN)
        return vs_fail(VS_EINVAL, "pattern longer than %d bytes", VS_ARGGLOB_MAX_PATTERN);

    struct vs_argglob *g = calloc(1, sizeof *g);
    if (g == NULL)
        return vs_fail(VS_ENOMEM, "argument pattern: out of memory");
    /* Upper bounds: one op per byte, one class per '[', one token per two bytes. */
    size_t nbr = 0;
    for (size_t i = 0; i < len; i++)
        nbr += pattern[i] == '[';
    size_t need = sizeof "deny_args \"\"" + len;
    g->pattern = strdup(pattern);
    g->deny_reason = malloc(need);
    g->ops = calloc(len + 1, sizeof *g->ops);
    g->classes = calloc(nbr + 1, sizeof *g->classes);
    g->tokens = calloc(len / 2 + 2, sizeof *g->tokens);
    if (g->pattern == NULL || g->deny_reason == NULL || g->ops == NULL || g->classes == NULL ||
        g->tokens == NULL) {
        vs_argglob_free(g);
        return vs_fail(VS_ENOMEM, "argument pattern: out of memory");
    }
    int n = snprintf(g->deny_reason, need, "deny_args \"%s\"", pattern);
    if (n < 0 || (size_t)n >= need) {
        vs_argglob_free(g);
        return vs_fail(VS_EINVAL, "argument pattern: cannot format");
    }

    size_t i = 0;
    int rc = 0;
    while (i < len && rc == 0) {
        if (pattern[i] == ' ') {
            i++;
            continue;
        }
        if (g->rest) {
            rc = vs_fail(VS_EINVAL, "column %zu: \"**\" must be the last token", i + 1);
            break;
        }
        if (pattern[i] == '*' && pattern[i + 1] == '*' && (i + 2 == len || pattern[i + 2] == ' ')) {
            g->rest = true;
            i += 2;
            continue;
        }
        struct token *t = &g->tokens[g->ntokens++];
        t->first = g->nops;
        while (i < len && pattern[i] != ' ') {
            char c = pattern[i];
            struct op *o = &g->ops[g->nops];
            if (c == '*') {
                i++;
                if (g->nops > t->first && g->ops[g->nops - 1].kind == OP_STAR)
                    continue; /* "**" inside a token is one star */
                o->kind = OP_STAR;
            } else if (c == '?') {
                o->kind = OP_ANY;
                i++;
            } else if (c == '[') {
                rc = parse_class(pattern, &i, &g->classes[g->nclasses]);
                if (rc != 0)
                    break;
                o->kind = OP_CLASS;
                o->cls = (uint32_t)g->nclasses++;
            } else if (c == '\\') {
                if (i + 1 >= len) {
                    rc = vs_fail(VS_EINVAL, "column %zu: '\\' at end of pattern", i + 1);
                    break;
                }
                o->kind = OP_LIT;
                o->ch = (uint8_t)pattern[i + 1];
                i += 2;
            } else {
                o->kind = OP_LIT;
                o->ch = (uint8_t)c;
                i++;
            }
            g->nops++;
        }
        t->n = g->nops - t->first;
    }
    if (rc != 0) {
        vs_argglob_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

static bool op_matches(const struct vs_argglob *g, const struct op *o, unsigned char c)
{
    switch (o->kind) {
    case OP_LIT: return o->ch == c;
    case OP_ANY: return true;
    case OP_CLASS: return cls_has(&g->classes[o->cls], c);
    default: return false;
    }
}

static bool token_match(const struct vs_argglob *g, const struct token *t, const char *arg)
{
    const struct op *p = g->ops + t->first;
    size_t np = t->n, pi = 0;
    const unsigned char *s = (const unsigned char *)arg;
    size_t star = SIZE_MAX;
    const unsigned char *resume = NULL;
    while (*s != '\0') {
        if (pi < np && p[pi].kind == OP_STAR) {
            star = pi++;
            resume = s;
        } else if (pi < np && op_matches(g, &p[pi], *s)) {
            pi++;
            s++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (pi < np && p[pi].kind == OP_STAR)
        pi++;
    return pi == np;
}

bool vs_argglob_match(const struct vs_argglob *g, int argc, char *const argv[])
{
    if (g == NULL || argc < 0 || (argc > 0 && argv == NULL))
        return false;
    size_t n = (size_t)argc;
    if (n < g->ntokens || (n > g->ntokens && !g->rest))
        return false;
    for (size_t i = 0; i < g->ntokens; i++)
        if (argv[i] == NULL || !token_match(g, &g->tokens[i], argv[i]))
            return false;
    return true;
}

const char *vs_argglob_pattern(const struct vs_argglob *g)
{
    return g->pattern;
}

const char *vs_argglob_deny_reason(const struct vs_argglob *g)
{
    return g->deny_reason;
}

int vs_args_decide(const struct vs_arglist *allow, const struct vs_arglist *deny,
                   int argc, char *const argv[], const char **why)
{
    const char *reason = NULL;
    for (size_t i = 0; deny != NULL && i < deny->n && reason == NULL; i++)
        if (vs_argglob_match(deny->v[i], argc, argv))
            reason = vs_argglob_deny_reason(deny->v[i]);
    if (reason == NULL && allow != NULL && allow->present) {
        bool ok = false;
        for (size_t i = 0; i < allow->n && !ok; i++)
            ok = vs_argglob_match(allow->v[i], argc, argv);
        if (!ok)
            reason = "no allow_args pattern matches";
    }
    if (why != NULL)
        *why = reason;
    if (reason == NULL)
        return 0;
    return vs_fail(VS_EPOLICY, "%s", reason);
}

int vs_arglist_add(struct vs_arglist *l, const char *pattern)
{
    struct vs_argglob *g;
    int rc = vs_argglob_compile(pattern, &g);
    if (rc != 0)
        return rc;
    struct vs_argglob **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (v == NULL) {
        vs_argglob_free(g);
        return vs_fail(VS_ENOMEM, "argument pattern: out of memory");
    }
    v[l->n++] = g;
    l->v = v;
    l->present = true;
    return 0;
}

void vs_arglist_free(struct vs_arglist *l)
{
    for (size_t i = 0; i < l->n; i++)
        vs_argglob_free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
    l->present = false;
}
