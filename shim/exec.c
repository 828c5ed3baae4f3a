/* Every exec entry point: execve, execv, execvp, execvpe, execl, execlp,
 * execle, fexecve, execveat, posix_spawn, posix_spawnp, system, popen (and
 * pclose, for popen's streams). glibc's own calls between them go to
 * internal symbols, never through a hook, so each has its own.
 *
 * Rules this file keeps:
 *  1. The child's environment is vs_childenv_build's (childenv.h): no
 *     protected name, LD_PRELOAD with our shim first, VAULT_SOCKET, and for
 *     a tool child its placeholders (and, for an interpreter tool, no
 *     injection variable).
 *  2. The real function of the same family does the work (PATH search,
 *     ENOEXEC fallback to /bin/sh, argv[0], errno): the hooks look at the
 *     target only to decide, then hand the rewritten envp to it. system and
 *     popen have no envp argument: they are rebuilt on posix_spawn of
 *     /bin/sh -c, as glibc builds them.
 *  3. A setuid, setgid or file-capability target is refused with EPERM and
 *     one stderr line (the loader would drop the shim in it), unless the
 *     kernel would not honour the bits (nosuid mount, no_new_privs).
 *  4. Safe in a vfork child and between fork and exec: the exec path uses
 *     raw syscalls, the stack, and mmap only for an environment over
 *     ENV_STACK bytes; no malloc, no stdio, no lock. (A vfork child that
 *     execs with such an environment leaves that mapping in its parent: a
 *     bounded leak, only for environments over 16 KiB.)
 *  5. errno is the real function's; our own look-ups never change it. */
#include "shim.h"

#include "childenv.h"
#include "rawsys.h"
#include "route.h"

#include <alloca.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define ENV_STACK (16 * 1024)
#define SHELL_PATH "/bin/sh"

/* ---- real symbols, resolved once ---- */

/* real_NAME(): the real function, through the shared resolver. */
#define DEFINE_REAL(ret, name, params)                                             \
    typedef ret(*name##_fn) params;                                                \
    static name##_fn real_##name(void)                                             \
    {                                                                              \
        static void *_Atomic slot VS_HOT;                                          \
        return (name##_fn)vs_shim_real(&slot, #name);                              \
    }

DEFINE_REAL(int, execve, (const char *, char *const[], char *const[]))
DEFINE_REAL(int, execvpe, (const char *, char *const[], char *const[]))
DEFINE_REAL(int, fexecve, (int, char *const[], char *const[]))
DEFINE_REAL(int, execveat, (int, const char *, char *const[], char *const[], int))
DEFINE_REAL(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]))
DEFINE_REAL(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *,
                         const posix_spawnattr_t *, char *const[], char *const[]))
DEFINE_REAL(int, system, (const char *))
DEFINE_REAL(FILE *, popen, (const char *, const char *))
DEFINE_REAL(int, pclose, (FILE *))

/* A hook running in a vfork child (or between fork and exec) must never
 * enter dlsym, which locks and may allocate: these are resolved before any
 * such child can exist (fork.c: vfork, clone, _Fork, fork's prepare
 * handler, syscall(SYS_vfork/clone/clone3)), else on first use in an
 * ordinary call. Where fork.c has no vfork trampoline, at start. */
#ifndef VS_SHIM_VFORK_TRAMPOLINE
__attribute__((constructor(102)))
#endif
void vs_exec_resolve(void)
{
    (void)vs_shim_self_path();
    (void)real_execve();
    (void)real_execvpe();
    (void)real_fexecve();
    (void)real_execveat();
    (void)real_posix_spawn();
    (void)real_posix_spawnp();
    (void)real_system();
    (void)real_popen();
    (void)real_pclose();
}

/* A function we could not resolve: fail as the kernel would for a missing
 * program, without calling through NULL. */
#define MISSING(err) (errno = (err), -1)

/* ---- looking at the target (raw syscalls: no hook of ours runs) ---- */

