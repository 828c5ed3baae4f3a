/* The refusals vaultd makes from a peer's kernel facts: what it runs
 * (executable, script), where (namespaces), untampered (tracer, mappings,
 * environment) and order (non-dumpable). Each check returns 0 or
 * VS_EDENIED with one reason line for the audit log. Rules:
 *  1. A reason names a path, a pid or a variable's NAME; never an
 *     environment value, never a whole argument.
 *  2. Anything unexpected (an unparsable line, an escaped path, a file that
 *     moved) is a refusal, not a pass.
 *  3. /proc reads go through p->procfd and are bounded. */
#include "peer_int.h"

#include "error.h"
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define STATUS_CAP (1024u * 1024u)
#define MAPS_BUF (64u * 1024u)      /* > the longest line: PATH_MAX + ~100 */
#define MAPS_MAX_LINES (1u << 20)  /* vm.max_map_count is 65530 by default */
#define SHOWN_MAX 64

/* A printable, bounded copy of a name or option for a reason line: bytes
 * outside printable ASCII become '?', and it stops at '=' (never a value). */
static const char *shown(const char *s, size_t len, char out[SHOWN_MAX + 4])
{
    size_t n = 0;
    for (; n < len && n < SHOWN_MAX && s[n] != '=' && s[n] != '\0'; n++)
        out[n] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
    bool cut = n == SHOWN_MAX && n < len && s[n] != '=' && s[n] != '\0';
    if (cut) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int vs_peer_check_exe(const struct vs_peer *p)
{
    if (p->opaque)
        return vs_fail(VS_EDENIED, "vaultd cannot inspect this process (it is not dumpable and vaultd "
                                   "has no ptrace access to it)");
    bool initialised = false;
    bool loader = vs_peer_is_loader(p->exe.dev, p->exe.ino, &initialised);
    if (!initialised)
        return vs_fail(VS_EINVAL, "vs_peer_init was not called");
    const char *path = p->exe_path != NULL ? p->exe_path : "?";
    if (strncmp(path, "/memfd:", 7) == 0)
        return vs_fail(VS_EDENIED, "executable is a memfd (%s)", path);
    if (p->exe_nlink == 0 || ends_with(path, " (deleted)"))
        return vs_fail(VS_EDENIED, "executable was deleted or is anonymous (%s)", path);
    if (!S_ISREG(p->exe_mode))
        return vs_fail(VS_EDENIED, "executable is not a regular file (%s)", path);
    if (loader)
        return vs_fail(VS_EDENIED, "executable is the dynamic loader run directly (%s)", path);
    return 0;
}

/* One read of /proc/PID/status: the tracer as of now, and the NSpid depth,
 * which a process keeps for its life (so it is kept for later checks). */
static int read_status(struct vs_peer *p, long *tracer)
{
    char *text = NULL;
    size_t len = 0;
    int rc = vs_proc_read_fd(p->statusfd, "/proc/PID/status", STATUS_CAP, &text, &len);
    if (rc != 0)
        return rc;
    size_t vlen = 0;
    const char *v = vs_proc_status_field(text, "NSpid", &vlen);
    if (v == NULL) {
        free(text);
        return vs_fail(VS_EIO, "/proc/PID/status has no NSpid line");
    }
    unsigned count = 0;
    for (size_t i = 0; i < vlen; i++)
        if (v[i] >= '0' && v[i] <= '9' && (i == 0 || v[i - 1] == '\t' || v[i - 1] == ' '))
            count++;
    if (count == 0) {
        free(text);
        return vs_fail(VS_EDENIED, "peer's NSpid line is empty");
    }
    p->nspid_count = count;
    long long t = -1;
    *tracer = vs_proc_status_number(text, "TracerPid", &t) && t >= 0 ? (long)t : -1;
    free(text);
    return 0;
}

int vs_peer_check_namespaces(struct vs_peer *p, bool allow)
{
    long tracer;
    int rc = p->nspid_count == 0 ? read_status(p, &tracer) : 0;
    if (rc != 0)
        return rc;
    if (allow)
        return 0;
    if (p->nspid_count > 1)
        return vs_fail(VS_EDENIED, "peer is in a non-initial pid namespace (%u NSpid entries)",
                       p->nspid_count);
    if (p->foreign_userns)
        return vs_fail(VS_EDENIED, "peer is in another user namespace");
    return 0;
}

/* What the path names now, resolved as the interpreter resolved it: from
 * the peer's working folder (vs_peer_openat_cwd) when relative. Not
 * covered: a peer that chdir'd or chroot'ed after starting its script, and
 * a script swapped after the interpreter read it; a policy that pins a
 * script should keep it in a trusted folder (vs_path_trusted). */
int vs_peer_script(const struct vs_peer *p, int *script_index, dev_t *dev, ino_t *ino)
{
    char show[SHOWN_MAX + 4];
    if (p->argc < 2 || p->argv[1][0] == '\0')
        return vs_fail(VS_EDENIED, "interpreter without a script (code from stdin or a prompt)");
    const char *arg = p->argv[1];
    if (arg[0] == '-')
        return vs_fail(VS_EDENIED, "interpreter option before the script (%s)",
                       shown(arg, strlen(arg), show));
    /* O_PATH: no read permission needed, and a FIFO cannot block us. */
    int fd = vs_peer_openat_cwd(p, arg, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return vs_fail_errno(VS_EDENIED, "script %s does not open", shown(arg, strlen(arg), show));
    struct stat st;
    int rc = fstat(fd, &st);
    close(fd);
    if (rc != 0)
        return vs_fail_errno(VS_EIO, "fstat of the script");
    if (!S_ISREG(st.st_mode))
        return vs_fail(VS_EDENIED, "script %s is not a regular file", shown(arg, strlen(arg), show));
    *script_index = 1;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

int vs_peer_check_tracer(struct vs_peer *p)
{
    long tracer = -1;
    int rc = read_status(p, &tracer); /* always fresh: a tracer can attach any time */
    if (rc != 0)
        return rc;
    if (tracer < 0)
        return vs_fail(VS_EDENIED, "peer's TracerPid is unreadable");
    if (tracer != 0)
        return vs_fail(VS_EDENIED, "tracer attached (TracerPid %ld)", tracer);
    return 0;
}

static bool same_dev(const struct stat *st, unsigned long maj, unsigned long min)
{
    return major(st->st_dev) == maj && minor(st->st_dev) == min;
}

/* Before Linux 6.8 (file_user_inode), maps shows an overlayfs file's path
 * with the device of the layer below, while stat of the path shows the
 * overlay's device (the inode number is the same on a single-filesystem
 * overlay, Docker's case). There the inode number alone ties them. */
static bool on_overlayfs(const char *path)
{
    struct statfs fs;
    return statfs(path, &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC;
}

/* One line of /proc/PID/maps: "start-end perms offset MAJ:MIN inode path".
 * The path starts after the padding that follows the inode and may hold
 * spaces; the kernel appends " (deleted)" and escapes '\n' as "\012"
 * (a real backslash is not escaped, so any backslash is ambiguous). */
static int check_map_line(char *line, size_t len, uid_t vault_uid)
{
    char *f[5];
    char *p = line, *end = line + len;
    for (int i = 0; i < 5; i++) {
        while (p < end && *p == ' ')
            p++;
        f[i] = p;
        while (p < end && *p != ' ')
            p++;
        if (p == f[i])
            return vs_fail(VS_EDENIED, "/proc/PID/maps: malformed line");
        if (p < end)
            *p++ = '\0';
    }
    if (strlen(f[1]) != 4)
        return vs_fail(VS_EDENIED, "/proc/PID/maps: malformed permissions");
    if (f[1][2] != 'x')
        return 0;
    while (p < end && *p == ' ')
        p++;
    const char *path = p; /* NUL-terminated by the caller */
    unsigned long maj = 0, min = 0;
    unsigned long long ino = 0;
    char *q = NULL;
    errno = 0;
    maj = strtoul(f[3], &q, 16);
    if (errno != 0 || q == f[3] || *q != ':')
        return vs_fail(VS_EDENIED, "/proc/PID/maps: malformed device");
    char *r = q + 1;
    min = strtoul(r, &q, 16);
    if (errno != 0 || q == r || *q != '\0')
        return vs_fail(VS_EDENIED, "/proc/PID/maps: malformed device");
    ino = strtoull(f[4], &q, 10);
    if (errno != 0 || q == f[4] || *q != '\0')
        return vs_fail(VS_EDENIED, "/proc/PID/maps: malformed inode");
    if (ino == 0 && (path[0] == '\0' || path[0] == '['))
        return 0; /* anonymous (JIT), [vdso], [vsyscall], [stack] */
    if (strncmp(path, "/memfd:", 7) == 0)
        return vs_fail(VS_EDENIED, "executable mapping of a memfd (%s)", path);
    if (ends_with(path, " (deleted)"))
        return vs_fail(VS_EDENIED, "executable mapping of a deleted file (%s)", path);
    if (path[0] != '/')
        return vs_fail(VS_EDENIED, "executable mapping of a non-file (%s)", path);
    if (strchr(path, '\\') != NULL)
        return vs_fail(VS_EDENIED, "executable mapping with an escaped path (%s)", path);
    struct stat st;
    if (stat(path, &st) != 0)
        return vs_fail_errno(VS_EDENIED, "executable mapping %s is not at its path", path);
    if ((unsigned long long)st.st_ino != ino || !(same_dev(&st, maj, min) || on_overlayfs(path)))
        return vs_fail(VS_EDENIED, "executable mapping %s is not the file at that path", path);
    int rc = vs_trusted_mapping(path, &st, vault_uid);
    if (rc == VS_EDENIED)
        return vs_fail(VS_EDENIED, "untrusted executable mapping: %s", vs_last_error(rc));
    return rc;
}

int vs_peer_check_maps(const struct vs_peer *p, uid_t vault_uid)
{
    int fd = openat(p->procfd, "maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vs_fail_errno(VS_EDENIED, "cannot read the peer's maps");
    char *buf = malloc(MAPS_BUF + 1);
    if (buf == NULL) {
        close(fd);
        return vs_fail(VS_ENOMEM, "maps: out of memory");
    }
    size_t have = 0, lines = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, MAPS_BUF - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = vs_fail_errno(VS_EDENIED, "reading the peer's maps");
            break;
        }
        have += (size_t)n;
        size_t start = 0;
        char *nl;
        while (rc == 0 && (nl = memchr(buf + start, '\n', have - start)) != NULL) {
            *nl = '\0';
            if (++lines > MAPS_MAX_LINES)
                rc = vs_fail(VS_EDENIED, "peer has more than %u mappings", MAPS_MAX_LINES);
            else
                rc = check_map_line(buf + start, (size_t)(nl - (buf + start)), vault_uid);
            start = (size_t)(nl - buf) + 1;
        }
        if (rc != 0)
            break;
        memmove(buf, buf + start, have - start);
        have -= start;
        if (n == 0) {
            if (have > 0) { /* a last line without '\n' */
                buf[have] = '\0';
                rc = check_map_line(buf, have, vault_uid);
            }
            break;
        }
        if (have == MAPS_BUF) {
            rc = vs_fail(VS_EDENIED, "/proc/PID/maps: line over %u bytes", MAPS_BUF);
            break;
        }
    }
    free(buf);
    close(fd);
    return rc;
}

/* Variables whose value is a path and whose threat is only a path the
 * agent controls. Machines commonly point the CA variables at the system
 * bundle (corporate proxies do), and git passes GIT_EXEC_PATH=/usr/lib/
 * git-core to every helper it starts (git-remote-http among them): no
 * threat when the file or folder is trusted (root's or the vault owner's,
 * not writable by the agent). Anywhere else they stay refused: a CA the
 * agent wrote is a man in the middle, a helper folder it wrote is code. */
static const char *const trusted_path_vars[] = {
    "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
    "AWS_CA_BUNDLE", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_EXEC_PATH",
};

/* Values one environment check found trusted: machines often point all
 * six CA variables at the same bundle, which is then stat'ed once. */
#define TRUSTED_SEEN_MAX 4
struct trusted_seen {
    const char *value[TRUSTED_SEEN_MAX];
    size_t n;
};

static bool trusted_path_value(const char *entry, uid_t vault_uid, struct trusted_seen *seen)
{
    const char *eq = strchr(entry, '=');
    if (eq == NULL || eq[1] != '/')
        return false;
    size_t nlen = (size_t)(eq - entry);
    for (size_t i = 0; i < sizeof trusted_path_vars / sizeof trusted_path_vars[0]; i++) {
        if (strlen(trusted_path_vars[i]) != nlen || strncmp(entry, trusted_path_vars[i], nlen) != 0)
            continue;
        for (size_t k = 0; k < seen->n; k++)
            if (strcmp(seen->value[k], eq + 1) == 0)
                return true;
        if (vs_path_trusted_cached(eq + 1, vault_uid) != 0) /* one stat once known */
            return false;
        if (seen->n < TRUSTED_SEEN_MAX)
            seen->value[seen->n++] = eq + 1;
        return true;
    }
    return false;
}

/* VS_INJ_LOADER is always checked, whatever kinds says. */
int vs_peer_check_environ(const struct vs_peer *p, unsigned kinds, const char *own_preload, uid_t vault_uid)
{
    char *env = NULL;
    size_t len = 0;
    kinds |= VS_INJ_LOADER;
    int rc = vs_proc_read(p->procfd, "environ", "/proc/PID/environ", VS_PEER_MAX_ENVIRON, &env,
                          &len);
    if (rc == VS_ETOOBIG)
        return vs_fail(VS_EDENIED, "environment is over %u bytes", VS_PEER_MAX_ENVIRON);
    if (rc != 0)
        return rc;
    char show[SHOWN_MAX + 4];
    struct trusted_seen seen = {.n = 0};
    struct vs_inject_scan scan;
    vs_inject_scan_init(&scan, kinds);
    for (size_t i = 0; i < len;) { /* env[len] is NUL: every entry ends */
        size_t elen = strlen(env + i);
        const char *reason = vs_inject_scan_check(&scan, env + i, elen, own_preload);
        if (reason != NULL && trusted_path_value(env + i, vault_uid, &seen))
            reason = NULL;
        if (reason != NULL) {
            rc = vs_fail(VS_EDENIED, "environment variable %s refused (%s)",
                         shown(env + i, elen, show), reason);
            vs_proc_free(env, len);
            return rc;
        }
        i += elen + 1;
    }
    /* Every entry is checked above (with the trusted-path exception);
     * what remains are the rules about the environment as a whole. */
    const char *reason = vs_inject_check_whole(env, len, kinds);
    vs_proc_free(env, len);
    if (reason != NULL)
        return vs_fail(VS_EDENIED, "environment refused (%s)", reason);
    return 0;
}

/* Facts (checked on Linux 6.18, see tests/unit/test_peer.c):
 *  - prctl(PR_SET_DUMPABLE, 0) makes root the owner of /proc/PID/maps,
 *    environ, status, ns/... while /proc/PID itself keeps the euid;
 *  - a non-root reader without CAP_SYS_PTRACE then gets EACCES on maps
 *    and environ, but still reads status, stat and cmdline;
 *  - setresuid() from root also clears dumpable (fs.suid_dumpable=0), and
 *    execve of a readable file sets it again.
 * So for a non-root peer the owner of maps is the signal, whatever
 * vaultd's own privileges (stat needs no ptrace access). A root peer's
 * files are root's either way: VS_PEER_NOT_VERIFIABLE. */
int vs_peer_is_nondumpable(const struct vs_peer *p)
{
    struct stat dir, maps;
    if (fstat(p->procfd, &dir) != 0)
        return vs_fail_errno(VS_EDENIED, "peer exited (stat /proc/PID)");
    if (fstatat(p->procfd, "maps", &maps, 0) != 0)
        return vs_fail_errno(VS_EDENIED, "peer exited (stat /proc/PID/maps)");
    if (dir.st_uid == 0)
        return vs_fail(VS_PEER_NOT_VERIFIABLE,
                       "peer runs as root: its dumpability cannot be verified");
    if (maps.st_uid != 0)
        return vs_fail(VS_EDENIED, "peer is still dumpable (its /proc files belong to uid %u)",
                       (unsigned)maps.st_uid);
    return 0;
}
