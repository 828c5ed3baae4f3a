/* make bench harness: timings of the shim and vaultd, each a median of
 * interleaved runs (A B A B ...) so that drift of a shared machine cancels.
 *
 *   vsbench exec N SHIM EMPTY          fork+exec+exit of /bin/true, N times per
 *                                      variant (bare, empty preload, shim)
 *   vsbench cmd R SHIM EMPTY -- ARGV   a whole command, R runs per variant
 *   vsbench pair R -- A... -- B...     two commands interleaved, R runs each
 *   vsbench multi R :: A... :: B... ...  up to 8 commands interleaved (labels
 *                                      0, 1, 2...), R runs each; "::" parts
 *                                      them, so a command may hold "--"
 *   vsbench micro                      (child) ns/call of getenv, open+close, stat
 *   vsbench microrun R SHIM            micro bare and with the shim, R runs each
 *   vsbench grant K M                  K concurrent clients, M grants each:
 *                                      connect, GRANTS (ONE_STEP where the
 *                                      index allows it, else then CONFIRM),
 *                                      values in hand; VSBENCH_STEPS=2
 *                                      forces two steps, VSBENCH_STEPS=1 one
 *                                      (for vsbench-floor, which has no index)
 *
 * Output lines: "KEY value..." with times in microseconds (ns for micro),
 * read by run.sh. Exit 0, or 1 on an error (printed to stderr). */
#include "client.h"
#include "error.h"
#include "index.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        perror("vsbench");
        exit(1);
    }
    return p;
}

/* environ without LD_PRELOAD, plus LD_PRELOAD=preload when given. */
static char **make_env(const char *preload)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = xcalloc(n + 2, sizeof *env);
    size_t out = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
            env[out++] = environ[i];
    if (preload != NULL) {
        size_t len = strlen(preload) + 12;
        char *e = xcalloc(len, 1);
        (void)snprintf(e, len, "LD_PRELOAD=%s", preload);
        env[out++] = e;
    }
    env[out] = NULL;
    return env;
}

/* Runs argv with env, waits; returns the wall time in µs (negative on
 * failure) and sets *cpu to the CPU time (user + system) of the whole tree:
 * wait4's usage counts every descendant the command itself waited for.
 * CPU time does not count time spent waiting for a CPU, so it moves far
 * less than wall time on a shared machine. */
static double run_once(char *const *argv, char **env, int quiet, double *cpu)
{
    double t0 = now_us();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                (void)dup2(fd, 1);
                (void)close(fd);
            }
        }
        execve(argv[0], argv, env);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    double t = now_us() - t0;
    *cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "vsbench: %s exited with status %d\n", argv[0], status);
        return -1;
    }
    return t;
}

/* Interleaved runs of nv variants (argv_v[i] with env_v[i]), r rounds;
 * prints "KEY LABEL median-wall" and "KEYcpu LABEL median-cpu" per variant. */
static int interleave(size_t r, size_t nv, char *const *const *argv_v, char ***env_v, const char *const *label,
                      const char *key)
{
    double **t = xcalloc(nv, sizeof *t), **c = xcalloc(nv, sizeof *c);
    for (size_t v = 0; v < nv; v++) {
        t[v] = xcalloc(r, sizeof **t);
        c[v] = xcalloc(r, sizeof **c);
    }
    for (size_t i = 0; i < r; i++)
        for (size_t k = 0; k < nv; k++) {
            size_t v = (i + k) % nv; /* rotate the order too */
            t[v][i] = run_once(argv_v[v], env_v[v], 1, &c[v][i]);
            if (t[v][i] < 0)
                return 1;
        }
    for (size_t v = 0; v < nv; v++)
        printf("%s %s %.2f\n", key, label[v], pct(t[v], r, 0.5));
    for (size_t v = 0; v < nv; v++)
        printf("%scpu %s %.2f\n", key, label[v], pct(c[v], r, 0.5));
    return 0;
}

static int cmd_exec(size_t n, const char *shim, const char *empty, char **argv)
{
    char *dflt[] = {"/bin/true", NULL};
    char *const *a = argv != NULL && argv[0] != NULL ? argv : dflt;
    char *const *av[] = {a, a, a};
    char **ev[] = {make_env(NULL), make_env(empty), make_env(shim)};
    const char *const label[] = {"bare", "empty", "shim"};
    return interleave(n, 3, av, ev, label, "exec");
}

/* ---- in-process micro benchmarks (run bare or under the shim) ---- */

static volatile uintptr_t sink;

static double per_call_ns(int what, size_t iters, const char *path)
{
    struct stat st;
    double t0 = now_us();
    for (size_t i = 0; i < iters; i++) {
        switch (what) {
        case 0: sink += (uintptr_t)getenv("HOME"); break;
        case 1: sink += (uintptr_t)getenv("VSBENCH_NOT_SET_ANYWHERE"); break;
        case 2: {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            sink += (uintptr_t)fd;
            if (fd >= 0)
                (void)close(fd);
            break;
        }
        case 3: sink += (uintptr_t)stat(path, &st); break;
        }
    }
    return (now_us() - t0) * 1000.0 / (double)iters;
}

