/* Test helper: many threads read the environment and managed files while
 * the main thread forks and spawns. Under the shim it must finish (no
 * deadlock, no crash) and every answer must agree with the first: a
 * protected name is either always absent (outside a grant) or always the
 * same value (inside one); a managed file always missing or always the
 * same bytes. Prints only counts and "consistent" / "INCONSISTENT".
 * usage: thread-stress NAME PATH THREADS SECONDS */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *name, *path;
static double seconds;
static _Atomic int bad;
static _Atomic long calls;
static char first_value[256];
static int first_present;
static long long first_size;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The file's size through open+read, or -1 when it does not open. */
static long long file_size(void)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    long long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += n;
    close(fd);
    return total;
}

static void check_once(void)
{
    const char *v = getenv(name);
    if ((v != NULL) != first_present || (v != NULL && strcmp(v, first_value) != 0))
        bad = 1;
    struct stat st;
    int s = stat(path, &st);
    long long size = file_size();
    if (size != first_size || (s == 0) != (first_size >= 0) || (s == 0 && st.st_size != size))
        bad = 1;
    calls++;
}

static void *worker(void *arg)
{
    (void)arg;
    double end = now() + seconds;
    while (now() < end && !bad)
        check_once();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    name = argv[1];
    path = argv[2];
    int nthreads = atoi(argv[3]);
    seconds = atof(argv[4]);
    const char *v = getenv(name);
    first_present = v != NULL;
    if (v != NULL)
        snprintf(first_value, sizeof first_value, "%s", v);
    first_size = file_size();
    pthread_t *threads = calloc((size_t)nthreads, sizeof *threads);
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&threads[i], NULL, worker, NULL) != 0)
            return 2;
    int forks = 0, spawns = 0;
    double end = now() + seconds;
    while (now() < end) {
        pid_t pid = fork();
        if (pid == 0) {
            check_once(); /* the child's view agrees too, and it does not hang */
            _exit(bad ? 1 : 0);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad = 1;
        forks++;
        char *args[] = {"/bin/true", NULL};
        if (posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ) == 0 && waitpid(pid, &st, 0) == pid)
            spawns++;
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    printf("threads %d calls %ld forks %d spawns %d present %d file %s: %s\n", nthreads, (long)calls, forks, spawns,
           first_present, first_size >= 0 ? "served" : "missing", bad ? "INCONSISTENT" : "consistent");
    return bad ? 1 : 0;
}
