/* vaultd: the daemon's state and the seams between its files.
 *
 *   main.c      options, start-up checks, the run
 *   state.c     the vault (unlock, lock, re-read), the policy (load,
 *               reload, index), the audit lines of decisions
 *   audit_d.c   the audit writer and its sync mode (audit_sync)
 *   server.c    the socket, the event loop, connections, framing
 *   dispatch.c  the request table and the admin requests
 *   grants.c    GRANTS, CONFIRM, RENDER_FILE: who gets what
 *   mediate.c   MEDIATE, EXEC_DONE: grants for a tool run by vault-exec
 *   approvals.c held requests, PENDING, APPROVE, DENY, remembered approvals
 *
 * Rules the daemon keeps (DESIGN.md invariants 2, 3, 4, 8):
 *  1. A connection's identity (struct vs_peer) is fixed at accept; every
 *     message must carry the same pid in SCM_CREDENTIALS and the peer must
 *     still be the process it was (no exit, no exec).
 *  2. Values leave only after CONFIRM: the peer made itself non-dumpable,
 *     vaultd verified it and re-read TracerPid.
 *  3. No audit line, no answer: a decision that cannot be logged is refused.
 *  4. Admin requests only from the vault owner's uid (or root); those that
 *     widen access need the passphrase on a passphrase vault.
 *  5. Single-threaded: one epoll loop; nothing here is locked. */
#ifndef VAULTD_H
#define VAULTD_H

#include "peer.h"
#include "policy.h"
#include "buf.h"
#include "proto.h"
#include "vault.h"
#include "lifecycle.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/un.h>

#define VAULTD_MAX_CONNS 1024
#define VAULTD_IDLE_MS 10000 /* a connection silent this long is closed */

enum conn_state { CONN_NEW, CONN_AWAIT_CONFIRM, CONN_GRANTED };

struct conn {
    int fd;
    size_t slot;                        /* index in vaultd.conns, the fd's epoll tag */
    struct outq *out;                   /* answers waiting for room (outq.c); NULL when none */
    struct vs_peer peer;
    enum conn_state state;
    int64_t accepted_ms, last_ms;
    uint64_t policy_gen;                /* the policy the decision was made under */
    const struct vs_policy_tool *tool;  /* valid while policy_gen is current */
    int args_from;                      /* argv index where the tool's arguments start */
    char agent[64], session[64];        /* labels for the audit log, never for a decision */
    struct masks *masks;                /* the tool's values, masked out of logged argv */
    struct mediation *med;              /* a vault-exec run (mediate.c); NULL otherwise */
    bool held;                          /* parked for an approval: no idle close */
    bool closing;                       /* answered for the last time: read no more,
                                         * close once the queued answers are sent */
    size_t files_due;                   /* WITH_FILES: the tool's files still to render */
    uint32_t files_id;                  /* ... answered with the granting request's id */
};

/* A handler's answer "no reply now": the request is held (approvals.c)
 * and answered later on the same connection. */
#define VAULTD_HELD 1

/* Decrypted values of a tool's secrets, kept only while a decision about it
 * is logged, so that an argv holding one is logged with ******** instead. */
#define VAULTD_MAX_MASKS 32
struct masks {
    bool all;     /* every argument as ******** (vaultd_masks_of) */
    size_t n;
    size_t lens[VAULTD_MAX_MASKS];
    const struct vs_secret *from[VAULTD_MAX_MASKS]; /* which secret each value is */
    uint8_t *values; /* the pool in masks.c: locked, wiped after each use */
};

struct vaultd {
    char home[PATH_MAX];
    char config[PATH_MAX];
    char keyfile[PATH_MAX];
    char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char sockdir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char shim[PATH_MAX];        /* our own libvaultshim.so, accepted in LD_PRELOAD */
    char vault_exec[PATH_MAX];  /* the genuine vault-exec: beside vaultd */
    unsigned owner_tty;         /* tty_nr of the unlocking terminal; 0 none */
    long owner_sid;             /* ... and that process's session */
    struct approvals *approvals; /* approvals.c; NULL until first use */
    enum vs_kdf_kind kind;
    struct vs_vault *vault;     /* NULL while locked */
    struct stat store_seen;     /* the store file as last read */
    int auditfd;                /* kept while locked, so denials are logged */
    uint8_t *audit_key;         /* sodium_malloc'd; NULL until first unlock */
    uint64_t generation;        /* store generation last seen */
    struct vs_policy *policy;
    uint64_t policy_gen;
    int sockdirfd, listen_fd, epoll_fd, signal_fd;
    struct conn *conns[VAULTD_MAX_CONNS];
    size_t nconns;
    uid_t owner;                /* the vault owner: vaultd's effective uid */
    gid_t peer_gid;             /* --peer-group: who else may connect; (gid_t)-1 none */
    uint8_t *reply;             /* sodium_malloc'd frame buffer, wiped after each send */
    bool stop;
    bool full_logged;
    struct lifecycle *life;     /* lockdown, sessions, usage, alerts (lifecycle.h) */
};

