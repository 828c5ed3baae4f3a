/* Finding credentials in line-based files: ~/.npmrc, ~/.aws/credentials,
 * ~/.pypirc, ~/.config/gh/hosts.yml and ~/.git-credentials. Each secret line
 * is cut whole (the shim serves the file from a template). The other kinds
 * live in import_scan_netrc.c, import_scan_json.c and import_scan_env.c. */
#include "import.h"

#include "error.h"
#include "store.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

const char *imp_kind_name(enum imp_kind kind)
{
    static const char *const names[] = {"npmrc", "netrc", "aws credentials", "gh hosts", "pypirc",
                                        "docker config", "git credentials", ".env", "shell profile"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

static bool blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* key SEP value, with blanks around; value trimmed. Returns false when the
 * line has no separator. */
static bool split_kv(const uint8_t *text, const struct imp_line *l, const char *seps, size_t *k_off, size_t *k_len,
                     size_t *v_off, size_t *v_len)
{
    size_t p = l->off, end = l->off + l->len;
    while (p < end && blank(text[p]))
        p++;
    size_t ks = p;
    while (p < end && strchr(seps, text[p]) == NULL)
        p++;
    if (p >= end)
        return false;
    size_t ke = p;
    while (ke > ks && blank(text[ke - 1]))
        ke--;
    p++;
    while (p < end && blank(text[p]))
        p++;
    size_t ve = end;
    while (ve > p && blank(text[ve - 1]))
        ve--;
    *k_off = ks;
    *k_len = ke - ks;
    *v_off = p;
    *v_len = ve - p;
    return ke > ks;
}

static bool key_is(const uint8_t *text, size_t off, size_t len, const char *key)
{
    return len == strlen(key) && memcmp(text + off, key, len) == 0;
}

static bool comment_line(const uint8_t *text, const struct imp_line *l)
{
    size_t p = l->off, end = l->off + l->len;
    while (p < end && blank(text[p]))
        p++;
    return p >= end || text[p] == '#' || text[p] == ';';
}

/* A literal value: not empty, no ${...} reference. Quotes around it are
 * taken off (npmrc and ini files allow them). */
static bool literal(const uint8_t *text, size_t *off, size_t *len)
{
    if (*len >= 2 && (text[*off] == '"' || text[*off] == '\'') && text[*off + *len - 1] == text[*off]) {
        (*off)++;
        *len -= 2;
    }
    if (*len == 0 || *len > VS_VALUE_MAX)
        return false;
    for (size_t i = 0; i + 1 < *len; i++)
        if (text[*off + i] == '$' && text[*off + i + 1] == '{')
            return false;
    return true;
}

static int add_cut(struct imp_finds *out, const uint8_t *text, size_t len, const struct imp_line *l, size_t v_off,
                   size_t v_len)
{
    int rc = imp_add(out, l, v_off, v_len, text + v_off, v_len, false);
    if (rc == 0)
        imp_cut_line(text, len, l, &out->v[out->n - 1]);
    return rc;
}

static int parse_npmrc(const uint8_t *text, size_t len, struct imp_finds *out)
{
    static const struct { const char *suffix, *what; } keys[] = {
        {"_authToken", "token"}, {"_auth", "auth"}, {"_password", "password"}};
    struct imp_line l = {0};
    size_t pos = 0, ko, kl, vo, vl;
    while (imp_next_line(text, len, &pos, &l)) {
        if (comment_line(text, &l) || !split_kv(text, &l, "=", &ko, &kl, &vo, &vl) || !literal(text, &vo, &vl))
            continue;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            size_t sl = strlen(keys[i].suffix);
            if (kl < sl || memcmp(text + ko + kl - sl, keys[i].suffix, sl) != 0)
                continue;
            char scope[256] = "";
            if (kl > sl + 2 && text[ko] == '/' && text[ko + 1] == '/') { /* //host/path/:_authToken */
                size_t hs = ko + 2, he = hs;
                while (he < ko + kl - sl && text[he] != '/' && text[he] != ':')
                    he++;
                (void)snprintf(scope, sizeof scope, "%.*s.", (int)(he - hs), (const char *)text + hs);
            } else if (kl != sl) {
                continue; /* some other key ending alike */
            }
            int rc = add_cut(out, text, len, &l, vo, vl);
            if (rc != 0)
                return rc;
            struct imp_find *f = &out->v[out->n - 1];
            imp_hint(f->hint, sizeof f->hint, "npm.%s%s", scope, keys[i].what);
            (void)snprintf(f->what, sizeof f->what, "%.*s", (int)(kl < 120 ? kl : 120), (const char *)text + ko);
            break;
        }
    }
    return 0;
}

/* ini files: [section] then key = value (pypirc also key: value). */
static int parse_ini(const uint8_t *text, size_t len, bool pypirc, struct imp_finds *out)
{
    static const char *const aws_keys[] = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                                           "aws_security_token"};
    char section[128] = "default";
    struct imp_line l = {0};
    size_t pos = 0, ko, kl, vo, vl;
    while (imp_next_line(text, len, &pos, &l)) {
        if (comment_line(text, &l))
            continue;
        size_t p = l.off, end = l.off + l.len;
        while (p < end && blank(text[p]))
            p++;
        if (text[p] == '[') {
            const uint8_t *close = memchr(text + p, ']', end - p);
            if (close != NULL) {
                size_t s = p + 1, e = (size_t)(close - text);
                if (e - s > 8 && memcmp(text + s, "profile ", 8) == 0)
                    s += 8;
                (void)snprintf(section, sizeof section, "%.*s", (int)(e - s), (const char *)text + s);
            }
            continue;
        }
        if (!split_kv(text, &l, pypirc ? "=:" : "=", &ko, &kl, &vo, &vl) || !literal(text, &vo, &vl))
            continue;
        const char *key = NULL;
        if (pypirc && key_is(text, ko, kl, "password"))
            key = "password";
        for (size_t i = 0; !pypirc && i < sizeof aws_keys / sizeof aws_keys[0]; i++)
            if (key_is(text, ko, kl, aws_keys[i]))
                key = aws_keys[i];
        if (key == NULL)
            continue;
        int rc = add_cut(out, text, len, &l, vo, vl);
        if (rc != 0)
            return rc;
        struct imp_find *f = &out->v[out->n - 1];
        if (pypirc)
            imp_hint(f->hint, sizeof f->hint, "pypi.%s.password", section);
        else
            imp_hint(f->hint, sizeof f->hint, "aws.%s.%s", section, key + 4);
        (void)snprintf(f->what, sizeof f->what, "%s in [%s]", key, section);
    }
    return 0;
}

