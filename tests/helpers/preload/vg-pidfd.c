/* For `make valgrind` only: valgrind 3.19 (Debian 12) does not know the
 * pidfd_send_signal system call (424), so under memcheck every peer check
 * of vaultd failed with ENOSYS and no grant path ran. Preloaded into vaultd
 * under valgrind, this answers that one call the way the kernel does for
 * signal 0 on a live or dead process: the pid behind the pidfd comes from
 * /proc/self/fdinfo ("Pid: -1" once it has exited), then kill(pid, sig).
 * (It loses pidfd's guarantee against pid reuse: a test tool, never
 * shipped.) Every other syscall() goes to libc unchanged. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/types.h>

#define PIDFD_SEND_SIGNAL 424

static long pidfd_send_signal_emulated(int pidfd, int sig)
{
    char path[64], line[128];
    (void)snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        errno = EBADF;
        return -1;
    }
    long pid = 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = sscanf(line, "Pid: %ld", &pid) == 1;
    (void)fclose(f);
    if (!found) {
        errno = EBADF; /* not a pidfd */
        return -1;
    }
    if (pid <= 0) {
        errno = ESRCH;
        return -1;
    }
    return kill((pid_t)pid, sig);
}

long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == PIDFD_SEND_SIGNAL)
        return pidfd_send_signal_emulated((int)a[0], (int)a[1]);
    static long (*real)(long, ...);
    if (real == NULL)
        real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
