/* The request table and the admin requests (PING, STATUS, UNLOCK, LOCK,
 * RELOAD). Each handler: check, act, audit, reply. */
#include "vaultd.h"

#include "error.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum {
    H_ADMIN = 1,   /* only the vault owner's uid (or root) */
    H_ALIVE = 2,   /* the handler starts with vs_peer_alive and settles the peer */
};

typedef int (*handler_fn)(struct vaultd *, struct conn *, const struct vs_msg *, size_t *);

static int reply_ok(struct vaultd *d, uint32_t id, const char *status_text, size_t *len)
{
    struct vs_msg_writer w;
    vs_msg_begin(&w, d->reply, VS_PROTO_MAX_FRAME, VS_OP_OK, id);
    if (status_text != NULL)
        (void)vs_msg_put_str(&w, VS_F_STATUS_TEXT, status_text);
    return vs_msg_finish(&w, len);
}

int vaultd_reply_text(struct vaultd *d, uint32_t id, const char *text, size_t *len)
{
    return reply_ok(d, id, text, len);
}

int vaultd_reply_error(struct vaultd *d, uint32_t id, int code, const char *reason, size_t *len)
{
    return vs_msg_build_error(d->reply, VS_PROTO_MAX_FRAME, id, code < 0 ? code : VS_EPROTO, reason, len);
}

static int h_ping(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    (void)c;
    return reply_ok(d, m->id, NULL, len);
}

static int h_status(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    (void)c;
    char text[4096];
    size_t secrets = 0, revoked = 0;
    if (d->vault != NULL) {
        (void)vaultd_refresh_store(d);
        secrets = vs_store_count(d->vault->store);
        for (size_t i = 0; i < secrets; i++)
            revoked += (vs_store_at(d->vault->store, i)->flags & VS_SECRET_REVOKED) != 0;
    }
    size_t available = 0;
    for (size_t i = 0; d->policy != NULL && i < d->policy->n_tools; i++)
        available += d->policy->tools[i].available;
    int n = snprintf(text, sizeof text,
                     "state: %s\nvault: %s (%s)\nsecrets: %zu (%zu revoked, %zu overdue for rotation)\n"
                     "policy: %s (%zu tools, %zu available; %zu files)\nsocket: %s\nconnections: %zu\n",
                     d->vault != NULL ? "unlocked" : "locked", d->home,
                     d->kind == VS_KDF_KEYFILE ? "key file" : "passphrase", secrets, revoked, vaultd_overdue(d),
                     d->config, d->policy != NULL ? d->policy->n_tools : 0, available,
                     d->policy != NULL ? d->policy->n_files : 0, d->socket, d->nconns);
    if (n < 0 || (size_t)n >= sizeof text)
        return vs_fail(VS_ETOOBIG, "status text too long");
    vaultd_life_status(d, text + n, sizeof text - (size_t)n);
    return reply_ok(d, m->id, text, len);
}

/* The passphrase of a request, checked by opening the vault with it. */
static int passphrase_unlock(struct vaultd *d, const struct vs_msg *m, bool keep)
{
    const uint8_t *pass;
    size_t pass_len;
    if (vs_msg_get_bytes(m, VS_F_PASSPHRASE, &pass, &pass_len) != 0 || pass_len == 0)
        return vs_fail(VS_EPERM, "this needs the vault passphrase");
    struct vs_unlock u = {VS_KDF_PASSPHRASE, pass, pass_len};
    if (keep)
        return vaultd_unlock(d, &u);
    struct vs_vault *v = NULL;
    int rc = vs_vault_open(d->home, &u, 0, &v);
    vs_vault_close(v);
    return rc;
}

int vaultd_check_passphrase(struct vaultd *d, const struct vs_msg *m)
{
    return passphrase_unlock(d, m, false);
}

