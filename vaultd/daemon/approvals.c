/* Approvals: a mediated request whose policy asks for one (approve = true,
 * or an approve_args pattern matching its arguments) is held until the
 * owner answers.
 *
 * Rules this file keeps (DESIGN.md invariant 8):
 *  1. Held, not blocked: the connection is parked (no reply, no idle
 *     close) and the event loop serves everyone else meanwhile.
 *  2. An approval needs a human factor, never only the same uid: the vault
 *     passphrase (a passphrase vault), or the owner's terminal: the
 *     approving process's controlling tty is the tty that unlocked the
 *     vault (a key-file vault: the tty vaultd was started from) in the
 *     same session (a closed terminal's number is reused), it is the
 *     terminal's foreground job and was typed at the owner's shell (the
 *     session leader or its direct child: an agent started from that shell
 *     runs its commands one level further down), and the request itself
 *     does not come from that terminal (an agent sharing the owner's terminal cannot approve
 *     its own requests: there the passphrase is needed).
 *  3. No answer within approve_timeout is a denial; a closed requester
 *     withdraws its request.
 *  4. An approval given --for a while is remembered for the same
 *     executable (sha256), tool and argument pattern (the approve_args
 *     pattern that matched, else the exact arguments), bounded in time and
 *     in uses.
 *  5. Every step is an audit line: requested, approved (by passphrase or
 *     which tty), refused, denied, expired, withdrawn, used. */
#include "vaultd.h"
#include "outq.h"

#include "error.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_HELD 64
#define MAX_REMEMBERED 64
#define MAX_USES 1000000u
#define DEFAULT_FOR_SECONDS (15 * 60)

extern char **environ;

struct held {
    uint32_t id;        /* 0: free slot */
    struct conn *c;
    uint32_t msg_id;    /* the MEDIATE request's id, for the reply */
    int64_t since_ms, deadline_ms;
    uint8_t key[32];    /* rule 4 */
    char pattern[256];  /* the approve_args pattern, or "" for exact arguments */
    unsigned requester_tty;
};

struct remembered {
    uint8_t key[32];
    int64_t until_ms;   /* 0: free slot */
    uint32_t uses_left;
};

struct approvals {
    struct held held[MAX_HELD];
    struct remembered mem[MAX_REMEMBERED];
    uint32_t next_id;
};

static struct approvals *state(struct vaultd *d)
{
    if (d->approvals == NULL)
        d->approvals = calloc(1, sizeof *d->approvals);
    return d->approvals;
}

void vaultd_approvals_free(struct vaultd *d)
{
    if (d->approvals != NULL)
        sodium_memzero(d->approvals, sizeof *d->approvals);
    free(d->approvals);
    d->approvals = NULL;
}

void vaultd_approvals_owner_tty(struct vaultd *d, const struct vs_peer *p)
{
    struct vs_peer self = {.procfd = -1, .statfd = -1, .statusfd = -1, .cmdlinefd = -1};
    if (p == NULL) {
        self.procfd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        p = &self;
    }
    struct peer_tty t = {0};
    if (p->procfd < 0 || vaultd_peer_tty(p, &t) != 0)
        t.tty_nr = 0;
    d->owner_tty = t.tty_nr;
    d->owner_sid = t.sid;
    if (self.procfd >= 0)
        close(self.procfd);
}

static void tty_name(unsigned tty, char *out, size_t cap)
{
    (void)snprintf(out, cap, "%u:%u", major((dev_t)tty), minor((dev_t)tty));
}

/* The arguments the policy judges, and the approve_args pattern that asks
 * for an approval (NULL: none matched). */
static bool needs_approval(const struct vs_policy_tool *t, const struct mediation_facts *f, const char **pattern)
{
    int argc = (int)(f->nargs - f->args_from);
    char *const *argv = f->args + f->args_from;
    *pattern = NULL;
    for (size_t i = 0; i < t->approve_args.n; i++)
        if (vs_argglob_match(t->approve_args.v[i], argc, argv)) {
            *pattern = vs_argglob_pattern(t->approve_args.v[i]);
            return true;
        }
    return t->approve;
}

