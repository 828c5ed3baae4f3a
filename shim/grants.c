/* A tool's grants inside the shim.
 *
 * Rules this file keeps:
 *  1. PR_SET_DUMPABLE 0 before any value can arrive. Where vaultd can
 *     inspect a non-dumpable process (the index says ONE_STEP): that first,
 *     then one round trip, GRANTS with ONE_STEP, answered by the values.
 *     Else GRANTS while dumpable (vaultd reads our maps and environ), then
 *     non-dumpable, then CONFIRM. The values land in a reply buffer and
 *     an entry region that are mmap'd, mlock'd and excluded from core dumps.
 *  2. Values enter environ as whole "NAME=value" entries in that region:
 *     a reserved slot of the start-up array is pointed at its entry (Go and
 *     bash read that array); other names get a new array with the entries
 *     appended (Python, node and coreutils read environ).
 *  3. Managed files are rendered by vaultd right after the grant (before
 *     the program can change its command line) into a sealed, 0600 memfd;
 *     every open gets an independent open of it. The request that grants
 *     asks for them too (WITH_FILES), so that they are rendered in its
 *     round; with an older vaultd, RENDER_FILE requests go right behind
 *     it. Either way the answers come in order after the GRANT_LIST.
 *  4. Fail closed with one line: vaultd down, a refusal, a bad answer:
 *     nothing granted, placeholders removed.
 *  5. At exit the region and the memfds are wiped and closed. */
#include "shim.h"

#include "client.h"
#include "error.h"
#include "forklock.h"
#include "grants.h"
#include "proto.h"
#include "rawsys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

#define REGION_BYTES (VS_PROTO_MAX_FRAME + 4096)
#define REPLY_BYTES (VS_PROTO_MAX_FRAME + 1)
/* How long a tool waits for vaultd at most (connect, each send, each
 * answer) before it runs without its grant. A shim grant never waits for a
 * person (approvals go through vault-exec), so only a stopped or wedged
 * vaultd takes this long; a first hash of a very large executable on a cold
 * disk takes seconds. */
#define ANSWER_BOUND_MS 15000

static const struct vs_index_tool *tool VS_HOT;
static char *region VS_HOT; /* "NAME=value\0" entries */
static size_t region_used;
static size_t values_end; /* the entries end here; an environ array may follow */
static char **grown_environ; /* an environ we allocated, with room to append */
static struct vs_forklock render_lock = VS_FORKLOCK_INIT;
/* The decoded answer (field references into a reply buffer, never values
 * themselves): 8 KiB, kept off the stack, where it cost a granted process
 * two or three fresh stack pages; in .bss only the page a small answer's
 * few fields touch faults in. One serves every answer: the fetch runs once,
 * at start-up, before any other thread gets past vs_once, and is done with
 * the grant's answer before it takes the renders'; later renders run under
 * render_lock. */
static struct vs_msg answer VS_COLD;

/* fork() while another thread renders would leave the child a locked
 * mutex: held across fork once used (forklock.h). */
static void render_prefork(void)
{
    vs_forklock_prefork(&render_lock);
}

static void render_parent(void)
{
    vs_forklock_parent(&render_lock);
}

static void render_child(void)
{
    vs_forklock_child(&render_lock);
}

__attribute__((constructor(103))) static void render_atfork(void)
{
    (void)pthread_atfork(render_prefork, render_parent, render_child);
}

/* Set when a buffer could not be locked: its pages may be swapped out,
 * which mincore cannot tell from never touched, so wipes cover everything. */
static bool some_unlocked;

/* Locked, not dumped, not inherited across exec (mappings never are).
 * MLOCK_ONFAULT locks each page as it is first touched, before the write
 * that touched it lands: no page that ever holds a value can be swapped,
 * and a small answer faults in one page instead of a whole frame's 17. */
