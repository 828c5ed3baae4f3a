/* vs_sys(NR, args...): a system call without libc's syscall(2).
 *
 * Why: the shim exports its own syscall() hook (stat.c), so a call to
 * syscall() from inside the shim binds to that hook, not to libc's: it
 * re-enters the managed-path check and resolves the real syscall with
 * dlsym. vs_sys is inline, touches nothing but errno, and is safe in a
 * vfork child and in a constructor. Returns the result, or -1 with errno
 * set, like syscall(2). Other architectures use libc's syscall(2).
 *
 * vs_sys_raw(NR, args...): the same call with errno untouched: the result,
 * or -errno. For the exec hooks, which leave errno as they found it and,
 * between fork and exec, should run no libc page they need not (each one
 * faults in again in the child). */
#ifndef VS_RAWSYS_H
#define VS_RAWSYS_H

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline long vs_sys6_raw(long n, long a, long b, long c, long d, long e, long f)
{
    long r;
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    r = x0;
#else
    int saved = errno;
    r = syscall(n, a, b, c, d, e, f);
    if (r == -1) {
        r = -errno;
        errno = saved;
    }
#endif
    return r;
}

static inline long vs_sys6(long n, long a, long b, long c, long d, long e, long f)
{
    long r = vs_sys6_raw(n, a, b, c, d, e, f);
    if ((unsigned long)r > -4096UL) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

#define VS_SYS_PICK_(n, a, b, c, d, e, f, ...)                                                   \
    vs_sys6((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define vs_sys(...) VS_SYS_PICK_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)
#define VS_SYS_RAW_PICK_(n, a, b, c, d, e, f, ...)                                               \
    vs_sys6_raw((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define vs_sys_raw(...) VS_SYS_RAW_PICK_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

/* Named calls in place of libc's plain wrappers (same results, same errno).
 * Under -z now the loader binds every symbol the shim imports at each
 * process start, about 0.25 us apiece here; these import nothing. They are
 * not cancellation points, which a library's internal calls need not be. */
static inline int vs_close(int fd) { return (int)vs_sys(SYS_close, fd); }
static inline ssize_t vs_read(int fd, void *buf, size_t n) { return vs_sys(SYS_read, fd, buf, n); }
static inline ssize_t vs_write(int fd, const void *buf, size_t n) { return vs_sys(SYS_write, fd, buf, n); }
static inline int vs_socket(int domain, int type, int protocol)
{
    return (int)vs_sys(SYS_socket, domain, type, protocol);
}
static inline int vs_connect(int fd, const void *addr, socklen_t len)
{
    return (int)vs_sys(SYS_connect, fd, addr, len);
}
static inline int vs_setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
    return (int)vs_sys(SYS_setsockopt, fd, level, name, value, len);
}
static inline ssize_t vs_send(int fd, const void *buf, size_t n, int flags)
{
    return vs_sys(SYS_sendto, fd, buf, n, flags, NULL, 0);
}
static inline ssize_t vs_recv(int fd, void *buf, size_t n, int flags)
{
    return vs_sys(SYS_recvfrom, fd, buf, n, flags, NULL, NULL);
}
/* struct stat is the kernel's layout on x86-64 and aarch64 (vs_sys's own
 * architectures); elsewhere vs_sys is libc's syscall(2) and this is too. */
static inline int vs_fstat(int fd, struct stat *st)
{
    return (int)vs_sys(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
}
static inline int vs_fchmod(int fd, mode_t mode) { return (int)vs_sys(SYS_fchmod, fd, mode); }
static inline int vs_fcntl(int fd, int cmd, long arg) { return (int)vs_sys(SYS_fcntl, fd, cmd, arg); }
static inline void *vs_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return (void *)vs_sys(SYS_mmap, addr, len, prot, flags, fd, off); /* -1 is MAP_FAILED */
}
static inline int vs_munmap(void *addr, size_t len) { return (int)vs_sys(SYS_munmap, addr, len); }
static inline int vs_madvise(void *addr, size_t len, int advice)
{
    return (int)vs_sys(SYS_madvise, addr, len, advice);
}
static inline int vs_mlock(const void *addr, size_t len) { return (int)vs_sys(SYS_mlock, addr, len); }
static inline int vs_pipe2(int fds[2], int flags) { return (int)vs_sys(SYS_pipe2, fds, flags); }
static inline int vs_prctl(int option, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{
    return (int)vs_sys(SYS_prctl, option, a, b, c, d);
}
static inline ssize_t vs_readlink(const char *path, char *buf, size_t cap)
{
    return vs_sys(SYS_readlinkat, AT_FDCWD, path, buf, cap);
}
static inline pid_t vs_waitpid(pid_t pid, int *status, int options)
{
    return (pid_t)vs_sys(SYS_wait4, pid, status, options, NULL);
}
static inline uid_t vs_getuid(void) { return (uid_t)vs_sys(SYS_getuid); }
static inline gid_t vs_getgid(void) { return (gid_t)vs_sys(SYS_getgid); }

#endif
