/* The shim's start: resolve, map the index, find out whether this process
 * is a tool, scrub the environment, and (for a tool) fetch its grants.
 *
 * Rules this file keeps:
 *  1. A process outside every grant does a readlink, a stat and an index
 *     look-up, and no socket round trip.
 *  2. Protected names leave environ in place (the array other runtimes read)
 *     and their bytes are overwritten, so /proc/self/environ shows nothing.
 *     For a tool, the slots of names it may be granted stay (pointing at a
 *     bare "NAME="), so that Go and bash, which read the start-up array,
 *     see the value once it arrives; they are removed if it does not.
 *  3. Everything works when a hook runs before our constructor. */
#include "shim.h"

#include "grants.h"
#include "once.h"
#include "paths.h"
#include "rawsys.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

/* Zero-initialised (.bss: vs_tool is 70 KiB, not to be read from the
 * file as .data): sock becomes -1 in prepare(), before anything can use it. */
VS_HOT_STATE struct vs_shim vs_shim;
VS_COLD struct vs_shim_tool vs_tool;
_Thread_local int vs_shim_guard;

static atomic_int prepare_once VS_HOT = VS_ONCE_INIT;
/* The start-up environment's strings, after scrubbing: a getenv answer in
 * this range cannot be a protected name (see vs_shim_in_startup_env). */
VS_HOT const char *vs_shim_startup_lo, *vs_shim_startup_hi;
static volatile int prepared VS_HOT;
static _Thread_local int preparing;
/* Small indexes are read into this buffer rather than mapped: cheaper per
 * process, and immune to the file being truncated under a mapping. */
static unsigned char index_buf[64 * 1024] VS_HOT_INDEX;
/* vault-exec started this tool with its grants in the environment
 * (VAULTSHIM_MEDIATED=1): keep the tool's own names, fetch nothing. The
 * marker gives nothing to a process that sets it itself: protected values
 * never reach an agent's environment in the first place. */
static bool mediated VS_HOT;
#define MEDIATED_MARKER "VAULTSHIM_MEDIATED=1"

void vs_shim_say(const char *a, const char *b, const char *c)
{
    const char *parts[] = {"vaultshim: ", a, b, c, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i] != NULL && vs_write(2, parts[i], strlen(parts[i])) < 0)
            return;
}

/* Our own image spans [__ehdr_start, _end): a pointer inside it is one of
 * our hooks. (dladdr would answer too, with a linear symbol scan per call:
 * most of the shim's start-up cost when it was used here.) */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));

/* abort() without importing it (it is only reached when something is
 * badly wrong): SIGABRT to this thread, then exit should it be caught. */
static _Noreturn void cannot_go_on(void)
{
    (void)vs_sys(SYS_tgkill, vs_sys(SYS_getpid), vs_sys(SYS_gettid), SIGABRT);
    (void)vs_sys(SYS_exit_group, 127);
    __builtin_unreachable();
}

void *vs_shim_next(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn != NULL && (const char *)fn >= __ehdr_start && (const char *)fn < _end) {
        vs_shim_say("circular reference resolving ", name, ": refusing to recurse");
        cannot_go_on();
    }
    return fn;
}

void *vs_shim_real(void *_Atomic *slot, const char *name)
{
    void *fn = atomic_load_explicit(slot, memory_order_acquire);
    if (fn == NULL) {
        fn = vs_shim_next(name);
        atomic_store_explicit(slot, fn, memory_order_release);
    }
    return fn;
}

void *vs_shim_lazy(void *_Atomic *slot, const char *name)
{
    void *fn = vs_shim_real(slot, name);
    if (fn == NULL) {
        vs_shim_say("libc has no ", name, ": cannot go on");
        cannot_go_on();
    }
    return fn;
}

/* The start-up argv, from our constructor (NULL when a hook ran first). */
static char **startup_argv VS_HOT;

/* Is fn among argv[1..2]? binfmt_script and binfmt_misc run an interpreter
 * with the file execve was given there (after the interpreter's optional
 * argument); AT_EXECFN then names the script, not our executable. */