static int cmd_micro(void)
{
    const char *path = "/etc/hostname";
    static const char *const names[] = {"getenv_unprotected", "getenv_missing", "open_close", "stat"};
    static const size_t iters[] = {4000000, 4000000, 200000, 400000};
    for (int w = 0; w < 4; w++) {
        (void)per_call_ns(w, iters[w] / 10, path); /* warm up */
        double best[5];
        for (int k = 0; k < 5; k++)
            best[k] = per_call_ns(w, iters[w] / 5, path);
        printf("micro %s %.2f\n", names[w], pct(best, 5, 0.5));
    }
    return 0;
}

static int cmd_microrun(size_t r, const char *shim)
{
    static const char *const names[] = {"getenv_unprotected", "getenv_missing", "open_close", "stat"};
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    char **ev[] = {make_env(NULL), make_env(shim)};
    double *t[2][4];
    for (int v = 0; v < 2; v++)
        for (int w = 0; w < 4; w++)
            t[v][w] = xcalloc(r, sizeof(double));
    for (size_t i = 0; i < r; i++)
        for (int k = 0; k < 2; k++) {
            int v = (int)((i + (size_t)k) % 2);
            int p[2];
            if (pipe(p) != 0)
                return 1;
            pid_t pid = fork();
            if (pid == 0) {
                (void)dup2(p[1], 1);
                (void)close(p[0]);
                (void)close(p[1]);
                char *av[] = {self, "micro", NULL};
                execve(self, av, ev[v]);
                _exit(127);
            }
            (void)close(p[1]);
            FILE *f = fdopen(p[0], "r");
            char line[256], name[64];
            double val;
            int got = 0;
            while (f != NULL && fgets(line, sizeof line, f) != NULL)
                if (sscanf(line, "micro %63s %lf", name, &val) == 2)
                    for (int w = 0; w < 4; w++)
                        if (strcmp(name, names[w]) == 0) {
                            t[v][w][i] = val;
                            got++;
                        }
            if (f != NULL)
                fclose(f);
            int status;
            (void)waitpid(pid, &status, 0);
            if (got != 4) {
                fprintf(stderr, "vsbench: micro run failed\n");
                return 1;
            }
        }
    for (int w = 0; w < 4; w++)
        printf("micro %s %.2f %.2f\n", names[w], pct(t[0][w], r, 0.5), pct(t[1][w], r, 0.5));
    return 0;
}

/* ---- grants: K concurrent client processes, M grants each ---- */

/* As the shim asks: GRANTS with ONE_STEP where the index says vaultd
 * can inspect a non-dumpable process (we are one from the start), else
 * GRANTS then CONFIRM. */
static int one_grant(const char *sock, bool one_step, int *nvalues)
{
    static uint8_t frame[VS_PROTO_MAX_FRAME + 1], reply[VS_PROTO_MAX_FRAME + 1];
    struct vs_msg m = {.op = 0};
    struct vs_msg_writer w;
    size_t len;
    int fd = vs_client_connect_within(sock, 15000); /* the shim's bound */
    if (fd < 0)
        return -1;
    vs_msg_begin(&w, frame, sizeof frame, VS_OP_GRANTS, 1);
    if (one_step)
        (void)vs_msg_put_u32(&w, VS_F_ONE_STEP, 1);
    int rc = vs_msg_finish(&w, &len);
    if (rc == 0)
        rc = vs_client_call(fd, frame, len, reply, sizeof reply, &m);
    if (rc == 0 && !one_step)
        rc = vs_client_simple(fd, VS_OP_CONFIRM, reply, sizeof reply, &m);
    if (rc == 0 && m.op != VS_OP_GRANT_LIST)
        rc = VS_EPROTO;
    if (rc == 0) {
        size_t cursor = 0;
        struct vs_grant_ref g;
        *nvalues = 0;
        while (vs_msg_next_grant(&m, &cursor, &g) == 0)
            (*nvalues)++;
    } else if (m.op == VS_OP_ERROR) {
        char reason[1024] = "";
        int code = rc;
        (void)vs_msg_get_error(&m, &code, reason, sizeof reason);
        fprintf(stderr, "vsbench: grant refused: %s\n", reason);
    }
    memset(reply, 0, sizeof reply);
    (void)close(fd);
    return rc;
}

