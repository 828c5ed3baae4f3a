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
#include <sys/syscall.h>
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

#endif