static int h_unlock(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    int rc = d->kind == VS_KDF_KEYFILE ? vaultd_unlock_keyfile(d) : passphrase_unlock(d, m, true);
    char reason[256];
    (void)snprintf(reason, sizeof reason, "%s", rc == 0 ? "" : vs_last_error(rc));
    int logged = vaultd_log(d, c, "unlock", rc == 0 ? "ok" : "denied", rc == 0 ? NULL : reason, NULL, NULL);
    if (rc != 0)
        return vs_fail(rc, "%s", reason);
    if (logged != 0) {
        vaultd_lock(d); /* no audit, no unlock */
        return logged;
    }
    if (d->kind == VS_KDF_PASSPHRASE)
        vaultd_approvals_owner_tty(d, &c->peer);
    /* Secret names are checked against the vault now that it is readable. */
    rc = vaultd_load_policy(d);
    if (rc != 0)
        vaultd_say("policy kept as loaded before unlock: %s", vs_last_error(rc));
    return reply_ok(d, m->id, "unlocked", len);
}

static int h_lock(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    vaultd_lock(d);
    (void)vaultd_log(d, c, "lock", "ok", NULL, NULL, NULL);
    return reply_ok(d, m->id, "locked", len);
}

static int h_reload(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    int rc = 0;
    /* Invariant 8: a reload may widen access; on a passphrase vault the
     * same uid is not enough, the passphrase is the human factor. */
    if (d->kind == VS_KDF_PASSPHRASE)
        rc = passphrase_unlock(d, m, false);
    if (rc == 0)
        rc = vaultd_load_policy(d);
    char reason[512];
    (void)snprintf(reason, sizeof reason, "%.500s", rc == 0 ? d->config : vs_last_error(rc));
    int logged = vaultd_log(d, c, "reload", rc == 0 ? "ok" : "denied", reason, NULL, NULL);
    if (rc != 0)
        return vs_fail(rc, "%s", reason);
    if (logged != 0)
        return logged;
    return reply_ok(d, m->id, "policy reloaded", len);
}

static const struct {
    uint8_t op;
    unsigned flags;
    handler_fn fn;
} handlers[] = {
    {VS_OP_PING, 0, h_ping},
    {VS_OP_GRANTS, H_ALIVE, vaultd_grants},
    {VS_OP_CONFIRM, H_ALIVE, vaultd_confirm},
    {VS_OP_RENDER_FILE, 0, vaultd_render},
    {VS_OP_STATUS, H_ADMIN, h_status},
    {VS_OP_UNLOCK, H_ADMIN, h_unlock},
    {VS_OP_LOCK, H_ADMIN, h_lock},
    {VS_OP_RELOAD, H_ADMIN, h_reload},
    {VS_OP_LOCKDOWN, H_ADMIN, vaultd_h_lockdown},
    {VS_OP_SESSION_OPEN, 0, vaultd_h_session_open},
    {VS_OP_SESSIONS, H_ADMIN, vaultd_h_sessions},
    {VS_OP_SESSION_END, H_ADMIN, vaultd_h_session_end},
    {VS_OP_RELEASE, H_ADMIN, vaultd_h_release},
    {VS_OP_USAGE, H_ADMIN, vaultd_h_usage},
    {VS_OP_MEDIATE, H_ALIVE, vaultd_mediate},
    {VS_OP_EXEC_DONE, 0, vaultd_exec_done},
    {VS_OP_PENDING, H_ADMIN, vaultd_pending},
    {VS_OP_APPROVE, H_ADMIN, vaultd_approve},
    {VS_OP_DENY, H_ADMIN, vaultd_deny},
};

int vaultd_dispatch(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (handlers[i].op != m->op)
            continue;
        if ((handlers[i].flags & H_ADMIN) != 0 && c->peer.uid != d->owner && c->peer.uid != 0)
            return vs_fail(VS_EPERM, "%s: only the vault owner (uid %u) may ask", vs_op_name(m->op),
                           (unsigned)d->owner);
        int rc = (handlers[i].flags & H_ALIVE) != 0 ? 0 : vs_peer_settle(&c->peer);
        if (rc != 0)
            return rc;
        return handlers[i].fn(d, c, m, len);
    }
    return vs_fail(VS_EPROTO, "%s is not a request", vs_op_name(m->op));
}