struct target {
    bool found;               /* statx succeeded */
    uint64_t dev, ino;
    unsigned mode;
    bool privileged;          /* setuid, setgid or file capabilities */
};

/* "/proc/self/fd/N[/path]" for the path-based xattr and statfs calls when
 * the target is named by a directory fd. */
static bool xpath(int dirfd, const char *path, bool empty_path, char *out, size_t cap)
{
    if (!empty_path && (path[0] == '/' || dirfd == AT_FDCWD)) {
        size_t n = strlen(path);
        if (n >= cap)
            return false;
        memcpy(out, path, n + 1);
        return true;
    }
    int n = empty_path || path[0] == '\0' ? snprintf(out, cap, "/proc/self/fd/%d", dirfd)
                                          : snprintf(out, cap, "/proc/self/fd/%d/%s", dirfd, path);
    return n > 0 && (size_t)n < cap;
}

static bool kernel_honours_setid(const char *name)
{
    if (vs_sys(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
        return false;
    struct statfs fs;
    if (vs_sys(SYS_statfs, name, &fs) == 0 && (fs.f_flags & ST_NOSUID))
        return false;
    return true;
}

static void look(int dirfd, const char *path, int atflags, struct target *t)
{
    memset(t, 0, sizeof *t);
    if (path == NULL)
        return;
    struct statx sx;
    if (vs_sys(SYS_statx, dirfd, path, atflags | AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_MODE | STATX_INO,
                &sx) != 0)
        return;
    t->found = true;
    t->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    t->ino = sx.stx_ino;
    t->mode = sx.stx_mode;
    if (!S_ISREG(t->mode) || (t->mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
        return; /* the real call fails (EACCES): not ours to refuse */
    bool setid = (t->mode & S_ISUID) || (t->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP);
    char name[PATH_MAX + 32];
    bool empty = (atflags & AT_EMPTY_PATH) && path[0] == '\0';
    if (!xpath(dirfd, path, empty, name, sizeof name))
        return;
    bool caps = false;
    if (!setid) {
        long r = (atflags & AT_SYMLINK_NOFOLLOW)
                     ? vs_sys(SYS_lgetxattr, name, "security.capability", NULL, 0)
                     : vs_sys(SYS_getxattr, name, "security.capability", NULL, 0);
        caps = r > 0;
    }
    t->privileged = (setid || caps) && kernel_honours_setid(name);
}

/* The interpreter of a "#!" script, when the target is one: its path in
 * interp, and whether an optional argument follows it (then no script is
 * the first argument, as vaultd sees it). */
static bool read_shebang(int fd, char *interp, size_t cap, bool *has_arg)
{
    char buf[256];
    long n = vs_sys(SYS_pread64, fd, buf, sizeof buf - 1, 0);
    if (n < 2 || buf[0] != '#' || buf[1] != '!')
        return false;
    buf[n] = '\0';
    char *p = buf + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, " \t\n");
    if (len == 0 || len >= cap || p[len] == '\0')
        return false; /* no newline within the buffer: the kernel's limit differs, do not guess */
    memcpy(interp, p, len);
    interp[len] = '\0';
    p += len;
    while (*p == ' ' || *p == '\t')
        p++;
    *has_arg = *p != '\n' && *p != '\0';
    return true;
}

/* An fd to read the target's first bytes from (-1: none); *owned says
 * whether the caller closes it. A target named by its fd is read with
 * pread, which leaves the fd's offset alone. */
static int open_target(int dirfd, const char *path, int atflags, bool *owned)
{
    *owned = false;
    if ((atflags & AT_EMPTY_PATH) && path[0] == '\0')
        return dirfd;
    *owned = true;
    return (int)vs_sys(SYS_openat, dirfd, path,
                        O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                            ((atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
}

struct decision {
    const struct vs_index_tool *tool;
    bool interpreter;
    bool refuse;
    bool shebang;          /* the target is a "#!" script of interp */
    char interp[PATH_MAX];
};

static const struct vs_index *index_or_null(void)
{
    return vs_shim.have_index ? &vs_shim.index : NULL;
}

/* Decides about the program dirfd/path with arguments argv: is it refused,
 * which tool does the child run as. */
static void decide(int dirfd, const char *path, int atflags, char *const argv[], struct decision *d)
{
    memset(d, 0, sizeof *d);
    struct target t;
    look(dirfd, path, atflags, &t);
    if (!t.found)
        return;
    if (t.privileged) {
        d->refuse = true;
        return;
    }
    if (!S_ISREG(t.mode))
        return;
    const struct vs_index *idx = index_or_null();
    /* a script: the kernel runs its interpreter with the script's path */
    char interp[PATH_MAX];
    bool has_arg = false, shebang = false;
    bool owned;
    int fd = open_target(dirfd, path, atflags, &owned);
    if (fd >= 0) {
        shebang = read_shebang(fd, interp, sizeof interp, &has_arg);
        if (owned)
            vs_sys(SYS_close, fd);
    }
    if (shebang) {
        struct target it;
        look(AT_FDCWD, interp, 0, &it);
        if (it.privileged) {
            d->refuse = true;
            return;
        }
        if (!it.found || idx == NULL)
            return;
        d->tool = vs_index_find_tool(idx, it.dev, it.ino, !has_arg, t.dev, t.ino);
        d->shebang = !has_arg;
        memcpy(d->interp, interp, strlen(interp) + 1);
    } else if (idx != NULL) {
        bool has_script = false;
        struct target st = {0};
        if (vs_index_is_interpreter(idx, t.dev, t.ino) && argv != NULL && argv[0] != NULL &&
            argv[1] != NULL && argv[1][0] != '-') {
            look(AT_FDCWD, argv[1], 0, &st);
            has_script = st.found;
        }
        d->tool = vs_index_find_tool(idx, t.dev, t.ino, has_script, st.dev, st.ino);
    }
    d->interpreter = d->tool != NULL && (d->tool->flags & VS_INDEX_TOOL_INTERPRETER);
}

/* The first PATH candidate the kernel would run, as execvp searches: PATH
 * from the caller's environ (default "/bin:/usr/bin"), an empty element is
 * the current folder. false when none: the real function reports why. */
static bool search_path(const char *file, char *out, size_t cap)
{
    if (file == NULL || file[0] == '\0')
        return false;
    if (strchr(file, '/') != NULL) {
        size_t n = strlen(file);
        if (n >= cap)
            return false;
        memcpy(out, file, n + 1);
        return true;
    }
    const char *path = "/bin:/usr/bin";
    for (char **e = environ; e != NULL && *e != NULL; e++)
        if (strncmp(*e, "PATH=", 5) == 0) {
            path = *e + 5;
            break;
        }
    size_t flen = strlen(file);
    for (const char *p = path;; p++) {
        size_t dlen = strcspn(p, ":");
        const char *dir = dlen == 0 ? "." : p;
        size_t dl = dlen == 0 ? 1 : dlen;
        if (dl + 1 + flen < cap) {
            memcpy(out, dir, dl);
            out[dl] = '/';
            memcpy(out + dl + 1, file, flen + 1);
            struct statx sx;
            if (vs_sys(SYS_statx, AT_FDCWD, out, AT_STATX_SYNC_AS_STAT, STATX_TYPE, &sx) == 0 &&
                S_ISREG(sx.stx_mode) && vs_sys(SYS_faccessat, AT_FDCWD, out, X_OK) == 0)
                return true;
        }
        p += dlen;
        if (*p == '\0')
            return false;
    }
}

/* ---- the child's environment ---- */

struct envbuf {
    char stack[ENV_STACK];
    void *map;
    size_t maplen;
    char **envp;
    /* route.h: set when the call runs vault-exec instead of the target */
    const char *route_exe;
    char **route_argv;
    char *argv_slots[VS_ROUTE_MAX_ARGS];
};

/* 0, or an errno value (E2BIG, ENOMEM). */
static int child_env(char *const envp[], const struct decision *d, struct envbuf *b)
{
    struct vs_childenv_in in = {
        .envp = envp,
        .shim_path = vs_shim_self_path(),
        .socket_path = vs_shim.socket_path,
        .idx = index_or_null(),
        .tool = d->tool,
        .interpreter = d->interpreter,
    };
    b->map = NULL;
    b->maplen = 0;
    size_t need = vs_childenv_size(&in);
    if (need == 0)
        return E2BIG;
    void *buf = b->stack;
    size_t cap = sizeof b->stack;
    if (need > cap) {
        void *m = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return ENOMEM;
        b->map = buf = m;
        b->maplen = cap = need;
    }
    int rc = vs_childenv_build(&in, buf, cap, &b->envp);
    if (rc != 0 && b->map != NULL) {
        munmap(b->map, b->maplen);
        b->map = NULL;
    }
    return rc;
}

static void envbuf_release(struct envbuf *b)
{
    if (b->map != NULL) {
        int saved = errno;
        munmap(b->map, b->maplen);
        errno = saved;
        b->map = NULL;
    }
}

static void say_refused(const char *path)
{
    vs_shim_say("exec: ", path != NULL ? path : "?",
                ": refused: setuid, setgid or file capabilities (the loader would drop the shim)");
}

/* Decides and builds for one call. 0 to go ahead (b->envp set), or an
 * errno value to fail with. errno itself is left as it was. */
/* A mediated tool named by a path runs as vault-exec -- TARGET ARGS; a
 * target named only by an fd is not routed (vaultd refuses it the keys). */
static void route(int dirfd, const char *path, int atflags, char *const argv[], struct decision *d,
                  struct envbuf *b)
{
    b->route_exe = NULL;
    b->route_argv = NULL;
    if (!vs_route_wanted(d->tool) || dirfd != AT_FDCWD || (atflags & AT_EMPTY_PATH) || path == NULL)
        return;
    const char *x = vs_route_exe();
    if (x == NULL || !vs_route_argv(d->shebang ? d->interp : NULL, path, argv, b->argv_slots, VS_ROUTE_MAX_ARGS))
        return;
    b->route_exe = x;
    b->route_argv = b->argv_slots;
    d->tool = NULL; /* vault-exec is no tool: it asks vaultd itself */
    d->interpreter = false;
}

static int prepare(int dirfd, const char *path, int atflags, char *const argv[], char *const envp[],
                   struct envbuf *b)
{
    int saved = errno;
    struct decision d;
    decide(dirfd, path, atflags, argv, &d);
    route(dirfd, path, atflags, argv, &d, b);
    int rc = 0;
    if (d.refuse) {
        say_refused(path);
        rc = EPERM;
    } else {
        rc = child_env(envp, &d, b);
    }
    errno = saved;
    return rc;
}

/* ---- the exec family ---- */

static int do_execve(const char *path, char *const argv[], char *const envp[])
{
    execve_fn real = real_execve();
    if (real == NULL)
        return MISSING(ENOSYS);
    if (!vs_shim_ready())
        return real(path, argv, envp);
    struct envbuf b;
    int rc = prepare(AT_FDCWD, path, 0, argv, envp, &b);
    if (rc != 0)
        return MISSING(rc);
    rc = b.route_exe != NULL ? real(b.route_exe, b.route_argv, b.envp) : real(path, argv, b.envp);
    envbuf_release(&b);
    return rc;
}

static int do_execvpe(const char *file, char *const argv[], char *const envp[])
{
    execvpe_fn real = real_execvpe();
    if (real == NULL)
        return MISSING(ENOSYS);
    if (!vs_shim_ready())
        return real(file, argv, envp);
    char found[PATH_MAX];
    const char *target = search_path(file, found, sizeof found) ? found : NULL;
    struct envbuf b;
    int rc = prepare(AT_FDCWD, target, 0, argv, envp, &b);
    if (rc != 0)
        return MISSING(rc);
    rc = b.route_exe != NULL ? real(b.route_exe, b.route_argv, b.envp) : real(file, argv, b.envp);
    envbuf_release(&b);
    return rc;
}

VS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    return do_execve(path, argv, envp);
}

VS_EXPORT int execv(const char *path, char *const argv[])
{
    return do_execve(path, argv, environ);
}

VS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    return do_execvpe(file, argv, envp);
}

VS_EXPORT int execvp(const char *file, char *const argv[])
{
    return do_execvpe(file, argv, environ);
}

VS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    fexecve_fn real = real_fexecve();
    if (real == NULL)
        return MISSING(ENOSYS);
    if (!vs_shim_ready())
        return real(fd, argv, envp);
    struct envbuf b;
    int rc = prepare(fd, "", AT_EMPTY_PATH, argv, envp, &b);
    if (rc != 0)
        return MISSING(rc);
    rc = real(fd, argv, b.envp);
    envbuf_release(&b);
    return rc;
}

VS_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    execveat_fn real = real_execveat();
    if (real == NULL)
        return MISSING(ENOSYS);
    if (!vs_shim_ready())
        return real(dirfd, path, argv, envp, flags);
    struct envbuf b;
    int rc = prepare(dirfd, path, flags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), argv, envp, &b);
    if (rc != 0)
        return MISSING(rc);
    rc = real(dirfd, path, argv, b.envp, flags);
    envbuf_release(&b);
    return rc;
}

/* execl, execle, execlp: the arguments up to the NULL into an array on the
 * stack, as glibc builds it (E2BIG past INT_MAX arguments). With_envp: the
 * pointer after the NULL is the environment (execle). */
#define COLLECT_ARGS(arg0, last_named, argv, envp_out, with_envp)                   \
    do {                                                                            \
        va_list ap_;                                                                \
        size_t argc_ = 1;                                                           \
        va_start(ap_, last_named);                                                  \
        while (va_arg(ap_, char *) != NULL) {                                       \
            if (++argc_ >= INT_MAX) {                                               \
                va_end(ap_);                                                        \
                errno = E2BIG;                                                      \
                return -1;                                                          \
            }                                                                       \
        }                                                                           \
        va_end(ap_);                                                                \
        argv = alloca((argc_ + 1) * sizeof(char *));                                \
        argv[0] = (char *)(arg0);                                                   \
        va_start(ap_, last_named);                                                  \
        for (size_t i_ = 1; i_ <= argc_; i_++)                                      \
            argv[i_] = va_arg(ap_, char *);                                         \
        if (with_envp)                                                              \
            envp_out = va_arg(ap_, char **);                                        \
        va_end(ap_);                                                                \
    } while (0)

VS_EXPORT int execl(const char *path, const char *arg, ...)
{
    char **argv;
    char **envp = environ;
    COLLECT_ARGS(arg, arg, argv, envp, 0);
    return do_execve(path, argv, envp);
}

VS_EXPORT int execle(const char *path, const char *arg, ...)
{
    char **argv;
    char **envp = NULL;
    COLLECT_ARGS(arg, arg, argv, envp, 1);
    return do_execve(path, argv, envp);
}

VS_EXPORT int execlp(const char *file, const char *arg, ...)
{
    char **argv;
    char **envp = environ;
    COLLECT_ARGS(arg, arg, argv, envp, 0);
    return do_execvpe(file, argv, envp);
}

/* ---- posix_spawn ---- */

static int do_spawn(bool search, pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    posix_spawn_fn real = search ? real_posix_spawnp() : real_posix_spawn();
    if (real == NULL)
        return ENOSYS;
    if (!vs_shim_ready())
        return real(pid, path, fa, attr, argv, envp);
    char found[PATH_MAX];
    const char *target = path;
    if (search)
        target = search_path(path, found, sizeof found) ? found : NULL;
    struct envbuf b;
    int rc = prepare(AT_FDCWD, target, 0, argv, envp, &b);
    if (rc != 0)
        return rc;
    rc = b.route_exe != NULL ? real(pid, b.route_exe, fa, attr, b.route_argv, b.envp)
                             : real(pid, path, fa, attr, argv, b.envp);
    envbuf_release(&b);
    return rc;
}

VS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return do_spawn(false, pid, path, fa, attr, argv, envp);
}

