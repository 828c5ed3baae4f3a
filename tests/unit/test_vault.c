#include "testutil.h"

#include "error.h"
#include "fileio.h"
#include "vault.h"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

static uint8_t key[32];
static const struct vs_unlock unlock = {VS_KDF_KEYFILE, key, 32};

struct fixture {
    char *dir;
    char store[256], audit[256];
};

static int setup(void **state)
{
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(key, sizeof key);
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir();
    (void)snprintf(f->store, sizeof f->store, "%s/home/store", f->dir);
    (void)snprintf(f->audit, sizeof f->audit, "%s/home/audit.log", f->dir);
    char home[256];
    (void)snprintf(home, sizeof home, "%s/home", f->dir);
    if (vs_vault_init(home, &unlock, VS_KDF_MODERATE) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static const char *home_of(struct fixture *f)
{
    static char home[256];
    (void)snprintf(home, sizeof home, "%s/home", f->dir);
    return home;
}

static int save(struct fixture *f, const char *name, unsigned seed)
{
    struct vs_vault *v = NULL;
    int rc = vs_vault_open(home_of(f), &unlock, VS_VAULT_WRITE, &v);
    if (rc != 0)
        return rc;
    char value[33];
    tu_fake_token(value, sizeof value, seed);
    rc = vs_store_add(v->store, name, (const uint8_t *)value, strlen(value), 1);
    if (rc == 0) {
        struct vs_audit_event ev = {.event = "save", .decision = "ok", .secret = name, .version = 1, .uid = -1, .pid = -1};
        rc = vs_vault_commit(v, &ev);
    }
    vs_vault_close(v);
    return rc;
}

static int open_read(struct fixture *f)
{
    struct vs_vault *v = NULL;
    int rc = vs_vault_open(home_of(f), &unlock, 0, &v);
    vs_vault_close(v);
    return rc;
}

static void commit_round_trip(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(save(f, "a", 1), 0);
    assert_int_equal(save(f, "b", 2), 0);
    assert_int_equal(save(f, "a", 3), VS_EEXIST);
    struct vs_vault *v = NULL;
    assert_int_equal(vs_vault_open(home_of(f), &unlock, 0, &v), 0);
    assert_int_equal(vs_store_count(v->store), 2);
    assert_int_equal(vs_store_generation(v->store), 3); /* init, a, b */
    struct vs_audit_report r;
    assert_int_equal(vs_audit_verify(v->auditfd, vs_store_audit_key(v->store), &r), 0);
    assert_int_equal(r.lines, 3);
    vs_vault_close(v);
    assert_int_equal(vs_vault_init(home_of(f), &unlock, VS_KDF_MODERATE), VS_EEXIST);
    uint8_t other[32] = {1};
    struct vs_unlock wrong = {VS_KDF_KEYFILE, other, 32};
    assert_int_equal(vs_vault_open(home_of(f), &wrong, 0, &v), VS_ECRYPTO);
}

static void rollback_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(save(f, "a", 1), 0);
    size_t len;
    uint8_t *old = tu_read_file(f->store, &len);
    assert_int_equal(save(f, "b", 2), 0);
    tu_write_file(f->store, old, len);
    assert_int_equal(open_read(f), VS_EROLLBACK);
    assert_int_equal(save(f, "c", 3), VS_EROLLBACK);
    free(old);
}

static void audit_deleted_emptied_or_cut(void **state)
{
    struct fixture *f = *state;
    for (unsigned i = 0; i < 4; i++) {
        char name[8];
        (void)snprintf(name, sizeof name, "s%u", i);
        assert_int_equal(save(f, name, i), 0);
    }
    size_t len;
    uint8_t *log = tu_read_file(f->audit, &len);
    /* cut the last two lines */
    size_t keep = len - 1;
    for (int cuts = 0; cuts < 2; keep--)
        if (log[keep - 1] == '\n')
            cuts++;
    tu_write_file(f->audit, log, keep + 1);
    assert_int_equal(open_read(f), VS_EAUDIT);
    tu_write_file(f->audit, log, 0);
    assert_int_equal(open_read(f), VS_EAUDIT);
    assert_int_equal(unlink(f->audit), 0);
    assert_int_equal(open_read(f), VS_EAUDIT);
    assert_int_equal(save(f, "x", 9), VS_EAUDIT);
    free(log);
}

/* The process killed between the store rename and the audit append: the
 * next writer records a "recover" line and the chain verifies. */
static void interrupted_write_recovered(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(save(f, "a", 1), 0);
    size_t len;
    uint8_t *log = tu_read_file(f->audit, &len);
    assert_int_equal(save(f, "b", 2), 0);
    tu_write_file(f->audit, log, len); /* b's line never made it */
    free(log);
    assert_int_equal(open_read(f), 0);
    assert_int_equal(save(f, "c", 3), 0);
    struct vs_vault *v = NULL;
    assert_int_equal(vs_vault_open(home_of(f), &unlock, 0, &v), 0);
    assert_non_null(vs_store_find(v->store, "b"));
    struct vs_audit_report r;
    assert_int_equal(vs_audit_verify(v->auditfd, vs_store_audit_key(v->store), &r), 0);
    assert_int_equal(r.lines, 4); /* init, a, recover, c */
    vs_vault_close(v);
    log = tu_read_file(f->audit, &len);
    assert_non_null(memmem(log, len, "\"event\":\"recover\"", 17));
    free(log);
}

/* Fail closed: when the audit line cannot be written, the change is not
 * made. RLIMIT_FSIZE stands in for a full or broken disk (works as root). */
static void audit_unwritable_changes_nothing(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(save(f, "a", 1), 0);
    size_t store_len, audit_len;
    uint8_t *store_before = tu_read_file(f->store, &store_len);
    uint8_t *audit_before = tu_read_file(f->audit, &audit_len);
    assert_true(store_len < audit_len);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = {audit_len, audit_len};
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(90);
        _exit(save(f, "b", 2) == VS_EAUDIT ? 0 : 91);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    size_t len;
    uint8_t *after = tu_read_file(f->store, &len);
    assert_int_equal(len, store_len);
    assert_memory_equal(after, store_before, len);
    free(after);
    after = tu_read_file(f->audit, &len);
    assert_int_equal(len, audit_len);
    assert_memory_equal(after, audit_before, len);
    free(after);
    free(store_before);
    free(audit_before);
    assert_int_equal(open_read(f), 0);
}

static void concurrent_writers_serialised(void **state)
{
    struct fixture *f = *state;
    enum { WRITERS = 4, EACH = 15 };
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            for (int i = 0; i < EACH; i++) {
                char name[32];
                (void)snprintf(name, sizeof name, "w%d_%d", w, i);
                if (save(f, name, (unsigned)(w * 100 + i)) != 0)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int w = 0; w < WRITERS; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    struct vs_vault *v = NULL;
    assert_int_equal(vs_vault_open(home_of(f), &unlock, 0, &v), 0);
    assert_int_equal(vs_store_count(v->store), WRITERS * EACH);
    struct vs_audit_report r;
    assert_int_equal(vs_audit_verify(v->auditfd, vs_store_audit_key(v->store), &r), 0);
    assert_int_equal(r.lines, WRITERS * EACH + 1);
    vs_vault_close(v);
}

static void unsafe_files_refused(void **state)
{
    struct fixture *f = *state;
    char path[300];
    assert_int_equal(chmod(home_of(f), 0755), 0);
    assert_int_equal(open_read(f), VS_EPERM);
    assert_int_equal(chmod(home_of(f), 0700), 0);
    assert_int_equal(chmod(f->store, 0644), 0);
    assert_int_equal(open_read(f), VS_EPERM);
    assert_int_equal(chmod(f->store, 0600), 0);
    assert_int_equal(chmod(f->audit, 0640), 0);
    assert_int_equal(open_read(f), VS_EPERM);
    assert_int_equal(chmod(f->audit, 0600), 0);
    /* a symlinked store */
    (void)snprintf(path, sizeof path, "%s/elsewhere", f->dir);
    assert_int_equal(rename(f->store, path), 0);
    assert_int_equal(symlink(path, f->store), 0);
    assert_int_equal(open_read(f), VS_EPERM);
    assert_int_equal(unlink(f->store), 0);
    assert_int_equal(rename(path, f->store), 0);
    assert_int_equal(open_read(f), 0);
    /* a symlinked home */
    (void)snprintf(path, sizeof path, "%s/link", f->dir);
    assert_int_equal(symlink(home_of(f), path), 0);
    struct vs_vault *v = NULL;
    assert_int_equal(vs_vault_open(path, &unlock, 0, &v), VS_EIO);
}

static void stale_temp_removed(void **state)
{
    struct fixture *f = *state;
    char temp[300];
    (void)snprintf(temp, sizeof temp, "%s/home/.store.tmp.99999", f->dir);
    tu_write_file(temp, "junk", 4);
    assert_int_equal(save(f, "a", 1), 0);
    assert_int_equal(access(temp, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(commit_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(audit_deleted_emptied_or_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(interrupted_write_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(audit_unwritable_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_serialised, setup, teardown),
        cmocka_unit_test_setup_teardown(unsafe_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_temp_removed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
