/* vfork-probe HOW PROGRAM: makes a child with HOW (vfork, clone = clone
 * with CLONE_VM|CLONE_VFORK, _Fork, fork), which writes one marker line to
 * stderr and then execve's PROGRAM; exits 0 when the child exited 0.
 * shim_vfork.sh runs it with LD_DEBUG=bindings to see that no symbol is
 * resolved inside a child that shares the parent's memory. */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Globals: a vfork child must not depend on clobberable locals. */
static char *child_argv[2];
static char clone_stack[256 * 1024] __attribute__((aligned(16)));

static int child(void *unused)
{
    (void)unused;
    static const char marker[] = "MARK child before exec\n";
    if (write(2, marker, sizeof marker - 1) < 0)
        _exit(126);
    execve(child_argv[0], child_argv, environ);
    _exit(127);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: vfork-probe vfork|clone|_Fork|fork PROGRAM\n");
        return 2;
    }
    child_argv[0] = argv[2];
    fprintf(stderr, "MARK parent before\n");
    pid_t pid;
    if (strcmp(argv[1], "vfork") == 0) {
        pid = vfork();
        if (pid == 0)
            child(NULL);
    } else if (strcmp(argv[1], "clone") == 0) {
        pid = clone(child, clone_stack + sizeof clone_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
    } else if (strcmp(argv[1], "_Fork") == 0 || strcmp(argv[1], "fork") == 0) {
        pid = argv[1][0] == '_' ? _Fork() : fork();
        if (pid == 0)
            child(NULL);
    } else {
        fprintf(stderr, "vfork-probe: unknown way %s\n", argv[1]);
        return 2;
    }
    if (pid < 0) {
        perror("vfork-probe");
        return 1;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        perror("vfork-probe: waitpid");
        return 1;
    }
    fprintf(stderr, "MARK parent done\n");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
