#include "jsonline.h"

#include "buf.h"
#include "error.h"

#include <string.h>

struct cursor {
    const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}


/* Scans a string body after the opening quote; leaves c after the closing one. */
static int scan_string(struct cursor *c, const char **body, size_t *body_len)
{
    const char *start = c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20)
            return VS_ECORRUPT;
        if (ch == '\\') {
            if (++c->p >= c->end)
                return VS_ECORRUPT;
            if (*c->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (c->p + i >= c->end || vs_hex_digit(c->p[i]) < 0)
                        return VS_ECORRUPT;
                c->p += 4;
            } else if (strchr("\"\\/bfnrt", *c->p) == NULL) {
                return VS_ECORRUPT;
            }
        }
        c->p++;
    }
    if (c->p >= c->end)
        return VS_ECORRUPT;
    *body = start;
    *body_len = (size_t)(c->p - start);
    c->p++;
    return 0;
}

static int scan_value(struct cursor *c, struct vs_json_field *f)
{
    if (c->p >= c->end)
        return VS_ECORRUPT;
    if (*c->p == '"') {
        c->p++;
        f->kind = VS_JSON_STRING;
        return scan_string(c, &f->value, &f->value_len);
    }
    f->value = c->p;
    if (*c->p == '[') {
        f->kind = VS_JSON_ARRAY;
        c->p++;
        skip_ws(c);
        if (c->p < c->end && *c->p == ']') {
            c->p++;
        } else {
            for (;;) {
                const char *s;
                size_t n;
                if (c->p >= c->end || *c->p != '"')
                    return VS_ECORRUPT;
                c->p++;
                if (scan_string(c, &s, &n) != 0)
                    return VS_ECORRUPT;
                skip_ws(c);
                if (c->p < c->end && *c->p == ',') {
                    c->p++;
                    skip_ws(c);
                    continue;
                }
                if (c->p < c->end && *c->p == ']') {
                    c->p++;
                    break;
                }
                return VS_ECORRUPT;
            }
        }
    } else if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
        f->kind = VS_JSON_INT;
        if (*c->p == '-')
            c->p++;
        const char *digits = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
        if (c->p == digits || c->p - digits > 20 || (c->p - digits > 1 && *digits == '0'))
            return VS_ECORRUPT;
    } else {
        static const struct { const char *word; enum vs_json_kind kind; } words[] = {
            {"true", VS_JSON_BOOL}, {"false", VS_JSON_BOOL}, {"null", VS_JSON_NULL}};
        size_t i;
        for (i = 0; i < sizeof words / sizeof words[0]; i++) {
            size_t n = strlen(words[i].word);
            if ((size_t)(c->end - c->p) >= n && memcmp(c->p, words[i].word, n) == 0) {
                c->p += n;
                f->kind = words[i].kind;
                break;
            }
        }
        if (i == sizeof words / sizeof words[0])
            return VS_ECORRUPT;
    }
    f->value_len = (size_t)(c->p - f->value);
    return 0;
}

static bool key_ok(const char *key, size_t len)
{
    if (len == 0 || len > 32)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((key[i] >= 'a' && key[i] <= 'z') || key[i] == '_'))
            return false;
    return true;
}

int vs_jsonline_parse(const char *line, size_t len, struct vs_jsonline *out)
{
    struct cursor c = {line, line + len};
    out->nfields = 0;
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != '{')
        return vs_fail(VS_ECORRUPT, "not a JSON object");
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
    } else {
        for (;;) {
            if (out->nfields == VS_JSONLINE_MAX_FIELDS)
                return vs_fail(VS_ECORRUPT, "too many fields");
            struct vs_json_field *f = &out->fields[out->nfields];
            skip_ws(&c);
            if (c.p >= c.end || *c.p++ != '"' || scan_string(&c, &f->key, &f->key_len) != 0 ||
                !key_ok(f->key, f->key_len))
                return vs_fail(VS_ECORRUPT, "bad key at byte %zu", (size_t)(c.p - line));
            for (size_t i = 0; i < out->nfields; i++)
                if (out->fields[i].key_len == f->key_len && memcmp(out->fields[i].key, f->key, f->key_len) == 0)
                    return vs_fail(VS_ECORRUPT, "duplicate key at byte %zu", (size_t)(c.p - line));
            skip_ws(&c);
            if (c.p >= c.end || *c.p++ != ':')
                return vs_fail(VS_ECORRUPT, "expected ':' at byte %zu", (size_t)(c.p - line));
            skip_ws(&c);
            if (scan_value(&c, f) != 0)
                return vs_fail(VS_ECORRUPT, "bad value at byte %zu", (size_t)(c.p - line));
            out->nfields++;
            skip_ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                continue;
            }
            if (c.p < c.end && *c.p == '}') {
                c.p++;
                break;
            }
            return vs_fail(VS_ECORRUPT, "expected ',' or '}' at byte %zu", (size_t)(c.p - line));
        }
    }
    skip_ws(&c);
    if (c.p != c.end)
        return vs_fail(VS_ECORRUPT, "trailing bytes after the object");
    return 0;
}

const struct vs_json_field *vs_jsonline_find(const struct vs_jsonline *j, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < j->nfields; i++)
        if (j->fields[i].key_len == n && memcmp(j->fields[i].key, key, n) == 0)
            return &j->fields[i];
    return NULL;
}

int vs_jsonline_get_str(const struct vs_jsonline *j, const char *key, char *out, size_t cap)
{
    const struct vs_json_field *f = vs_jsonline_find(j, key);
    if (f == NULL || f->kind != VS_JSON_STRING)
        return VS_ENOENT;
    size_t o = 0;
    for (size_t i = 0; i < f->value_len; i++) {
        char ch = f->value[i];
        if (ch == '\\') {
            char e = f->value[++i]; /* the scanner guarantees a complete escape */
            if (e == 'u') {
                unsigned code = 0;
                for (int k = 1; k <= 4; k++)
                    code = code * 16 + (unsigned)vs_hex_digit(f->value[i + (size_t)k]);
                i += 4;
                if (code == 0 || code > 0x7f)
                    return VS_ECORRUPT; /* the writer only escapes control bytes */
                ch = (char)code;
            } else {
                const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
                ch = to[strchr(from, e) - from];
            }
        }
        if (o + 1 >= cap)
            return VS_ETOOBIG;
        out[o++] = ch;
    }
    if (cap == 0)
        return VS_ETOOBIG;
    out[o] = '\0';
    return 0;
}

int vs_jsonline_get_u64(const struct vs_jsonline *j, const char *key, uint64_t *out)
{
    const struct vs_json_field *f = vs_jsonline_find(j, key);
    if (f == NULL || f->kind != VS_JSON_INT || f->value[0] == '-')
        return VS_ENOENT;
    uint64_t v = 0;
    for (size_t i = 0; i < f->value_len; i++) {
        uint64_t digit = (uint64_t)(f->value[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return VS_ETOOBIG;
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}
