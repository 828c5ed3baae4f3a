/* faults N PRELOAD... : page faults and CPU time of /bin/true (from fork
 * to exit, the loader included), under each PRELOAD ("" = none), from
 * wait4's rusage over N runs per preload, interleaved. CPU time (user +
 * system) does not count the time the child waits for a CPU, so on a
 * loaded machine it is steadier than wall time. Prints "PRELOAD faults:
 * mean min max  cpu_us: median". Built by make bench (tests/bench/bench.mk) and by
 * tests/bench/startup.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static long run(const char *preload, double *cpu_us)
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
    *cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    return ru.ru_minflt + ru.ru_majflt;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
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
    if (k > 16 || rounds <= 0 || rounds > 100000)
        return 2;
    double *cpu = calloc((size_t)(k * rounds), sizeof *cpu);
    if (cpu == NULL)
        return 1;
    for (int j = 0; j < k; j++)
        lo[j] = 1L << 30;
    for (long r = 0; r < rounds; r++)
        for (int j = 0; j < k; j++) {
            long f = run(argv[2 + j], &cpu[j * rounds + r]);
            if (f < 0) {
                fprintf(stderr, "faults: /bin/true under %s failed\n", argv[2 + j]);
                return 1;
            }
            sum[j] += f;
            lo[j] = f < lo[j] ? f : lo[j];
            hi[j] = f > hi[j] ? f : hi[j];
        }
    for (int j = 0; j < k; j++) {
        qsort(cpu + j * rounds, (size_t)rounds, sizeof *cpu, cmp_double);
        printf("%s faults: %.1f %ld %ld  cpu_us: %.1f\n", argv[2 + j][0] ? argv[2 + j] : "bare",
               (double)sum[j] / rounds, lo[j], hi[j], cpu[j * rounds + rounds / 2]);
    }
    free(cpu);
    return 0;
}
