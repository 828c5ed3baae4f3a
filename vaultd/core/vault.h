/* The vault on disk: a 0700 folder holding the store, the audit log and a
 * lock file; every change is one transaction.
 *
 * Rules this module keeps:
 *  1. Writers are serialised by an exclusive lock on VAULT_HOME/lock.
 *  2. A commit writes the store atomically first, then its audit line; the
 *     audit append is reserved before the store is touched, and if it still
 *     fails the old store bytes are put back: no change without its line.
 *  3. Opening checks the store against the audit log: a store whose
 *     generation is older than the log's last line is a rollback; a log
 *     shorter than the store records was cut. Both refuse to open.
 *  4. A store written whose audit line was lost to a crash (the process
 *     killed between the two) gets a "recover" line at the next write open. */
#ifndef VS_VAULT_H
#define VS_VAULT_H

#include "audit.h"
#include "store.h"

#include <limits.h>
#include <stdbool.h>

#define VS_STORE_FILE "store"
#define VS_AUDIT_FILE "audit.log"
#define VS_LOCK_FILE "lock"
#define VS_KEYFILE_NAME "vault.key"

struct vs_vault {
    int dirfd;
    int lockfd;  /* -1 when opened for reading */
    int auditfd;
    struct vs_store *store;
    uint8_t *disk_bytes; /* the store as it is on disk, to undo a commit */
    size_t disk_len;
    char home[PATH_MAX];
};

/* $VAULT_HOME, else ~/.local/share/vaultshim with ~ from the password
 * database (not $HOME: the agent controls its environment). */
int vs_vault_default_home(char *out, size_t cap);

/* Creates a vault in home (made 0700 if missing). */
int vs_vault_init(const char *home, const struct vs_unlock *u, enum vs_kdf_level level);

/* Which secret unlocks the vault in home (to know whether to prompt). */
int vs_vault_kdf_kind(const char *home, enum vs_kdf_kind *kind);

enum {
    VS_VAULT_WRITE = 1,          /* take the writers' lock; commits allowed */
    VS_VAULT_SKIP_AUDIT_CHECK = 2, /* for `audit --verify`, which reports in detail */
    VS_VAULT_AUDIT_APPEND = 4      /* vaultd: append decisions, without the writers' lock */
};
int vs_vault_open(const char *home, const struct vs_unlock *u, unsigned flags, struct vs_vault **out);

/* Persists the in-memory store as the next generation with ev as its audit
 * line. Only for vaults opened with write. */
int vs_vault_commit(struct vs_vault *v, const struct vs_audit_event *ev);

void vs_vault_close(struct vs_vault *v);

#endif
