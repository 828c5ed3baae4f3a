/* Can vaultd inspect a process that is already non-dumpable? Then a tool
 * may make itself non-dumpable before it asks and get its values in one
 * round trip (GRANTS with ONE_STEP); else it must ask while dumpable and
 * confirm after (GRANTS, then CONFIRM). Capabilities alone do not answer
 * it (an LSM, hidepid, a user namespace may each forbid the reads), so it
 * is found by trying, once at start-up before any key is loaded, on a
 * child made non-dumpable: the reads a grant makes (exe, maps, environ). */
#include "peer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool one_step;

static bool reads_one_byte(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    char c;
    bool ok = read(fd, &c, 1) == 1;
    (void)close(fd);
    return ok;
}

/* The child's /proc files, once it said it is non-dumpable. */
static bool inspectable(pid_t pid)
{
    char path[64];
    int n = snprintf(path, sizeof path, "/proc/%d", (int)pid);
    if (n < 0 || (size_t)n >= sizeof path)
        return false;
    int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return false;
    struct stat exe, maps;
    bool ok = fstatat(dirfd, "maps", &maps, 0) == 0 && maps.st_uid == 0 && /* non-dumpable took */
              fstatat(dirfd, "exe", &exe, 0) == 0 && reads_one_byte(dirfd, "maps") &&
              reads_one_byte(dirfd, "environ");
    (void)close(dirfd);
    return ok;
}

bool vs_peer_probe_one_step(void)
{
    int ready[2], hold[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        return one_step = false;
    if (pipe2(hold, O_CLOEXEC) != 0) {
        (void)close(ready[0]);
        (void)close(ready[1]);
        return one_step = false;
    }
    pid_t pid = fork();
    if (pid == 0) { /* async-signal-safe calls only */
        char c = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 'y' : 'n';
        (void)close(ready[0]);
        (void)close(hold[1]);
        if (write(ready[1], &c, 1) == 1 && read(hold[0], &c, 1) < 0) /* until the parent closes its end */
            _exit(1);
        _exit(0);
    }
    (void)close(ready[1]);
    (void)close(hold[0]);
    char c = 'n';
    bool ok = pid > 0 && read(ready[0], &c, 1) == 1 && c == 'y' && inspectable(pid);
    (void)close(ready[0]);
    (void)close(hold[1]); /* the child reads EOF and exits */
    if (pid > 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    return one_step = ok;
}

bool vs_peer_one_step(void)
{
    return one_step;
}
