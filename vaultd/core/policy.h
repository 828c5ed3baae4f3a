/* The policy: one struct is the whole rule model (as OpenDoas keeps it),
 * loaded from a libconfig file, refused whole with "FILE:LINE: reason" when
 * any part is wrong. See config/vaultshim.conf for every key.
 *
 * Matching rules (what vaultd decides with):
 *  - a process is a tool when the device and inode of its executable (and,
 *    for an interpreter tool, of its script) equal those recorded at load;
 *    an interpreter tool (script set) wins over a plain tool on the same
 *    executable; two tools with the same key are refused at load;
 *  - its arguments (argv[1..], or those after the script) pass
 *    vs_policy_tool_args: a deny_args match refuses; when allow_args is
 *    present, one of its patterns must match;
 *  - an env name is protected when it is in protect (exact or glob) or is
 *    granted by any tool's env.
 * The struct is read-only after load; all strings are owned by it. */
#ifndef VS_POLICY_H
#define VS_POLICY_H

#include "argglob.h"
#include "audit_sync.h"
#include "policy_lifecycle.h"
#include "template.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VS_POLICY_MAX_BYTES (1024 * 1024)
#define VS_POLICY_MAX_HIDE 16

struct vs_policy_env {
    char *env;    /* environment name the tool sees */
    char *secret; /* secret name in the vault */
};

struct vs_policy_file {
    char *name;
    char *path; /* absolute, "~" expanded, lexically canonical */
    struct vs_template *tmpl;
    unsigned line;
};

struct vs_policy_tool {
    char *name;
    unsigned line;
    char *exe;         /* as written, "~" expanded */
    char *script;      /* NULL for a plain tool */
    char *exe_real;    /* realpath; NULL when unavailable */
    char *script_real;
    dev_t exe_dev, script_dev;
    ino_t exe_ino, script_ino;
    bool available;    /* exe (and script) found at load */
    bool has_sha256;
    uint8_t sha256[32];
    struct vs_policy_env *env;
    size_t n_env;
    size_t *files;     /* indices into vs_policy.files */
    size_t n_files;
    struct vs_arglist allow_args, deny_args, approve_args;
    char **hide;       /* hide_files: paths, or a star-slash suffix (policy_hide.c) */
    size_t n_hide;
    bool approve, mask, mediate, allow_proxy, allow_namespaces, interpreter;
};

struct vs_policy_tool_key; /* index entry, private */

struct vs_policy {
    char *source;
    /* vault { } */
    int rotation_days;   /* default 90 */
    char *audit_log;     /* NULL when unset: the vault's own VAULT_HOME/audit.log */
    int keep_versions;   /* default 5 */
    int approve_timeout; /* seconds a held request waits for the owner; default 60 */
    char **notify_argv;  /* notify_command: run (no shell) on each held request */
    size_t n_notify;
    bool allow_namespaces;
    enum vs_audit_sync audit_sync; /* top-level audit_sync; default each */
    int audit_sync_ms;             /* audit_sync_ms (interval only); default 1000 */
    /* protect, plus every tool env name */
    char **protect_exact; /* sorted, unique */
    size_t n_protect_exact;
    char **protect_glob;
    size_t n_protect_glob;
    struct vs_policy_tool *tools; /* in file order */
    size_t n_tools;
    struct vs_policy_file *files; /* in file order */
    size_t n_files;
    char **warnings; /* e.g. "FILE:LINE: tool aws: /usr/bin/aws: not found (unavailable)" */
    size_t n_warnings;
    /* indexes */
    struct vs_policy_tool_key *tool_index;
    size_t n_tool_index;
    size_t *file_by_path; /* indices into files, sorted by path */
    struct vs_policy_life life; /* secrets, agents, projects, alerts (policy_lifecycle.h) */
};

/* Is a secret name in the vault? Return true if so. */
typedef bool (*vs_policy_secret_known_fn)(void *ctx, const char *name);

struct vs_policy_opts {
    const char *home;                      /* NULL: getpwuid(geteuid())->pw_dir */
    vs_policy_secret_known_fn secret_known; /* NULL: names are not checked */
    void *secret_ctx;
};

/* Opens path with O_NOFOLLOW, checks the open file (regular, owned by root
 * or the euid, not group/other-writable, at most VS_POLICY_MAX_BYTES), then
 * parses what it read. Errors: VS_EPERM (unsafe file: "PATH: reason"),
 * VS_EIO, VS_ETOOBIG, VS_ENOMEM, VS_EPOLICY ("PATH:LINE: reason"). */
int vs_policy_load_file(const char *path, const struct vs_policy_opts *opts,
                        struct vs_policy **out);
/* Parses text; source_name is used in messages. Same errors, no file checks. */
int vs_policy_load_string(const char *text, const char *source_name,
                          const struct vs_policy_opts *opts, struct vs_policy **out);
void vs_policy_free(struct vs_policy *p);

/* Look-ups (O(log n)). has_script false: the process runs no script. */
const struct vs_policy_tool *vs_policy_find_tool(const struct vs_policy *p, dev_t exe_dev,
                                                 ino_t exe_ino, bool has_script,
                                                 dev_t script_dev, ino_t script_ino);
/* Is exe the interpreter of some tool (so its script must be looked at)? */
bool vs_policy_is_interpreter(const struct vs_policy *p, dev_t exe_dev, ino_t exe_ino);
const struct vs_policy_tool *vs_policy_find_tool_by_name(const struct vs_policy *p,
                                                         const char *name);
const struct vs_policy_file *vs_policy_find_file(const struct vs_policy *p, const char *path);
const struct vs_policy_file *vs_policy_find_file_by_name(const struct vs_policy *p,
                                                         const char *name);
bool vs_policy_is_protected(const struct vs_policy *p, const char *env_name);

/* vs_args_decide with the tool's allow_args and deny_args. */
int vs_policy_tool_args(const struct vs_policy_tool *t, int argc, char *const argv[],
                        const char **why);

#endif
