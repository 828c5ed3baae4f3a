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
#include "forklock.h"
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

/* ---- looking at the target (raw syscalls: no hook of ours runs, and
 * errno is left alone: vs_sys_raw) ---- */

struct target {
    bool found;               /* statx succeeded */
    uint64_t dev, ino;
    unsigned mode;
    bool privileged;          /* setuid, setgid or file capabilities */
};

static bool kernel_honours_setid(const char *name)
{
    if (vs_sys_raw(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
        return false;
    struct statfs fs;
    if (vs_sys_raw(SYS_statfs, name, &fs) == 0 && (fs.f_flags & ST_NOSUID))
        return false;
    return true;
}

/* In .data, not .rodata: .data's page is written at start, so a forked
 * child has it mapped; a .rodata page it reads between fork and exec is a
 * fault of its own, for this one string. */
static char capability_attr[] VS_HOT = "security.capability";

/* Would the kernel raise privileges running the file name? setid: its
 * mode says setuid or setgid. */
static bool privileged_name(const char *name, bool setid, bool nofollow)
{
    bool caps = false;
    if (!setid) {
        long r = nofollow ? vs_sys_raw(SYS_lgetxattr, name, capability_attr, NULL, 0)
                          : vs_sys_raw(SYS_getxattr, name, capability_attr, NULL, 0);
        caps = r > 0;
    }
    return (setid || caps) && kernel_honours_setid(name);
}

/* The same for a target named through a directory fd: the path-based
 * calls get "/proc/self/fd/N[/path]". Out of line, so that its buffer is
 * on the stack only for such a target. */
__attribute__((noinline)) static bool privileged_at(int dirfd, const char *path, bool empty_path, bool setid,
                                                    bool nofollow)
{
    char name[PATH_MAX + 32];
    return vs_shim_fd_path(name, sizeof name, dirfd, empty_path ? NULL : path) &&
           privileged_name(name, setid, nofollow);
}

static void look(int dirfd, const char *path, int atflags, struct target *t)
{
    t->found = false;
    t->privileged = false;
    if (path == NULL)
        return;
    struct statx sx;
    if (vs_sys_raw(SYS_statx, dirfd, path, atflags | AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_MODE | STATX_INO,
                   &sx) != 0)
        return;
    t->found = true;
    t->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    t->ino = sx.stx_ino;
    t->mode = sx.stx_mode;
    if (!S_ISREG(t->mode) || (t->mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
        return; /* the real call fails (EACCES): not ours to refuse */
    bool setid = (t->mode & S_ISUID) || (t->mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP);
    bool nofollow = (atflags & AT_SYMLINK_NOFOLLOW) != 0;
    bool empty = (atflags & AT_EMPTY_PATH) && path[0] == '\0';
    if (!empty && path[0] != '\0' && (path[0] == '/' || dirfd == AT_FDCWD))
        t->privileged = privileged_name(path, setid, nofollow);
    else
        t->privileged = privileged_at(dirfd, path, empty || path[0] == '\0', setid, nofollow);
}

/* The kernel reads this much of a "#!" line (BINPRM_BUF_SIZE). */
#define SHEBANG_MAX 256

/* The interpreter of a "#!" script, when the target is one: its path in
 * interp, and whether an optional argument follows it (then no script is
 * the first argument, as vaultd sees it). */
static bool read_shebang(int fd, char interp[SHEBANG_MAX], bool *has_arg)
{
    char buf[SHEBANG_MAX];
    long n = vs_sys_raw(SYS_pread64, fd, buf, sizeof buf - 1, 0);
    if (n < 2 || buf[0] != '#' || buf[1] != '!')
        return false;
    buf[n] = '\0';
    char *p = buf + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = 0;
    while (p[len] != '\0' && p[len] != ' ' && p[len] != '\t' && p[len] != '\n')
        len++;
    if (len == 0 || len >= SHEBANG_MAX || p[len] == '\0')
        return false; /* no newline within the buffer: the kernel's limit differs, do not guess */
    memcpy(interp, p, len);
    interp[len] = '\0';
    p += len;
    while (*p == ' ' || *p == '\t')
        p++;
    *has_arg = *p != '\n' && *p != '\0';
    return true;
}

/* An fd to read the target's first bytes from (negative: none); *owned
 * says whether the caller closes it. A target named by its fd is read with
 * pread, which leaves the fd's offset alone. */
static int open_target(int dirfd, const char *path, int atflags, bool *owned)
{
    *owned = false;
    if ((atflags & AT_EMPTY_PATH) && path[0] == '\0')
        return dirfd;
    *owned = true;
    return (int)vs_sys_raw(SYS_openat, dirfd, path,
                           O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                               ((atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
}

struct decision {
    const struct vs_index_tool *tool;
    const char *interp;    /* the interpreter of a "#!" script run with the script as its first argument */
    bool interpreter;
    bool refuse;
};

static const struct vs_index *index_or_null(void)
{
    return vs_shim.have_index ? &vs_shim.index : NULL;
}

/* Decides about the program dirfd/path with arguments argv: is it refused,
 * which tool does the child run as. interp: room for a script's
 * interpreter, which d->interp may point to. */
static void decide(int dirfd, const char *path, int atflags, char *const argv[], struct decision *d,
                   char interp[SHEBANG_MAX])
{
    d->tool = NULL;
    d->interp = NULL;
    d->interpreter = false;
    d->refuse = false;
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
    bool has_arg = false, shebang = false;
    bool owned;
    int fd = open_target(dirfd, path, atflags, &owned);
    if (fd >= 0) {
        shebang = read_shebang(fd, interp, &has_arg);
        if (owned)
            (void)vs_sys_raw(SYS_close, fd);
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
        d->interp = has_arg ? NULL : interp;
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
            if (vs_sys_raw(SYS_statx, AT_FDCWD, out, AT_STATX_SYNC_AS_STAT, STATX_TYPE, &sx) == 0 &&
                S_ISREG(sx.stx_mode) && vs_sys_raw(SYS_faccessat, AT_FDCWD, out, X_OK) == 0)
                return true;
        }
        p += dlen;
        if (*p == '\0')
            return false;
    }
}

/* ---- one call's plan and the child's environment ----
 * prepare() decides; the hook then gives build() `need` bytes of its own
 * stack (ENV_SPACE: alloca, in the frame that makes the real call), or
 * NULL for an mmap when that is over ENV_STACK. Sized to fit rather than a
 * fixed array: between fork and exec every stack page first touched is a
 * fault, and a fixed buffer spread the hook's frames over six pages. */

struct envbuf {
    struct decision d;
    struct vs_childenv_in in;
    const char *path;       /* the target, for vault-exec's argv */
    char *const *argv;
    size_t route_slots;     /* vault-exec's argv slots (0: not routed) */
    size_t need;            /* bytes for the route slots and the environment */
    /* results */
    const char *route_exe;  /* route.h: set when the call runs vault-exec instead of the target */
    char **route_argv;
    char **envp;
    void *map;              /* the space, when mmap'd */
    size_t maplen;
    char interp[SHEBANG_MAX];
};

#define ENV_SPACE(b) ((b).need <= ENV_STACK ? alloca((b).need) : NULL)

/* prepare() then build() in the caller's frame (the alloca must live until
 * the real call): 0, or an errno value. */
#define PLAN(b, dirfd, path, atflags, argv, envp)                                                  \
    ({                                                                                             \
        int plan_rc_ = prepare((dirfd), (path), (atflags), (argv), (envp), &(b));                  \
        if (plan_rc_ == 0)                                                                         \
            plan_rc_ = build(&(b), ENV_SPACE(b));                                                  \
        plan_rc_;                                                                                  \
    })

/* vault-exec's argv slots for this call, or 0: the call is not routed. A
 * mediated tool named by a path runs as vault-exec -- TARGET ARGS; a
 * target named only by an fd is not routed (vaultd refuses it the keys). */
static size_t route_slots(int dirfd, const char *path, int atflags, char *const argv[], const struct decision *d)
{
    if (!vs_route_wanted(d->tool) || dirfd != AT_FDCWD || (atflags & AT_EMPTY_PATH) || path == NULL ||
        vs_route_exe() == NULL)
        return 0;
    size_t args = 0;
    while (argv != NULL && argv[0] != NULL && argv[args + 1] != NULL)
        args++;
    /* "vault-exec" "--" [interp] target args... NULL; vs_route_argv wants 5 at least */
    size_t slots = 4 + (d->interp != NULL ? 1 : 0) + args;
    if (slots < 5)
        slots = 5;
    return slots <= VS_ROUTE_MAX_ARGS ? slots : 0;
}

static void say_refused(const char *path)
{
    int saved = errno;
    vs_shim_say("exec: ", path != NULL ? path : "?",
                ": refused: setuid, setgid or file capabilities (the loader would drop the shim)");
    errno = saved;
}

/* Decides for one call. 0 to go on to build(), or an errno value to fail
 * with. errno itself is left as it was. */
static int prepare(int dirfd, const char *path, int atflags, char *const argv[], char *const envp[],
                   struct envbuf *b)
{
    b->route_exe = NULL;
    b->route_argv = NULL;
    b->envp = NULL;
    b->map = NULL;
    b->maplen = 0;
    decide(dirfd, path, atflags, argv, &b->d, b->interp);
    if (b->d.refuse) {
        say_refused(path);
        return EPERM;
    }
    b->path = path;
    b->argv = argv;
    b->route_slots = route_slots(dirfd, path, atflags, argv, &b->d);
    if (b->route_slots > 0) {
        b->d.tool = NULL; /* vault-exec is no tool: it asks vaultd itself */
        b->d.interpreter = false;
    }
    b->in = (struct vs_childenv_in){
        .envp = envp,
        .shim_path = vs_shim_self_path(),
        .socket_path = vs_shim.socket_path,
        .idx = index_or_null(),
        .tool = b->d.tool,
        .interpreter = b->d.interpreter,
    };
    size_t env = vs_childenv_size(&b->in);
    if (env == 0 || env > SIZE_MAX - b->route_slots * sizeof(char *))
        return E2BIG;
    b->need = b->route_slots * sizeof(char *) + env;
    return 0;
}

/* Builds the route argv and the child's environment in space (b->need
 * bytes; NULL: mapped here). 0, or an errno value (E2BIG, ENOMEM). */
static int build(struct envbuf *b, void *space)
{
    if (space == NULL) {
        int saved = errno;
        void *m = vs_mmap(NULL, b->need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        errno = saved;
        if (m == MAP_FAILED)
            return ENOMEM;
        b->map = space = m;
        b->maplen = b->need;
    }
    char *p = space;
    size_t slot_bytes = b->route_slots * sizeof(char *);
    int rc = 0;
    if (b->route_slots > 0) {
        char **slots = (char **)(void *)p;
        if (vs_route_argv(b->d.interp, b->path, b->argv, slots, b->route_slots)) {
            b->route_exe = vs_route_exe();
            b->route_argv = slots;
        } else {
            rc = E2BIG; /* cannot happen: route_slots counted them */
        }
    }
    if (rc == 0)
        rc = vs_childenv_build(&b->in, p + slot_bytes, b->need - slot_bytes, &b->envp);
    if (rc != 0 && b->map != NULL) {
        int saved = errno;
        vs_munmap(b->map, b->maplen);
        errno = saved;
        b->map = NULL;
    }
    return rc;
}

static void envbuf_release(struct envbuf *b)
{
    if (b->map != NULL) {
        int saved = errno;
        vs_munmap(b->map, b->maplen);
        errno = saved;
        b->map = NULL;
    }
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
    int rc = PLAN(b, AT_FDCWD, path, 0, argv, envp);
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
    int rc = PLAN(b, AT_FDCWD, target, 0, argv, envp);
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
    int rc = PLAN(b, fd, "", AT_EMPTY_PATH, argv, envp);
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
    int rc = PLAN(b, dirfd, path, flags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), argv, envp);
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
    int rc = PLAN(b, AT_FDCWD, target, 0, argv, envp);
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

static struct vs_forklock sys_lock = VS_FORKLOCK_INIT;
static int sys_count;
static struct sigaction sys_intr, sys_quit;

static int do_system(const char *line)
{
    struct sigaction ign = {.sa_handler = SIG_IGN};
    (void)LAZY(sigemptyset)(&ign.sa_mask);
    sigset_t omask, block;
    (void)LAZY(sigemptyset)(&block);
    (void)LAZY(sigaddset)(&block, SIGCHLD);

    vs_forklock_lock(&sys_lock);
    if (sys_count++ == 0) {
        sigaction(SIGINT, &ign, &sys_intr);
        sigaction(SIGQUIT, &ign, &sys_quit);
    }
    vs_forklock_unlock(&sys_lock);
    (void)LAZY(sigprocmask)(SIG_BLOCK, &block, &omask);

    sigset_t reset;
    (void)LAZY(sigemptyset)(&reset);
    if (sys_intr.sa_handler != SIG_IGN)
        (void)LAZY(sigaddset)(&reset, SIGINT);
    if (sys_quit.sa_handler != SIG_IGN)
        (void)LAZY(sigaddset)(&reset, SIGQUIT);
    /* These fail only on bad arguments, which these are not. */
    posix_spawnattr_t attr;
    (void)LAZY(posix_spawnattr_init)(&attr);
    (void)LAZY(posix_spawnattr_setsigmask)(&attr, &omask);
    (void)LAZY(posix_spawnattr_setsigdefault)(&attr, &reset);
    (void)LAZY(posix_spawnattr_setflags)(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    char *argv[] = {(char *)"sh", (char *)"-c", (char *)line, NULL};
    pid_t pid;
    int status;
    int rc = do_spawn(false, &pid, SHELL_PATH, NULL, &attr, argv, environ);
    (void)LAZY(posix_spawnattr_destroy)(&attr);
    if (rc == 0) {
        pid_t w;
        do
            w = vs_waitpid(pid, &status, 0);
        while (w < 0 && errno == EINTR);
        if (w != pid)
            status = -1;
    } else {
        status = W_EXITCODE(127, 0);
    }

    int saved = errno;
    vs_forklock_lock(&sys_lock);
    if (--sys_count == 0) {
        sigaction(SIGINT, &sys_intr, NULL);
        sigaction(SIGQUIT, &sys_quit, NULL);
    }
    vs_forklock_unlock(&sys_lock);
    (void)LAZY(sigprocmask)(SIG_SETMASK, &omask, NULL);
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

static struct vs_forklock popen_lock = VS_FORKLOCK_INIT;

/* fork() while another thread is in system() or popen() would leave the
 * child a locked mutex: both are held across fork once used (forklock.h). */
static void locks_prefork(void)
{
    /* A start-up running in another thread finishes before the fork: the
     * child must not inherit it half done (vs_once, once.h). */
    (void)vs_shim_ready();
    vs_exec_resolve();
    vs_forklock_prefork(&sys_lock);
    vs_forklock_prefork(&popen_lock);
}

static void locks_parent(void)
{
    vs_forklock_parent(&popen_lock);
    vs_forklock_parent(&sys_lock);
}

static void locks_child(void)
{
    vs_forklock_child(&popen_lock);
    vs_forklock_child(&sys_lock);
}

__attribute__((constructor(103))) static void locks_atfork(void)
{
    (void)pthread_atfork(locks_prefork, locks_parent, locks_child);
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
    if (vs_pipe2(fds, O_CLOEXEC) != 0)
        return NULL;
    int parent_end = reading ? fds[0] : fds[1];
    int child_end = reading ? fds[1] : fds[0];
    int child_std = reading ? STDOUT_FILENO : STDIN_FILENO;
    if (child_end == child_std) { /* already there: move it, so dup2 makes an inheritable copy */
        int moved = vs_fcntl(child_end, F_DUPFD_CLOEXEC, 3);
        if (moved < 0) {
            int e = errno;
            vs_close(fds[0]);
            vs_close(fds[1]);
            errno = e;
            return NULL;
        }
        vs_close(child_end);
        child_end = moved;
    }
    struct popen_rec *rec = LAZY(malloc)(sizeof *rec);
    if (rec == NULL) {
        vs_close(parent_end);
        vs_close(child_end);
        errno = ENOMEM;
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    int rc = LAZY(posix_spawn_file_actions_init)(&fa);
    if (rc == 0)
        rc = LAZY(posix_spawn_file_actions_adddup2)(&fa, child_end, child_std);
    vs_forklock_lock(&popen_lock);
    for (struct popen_rec *p = popen_list; rc == 0 && p != NULL; p = p->next)
        if (p->fd != child_std)
            rc = LAZY(posix_spawn_file_actions_addclose)(&fa, p->fd);
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)command, NULL};
    if (rc == 0)
        rc = do_spawn(false, &rec->pid, SHELL_PATH, &fa, NULL, argv, environ);
    (void)LAZY(posix_spawn_file_actions_destroy)(&fa);
    vs_close(child_end);
    if (rc == 0 && !cloexec)
        (void)vs_fcntl(parent_end, F_SETFD, 0);
    FILE *fp = rc == 0 ? LAZY(fdopen)(parent_end, reading ? "r" : "w") : NULL;
    if (rc == 0 && fp == NULL) {
        rc = errno;
        /* the shell runs already: close its pipe and reap it */
        vs_close(parent_end);
        pid_t w;
        do
            w = vs_waitpid(rec->pid, NULL, 0);
        while (w < 0 && errno == EINTR);
    } else if (rc != 0) {
        vs_close(parent_end);
    }
    if (rc == 0) {
        rec->fp = fp;
        rec->fd = parent_end;
        rec->next = popen_list;
        popen_list = rec;
    }
    vs_forklock_unlock(&popen_lock);
    if (rc != 0) {
        LAZY(free)(rec);
        errno = rc;
        return NULL;
    }
    return fp;
}

VS_EXPORT int pclose(FILE *fp)
{
    struct popen_rec *rec = NULL;
    vs_forklock_lock(&popen_lock);
    for (struct popen_rec **p = &popen_list; *p != NULL; p = &(*p)->next)
        if ((*p)->fp == fp) {
            rec = *p;
            *p = rec->next;
            break;
        }
    vs_forklock_unlock(&popen_lock);
    if (rec == NULL) {
        pclose_fn real = real_pclose();
        if (real == NULL) {
            errno = ECHILD;
            return -1;
        }
        return real(fp);
    }
    pid_t pid = rec->pid;
    LAZY(free)(rec);
    (void)LAZY(fclose)(fp);
    int status;
    pid_t w;
    do
        w = vs_waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    return w == pid ? status : -1;
}