static void *locked_pages(size_t len)
{
    void *p = vs_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* best effort either way: RLIMIT_MEMLOCK may be small; plain mlock on
     * kernels before 4.4 */
    if (vs_sys(SYS_mlock2, p, len, MLOCK_ONFAULT) != 0 && vs_mlock(p, len) != 0)
        some_unlocked = true;
    (void)vs_madvise(p, len, MADV_DONTDUMP);
    return p;
}

/* Zeroes len bytes at p. The empty asm that takes p and clobbers memory
 * keeps the compiler from dropping the memset as a dead store, as
 * explicit_bzero does; explicit_bzero's libc page is one a tool touches for
 * nothing else, memset's every real tool has touched already. */
static void wipe(void *p, size_t len)
{
    memset(p, 0, len);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* Only pages that were ever touched can hold a value; the rest were never
 * faulted in (and, locked, never swapped out), so mincore names the pages
 * to wipe. Wiping whole spans faulted in every page just to zero it: 51
 * page faults per granted process. */
static void wipe_touched(void *p, size_t len)
{
    size_t page = (size_t)getauxval(AT_PAGESZ);
    unsigned char resident[REGION_BYTES / 4096 + 2];
    size_t npages = page != 0 ? (len + page - 1) / page : 0;
    if (some_unlocked || npages == 0 || npages > sizeof resident || vs_sys(SYS_mincore, p, len, resident) != 0) {
        wipe(p, len);
        return;
    }
    for (size_t i = 0; i < npages; i++)
        if ((resident[i] & 1) != 0)
            wipe((char *)p + i * page, i + 1 < npages ? page : len - i * page);
}

static void wipe_unmap(void *p, size_t len)
{
    if (p == NULL)
        return;
    wipe_touched(p, len);
    (void)vs_munmap(p, len);
}

/* argv[1] of this process, when it is a script path (no option before). */
static bool read_script(char *out, size_t cap)
{
    char buf[4096];
    int fd = (int)vs_sys(SYS_openat, AT_FDCWD, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = vs_read(fd, buf, sizeof buf - 1);
    (void)vs_close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    size_t first = strlen(buf) + 1;
    if ((ssize_t)first >= n || buf[first] == '-' || buf[first] == '\0')
        return false;
    size_t len = strnlen(buf + first, (size_t)n - first);
    if (len >= cap)
        return false;
    memcpy(out, buf + first, len);
    out[len] = '\0';
    return true;
}

/* Apart, with its PATH_MAX buffers: every process runs identify, and a
 * frame of 8 KiB there cost each one two stack page faults (the stack
 * clash probes touch every page). */
__attribute__((noinline)) static void identify_script(const struct vs_index *idx, const struct stat *st)
{
    char script[PATH_MAX];
    struct stat sst;
    if (read_script(script, sizeof script) && stat(script, &sst) == 0)
        tool = vs_index_find_tool(idx, st->st_dev, st->st_ino, true, sst.st_dev, sst.st_ino);
}

void vs_grants_identify(void)
{
    if (!vs_shim.have_index)
        return;
    struct stat st;
    if (!vs_shim_self_stat(&st))
        return;
    const struct vs_index *idx = &vs_shim.index;
    if (vs_index_is_interpreter(idx, st.st_dev, st.st_ino))
        identify_script(idx, &st);
    if (tool == NULL)
        tool = vs_index_find_tool(idx, st.st_dev, st.st_ino, false, 0, 0);
    if (tool != NULL) {
        vs_shim.is_tool = true;
        vs_shim.tool_name = vs_index_tool_name(idx, tool);
    }
}

/* The index's env name i of our tool, or NULL. */
static const char *tool_env(size_t i)
{
    return tool != NULL ? vs_index_tool_env(&vs_shim.index, tool, i) : NULL;
}

const char *vs_grants_placeholder(const char *entry, size_t nlen)
{
    /* Static "NAME=" strings the slots point at until the value arrives. */
    static char slots[VS_SHIM_MAX_GRANTS][128] VS_COLD;
    const char *name;
    for (size_t i = 0; i < VS_SHIM_MAX_GRANTS && (name = tool_env(i)) != NULL; i++) {
        if (strlen(name) != nlen || strncmp(name, entry, nlen) != 0 || nlen + 2 > sizeof slots[i])
            continue;
        memcpy(slots[i], name, nlen);
        slots[i][nlen] = '=';
        slots[i][nlen + 1] = '\0';
        return slots[i];
    }
    return NULL;
}

bool vs_grants_is_ours(const char *entry)
{
    return region != NULL && entry >= region && entry < region + REGION_BYTES;
}

static char *add_entry(const char *name, size_t nlen, const uint8_t *value, size_t vlen)
{
    if (region_used + nlen + vlen + 2 > REGION_BYTES)
        return NULL;
    char *entry = region + region_used;
    memcpy(entry, name, nlen);
    entry[nlen] = '=';
    memcpy(entry + nlen + 1, value, vlen);
    entry[nlen + 1 + vlen] = '\0';
    region_used += nlen + vlen + 2;
    values_end = region_used;
    return entry;
}

static size_t env_count(char **env)
{
    size_t n = 0;
    while (env != NULL && env[n] != NULL)
        n++;
    return n;
}

/* Points an existing NAME= slot at entry in env; false when there is none. */
static bool fill_slot(char **env, const char *entry, size_t nlen)
{
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        if (strncmp(env[i], entry, nlen + 1) == 0) {
            env[i] = (char *)entry;
            return true;
        }
    return false;
}

/* Room for a new environ array after the entries, on the page they already
 * touched (a separate mapping cost a system call and a page fault); NULL
 * when it does not fit. The exit wipe stops at values_end, so a thread
 * still reading environ then never sees a pointer half zeroed. */
static char **array_in_region(size_t bytes)
{
    size_t at = (region_used + sizeof(char *) - 1) & ~(sizeof(char *) - 1);
    if (region == NULL || at > REGION_BYTES || bytes > REGION_BYTES - at)
        return NULL;
    region_used = at + bytes;
    return (char **)(void *)(region + at);
}

/* Installs the granted entries: into reserved slots of the start-up array
 * and of environ, and appended to a new environ for the rest. */
static void install(char **startup, char **entries, size_t n)
{
    char *append[VS_SHIM_MAX_GRANTS];
    size_t nappend = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nlen = (size_t)(strchr(entries[i], '=') - entries[i]);
        bool in_startup = startup != environ && fill_slot(startup, entries[i], nlen);
        (void)in_startup;
        if (!fill_slot(environ, entries[i], nlen))
            append[nappend++] = entries[i];
    }
    if (nappend == 0)
        return;
    size_t have = env_count(environ);
    size_t bytes = (have + nappend + 1) * sizeof(char *);
    char **grown = array_in_region(bytes);
    if (grown == NULL)
        grown = vs_mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (grown == MAP_FAILED)
        return;
    memcpy(grown, environ, have * sizeof(char *));
    memcpy(grown + have, append, nappend * sizeof(char *));
    grown[have + nappend] = NULL;
    grown_environ = grown;
    environ = grown;
}

/* Removes the placeholder slots after a refusal. */
static void drop_placeholders(char **env)
{
    size_t out = 0;
    for (size_t in = 0; env != NULL && env[in] != NULL; in++) {
        const char *eq = strchr(env[in], '=');
        bool placeholder = eq != NULL && eq[1] == '\0' && vs_grants_placeholder(env[in], (size_t)(eq - env[in])) == env[in];
        if (!placeholder)
            env[out++] = env[in];
    }
    if (env != NULL)
        env[out] = NULL;
}

static void refuse(char **startup, const char *why)
{
    drop_placeholders(startup);
    if (startup != environ)
        drop_placeholders(environ);
    vs_shim_say(vs_shim.tool_name != NULL ? vs_shim.tool_name : "tool", ": no grant: ", why);
}

static void reason_of(const struct vs_msg *m, int rc, char *out, size_t cap)
{
    int code = rc;
    out[0] = '\0';
    if (m->op == VS_OP_ERROR)
        (void)vs_msg_get_error(m, &code, out, cap);
    if (out[0] == '\0')
        (void)LAZY(snprintf)(out, cap, "vaultd refused (code %d)", code);
}

/* Reads a label from environ without our getenv hook. */
static const char *label(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* vaultd renders our files in the grant's round when asked (WITH_FILES);
 * an older vaultd (no such index flag) takes RENDER_FILE frames instead. */
static bool files_with_grant(void)
{
    return vs_shim.have_index && (vs_shim.index.flags & VS_INDEX_F_WITH_FILES) != 0 && tool != NULL &&
           vs_index_tool_file(&vs_shim.index, tool, 0) != NULL;
}

static int grants_frame(uint8_t *frame, size_t cap, bool one_step, bool with_files, size_t *len)
{
    struct vs_msg_writer w;
    vs_msg_begin(&w, frame, cap, VS_OP_GRANTS, 1);
    const char *agent = label("VAULT_AGENT"), *session = label("VAULT_SESSION");
    if (agent != NULL && agent[0] != '\0')
        (void)vs_msg_put_str(&w, VS_F_AGENT, agent);
    if (session != NULL && session[0] != '\0')
        (void)vs_msg_put_str(&w, VS_F_SESSION, session);
    if (one_step)
        (void)vs_msg_put_u32(&w, VS_F_ONE_STEP, 1);
    if (one_step && with_files)
        (void)vs_msg_put_u32(&w, VS_F_WITH_FILES, 1);
    return vs_msg_finish(&w, len);
}

static int confirm_frame(uint8_t *frame, size_t cap, bool with_files, size_t *len)
{
    struct vs_msg_writer w;
    vs_msg_begin(&w, frame, cap, VS_OP_CONFIRM, 1);
    if (with_files)
        (void)vs_msg_put_u32(&w, VS_F_WITH_FILES, 1);
    return vs_msg_finish(&w, len);
}

static int render_frame(const char *path, uint8_t *frame, size_t cap, size_t *len)
{
    struct vs_msg_writer w;
    vs_msg_begin(&w, frame, cap, VS_OP_RENDER_FILE, 2);
    (void)vs_msg_put_str(&w, VS_F_PATH, path);
    return vs_msg_finish(&w, len);
}

/* Sends a RENDER_FILE for each file the index gives our tool, right behind
 * the request that grants (GRANTS in one step, else CONFIRM): vaultd serves
 * them in the same round, so their audit lines share the grant's fsync and
 * no round trip is spent per file. Each frame is built in frame (cap
 * bytes). Returns how many went out. */
static size_t send_renders(int fd, uint8_t *frame, size_t cap)
{
    size_t sent = 0, len = 0;
    const char *path;
    while (tool != NULL && (path = vs_index_tool_file(&vs_shim.index, tool, sent)) != NULL &&
           render_frame(path, frame, cap, &len) == 0 && vs_client_send(fd, frame, len) == 0)
        sent++;
    return sent;
}

/* Copies the GRANT_LIST into environ entries and the file list. */
static int take_grants(const struct vs_msg *m, char **entries, size_t *n)
{
    size_t cursor = 0;
    struct vs_grant_ref g;
    *n = 0;
    while (vs_msg_next_grant(m, &cursor, &g) == 0) {
        if (*n == VS_SHIM_MAX_GRANTS)
            return VS_ETOOBIG;
        char *entry = add_entry((const char *)g.name->data, g.name->len, g.value->data, g.value->len);
        if (entry == NULL)
            return VS_ETOOBIG;
        entries[(*n)++] = entry;
    }
    cursor = 0;
    const struct vs_field_ref *path;
    while (vs_msg_next(m, VS_F_PATH, &cursor, &path) == 0) {
        if (vs_shim.nfiles == VS_SHIM_MAX_FILES || path->len >= PATH_MAX)
            return VS_ETOOBIG;
        struct vs_shim_file *f = &vs_tool.files[vs_shim.nfiles++];
        memcpy(f->path, path->data, path->len);
        f->path[path->len] = '\0';
        f->memfd = -1;
    }
    cursor = 0;
    const struct vs_field_ref *hide;
    while (vs_msg_next(m, VS_F_HIDE, &cursor, &hide) == 0)
        if (vs_shim_hide_add((const char *)hide->data, hide->len) != 0)
            return VS_ETOOBIG;
    return 0;
}

/* Our fds are the program's to close (closefrom, close_range at start):
 * a number is used only while it still names the file we opened there. */
static void remember(int fd, dev_t *dev, ino_t *ino)
{
    struct stat st;
    bool ok = fd >= 0 && vs_fstat(fd, &st) == 0;
    *dev = ok ? st.st_dev : 0;
    *ino = ok ? st.st_ino : 0;
}

static bool still_ours(int fd, dev_t dev, ino_t ino)
{
    struct stat st;
    return fd >= 0 && ino != 0 && vs_fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static int render(struct vs_shim_file *f);
static void take_renders(int fd, uint8_t *reply, size_t n);

/* Files are rendered now, before the tool's own code runs: vaultd checks
 * that the peer's command line is the one it granted, and a tool that
 * rewrites it later (npm sets process.title, which overwrites argv) would
 * be refused a file it asked for lazily. */
static void render_all(void)
{
    for (size_t i = 0; i < vs_shim.nfiles; i++)
        if (vs_tool.files[i].memfd < 0)
            (void)render(&vs_tool.files[i]);
}

void vs_grants_fetch(char **startup)
{
    int saved = errno;
    int fd = vs_shim.socket_path[0] != '\0' ? vs_client_connect_within(vs_shim.socket_path, ANSWER_BOUND_MS) : -1;
    if (fd < 0) {
        char why[200];
        (void)LAZY(snprintf)(why, sizeof why, "vaultd not answering at %s", vs_shim.socket_path);
        refuse(startup, why);
        errno = saved;
        return;
    }
    /* One locked mapping: the entries' region, then the reply buffer,
     * where the requests (which carry no value) are built too. */
    char *pages = locked_pages(REGION_BYTES + REPLY_BYTES);
    region = pages;
    uint8_t *reply = pages != NULL ? (uint8_t *)pages + REGION_BYTES : NULL;
    struct vs_msg *m = &answer;
    m->op = 0;
    m->nfields = 0;
    char *entries[VS_SHIM_MAX_GRANTS];
    size_t n = 0;
    int rc = pages != NULL ? 0 : VS_ENOMEM;
    /* Invariant 7: non-dumpable before any value can arrive. */
    bool one_step = vs_shim.have_index && (vs_shim.index.flags & VS_INDEX_F_ONE_STEP) != 0;
    int was_dumpable = vs_prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    bool with_files = files_with_grant();
    size_t len = 0, renders = 0;
    if (one_step) {
        if (rc == 0 && vs_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
            rc = VS_EPERM;
        if (rc == 0 && (rc = grants_frame(reply, REPLY_BYTES, true, with_files, &len)) == 0 &&
            (rc = vs_client_send(fd, reply, len)) == 0 && !with_files)
            renders = send_renders(fd, reply, REPLY_BYTES);
    } else {
        if (rc == 0 && (rc = grants_frame(reply, REPLY_BYTES, false, false, &len)) == 0)
            rc = vs_client_call(fd, reply, len, reply, REPLY_BYTES, m);
        if (rc == 0 && vs_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
            rc = VS_EPERM;
        if (rc == 0 && (rc = confirm_frame(reply, REPLY_BYTES, with_files, &len)) == 0 &&
            (rc = vs_client_send(fd, reply, len)) == 0 && !with_files)
            renders = send_renders(fd, reply, REPLY_BYTES);
    }
    if (rc == 0)
        rc = vs_client_recv(fd, reply, REPLY_BYTES, m);
    bool timed_out = rc == VS_EIO && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (rc == 0 && m->op != VS_OP_GRANT_LIST)
        rc = VS_EPROTO;
    if (rc == 0)
        rc = take_grants(m, entries, &n);
    if (rc != 0) {
        char why[512];
        reason_of(m, rc, why, sizeof why);
        if (rc == VS_ETOOBIG || rc == VS_EPROTO || rc == VS_ENOMEM)
            (void)LAZY(snprintf)(why, sizeof why, "malformed or oversized answer from vaultd");
        else if (timed_out)
            (void)LAZY(snprintf)(why, sizeof why, "vaultd did not answer within %d s at %s", ANSWER_BOUND_MS / 1000,
                           vs_shim.socket_path);
        refuse(startup, why);
        wipe_unmap(region, REGION_BYTES);
        region = NULL;
        region_used = 0;
        values_end = 0;
        vs_shim.nfiles = 0;
        (void)vs_close(fd);
    } else {
        install(startup, entries, n);
        vs_shim.ngrants = n;
        vs_shim.granted = true;
        /* A node tool must not open its inspector on SIGUSR1 (signals.c):
         * ignore it now, before node's own start-up could claim it. */
        if (strstr(vs_tool.exe_path, "/node") != NULL)
            (void)signal(SIGUSR1, SIG_IGN);
        vs_shim.sock = fd; /* SOCK_CLOEXEC: never crosses an exec */
        remember(fd, &vs_shim.sock_dev, &vs_shim.sock_ino);
        /* WITH_FILES: vaultd renders each file the GRANT_LIST names. */
        take_renders(fd, reply, with_files ? vs_shim.nfiles : renders);
        render_all();
    }
    /* Refused before any value arrived: the program runs as it would have
     * (dumpable, core files), like any other process outside a grant. */
    if (one_step && !vs_shim.granted && m->op != VS_OP_GRANT_LIST && was_dumpable == 1)
        (void)vs_prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    wipe_unmap(reply, REPLY_BYTES);
    errno = saved;
}

static struct vs_shim_file *granted_file_n(const char *path, size_t len)
{
    if (path == NULL || len == 0) /* granted paths are absolute */
        return NULL;
    for (size_t i = 0; i < vs_shim.nfiles; i++)
        if (strlen(vs_tool.files[i].path) == len && memcmp(vs_tool.files[i].path, path, len) == 0)
            return &vs_tool.files[i];
    return NULL;
}

static struct vs_shim_file *granted_file(const char *canon)
{
    return granted_file_n(canon, strlen(canon));
}

/* A rendered file's bytes in a sealed 0600 memfd; -1 on failure. */
static int seal_memfd(const uint8_t *data, size_t dlen)
{
    int fd = (int)vs_sys(SYS_memfd_create, "vaultshim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    bool ok = vs_fchmod(fd, 0600) == 0;
    for (size_t off = 0; ok && off < dlen;) {
        ssize_t k = vs_write(fd, data + off, dlen - off);
        ok = k > 0;
        off += ok ? (size_t)k : 0;
    }
    ok = ok && vs_fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) == 0;
    if (!ok) {
        (void)vs_close(fd);
        return -1;
    }
    return fd;
}

/* A RENDER_FILE answer into the granted file it names (compared in place:
 * a copy would take a PATH_MAX buffer, a fresh stack page, in every
 * granted process; a name with a NUL in it matches no granted path). */
static int take_render(const struct vs_msg *m)
{
    const uint8_t *path = NULL, *data = NULL;
    size_t plen = 0, dlen = 0;
    int rc = vs_msg_get_bytes(m, VS_F_PATH, &path, &plen);
    if (rc == 0)
        rc = vs_msg_get_bytes(m, VS_F_FILE_DATA, &data, &dlen);
    struct vs_shim_file *f = rc == 0 ? granted_file_n((const char *)path, plen) : NULL;
    if (f == NULL || f->memfd >= 0)
        return rc != 0 ? rc : VS_EPROTO;
    f->memfd = seal_memfd(data, dlen);
    if (f->memfd < 0)
        return VS_EIO;
    remember(f->memfd, &f->dev, &f->ino);
    return 0;
}

/* The answers to send_renders, in order; a refusal ends the connection
 * (vaultd drops a peer it refused), and render_all says what is missing. */
static void take_renders(int fd, uint8_t *reply, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        wipe_touched(reply, REPLY_BYTES);
        if (vs_client_recv(fd, reply, REPLY_BYTES, &answer) != 0 || take_render(&answer) != 0)
            return;
    }
}

/* Asks vaultd for the file and seals it into a 0600 memfd. */
static int render(struct vs_shim_file *f)
{
    uint8_t *reply = locked_pages(REPLY_BYTES);
    size_t len = 0;
    int rc = reply == NULL ? VS_ENOMEM : render_frame(f->path, reply, REPLY_BYTES, &len);
    if (rc == 0 && !still_ours(vs_shim.sock, vs_shim.sock_dev, vs_shim.sock_ino)) {
        vs_shim.sock = -1; /* closed by the program: no more renders */
        rc = VS_EIO;
    }
    if (rc == 0)
        rc = vs_client_call(vs_shim.sock, reply, len, reply, REPLY_BYTES, &answer);
    if (rc == 0)
        rc = take_render(&answer);
    wipe_unmap(reply, REPLY_BYTES);
    if (rc != 0) {
        vs_shim_say(vs_shim.tool_name != NULL ? vs_shim.tool_name : "tool", ": cannot render ", f->path);
        return -1;
    }
    return 0;
}

static struct vs_shim_file *rendered(const char *canon)
{
    struct vs_shim_file *f = vs_shim.granted ? granted_file(canon) : NULL;
    if (f == NULL)
        return NULL;
    vs_forklock_lock(&render_lock);
    if (f->memfd >= 0 && !still_ours(f->memfd, f->dev, f->ino))
        f->memfd = -1; /* closed by the program; the number is not ours */
    int rc = f->memfd >= 0 ? 0 : render(f);
    vs_forklock_unlock(&render_lock);
    return rc == 0 ? f : NULL;
}

int vs_shim_managed_fd(const char *canon, int flags)
{
    int saved = errno;
    struct vs_shim_file *f = rendered(canon);
    if (f == NULL) {
        errno = ENOENT;
        return -1;
    }
    /* A new open file description, so each open has its own offset. */
    char path[64];
    (void)vs_shim_fd_path(path, sizeof path, f->memfd, NULL); /* 64 bytes hold any fd's */
    int fd = (int)vs_sys(SYS_openat, AT_FDCWD, path, O_RDONLY | (flags & O_CLOEXEC));
    if (fd < 0)
        return -1;
    errno = saved;
    return fd;
}

long long vs_shim_managed_size(const char *canon)
{
    struct vs_shim_file *f = rendered(canon);
    struct stat st;
    if (f == NULL || vs_fstat(f->memfd, &st) != 0) {
        errno = ENOENT;
        return -1;
    }
    return (long long)st.st_size;
}

void vs_grants_wipe(void)
{
    for (size_t i = 0; i < vs_shim.nfiles; i++)
        if (still_ours(vs_tool.files[i].memfd, vs_tool.files[i].dev, vs_tool.files[i].ino))
            (void)vs_close(vs_tool.files[i].memfd);
    if (region != NULL)
        wipe_touched(region, values_end);
    if (still_ours(vs_shim.sock, vs_shim.sock_dev, vs_shim.sock_ino))
        (void)vs_close(vs_shim.sock);
    vs_shim.sock = -1;
}
