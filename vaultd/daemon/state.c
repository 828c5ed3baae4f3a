/* The daemon's vault and policy: unlock, lock, re-read the store when
 * vaultctl changed it, load and reload the policy, and write the audit line
 * of each decision. */
#include "vaultd.h"

#include "buf.h"
#include "error.h"
#include "fileio.h"
#include "index.h"
#include "index_write.h"
#include "keyfile.h"
#include "paths.h"
#include "timeutil.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void vaultd_say(const char *fmt, ...)
{
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One message, one line: a peer's exe path or argv in it cannot start
     * a line of its own (a forged "vaultd: ..."). */
    for (char *p = line; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stderr, "vaultd: %s\n", line);
}

static void remember_store_file(struct vaultd *d)
{
    if (fstatat(d->vault->dirfd, VS_STORE_FILE, &d->store_seen, AT_SYMLINK_NOFOLLOW) != 0)
        memset(&d->store_seen, 0, sizeof d->store_seen);
}

int vaultd_unlock(struct vaultd *d, const struct vs_unlock *u)
{
    struct vs_vault *v = NULL;
    int rc = vs_vault_open(d->home, u, VS_VAULT_AUDIT_APPEND, &v);
    if (rc != 0)
        return rc;
    if (d->audit_key == NULL && (d->audit_key = sodium_malloc(VS_AUDIT_MAC_BYTES)) == NULL) {
        vs_vault_close(v);
        return vs_fail(VS_ENOMEM, "out of memory");
    }
    if (d->auditfd < 0 && (d->auditfd = fcntl(v->auditfd, F_DUPFD_CLOEXEC, 0)) < 0) {
        vs_vault_close(v);
        return vs_fail_errno(VS_EAUDIT, "audit log");
    }
    /* The audit key stays across lock so that denials are still logged; it
     * authenticates log lines and opens nothing. */
    memcpy(d->audit_key, vs_store_audit_key(v->store), VS_AUDIT_MAC_BYTES);
    vs_vault_close(d->vault);
    d->vault = v;
    d->generation = vs_store_generation(v->store);
    remember_store_file(d);
    vaultd_trim_when_idle();
    return 0;
}

int vaultd_unlock_keyfile(struct vaultd *d)
{
    uint8_t *key = NULL;
    int rc = vs_keyfile_read(d->keyfile, &key);
    if (rc != 0)
        return rc;
    struct vs_unlock u = {VS_KDF_KEYFILE, key, 32};
    rc = vaultd_unlock(d, &u);
    sodium_free(key);
    return rc;
}

void vaultd_lock(struct vaultd *d)
{
    vs_vault_close(d->vault); /* sodium_free wipes the keys */
    d->vault = NULL;
}

