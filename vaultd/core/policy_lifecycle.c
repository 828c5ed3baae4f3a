/* Policy keys of the key lifecycle: secrets (rotation), agents, projects,
 * alerts. Rules this file keeps (as policy.c): an entry is accepted whole
 * or the policy is refused with "FILE:LINE: reason"; unknown keys, wrong
 * types and duplicates are refused; names must exist (secrets in the
 * vault when vaultd checks, tools in this policy). */
#include "policy_internal.h"
#include "policy_lifecycle.h"

#include "error.h"
#include "names.h"

#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

void vs_policy_life_defaults(struct vs_policy_life *l)
{
    memset(l, 0, sizeof *l);
    l->alerts.multiple = 3.0;
    l->alerts.min_uses = 10;
    l->alerts.denial_burst = 20;
    l->alerts.active_from = l->alerts.active_to = -1;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

void vs_policy_life_free(struct vs_policy_life *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; l->secrets != NULL && i < l->n_secrets; i++)
        free(l->secrets[i].name);
    free(l->secrets);
    for (size_t i = 0; l->agents != NULL && i < l->n_agents; i++) {
        free(l->agents[i].name);
        free_strv(l->agents[i].tools, l->agents[i].n_tools);
    }
    free(l->agents);
    for (size_t i = 0; l->projects != NULL && i < l->n_projects; i++) {
        free(l->projects[i].name);
        free(l->projects[i].path);
        free_strv(l->projects[i].secrets, l->projects[i].n_secrets);
        free_strv(l->projects[i].agents, l->projects[i].n_agents);
    }
    free(l->projects);
    free_strv(l->alerts.command, l->alerts.n_command);
    vs_policy_life_defaults(l);
}

static int int_in(const struct vs_pol_ld *c, const config_setting_t *s, long long lo, long long hi, int *out)
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

static bool label_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '.' || *s == '-'))
            return false;
    return true;
}

/* Copies a string list, each element checked by valid (NULL: any). */
static int copy_strings(struct vs_pol_ld *c, const config_setting_t *s, bool (*valid)(const char *),
                        const char *what, char ***out, size_t *n_out)
{
    int rc = vs_pol_string_list(c, s);
    if (rc != 0)
        return rc;
    int n = config_setting_length(s);
    if ((*out = calloc((size_t)n + 1, sizeof **out)) == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(e);
        if (valid != NULL && !valid(v))
            return vs_pol_err(c, e, "%s: \"%s\" is not a valid name", what, v);
        for (size_t k = 0; k < *n_out; k++)
            if (strcmp((*out)[k], v) == 0)
                return vs_pol_err(c, e, "%s: \"%s\" given twice", what, v);
        if (((*out)[(*n_out)++] = strdup(v)) == NULL)
            return vs_fail(VS_ENOMEM, "policy: out of memory");
    }
    return 0;
}