static void remember_key(const struct vs_policy_tool *t, const struct mediation_facts *f, const char *pattern,
                         uint8_t key[32])
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, f->sha256, 32);
    crypto_hash_sha256_update(&h, (const uint8_t *)t->name, strlen(t->name) + 1);
    if (pattern != NULL) {
        crypto_hash_sha256_update(&h, (const uint8_t *)"P", 1);
        crypto_hash_sha256_update(&h, (const uint8_t *)pattern, strlen(pattern) + 1);
    } else {
        crypto_hash_sha256_update(&h, (const uint8_t *)"A", 1);
        for (size_t i = f->args_from; i < f->nargs; i++)
            crypto_hash_sha256_update(&h, (const uint8_t *)f->args[i], strlen(f->args[i]) + 1);
    }
    crypto_hash_sha256_final(&h, key);
}

/* A decision about request h, logged on its requester's connection (whose
 * argv, exe and tool the line shows) or on the approver's. */
static int log_step(struct vaultd *d, const struct conn *on, const struct held *h, const char *decision,
                    const char *reason, const char *more)
{
    char extra[512];
    (void)snprintf(extra, sizeof extra, "\"request\":%u%s%s", h->id, more != NULL ? "," : "", more != NULL ? more : "");
    int rc = vaultd_masks_load(d, (struct conn *)on);
    if (rc == 0)
        rc = vaultd_log(d, on, "approval", decision, reason, NULL, extra);
    vaultd_masks_free((struct conn *)on);
    return rc;
}

/* notify_command ARGS... ID SUMMARY, no shell, stdin from /dev/null;
 * fire and forget (reaped by the tick). */
