/* Agent sessions: `vaultctl run --agent NAME` asks SESSION_OPEN; vaultd
 * makes a random id and records the agent, the start and the launcher (the
 * peer's pid: vaultctl run execs the agent in place, so it is the agent's
 * own process). The id travels down the tree as VAULT_SESSION and comes
 * back as a label on each GRANTS.
 *
 * Rules this file keeps:
 *  1. A session id is a label: whoever knows it can send it, and a process
 *     can drop it. It attributes grants; it grants nothing. What it can do
 *     is stop grants: an ended session, or an id this vaultd never issued,
 *     is refused.
 *  2. A session ends by `vaultctl end-session ID` or when its launcher
 *     process exits (seen through a pidfd: no pid reuse).
 *  3. The session's agent is the one vaultd recorded, whatever AGENT label
 *     a later request carries. */
#include "vaultd.h"

#include "error.h"
#include "timeutil.h"

#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct life_session *find(struct vaultd *d, const char *id)
{
    for (size_t i = 0; i < LIFE_MAX_SESSIONS; i++)
        if (d->life->sessions[i].used && strcmp(d->life->sessions[i].id, id) == 0)
            return &d->life->sessions[i];
    return NULL;
}

static void end_session(struct life_session *s, const char *why)
{
    if (s->ended)
        return;
    s->ended = true;
    s->end_ms = vs_now_ms();
    (void)snprintf(s->why, sizeof s->why, "%s", why);
    if (s->pidfd >= 0) {
        (void)close(s->pidfd);
        s->pidfd = -1;
    }
}

/* Rule 2: a readable pidfd is a process that exited. */
static void check_launcher(struct life_session *s)
{
    if (s->ended || s->pidfd < 0)
        return;
    struct pollfd p = {.fd = s->pidfd, .events = POLLIN};
    if (poll(&p, 1, 0) > 0)
        end_session(s, "its launcher exited");
}

int vaultd_session_check(struct vaultd *d, struct conn *c)
{
    if (c->session[0] == '\0')
        return 0;
    struct life_session *s = find(d, c->session);
    if (s == NULL)
        return vs_fail(VS_EDENIED, "session %s is not open in this vaultd (ended before a restart, or never issued)",
                       c->session);
    check_launcher(s);
    if (s->ended)
        return vs_fail(VS_EDENIED, "session %s (agent %s) was ended: %s", s->id, s->agent, s->why);
    (void)snprintf(c->agent, sizeof c->agent, "%s", s->agent); /* rule 3 */
    return 0;
}

void vaultd_sessions_close(struct vaultd *d)
{
    for (size_t i = 0; i < LIFE_MAX_SESSIONS; i++)
        if (d->life->sessions[i].used && d->life->sessions[i].pidfd >= 0)
            (void)close(d->life->sessions[i].pidfd);
}

/* A slot: unused, else the oldest ended one. */
static struct life_session *free_slot(struct vaultd *d)
{
    struct life_session *best = NULL;
    for (size_t i = 0; i < LIFE_MAX_SESSIONS; i++) {
        struct life_session *s = &d->life->sessions[i];
        if (!s->used)
            return s;
        check_launcher(s);
        if (s->ended && (best == NULL || s->end_ms < best->end_ms))
            best = s;
    }
    return best;
}

static bool agent_ok(const char *a)
{
    for (const char *p = a; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '.' || *p == '-'))
            return false;
    return a[0] != '\0' && strlen(a) < 64;
}

