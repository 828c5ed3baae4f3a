/* libvaultshim.so internals: the state every hook family shares.
 *
 * Files (one family each):
 *   init.c    the constructor: real symbols, the index, scrubbing environ,
 *             and for a process the index names as a tool, the one round
 *             trip to vaultd (GRANTS, non-dumpable, CONFIRM); wiping at exit
 *   env.c     getenv, secure_getenv
 *   files.c   the open and fopen families: managed paths served from a
 *             sealed memfd inside a grant, ENOENT outside
 *   stat.c    the stat and access families, statx, syscall(SYS_statx)
 *   exec.c    every exec entry point, posix_spawn, system, popen
 *   childenv.c  the child's environment (a pure function)
 *   signals.c sigaction, signal: a granted node keeps SIGUSR1 ignored
 *   paths.c   canonical absolute paths for the managed-path check
 *
 * Rules every hook keeps:
 *  1. Work before our constructor has run (another library's constructor
 *     may call it): call vs_shim_ready() first; it is cheap and idempotent.
 *  2. Never recurse into a hook: real symbols are resolved with
 *     vs_shim_next() and called directly; no stdio, no malloc-heavy code;
 *     a thread-local guard (vs_shim_guard) for paths that could loop.
 *  3. Fail closed: when anything is unknown (no index, vaultd down), a
 *     protected name is absent and a managed path does not exist.
 *  4. errno and return values behave exactly like the real functions.
 *  5. Export nothing but hooks: the shim is built -fvisibility=hidden and
 *     each hook is marked VS_EXPORT. */
#ifndef VS_SHIM_H
#define VS_SHIM_H

#include "index.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#define VS_EXPORT __attribute__((visibility("default")))
/* State every process touches at start or in common hooks, kept off the
 * pages each file's .bss would spread it over (a page fault each): the
 * small variables go to .data (VS_HOT), and .bss holds the small variables,
 * struct vs_shim and the start of the index buffer, in that order, from the
 * page the loader already dirties where .data meets .bss; the large
 * buffers (VS_COLD, struct vs_shim_tool among them) come after. With a
 * 3.5 KiB index a process outside every grant touches two pages of .data
 * and .bss, where it touched three. The shim is linked with
 * --sort-section=name to keep that order. */
#define VS_HOT __attribute__((section(".data.vs_hot")))
#define VS_HOT_INDEX __attribute__((section(".bss.vs_2index"), aligned(16)))
#define VS_HOT_STATE __attribute__((section(".bss.vs_1state")))
/* Large buffers only a tool, an exec or a symlinked managed path uses: after
 * the index buffer, so that they do not push it off the loader's page. */
#define VS_COLD __attribute__((section(".bss.vs_3cold")))
#define VS_SHIM_MAX_FILES 16
#define VS_SHIM_MAX_GRANTS 64

/* The small fields first: a granted tool writes them and the start of
 * path, one page, where behind the path they were a page of their own. */
struct vs_shim_file {
    int memfd;           /* sealed memfd once rendered; -1 before first use */
    dev_t dev;           /* memfd's identity: the program may close every fd */
    ino_t ino;           /* (closefrom) and the number become another file */
    char path[PATH_MAX]; /* canonical absolute path, as the policy names it */
};

/* What a tool needs beyond struct vs_shim: its files, its executable's path. */
struct vs_shim_tool {
    struct vs_shim_file files[VS_SHIM_MAX_FILES];
    char exe_path[PATH_MAX];
};

/* What every process's start touches (next to the index buffer). */
struct vs_shim {
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    size_t ngrants;
    size_t nfiles;
    const char *tool_name;    /* from the index, for the one stderr line */
    int sock;            /* kept for RENDER_FILE; -1 */
    dev_t sock_dev;      /* its identity, checked before each use */
    ino_t sock_ino;
    struct vs_index index;
    bool have_index;
    bool is_tool;        /* the index lists this executable */
    bool granted;        /* vaultd confirmed grants for this process */
};

extern struct vs_shim vs_shim;
extern struct vs_shim_tool vs_tool;

/* Makes the shared state usable: real symbols of this family resolved, the
 * index mapped, environ scrubbed. Idempotent and thread-safe; a hook calls
 * it before anything else. Returns false only while the shim is resolving
 * itself (a hook called from inside: pass straight to the real function). */
bool vs_shim_ready(void);

/* memcpy without _FORTIFY_SOURCE's __memcpy_chk. That import alone cost
 * every process a page fault at load: -z now runs its ifunc resolver, on a
 * libc page nothing else there touches. Every caller checks its bounds
 * itself. */
static inline void vs_copy(void *dst, const void *src, size_t n)
{
    __builtin_memcpy(dst, src, n);
}

/* Is this getenv answer inside the start-up environment's strings? Those
 * were scrubbed of every protected name when the shim started, so such an
 * answer needs no look-up (getenv's fast path). */
/* stat of our executable, for the index look-up (init.c). */
struct stat;
bool vs_shim_self_stat(struct stat *st);

extern const char *vs_shim_startup_lo, *vs_shim_startup_hi;
/* Inline: getenv's fast path is a few nanoseconds (budget +5 ns), and a
 * call into another file was a third of it. */
