/* The relay (vaultd/exec/relay.c) in-process, on pipes: the tool's stdout
 * and stderr reach our two fds apart, each through its own masker, or
 * unchanged with no masker; the exit status is a shell's; a tool that
 * cannot be exec'd is 127; the pid is reported. The pty side and signals
 * are driven with real programs in tests/integration/exec_relay.sh. */
#include "testutil.h"

#include "error.h"
#include "mask.h"
#include "relay.h"

#include <fcntl.h>
#include <signal.h>

struct tool {
    const char *script; /* for /bin/sh -c */
};

static int exec_sh(void *ctx)
{
    const struct tool *t = ctx;
    execl("/bin/sh", "sh", "-c", t->script, (char *)NULL);
    return -1;
}

static int exec_missing(void *ctx)
{
    (void)ctx;
    execl("/nonexistent/tool", "tool", (char *)NULL);
    return -1;
}

struct run {
    int status;
    pid_t pid;
    uint8_t *out, *err;
    size_t out_len, err_len;
};

static void run_tool(int (*exec_tool)(void *), const char *script, struct vs_masker *mo, struct vs_masker *me,
                     struct run *r)
{
    char *dir = tu_tempdir();
    char out_path[256], err_path[256];
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(err_path, sizeof err_path, "%s/err", dir);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(out >= 0 && err >= 0 && in >= 0);
    struct tool t = {script};
    struct vs_relay_opts o = {.exec_tool = exec_tool, .ctx = &t, .mask_out = mo, .mask_err = me,
                              .in_fd = in, .out_fd = out, .err_fd = err, .force_pipes = true};
    r->pid = 0;
    assert_int_equal(vs_relay_run(&o, &r->status, &r->pid), 0);
    assert_true(r->pid > 0);
    assert_int_equal(close(out), 0);
    assert_int_equal(close(err), 0);
    assert_int_equal(close(in), 0);
    r->out = tu_read_file(out_path, &r->out_len);
    r->err = tu_read_file(err_path, &r->err_len);
    tu_rmdir(dir);
}

static void done(struct run *r)
{
    free(r->out);
    free(r->err);
}

static void streams_masked_apart(void **state)
{
    (void)state;
    char tok[33];
    tu_fake_token(tok, sizeof tok, 11);
    struct vs_mask_value v = {(const uint8_t *)tok, 32};
    struct vs_masker *mo, *me;
    assert_int_equal(vs_masker_new(&v, 1, &mo), 0);
    assert_int_equal(vs_masker_new(&v, 1, &me), 0);
    char script[256];
    snprintf(script, sizeof script, "printf 'out %s end'; printf 'err %s end' >&2; exit 3", tok, tok);
    struct run r;
    run_tool(exec_sh, script, mo, me, &r);
    assert_int_equal(r.status, 3);
    assert_int_equal(r.out_len, strlen("out ******** end"));
    assert_memory_equal(r.out, "out ******** end", r.out_len);
    assert_int_equal(r.err_len, strlen("err ******** end"));
    assert_memory_equal(r.err, "err ******** end", r.err_len);
    assert_int_equal(vs_masker_count(mo), 1);
    assert_int_equal(vs_masker_count(me), 1);
    done(&r);
    vs_masker_free(mo);
    vs_masker_free(me);
}

static void no_masker_passes_through(void **state)
{
    (void)state;
    struct run r;
    run_tool(exec_sh, "head -c 300000 /dev/zero | tr '\\0' 'x'; printf 'E' >&2", NULL, NULL, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, 300000);
    for (size_t i = 0; i < r.out_len; i++)
        if (r.out[i] != 'x')
            fail_msg("byte %zu changed", i);
    assert_int_equal(r.err_len, 1);
    done(&r);
}

static void exit_status_like_a_shell(void **state)
{
    (void)state;
    struct run r;
    run_tool(exec_sh, "exit 42", NULL, NULL, &r);
    assert_int_equal(r.status, 42);
    done(&r);
    run_tool(exec_sh, "kill -TERM $$", NULL, NULL, &r);
    assert_int_equal(r.status, 128 + SIGTERM);
    done(&r);
    run_tool(exec_missing, NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 127);
    done(&r);
}

/* The relay leaves our signal state as it found it. */
static void signal_state_restored(void **state)
{
    (void)state;
    sigset_t before, after;
    assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &before), 0);
    struct sigaction pipe_before, pipe_after;
    assert_int_equal(sigaction(SIGPIPE, NULL, &pipe_before), 0);
    struct run r;
    run_tool(exec_sh, "exit 0", NULL, NULL, &r);
    done(&r);
    assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &after), 0);
    assert_int_equal(sigaction(SIGPIPE, NULL, &pipe_after), 0);
    for (int s = 1; s < 32; s++)
        assert_int_equal(sigismember(&before, s), sigismember(&after, s));
    assert_ptr_equal(pipe_before.sa_handler, pipe_after.sa_handler);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streams_masked_apart),
        cmocka_unit_test(no_masker_passes_through),
        cmocka_unit_test(exit_status_like_a_shell),
        cmocka_unit_test(signal_state_restored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
