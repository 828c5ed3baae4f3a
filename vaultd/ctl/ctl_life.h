/* vaultctl's lifecycle helpers: who used a secret (from the audit log:
 * metadata only), the policy in force (for rotation periods), requests to
 * vaultd, and the emergency runbook. */
#ifndef CTL_LIFE_H
#define CTL_LIFE_H

#include "policy.h"
#include "vaultctl.h"

#include <stdbool.h>
#include <stdint.h>

/* One group of uses: secret, version, agent, tool (and the session of the
 * last use). */
struct ctl_use {
    char secret[65], agent[64], tool[64], session[64];
    uint32_t version;
    uint64_t count;
    char last[32];
};

#define CTL_RECENT 5
struct ctl_uses {
    struct ctl_use *groups;
    size_t n;
    struct ctl_use recent[CTL_RECENT]; /* the last uses of only_secret, oldest first */
    size_t n_recent;
    char version_time[32];  /* when only_secret's newest version was saved or rotated */
    uint32_t newest_version;
    char first_use[32];     /* the first recorded use of that version */
};

/* Reads the audit log (no key needed: it holds no values). only_secret
 * NULL: every secret (groups only). */
int ctl_uses_scan(const struct ctl *c, const char *only_secret, struct ctl_uses *out);
void ctl_uses_free(struct ctl_uses *u);

/* The policy vaultd reads: $VAULT_CONFIG, else ~/.config/vaultshim/
 * vaultshim.conf. *out NULL (defaults apply) when the file does not exist. */
int ctl_load_policy(const struct ctl *c, struct vs_policy **out);

/* One request to vaultd. Fields: NAME, SESSION, AGENT, LIFT (non-zero),
 * PASSPHRASE; text gets the reply's STATUS_TEXT (or SESSION for
 * SESSION_OPEN). Returns 0 or an error (vs_last_error holds vaultd's
 * reason). */
struct ctl_req {
    const char *name, *session, *agent;
    uint32_t lift;
    const uint8_t *pass;
    size_t pass_len;
};
int ctl_request(const struct ctl *c, uint8_t op, const struct ctl_req *req, char *text, size_t cap);

/* The human factor for lifting (lockdown --lift, restore of a quarantine):
 * the passphrase on a passphrase vault (*pass set, sodium_free it), or a
 * terminal and the typed word "lift" on a key-file vault. */
int ctl_human_factor(const struct ctl *c, uint8_t **pass, size_t *pass_len);

/* The emergency runbook for one secret, to stdout, after what was done:
 * a revoke, a lockdown, or nothing (a drill, a dry run). */
enum ctl_runbook_after { CTL_AFTER_REVOKE, CTL_AFTER_LOCKDOWN, CTL_AFTER_DRILL };
int ctl_runbook(const struct ctl *c, const char *secret, enum ctl_runbook_after after);

#endif