static bool execfn_in_argv(const char *fn)
{
    for (int i = 1; i <= 2 && startup_argv[i - 1] != NULL && startup_argv[i] != NULL; i++)
        if (strcmp(startup_argv[i], fn) == 0)
            return true;
    return false;
}

/* stat(2) without our own stat hook (and its dlsym of the real stat). */
static int raw_stat(const char *path, struct stat *st)
{
#if defined(__x86_64__) || defined(__aarch64__)
    /* struct stat is the kernel's layout on these two. */
    return (int)vs_sys(SYS_newfstatat, AT_FDCWD, path, st, 0);
#else
    return stat(path, st);
#endif
}

bool vs_shim_self_stat(struct stat *st)
{
    /* AT_EXECFN, the absolute path execve was given, names our executable
     * without /proc/self/exe, whose first use costs a new process 13 us (the
     * kernel builds the pid's /proc entries). Not for a relative path, a
     * script or binfmt_misc run, or an unknown argv: then /proc/self/exe.
     * The answer only decides whether to ask vaultd, which decides from the
     * kernel's /proc/PID/exe: a file swapped under the path fails closed. */
    const char *fn = (const char *)getauxval(AT_EXECFN);
    if (fn != NULL && fn[0] == '/' && startup_argv != NULL && startup_argv[0] != NULL && !execfn_in_argv(fn) &&
        raw_stat(fn, st) == 0 && S_ISREG(st->st_mode))
        return true;
    return raw_stat("/proc/self/exe", st) == 0;
}

/* The environment entry's name length ("NAME=value" -> 4). */
static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq != NULL ? (size_t)(eq - entry) : strlen(entry);
}

/* Removes protected entries from env in place, wiping their bytes; slots
 * this tool may be granted are kept as "NAME=" placeholders. */
static void scrub(char **env)
{
    if (env == NULL)
        return;
    const struct vs_index *idx = vs_shim.have_index ? &vs_shim.index : NULL;
    size_t out = 0;
    for (size_t in = 0; env[in] != NULL; in++) {
        char *entry = env[in];
        /* The marker is for this process only: a tool this one runs
         * fetches its own grants. */
        if (strcmp(entry, MEDIATED_MARKER) == 0)
            continue;
        bool keep_mediated = mediated && vs_shim.is_tool && vs_grants_placeholder(entry, name_len(entry)) != NULL;
        if (!vs_index_entry_protected(idx, entry) || vs_grants_is_ours(entry) || keep_mediated) {
            env[out++] = entry;
            continue;
        }
        size_t len = strlen(entry), nlen = name_len(entry);
        const char *slot = vs_shim.is_tool ? vs_grants_placeholder(entry, nlen) : NULL;
        /* Overwrite the value (and the name, unless the slot stays) so the
         * kernel's view of our environment no longer has it. */
        memset(entry + (slot != NULL ? nlen + 1 : 0), 0, len - (slot != NULL ? nlen + 1 : 0));
        if (slot != NULL)
            env[out++] = (char *)slot;
    }
    env[out] = NULL;
}

/* entry starts with prefix; returns what follows, else NULL. A loop, not
 * strncmp: the start-up then touches no libc page of its own. */
static const char *after_prefix(const char *entry, const char *prefix)
{
    while (*prefix != '\0' && *entry == *prefix)
        entry++, prefix++;
    return *prefix == '\0' ? entry : NULL;
}

static void find_socket(void)
{
    /* Read VAULT_SOCKET from environ directly: our getenv hook must not run
     * while we are still preparing. */
    const char *value = NULL, *v;
    for (char **e = environ; e != NULL && *e != NULL; e++)
        if ((v = after_prefix(*e, "VAULT_SOCKET=")) != NULL)
            value = v;
    size_t n = 0;
    while (value != NULL && n < sizeof vs_shim.socket_path && value[n] != '\0')
        n++;
    if (value != NULL && value[0] == '/' && n < sizeof vs_shim.socket_path) {
        for (size_t i = 0; i <= n; i++) /* with its NUL */
            vs_shim.socket_path[i] = value[i];
    } else if (vs_socket_path(vs_shim.socket_path, sizeof vs_shim.socket_path) != 0) {
        vs_shim.socket_path[0] = '\0';
    }
}

