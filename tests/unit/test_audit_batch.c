/* Group commit of audit lines (vaultd/core/audit_batch.c): the line is in
 * the file before the caller answers, the remembered tail never breaks the
 * chain when another writer appends between two of ours, and a sync covers
 * every line written before it. */
#include "testutil.h"

#include "audit_batch.h"
#include "error.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

static uint8_t key[VS_AUDIT_MAC_BYTES];

struct fixture {
    char *dir;
    int dirfd, fd;
};

static int setup(void **state)
{
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(key, sizeof key);
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir();
    f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
    f->fd = vs_audit_open(f->dirfd, "audit.log", true);
    *state = f;
    return f->fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->fd);
    close(f->dirfd);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static struct vs_audit_event event(const char *what)
{
    return (struct vs_audit_event){.event = "grant", .decision = "ok", .reason = what, .uid = -1, .pid = -1};
}

static off_t file_size(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return st.st_size;
}

static void written_before_sync(void **state)
{
    struct fixture *f = *state;
    struct vs_audit_writer w;
    vs_audit_writer_init(&w, f->fd);
    assert_false(vs_audit_writer_dirty(&w));
    struct vs_audit_event ev = event("first");
    assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), 0);
    /* In the file (visible to every reader) before any fsync. */
    assert_true(file_size(f->fd) > 0);
    assert_true(vs_audit_writer_dirty(&w));
    assert_int_equal(vs_audit_writer_sync(&w), 0);
    assert_false(vs_audit_writer_dirty(&w));
    struct vs_audit_report r;
    assert_int_equal(vs_audit_verify(f->fd, key, &r), 0);
    assert_int_equal(r.lines, 1);
}

static void chain_holds_with_another_writer(void **state)
{
    struct fixture *f = *state;
    struct vs_audit_writer w;
    vs_audit_writer_init(&w, f->fd);
    for (int i = 0; i < 30; i++) {
        struct vs_audit_event ev = event("ours");
        assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), 0);
        if (i % 7 == 3) { /* vaultctl's append between two of ours */
            struct vs_audit_event other = event("theirs");
            assert_int_equal(vs_audit_append(f->fd, key, 1, &other), 0);
        }
    }
    assert_int_equal(vs_audit_writer_sync(&w), 0);
    struct vs_audit_report r;
    assert_int_equal(vs_audit_verify(f->fd, key, &r), 0);
    assert_int_equal(r.lines, 30 + 4);
    assert_int_equal(r.last_seq, 34);
}

static void wrong_key_tail_is_refused(void **state)
{
    /* A log whose last line is not ours (another key: forged) is refused,
     * as before: the remembered tail is only used for our own last line. */
    struct fixture *f = *state;
    uint8_t other_key[VS_AUDIT_MAC_BYTES];
    randombytes_buf(other_key, sizeof other_key);
    struct vs_audit_event forged = event("forged");
    assert_int_equal(vs_audit_append(f->fd, other_key, 1, &forged), 0);
    struct vs_audit_writer w;
    vs_audit_writer_init(&w, f->fd);
    struct vs_audit_event ev = event("ours");
    assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), VS_EAUDIT);
}

static struct vs_audit_event named(const char *event_name)
{
    return (struct vs_audit_event){.event = event_name, .decision = "ok", .uid = -1, .pid = -1};
}

static void each_mode_every_answer_waits(void **state)
{
    struct fixture *f = *state;
    struct vs_audit_writer w;
    vs_audit_writer_init(&w, f->fd);
    uint64_t before = w.written;
    assert_false(vs_audit_writer_must_wait(&w, before)); /* nothing written: nothing to wait for */
    struct vs_audit_event ev = event("granted");
    assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), 0);
    assert_true(vs_audit_writer_must_wait(&w, before));
    /* The round's end syncs what is dirty, at once; no timer is needed. */
    assert_int_equal(vs_audit_writer_wait_ms(&w, 1000), 1000);
    assert_true(vs_audit_writer_due(&w));
    assert_int_equal(vs_audit_writer_tick(&w), 0);
    assert_false(vs_audit_writer_dirty(&w));
}

static void interval_mode_grants_do_not_wait(void **state)
{
    struct fixture *f = *state;
    struct vs_audit_writer w;
    vs_audit_writer_init(&w, f->fd);
    vs_audit_writer_set_sync(&w, VS_AUDIT_SYNC_INTERVAL, 60000);
    for (const char *const *e = (const char *const[]){"grant", "render", "mediate", "exec", "reject", NULL}; *e; e++) {
        uint64_t before = w.written;
        struct vs_audit_event ev = named(*e);
        assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), 0);
        if (vs_audit_writer_must_wait(&w, before))
            fail_msg("a %s answer waits for the fsync in interval mode", *e);
    }
    /* Written (a vaultd crash cannot lose them), not synced, not yet due. */
    struct vs_audit_report r;
    assert_int_equal(vs_audit_verify(f->fd, key, &r), 0);
    assert_int_equal(r.lines, 5);
    assert_true(vs_audit_writer_dirty(&w));
    assert_false(vs_audit_writer_due(&w));
    assert_int_equal(vs_audit_writer_tick(&w), 0);
    assert_true(vs_audit_writer_dirty(&w));
    int wait = vs_audit_writer_wait_ms(&w, 1000);
    assert_true(wait > 0 && wait <= 1000);
    /* Once the period has passed, the tick syncs. */
    w.tried_ms -= 60000;
    assert_true(vs_audit_writer_due(&w));
    assert_int_equal(vs_audit_writer_wait_ms(&w, 1000), 0);
    assert_int_equal(vs_audit_writer_tick(&w), 0);
    assert_false(vs_audit_writer_dirty(&w));
    assert_int_equal(vs_audit_writer_wait_ms(&w, 1000), 1000); /* clean: only the caller's cap */
}

