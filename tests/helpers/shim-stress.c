/* Test helper for tests/integration/shim_stress.sh: programs that do what
 * ordinary programs do and a preloaded library can get wrong. It prints
 * only presence, sha256 digests and counts, never a value.
 *
 *   shim-stress report NAME PATH     getenv(NAME), the bytes of PATH, fd count
 *   shim-stress ctor NAME            a constructor of priority 101 of this
 *                                    program reads NAME; main reads it again
 *   shim-stress closefds HOW NAME PATH
 *                                    HOW closefrom or close_range: closes
 *                                    every fd from 3 at start, opens a
 *                                    decoy file (which takes the lowest
 *                                    free numbers, those the shim's fds
 *                                    had), then reads NAME and PATH twice;
 *                                    the decoy must be untouched
 *   shim-stress forkenv NAME PATH    fork without exec: the child's answers
 *                                    must equal the parent's
 *   shim-stress vfork NAME PATH      vfork + execv of "report"
 *   shim-stress chain N NAME PATH    execs itself N times (N counts down in
 *                                    argv), then reports; fds and
 *                                    environment size of the last image
 *                                    against the first
 * Exit 0 when the answers are consistent, 1 otherwise, 2 on usage. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char ctor_answer[128];

static void digest(const void *data, size_t len, char *hex, size_t cap)
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, data, len);
    sodium_bin2hex(hex, cap, d, sizeof d);
}

/* "absent" or "sha256:HEX" for getenv(name) */
static void env_answer(const char *name, char *out, size_t cap)
{
    const char *v = getenv(name);
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    if (v == NULL) {
        (void)snprintf(out, cap, "absent");
        return;
    }
    digest(v, strlen(v), hex, sizeof hex);
    (void)snprintf(out, cap, "sha256:%s", hex);
}

/* "missing", "sha256:HEX/LEN" for the bytes open+read gives, plus whether
 * stat agrees on the size */
static void file_answer(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        (void)snprintf(out, cap, "missing(%s)", errno == ENOENT ? "ENOENT" : strerror(errno));
        return;
    }
    static char buf[1 << 16];
    size_t have = 0;
    ssize_t n;
    while (have < sizeof buf && (n = read(fd, buf + have, sizeof buf - have)) > 0)
        have += (size_t)n;
    close(fd);
    struct stat st;
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    digest(buf, have, hex, sizeof hex);
    (void)snprintf(out, cap, "sha256:%s/%zu%s", hex, have,
                   stat(path, &st) == 0 && (size_t)st.st_size == have ? "" : "/stat-disagrees");
}

/* open fds among the first 1024 (fstat: no fd of its own, unlike a
 * listing of /proc/self/fd) */
static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0)
            n++;
    }
    return n;
}

static size_t env_bytes(void)
{
    size_t n = 0;
    for (char **e = environ; *e != NULL; e++)
        n += strlen(*e) + 1;
    return n;
}

static void report(const char *name, const char *path)
{
    char e[128], f[160];
    env_answer(name, e, sizeof e);
    file_answer(path, f, sizeof f);
    printf("env %s file %s fds %d\n", e, f, count_fds());
}

__attribute__((constructor(101))) static void early(void)
{
    /* argv is not known here: the name comes from the environment */
    const char *name = getenv("VS_STRESS_NAME");
    if (name != NULL)
        env_answer(name, ctor_answer, sizeof ctor_answer);
}

static int cmd_ctor(const char *name)
{
    char now[128];
    env_answer(name, now, sizeof now);
    printf("ctor %s main %s: %s\n", ctor_answer, now, strcmp(ctor_answer, now) == 0 ? "same" : "DIFFERENT");
    return strcmp(ctor_answer, now) == 0 ? 0 : 1;
}

