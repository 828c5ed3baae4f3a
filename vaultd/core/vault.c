#include "vault.h"

#include "error.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vs_vault_default_home(char *out, size_t cap)
{
    const char *env = getenv("VAULT_HOME");
    int n;
    if (env != NULL && env[0] != '\0') {
        if (env[0] != '/')
            return vs_fail(VS_EINVAL, "VAULT_HOME must be an absolute path");
        n = snprintf(out, cap, "%s", env);
    } else {
        struct passwd *pw = getpwuid(geteuid());
        if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/')
            return vs_fail(VS_ENOENT, "no home folder for uid %u in the password database", (unsigned)geteuid());
        n = snprintf(out, cap, "%s/.local/share/vaultshim", pw->pw_dir);
    }
    if (n < 0 || (size_t)n >= cap)
        return vs_fail(VS_ETOOBIG, "vault home path too long");
    return 0;
}

static int read_store(struct vs_vault *v)
{
    int rc = vs_read_file_at(v->dirfd, VS_STORE_FILE, "store", 077, VS_STORE_MAX_BYTES, &v->disk_bytes, &v->disk_len);
    if (rc == VS_ENOENT)
        return vs_fail(VS_ENOENT, "%s: no vault here (run vaultctl init)", v->home);
    return rc;
}

int vs_vault_kdf_kind(const char *home, enum vs_kdf_kind *kind)
{
    struct vs_vault v = {.dirfd = -1};
    (void)snprintf(v.home, sizeof v.home, "%s", home);
    v.dirfd = vs_open_private_dir(home, 0);
    if (v.dirfd < 0)
        return v.dirfd;
    int rc = read_store(&v);
    if (rc == 0)
        rc = vs_store_peek_kdf(v.disk_bytes, v.disk_len, kind);
    free(v.disk_bytes);
    close(v.dirfd);
    return rc;
}

void vs_vault_close(struct vs_vault *v)
{
    if (v == NULL)
        return;
    vs_store_free(v->store);
    free(v->disk_bytes);
    if (v->auditfd >= 0)
        close(v->auditfd);
    if (v->lockfd >= 0)
        close(v->lockfd); /* releases the lock */
    if (v->dirfd >= 0)
        close(v->dirfd);
    free(v);
}

/* Rule 3: the audit log's last line bounds the store from below. */
static int check_against_audit(struct vs_vault *v, const struct vs_audit_tail *tail)
{
    uint64_t gen = vs_store_generation(v->store), expected = vs_store_audit_seq(v->store);
    if (tail->empty && expected > 0)
        return vs_fail(VS_EAUDIT, "audit log is empty but the store records %llu lines: it was deleted or emptied",
                       (unsigned long long)expected);
    if (!tail->empty && tail->gen > gen)
        return vs_fail(VS_EROLLBACK, "store generation %llu is older than the audit log's %llu: the store was rolled back",
                       (unsigned long long)gen, (unsigned long long)tail->gen);
    if (!tail->empty && tail->seq + 1 < expected)
        return vs_fail(VS_EAUDIT, "audit log ends at line %llu but the store records line %llu: the log was cut",
                       (unsigned long long)tail->seq, (unsigned long long)expected);
    return 0;
}

static int log_recovery(struct vs_vault *v)
{
    char reason[128];
    (void)snprintf(reason, sizeof reason, "store generation %llu was written but its audit line was lost (interrupted)",
                   (unsigned long long)vs_store_generation(v->store));
    struct vs_audit_event ev = {.event = "recover", .decision = "ok", .reason = reason, .uid = -1, .pid = -1};
    return vs_audit_append(v->auditfd, vs_store_audit_key(v->store), vs_store_generation(v->store), &ev);
}

