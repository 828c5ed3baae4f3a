/* vs_proc_read (vaultd/daemon/peer_proc.c) stops at a short read: a long
 * /proc file is still read whole (never a truncated one taken for the
 * whole), and one over the cap is refused. Driven against a real child
 * with a large environment and command line. */
#include "testutil.h"

#include "peer_int.h"
#include "error.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#define BIG 20000

static pid_t child;
static int procfd = -1;
static char *big_env[3], *big_argv[5];

static int setup(void **state)
{
    (void)state;
    big_env[0] = calloc(1, BIG + 8);
    memcpy(big_env[0], "PAD=", 4);
    memset(big_env[0] + 4, 'p', BIG);
    big_env[1] = "LAST=marker";
    big_argv[0] = "/bin/sh"; /* stays sh (two commands): its cmdline keeps the big $0 */
    big_argv[1] = "-c";
    big_argv[2] = "sleep 30; :";
    big_argv[3] = calloc(1, BIG + 1);
    memset(big_argv[3], 'a', BIG);
    child = fork();
    if (child == 0) {
        execve("/bin/sh", big_argv, big_env);
        _exit(127);
    }
    char path[64];
    (void)snprintf(path, sizeof path, "/proc/%d", (int)child);
    for (int i = 0; i < 200; i++) { /* until the exec has happened */
        char exe[64] = "";
        (void)snprintf(path, sizeof path, "/proc/%d/exe", (int)child);
        ssize_t n = readlink(path, exe, sizeof exe - 1);
        /* Ends in "sh" (sh, dash, bash): a folder named like "shim" on the
         * test binary's own path must not pass for the exec. */
        if (n >= 2 && strcmp(exe + n - 2, "sh") == 0)
            break;
        usleep(10000);
    }
    (void)snprintf(path, sizeof path, "/proc/%d", (int)child);
    procfd = open(path, O_RDONLY | O_DIRECTORY);
    return procfd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kill(child, SIGKILL);
    (void)waitpid(child, NULL, 0);
    close(procfd);
    return 0;
}

static void long_environ_read_whole(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(vs_proc_read(procfd, "environ", "environ", 256 * 1024, &text, &len), 0);
    size_t want = strlen(big_env[0]) + 1 + strlen(big_env[1]) + 1;
    assert_int_equal(len, want);
    assert_string_equal(text + strlen(big_env[0]) + 1, "LAST=marker");
    free(text);
}

static void long_cmdline_read_whole(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(vs_proc_read(procfd, "cmdline", "cmdline", 256 * 1024, &text, &len), 0);
    assert_int_equal(len, strlen("/bin/sh") + 1 + 3 + strlen("sleep 30; :") + 1 + BIG + 1);
    free(text);
}

static void over_the_cap_refused(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(vs_proc_read(procfd, "environ", "environ", 8192, &text, &len), VS_ETOOBIG);
    assert_null(text);
}

static void short_files_whole(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(vs_proc_read(procfd, "status", "status", 1024 * 1024, &text, &len), 0);
    assert_non_null(strstr(text, "\nTracerPid:"));
    assert_int_equal(text[len - 1], '\n');
    assert_int_equal(strlen(text), len);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_environ_read_whole),
        cmocka_unit_test(long_cmdline_read_whole),
        cmocka_unit_test(over_the_cap_refused),
        cmocka_unit_test(short_files_whole),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
