/* Use counts per secret, agent and hour: the baseline the alerts compare
 * against, and what `vaultctl usage` charts. Pure data and arithmetic (no
 * I/O, no clock), so the unit tests drive it with any hours they like.
 *
 * File format (VAULT_HOME/usage, written by vaultd atomically):
 *   vsusage 1
 *   HOUR SECRET AGENT COUNT      one line per entry
 * HOUR is unix time / 3600 (UTC hours); AGENT is "-" for no agent label.
 * Entries older than VS_USAGE_KEEP_HOURS before the newest are dropped. */
#ifndef VS_USAGE_H
#define VS_USAGE_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_USAGE_KEEP_HOURS (8 * 24)
#define VS_USAGE_BASELINE_HOURS (7 * 24)
#define VS_USAGE_MAX_ENTRIES 65536
#define VS_USAGE_FILE "usage"

struct vs_usage_entry {
    int64_t hour;
    char secret[65];
    char agent[64];
    uint32_t count;
};

struct vs_usage {
    struct vs_usage_entry *e;
    size_t n, cap;
};

void vs_usage_free(struct vs_usage *u);
/* Adds n uses (agent "" or NULL: none). VS_ETOOBIG when full. */
int vs_usage_add(struct vs_usage *u, int64_t hour, const char *secret, const char *agent, uint32_t n);
/* Uses of secret in one hour, all agents (agent NULL) or one. */
uint64_t vs_usage_count(const struct vs_usage *u, const char *secret, const char *agent, int64_t hour);
/* The average uses per hour over the VS_USAGE_BASELINE_HOURS before hour. */
double vs_usage_baseline(const struct vs_usage *u, const char *secret, int64_t hour);
/* The oldest hour with a use of secret; -1 when none. */
int64_t vs_usage_first_hour(const struct vs_usage *u, const char *secret);
/* Drops entries before now_hour - VS_USAGE_KEEP_HOURS. */
void vs_usage_prune(struct vs_usage *u, int64_t now_hour);

/* The alert rule: an hour with at least min_uses uses and more than
 * multiple times the baseline, for a secret with a day of history. */
bool vs_usage_over_baseline(uint64_t this_hour, double baseline, double multiple, int min_uses, bool has_history);

int vs_usage_parse(const char *text, size_t len, struct vs_usage *u);
int vs_usage_format(const struct vs_usage *u, struct vs_buf *out);

#endif