/* gh's hosts.yml: a host at column 0 ("github.com:"), oauth_token lines
 * below it (at any depth: newer gh nests them under users:). */
static int parse_gh(const uint8_t *text, size_t len, struct imp_finds *out)
{
    char host[128] = "github.com";
    struct imp_line l = {0};
    size_t pos = 0, ko, kl, vo, vl;
    while (imp_next_line(text, len, &pos, &l)) {
        if (comment_line(text, &l) || !split_kv(text, &l, ":", &ko, &kl, &vo, &vl))
            continue;
        if (ko == l.off && vl == 0) {
            (void)snprintf(host, sizeof host, "%.*s", (int)(kl < 100 ? kl : 100), (const char *)text + ko);
            continue;
        }
        if (!key_is(text, ko, kl, "oauth_token") || !literal(text, &vo, &vl) || memchr(text + vo, '\\', vl) != NULL)
            continue;
        int rc = add_cut(out, text, len, &l, vo, vl);
        if (rc != 0)
            return rc;
        struct imp_find *f = &out->v[out->n - 1];
        imp_hint(f->hint, sizeof f->hint, "gh.%s.oauth_token", host);
        (void)snprintf(f->what, sizeof f->what, "oauth_token for %s", host);
    }
    return 0;
}

static size_t percent_decode(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < len + 0 && (hi = vs_hex_digit((char)in[i + 1])) >= 0 &&
            (lo = vs_hex_digit((char)in[i + 2])) >= 0) {
            out[n++] = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else {
            out[n++] = in[i];
        }
    }
    return n;
}

/* ~/.git-credentials: scheme://user:password@host/path per line. */
static int parse_gitcred(const uint8_t *text, size_t len, uint8_t *buf, struct imp_finds *out)
{
    struct imp_line l = {0};
    size_t pos = 0;
    while (imp_next_line(text, len, &pos, &l)) {
        const uint8_t *s = text + l.off;
        const uint8_t *sep = l.len > 3 ? memmem(s, l.len, "://", 3) : NULL;
        if (sep == NULL)
            continue;
        size_t a = (size_t)(sep - s) + 3, b = a;
        while (b < l.len && s[b] != '/')
            b++;
        size_t at = b;
        while (at > a && s[at - 1] != '@')
            at--;
        if (at == a)
            continue; /* no userinfo */
        const uint8_t *colon = memchr(s + a, ':', at - 1 - a);
        if (colon == NULL)
            continue;
        size_t vo = (size_t)(colon - s) + 1, vl = at - 1 - vo;
        if (vl == 0 || vl > VS_VALUE_MAX)
            continue;
        size_t n = percent_decode(s + vo, vl, buf);
        int rc = imp_add(out, &l, l.off + vo, vl, buf, n, false);
        sodium_memzero(buf, n);
        if (rc != 0)
            return rc;
        struct imp_find *f = &out->v[out->n - 1];
        imp_cut_line(text, len, &l, f);
        size_t ul = (size_t)(colon - s) - a;
        imp_hint(f->hint, sizeof f->hint, "git.%.*s.%.*s", (int)(b - at < 60 ? b - at : 60), (const char *)s + at,
                 (int)(ul < 30 ? ul : 30), (const char *)s + a);
        (void)snprintf(f->what, sizeof f->what, "password for %.*s@%.*s", (int)(ul < 40 ? ul : 40),
                       (const char *)s + a, (int)(b - at < 80 ? b - at : 80), (const char *)s + at);
    }
    return 0;
}

int imp_parse(enum imp_kind kind, const uint8_t *text, size_t len, struct imp_finds *out)
{
    uint8_t *buf = sodium_malloc(VS_VALUE_MAX + 1);
    if (buf == NULL)
        return vs_fail(VS_ENOMEM, "out of locked memory");
    int rc;
    switch (kind) {
    case IMP_NPMRC: rc = parse_npmrc(text, len, out); break;
    case IMP_NETRC: rc = imp_parse_netrc(text, len, buf, out); break;
    case IMP_AWS: rc = parse_ini(text, len, false, out); break;
    case IMP_PYPIRC: rc = parse_ini(text, len, true, out); break;
    case IMP_GH: rc = parse_gh(text, len, out); break;
    case IMP_DOCKER: rc = imp_parse_docker(text, len, buf, out); break;
    case IMP_GITCRED: rc = parse_gitcred(text, len, buf, out); break;
    case IMP_ENV: rc = imp_parse_env(text, len, false, buf, out); break;
    case IMP_PROFILE: rc = imp_parse_env(text, len, true, buf, out); break;
    default: rc = vs_fail(VS_EINVAL, "unknown file kind");
    }
    sodium_free(buf);
    return rc;
}