/* name = "..." of a list entry (uniqueness is checked by the caller). */
static int entry_name(struct vs_pol_ld *c, const config_setting_t *g, const char *what, bool (*valid)(const char *),
                      char **out)
{
    const config_setting_t *s = config_setting_get_member(g, "name");
    if (s == NULL)
        return vs_pol_err(c, g, "%s: name is required", what);
    const char *v;
    int rc = vs_pol_string(c, s, &v);
    if (rc != 0)
        return rc;
    if (!valid(v))
        return vs_pol_err(c, s, "%s name \"%s\" is not valid", what, v);
    if ((*out = strdup(v)) == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    return 0;
}

static bool secret_valid(const char *s)
{
    return vs_secret_name_valid(s);
}

static int list_of_groups(struct vs_pol_ld *c, const config_setting_t *s, const char *what, size_t elem,
                          void **out, size_t *n)
{
    if (!config_setting_is_list(s))
        return vs_pol_err(c, s, "%s must be a list ( { ... }, ... )", what);
    *n = (size_t)config_setting_length(s);
    if ((*out = calloc(*n + 1, elem)) == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    for (size_t i = 0; i < *n; i++)
        if (!config_setting_is_group(config_setting_get_elem(s, (unsigned)i)))
            return vs_pol_err(c, config_setting_get_elem(s, (unsigned)i), "%s: each entry must be a group { ... }",
                              what);
    return 0;
}

static int parse_secrets(struct vs_pol_ld *c, const config_setting_t *s, struct vs_policy_life *l)
{
    static const char *const keys[] = {"name", "rotation_days"};
    void *v = NULL;
    int rc = list_of_groups(c, s, "secrets", sizeof *l->secrets, &v, &l->n_secrets);
    l->secrets = v;
    for (size_t i = 0; rc == 0 && i < l->n_secrets; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        struct vs_policy_secret_rule *r = &l->secrets[i];
        const config_setting_t *d;
        rc = vs_pol_check_keys(c, g, "secret", keys, NKEYS(keys));
        if (rc == 0)
            rc = entry_name(c, g, "secret", secret_valid, &r->name);
        if (rc == 0)
            rc = vs_pol_check_secret(c, g, "secrets", r->name);
        for (size_t k = 0; rc == 0 && k < i; k++)
            if (strcmp(l->secrets[k].name, r->name) == 0)
                rc = vs_pol_err(c, g, "secrets: \"%s\" given twice", r->name);
        if (rc == 0 && (d = config_setting_get_member(g, "rotation_days")) != NULL)
            rc = int_in(c, d, 1, 3650, &r->rotation_days);
    }
    return rc;
}

static int parse_agents(struct vs_pol_ld *c, const config_setting_t *s, struct vs_policy_life *l)
{
    static const char *const keys[] = {"name", "tools"};
    void *v = NULL;
    int rc = list_of_groups(c, s, "agents", sizeof *l->agents, &v, &l->n_agents);
    l->agents = v;
    for (size_t i = 0; rc == 0 && i < l->n_agents; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        struct vs_policy_agent *a = &l->agents[i];
        const config_setting_t *t = config_setting_get_member(g, "tools");
        rc = vs_pol_check_keys(c, g, "agent", keys, NKEYS(keys));
        if (rc == 0)
            rc = entry_name(c, g, "agent", label_valid, &a->name);
        for (size_t k = 0; rc == 0 && k < i; k++)
            if (strcmp(l->agents[k].name, a->name) == 0)
                rc = vs_pol_err(c, g, "agents: \"%s\" given twice", a->name);
        if (rc == 0 && t == NULL)
            rc = vs_pol_err(c, g, "agent %s: tools is required (an empty list allows none)", a->name);
        if (rc == 0)
            rc = copy_strings(c, t, secret_valid, "agent tools", &a->tools, &a->n_tools);
        for (size_t k = 0; rc == 0 && k < a->n_tools; k++)
            if (vs_policy_find_tool_by_name(c->p, a->tools[k]) == NULL)
                rc = vs_pol_err(c, t, "agent %s: no tool named \"%s\" in tools", a->name, a->tools[k]);
    }
    return rc;
}

static int parse_projects(struct vs_pol_ld *c, const config_setting_t *s, struct vs_policy_life *l)
{
    static const char *const keys[] = {"name", "path", "secrets", "agents"};
    void *v = NULL;
    int rc = list_of_groups(c, s, "projects", sizeof *l->projects, &v, &l->n_projects);
    l->projects = v;
    for (size_t i = 0; rc == 0 && i < l->n_projects; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        struct vs_policy_project *pr = &l->projects[i];
        const config_setting_t *sp = config_setting_get_member(g, "path");
        const config_setting_t *ss = config_setting_get_member(g, "secrets");
        const config_setting_t *sa = config_setting_get_member(g, "agents");
        const char *path;
        rc = vs_pol_check_keys(c, g, "project", keys, NKEYS(keys));
        if (rc == 0)
            rc = entry_name(c, g, "project", label_valid, &pr->name);
        if (rc == 0 && (sp == NULL || ss == NULL))
            rc = vs_pol_err(c, g, "project %s: path and secrets are required", pr->name);
        if (rc == 0)
            rc = vs_pol_string(c, sp, &path);
        if (rc == 0)
            rc = vs_pol_path(c, sp, path, &pr->path);
        /* The kernel reports a working folder with symlinks resolved, so
         * the project's folder is compared in that form too. */
        char real[PATH_MAX];
        if (rc == 0 && realpath(pr->path, real) != NULL) {
            free(pr->path);
            if ((pr->path = strdup(real)) == NULL)
                rc = vs_fail(VS_ENOMEM, "policy: out of memory");
        } else if (rc == 0) {
            rc = vs_pol_warn(c, "%s:%u: project %s: %s: not found (its secrets go to no folder)", c->src,
                             config_setting_source_line(sp), pr->name, pr->path);
        }
        if (rc == 0)
            rc = copy_strings(c, ss, secret_valid, "project secrets", &pr->secrets, &pr->n_secrets);
        for (size_t k = 0; rc == 0 && k < pr->n_secrets; k++)
            rc = vs_pol_check_secret(c, ss, "project secrets", pr->secrets[k]);
        if (rc == 0 && sa != NULL)
            rc = copy_strings(c, sa, label_valid, "project agents", &pr->agents, &pr->n_agents);
    }
    return rc;
}

/* "08-20": from 08:00 up to 20:00 local time; "22-06" wraps midnight. */
static int parse_hours(struct vs_pol_ld *c, const config_setting_t *s, struct vs_policy_alerts *a)
{
    const char *v;
    int rc = vs_pol_string(c, s, &v);
    int from, to, used = 0;
    if (rc == 0 && (sscanf(v, "%2d-%2d%n", &from, &to, &used) != 2 || v[used] != '\0' || from < 0 || from > 23 ||
                    to < 1 || to > 24 || from == to))
        rc = vs_pol_err(c, s, "active_hours must be \"HH-HH\" (from 00-23, to 01-24, e.g. \"08-20\")");
    if (rc == 0) {
        a->active_from = from;
        a->active_to = to;
    }
    return rc;
}

static int parse_alerts(struct vs_pol_ld *c, const config_setting_t *g, struct vs_policy_alerts *a)
{
    static const char *const keys[] = {"multiple", "min_uses", "per_minute_cap", "denial_burst", "quarantine",
                                       "active_hours", "alert_command"};
    if (!config_setting_is_group(g))
        return vs_pol_err(c, g, "alerts must be a group { ... }");
    int rc = vs_pol_check_keys(c, g, "alerts", keys, NKEYS(keys));
    const config_setting_t *s;
    if (rc == 0 && (s = config_setting_get_member(g, "multiple")) != NULL) {
        int type = config_setting_type(s);
        double m = type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                   : type == CONFIG_TYPE_INT ? (double)config_setting_get_int(s) : -1.0;
        if (m != 0.0 && !(m >= 1.0 && m <= 1000.0))
            rc = vs_pol_err(c, s, "multiple must be a number from 1.0 to 1000.0 (0 turns it off)");
        a->multiple = m;
    }
    if (rc == 0 && (s = config_setting_get_member(g, "min_uses")) != NULL)
        rc = int_in(c, s, 1, 1000000, &a->min_uses);
    if (rc == 0 && (s = config_setting_get_member(g, "per_minute_cap")) != NULL)
        rc = int_in(c, s, 0, 1000000, &a->per_minute_cap);
    if (rc == 0 && (s = config_setting_get_member(g, "denial_burst")) != NULL)
        rc = int_in(c, s, 0, 1000000, &a->denial_burst);
    if (rc == 0 && (s = config_setting_get_member(g, "quarantine")) != NULL)
        rc = vs_pol_bool(c, s, &a->quarantine);
    if (rc == 0 && (s = config_setting_get_member(g, "active_hours")) != NULL)
        rc = parse_hours(c, s, a);
    if (rc == 0 && (s = config_setting_get_member(g, "alert_command")) != NULL) {
        rc = copy_strings(c, s, NULL, "alert_command", &a->command, &a->n_command);
        if (rc == 0 && (a->n_command == 0 || a->n_command > VS_ALERT_CMD_MAX || a->command[0][0] != '/'))
            rc = vs_pol_err(c, s, "alert_command: 1-%d arguments, the first an absolute path (run without a shell)",
                            VS_ALERT_CMD_MAX);
    }
    return rc;
}

int vs_pol_lifecycle(struct vs_pol_ld *c, const config_setting_t *root)
{
    struct vs_policy_life *l = &c->p->life;
    const config_setting_t *s;
    int rc = 0;
    if ((s = config_setting_get_member(root, "secrets")) != NULL)
        rc = parse_secrets(c, s, l);
    if (rc == 0 && (s = config_setting_get_member(root, "agents")) != NULL)
        rc = parse_agents(c, s, l);
    if (rc == 0 && (s = config_setting_get_member(root, "projects")) != NULL)
        rc = parse_projects(c, s, l);
    if (rc == 0 && (s = config_setting_get_member(root, "alerts")) != NULL)
        rc = parse_alerts(c, s, &l->alerts);
    return rc;
}

int vs_policy_rotation_days(const struct vs_policy *p, const char *name, uint32_t stored)
{
    for (size_t i = 0; p != NULL && i < p->life.n_secrets; i++)
        if (strcmp(p->life.secrets[i].name, name) == 0 && p->life.secrets[i].rotation_days > 0)
            return p->life.secrets[i].rotation_days;
    if (stored != 0)
        return (int)stored;
    return p != NULL ? p->rotation_days : 90;
}

const struct vs_policy_agent *vs_policy_find_agent(const struct vs_policy *p, const char *name)
{
    for (size_t i = 0; p != NULL && name != NULL && i < p->life.n_agents; i++)
        if (strcmp(p->life.agents[i].name, name) == 0)
            return &p->life.agents[i];
    return NULL;
}

bool vs_policy_agent_allows(const struct vs_policy_agent *a, const char *tool)
{
    for (size_t i = 0; i < a->n_tools; i++)
        if (strcmp(a->tools[i], tool) == 0)
            return true;
    return false;
}

static bool listed(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

bool vs_path_inside(const char *path, const char *folder)
{
    size_t n = strlen(folder);
    if (n == 1 && folder[0] == '/')
        return path[0] == '/';
    return strncmp(path, folder, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool vs_policy_secret_scoped(const struct vs_policy *p, const char *secret)
{
    for (size_t i = 0; i < p->life.n_projects; i++)
        if (listed(p->life.projects[i].secrets, p->life.projects[i].n_secrets, secret))
            return true;
    return false;
}

bool vs_policy_project_allows(const struct vs_policy *p, const char *secret, const char *cwd, const char *agent,
                              const char **project)
{
    *project = NULL;
    for (size_t i = 0; i < p->life.n_projects; i++) {
        const struct vs_policy_project *pr = &p->life.projects[i];
        if (!listed(pr->secrets, pr->n_secrets, secret))
            continue;
        if (*project == NULL)
            *project = pr->name;
        if (!vs_path_inside(cwd, pr->path))
            continue;
        if (pr->n_agents != 0 && !listed(pr->agents, pr->n_agents, agent))
            continue;
        *project = pr->name;
        return true;
    }
    return false;
}