int vaultd_h_session_open(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    char agent[VS_F_LABEL_MAX + 1];
    if (vs_msg_get_str(m, VS_F_AGENT, agent, sizeof agent) != 0 || !agent_ok(agent))
        return vs_fail(VS_EINVAL, "SESSION_OPEN: the agent name must be 1-63 of A-Z a-z 0-9 _ . -");
    struct life_session *s = free_slot(d);
    if (s == NULL)
        return vs_fail(VS_ETOOBIG, "%d sessions are open: end one first (vaultctl sessions)", LIFE_MAX_SESSIONS);
    if (s->used && s->pidfd >= 0)
        (void)close(s->pidfd);
    memset(s, 0, sizeof *s);
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    (void)sodium_bin2hex(s->id, sizeof s->id, raw, sizeof raw);
    (void)snprintf(s->agent, sizeof s->agent, "%.63s", agent);
    s->start_ms = vs_now_ms();
    s->pid = c->peer.pid;
    /* A copy of the connection's own pidfd (SO_PEERPIDFD: the very process
     * that connected) rather than a new pidfd_open by number. */
    s->pidfd = fcntl(c->peer.pidfd, F_DUPFD_CLOEXEC, 0);
    s->used = true;
    /* The launcher must still be the process that connected. */
    if (s->pidfd < 0 || vs_peer_alive(&c->peer) != 0) {
        s->used = false;
        if (s->pidfd >= 0)
            (void)close(s->pidfd);
        return vs_fail(VS_EDENIED, "SESSION_OPEN: the launcher exited or exec'd");
    }
    (void)snprintf(c->agent, sizeof c->agent, "%.63s", agent);
    (void)snprintf(c->session, sizeof c->session, "%s", s->id);
    int logged = vaultd_log(d, c, "session", "ok", "opened", NULL, NULL);
    if (logged != 0 && d->audit_key != NULL) {
        s->used = false;
        (void)close(s->pidfd);
        return logged;
    }
    struct vs_msg_writer w;
    vs_msg_begin(&w, d->reply, VS_PROTO_MAX_FRAME, VS_OP_OK, m->id);
    (void)vs_msg_put_str(&w, VS_F_SESSION, s->id);
    return vs_msg_finish(&w, len);
}

int vaultd_h_sessions(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    (void)c;
    char text[VS_F_STATUS_TEXT_MAX];
    size_t at = 0;
    int n = snprintf(text, sizeof text, "%-32s %-16s %8s %-24s %s\n", "SESSION", "AGENT", "PID", "STARTED", "STATE");
    at = n > 0 ? (size_t)n : 0;
    size_t shown = 0;
    for (size_t i = 0; i < LIFE_MAX_SESSIONS && at < sizeof text; i++) {
        struct life_session *s = &d->life->sessions[i];
        if (!s->used)
            continue;
        check_launcher(s);
        char when[32];
        if (vs_format_time(s->start_ms, when, sizeof when) != 0)
            when[0] = '\0';
        n = snprintf(text + at, sizeof text - at, "%-32s %-16s %8d %-24s %s%s\n", s->id, s->agent, (int)s->pid, when,
                     s->ended ? "ended: " : "live", s->ended ? s->why : "");
        if (n < 0 || (size_t)n >= sizeof text - at)
            break;
        at += (size_t)n;
        shown++;
    }
    if (shown == 0)
        (void)snprintf(text, sizeof text, "no sessions (start one with: vault-run --agent NAME -- CMD)\n");
    return vaultd_reply_text(d, m->id, text, len);
}

int vaultd_h_session_end(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    char id[VS_F_LABEL_MAX + 1];
    if (vs_msg_get_str(m, VS_F_SESSION, id, sizeof id) != 0)
        return vs_fail(VS_EPROTO, "SESSION_END needs a SESSION");
    struct life_session *s = find(d, id);
    if (s == NULL)
        return vs_fail(VS_ENOENT, "no session %s (see vaultctl sessions)", id);
    bool was_ended = s->ended;
    end_session(s, "vaultctl end-session");
    char extra[96];
    (void)snprintf(extra, sizeof extra, "\"ended_session\":\"%s\"", s->id);
    int logged = vaultd_log(d, c, "session", "ok", "ended", NULL, extra);
    if (logged != 0)
        vaultd_say("session %s ended, but its audit line failed: %s", s->id, vs_last_error(logged));
    char text[256];
    (void)snprintf(text, sizeof text, "session %s (agent %s): %s", s->id, s->agent,
                   was_ended ? "was already ended" : "ended: every grant for it is refused from now on");
    return vaultd_reply_text(d, m->id, text, len);
}