/* dladdr scans symbols (3k instructions): only a process that starts a
 * program needs the answer, so it is looked up then, not at start. */
static const char *_Atomic self_path;

const char *vs_shim_self_path(void)
{
    const char *path = atomic_load_explicit(&self_path, memory_order_acquire);
    if (path != NULL)
        return path;
    Dl_info info;
    path = "";
    int saved = errno; /* the exec hooks leave errno alone */
    if (LAZY(dladdr)((void *)vs_shim_ready, &info) != 0 && info.dli_fname != NULL &&
        strnlen(info.dli_fname, PATH_MAX) < PATH_MAX)
        path = info.dli_fname;
    errno = saved;
    atomic_store_explicit(&self_path, path, memory_order_release);
    return path;
}

/* Our executable's path serves a tool only (its node check, its messages):
 * a process outside every grant does not pay the readlink. */
static void find_exe_path(void)
{
    ssize_t n = vs_readlink("/proc/self/exe", vs_tool.exe_path, sizeof vs_tool.exe_path - 1);
    vs_tool.exe_path[n > 0 ? (size_t)n : 0] = '\0';
}

static void map_index(void)
{
    char path[sizeof vs_shim.socket_path + 8];
    if (vs_shim.socket_path[0] == '\0' || vs_index_path(vs_shim.socket_path, path, sizeof path) != 0)
        return;
    int saved = errno;
    vs_shim.have_index = vs_index_load(path, index_buf, sizeof index_buf, &vs_shim.index) == 0;
    errno = saved;
}

static void prepare(void)
{
    preparing = 1;
    vs_shim.sock = -1;
    int saved = errno;
    find_socket();
    for (char **e = environ; e != NULL && *e != NULL; e++)
        if (strcmp(*e, MEDIATED_MARKER) == 0)
            mediated = true;
    map_index();
    vs_grants_identify(); /* sets is_tool from the exe (and script) */
    if (vs_shim.is_tool)
        find_exe_path();
    scrub(environ);
    errno = saved;
    prepared = 1;
    preparing = 0;
}

bool vs_shim_ready(void)
{
    if (prepared)
        return true;
    if (preparing)
        return false;
    vs_once(&prepare_once, prepare);
    return prepared != 0;
}

/* The address range of the start-up array's strings (one contiguous block
 * the kernel laid out). Strings outside it (our placeholders, grants, a
 * setenv's copy) are not in the range. */
static void remember_startup_block(char **envp)
{
    const char *lo = NULL, *hi = NULL;
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        if (vs_grants_is_ours(envp[i]))
            continue;
        const char *end = envp[i] + strlen(envp[i]);
        if (lo == NULL || envp[i] < lo)
            lo = envp[i];
        if (hi == NULL || end > hi)
            hi = end;
    }
    /* A gap of more than 256 KiB means these are not one block (an
     * earlier constructor's setenv put heap strings in): no fast path. */
    if (lo != NULL && (size_t)(hi - lo) < 256 * 1024) {
        vs_shim_startup_lo = lo;
        vs_shim_startup_hi = hi;
    }
}


/* glibc passes argc, argv and envp to ELF constructors: envp is the
 * start-up array, which may no longer be environ if an earlier constructor
 * called setenv. Both are scrubbed. */
__attribute__((constructor(101))) static void vs_shim_start(int argc, char **argv, char **envp)
{
    (void)argc;
    if (!prepared)
        startup_argv = argv;
    if (!vs_shim_ready())
        return;
    if (envp != environ)
        scrub(envp);
    remember_startup_block(envp);
    if (vs_shim.is_tool && mediated)
        (void)vs_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* invariant 7: it holds values */
    else if (vs_shim.is_tool)
        vs_grants_fetch(envp);
}

__attribute__((destructor)) static void vs_shim_stop(void)
{
    if (prepared) /* else there is nothing to wipe, and sock is not -1 yet */
        vs_grants_wipe();
}
