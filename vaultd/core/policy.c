/* Policy loader. Rules this file keeps:
 * 1. A policy is accepted whole or refused whole, with "FILE:LINE: reason".
 * 2. Unknown keys, wrong types and duplicates are refused at every level: a
 *    typo must never silently widen or narrow access.
 * 3. The file is opened once (O_NOFOLLOW), checked on the open fd (regular,
 *    owner root or euid, not group/other-writable), read once, and parsed
 *    from memory; @include is refused, since it would bypass those checks.
 * 4. "~" is the vault owner's home from the password database, never $HOME.
 * 5. A missing exe or script makes the tool unavailable (with a warning),
 *    never matchable by another file that appears later: the look-up is by
 *    the device and inode recorded here. */
#include "policy_internal.h"

#include "error.h"
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSG_MAX 400

/* ---- errors ---- */

int vs_pol_err(const struct vs_pol_ld *c, const config_setting_t *s, const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    return vs_fail(VS_EPOLICY, "%s:%u: %s", c->src, s != NULL ? config_setting_source_line(s) : 0,
                   msg);
}

/* Copies the detail of a failed sub-step before vs_fail overwrites it. */
void vs_pol_detail(int rc, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s", vs_last_error(rc));
    if (n < 0)
        buf[0] = '\0';
}

/* ---- small helpers ---- */

const char *vs_pol_key(const config_setting_t *s)
{
    const char *n = config_setting_name(s);
    return n != NULL ? n : "(element)";
}

int vs_pol_check_keys(const struct vs_pol_ld *c, const config_setting_t *g, const char *what,
                      const char *const *keys, size_t nkeys)
{
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(m);
        bool ok = false;
        for (size_t k = 0; k < nkeys && !ok && name != NULL; k++)
            ok = strcmp(name, keys[k]) == 0;
        if (!ok)
            return vs_pol_err(c, m, "unknown key \"%s\" in %s", vs_pol_key(m), what);
    }
    return 0;
}

int vs_pol_string(const struct vs_pol_ld *c, const config_setting_t *s, const char **out)
{
    *out = "";
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return vs_pol_err(c, s, "%s must be a string", vs_pol_key(s));
    *out = config_setting_get_string(s);
    return 0;
}

int vs_pol_bool(const struct vs_pol_ld *c, const config_setting_t *s, bool *out)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return vs_pol_err(c, s, "%s must be true or false", vs_pol_key(s));
    *out = config_setting_get_bool(s) != 0;
    return 0;
}

int vs_pol_int(const struct vs_pol_ld *c, const config_setting_t *s, long long lo, long long hi, int *out)
{
    long long v;
    if (config_setting_type(s) == CONFIG_TYPE_INT)
        v = config_setting_get_int(s);
    else if (config_setting_type(s) == CONFIG_TYPE_INT64)
        v = config_setting_get_int64(s);
    else
        return vs_pol_err(c, s, "%s must be an integer", vs_pol_key(s));
    if (v < lo || v > hi)
        return vs_pol_err(c, s, "%s must be between %lld and %lld", vs_pol_key(s), lo, hi);
    *out = (int)v;
    return 0;
}

/* An array or list whose elements are all strings. */
int vs_pol_string_list(const struct vs_pol_ld *c, const config_setting_t *s)
{
    if (!config_setting_is_array(s) && !config_setting_is_list(s))
        return vs_pol_err(c, s, "%s must be a list of strings", vs_pol_key(s));
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return vs_pol_err(c, e, "%s must be a list of strings", vs_pol_key(s));
    }
    return 0;
}