static int cmd_closefds(const char *how, const char *name, const char *path)
{
    char e1[128], f1[160], e2[128], f2[160];
    /* answers before, so the shim has its fds (socket, memfd) open */
    env_answer(name, e1, sizeof e1);
    file_answer(path, f1, sizeof f1);
    int rc;
    if (strcmp(how, "closefrom") == 0) {
        closefrom(3);
        rc = 0;
    } else {
        rc = (int)syscall(SYS_close_range, 3U, ~0U, 0U);
    }
    if (rc != 0)
        return 2;
    /* decoys take the numbers the shim's fds had */
    char decoy[] = "/tmp/vs-decoy.XXXXXX";
    int d[4];
    for (int i = 0; i < 4; i++) {
        d[i] = i == 0 ? mkstemp(decoy) : open(decoy, O_RDONLY | O_CLOEXEC);
        if (d[i] < 0)
            return 2;
    }
    static const char content[] = "decoy content\n";
    if (write(d[0], content, sizeof content - 1) != (ssize_t)(sizeof content - 1))
        return 2;
    env_answer(name, e2, sizeof e2);
    file_answer(path, f2, sizeof f2);
    char again[160];
    file_answer(path, again, sizeof again);
    struct stat st;
    int untouched = fstat(d[0], &st) == 0 && st.st_size == (off_t)(sizeof content - 1);
    char buf[64] = "";
    ssize_t n = pread(d[0], buf, sizeof buf - 1, 0);
    untouched = untouched && n == (ssize_t)(sizeof content - 1) && memcmp(buf, content, (size_t)n) == 0;
    (void)unlink(decoy);
    int same_env = strcmp(e1, e2) == 0;
    printf("before env %s file %s\nafter env %s file %s again %s\ndecoy %s fds %d\n", e1, f1, e2, f2, again,
           untouched ? "untouched" : "WRITTEN", count_fds());
    return same_env && untouched && strcmp(f2, again) == 0 ? 0 : 1;
}

static int cmd_forkenv(const char *name, const char *path)
{
    char e[128], f[160];
    env_answer(name, e, sizeof e);
    file_answer(path, f, sizeof f);
    int p[2];
    if (pipe(p) != 0)
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        char ce[128], cf[160], line[320];
        env_answer(name, ce, sizeof ce);
        file_answer(path, cf, sizeof cf);
        int len = snprintf(line, sizeof line, "%s %s", ce, cf);
        _exit(write(p[1], line, (size_t)len) == len ? 0 : 1);
    }
    close(p[1]);
    char got[320] = "";
    ssize_t n = read(p[0], got, sizeof got - 1);
    got[n > 0 ? n : 0] = '\0';
    int st = 0;
    (void)waitpid(pid, &st, 0);
    char want[320];
    (void)snprintf(want, sizeof want, "%s %s", e, f);
    printf("parent %s\nchild  %s\n%s\n", want, got, strcmp(want, got) == 0 ? "same" : "DIFFERENT");
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && strcmp(want, got) == 0 ? 0 : 1;
}

static int cmd_vfork(const char *name, const char *path)
{
    char *args[] = {"shim-stress", "report", (char *)name, (char *)path, NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* chain N NAME PATH [FDS ENVBYTES]: the first image records its fd count
 * and environment size in argv; every image execs the next. */
static int cmd_chain(int argc, char **argv)
{
    long left = strtol(argv[2], NULL, 10);
    char fds[16], bytes[32], next[24];
    if (argc < 7) {
        (void)snprintf(fds, sizeof fds, "%d", count_fds());
        (void)snprintf(bytes, sizeof bytes, "%zu", env_bytes());
    } else {
        (void)snprintf(fds, sizeof fds, "%s", argv[5]);
        (void)snprintf(bytes, sizeof bytes, "%s", argv[6]);
    }
    if (left > 0) {
        (void)snprintf(next, sizeof next, "%ld", left - 1);
        char *args[] = {argv[0], "chain", next, argv[3], argv[4], fds, bytes, NULL};
        execv("/proc/self/exe", args);
        perror("shim-stress: execv");
        return 1;
    }
    int now_fds = count_fds();
    size_t now_bytes = env_bytes();
    report(argv[3], argv[4]);
    printf("first fds %s env %s bytes; last fds %d env %zu bytes: %s\n", fds, bytes, now_fds, now_bytes,
           atoi(fds) == now_fds && strtoul(bytes, NULL, 10) == now_bytes ? "same" : "DIFFERENT");
    return atoi(fds) == now_fds && strtoul(bytes, NULL, 10) == now_bytes ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "report") == 0) {
        report(argv[2], argv[3]);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "ctor") == 0)
        return cmd_ctor(argv[2]);
    if (argc == 5 && strcmp(argv[1], "closefds") == 0)
        return cmd_closefds(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "forkenv") == 0)
        return cmd_forkenv(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "vfork") == 0)
        return cmd_vfork(argv[2], argv[3]);
    if ((argc == 5 || argc == 7) && strcmp(argv[1], "chain") == 0)
        return cmd_chain(argc, argv);
    fprintf(stderr, "usage: shim-stress report|ctor|closefds|forkenv|vfork|chain ...\n");
    return 2;
}
