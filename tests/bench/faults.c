/* faults N PRELOAD... : minor page faults of /bin/true (from execve to
 * exit, the loader included), under each PRELOAD ("" = none), measured
 * with wait4's rusage over N runs per preload, interleaved. Prints
 * "PRELOAD mean min max". Compiled by tests/bench/startup.sh. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static long run(const char *preload)
{
    char var[4096];
    char *env[64];
    size_t n = 0;
    for (char **e = environ; *e != NULL && n < 62; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0)
            env[n++] = *e;
    if (preload[0] != '\0') {
        if ((size_t)snprintf(var, sizeof var, "LD_PRELOAD=%s", preload) >= sizeof var)
            return -1;
        env[n++] = var;
    }
    env[n] = NULL;
    char *argv[] = {"/bin/true", NULL};
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execve(argv[0], argv, env);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return ru.ru_minflt + ru.ru_majflt;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: faults N PRELOAD...\n");
        return 2;
    }
    long rounds = strtol(argv[1], NULL, 10);
    int k = argc - 2;
    long sum[16] = {0}, lo[16], hi[16] = {0};
    if (k > 16 || rounds <= 0)
        return 2;
    for (int j = 0; j < k; j++)
        lo[j] = 1L << 30;
    for (long r = 0; r < rounds; r++)
        for (int j = 0; j < k; j++) {
            long f = run(argv[2 + j]);
            if (f < 0) {
                fprintf(stderr, "faults: /bin/true under %s failed\n", argv[2 + j]);
                return 1;
            }
            sum[j] += f;
            lo[j] = f < lo[j] ? f : lo[j];
            hi[j] = f > hi[j] ? f : hi[j];
        }
    for (int j = 0; j < k; j++)
        printf("%s %.1f %ld %ld\n", argv[2 + j][0] ? argv[2 + j] : "bare", (double)sum[j] / rounds, lo[j], hi[j]);
    return 0;
}