VS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return do_spawn(true, pid, file, fa, attr, argv, envp);
}

/* ---- system: glibc's do_system on our posix_spawn ----
 * SIGINT and SIGQUIT ignored and SIGCHLD blocked while the command runs;
 * the child gets the caller's mask and default SIGINT/SIGQUIT (unless the
 * caller ignored them); a command that cannot be spawned looks like exit
 * status 127. The ignore count is shared by concurrent calls, so the first
 * to start saves the handlers and the last to finish restores them. */

static pthread_mutex_t sys_lock = PTHREAD_MUTEX_INITIALIZER;
static int sys_count;
static struct sigaction sys_intr, sys_quit;

static int do_system(const char *line)
{
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    sigset_t omask, block;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);

    pthread_mutex_lock(&sys_lock);
    if (sys_count++ == 0) {
        sigaction(SIGINT, &ign, &sys_intr);
        sigaction(SIGQUIT, &ign, &sys_quit);
    }
    pthread_mutex_unlock(&sys_lock);
    sigprocmask(SIG_BLOCK, &block, &omask);

    sigset_t reset;
    sigemptyset(&reset);
    if (sys_intr.sa_handler != SIG_IGN)
        sigaddset(&reset, SIGINT);
    if (sys_quit.sa_handler != SIG_IGN)
        sigaddset(&reset, SIGQUIT);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &omask);
    posix_spawnattr_setsigdefault(&attr, &reset);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    char *argv[] = {(char *)"sh", (char *)"-c", (char *)line, NULL};
    pid_t pid;
    int status;
    int rc = do_spawn(false, &pid, SHELL_PATH, NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (rc == 0) {
        pid_t w;
        do
            w = waitpid(pid, &status, 0);
        while (w < 0 && errno == EINTR);
        if (w != pid)
            status = -1;
    } else {
        status = W_EXITCODE(127, 0);
    }

    int saved = errno;
    pthread_mutex_lock(&sys_lock);
    if (--sys_count == 0) {
        sigaction(SIGINT, &sys_intr, NULL);
        sigaction(SIGQUIT, &sys_quit, NULL);
    }
    pthread_mutex_unlock(&sys_lock);
    sigprocmask(SIG_SETMASK, &omask, NULL);
    errno = saved;
    return status;
}

