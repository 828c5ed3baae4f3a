/* ~/.netrc: whitespace-separated tokens, in the one-line form
 * ("machine h login u password p") or spread over lines. Each "password
 * VALUE" pair is cut: its whole line when it is alone there, else just the
 * pair with the blanks before it. macdef bodies (up to an empty line) are
 * skipped. */
#include "import.h"

#include "error.h"
#include "store.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

struct tok {
    size_t off, len; /* raw, quotes included */
    unsigned line;
};

struct lexer {
    const uint8_t *text;
    size_t len, pos;
    unsigned line;
};

static bool space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool next_tok(struct lexer *lx, struct tok *t)
{
    while (lx->pos < lx->len && space(lx->text[lx->pos])) {
        if (lx->text[lx->pos] == '\n')
            lx->line++;
        lx->pos++;
    }
    if (lx->pos >= lx->len)
        return false;
    t->off = lx->pos;
    t->line = lx->line;
    if (lx->text[lx->pos] == '"') {
        lx->pos++;
        while (lx->pos < lx->len && lx->text[lx->pos] != '"' && lx->text[lx->pos] != '\n') {
            if (lx->text[lx->pos] == '\\' && lx->pos + 1 < lx->len)
                lx->pos++;
            lx->pos++;
        }
        if (lx->pos < lx->len && lx->text[lx->pos] == '"')
            lx->pos++;
    } else {
        while (lx->pos < lx->len && !space(lx->text[lx->pos]))
            lx->pos++;
    }
    t->len = lx->pos - t->off;
    return true;
}

static bool tok_is(const struct lexer *lx, const struct tok *t, const char *word)
{
    return t->len == strlen(word) && memcmp(lx->text + t->off, word, t->len) == 0;
}

/* The token's value: quotes off, \x escapes resolved. */
static size_t tok_value(const struct lexer *lx, const struct tok *t, uint8_t *buf)
{
    const uint8_t *s = lx->text + t->off;
    size_t n = 0;
    if (t->len >= 2 && s[0] == '"' && s[t->len - 1] == '"') {
        for (size_t i = 1; i + 1 < t->len && n < VS_VALUE_MAX; i++) {
            if (s[i] == '\\' && i + 2 < t->len)
                i++;
            buf[n++] = s[i];
        }
        return n;
    }
    n = t->len < VS_VALUE_MAX ? t->len : VS_VALUE_MAX;
    memcpy(buf, s, n);
    return n;
}

static void skip_macdef(struct lexer *lx)
{
    /* the body runs from the next line to the first empty line */
    const uint8_t *nl = memchr(lx->text + lx->pos, '\n', lx->len - lx->pos);
    while (nl != NULL) {
        lx->line++;
        size_t p = (size_t)(nl - lx->text) + 1;
        if (p < lx->len && lx->text[p] == '\r')
            p++;
        if (p >= lx->len || lx->text[p] == '\n') {
            lx->pos = p;
            return;
        }
        nl = memchr(lx->text + p, '\n', lx->len - p);
    }
    lx->pos = lx->len;
}

static struct imp_line line_around(const uint8_t *text, size_t len, size_t at, unsigned number)
{
    size_t s = at, e = at;
    while (s > 0 && text[s - 1] != '\n')
        s--;
    while (e < len && text[e] != '\n')
        e++;
    struct imp_line l = {.off = s, .len = e - s, .end = e < len ? e + 1 : len, .number = number};
    if (l.len > 0 && text[s + l.len - 1] == '\r')
        l.len--;
    return l;
}

static bool blanks(const uint8_t *text, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (text[i] != ' ' && text[i] != '\t')
            return false;
    return true;
}

static void set_cut(const uint8_t *text, size_t len, const struct tok *kw, const struct tok *val, struct imp_find *f)
{
    struct imp_line l = line_around(text, len, kw->off, kw->line);
    size_t vend = val->off + val->len;
    bool same_line = val->line == kw->line;
    if (same_line && blanks(text, l.off, kw->off) && blanks(text, vend, l.off + l.len)) {
        imp_cut_line(text, len, &l, f);
        return;
    }
    size_t from = kw->off, to = vend;
    if (!blanks(text, l.off, kw->off)) {
        while (from > l.off && (text[from - 1] == ' ' || text[from - 1] == '\t'))
            from--; /* "... login u password p": the blanks before go too */
    } else {
        while (to < len && (text[to] == ' ' || text[to] == '\t'))
            to++; /* "password p login u": the blanks after go */
    }
    f->cut_off = from;
    f->cut_len = to - from;
}

int imp_parse_netrc(const uint8_t *text, size_t len, uint8_t *buf, struct imp_finds *out)
{
    struct lexer lx = {.text = text, .len = len, .line = 1};
    char machine[128] = "default";
    struct tok t, v;
    while (next_tok(&lx, &t)) {
        if (tok_is(&lx, &t, "macdef")) {
            (void)next_tok(&lx, &v);
            skip_macdef(&lx);
        } else if (tok_is(&lx, &t, "default")) {
            (void)snprintf(machine, sizeof machine, "default");
        } else if (tok_is(&lx, &t, "machine") && next_tok(&lx, &v)) {
            (void)snprintf(machine, sizeof machine, "%.*s", (int)(v.len < 100 ? v.len : 100),
                           (const char *)text + v.off);
        } else if ((tok_is(&lx, &t, "login") || tok_is(&lx, &t, "account")) && next_tok(&lx, &v)) {
            continue;
        } else if (tok_is(&lx, &t, "password") && next_tok(&lx, &v)) {
            size_t n = tok_value(&lx, &v, buf);
            if (n == 0)
                continue;
            struct imp_line l = line_around(text, len, v.off, v.line);
            int rc = imp_add(out, &l, v.off, v.len, buf, n, false);
            sodium_memzero(buf, n);
            if (rc != 0)
                return rc;
            struct imp_find *f = &out->v[out->n - 1];
            f->line = t.line;
            set_cut(text, len, &t, &v, f);
            imp_hint(f->hint, sizeof f->hint, "netrc.%s", machine);
            (void)snprintf(f->what, sizeof f->what, "password for machine %s", machine);
        }
    }
    return 0;
}
