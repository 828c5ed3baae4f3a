/* Lockdown (every grant refused) and quarantine (one secret refused after
 * an alert), both kept in files in VAULT_HOME so that a vaultd restart
 * keeps them, and both lifted only with the human factor.
 *
 * Rules this file keeps:
 *  1. A lockdown file that exists means lockdown, whatever it holds; a
 *     state that cannot be written is reported and kept in memory (fail
 *     closed: the refusal stays).
 *  2. Lifting needs the human factor: the passphrase on a passphrase vault;
 *     on a key-file vault, a peer in the foreground of a controlling
 *     terminal (a kernel fact from /proc/PID/stat). That shows a terminal,
 *     not a person: an agent that drives a pseudo-terminal passes it
 *     (docs/lifecycle.md says so).
 *  3. Every change and every refused lift has its audit line. */
#include "vaultd.h"

#include "error.h"
#include "fileio.h"
#include "names.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int stat_fields(int procfd, long long *pgrp, long long *tty_nr, long long *tpgid)
{
    char buf[1024];
    int fd = openat(procfd, "stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vs_fail_errno(VS_EIO, "/proc/PID/stat");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    (void)close(fd);
    if (n <= 0)
        return vs_fail(VS_EIO, "/proc/PID/stat: empty");
    buf[n] = '\0';
    /* After "pid (comm) ": state ppid pgrp session tty_nr tpgid; comm may
     * hold spaces and parentheses, so start after the last ')'. */
    const char *p = strrchr(buf, ')');
    char state;
    long long ppid, session;
    if (p == NULL || sscanf(p + 1, " %c %lld %lld %lld %lld %lld", &state, &ppid, pgrp, &session, tty_nr, tpgid) != 6)
        return vs_fail(VS_EIO, "/proc/PID/stat: unexpected format");
    return 0;
}

/* Rule 2. */
static int human_factor(struct vaultd *d, struct conn *c, const struct vs_msg *m)
{
    if (d->kind == VS_KDF_PASSPHRASE) {
        const uint8_t *pass;
        size_t pass_len;
        if (vs_msg_get_bytes(m, VS_F_PASSPHRASE, &pass, &pass_len) != 0 || pass_len == 0)
            return vs_fail(VS_EPERM, "this needs the vault passphrase");
        struct vs_unlock u = {VS_KDF_PASSPHRASE, pass, pass_len};
        struct vs_vault *v = NULL;
        int rc = vs_vault_open(d->home, &u, 0, &v);
        vs_vault_close(v);
        return rc;
    }
    long long pgrp = 0, tty_nr = 0, tpgid = -1;
    int rc = stat_fields(c->peer.procfd, &pgrp, &tty_nr, &tpgid);
    if (rc != 0)
        return rc;
    if (tty_nr == 0 || tpgid != pgrp)
        return vs_fail(VS_EPERM, "this needs the owner at a terminal (a key-file vault: run vaultctl in the "
                                 "foreground of your own terminal)");
    return 0;
}

int vaultd_lockdown_load(struct vaultd *d)
{
    struct lifecycle *l = d->life;
    struct stat st;
    l->lockdown = fstatat(l->dirfd, LIFE_LOCKDOWN_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
    l->n_quarantined = 0;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = vs_read_file_at(l->dirfd, LIFE_QUARANTINE_FILE, "quarantine", 077, 64 * 1024, &bytes, &len);
    if (rc == VS_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    for (size_t at = 0; at < len && l->n_quarantined < LIFE_MAX_QUARANTINE;) {
        const uint8_t *nl = memchr(bytes + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (bytes + at)) : len - at;
        char name[65];
        if (n > 0 && n < sizeof name) {
            memcpy(name, bytes + at, n);
            name[n] = '\0';
            if (vs_secret_name_valid(name))
                memcpy(l->quarantined[l->n_quarantined++], name, n + 1);
        }
        at += n + 1;
    }
    free(bytes);
    return 0;
}

bool vaultd_quarantined(const struct vaultd *d, const char *secret)
{
    for (size_t i = 0; i < d->life->n_quarantined; i++)
        if (strcmp(d->life->quarantined[i], secret) == 0)
            return true;
    return false;
}

static int save_quarantine(struct vaultd *d)
{
    struct lifecycle *l = d->life;
    char text[LIFE_MAX_QUARANTINE * 66 + 1];
    size_t at = 0;
    for (size_t i = 0; i < l->n_quarantined; i++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%s\n", l->quarantined[i]);
    if (l->n_quarantined == 0) {
        if (unlinkat(l->dirfd, LIFE_QUARANTINE_FILE, 0) != 0 && errno != ENOENT)
            return vs_fail_errno(VS_EIO, "%s/%s", d->home, LIFE_QUARANTINE_FILE);
        return 0;
    }
    return vs_write_file_atomic(l->dirfd, LIFE_QUARANTINE_FILE, text, at);
}

int vaultd_quarantine(struct vaultd *d, const char *secret)
{
    struct lifecycle *l = d->life;
    if (vaultd_quarantined(d, secret))
        return 0;
    if (l->n_quarantined == LIFE_MAX_QUARANTINE)
        return vs_fail(VS_ETOOBIG, "more than %d secrets in quarantine", LIFE_MAX_QUARANTINE);
    (void)snprintf(l->quarantined[l->n_quarantined++], sizeof l->quarantined[0], "%s", secret);
    int rc = save_quarantine(d);
    if (rc != 0)
        vaultd_say("quarantine of %s kept in memory only: %s", secret, vs_last_error(rc));
    return 0;
}

static int set_lockdown(struct vaultd *d, bool on)
{
    struct lifecycle *l = d->life;
    if (!on) {
        if (unlinkat(l->dirfd, LIFE_LOCKDOWN_FILE, 0) != 0 && errno != ENOENT)
            return vs_fail_errno(VS_EIO, "%s/%s", d->home, LIFE_LOCKDOWN_FILE);
        l->lockdown = false;
        return 0;
    }
    l->lockdown = true; /* rule 1: in memory at once, even if the file fails */
    char text[64], when[32];
    if (vs_format_time(vs_now_ms(), when, sizeof when) != 0)
        when[0] = '\0';
    int n = snprintf(text, sizeof text, "lockdown since %s\n", when);
    return vs_write_file_atomic(l->dirfd, LIFE_LOCKDOWN_FILE, text, (size_t)n);
}

int vaultd_h_lockdown(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    uint32_t lift = 0;
    (void)vs_msg_get_u32(m, VS_F_LIFT, &lift);
    int rc = lift != 0 ? human_factor(d, c, m) : 0;
    if (rc == 0)
        rc = set_lockdown(d, lift == 0);
    char reason[512];
    (void)snprintf(reason, sizeof reason, "%s", rc == 0 ? (lift != 0 ? "lifted" : "every grant refused")
                                                        : vs_last_error(rc));
    int logged = vaultd_log(d, c, "lockdown", rc == 0 ? "ok" : "denied", reason, NULL, lift != 0 ? "\"lift\":true" : NULL);
    if (rc != 0 && lift != 0)
        return vs_fail(rc, "%s", reason);
    if (rc != 0)
        vaultd_say("lockdown is on but not persisted: %s", reason);
    vaultd_say("%s", lift != 0 ? "lockdown lifted" : "LOCKDOWN: every grant is refused until vaultctl lockdown --lift");
    if (logged != 0 && lift != 0) {
        (void)set_lockdown(d, true); /* no audit line, no lift */
        return logged;
    }
    return vaultd_reply_text(d, m->id, lift != 0 ? "lockdown lifted: grants resume" :
                             rc == 0 ? "lockdown: every grant is refused until `vaultctl lockdown --lift`"
                                     : "lockdown: every grant is refused (NOT persisted: see vaultd's log)", len);
}

int vaultd_h_release(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    char name[VS_F_NAME_MAX + 1];
    int rc = vs_msg_get_str(m, VS_F_NAME, name, sizeof name);
    if (rc != 0 || !vs_secret_name_valid(name))
        return vs_fail(VS_EPROTO, "RELEASE needs a secret NAME");
    struct lifecycle *l = d->life;
    size_t at = l->n_quarantined;
    for (size_t i = 0; i < l->n_quarantined; i++)
        if (strcmp(l->quarantined[i], name) == 0)
            at = i;
    if (at == l->n_quarantined)
        return vs_fail(VS_ENOENT, "%s is not in quarantine", name);
    rc = human_factor(d, c, m);
    char reason[512], extra[320];
    (void)snprintf(reason, sizeof reason, "%s", rc == 0 ? "quarantine lifted" : vs_last_error(rc));
    (void)snprintf(extra, sizeof extra, "\"secret\":\"%s\"", name);
    int logged = vaultd_log(d, c, "restore", rc == 0 ? "ok" : "denied", reason, NULL, extra);
    if (rc != 0)
        return vs_fail(rc, "%s", reason);
    if (logged != 0)
        return logged;
    memmove(l->quarantined[at], l->quarantined[at + 1], (l->n_quarantined - at - 1) * sizeof l->quarantined[0]);
    l->n_quarantined--;
    rc = save_quarantine(d);
    if (rc != 0)
        vaultd_say("quarantine file not rewritten: %s", vs_last_error(rc));
    return vaultd_reply_text(d, m->id, "quarantine lifted: grants resume", len);
}
