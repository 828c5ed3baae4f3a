/* Text helpers the import parsers share: lines (LF or CRLF), finds, hints,
 * credential-like names and shell assignment values. */
#include "import.h"

#include "error.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool imp_next_line(const uint8_t *text, size_t len, size_t *pos, struct imp_line *line)
{
    if (*pos >= len)
        return false;
    size_t start = *pos;
    const uint8_t *nl = memchr(text + start, '\n', len - start);
    size_t stop = nl != NULL ? (size_t)(nl - text) : len;
    line->off = start;
    line->len = stop - start;
    if (line->len > 0 && text[stop - 1] == '\r')
        line->len--;
    line->end = nl != NULL ? stop + 1 : len;
    line->number++;
    *pos = line->end;
    return true;
}

void imp_cut_line(const uint8_t *text, size_t len, const struct imp_line *line, struct imp_find *f)
{
    (void)len;
    size_t off = line->off, end = line->end;
    if (end == line->off + line->len && off > 0) {
        /* no terminator: take the one before, so the file still ends bare */
        off--;
        if (off > 0 && text[off - 1] == '\r')
            off--;
    }
    f->cut_off = off;
    f->cut_len = end - off;
}

void imp_finds_free(struct imp_finds *f)
{
    for (size_t i = 0; i < f->n; i++)
        sodium_free(f->v[i].value);
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}

int imp_add(struct imp_finds *out, const struct imp_line *line, size_t raw_off, size_t raw_len,
            const uint8_t *value, size_t value_len, bool comment)
{
    if (out->n == out->cap) {
        size_t cap = out->cap == 0 ? 8 : out->cap * 2;
        struct imp_find *v = realloc(out->v, cap * sizeof *v);
        if (v == NULL)
            return vs_fail(VS_ENOMEM, "out of memory");
        out->v = v;
        out->cap = cap;
    }
    struct imp_find *f = &out->v[out->n];
    memset(f, 0, sizeof *f);
    f->value = sodium_malloc(value_len + 1);
    if (f->value == NULL)
        return vs_fail(VS_ENOMEM, "out of locked memory");
    memcpy(f->value, value, value_len);
    f->value[value_len] = 0;
    f->value_len = value_len;
    f->line = line->number;
    f->raw_off = raw_off;
    f->raw_len = raw_len;
    f->comment = comment;
    if (comment) {
        /* the line's content from its first non-blank byte; the terminator stays */
        f->cut_off = line->off;
        f->cut_len = line->len;
    }
    out->n++;
    return 0;
}

void imp_hint(char *out, size_t cap, const char *fmt, ...)
{
    char raw[512];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    size_t n = 0;
    for (const char *p = raw; *p != '\0' && n + 1 < cap; p++) {
        char c = *p;
        out[n++] = (isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-') ? c : '_';
    }
    out[n] = '\0';
}

/* Credential-like env names. The list (kept in docs/import-and-scan.md):
 * exact names, suffixes, and words anywhere; a name ending in a suffix that
 * says it holds a reference (a path, a URL, a file, an id other than AWS's
 * key id) is not one. */
static const char *const exact_names[] = {"API_KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD",
                                          "AWS_ACCESS_KEY_ID", "SECRET_KEY_BASE"};
static const char *const suffixes[] = {"_TOKEN", "_KEY", "_SECRET", "_PASSWORD", "_PASSWD", "_PASS", "_PWD",
                                       "_APIKEY", "_API_KEY", "_AUTH", "_CREDENTIALS", "_ACCESS_KEY_ID"};
static const char *const words[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY"};
static const char *const not_suffixes[] = {"_FILE", "_PATH", "_DIR", "_URL", "_URI", "_HOST", "_NAME", "_ID",
                                           "_TYPE", "_ENABLED", "_EXPIRY", "_TTL", "_LENGTH", "_HEADER"};

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool imp_credential_name(const char *name)
{
    char up[IMP_ENV_NAME_MAX + 1];
    size_t n = strnlen(name, sizeof up);
    if (n == 0 || n >= sizeof up)
        return false;
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    for (size_t i = 0; i < sizeof exact_names / sizeof exact_names[0]; i++)
        if (strcmp(up, exact_names[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (ends_with(up, n, suffixes[i]))
            return true;
    for (size_t i = 0; i < sizeof not_suffixes / sizeof not_suffixes[0]; i++)
        if (ends_with(up, n, not_suffixes[i]))
            return false;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(up, words[i]) != NULL)
            return true;
    return false;
}

/* A value a shell (or a dotenv loader) takes literally: no $, no backquote
 * in unquoted or double-quoted text; in double quotes \" \\ \$ \` are the
 * escapes; single quotes take everything. An unquoted value ends at
 * blank-then-# (a comment) or the end. */
int imp_shell_value(const uint8_t *text, size_t start, size_t end, size_t *raw_len, uint8_t *buf, size_t cap,
                    size_t *out_len)
{
    size_t p = start, n = 0;
    if (p < end && (text[p] == '\'' || text[p] == '"')) {
        uint8_t q = text[p++];
        for (;;) {
            if (p >= end)
                return -1; /* unbalanced */
            uint8_t c = text[p];
            if (c == q) {
                p++;
                break;
            }
            if (q == '"' && (c == '$' || c == '`'))
                return -1;
            if (q == '"' && c == '\\' && p + 1 < end && strchr("\"\\$`", text[p + 1]) != NULL)
                c = text[++p];
            if (n >= cap)
                return -1;
            buf[n++] = c;
            p++;
        }
        /* only blanks or a comment may follow */
        size_t rest = p;
        while (rest < end && (text[rest] == ' ' || text[rest] == '\t'))
            rest++;
        if (rest < end && text[rest] != '#' && text[rest] != ';')
            return -1;
    } else {
        while (p < end) {
            uint8_t c = text[p];
            if ((c == ' ' || c == '\t') && (p + 1 >= end || text[p + 1] == '#' || text[p + 1] == ' ' ||
                                             text[p + 1] == '\t'))
                break;
            if (c == ' ' || c == '\t' || c == '$' || c == '`' || c == '\\' || c == '\'' || c == '"' || c == ';' ||
                c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>')
                return -1;
            if (n >= cap)
                return -1;
            buf[n++] = c;
            p++;
        }
        size_t rest = p;
        while (rest < end && (text[rest] == ' ' || text[rest] == '\t'))
            rest++;
        if (rest < end && text[rest] != '#')
            return -1;
    }
    if (n == 0)
        return -1;
    *raw_len = p - start;
    *out_len = n;
    return 0;
}
