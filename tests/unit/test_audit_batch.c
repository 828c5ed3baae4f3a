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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(written_before_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(chain_holds_with_another_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_key_tail_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