static int cmd_grant(size_t k, size_t m, bool full)
{
    char sock[128];
    if (vs_socket_path(sock, sizeof sock) != 0)
        return 1;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return 1;
    /* VSBENCH_STEPS=2 asks in two steps even where one would do. */
    char index_path[160];
    struct vs_index idx;
    const char *slash = strrchr(sock, '/');
    int n = slash != NULL ? snprintf(index_path, sizeof index_path, "%.*s/%s", (int)(slash - sock), sock, VS_INDEX_NAME) : -1;
    const char *steps = getenv("VSBENCH_STEPS");
    bool one_step = n > 0 && (size_t)n < sizeof index_path && vs_index_map(index_path, &idx) == 0 &&
                    (idx.flags & VS_INDEX_F_ONE_STEP) != 0 && !(steps != NULL && strcmp(steps, "2") == 0);
    if (steps != NULL && strcmp(steps, "1") == 0) /* vsbench-floor publishes no index */
        one_step = true;
    fprintf(stderr, "vsbench: grants in %s\n", one_step ? "one step" : "two steps");
    double *lat = mmap(NULL, k * m * sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile int *go = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (lat == MAP_FAILED || go == MAP_FAILED)
        return 1;
    pid_t *pids = xcalloc(k, sizeof *pids);
    for (size_t c = 0; c < k; c++) {
        pids[c] = fork();
        if (pids[c] == 0) {
            while (!*go)
                usleep(100);
            for (size_t i = 0; i < m; i++) {
                int nv = 0;
                double t0 = now_us();
                if (one_grant(sock, one_step, &nv) != 0 || nv < 1)
                    _exit(1);
                lat[c * m + i] = now_us() - t0;
            }
            _exit(0);
        }
    }
    usleep(20000);
    double t0 = now_us();
    *go = 1;
    int failed = 0;
    for (size_t c = 0; c < k; c++) {
        int status = 0;
        (void)waitpid(pids[c], &status, 0);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    double wall = now_us() - t0;
    if (failed) {
        fprintf(stderr, "vsbench: a grant client failed\n");
        return 1;
    }
    /* go is set after a 20 ms nap: the clients' first wake-up is in the wall
     * time, not in the latencies. */
    printf("grant %zu p50 %.1f p99 %.1f rate %.0f\n", k, pct(lat, k * m, 0.5), pct(lat, k * m, 0.99),
           (double)(k * m) / (wall / 1e6));
    /* full: a second line for tests/bench/load.sh (the first stays as
     * run.sh reads it) */
    if (full)
        printf("latency_us p50 %.1f p90 %.1f p99 %.1f p999 %.1f max %.1f grants %zu wall_s %.1f\n", pct(lat, k * m, 0.5),
               pct(lat, k * m, 0.9), pct(lat, k * m, 0.99), pct(lat, k * m, 0.999), pct(lat, k * m, 1.0), k * m,
               wall / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "micro") == 0)
        return cmd_micro();
    if (argc >= 5 && strcmp(argv[1], "exec") == 0)
        return cmd_exec(strtoul(argv[2], NULL, 10), argv[3], argv[4], argc > 6 ? argv + 6 : NULL);
    if (argc >= 4 && strcmp(argv[1], "calls") == 0) {
        /* calls WHAT N: N calls of one micro operation, for callgrind */
        unsigned long what = strtoul(argv[2], NULL, 10);
        if (what > 3)
            return 2;
        (void)per_call_ns((int)what, strtoul(argv[3], NULL, 10), "/etc/hostname");
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "microrun") == 0)
        return cmd_microrun(strtoul(argv[2], NULL, 10), argv[3]);
    if (argc >= 4 && strcmp(argv[1], "grant") == 0)
        return cmd_grant(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10),
                         argc >= 5 && strcmp(argv[4], "full") == 0);
    if (argc >= 6 && strcmp(argv[1], "pair") == 0) {
        /* pair R -- A... -- B... */
        char **a = argv + 4, **b = NULL;
        for (int i = 4; i < argc; i++)
            if (strcmp(argv[i], "--") == 0) {
                argv[i] = NULL;
                b = argv + i + 1;
                break;
            }
        if (b == NULL || b[0] == NULL)
            return 2;
        char *const *av[] = {a, b};
        char **ev[] = {environ, environ};
        const char *const label[] = {"a", "b"};
        return interleave(strtoul(argv[2], NULL, 10), 2, av, ev, label, "pair");
    }
    if (argc >= 6 && strcmp(argv[1], "multi") == 0 && strcmp(argv[3], "::") == 0) {
        /* multi R :: A... :: B... :: C... */
        enum { MAX_VARIANTS = 8 };
        char *const *av[MAX_VARIANTS];
        char **ev[MAX_VARIANTS];
        static const char *const label[MAX_VARIANTS] = {"0", "1", "2", "3", "4", "5", "6", "7"};
        size_t nv = 0;
        for (int i = 3; i < argc; i++)
            if (strcmp(argv[i], "::") == 0) {
                argv[i] = NULL;
                if (i + 1 >= argc || strcmp(argv[i + 1], "::") == 0 || nv == MAX_VARIANTS)
                    return 2;
                ev[nv] = environ;
                av[nv++] = argv + i + 1;
            }
        return interleave(strtoul(argv[2], NULL, 10), nv, av, ev, label, "multi");
    }
    fprintf(stderr, "usage: vsbench exec N SHIM EMPTY [-- ARGV] | microrun R SHIM | calls WHAT N | grant K M [full] | pair R -- A -- B"
                    " | multi R :: A :: B [:: C...]\n");
    return 2;
}