VS_EXPORT int system(const char *line)
{
    if (!vs_shim_ready()) {
        system_fn real = real_system();
        return real != NULL ? real(line) : -1;
    }
    if (line == NULL) /* is a shell available? */
        return do_system("exit 0") == 0;
    return do_system(line);
}

/* ---- popen and pclose: glibc's popen on our posix_spawn ----
 * mode "r" or "w", optionally with 'e' (the parent's end close-on-exec);
 * the child's end becomes its stdin or stdout; streams of earlier popen
 * calls still open are closed in the child (POSIX). pclose of one of our
 * streams closes it and waits for its shell; other streams (opened while
 * the shim was not ready) go to the real pclose. */

struct popen_rec {
    FILE *fp;
    int fd;
    pid_t pid;
    struct popen_rec *next;
};

static pthread_mutex_t popen_lock = PTHREAD_MUTEX_INITIALIZER;

/* fork() while another thread is in system() or popen() would leave the
 * child a locked mutex: hold both across fork, release them on both sides. */
static void locks_prefork(void)
{
    /* A start-up running in another thread finishes before the fork: the
     * child must not inherit it half done (vs_once, once.h). */
    (void)vs_shim_ready();
    vs_exec_resolve();
    (void)pthread_mutex_lock(&sys_lock);
    (void)pthread_mutex_lock(&popen_lock);
}

