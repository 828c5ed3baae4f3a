/* Running the target: execveat of the fd vaultd judged (vexec.h rules 1
 * and 3), as vault-exec's child, so that vault-exec can report the exit
 * status and duration. With mask on, the relay (relay.h) starts the child
 * and masks its output; otherwise the child inherits our stdio and
 * vault-exec waits, forwarding SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 and
 * ignoring SIGINT and SIGQUIT (the terminal sends those to the child's
 * process group itself), as system() does. */
#include "vexec.h"

#include "error.h"
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct exec_ctx {
    int fd;
    char **argv, **envp;
};

static int exec_target(void *ctx)
{
    struct exec_ctx *x = ctx;
    /* Raw syscall: a shim preloaded into vault-exec must not rebuild this
     * environment. */
    (void)syscall(SYS_execveat, x->fd, "", x->argv, x->envp, AT_EMPTY_PATH);
    return -errno;
}

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
    if (child_pid > 0)
        (void)kill((pid_t)child_pid, sig);
}

static int shell_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 1;
}

static int run_direct(struct exec_ctx *x)
{
    pid_t pid = fork();
    if (pid < 0)
        return vs_fail_errno(VS_EIO, "fork");
    if (pid == 0) {
        int e = exec_target(x);
        (void)e;
        _exit(126);
    }
    child_pid = pid;
    struct sigaction fw = {.sa_handler = forward}, ign = {.sa_handler = SIG_IGN};
    sigemptyset(&fw.sa_mask);
    sigemptyset(&ign.sa_mask);
    static const int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        (void)sigaction(forwarded[i], &fw, NULL);
    (void)sigaction(SIGINT, &ign, NULL);
    (void)sigaction(SIGQUIT, &ign, NULL);
    int st = 0;
    pid_t r;
    do {
        r = waitpid(pid, &st, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return vs_fail_errno(VS_EIO, "waitpid");
    return shell_status(st);
}

static int run_masked(struct vexec *v, struct exec_ctx *x)
{
    struct vs_mask_value values[2 * VEXEC_MAX_GRANTS]; /* env values, then file values */
    size_t n = vexec_mask_values(v, values, 2 * VEXEC_MAX_GRANTS);
    struct vs_masker *out = NULL, *err = NULL;
    int rc = vs_masker_new(values, n, &out);
    if (rc == 0)
        rc = vs_masker_new(values, n, &err);
    int status = 0;
    if (rc == 0) {
        struct vs_relay_opts o = {.exec_tool = exec_target, .ctx = x, .mask_out = out, .mask_err = err,
                                  .in_fd = 0, .out_fd = 1, .err_fd = 2};
        rc = vs_relay_run(&o, &status, NULL);
    }
    vs_masker_free(out);
    vs_masker_free(err);
    return rc != 0 ? rc : status;
}

int vexec_run(struct vexec *v, char **envp, char **argv)
{
    struct exec_ctx x = {.fd = v->targetfd, .argv = argv, .envp = envp};
    return v->mask ? run_masked(v, &x) : run_direct(&x);
}