static inline bool vs_shim_in_startup_env(const char *value)
{
    return value >= vs_shim_startup_lo && value < vs_shim_startup_hi;
}

/* Our own .so, for children's LD_PRELOAD: the loader's name for us
 * (dladdr), which lives as long as we do; "" when unknown. Found on first
 * need (vs_exec_resolve asks before any child sharing our memory exists). */
const char *vs_shim_self_path(void);

/* The exec family's real functions resolved (exec.c), before a child that
 * shares our memory or our locks' state could need them (fork.c).
 * Idempotent, cheap once done. */
void vs_exec_resolve(void);
#if defined(__x86_64__)
#define VS_SHIM_VFORK_TRAMPOLINE 1 /* fork.c hooks vfork and clone */
#endif

/* "/proc/self/fd/FD", or ".../FD/REST" when rest is not NULL, into out
 * without stdio (exec hooks may run in a vfork child); false when it does
 * not fit in cap bytes. */
bool vs_shim_fd_path(char *out, size_t cap, int fd, const char *rest);

/* dlsym(RTLD_NEXT, name); aborts with one line if it returns our own hook
 * (a circular reference would recurse forever). */
void *vs_shim_next(const char *name);

/* The real function behind a hook, resolved on first use and cached in
 * slot (atomic: hooks run on any thread). REAL(type, name) declares the
 * slot: `REAL(int (*)(const char *, int, ...), open)(path, flags)`. */
void *vs_shim_real(void *_Atomic *slot, const char *name);
#define REAL(type, name)                                                                      \
    ({                                                                                        \
        static void *_Atomic slot_ VS_HOT;                                                    \
        (type) vs_shim_real(&slot_, #name);                                                   \
    })

/* A libc function called only on a rare path (system, popen, a managed
 * fopen), looked up there on first use instead of imported: the loader
 * binds every import in every process of the tree (-z now), about 700
 * instructions each. Not for a path a vfork child may take (dlsym locks).
 * LAZY(fdopen)(fd, "r"). Aborts with one line if libc lacks it. */
void *vs_shim_lazy(void *_Atomic *slot, const char *name);
#define LAZY(name)                                                                            \
    ({                                                                                        \
        static void *_Atomic slot_;                                                           \
        (__typeof__(&name))vs_shim_lazy(&slot_, #name);                                       \
    })

/* A thread-local depth counter for hooks whose real function may call
 * back into another hook (fopen -> open, popen -> posix_spawn). */
extern _Thread_local int vs_shim_guard;

/* The canonical absolute form of path (relative paths resolved against the
 * cwd or dirfd, "..", "." and symlinked folders resolved; the last
 * component is not followed). false when it cannot be formed. */
bool vs_shim_canonical(int dirfd, const char *path, char *out, size_t cap);

/* hide.c: a granted tool's hide_files. add: 0, or -1 when full. hidden: is
 * path (relative to dirfd) one of them? canon then holds its canonical form,
 * which no granted file has, so the hooks answer ENOENT for it. */
int vs_shim_hide_add(const char *entry, size_t len);
bool vs_shim_hidden(int dirfd, const char *path, char *canon, size_t cap);
/* Is b[0..bl) the basename of a hide_files entry? (false outside a grant) */
bool vs_shim_hide_candidate(const char *b, size_t bl);
/* Has this process any hide_files entry? (false outside a grant) */
bool vs_shim_hide_any(void);

/* Is this canonical path a managed credential file? */
bool vs_shim_path_managed(const char *canon);

/* The cheap filter and the canonical form together: true when path (as
 * given, relative to dirfd) is a managed file; canon receives its
 * canonical form. Costs a basename compare for unmanaged paths. */
bool vs_shim_managed_path(int dirfd, const char *path, char *canon, size_t cap);

/* The hooks' first question, with no syscall and no copy: could path name a
 * managed or hidden file? Its basename is compared with theirs (a length
 * bit mask first). False, the common answer, sends the call straight to
 * the real function; true goes to vs_shim_managed_path, which decides. */
bool vs_shim_path_suspect(const char *path);

/* What a hook's out-of-line managed-path helper returns when the path is
 * not managed after all: the real function then runs. No real open, stat,
 * access or syscall returns it. */
#define VS_PASS (-2)

static inline bool vs_shim_suspect(const char *path)
{
    return vs_shim_ready() && vs_shim_path_suspect(path);
}

/* For a managed path inside this process's grants: a new fd of its sealed
 * memfd (rendered by vaultd on first use), opened with flags' O_CLOEXEC.
 * -1 with errno ENOENT outside the grants or when vaultd cannot render. */
int vs_shim_managed_fd(const char *canon, int flags);

/* The rendered size of a granted managed file, for the stat family; -1
 * with errno ENOENT outside the grants. */
long long vs_shim_managed_size(const char *canon);

/* One line on stderr, written with write(2): "vaultshim: " a b c. Only
 * for events worth a line in any process (an allowlisted tool's refused
 * grant, a setuid exec refused, a write to a managed path); an ordinary
 * process otherwise prints nothing. */
void vs_shim_say(const char *a, const char *b, const char *c);

#endif
