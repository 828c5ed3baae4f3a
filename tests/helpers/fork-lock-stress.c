/* Test helper: threads run popen/pclose and system while the main thread
 * forks, and every child runs popen and system itself before it exits.
 * The shim's popen and system take locks, held across fork once used
 * (shim/forklock.h); a child left a lock held by a thread it does not have
 * would hang in its own popen. The first forks race the threads' first use
 * of each lock. Each child has an alarm, so a hung one dies and counts as
 * failed; the run is bounded by FORKS.
 * Prints counts and "ok" or "FAILED".
 * usage: fork-lock-stress THREADS FORKS */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_bool stop;
static atomic_long thread_calls;

/* 0 when popen, pclose and system all ran "exit 0" and said so. */
static int run_both(void)
{
    FILE *f = popen("exit 0", "r");
    if (f == NULL || pclose(f) != 0)
        return -1;
    return system("exit 0") == 0 ? 0 : -1;
}

static void *worker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        if (run_both() != 0)
            fprintf(stderr, "fork-lock-stress: a thread's popen or system failed\n");
        atomic_fetch_add(&thread_calls, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fork-lock-stress THREADS FORKS\n");
        return 2;
    }
    int nthreads = atoi(argv[1]), nforks = atoi(argv[2]);
    if (nthreads < 1 || nthreads > 64 || nforks < 1 || nforks > 100000) {
        fprintf(stderr, "fork-lock-stress: THREADS 1-64, FORKS 1-100000\n");
        return 2;
    }
    pthread_t th[64];
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "fork-lock-stress: pthread_create failed\n");
            return 2;
        }
    int failed = 0;
    for (int i = 0; i < nforks; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            failed++;
            continue;
        }
        if (pid == 0) {
            alarm(20); /* a child that hangs on a lock dies, and is counted */
            _exit(run_both() == 0 ? 0 : 1);
        }
        int status;
        pid_t w;
        do
            w = waitpid(pid, &status, 0);
        while (w < 0 && errno == EINTR);
        if (w != pid) {
            failed++;
            continue;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    atomic_store(&stop, true);
    for (int i = 0; i < nthreads; i++)
        (void)pthread_join(th[i], NULL);
    printf("threads %d thread-calls %ld forks %d failed %d: %s\n", nthreads, (long)atomic_load(&thread_calls),
           nforks, failed, failed == 0 ? "ok" : "FAILED");
    return failed == 0 ? 0 : 1;
}
