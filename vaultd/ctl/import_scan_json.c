/* ~/.docker/config.json: the "auth" (and "identitytoken") strings of each
 * registry under the top-level "auths" object. A small strict scanner that
 * records offsets; the member is cut with the JSON kept valid: with the
 * comma after it, or the comma before it when it is last, or everything
 * between the braces when it is alone. Anything it cannot read is skipped
 * whole (nothing found), never half-cut. */
#include "import.h"

#include "error.h"
#include "store.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 64

struct js {
    const uint8_t *t;
    size_t len, pos;
    bool bad;
};

static void ws(struct js *j)
{
    while (j->pos < j->len && (j->t[j->pos] == ' ' || j->t[j->pos] == '\t' || j->t[j->pos] == '\n' ||
                               j->t[j->pos] == '\r'))
        j->pos++;
}

static bool eat(struct js *j, uint8_t c)
{
    ws(j);
    if (j->pos < j->len && j->t[j->pos] == c) {
        j->pos++;
        return true;
    }
    return false;
}

/* A string: sets the span inside the quotes; *escaped when it holds '\'. */
static bool string(struct js *j, size_t *off, size_t *len, bool *escaped)
{
    ws(j);
    if (j->pos >= j->len || j->t[j->pos] != '"')
        return !(j->bad = true);
    size_t s = ++j->pos;
    *escaped = false;
    while (j->pos < j->len && j->t[j->pos] != '"') {
        if (j->t[j->pos] < 0x20)
            return !(j->bad = true);
        if (j->t[j->pos] == '\\') {
            *escaped = true;
            j->pos++;
        }
        j->pos++;
    }
    if (j->pos >= j->len)
        return !(j->bad = true);
    *off = s;
    *len = j->pos - s;
    j->pos++;
    return true;
}

static bool skip_value(struct js *j, int depth);

static bool skip_container(struct js *j, uint8_t close, int depth)
{
    if (eat(j, close))
        return true;
    do {
        size_t o, l;
        bool e;
        if (close == '}' && (!string(j, &o, &l, &e) || !eat(j, ':')))
            return !(j->bad = true);
        if (!skip_value(j, depth + 1))
            return false;
    } while (eat(j, ','));
    return eat(j, close) || !(j->bad = true);
}

static bool skip_value(struct js *j, int depth)
{
    if (depth > MAX_DEPTH)
        return !(j->bad = true);
    ws(j);
    if (j->pos >= j->len)
        return !(j->bad = true);
    uint8_t c = j->t[j->pos];
    if (c == '"') {
        size_t o, l;
        bool e;
        return string(j, &o, &l, &e);
    }
    if (c == '{' || c == '[') {
        j->pos++;
        return skip_container(j, c == '{' ? '}' : ']', depth);
    }
    size_t s = j->pos;
    while (j->pos < j->len && strchr(",}] \t\r\n", j->t[j->pos]) == NULL)
        j->pos++;
    return j->pos > s || !(j->bad = true);
}

static unsigned line_of(const uint8_t *t, size_t off)
{
    unsigned n = 1;
    for (size_t i = 0; i < off; i++)
        n += t[i] == '\n';
    return n;
}

/* One registry's object: finds "auth" and "identitytoken" members. */
static int registry(struct js *j, const char *reg, uint8_t *buf, struct imp_finds *out)
{
    size_t open_brace = j->pos; /* just after '{' */
    size_t prev_end = 0;        /* end of the previous member's value; 0: none */
    if (eat(j, '}'))
        return 0;
    do {
        ws(j);
        size_t key_start = j->pos, ko, kl, vo = 0, vl = 0;
        bool ke, ve = false;
        if (!string(j, &ko, &kl, &ke) || !eat(j, ':'))
            return 0;
        ws(j);
        bool want = !ke && ((kl == 4 && memcmp(j->t + ko, "auth", 4) == 0) ||
                            (kl == 13 && memcmp(j->t + ko, "identitytoken", 13) == 0));
        bool is_string = j->pos < j->len && j->t[j->pos] == '"';
        if (want && is_string) {
            if (!string(j, &vo, &vl, &ve))
                return 0;
        } else if (!skip_value(j, 2)) {
            return 0;
        }
        size_t value_end = j->pos;
        bool comma = eat(j, ',');
        if (want && is_string && !ve && vl > 0 && vl <= VS_VALUE_MAX) {
            struct imp_line l = {.off = key_start, .len = 0, .end = key_start, .number = line_of(j->t, key_start)};
            memcpy(buf, j->t + vo, vl);
            int rc = imp_add(out, &l, vo, vl, buf, vl, false);
            sodium_memzero(buf, vl);
            if (rc != 0)
                return rc;
            struct imp_find *f = &out->v[out->n - 1];
            if (comma) { /* up to the next member */
                ws(j);
                f->cut_off = key_start;
                f->cut_len = j->pos - key_start;
            } else if (prev_end != 0) { /* last: the comma before goes */
                f->cut_off = prev_end;
                f->cut_len = value_end - prev_end;
            } else { /* alone: the braces are left empty */
                ws(j);
                f->cut_off = open_brace;
                f->cut_len = j->pos - open_brace;
            }
            imp_hint(f->hint, sizeof f->hint, "docker.%s.%.*s", reg, (int)kl, (const char *)j->t + ko);
            (void)snprintf(f->what, sizeof f->what, "%.*s for %s", (int)kl, (const char *)j->t + ko, reg);
        }
        prev_end = value_end;
        if (!comma)
            break;
    } while (1);
    (void)eat(j, '}');
    return 0;
}

static void registry_name(const struct js *j, size_t off, size_t len, char *out, size_t cap)
{
    /* "https://index.docker.io/v1/" -> "index.docker.io" */
    const uint8_t *s = j->t + off;
    const uint8_t *sep = len > 3 ? memmem(s, len, "://", 3) : NULL;
    size_t a = sep != NULL ? (size_t)(sep - s) + 3 : 0, b = a;
    while (b < len && s[b] != '/')
        b++;
    (void)snprintf(out, cap, "%.*s", (int)(b - a), (const char *)s + a);
}

int imp_parse_docker(const uint8_t *text, size_t len, uint8_t *buf, struct imp_finds *out)
{
    struct js j = {.t = text, .len = len};
    size_t first = out->n;
    if (!eat(&j, '{') || eat(&j, '}'))
        return 0;
    do {
        size_t ko, kl;
        bool ke;
        if (!string(&j, &ko, &kl, &ke) || !eat(&j, ':'))
            break;
        if (kl == 5 && memcmp(text + ko, "auths", 5) == 0 && eat(&j, '{')) {
            if (eat(&j, '}'))
                continue;
            do {
                size_t ro, rl;
                bool re;
                char reg[128];
                if (!string(&j, &ro, &rl, &re) || !eat(&j, ':'))
                    break;
                registry_name(&j, ro, rl, reg, sizeof reg);
                if (eat(&j, '{')) {
                    int rc = registry(&j, reg, buf, out);
                    if (rc != 0)
                        return rc;
                } else if (!skip_value(&j, 2)) {
                    break;
                }
            } while (eat(&j, ','));
            if (!eat(&j, '}'))
                j.bad = true;
        } else if (!skip_value(&j, 1)) {
            break;
        }
    } while (!j.bad && eat(&j, ','));
    if (j.bad || !eat(&j, '}')) {
        /* unreadable: find nothing rather than cut into a file we misread */
        while (out->n > first) {
            out->n--;
            sodium_free(out->v[out->n].value);
        }
    }
    return 0;
}
