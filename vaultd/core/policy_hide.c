/* A tool's hide_files: configuration files its granted process must not
 * read, because the agent can write them and they can point the tool, with
 * its credential, at another host (http.proxy in a repository's
 * .git/config or ~/.gitconfig, proxy= in a project .npmrc).
 *
 * Two forms, checked here so the shim only compares strings:
 *   "~/.gitconfig", "/abs/path"   one path (canonical, as files' paths);
 *   "* /.git/config" written without the space: any path ending in
 *                                 "/.git/config" (a relative suffix: no "..",
 *                                 ".", "//" or trailing "/").
 * At most VS_POLICY_MAX_HIDE entries, each shorter than 1024 bytes. */
#include "policy_internal.h"

#include "error.h"

#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

static bool suffix_ok(const char *s)
{
    if (*s == '\0' || *s == '/' || s[strlen(s) - 1] == '/' || strstr(s, "//") != NULL || strchr(s, '*') != NULL)
        return false;
    for (const char *p = s; p != NULL; p = strchr(p, '/')) {
        if (*p == '/')
            p++;
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
            return false;
        if (p[0] == '.' && (p[1] == '/' || p[1] == '\0'))
            return false;
    }
    return true;
}

static int parse_one(struct vs_pol_ld *c, const config_setting_t *e, const struct vs_policy_tool *t, char **out)
{
    const char *v;
    int rc = vs_pol_string(c, e, &v);
    if (rc != 0)
        return rc;
    if (strlen(v) >= 1024)
        return vs_pol_err(c, e, "tool %s: hide_files entry is too long", t->name);
    if (strncmp(v, "*/", 2) == 0) {
        if (!suffix_ok(v + 2))
            return vs_pol_err(c, e, "tool %s: hide_files \"%s\": after \"*/\" a relative path without "
                                    "'*', '.', '..' or '//'", t->name, v);
        if ((*out = strdup(v)) == NULL)
            return vs_fail(VS_ENOMEM, "policy: out of memory");
        return 0;
    }
    if (strchr(v, '*') != NULL)
        return vs_pol_err(c, e, "tool %s: hide_files \"%s\": '*' only as a leading \"*/\"", t->name, v);
    return vs_pol_path(c, e, v, out);
}

int vs_pol_hide_files(struct vs_pol_ld *c, const config_setting_t *s, struct vs_policy_tool *t)
{
    if (!config_setting_is_array(s) && !config_setting_is_list(s))
        return vs_pol_err(c, s, "tool %s: hide_files must be a list of strings", t->name);
    int n = config_setting_length(s);
    if (n > VS_POLICY_MAX_HIDE)
        return vs_pol_err(c, s, "tool %s: hide_files has more than %d entries", t->name, VS_POLICY_MAX_HIDE);
    if (n == 0)
        return 0;
    if ((t->hide = calloc((size_t)n, sizeof *t->hide)) == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    for (int i = 0; i < n; i++) {
        int rc = parse_one(c, config_setting_get_elem(s, (unsigned)i), t, &t->hide[i]);
        if (rc != 0)
            return rc;
        t->n_hide++;
    }
    return 0;
}
