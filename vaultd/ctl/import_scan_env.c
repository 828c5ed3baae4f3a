/* .env files and shell profiles: NAME=value assignments of credential-like
 * names whose value is a literal (no expansion). In a profile only
 * `export NAME=value` counts (a bare assignment is a shell variable);
 * in a .env file both do, and blanks around '=' are allowed. The line
 * becomes a comment naming the secret; its indentation and terminator
 * stay. */
#include "import.h"

#include "error.h"
#include "store.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static bool env_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static bool name_char(uint8_t c, bool first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (!first && c >= '0' && c <= '9');
}

int imp_parse_env(const uint8_t *text, size_t len, bool profile, uint8_t *buf, struct imp_finds *out)
{
    struct imp_line l = {0};
    size_t pos = 0;
    while (imp_next_line(text, len, &pos, &l)) {
        size_t p = l.off, end = l.off + l.len;
        while (p < end && env_blank(text[p]))
            p++;
        size_t start = p;
        bool exported = false;
        if (end - p > 7 && memcmp(text + p, "export", 6) == 0 && env_blank(text[p + 6])) {
            exported = true;
            p += 7;
            while (p < end && env_blank(text[p]))
                p++;
        }
        if (profile && !exported)
            continue;
        size_t ns = p;
        while (p < end && name_char(text[p], p == ns))
            p++;
        size_t nl = p - ns;
        if (nl == 0 || nl > IMP_ENV_NAME_MAX)
            continue;
        if (!profile)
            while (p < end && env_blank(text[p]))
                p++;
        if (p >= end || text[p] != '=')
            continue;
        p++;
        if (!profile)
            while (p < end && env_blank(text[p]))
                p++;
        char name[IMP_ENV_NAME_MAX + 1];
        (void)snprintf(name, sizeof name, "%.*s", (int)nl, (const char *)text + ns);
        if (!imp_credential_name(name))
            continue;
        size_t raw_len = 0, n = 0;
        if (imp_shell_value(text, p, end, &raw_len, buf, VS_VALUE_MAX, &n) != 0)
            continue;
        int rc = imp_add(out, &l, p, raw_len, buf, n, true);
        sodium_memzero(buf, n);
        if (rc != 0)
            return rc;
        struct imp_find *f = &out->v[out->n - 1];
        f->cut_off = start;
        f->cut_len = end - start;
        (void)snprintf(f->env, sizeof f->env, "%s", name);
        char lower[IMP_ENV_NAME_MAX + 1];
        for (size_t i = 0; i <= nl; i++)
            lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
        imp_hint(f->hint, sizeof f->hint, "%s", lower[0] == '_' ? lower + 1 : lower);
        (void)snprintf(f->what, sizeof f->what, "%s%.*s", exported ? "export " : "", (int)(nl < 120 ? nl : 120),
                       name);
    }
    return 0;
}
