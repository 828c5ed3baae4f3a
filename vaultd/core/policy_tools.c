/* Policy loader. Rules this file keeps:
 * 1. Each tool entry is checked whole: unknown keys, wrong types, bad
 *    globs, unknown files or secrets, duplicate env names are refused with
 *    "FILE:LINE: reason".
 * 2. exe and script are resolved with realpath and recorded by device and
 *    inode; a missing one makes the tool unavailable with a warning. */
#include "policy_internal.h"

#include "buf.h"
#include "error.h"
#include "names.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MSG_MAX 400

/* ---- tools ---- */

static int parse_glob_list(struct vs_pol_ld *c, const config_setting_t *s, struct vs_arglist *l)
{
    int rc = vs_pol_string_list(c, s);
    if (rc != 0)
        return rc;
    l->present = true;
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(e);
        rc = vs_arglist_add(l, v);
        if (rc != 0) {
            char d[MSG_MAX];
            vs_pol_detail(rc, d, sizeof d);
            return rc == VS_ENOMEM ? rc : vs_pol_err(c, e, "%s \"%s\": %s", vs_pol_key(s), v, d);
        }
    }
    return 0;
}

static int add_env(struct vs_pol_ld *c, struct vs_policy_tool *t, const config_setting_t *e,
                   const char *env, const char *secret)
{
    if (!vs_env_name_valid(env))
        return vs_pol_err(c, e, "tool %s: env name \"%s\" is not valid", t->name, env);
    if (!vs_secret_name_valid(secret))
        return vs_pol_err(c, e, "tool %s: secret name \"%s\" is not valid", t->name, secret);
    for (size_t i = 0; i < t->n_env; i++)
        if (strcmp(t->env[i].env, env) == 0)
            return vs_pol_err(c, e, "tool %s: env name \"%s\" given twice", t->name, env);
    char what[128];
    (void)snprintf(what, sizeof what, "tool %s: env %s", t->name, env);
    int rc = vs_pol_check_secret(c, e, what, secret);
    if (rc != 0)
        return rc;
    struct vs_policy_env *v = realloc(t->env, (t->n_env + 1) * sizeof *v);
    if (v == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    t->env = v;
    v[t->n_env].env = strdup(env);
    v[t->n_env].secret = strdup(secret);
    t->n_env++;
    if (v[t->n_env - 1].env == NULL || v[t->n_env - 1].secret == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    return 0;
}

static int parse_env(struct vs_pol_ld *c, struct vs_policy_tool *t, const config_setting_t *s)
{
    int n = config_setting_length(s);
    int rc = 0;
    if (config_setting_is_group(s)) {
        for (int i = 0; rc == 0 && i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            const char *secret;
            rc = vs_pol_string(c, e, &secret);
            if (rc == 0)
                rc = add_env(c, t, e, config_setting_name(e), secret);
        }
        return rc;
    }
    if (config_setting_is_array(s) || config_setting_is_list(s)) {
        rc = vs_pol_string_list(c, s);
        for (int i = 0; rc == 0 && i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            const char *name = config_setting_get_string(e);
            rc = add_env(c, t, e, name, name);
        }
        return rc;
    }
    return vs_pol_err(c, s, "env must be a list [ \"NAME\", ... ] or a group { ENV = \"secret\"; }");
}

static int parse_tool_files(struct vs_pol_ld *c, struct vs_policy_tool *t, const config_setting_t *s)
{
    int rc = vs_pol_string_list(c, s);
    int n = config_setting_length(s);
    if (rc != 0)
        return rc;
    t->files = calloc((size_t)n + 1, sizeof *t->files);
    if (t->files == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_get_string(e);
        const struct vs_policy_file *f = vs_policy_find_file_by_name(c->p, name);
        if (f == NULL)
            return vs_pol_err(c, e, "tool %s: unknown file \"%s\"", t->name, name);
        size_t idx = (size_t)(f - c->p->files);
        for (size_t k = 0; k < t->n_files; k++)
            if (t->files[k] == idx)
                return vs_pol_err(c, e, "tool %s: file \"%s\" given twice", t->name, name);
        t->files[t->n_files++] = idx;
    }
    return 0;
}

/* realpath + stat; a missing file is a warning that makes the tool unavailable. */
static int resolve(struct vs_pol_ld *c, struct vs_policy_tool *t, const config_setting_t *s,
                   const char *path, char **real, dev_t *dev, ino_t *ino)
{
    char *r = realpath(path, NULL);
    if (r == NULL) {
        int e = errno;
        t->available = false;
        if (e == ENOMEM)
            return vs_fail(VS_ENOMEM, "policy: out of memory");
        return vs_pol_warn(c, "%s:%u: tool %s: %s: %s (tool unavailable)", c->src,
                    config_setting_source_line(s), t->name, path, strerror(e));
    }
    struct stat st;
    if (stat(r, &st) != 0) {
        int e = errno;
        free(r);
        t->available = false;
        return vs_pol_warn(c, "%s:%u: tool %s: %s: %s (tool unavailable)", c->src,
                    config_setting_source_line(s), t->name, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        free(r);
        return vs_pol_err(c, s, "tool %s: %s is not a regular file", t->name, path);
    }
    *real = r;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}


static int parse_sha256(struct vs_pol_ld *c, struct vs_policy_tool *t, const config_setting_t *s)
{
    const char *v;
    int rc = vs_pol_string(c, s, &v);
    if (rc != 0)
        return rc;
    if (strlen(v) != 64)
        return vs_pol_err(c, s, "tool %s: sha256 must be 64 hex digits", t->name);
    for (size_t i = 0; i < 32; i++) {
        int hi = vs_hex_digit(v[2 * i]), lo = vs_hex_digit(v[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return vs_pol_err(c, s, "tool %s: sha256 must be 64 hex digits", t->name);
        t->sha256[i] = (uint8_t)(hi << 4 | lo);
    }
    t->has_sha256 = true;
    return 0;
}

int vs_pol_tool(struct vs_pol_ld *c, const config_setting_t *g, struct vs_policy_tool *t)
{
    static const char *const keys[] = {
        "name", "exe", "script", "sha256", "env", "files", "allow_args", "deny_args",
        "approve_args", "approve", "mask", "mediate", "allow_proxy", "allow_namespaces",
        "interpreter", "hide_files",
    };
    t->line = config_setting_source_line(g);
    if (!config_setting_is_group(g))
        return vs_pol_err(c, g, "tools: each entry must be a group { ... }");
    int rc = vs_pol_check_keys(c, g, "tool", keys, sizeof keys / sizeof keys[0]);
    if (rc != 0)
        return rc;
    const config_setting_t *sn = config_setting_get_member(g, "name");
    const config_setting_t *se = config_setting_get_member(g, "exe");
    const config_setting_t *ss = config_setting_get_member(g, "script");
    if (sn == NULL || se == NULL)
        return vs_pol_err(c, g, "tool: name and exe are required");
    const char *name, *exe, *script = NULL;
    if ((rc = vs_pol_string(c, sn, &name)) != 0 || (rc = vs_pol_string(c, se, &exe)) != 0 ||
        (ss != NULL && (rc = vs_pol_string(c, ss, &script)) != 0))
        return rc;
    if (!vs_secret_name_valid(name))
        return vs_pol_err(c, sn, "tool name \"%s\" is not valid ([A-Za-z0-9][A-Za-z0-9_.-]*, at most %d)",
                    name, VS_SECRET_NAME_MAX);
    if ((t->name = strdup(name)) == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    if ((rc = vs_pol_path(c, se, exe, &t->exe)) != 0)
        return rc;
    if (script != NULL && (rc = vs_pol_path(c, ss, script, &t->script)) != 0)
        return rc;
    t->interpreter = script != NULL;

    t->mask = true; /* applies only to runs through vault-exec */
    struct { const char *key; bool *dst; } bools[] = {
        {"approve", &t->approve}, {"mask", &t->mask}, {"mediate", &t->mediate},
        {"allow_proxy", &t->allow_proxy}, {"allow_namespaces", &t->allow_namespaces},
        {"interpreter", &t->interpreter},
    };
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        const config_setting_t *s = config_setting_get_member(g, bools[i].key);
        if (s != NULL && (rc = vs_pol_bool(c, s, bools[i].dst)) != 0)
            return rc;
    }
    const config_setting_t *si = config_setting_get_member(g, "interpreter");
    if (t->interpreter && script == NULL)
        return vs_pol_err(c, si, "tool %s: interpreter = true needs a script", name);
    if (!t->interpreter && script != NULL)
        return vs_pol_err(c, si, "tool %s: a script is run by an interpreter (interpreter = false)", name);

    struct { const char *key; struct vs_arglist *l; } globs[] = {
        {"allow_args", &t->allow_args}, {"deny_args", &t->deny_args},
        {"approve_args", &t->approve_args},
    };
    for (size_t i = 0; i < sizeof globs / sizeof globs[0]; i++) {
        const config_setting_t *s = config_setting_get_member(g, globs[i].key);
        if (s != NULL && (rc = parse_glob_list(c, s, globs[i].l)) != 0)
            return rc;
    }
    const config_setting_t *s;
    if ((s = config_setting_get_member(g, "sha256")) != NULL && (rc = parse_sha256(c, t, s)) != 0)
        return rc;
    if ((s = config_setting_get_member(g, "env")) != NULL && (rc = parse_env(c, t, s)) != 0)
        return rc;
    if ((s = config_setting_get_member(g, "files")) != NULL &&
        (rc = parse_tool_files(c, t, s)) != 0)
        return rc;
    if ((s = config_setting_get_member(g, "hide_files")) != NULL && (rc = vs_pol_hide_files(c, s, t)) != 0)
        return rc;

    t->available = true;
    if ((rc = resolve(c, t, se, t->exe, &t->exe_real, &t->exe_dev, &t->exe_ino)) != 0)
        return rc;
    if (t->available && t->script != NULL &&
        (rc = resolve(c, t, ss, t->script, &t->script_real, &t->script_dev, &t->script_ino)) != 0)
        return rc;
    return 0;
}