/* state.c */
int vaultd_unlock(struct vaultd *d, const struct vs_unlock *u);
int vaultd_unlock_keyfile(struct vaultd *d);
void vaultd_lock(struct vaultd *d);
int vaultd_refresh_store(struct vaultd *d);
int vaultd_load_policy(struct vaultd *d);
int vaultd_log(struct vaultd *d, const struct conn *c, const char *event, const char *decision,
               const char *reason, const char *secrets, const char *extra);
void vaultd_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
size_t vaultd_overdue(const struct vaultd *d);

/* audit_d.c: lines are written at once; the policy's audit_sync says when
 * they are fsync'd. An answer waits for vaultd_audit_sync when
 * vaultd_audit_answer_waits (server.c); vaultd_audit_tick runs at the end
 * of every round; vaultd_audit_timeout bounds the loop's wait. */
void vaultd_audit_configure(const struct vs_policy *p);
int vaultd_audit_append(struct vaultd *d, const struct vs_audit_event *ev);
uint64_t vaultd_audit_written(void);
bool vaultd_audit_answer_waits(uint64_t written_before);
int vaultd_audit_sync(void);
int vaultd_audit_tick(void);
int vaultd_audit_timeout(int cap_ms);

/* beside.c: the first of places ("/name", relative to vaultd's own
 * folder) that exists, as a real path in out. */
bool vaultd_find_beside(const char *const *places, size_t n, char *out, size_t cap);

/* server.c */
int vaultd_listen(struct vaultd *d);
int vaultd_run(struct vaultd *d);
/* Gives freed heap back to the system (malloc_trim) at the next idle
 * sweep: a store or policy load frees its file buffers and parse trees,
 * and with 10,000 secrets that is megabytes held as fragments. Deferred,
 * so the request that triggered the load pays no heap walk. */
void vaultd_trim_when_idle(void);
void vaultd_shutdown(struct vaultd *d);

/* dispatch.c: handles one decoded request; writes the reply frame into
 * d->reply and its length into *len. */
int vaultd_dispatch(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
int vaultd_reply_error(struct vaultd *d, uint32_t id, int code, const char *reason, size_t *len);

/* masks.c */
int vaultd_masks_load(struct vaultd *d, struct conn *c);
void vaultd_masks_free(struct conn *c);
/* The masks for c's argv: its tool's values, or every argument while the
 * vault is locked. */
const struct masks *vaultd_masks_of(const struct vaultd *d, const struct conn *c);
void vaultd_put_masked(struct vs_buf *b, const char *text, const struct masks *m);

/* grants.c */
int vaultd_grants(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
int vaultd_confirm(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
int vaultd_render(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
/* The next of the tool's files a grant WITH_FILES owes (c->files_due > 0):
 * rendered and logged like a RENDER_FILE; *id is the granting request's. */
int vaultd_render_due(struct vaultd *d, struct conn *c, uint32_t *id, size_t *len);
/* For mediate.c: the same steps on a mediated target. */
void vaultd_read_labels(struct conn *c, const struct vs_msg *m);
int vaultd_check_secrets(struct vaultd *d, const struct vs_policy_tool *t);
unsigned vaultd_injection_kinds(const struct vs_policy_tool *t);

/* dispatch.c: 0 when m carries the vault passphrase (checked by opening
 * the vault with it), VS_EPERM otherwise. */
int vaultd_check_passphrase(struct vaultd *d, const struct vs_msg *m);

/* mediate.c */
void vaultd_find_vault_exec(struct vaultd *d);
int vaultd_mediate(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
int vaultd_exec_done(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
/* The OK reply to a granted MEDIATE (also sent by approvals.c). */
int vaultd_mediate_reply(struct vaultd *d, struct conn *c, uint32_t id, size_t *len);
void vaultd_mediation_free(struct conn *c);
/* "tool X: /path/exe" facts of a mediated request, for approvals.c. */
struct mediation_facts {
    const char *target_path; /* readlink of the target fd */
    const uint8_t *sha256;   /* the target's bytes */
    char *const *args;       /* the target's argv (args[0] = TARGET) */
    size_t nargs;
    size_t args_from;        /* first argument the policy judges */
};
int vaultd_mediation_facts(const struct conn *c, struct mediation_facts *f);
/* A process's terminal facts, from /proc/PID/stat through its procfd. */
struct peer_tty {
    unsigned tty_nr; /* 0: no controlling terminal */
    long ppid, sid, pgrp;
    long tpgid;      /* the terminal's foreground process group */
};
int vaultd_peer_tty(const struct vs_peer *p, struct peer_tty *t);

/* approvals.c */
/* 0: go on now; VAULTD_HELD: held until the owner answers; or a refusal. */
int vaultd_approval_gate(struct vaultd *d, struct conn *c, uint32_t id);
int vaultd_pending(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
int vaultd_approve(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
int vaultd_deny(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
/* Once a second: expire held requests, reap notify commands. */
void vaultd_approvals_tick(struct vaultd *d);
/* A connection closes: forget its held request. */
void vaultd_approvals_drop(struct vaultd *d, struct conn *c);
void vaultd_approvals_free(struct vaultd *d);
/* The owner's terminal (the human factor of a tty approval): the tty of
 * the peer that unlocked a passphrase vault, or (p NULL) vaultd's own for
 * a key-file vault. */
void vaultd_approvals_owner_tty(struct vaultd *d, const struct vs_peer *p);

#endif
