/* vaultd's key-lifecycle state and its seams (docs/lifecycle.md):
 *
 *   lifecycle.c  start/stop/tick, and the decision hook: lockdown,
 *                quarantine, session, agent tool limits, project folders
 *   lockdown.c   LOCKDOWN and RELEASE (quarantine lift): state persisted in
 *                VAULT_HOME, the human factor for lifting
 *   sessions.c   SESSION_OPEN, SESSIONS, SESSION_END
 *   usage_d.c    use counts per secret, agent, hour: persisted, USAGE chart
 *   alerts.c     rate, cap, denial-burst and off-hours alerts; quarantine;
 *                alert_command
 *
 * Rules: agent and session are labels (attribution, not authority); every
 * refusal has one line naming its cause; state files are written
 * atomically and hold no value. */
#ifndef VAULTD_LIFECYCLE_H
#define VAULTD_LIFECYCLE_H

#include "usage.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vaultd;
struct conn;
struct vs_msg;

#define LIFE_MAX_SESSIONS 256
#define LIFE_MAX_QUARANTINE 64
#define LIFE_MAX_MINUTE 64
#define LIFE_MAX_CHILDREN 16
#define LIFE_LOCKDOWN_FILE "lockdown"
#define LIFE_QUARANTINE_FILE "quarantine"

struct life_session {
    char id[33];
    char agent[64];
    int64_t start_ms, end_ms;
    pid_t pid;
    int pidfd;
    bool used, ended;
    char why[48];
};

struct life_minute { /* per-minute counters: cap per secret, denials per agent */
    char key[72];
    int64_t minute;
    uint32_t count;
    bool alerted;
};

struct lifecycle {
    int dirfd;              /* VAULT_HOME */
    bool lockdown;
    char quarantined[LIFE_MAX_QUARANTINE][65];
    size_t n_quarantined;
    struct life_session sessions[LIFE_MAX_SESSIONS];
    struct vs_usage usage;
    bool usage_dirty;
    int64_t usage_saved_ms;
    /* once-per-period alert flags and counters, by key */
    struct life_minute cap[LIFE_MAX_MINUTE], hours[LIFE_MAX_MINUTE], denials[LIFE_MAX_MINUTE];
    pid_t children[LIFE_MAX_CHILDREN];
};

/* lifecycle.c */
int vaultd_life_start(struct vaultd *d);
void vaultd_life_stop(struct vaultd *d);
void vaultd_life_tick(struct vaultd *d);
/* STATUS lines: lockdown, quarantines, overdue names, live sessions. */
void vaultd_life_status(struct vaultd *d, char *out, size_t cap);
int vaultd_life_decide(struct vaultd *d, struct conn *c);
void vaultd_life_granted(struct vaultd *d, struct conn *c);
void vaultd_life_denied(struct vaultd *d, struct conn *c);
int64_t vaultd_life_now_ms(void);

/* lockdown.c */
int vaultd_lockdown_load(struct vaultd *d);
bool vaultd_quarantined(const struct vaultd *d, const char *secret);
int vaultd_quarantine(struct vaultd *d, const char *secret);
int vaultd_h_lockdown(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
int vaultd_h_release(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);

/* sessions.c */
int vaultd_session_check(struct vaultd *d, struct conn *c);
void vaultd_sessions_close(struct vaultd *d);
int vaultd_h_session_open(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
int vaultd_h_sessions(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);
int vaultd_h_session_end(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);

/* usage_d.c */
int vaultd_usage_load(struct vaultd *d);
int vaultd_usage_save(struct vaultd *d);
int vaultd_h_usage(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len);

/* alerts.c */
void vaultd_alerts_use(struct vaultd *d, struct conn *c, const char *secret, int64_t now_ms);
void vaultd_alerts_denial(struct vaultd *d, struct conn *c, int64_t now_ms);
void vaultd_alerts_reap(struct vaultd *d);

/* a reply carrying STATUS_TEXT (dispatch's reply_ok, for these handlers) */
int vaultd_reply_text(struct vaultd *d, uint32_t id, const char *text, size_t *len);

#endif
