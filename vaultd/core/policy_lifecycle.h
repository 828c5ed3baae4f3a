/* The lifecycle part of the policy: per-secret rotation, agents (the tools
 * an agent label may use), projects (secrets scoped to a folder) and
 * alerts. Parsed by policy_lifecycle.c into vs_policy.life; see
 * config/vaultshim.conf and docs/lifecycle.md for the keys. */
#ifndef VS_POLICY_LIFECYCLE_H
#define VS_POLICY_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vs_policy;

struct vs_policy_secret_rule {
    char *name;
    int rotation_days; /* 0: the vault default */
};

struct vs_policy_agent {
    char *name;
    char **tools; /* tool names this agent's label may be granted */
    size_t n_tools;
};

struct vs_policy_project {
    char *name;
    char *path;    /* "~" expanded; realpath when it exists at load */
    char **secrets;
    size_t n_secrets;
    char **agents; /* empty: any agent (or none) */
    size_t n_agents;
};

#define VS_ALERT_CMD_MAX 16
struct vs_policy_alerts {
    double multiple;       /* default 3.0; 0 turns the baseline alert off */
    int min_uses;          /* an hour below this never alerts (default 10) */
    int per_minute_cap;    /* 0: none */
    int denial_burst;      /* denials per minute from one agent; 0: none (default 20) */
    bool quarantine;       /* a use alert revokes the secret until vaultctl restore */
    int active_from, active_to; /* hours, local time; -1: always active */
    char **command;        /* argv, NULL-terminated; NULL: none */
    size_t n_command;
};

struct vs_policy_life {
    struct vs_policy_secret_rule *secrets;
    size_t n_secrets;
    struct vs_policy_agent *agents;
    size_t n_agents;
    struct vs_policy_project *projects;
    size_t n_projects;
    struct vs_policy_alerts alerts;
};

void vs_policy_life_defaults(struct vs_policy_life *l);
void vs_policy_life_free(struct vs_policy_life *l);

/* The rotation period of a secret: its `secrets` entry, else what the
 * store records for it (stored, 0 none), else vault.rotation_days; p may
 * be NULL (90). */
int vs_policy_rotation_days(const struct vs_policy *p, const char *name, uint32_t stored);

const struct vs_policy_agent *vs_policy_find_agent(const struct vs_policy *p, const char *name);
bool vs_policy_agent_allows(const struct vs_policy_agent *a, const char *tool);

/* Is a secret scoped to projects? If so, may a process whose working
 * folder is cwd (the kernel's path) and whose agent label is agent ("" for
 * none) have it? *project names the project that allows it, or the first
 * that scopes it. */
bool vs_policy_secret_scoped(const struct vs_policy *p, const char *secret);
bool vs_policy_project_allows(const struct vs_policy *p, const char *secret, const char *cwd,
                              const char *agent, const char **project);

/* Is path inside folder (equal, or below it at a '/' boundary)? */
bool vs_path_inside(const char *path, const char *folder);

#endif
