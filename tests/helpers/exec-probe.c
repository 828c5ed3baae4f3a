/* exec-probe: runs a program through one exec entry point, with a fake
 * protected value planted in the environment and LD_PRELOAD and
 * VAULT_SOCKET removed, so a test can check what the shim's exec hook gave
 * the child.
 *
 *   exec-probe ENTRY [PROGRAM [ARG...]]      (default PROGRAM: /usr/bin/env)
 *
 * ENTRY: execve execv execvp execvpe execl execlp execle fexecve execveat
 *        posix_spawn posix_spawnp system popen vfork (vfork + execve).
 * The planted value comes from VS_PROBE_VALUE (an unprotected name, so the
 * shim's constructor leaves it) and is set as GH_TOKEN (built-in list) and
 * PROBE_TOKEN (a policy's "*_TOKEN" pattern) after start-up; VS_PROBE_VALUE
 * itself is removed.
 * For system and popen the program and its arguments are joined with
 * spaces into the shell command; popen copies the command's output to
 * stdout. Exits with the child's exit status (128+N for signal N); when the
 * call itself fails prints "errno=NAME" on stdout and exits 127. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char **prog_argv;
static char **planted; /* a global: vfork's child must not depend on clobberable locals */

static _Noreturn void failed(int err)
{
    printf("errno=%s\n", strerrorname_np(err) != NULL ? strerrorname_np(err) : "?");
    fflush(stdout);
    _exit(127);
}

static int status_of(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 126;
}

/* The environment with the planted values, as an array (for the calls that
 * take one) and as environ (for the others). */
/* Kept reachable for the process's life (the exec or the wait needs it). */
static char **planted;

static char **plant(const char *value)
{
    static char gh[512], probe[512];
    snprintf(gh, sizeof gh, "GH_TOKEN=%s", value);
    snprintf(probe, sizeof probe, "PROBE_TOKEN=%s", value);
    unsetenv("LD_PRELOAD");
    unsetenv("VAULT_SOCKET");
    setenv("GH_TOKEN", value, 1);
    setenv("PROBE_TOKEN", value, 1);
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 3, sizeof *env);
    if (env == NULL)
        exit(2);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "GH_TOKEN=", 9) != 0 && strncmp(environ[i], "PROBE_TOKEN=", 12) != 0)
            env[k++] = environ[i];
    env[k++] = gh;
    env[k++] = probe;
    env[k] = NULL;
    planted = env;
    return env;
}

static char *joined(void)
{
    size_t len = 1;
    for (char **a = prog_argv; *a != NULL; a++)
        len += strlen(*a) + 1;
    char *s = calloc(1, len);
    if (s == NULL)
        exit(2);
    for (char **a = prog_argv; *a != NULL; a++) {
        if (a != prog_argv)
            strcat(s, " ");
        strcat(s, *a);
    }
    return s;
}

/* In a forked child: the exec call; returns only on failure. */
static void do_exec(const char *entry, char **env)
{
    const char *p = prog_argv[0];
    char **a = prog_argv;
    if (strcmp(entry, "execve") == 0)
        execve(p, a, env);
    else if (strcmp(entry, "execv") == 0)
        execv(p, a);
    else if (strcmp(entry, "execvp") == 0)
        execvp(p, a);
    else if (strcmp(entry, "execvpe") == 0)
        execvpe(p, a, env);
    else if (strcmp(entry, "execl") == 0 || strcmp(entry, "execlp") == 0 || strcmp(entry, "execle") == 0) {
        /* the list form: up to two arguments after argv[0] */
        int (*l)(const char *, const char *, ...) = entry[5] == 'p' ? execlp : entry[5] == 'e' ? execle : execl;
        char *x = a[1], *y = x != NULL ? a[2] : NULL;
        if (x == NULL)
            l(p, a[0], (char *)NULL, env);
        else if (y == NULL)
            l(p, a[0], x, (char *)NULL, env);
        else
            l(p, a[0], x, y, (char *)NULL, env);
    }
    else if (strcmp(entry, "fexecve") == 0) {
        int fd = open(p, O_RDONLY);
        if (fd < 0)
            return;
        fexecve(fd, a, env);
    } else if (strcmp(entry, "execveat") == 0) {
        char d[4096], b[4096];
        snprintf(d, sizeof d, "%s", p);
        snprintf(b, sizeof b, "%s", p);
        int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return;
        execveat(dfd, basename(b), a, env, 0);
    } else {
        errno = EINVAL;
    }
}

int main(int argc, char **argv)
{
    static char *default_prog[] = {(char *)"/usr/bin/env", NULL};
    if (argc < 2) {
        fprintf(stderr, "usage: exec-probe ENTRY [PROGRAM [ARG...]]\n");
        return 2;
    }
    if (argc > 5 && strncmp(argv[1], "execl", 5) == 0) {
        fprintf(stderr, "exec-probe: execl* take at most two arguments here\n");
        return 2;
    }
    const char *entry = argv[1];
    prog_argv = argc > 2 ? argv + 2 : default_prog;
    static char value[256] = "tok_unset";
    const char *v = getenv("VS_PROBE_VALUE");
    if (v != NULL)
        snprintf(value, sizeof value, "%s", v);
    unsetenv("VS_PROBE_VALUE"); /* the value reaches the child only under protected names */
    char **env = plant(value);
    fflush(stdout);

    if (strcmp(entry, "system") == 0) {
        char *command = joined();
        int st = system(command);
        free(command);
        if (st == -1)
            failed(errno);
        return status_of(st);
    }
    if (strcmp(entry, "popen") == 0) {
        char *command = joined();
        FILE *f = popen(command, "r");
        free(command);
        if (f == NULL)
            failed(errno);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, stdout);
        fflush(stdout);
        int st = pclose(f);
        if (st == -1)
            failed(errno);
        return status_of(st);
    }
    pid_t pid;
    if (strcmp(entry, "posix_spawn") == 0 || strcmp(entry, "posix_spawnp") == 0) {
        int rc = entry[11] == 'p' ? posix_spawnp(&pid, prog_argv[0], NULL, NULL, prog_argv, env)
                                  : posix_spawn(&pid, prog_argv[0], NULL, NULL, prog_argv, env);
        if (rc != 0)
            failed(rc);
    } else if (strcmp(entry, "vfork") == 0) {
        planted = env;
        pid = vfork();
        if (pid == 0) {
            execve(prog_argv[0], prog_argv, planted);
            _exit(errno == ENOENT ? 125 : 124);
        }
    } else {
        int pipefd[2]; /* the child's errno, when its exec fails */
        if (pipe2(pipefd, O_CLOEXEC) != 0)
            return 2;
        pid = fork();
        if (pid == 0) {
            close(pipefd[0]);
            do_exec(entry, env);
            int e = errno;
            (void)!write(pipefd[1], &e, sizeof e);
            _exit(127);
        }
        close(pipefd[1]);
        int e;
        ssize_t got = read(pipefd[0], &e, sizeof e);
        close(pipefd[0]);
        if (got == (ssize_t)sizeof e) {
            waitpid(pid, NULL, 0);
            failed(e);
        }
    }
    if (pid < 0)
        return 2;
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return 2;
    return status_of(st);
}