int vs_vault_open(const char *home, const struct vs_unlock *u, unsigned flags, struct vs_vault **out)
{
    bool write = (flags & VS_VAULT_WRITE) != 0;
    *out = NULL;
    struct vs_vault *v = calloc(1, sizeof *v);
    if (v == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    v->dirfd = v->lockfd = v->auditfd = -1;
    int n = snprintf(v->home, sizeof v->home, "%s", home);
    int rc = n < 0 || (size_t)n >= sizeof v->home ? vs_fail(VS_ETOOBIG, "vault home path too long") : 0;
    if (rc == 0)
        rc = v->dirfd = vs_open_private_dir(home, 0);
    if (rc >= 0 && write) {
        rc = v->lockfd = vs_lock_file_at(v->dirfd, VS_LOCK_FILE);
        if (rc >= 0)
            vs_remove_stale_temps(v->dirfd, VS_STORE_FILE);
    }
    if (rc >= 0) {
        rc = v->auditfd = vs_audit_open(v->dirfd, VS_AUDIT_FILE, write || (flags & VS_VAULT_AUDIT_APPEND) != 0);
        if (rc == VS_ENOENT)
            rc = vs_fail(VS_EAUDIT, "%s/%s is missing: the audit log was deleted", home, VS_AUDIT_FILE);
    }
    /* A shared audit lock while reading both files: a writer holds it
     * exclusively across its store write and audit append. */
    bool audit_locked = false;
    if (rc >= 0) {
        rc = vs_audit_lock(v->auditfd, false);
        audit_locked = rc == 0;
    }
    if (rc >= 0)
        rc = read_store(v);
    if (rc >= 0)
        rc = vs_store_parse(v->disk_bytes, v->disk_len, u, &v->store);
    struct vs_audit_tail tail = {.empty = true};
    bool check = (flags & VS_VAULT_SKIP_AUDIT_CHECK) == 0;
    if (rc >= 0 && check)
        rc = vs_audit_read_complete_tail(v->auditfd, vs_store_audit_key(v->store), &tail);
    if (audit_locked)
        vs_audit_unlock(v->auditfd);
    if (rc >= 0 && check)
        rc = check_against_audit(v, &tail);
    if (rc >= 0 && write && check && !tail.empty && tail.seq < vs_store_audit_seq(v->store))
        rc = log_recovery(v);
    if (rc < 0) {
        vs_vault_close(v);
        return rc;
    }
    if (!write) { /* kept only to undo a commit, which needs VS_VAULT_WRITE: vaultd's memory at scale */
        free(v->disk_bytes);
        v->disk_bytes = NULL;
        v->disk_len = 0;
    }
    *out = v;
    return 0;
}

static int undo_store(struct vs_vault *v, int cause)
{
    char why[256];
    (void)snprintf(why, sizeof why, "%s", vs_last_error(cause));
    int rc = vs_write_file_atomic(v->dirfd, VS_STORE_FILE, v->disk_bytes, v->disk_len);
    if (rc != 0)
        return vs_fail(VS_EAUDIT, "%s; the store change could not be undone either (%s)", why, vs_last_error(rc));
    return vs_fail(VS_EAUDIT, "%s; the change was undone", why);
}

int vs_vault_commit(struct vs_vault *v, const struct vs_audit_event *ev)
{
    if (v->lockfd < 0)
        return vs_fail(VS_EINVAL, "vault opened read-only");
    int rc = vs_audit_lock(v->auditfd, true);
    if (rc != 0)
        return rc;
    struct vs_audit_tail tail;
    struct vs_buf line = {0};
    uint8_t *bytes = NULL;
    size_t len = 0;
    uint64_t old_gen = vs_store_generation(v->store), old_seq = vs_store_audit_seq(v->store);
    rc = vs_audit_drop_partial(v->auditfd); /* a killed writer's half line */
    if (rc == 0)
        rc = vs_audit_read_tail(v->auditfd, vs_store_audit_key(v->store), &tail);
    if (rc == 0) {
        vs_store_set_generation(v->store, old_gen + 1);
        vs_store_set_audit_seq(v->store, tail.empty ? 1 : tail.seq + 1);
        rc = vs_store_serialize(v->store, &bytes, &len);
    }
    if (rc == 0)
        rc = vs_audit_build_line(vs_store_audit_key(v->store), &tail, old_gen + 1, ev, &line);
    if (rc == 0)
        rc = vs_audit_reserve(v->auditfd, line.len);
    if (rc == 0) {
        bool replaced = false;
        rc = vs_write_file_atomic_ex(v->dirfd, VS_STORE_FILE, bytes, len, &replaced);
        if (rc != 0 && replaced) /* renamed, then the folder fsync failed */
            rc = undo_store(v, rc);
        else if (rc != 0)
            rc = vs_fail(rc, "%s; the vault is unchanged", vs_last_error(rc));
    }
    if (rc == 0) {
        rc = vs_audit_write_line(v->auditfd, &line);
        if (rc != 0)
            rc = undo_store(v, rc);
    }
    vs_audit_unlock(v->auditfd);
    vs_buf_free(&line);
    if (rc != 0) {
        free(bytes);
        vs_store_set_generation(v->store, old_gen);
        vs_store_set_audit_seq(v->store, old_seq);
        return rc;
    }
    free(v->disk_bytes);
    v->disk_bytes = bytes;
    v->disk_len = len;
    return 0;
}

int vs_vault_init(const char *home, const struct vs_unlock *u, enum vs_kdf_level level)
{
    int dirfd = vs_open_private_dir(home, 1);
    if (dirfd < 0)
        return dirfd;
    int lockfd = vs_lock_file_at(dirfd, VS_LOCK_FILE);
    if (lockfd < 0) {
        close(dirfd);
        return lockfd;
    }
    struct vs_store *store = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int auditfd = -1;
    bool created = false;
    struct stat st;
    int rc = 0;
    if (fstatat(dirfd, VS_STORE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
        rc = vs_fail(VS_EEXIST, "a vault already exists in %s", home);
    else if (fstatat(dirfd, VS_AUDIT_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size > 0)
        rc = vs_fail(VS_EEXIST, "%s/%s belongs to an earlier vault: move it away first", home, VS_AUDIT_FILE);
    if (rc == 0)
        rc = vs_store_create(u, level, &store);
    if (rc == 0) {
        vs_store_set_generation(store, 1);
        vs_store_set_audit_seq(store, 1);
        rc = vs_store_serialize(store, &bytes, &len);
    }
    if (rc == 0) {
        rc = vs_create_file_excl(dirfd, VS_STORE_FILE, 0600, bytes, len);
        created = rc == 0;
    }
    if (rc == 0)
        rc = auditfd = vs_audit_open(dirfd, VS_AUDIT_FILE, true);
    if (rc >= 0) {
        struct vs_audit_event ev = {.event = "init", .decision = "ok", .uid = -1, .pid = -1,
                                    .reason = u->kind == VS_KDF_KEYFILE ? "key file" : "passphrase"};
        rc = vs_audit_append(auditfd, vs_store_audit_key(store), 1, &ev);
    }
    if (rc < 0 && created) {
        (void)unlinkat(dirfd, VS_STORE_FILE, 0);
        (void)unlinkat(dirfd, VS_AUDIT_FILE, 0);
    }
    if (auditfd >= 0)
        close(auditfd);
    free(bytes);
    vs_store_free(store);
    close(lockfd);
    close(dirfd);
    return rc < 0 ? rc : 0;
}