static void notify(struct vaultd *d, const struct held *h)
{
    const struct vs_policy *p = d->policy;
    if (p == NULL || p->n_notify == 0 || p->n_notify > 60)
        return;
    char id[16], summary[512];
    (void)snprintf(id, sizeof id, "%u", h->id);
    (void)snprintf(summary, sizeof summary, "vaultshim: %s wants to run %s (vaultctl pending; vaultctl approve %u)",
                   h->c->agent[0] != '\0' ? h->c->agent : "an agent", h->c->tool->name, h->id);
    char *argv[64];
    size_t n = 0;
    for (size_t i = 0; i < p->n_notify; i++)
        argv[n++] = p->notify_argv[i];
    argv[n++] = id;
    argv[n++] = summary;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    if (posix_spawn_file_actions_init(&fa) != 0)
        return;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return;
    }
    /* vaultd blocks its signals for the signalfd: the child must not. */
    (void)posix_spawnattr_setsigmask(&attr, &none);
    (void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    (void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    if (rc != 0)
        vaultd_say("notify_command %s: %s", argv[0], strerror(rc));
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
}

static void release(struct held *h)
{
    if (h->c != NULL)
        h->c->held = false;
    sodium_memzero(h, sizeof *h);
}

/* Sends the held request's answer on its parked connection. */
static void answer(struct vaultd *d, struct held *h, bool approved, const char *why)
{
    struct conn *c = h->c;
    size_t len = 0;
    int rc = approved ? vaultd_mediate_reply(d, c, h->msg_id, &len) : -1;
    if (!approved || rc != 0) {
        c->tool = NULL; /* a later CONFIRM on this connection is refused */
        rc = vs_msg_build_error(d->reply, VS_PROTO_MAX_FRAME, h->msg_id, VS_EDENIED, why, &len);
    }
    if (rc == 0) {
        /* A peer gone or too slow is dropped by the idle sweep. */
        (void)vaultd_outq_send(d, c, d->reply, len);
        sodium_memzero(d->reply, len);
    }
    c->last_ms = vs_now_ms();
    release(h);
}

/* A request held across a policy reload names a tool of the old policy:
 * it is denied (the requester asks again under the new one). */
static void sweep_stale(struct vaultd *d)
{
    for (size_t i = 0; d->approvals != NULL && i < MAX_HELD; i++) {
        struct held *h = &d->approvals->held[i];
        if (h->id == 0 || h->c->policy_gen == d->policy_gen)
            continue;
        static const char why[] = "the policy was reloaded while the request waited: ask again";
        h->c->tool = NULL; /* of the old policy: not to be logged */
        (void)log_step(d, h->c, h, "denied", why, NULL);
        answer(d, h, false, why);
    }
}

int vaultd_approval_gate(struct vaultd *d, struct conn *c, uint32_t id)
{
    struct approvals *a = state(d);
    struct mediation_facts f;
    int rc = vaultd_mediation_facts(c, &f);
    if (rc != 0)
        return rc;
    const char *pattern;
    if (!needs_approval(c->tool, &f, &pattern))
        return 0;
    if (a == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    uint8_t key[32];
    remember_key(c->tool, &f, pattern, key);
    int64_t now = vs_now_ms();
    for (size_t i = 0; i < MAX_REMEMBERED; i++) {
        struct remembered *r = &a->mem[i];
        if (r->until_ms == 0 || sodium_memcmp(r->key, key, 32) != 0)
            continue;
        if (r->until_ms < now || r->uses_left == 0) {
            sodium_memzero(r, sizeof *r);
            continue;
        }
        r->uses_left--;
        struct held used = {.id = 0};
        char more[128];
        (void)snprintf(more, sizeof more, "\"uses_left\":%u,\"seconds_left\":%lld", r->uses_left,
                       (long long)((r->until_ms - now) / 1000));
        rc = log_step(d, c, &used, "used", "a remembered approval", more);
        if (r->uses_left == 0)
            sodium_memzero(r, sizeof *r);
        return rc;
    }
    struct held *h = NULL;
    for (size_t i = 0; h == NULL && i < MAX_HELD; i++)
        if (a->held[i].id == 0)
            h = &a->held[i];
    if (h == NULL)
        return vs_fail(VS_EDENIED, "%d requests are already waiting for an approval", MAX_HELD);
    struct peer_tty rt = {0};
    h->requester_tty = vaultd_peer_tty(&c->peer, &rt) == 0 ? rt.tty_nr : 0;
    h->id = ++a->next_id == 0 ? ++a->next_id : a->next_id;
    h->c = c;
    (void)vs_peer_cwd(&c->peer); /* kept for describe: the folder as the request came */
    h->msg_id = id;
    h->since_ms = now;
    h->deadline_ms = now + (int64_t)d->policy->approve_timeout * 1000;
    memcpy(h->key, key, 32);
    (void)snprintf(h->pattern, sizeof h->pattern, "%s", pattern != NULL ? pattern : "");
    char more[160];
    (void)snprintf(more, sizeof more, "\"timeout_s\":%d", d->policy->approve_timeout);
    rc = log_step(d, c, h, "requested", pattern != NULL ? "approve_args" : "approve", more);
    if (rc != 0) {
        release(h);
        return rc;
    }
    c->held = true;
    notify(d, h);
    return VAULTD_HELD;
}

static struct held *find_held(struct vaultd *d, const struct vs_msg *m)
{
    uint32_t id = 0;
    if (d->approvals == NULL || vs_msg_get_u32(m, VS_F_REQ_ID, &id) != 0 || id == 0)
        return NULL;
    for (size_t i = 0; i < MAX_HELD; i++)
        if (d->approvals->held[i].id == id)
            return &d->approvals->held[i];
    return NULL;
}

/* Rule 2. who: "passphrase" or "tty MAJ:MIN". */
static int human_factor(struct vaultd *d, const struct conn *c, const struct held *h, const struct vs_msg *m,
                        char *who, size_t cap)
{
    const uint8_t *pass;
    size_t plen;
    if (vs_msg_get_bytes(m, VS_F_PASSPHRASE, &pass, &plen) == 0 && plen > 0) {
        if (d->kind != VS_KDF_PASSPHRASE)
            return vs_fail(VS_EPERM, "a key-file vault has no passphrase: approve from the owner's terminal");
        if (vaultd_check_passphrase(d, m) != 0)
            return vs_fail(VS_EPERM, "wrong passphrase: not approved");
        (void)snprintf(who, cap, "passphrase");
        return 0;
    }
    if (d->owner_tty == 0)
        return vs_fail(VS_EPERM, "no owner's terminal is known (the vault was not unlocked from one): "
                                 "approve with the passphrase (--passphrase)");
    struct peer_tty t = {0};
    int rc = vaultd_peer_tty(&c->peer, &t);
    if (rc != 0)
        return rc;
    char owner[32], mine[32];
    tty_name(d->owner_tty, owner, sizeof owner);
    tty_name(t.tty_nr, mine, sizeof mine);
    if (t.tty_nr != d->owner_tty)
        return vs_fail(VS_EPERM, "not approved: only the owner's terminal (tty %s, which unlocked the vault) may approve "
                                 "without the passphrase; this process is on %s", owner, t.tty_nr != 0 ? mine : "no terminal");
    /* A terminal number is reused once closed: the session must be the
     * one that unlocked, as sudo ties its tty tickets to the session. */
    if (t.sid != d->owner_sid)
        return vs_fail(VS_EPERM, "not approved: tty %s is not the terminal session that unlocked the vault", owner);
    if (t.pgrp != t.tpgid)
        return vs_fail(VS_EPERM, "not approved: the approving process is not the foreground job of tty %s", owner);
    /* Typed at the owner's shell: the session leader itself or its direct
     * child. An agent started from that shell runs its commands as its own
     * children, one level further down, whatever it does with setsid. */
    if (t.ppid != t.sid && (long)c->peer.pid != t.sid)
        return vs_fail(VS_EPERM, "not approved: on tty %s only a command typed at the owner's shell may approve "
                                 "(this one was started by process %ld); or give the passphrase", owner, t.ppid);
    if (h->requester_tty == d->owner_tty)
        return vs_fail(VS_EPERM, "not approved: the request comes from the owner's terminal itself; "
                                 "approve it with the passphrase (--passphrase)");
    (void)snprintf(who, cap, "tty %s", owner);
    return 0;
}

static int reply_text(struct vaultd *d, uint32_t id, const char *text, size_t *len)
{
    struct vs_msg_writer w;
    vs_msg_begin(&w, d->reply, VS_PROTO_MAX_FRAME, VS_OP_OK, id);
    (void)vs_msg_put_str(&w, VS_F_STATUS_TEXT, text);
    return vs_msg_finish(&w, len);
}

static void remember(struct vaultd *d, const struct held *h, uint32_t seconds, uint32_t uses)
{
    struct remembered *slot = NULL;
    int64_t now = vs_now_ms();
    for (size_t i = 0; slot == NULL && i < MAX_REMEMBERED; i++)
        if (d->approvals->mem[i].until_ms < now)
            slot = &d->approvals->mem[i];
    if (slot == NULL)
        slot = &d->approvals->mem[0]; /* full: the first one goes */
    memcpy(slot->key, h->key, 32);
    slot->until_ms = now + (int64_t)seconds * 1000;
    slot->uses_left = uses;
}

int vaultd_approve(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    sweep_stale(d);
    struct held *h = find_held(d, m);
    if (h == NULL)
        return vs_fail(VS_ENOENT, "no request with that id is waiting (vaultctl pending)");
    uint32_t seconds = 0, uses = 0;
    bool has_for = vs_msg_get_u32(m, VS_F_FOR_SECONDS, &seconds) == 0;
    bool has_uses = vs_msg_get_u32(m, VS_F_USES, &uses) == 0;
    if ((has_for && seconds == 0) || (has_uses && (uses == 0 || uses > MAX_USES)))
        return vs_fail(VS_EINVAL, "--for and --uses must be positive (--uses at most %u)", MAX_USES);
    char who[64] = "", reason[512];
    int rc = human_factor(d, c, h, m, who, sizeof who);
    if (rc != 0) {
        (void)snprintf(reason, sizeof reason, "%s", vs_last_error(rc));
        int logged = log_step(d, c, h, "refused", reason, NULL);
        return logged != 0 ? logged : vs_fail(VS_EPERM, "%s", reason);
    }
    if (vs_peer_alive(&h->c->peer) != 0) {
        (void)log_step(d, h->c, h, "withdrawn", "the requesting vault-exec is gone", NULL);
        answer(d, h, false, "withdrawn");
        return vs_fail(VS_ENOENT, "the requesting process is gone");
    }
    char more[256];
    uint32_t remembered_uses = has_uses ? uses - (uses > 0) : MAX_USES;
    if (has_for || has_uses)
        (void)snprintf(more, sizeof more, "\"by\":\"%s\",\"for_s\":%u,\"uses\":%u%s%s%s", who,
                       has_for ? seconds : DEFAULT_FOR_SECONDS, has_uses ? uses : MAX_USES,
                       h->pattern[0] != '\0' ? ",\"pattern\":\"" : "", h->pattern[0] != '\0' ? "(approve_args)" : "",
                       h->pattern[0] != '\0' ? "\"" : "");
    else
        (void)snprintf(more, sizeof more, "\"by\":\"%s\"", who);
    /* Both lines, the approver's and the requester's, or neither takes effect. */
    rc = log_step(d, c, h, "approved", NULL, more);
    if (rc == 0)
        rc = log_step(d, h->c, h, "approved", who, NULL);
    if (rc != 0)
        return rc;
    if ((has_for || has_uses) && remembered_uses > 0)
        remember(d, h, has_for ? seconds : DEFAULT_FOR_SECONDS, remembered_uses);
    char text[128];
    (void)snprintf(text, sizeof text, "approved request %u (%s)", h->id, who);
    answer(d, h, true, NULL);
    return reply_text(d, m->id, text, len);
}

int vaultd_deny(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    sweep_stale(d);
    struct held *h = find_held(d, m);
    if (h == NULL)
        return vs_fail(VS_ENOENT, "no request with that id is waiting (vaultctl pending)");
    int rc = log_step(d, c, h, "denied", "denied by the owner", NULL);
    if (rc == 0)
        rc = log_step(d, h->c, h, "denied", "denied by the owner", NULL);
    char text[64];
    (void)snprintf(text, sizeof text, "denied request %u", h->id);
    answer(d, h, false, "denied by the owner (vaultctl deny)");
    return rc != 0 ? rc : reply_text(d, m->id, text, len);
}

void vaultd_approvals_tick(struct vaultd *d)
{
    while (waitpid(-1, NULL, WNOHANG) > 0) /* notify commands */
        ;
    if (d->approvals == NULL)
        return;
    sweep_stale(d);
    int64_t now = vs_now_ms();
    for (size_t i = 0; i < MAX_HELD; i++) {
        struct held *h = &d->approvals->held[i];
        if (h->id == 0 || now < h->deadline_ms)
            continue;
        char why[96];
        (void)snprintf(why, sizeof why, "no approval within %lld s (approve_timeout)",
                       (long long)((h->deadline_ms - h->since_ms) / 1000));
        (void)log_step(d, h->c, h, "expired", why, NULL);
        answer(d, h, false, why);
    }
}

void vaultd_approvals_drop(struct vaultd *d, struct conn *c)
{
    if (d->approvals == NULL || !c->held)
        return;
    for (size_t i = 0; i < MAX_HELD; i++) {
        struct held *h = &d->approvals->held[i];
        if (h->id != 0 && h->c == c) {
            (void)log_step(d, c, h, "withdrawn", "the requesting vault-exec closed its connection", NULL);
            release(h);
        }
    }
}

/* The run's arguments as the audit line shows them (masks.c): the tool's
 * values (a script's `tool --token $T`) as ********. */
static void put_masked_args(struct vaultd *d, struct conn *c, const struct mediation_facts *f, struct vs_buf *b)
{
    int rc = vaultd_masks_load(d, c);
    if (rc != 0) {
        (void)vs_buf_printf(b, "(not shown: %s)", vs_last_error(rc));
        return;
    }
    (void)vs_buf_put_u8(b, '[');
    for (size_t i = 0; i < f->nargs; i++) {
        (void)vs_buf_put_str(b, i != 0 ? ", \"" : "\"");
        vaultd_put_masked(b, f->args[i], vaultd_masks_of(d, c));
        (void)vs_buf_put_u8(b, '"');
    }
    (void)vs_buf_put_u8(b, ']');
    vaultd_masks_free(c);
}

/* One block per held request, oldest first; "id N" starts each. */
static void describe(struct vaultd *d, const struct held *h, struct vs_buf *b, int64_t now)
{
    const struct conn *c = h->c;
    struct mediation_facts f;
    if (vaultd_mediation_facts(c, &f) != 0)
        return;
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, f.sha256, 32);
    (void)vs_buf_printf(b, "id %u  age %llds  agent %s  tool %s  expires in %llds\n", h->id,
                        (long long)((now - h->since_ms) / 1000), c->agent[0] != '\0' ? c->agent : "-",
                        c->tool->name, (long long)((h->deadline_ms - now) / 1000));
    (void)vs_buf_put_str(b, "  exe     ");
    (void)vs_buf_put_json_str(b, f.target_path);
    (void)vs_buf_printf(b, "\n  sha256  %s\n  argv    ", hex);
    put_masked_args(d, (struct conn *)c, &f, b);
    (void)vs_buf_put_str(b, "\n  cwd     ");
    (void)vs_buf_put_json_str(b, c->peer.cwd_path != NULL ? c->peer.cwd_path : "?");
    (void)vs_buf_put_str(b, "\n  secrets ");
    for (size_t i = 0; i < c->tool->n_env; i++)
        (void)vs_buf_printf(b, "%s%s=%s", i != 0 ? ", " : "", c->tool->env[i].env, c->tool->env[i].secret);
    for (size_t i = 0; i < c->tool->n_files; i++)
        (void)vs_buf_printf(b, "%s%s", c->tool->n_env + i != 0 ? ", " : "", d->policy->files[c->tool->files[i]].path);
    if (h->pattern[0] != '\0')
        (void)vs_buf_printf(b, "\n  because approve_args \"%s\"", h->pattern);
    (void)vs_buf_put_u8(b, '\n');
}

int vaultd_pending(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    (void)c;
    sweep_stale(d);
    struct vs_buf b;
    vs_buf_init(&b, VS_F_STATUS_TEXT_MAX - 64);
    int64_t now = vs_now_ms();
    const struct held *order[MAX_HELD];
    size_t n = 0;
    for (size_t i = 0; d->approvals != NULL && i < MAX_HELD; i++)
        if (d->approvals->held[i].id != 0)
            order[n++] = &d->approvals->held[i];
    for (size_t i = 1; i < n; i++) /* by id: oldest first */
        for (size_t k = i; k > 0 && order[k]->id < order[k - 1]->id; k--) {
            const struct held *t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    for (size_t i = 0; i < n && b.err == 0; i++)
        describe(d, order[i], &b, now);
    if (n == 0)
        (void)vs_buf_put_str(&b, "no request is waiting\n");
    (void)vs_buf_put_u8(&b, 0);
    int rc = b.err == 0 ? reply_text(d, m->id, (const char *)b.data, len)
                        : vs_fail(VS_ETOOBIG, "too many held requests to list");
    vs_buf_free(&b);
    return rc;
}