int vaultd_refresh_store(struct vaultd *d)
{
    if (d->vault == NULL)
        return vs_fail(VS_ELOCKED, "vault is locked (vaultctl unlock)");
    struct stat st;
    if (fstatat(d->vault->dirfd, VS_STORE_FILE, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return vs_fail_errno(VS_EIO, "store");
    if (st.st_ino == d->store_seen.st_ino && st.st_size == d->store_seen.st_size &&
        st.st_mtim.tv_sec == d->store_seen.st_mtim.tv_sec && st.st_mtim.tv_nsec == d->store_seen.st_mtim.tv_nsec &&
        st.st_ctim.tv_sec == d->store_seen.st_ctim.tv_sec && st.st_ctim.tv_nsec == d->store_seen.st_ctim.tv_nsec)
        return 0;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = vs_read_file_at(d->vault->dirfd, VS_STORE_FILE, "store", 077, VS_STORE_MAX_BYTES, &bytes, &len);
    if (rc == 0)
        rc = vs_store_reload(d->vault->store, bytes, len);
    free(bytes);
    if (rc != 0)
        return rc;
    d->store_seen = st;
    d->generation = vs_store_generation(d->vault->store);
    vaultd_trim_when_idle();
    return 0;
}

static bool secret_known(void *ctx, const char *name)
{
    struct vaultd *d = ctx;
    return d->vault == NULL || vs_store_find(d->vault->store, name) != NULL;
}

int vaultd_load_policy(struct vaultd *d)
{
    struct vs_policy_opts opts = {.home = NULL, .secret_known = secret_known, .secret_ctx = d};
    struct vs_policy *p = NULL;
    int rc = vs_policy_load_file(d->config, &opts, &p);
    if (rc != 0)
        return rc;
    char own_log[PATH_MAX + 16];
    (void)snprintf(own_log, sizeof own_log, "%s/%s", d->home, VS_AUDIT_FILE);
    if (p->audit_log != NULL && strcmp(p->audit_log, own_log) != 0) {
        vs_policy_free(p);
        return vs_fail(VS_EPOLICY, "%s: vault.audit_log must be %s, the log chained with the store", d->config,
                       own_log);
    }
    rc = vs_index_write(d->sockdirfd, VS_INDEX_NAME, p, d->policy_gen + 1,
                        VS_INDEX_F_WITH_FILES | (vs_peer_one_step() ? VS_INDEX_F_ONE_STEP : 0));
    if (rc != 0) {
        vs_policy_free(p);
        return rc;
    }
    for (size_t i = 0; i < p->n_warnings; i++)
        vaultd_say("%s", p->warnings[i]);
    vs_policy_free(d->policy);
    d->policy = p;
    d->policy_gen++;
    vaultd_audit_configure(p);
    vs_peer_caches_reset();
    vaultd_trim_when_idle();
    return 0;
}

size_t vaultd_overdue(const struct vaultd *d)
{
    if (d->vault == NULL)
        return 0;
    int64_t now = vs_now_ms() / 1000;
    size_t overdue = 0;
    for (size_t i = 0; i < vs_store_count(d->vault->store); i++) {
        const struct vs_secret *s = vs_store_at(d->vault->store, i);
        int days = vs_policy_rotation_days(d->policy, s->name, s->rotation_days);
        if ((int64_t)s->rotated + (int64_t)days * 86400 < now)
            overdue++;
    }
    return overdue;
}

/* The peer's argv as a JSON array, for the audit line: the kernel's
 * arguments, with the tool's values masked (masks.c). */
static void put_argv(struct vs_buf *b, const struct vs_peer *p, const struct masks *m)
{
    (void)vs_buf_put_str(b, "\"argv\":[");
    for (size_t i = 0; i < p->argc && i < 64; i++) {
        (void)vs_buf_put_str(b, i == 0 ? "\"" : ",\"");
        vaultd_put_masked(b, p->argv[i], m);
        (void)vs_buf_put_u8(b, '"');
    }
    (void)vs_buf_put_str(b, p->argc > 64 ? ",\"...\"]" : "]");
}

int vaultd_log(struct vaultd *d, const struct conn *c, const char *event, const char *decision,
               const char *reason, const char *secrets, const char *extra)
{
    if (d->audit_key == NULL || d->auditfd < 0)
        return vs_fail(VS_EAUDIT, "audit log not open (the vault was never unlocked)");
    struct vs_buf more;
    vs_buf_init(&more, 16384);
    if (c != NULL) {
        put_argv(&more, &c->peer, vaultd_masks_of(d, c));
        if (c->tool != NULL && c->policy_gen == d->policy_gen) {
            (void)vs_buf_put_str(&more, ",\"tool\":\"");
            (void)vs_buf_put_json_str(&more, c->tool->name);
            (void)vs_buf_put_u8(&more, '"');
            if (c->tool->script_real != NULL) {
                (void)vs_buf_put_str(&more, ",\"script\":\"");
                (void)vs_buf_put_json_str(&more, c->tool->script_real);
                (void)vs_buf_put_u8(&more, '"');
            }
        }
    }
    if (secrets != NULL)
        (void)vs_buf_printf(&more, "%s\"secrets\":[%s]", more.len != 0 ? "," : "", secrets);
    if (extra != NULL)
        (void)vs_buf_printf(&more, "%s%s", more.len != 0 ? "," : "", extra);
    (void)vs_buf_put_u8(&more, 0);
    if (more.err != 0) {
        vs_buf_free(&more);
        return vs_fail(VS_EAUDIT, "audit line too long");
    }
    struct vs_audit_event ev = {
        .event = event, .decision = decision, .reason = reason,
        .agent = c != NULL && c->agent[0] != '\0' ? c->agent : NULL,
        .session = c != NULL && c->session[0] != '\0' ? c->session : NULL,
        .uid = c != NULL ? (long long)c->peer.uid : -1, .pid = c != NULL ? (long long)c->peer.pid : -1,
        .exe = c != NULL ? c->peer.exe_path : NULL,
        .extra = more.len > 1 ? (const char *)more.data : NULL,
    };
    int rc = vaultd_audit_append(d, &ev); /* audit_d.c */
    vs_buf_free(&more);
    return rc != 0 ? VS_EAUDIT : 0;
}