static int push_str(char ***v, size_t *n, char *s)
{
    if (s == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (nv == NULL) {
        free(s);
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    }
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

int vs_pol_warn(struct vs_pol_ld *c, const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    return push_str(&c->p->warnings, &c->p->n_warnings, strdup(msg));
}

static int owner_home(struct vs_pol_ld *c, const config_setting_t *s)
{
    if (c->home != NULL)
        return 0;
    if (c->opts != NULL && c->opts->home != NULL) {
        c->home = strdup(c->opts->home);
    } else {
        long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t bufsz = sz > 0 ? (size_t)sz : 16384;
        char *buf = malloc(bufsz);
        struct passwd pw, *res = NULL;
        if (buf == NULL)
            return vs_fail(VS_ENOMEM, "policy: out of memory");
        int e = getpwuid_r(geteuid(), &pw, buf, bufsz, &res);
        if (e != 0 || res == NULL || pw.pw_dir == NULL) {
            free(buf);
            return vs_pol_err(c, s, "no home folder for uid %u in the password database",
                        (unsigned)geteuid());
        }
        c->home = strdup(pw.pw_dir);
        free(buf);
    }
    if (c->home == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    if (c->home[0] != '/')
        return vs_pol_err(c, s, "home folder \"%s\" is not absolute", c->home);
    return 0;
}

/* "~" or "~/x" becomes home + "/x"; absolute paths stay; the result must be
 * lexically canonical (no "//", ".", "..", trailing '/'). */
int vs_pol_path(struct vs_pol_ld *c, const config_setting_t *s, const char *in, char **out)
{
    *out = NULL;
    const char *rest = in;
    const char *home = "";
    if (in[0] == '~') {
        if (in[1] != '\0' && in[1] != '/')
            return vs_pol_err(c, s, "%s: \"~user\" paths are not supported", vs_pol_key(s));
        int rc = owner_home(c, s);
        if (rc != 0)
            return rc;
        home = c->home;
        rest = in + 1;
        if (strcmp(home, "/") == 0)
            home = "";
    } else if (in[0] != '/') {
        return vs_pol_err(c, s, "%s: relative path \"%s\" (use an absolute path or ~/)", vs_pol_key(s), in);
    }
    size_t hl = strlen(home), rl = strlen(rest);
    if (hl + rl + 1 > PATH_MAX)
        return vs_pol_err(c, s, "%s: path too long", vs_pol_key(s));
    char *p = malloc(hl + rl + 2);
    if (p == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    memcpy(p, home, hl);
    memcpy(p + hl, rest, rl + 1);
    if (p[0] == '\0') { /* "~" with home "/" */
        p[0] = '/';
        p[1] = '\0';
    }
    /* Each component after the leading '/' must be non-empty, not "." or "..". */
    if (strcmp(p, "/") != 0) {
        const char *q = p + 1;
        for (;;) {
            const char *slash = strchr(q, '/');
            size_t n = slash != NULL ? (size_t)(slash - q) : strlen(q);
            if (n == 0 || (n == 1 && q[0] == '.') || (n == 2 && q[0] == '.' && q[1] == '.')) {
                free(p);
                return vs_pol_err(c, s, "%s: path \"%s\" is not canonical (\"//\", \".\", \"..\" or a "
                                  "trailing '/')", vs_pol_key(s), in);
            }
            if (slash == NULL)
                break;
            q = slash + 1;
        }
    }
    *out = p;
    return 0;
}

/* ---- vault, protect ---- */

static int parse_vault(struct vs_pol_ld *c, const config_setting_t *g)
{
    static const char *const keys[] = {"rotation_days", "audit_log", "keep_versions", "approve_timeout",
                                       "notify_command"};
    if (!config_setting_is_group(g))
        return vs_pol_err(c, g, "vault must be a group { ... }");
    int rc = vs_pol_check_keys(c, g, "vault", keys, sizeof keys / sizeof keys[0]);
    const config_setting_t *s;
    if (rc == 0 && (s = config_setting_get_member(g, "rotation_days")) != NULL)
        rc = vs_pol_int(c, s, 1, 3650, &c->p->rotation_days);
    if (rc == 0 && (s = config_setting_get_member(g, "keep_versions")) != NULL)
        rc = vs_pol_int(c, s, 1, 100, &c->p->keep_versions);
    if (rc == 0 && (s = config_setting_get_member(g, "approve_timeout")) != NULL)
        rc = vs_pol_int(c, s, 1, 86400, &c->p->approve_timeout);
    if (rc == 0 && (s = config_setting_get_member(g, "notify_command")) != NULL) {
        rc = vs_pol_string_list(c, s);
        if (rc == 0 && config_setting_length(s) == 0)
            rc = vs_pol_err(c, s, "notify_command: the program and its arguments, e.g. [ \"notify-send\", \"vaultshim\" ]");
        for (int i = 0; rc == 0 && i < config_setting_length(s); i++)
            rc = push_str(&c->p->notify_argv, &c->p->n_notify,
                          strdup(config_setting_get_string(config_setting_get_elem(s, (unsigned)i))));
    }
    if (rc == 0 && (s = config_setting_get_member(g, "audit_log")) != NULL) {
        const char *v;
        char *path;
        rc = vs_pol_string(c, s, &v);
        if (rc == 0)
            rc = vs_pol_path(c, s, v, &path);
        if (rc == 0) {
            free(c->p->audit_log);
            c->p->audit_log = path;
        }
    }
    return rc;
}

static bool protect_valid(const char *s)
{
    size_t len = strnlen(s, 256);
    if (len == 0 || len > 255 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    bool non_star = false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && ch != '_' && ch != '*')
            return false;
        non_star = non_star || ch != '*';
    }
    return non_star;
}

static int parse_protect(struct vs_pol_ld *c, const config_setting_t *s)
{
    int rc = vs_pol_string_list(c, s);
    int n = config_setting_length(s);
    for (int i = 0; rc == 0 && i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(e);
        if (!protect_valid(v))
            return vs_pol_err(c, e, "protect: \"%s\" is not an env name or pattern ([A-Za-z_][A-Za-z0-9_]* "
                              "with '*'; not '*' alone)", v);
        if (strchr(v, '*') != NULL)
            rc = push_str(&c->p->protect_glob, &c->p->n_protect_glob, strdup(v));
        else
            rc = push_str(&c->p->protect_exact, &c->p->n_protect_exact, strdup(v));
    }
    return rc;
}

/* ---- files ---- */

int vs_pol_check_secret(struct vs_pol_ld *c, const config_setting_t *s, const char *what, const char *name)
{
    if (c->opts != NULL && c->opts->secret_known != NULL &&
        !c->opts->secret_known(c->opts->secret_ctx, name))
        return vs_pol_err(c, s, "%s: unknown secret \"%s\"", what, name);
    return 0;
}

static int parse_file(struct vs_pol_ld *c, const config_setting_t *g, struct vs_policy_file *f)
{
    static const char *const keys[] = {"name", "path", "template"};
    f->line = config_setting_source_line(g);
    if (!config_setting_is_group(g))
        return vs_pol_err(c, g, "files: each entry must be a group { ... }");
    int rc = vs_pol_check_keys(c, g, "file", keys, sizeof keys / sizeof keys[0]);
    if (rc != 0)
        return rc;
    const config_setting_t *sn = config_setting_get_member(g, "name");
    const config_setting_t *sp = config_setting_get_member(g, "path");
    const config_setting_t *st = config_setting_get_member(g, "template");
    if (sn == NULL || sp == NULL || st == NULL)
        return vs_pol_err(c, g, "file: name, path and template are required");
    const char *name, *path, *text;
    if ((rc = vs_pol_string(c, sn, &name)) != 0 || (rc = vs_pol_string(c, sp, &path)) != 0 ||
        (rc = vs_pol_string(c, st, &text)) != 0)
        return rc;
    if (!vs_secret_name_valid(name))
        return vs_pol_err(c, sn, "file name \"%s\" is not valid ([A-Za-z0-9][A-Za-z0-9_.-]*, at most %d)",
                    name, VS_SECRET_NAME_MAX);
    if ((f->name = strdup(name)) == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    if ((rc = vs_pol_path(c, sp, path, &f->path)) != 0)
        return rc;
    rc = vs_template_compile(text, &f->tmpl);
    if (rc != 0) {
        char d[MSG_MAX];
        vs_pol_detail(rc, d, sizeof d);
        return rc == VS_ENOMEM ? rc : vs_pol_err(c, st, "file %s: template: %s", name, d);
    }
    for (size_t i = 0; i < vs_template_name_count(f->tmpl); i++) {
        char what[128];
        (void)snprintf(what, sizeof what, "file %s: template", name);
        if ((rc = vs_pol_check_secret(c, st, what, vs_template_name(f->tmpl, i))) != 0)
            return rc;
    }
    return 0;
}

/* ---- whole file ---- */

static int parse_root(struct vs_pol_ld *c, const config_setting_t *root)
{
    static const char *const keys[] = {"vault", "protect", "tools", "files", "allow_namespaces",
                                       "secrets", "agents", "projects", "alerts", "audit_sync",
                                       "audit_sync_ms"};
    struct vs_policy *p = c->p;
    int rc = vs_pol_check_keys(c, root, "the policy", keys, sizeof keys / sizeof keys[0]);
    const config_setting_t *s;
    if (rc == 0 && (s = config_setting_get_member(root, "vault")) != NULL)
        rc = parse_vault(c, s);
    /* audit_log stays NULL when unset: the vault's own log, VAULT_HOME/audit.log. */
    if (rc == 0 && (s = config_setting_get_member(root, "allow_namespaces")) != NULL)
        rc = vs_pol_bool(c, s, &p->allow_namespaces);
    if (rc == 0 && (s = config_setting_get_member(root, "protect")) != NULL)
        rc = parse_protect(c, s);
    if (rc == 0 && (s = config_setting_get_member(root, "files")) != NULL) {
        if (!config_setting_is_list(s))
            return vs_pol_err(c, s, "files must be a list ( { ... }, ... )");
        int n = config_setting_length(s);
        if ((p->files = calloc((size_t)n + 1, sizeof *p->files)) == NULL)
            return vs_fail(VS_ENOMEM, "policy: out of memory");
        for (int i = 0; rc == 0 && i < n; i++) {
            rc = parse_file(c, config_setting_get_elem(s, (unsigned)i), &p->files[i]);
            p->n_files = (size_t)i + 1;
        }
        if (rc == 0)
            rc = vs_policy_build_file_index(p, c->src);
    }
    if (rc == 0 && (s = config_setting_get_member(root, "tools")) != NULL) {
        if (!config_setting_is_list(s))
            return vs_pol_err(c, s, "tools must be a list ( { ... }, ... )");
        int n = config_setting_length(s);
        if ((p->tools = calloc((size_t)n + 1, sizeof *p->tools)) == NULL)
            return vs_fail(VS_ENOMEM, "policy: out of memory");
        for (int i = 0; rc == 0 && i < n; i++) {
            rc = vs_pol_tool(c, config_setting_get_elem(s, (unsigned)i), &p->tools[i]);
            p->n_tools = (size_t)i + 1;
        }
        if (rc == 0)
            rc = vs_policy_build_tool_index(p, c->src);
    }
    if (rc == 0)
        rc = vs_policy_build_protect(p);
    if (rc == 0)
        rc = vs_pol_lifecycle(c, root);
    if (rc == 0)
        rc = vs_pol_audit_sync(c, root);
    return rc;
}

/* libconfig 1.5 honours "@include" at the start of a line after blanks (its
 * scanner rule is ^[ \t]*@include). Any line so shaped is refused, even
 * inside a string or comment (a false alarm there is harmless); "@include"
 * later in a line is a syntax error to libconfig, or text. Returns the
 * 1-based line, or 0. */
static unsigned include_line(const char *text)
{
    static const char word[] = "include";
    unsigned line = 1;
    const char *q = text;
    for (;;) {
        while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\f' || *q == '\v')
            q++;
        if (*q == '@') {
            size_t k = 0;
            while (k < sizeof word - 1 && (q[1 + k] | 0x20) == word[k])
                k++;
            if (k == sizeof word - 1)
                return line;
        }
        const char *nl = strchr(q, '\n');
        if (nl == NULL)
            return 0;
        q = nl + 1;
        line++;
    }
}

/* A character that can precede a digit inside a name or a float. */
static bool word_char(char ch)
{
    return ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '.';
}

/* libconfig 1.5 wraps an integer literal past INT_MAX silently (4294967386
 * reads as 90). This scan, outside strings and comments, finds such a
 * literal without the L suffix and returns its line, or 0. */
static unsigned int_overflow_line(const char *t)
{
    unsigned line = 1;
    for (size_t i = 0; t[i] != '\0'; i++) {
        char ch = t[i];
        if (ch == '\n') {
            line++;
        } else if (ch == '"') {
            for (i++; t[i] != '\0' && t[i] != '"'; i++) {
                if (t[i] == '\\' && t[i + 1] != '\0')
                    i++;
                else if (t[i] == '\n')
                    line++;
            }
            if (t[i] == '\0')
                return 0;
        } else if (ch == '#' || (ch == '/' && t[i + 1] == '/')) {
            while (t[i + 1] != '\0' && t[i + 1] != '\n')
                i++;
        } else if (ch == '/' && t[i + 1] == '*') {
            for (i += 2; t[i] != '\0' && !(t[i] == '*' && t[i + 1] == '/'); i++)
                line += t[i] == '\n';
            if (t[i] == '\0')
                return 0;
            i++;
        } else if (ch >= '0' && ch <= '9' && (i == 0 || !word_char(t[i - 1]))) {
            bool hex = ch == '0' && (t[i + 1] | 0x20) == 'x';
            size_t j = hex ? i + 2 : i;
            unsigned long long v = 0;
            bool big = false;
            for (; (t[j] >= '0' && t[j] <= '9') || (hex && (t[j] | 0x20) >= 'a' && (t[j] | 0x20) <= 'f'); j++) {
                unsigned d = t[j] <= '9' ? (unsigned)(t[j] - '0') : (unsigned)((t[j] | 0x20) - 'a' + 10);
                v = v * (hex ? 16 : 10) + d;
                big = big || v > (hex ? 0xffffffffull : 2147483647ull);
            }
            if (big && t[j] != 'L' && t[j] != '.' && (t[j] | 0x20) != 'e')
                return line;
            i = j - 1;
        }
    }
    return 0;
}

int vs_policy_load_string(const char *text, const char *source_name,
                          const struct vs_policy_opts *opts, struct vs_policy **out)
{
    *out = NULL;
    const char *src = source_name != NULL ? source_name : "(policy)";
    if (text == NULL)
        return vs_fail(VS_EINVAL, "%s: no policy text", src);
    if (strnlen(text, VS_POLICY_MAX_BYTES + 1) > VS_POLICY_MAX_BYTES)
        return vs_fail(VS_ETOOBIG, "%s: policy larger than %d bytes", src, VS_POLICY_MAX_BYTES);
    unsigned inc_line = include_line(text);
    if (inc_line != 0)
        return vs_fail(VS_EPOLICY, "%s:%u: @include is not allowed (it would bypass the owner and "
                                   "mode checks)", src, inc_line);
    unsigned big_line = int_overflow_line(text);
    if (big_line != 0)
        return vs_fail(VS_EPOLICY, "%s:%u: integer out of range (write a large value with an L "
                                   "suffix)", src, big_line);
    struct vs_policy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    p->rotation_days = 90;
    p->keep_versions = 5;
    vs_policy_life_defaults(&p->life);
    p->approve_timeout = 60;
    p->audit_sync = VS_AUDIT_SYNC_EACH;
    p->audit_sync_ms = VS_AUDIT_SYNC_MS_DEFAULT;
    p->source = strdup(src);
    if (p->source == NULL) {
        vs_policy_free(p);
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    }
    struct vs_pol_ld c = {.src = src, .opts = opts, .home = NULL, .p = p};
    config_t cfg;
    config_init(&cfg);
    int rc;
    if (config_read_string(&cfg, text) != CONFIG_TRUE) {
        const char *why = config_error_text(&cfg);
        rc = vs_fail(VS_EPOLICY, "%s:%d: %s", src, config_error_line(&cfg),
                     why != NULL ? why : "syntax error");
    } else {
        rc = parse_root(&c, config_root_setting(&cfg));
    }
    config_destroy(&cfg);
    free(c.home);
    if (rc != 0) {
        vs_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int vs_policy_load_file(const char *path, const struct vs_policy_opts *opts,
                        struct vs_policy **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ELOOP)
            return vs_fail(VS_EPERM, "%s: is a symlink (refused)", path);
        return vs_fail_errno(VS_EIO, "%s: open", path);
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = vs_fail_errno(VS_EIO, "%s: fstat", path);
    else if (!S_ISREG(st.st_mode))
        rc = vs_fail(VS_EPERM, "%s: not a regular file", path);
    else if (st.st_uid != 0 && st.st_uid != geteuid())
        rc = vs_fail(VS_EPERM, "%s: owned by uid %u, not root or uid %u", path,
                     (unsigned)st.st_uid, (unsigned)geteuid());
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        rc = vs_fail(VS_EPERM, "%s: writable by group or others (mode %04o)", path,
                     (unsigned)(st.st_mode & 07777));
    else if (st.st_size > VS_POLICY_MAX_BYTES)
        rc = vs_fail(VS_ETOOBIG, "%s: larger than %d bytes", path, VS_POLICY_MAX_BYTES);
    char *text = NULL;
    size_t len = 0;
    if (rc == 0 && (text = malloc(VS_POLICY_MAX_BYTES + 2)) == NULL)
        rc = vs_fail(VS_ENOMEM, "policy: out of memory");
    while (rc == 0) {
        ssize_t n = read(fd, text + len, VS_POLICY_MAX_BYTES + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = vs_fail_errno(VS_EIO, "%s: read", path);
        else if (n == 0)
            break;
        else if ((len += (size_t)n) > VS_POLICY_MAX_BYTES)
            rc = vs_fail(VS_ETOOBIG, "%s: larger than %d bytes", path, VS_POLICY_MAX_BYTES);
    }
    if (close(fd) != 0 && rc == 0)
        rc = vs_fail_errno(VS_EIO, "%s: close", path);
    if (rc == 0) {
        text[len] = '\0';
        if (memchr(text, '\0', len) != NULL)
            rc = vs_fail(VS_EPOLICY, "%s: contains a NUL byte", path);
    }
    if (rc == 0)
        rc = vs_policy_load_string(text, path, opts, out);
    free(text);
    return rc;
}
