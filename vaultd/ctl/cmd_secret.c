/* The commands that change one secret: save, rotate, revoke, restore, rm.
 * Each opens the vault for writing (locked), changes the store in memory
 * and commits it with its audit line, or changes nothing. */
#include "vaultctl.h"
#include "ctl_life.h"

#include "error.h"
#include "proto.h"
#include "timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* vault.keep_versions of the policy in force, else the default. */
static unsigned keep_versions(const struct ctl *c)
{
    struct vs_policy *p = NULL;
    if (ctl_load_policy(c, &p) != 0 || p == NULL)
        return VS_KEEP_VERSIONS_DEFAULT;
    unsigned keep = (unsigned)p->keep_versions;
    vs_policy_free(p);
    return keep;
}

static int check_name(const struct ctl *c, const char *name)
{
    if (vs_secret_name_valid(name))
        return 0;
    return ctl_say(c, CTL_USAGE, "invalid secret name (1-%d of A-Z a-z 0-9 _ . -, starting with a letter or digit)",
                   VS_SECRET_NAME_MAX);
}

static uint64_t now_seconds(void)
{
    return (uint64_t)(vs_now_ms() / 1000);
}

static uint32_t current_version(struct vs_vault *v, const char *name)
{
    struct vs_secret *sec = vs_store_find(v->store, name);
    return sec != NULL ? sec->versions[sec->nversions - 1].version : 0;
}

/* save and rotate: read the value first (before any lock is held, so a
 * slow typist blocks no other writer), then open, change, commit. */
static int store_value(struct ctl *c, bool rotate)
{
    const char *name = c->argv[0];
    int rc = check_name(c, name);
    if (rc != 0)
        return rc;
    unsigned keep = rotate ? keep_versions(c) : VS_KEEP_VERSIONS_DEFAULT;
    uint8_t *value = NULL;
    size_t len = 0;
    rc = ctl_read_value(c, name, &value, &len);
    if (rc != 0)
        return ctl_fail(c, rc);
    struct vs_vault *v = NULL;
    rc = ctl_open_vault(c, VS_VAULT_WRITE, &v);
    if (rc == 0)
        rc = rotate ? vs_store_rotate(v->store, name, value, len, now_seconds(), keep)
                    : vs_store_add(v->store, name, value, len, now_seconds());
    sodium_free(value);
    uint32_t version = rc == 0 ? current_version(v, name) : 0;
    if (rc == 0) {
        struct vs_audit_event ev = ctl_event(rotate ? "rotate" : "save", name, version, NULL);
        rc = vs_vault_commit(v, &ev);
    }
    vs_vault_close(v);
    if (rc != 0)
        return ctl_fail(c, rc);
    printf("%s: %s, version %u\n", name, rotate ? "rotated" : "saved", version);
    return CTL_OK;
}

int cmd_save(struct ctl *c)
{
    return store_value(c, false);
}

int cmd_rotate(struct ctl *c)
{
    return store_value(c, true);
}

static bool reason_ok(const char *reason)
{
    if (strlen(reason) > VS_REASON_MAX)
        return false;
    for (const char *p = reason; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* revoke, restore, rm: metadata changes with no value involved. */
static int change_secret(struct ctl *c, const char *event)
{
    const char *name = c->argv[0];
    int rc = check_name(c, name);
    if (rc != 0)
        return rc;
    if (c->reason != NULL && !reason_ok(c->reason))
        return ctl_say(c, CTL_USAGE, "--reason: at most %d printable characters", VS_REASON_MAX);
    struct vs_vault *v = NULL;
    rc = ctl_open_vault(c, VS_VAULT_WRITE, &v);
    struct vs_secret *sec = rc == 0 ? vs_store_find(v->store, name) : NULL;
    if (rc == 0 && sec == NULL)
        rc = vs_fail(VS_ENOENT, "%s: no such secret", name);
    uint32_t version = sec != NULL ? sec->versions[sec->nversions - 1].version : 0;
    if (rc == 0 && strcmp(event, "revoke") == 0) {
        rc = vs_secret_set_reason(sec, c->reason);
        sec->flags |= VS_SECRET_REVOKED;
        sec->revoked_at = now_seconds();
    } else if (rc == 0 && strcmp(event, "restore") == 0) {
        if ((sec->flags & VS_SECRET_REVOKED) == 0)
            rc = vs_fail(VS_EINVAL, "%s: not revoked", name);
        sec->flags &= ~VS_SECRET_REVOKED;
        sec->revoked_at = 0;
        if (rc == 0)
            rc = vs_secret_set_reason(sec, NULL);
    } else if (rc == 0) {
        rc = vs_store_remove(v->store, name);
    }
    if (rc == 0) {
        struct vs_audit_event ev = ctl_event(event, name, version, c->reason);
        rc = vs_vault_commit(v, &ev);
    }
    vs_vault_close(v);
    if (rc != 0)
        return ctl_fail(c, rc);
    printf("%s: %s\n", name, strcmp(event, "revoke") == 0 ? "revoked: every grant stops at the next request"
                             : strcmp(event, "restore") == 0 ? "restored" : "removed with all its versions");
    return CTL_OK;
}

int cmd_revoke(struct ctl *c)
{
    int rc = change_secret(c, "revoke");
    if (rc != CTL_OK)
        return rc;
    rc = ctl_runbook(c, c->argv[0], CTL_AFTER_REVOKE);
    return rc != 0 ? ctl_fail(c, rc) : CTL_OK;
}

/* A quarantine is vaultd's (after an alert), not the store's: lifting it
 * needs the human factor, which vaultd checks. */
static int release_quarantine(struct ctl *c)
{
    uint8_t *pass = NULL;
    struct ctl_req req = {.name = c->argv[0]};
    char text[256];
    int rc = ctl_human_factor(c, &pass, &req.pass_len);
    req.pass = pass;
    if (rc == 0)
        rc = ctl_request(c, VS_OP_RELEASE, &req, text, sizeof text);
    if (pass != NULL)
        sodium_free(pass);
    if (rc != 0)
        return ctl_fail(c, rc);
    printf("%s: %s\n", c->argv[0], text);
    return CTL_OK;
}

/* Does the running vaultd hold name in quarantine? (its STATUS says so;
 * no vaultd, no quarantine in force) */
static bool quarantined(const struct ctl *c, const char *name)
{
    static char text[VS_F_STATUS_TEXT_MAX + 1];
    char line[128];
    (void)snprintf(line, sizeof line, "\nquarantined: %s (", name);
    return ctl_request(c, VS_OP_STATUS, NULL, text, sizeof text) == 0 && strstr(text, line) != NULL;
}

/* restore: a quarantine vaultd holds (after an alert) is lifted first;
 * otherwise the store's revocation, as before. A secret both quarantined
 * and revoked needs restore twice: each is its own decision. */
int cmd_restore(struct ctl *c)
{
    const char *name = c->argv[0];
    if (!vs_secret_name_valid(name))
        return check_name(c, name);
    if (quarantined(c, name))
        return release_quarantine(c);
    return change_secret(c, "restore");
}

int cmd_rm(struct ctl *c)
{
    return change_secret(c, "rm");
}