static void interval_mode_owner_events_are_synced_at_once(void **state)
{
    /* An owner's decision (lockdown, restore, lock, reload, approval...) and
     * vaultd's own start and stop are not relaxed: their answers wait, and
     * the round's tick syncs them whatever the period. */
    struct fixture *f = *state;
    struct vs_audit_writer w;
    vs_audit_writer_init(&w, f->fd);
    vs_audit_writer_set_sync(&w, VS_AUDIT_SYNC_INTERVAL, 60000);
    for (const char *const *e = (const char *const[]){"lockdown", "restore", "lock", "unlock", "reload", "approval",
                                                      "alert", "start", "stop", "session", NULL}; *e; e++) {
        uint64_t before = w.written;
        struct vs_audit_event ev = named(*e);
        assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), 0);
        if (!vs_audit_writer_must_wait(&w, before))
            fail_msg("a %s answer does not wait for the fsync", *e);
        assert_true(vs_audit_writer_due(&w));
        assert_int_equal(vs_audit_writer_tick(&w), 0);
        assert_false(vs_audit_writer_dirty(&w));
    }
}

static void interval_mode_fails_closed_after_a_failed_sync(void **state)
{
    struct fixture *f = *state;
    struct vs_audit_writer w;
    vs_audit_writer_init(&w, f->fd);
    vs_audit_writer_set_sync(&w, VS_AUDIT_SYNC_INTERVAL, 1000);
    struct vs_audit_event ev = event("before");
    assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), 0);
    /* fsync of a pipe fails (EINVAL): a disk that refuses to sync. */
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    int file = w.fd;
    w.fd = pipefd[0];
    w.tried_ms -= 1000;
    assert_int_equal(vs_audit_writer_tick(&w), VS_EAUDIT);
    assert_true(w.sync_failed);
    /* From then on nothing is written and every line (so every grant) is
     * refused with a reason naming the audit log, while syncs fail. */
    off_t size = file_size(file);
    ev = event("refused");
    assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), VS_EAUDIT);
    assert_non_null(strstr(vs_last_error(VS_EAUDIT), "audit log"));
    assert_null(strchr(vs_last_error(VS_EAUDIT), '\n'));
    assert_int_equal(file_size(file), size);
    /* Retried by the tick once a period, not in a spin. */
    assert_false(vs_audit_writer_due(&w));
    int wait = vs_audit_writer_wait_ms(&w, 5000);
    assert_true(wait > 0 && wait <= 1000);
    w.tried_ms -= 1000;
    assert_true(vs_audit_writer_due(&w));
    assert_int_equal(vs_audit_writer_wait_ms(&w, 5000), 0);
    assert_int_equal(vs_audit_writer_tick(&w), VS_EAUDIT);
    /* The disk syncs again: the next append's sync succeeds, it goes on. */
    w.fd = file;
    ev = event("after");
    assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), 0);
    assert_false(w.sync_failed);
    assert_true(file_size(file) > size);
    struct vs_audit_report r;
    assert_int_equal(vs_audit_verify(file, key, &r), 0);
    assert_int_equal(r.lines, 2);
    close(pipefd[0]);
    close(pipefd[1]);
}

static void each_mode_keeps_writing_after_a_failed_sync(void **state)
{
    /* "each" is unchanged: a failed sync refuses the answers it held (the
     * caller's job); the next round's lines are written and synced anew. */
    struct fixture *f = *state;
    struct vs_audit_writer w;
    vs_audit_writer_init(&w, f->fd);
    struct vs_audit_event ev = event("one");
    assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), 0);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    int file = w.fd;
    w.fd = pipefd[0];
    assert_int_equal(vs_audit_writer_sync(&w), VS_EAUDIT);
    w.fd = file;
    ev = event("two");
    assert_int_equal(vs_audit_writer_append(&w, key, 1, &ev), 0);
    assert_int_equal(vs_audit_writer_sync(&w), 0);
    assert_false(vs_audit_writer_dirty(&w));
    close(pipefd[0]);
    close(pipefd[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(written_before_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(chain_holds_with_another_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_key_tail_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(each_mode_every_answer_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(interval_mode_grants_do_not_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(interval_mode_owner_events_are_synced_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(interval_mode_fails_closed_after_a_failed_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(each_mode_keeps_writing_after_a_failed_sync, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