static void locks_postfork(void)
{
    (void)pthread_mutex_unlock(&popen_lock);
    (void)pthread_mutex_unlock(&sys_lock);
}

__attribute__((constructor(103))) static void locks_atfork(void)
{
    (void)pthread_atfork(locks_prefork, locks_postfork, locks_postfork);
}
static struct popen_rec *popen_list;

VS_EXPORT FILE *popen(const char *command, const char *mode)
{
    if (!vs_shim_ready()) {
        popen_fn real = real_popen();
        if (real == NULL) {
            errno = ENOSYS;
            return NULL;
        }
        return real(command, mode);
    }
    bool reading, cloexec = false;
    if (mode == NULL || (mode[0] != 'r' && mode[0] != 'w')) {
        errno = EINVAL;
        return NULL;
    }
    reading = mode[0] == 'r';
    for (const char *m = mode + 1; *m != '\0'; m++) {
        if (*m == 'e')
            cloexec = true;
        else {
            errno = EINVAL;
            return NULL;
        }
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return NULL;
    int parent_end = reading ? fds[0] : fds[1];
    int child_end = reading ? fds[1] : fds[0];
    int child_std = reading ? STDOUT_FILENO : STDIN_FILENO;
    if (child_end == child_std) { /* already there: move it, so dup2 makes an inheritable copy */
        int moved = fcntl(child_end, F_DUPFD_CLOEXEC, 3);
        if (moved < 0) {
            int e = errno;
            close(fds[0]);
            close(fds[1]);
            errno = e;
            return NULL;
        }
        close(child_end);
        child_end = moved;
    }
    struct popen_rec *rec = malloc(sizeof *rec);
    if (rec == NULL) {
        close(parent_end);
        close(child_end);
        errno = ENOMEM;
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, child_end, child_std);
    pthread_mutex_lock(&popen_lock);
    for (struct popen_rec *p = popen_list; rc == 0 && p != NULL; p = p->next)
        if (p->fd != child_std)
            rc = posix_spawn_file_actions_addclose(&fa, p->fd);
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)command, NULL};
    if (rc == 0)
        rc = do_spawn(false, &rec->pid, SHELL_PATH, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(child_end);
    if (rc == 0 && !cloexec)
        (void)fcntl(parent_end, F_SETFD, 0);
    FILE *fp = rc == 0 ? fdopen(parent_end, reading ? "r" : "w") : NULL;
    if (rc == 0 && fp == NULL) {
        rc = errno;
        /* the shell runs already: close its pipe and reap it */
        close(parent_end);
        pid_t w;
        do
            w = waitpid(rec->pid, NULL, 0);
        while (w < 0 && errno == EINTR);
    } else if (rc != 0) {
        close(parent_end);
    }
    if (rc == 0) {
        rec->fp = fp;
        rec->fd = parent_end;
        rec->next = popen_list;
        popen_list = rec;
    }
    pthread_mutex_unlock(&popen_lock);
    if (rc != 0) {
        free(rec);
        errno = rc;
        return NULL;
    }
    return fp;
}

VS_EXPORT int pclose(FILE *fp)
{
    struct popen_rec *rec = NULL;
    pthread_mutex_lock(&popen_lock);
    for (struct popen_rec **p = &popen_list; *p != NULL; p = &(*p)->next)
        if ((*p)->fp == fp) {
            rec = *p;
            *p = rec->next;
            break;
        }
    pthread_mutex_unlock(&popen_lock);
    if (rec == NULL) {
        pclose_fn real = real_pclose();
        if (real == NULL) {
            errno = ECHILD;
            return -1;
        }
        return real(fp);
    }
    pid_t pid = rec->pid;
    free(rec);
    fclose(fp);
    int status;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    return w == pid ? status : -1;
}
