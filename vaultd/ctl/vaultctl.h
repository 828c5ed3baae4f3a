/* vaultctl internals: one struct for the parsed command line, the helpers
 * every command shares, and one function per command. No command prints a
 * secret value; errors are one line, "vaultctl: CMD: detail". */
#ifndef VAULTCTL_H
#define VAULTCTL_H

#include "vault.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { CTL_OK = 0, CTL_ERROR = 1, CTL_USAGE = 2 };

struct ctl {
    const char *cmd;
    char home[PATH_MAX];
    bool keyfile_given;      /* --keyfile[=PATH] */
    const char *keyfile;     /* PATH, or NULL for the default */
    int passphrase_fd;       /* --passphrase-fd N, or -1 */
    bool json, verify, lift;
    bool apply, undo;                   /* import */
    bool staged, history, install_hook; /* scan */
    const char *reason, *secret, *since, *kdf, *socket, *agent;
    const char *for_text;    /* approve --for DURATION */
    const char *uses_text;   /* approve --uses N */
    bool watch;              /* approve --watch */
    bool with_passphrase;    /* approve --passphrase */
    int argc;                /* positional arguments after the command */
    char **argv;
};

int vaultctl_main(int argc, char **argv);

/* Prints "vaultctl: CMD: detail" for rc and returns CTL_ERROR. */
int ctl_fail(const struct ctl *c, int rc);
/* Prints "vaultctl: CMD: message" and returns code. */
int ctl_say(const struct ctl *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The key file path in force: --keyfile=PATH, $VAULT_KEYFILE, HOME/vault.key. */
int ctl_keyfile_path(const struct ctl *c, char *out, size_t cap);

/* Reads a passphrase from --passphrase-fd or, no-echo, from the terminal
 * (twice when confirm). *buf is sodium_malloc'd; free with sodium_free. */
int ctl_read_passphrase(const struct ctl *c, const char *prompt, bool confirm, uint8_t **buf, size_t *len);

/* Reads a secret value: from stdin when it is not a terminal (one trailing
 * newline dropped), else no-echo from the terminal. Never from argv. */
int ctl_read_value(const struct ctl *c, const char *name, uint8_t **buf, size_t *len);

/* Opens the vault in c->home, asking for whatever unlocks it. */
int ctl_open_vault(const struct ctl *c, unsigned flags, struct vs_vault **out);

/* Puts back the core-dump limit vaultctl lowered for itself, before it
 * execs a command (vaultctl run). */
void ctl_restore_limits(void);

/* An audit event for this vaultctl run. */
struct vs_audit_event ctl_event(const char *event, const char *secret, uint32_t version, const char *reason);

int cmd_init(struct ctl *c);
int cmd_save(struct ctl *c);
int cmd_rotate(struct ctl *c);
int cmd_revoke(struct ctl *c);
int cmd_restore(struct ctl *c);
int cmd_rm(struct ctl *c);
int cmd_list(struct ctl *c);
int cmd_audit(struct ctl *c);
int cmd_ping(struct ctl *c);
int cmd_run(struct ctl *c);
int cmd_status(struct ctl *c);
int cmd_unlock(struct ctl *c);
int cmd_lock(struct ctl *c);
int cmd_reload(struct ctl *c);
int cmd_check(struct ctl *c);
int cmd_history(struct ctl *c);
int cmd_drill(struct ctl *c);
int cmd_lockdown(struct ctl *c);
int cmd_sessions(struct ctl *c);
int cmd_end_session(struct ctl *c);
int cmd_usage(struct ctl *c);
int cmd_import(struct ctl *c);
int cmd_scan(struct ctl *c);
int cmd_pending(struct ctl *c);
int cmd_approve(struct ctl *c);
int cmd_deny(struct ctl *c);

#endif
