/* Who is the peer: identity on accept, the facts vaultd keeps for the
 * connection, and "is it still the same process". Rules:
 *  1. The pid comes from SO_PEERCRED, the process handle from
 *     SO_PEERPIDFD; the pidfd's own pid (fdinfo) must equal SO_PEERCRED's.
 *  2. /proc/PID is opened once and trusted only after the pidfd says the
 *     process is still alive: a live process holds its pid, so the folder
 *     cannot belong to a pid reuser. Every later /proc read goes through it.
 *  3. Facts are gathered, then the exec generation is read again: a peer
 *     that exec'd while being inspected is refused rather than described
 *     by a mix of two programs. */
#include "peer_int.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5; missing from Debian 12's headers */
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define MAX_LOADERS 12

static struct {
    bool initialised;
    size_t nloaders;
    dev_t loader_dev[MAX_LOADERS];
    ino_t loader_ino[MAX_LOADERS];
    dev_t userns_dev;
    ino_t userns_ino;
} self;

/* Loaders by path, every architecture at once: a missing one is skipped,
 * and an i386 or musl loader on an x86_64 box runs programs just as well. */
static const char *const loader_paths[] = {
    "/lib64/ld-linux-x86-64.so.2",
    "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    "/usr/lib64/ld-linux-x86-64.so.2",
    "/lib/ld-linux.so.2",
    "/lib/i386-linux-gnu/ld-linux.so.2",
    "/lib/ld-linux-aarch64.so.1",
    "/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1",
    "/lib/ld-linux-armhf.so.3",
    "/lib/ld-musl-x86_64.so.1",
    "/lib/ld-musl-aarch64.so.1",
};

static void add_loader(const char *path)
{
    struct stat st;
    if (self.nloaders >= MAX_LOADERS || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    for (size_t i = 0; i < self.nloaders; i++)
        if (self.loader_dev[i] == st.st_dev && self.loader_ino[i] == st.st_ino)
            return;
    self.loader_dev[self.nloaders] = st.st_dev;
    self.loader_ino[self.nloaders] = st.st_ino;
    self.nloaders++;
}

/* PT_INTERP of our own executable: the loader this system really uses. */
static int read_own_interp(char *out, size_t outlen)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vs_fail_errno(VS_EIO, "open /proc/self/exe");
    int rc = VS_ENOENT;
    ElfW(Ehdr) eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum > 512)
        goto out;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;
        off_t at = (off_t)eh.e_phoff + (off_t)i * (off_t)sizeof ph;
        if (pread(fd, &ph, sizeof ph, at) != (ssize_t)sizeof ph)
            goto out;
        if (ph.p_type != PT_INTERP)
            continue;
        if (ph.p_filesz < 2 || ph.p_filesz > outlen)
            goto out;
        if (pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
            goto out;
        if (out[ph.p_filesz - 1] != '\0')
            goto out;
        rc = 0;
        break;
    }
out:
    close(fd);
    return rc;
}

int vs_peer_init(void)
{
    if (sodium_init() < 0)
        return vs_fail(VS_EIO, "sodium_init failed");
    self.nloaders = 0;
    char interp[PATH_MAX];
    if (read_own_interp(interp, sizeof interp) == 0) /* a static vaultd has none */
        add_loader(interp);
    for (size_t i = 0; i < sizeof loader_paths / sizeof loader_paths[0]; i++)
        add_loader(loader_paths[i]);
    struct stat st;
    if (stat("/proc/self/ns/user", &st) != 0)
        return vs_fail_errno(VS_EIO, "stat /proc/self/ns/user");
    self.userns_dev = st.st_dev;
    self.userns_ino = st.st_ino;
    self.initialised = true;
    return 0;
}

bool vs_peer_is_loader(dev_t dev, ino_t ino, bool *initialised)
{
    *initialised = self.initialised;
    for (size_t i = 0; i < self.nloaders; i++)
        if (self.loader_dev[i] == dev && self.loader_ino[i] == ino)
            return true;
    return false;
}

int vs_peer_self_userns(dev_t *dev, ino_t *ino)
{
    if (!self.initialised)
        return vs_fail(VS_EINVAL, "vs_peer_init was not called");
    *dev = self.userns_dev;
    *ino = self.userns_ino;
    return 0;
}

int vs_peer_enable_passcred(int sock)
{
    int on = 1;
    if (setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
        return vs_fail_errno(VS_EIO, "setsockopt SO_PASSCRED");
    return 0;
}

static int pidfd_alive(int pidfd)
{
    /* EPERM: the process exists but is another user's and vaultd has no
     * CAP_KILL (the container set-up); the kernel answers ESRCH once it
     * has exited, before any permission check. */
    if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 || errno == EPERM)
        return 0;
    if (errno == ESRCH)
        return vs_fail(VS_EDENIED, "peer exited");
    return vs_fail_errno(VS_EDENIED, "pidfd_send_signal");
}

/* The pid a pidfd refers to, from /proc/self/fdinfo ("Pid:"; -1 once the
 * process has exited). */
static int pidfd_pid(int pidfd, pid_t *pid)
{
    char name[64];
    int n = snprintf(name, sizeof name, "/proc/self/fdinfo/%d", pidfd);
    if (n < 0 || (size_t)n >= sizeof name)
        return vs_fail(VS_EINVAL, "fdinfo path");
    char *text = NULL;
    size_t len = 0;
    int rc = vs_proc_read(AT_FDCWD, name, "pidfd fdinfo", 64 * 1024, &text, &len);
    if (rc != 0)
        return rc;
    long long value = 0;
    rc = vs_proc_status_number(text, "Pid", &value) ? 0 : vs_fail(VS_EIO, "pidfd fdinfo has no Pid line");
    if (rc == 0)
        *pid = (pid_t)value;
    free(text);
    return rc;
}

/* Both ways give a close-on-exec fd (the kernel's pidfd_prepare sets it;
 * test_peer checks), so no fcntl is needed.
 * SO_PEERPIDFD names the very process that called connect(): the socket
 * holds a reference to it. Without it (Linux < 6.5: ENOPROTOOPT) we open a
 * pidfd by number, which is weaker: if the peer exited between connect and
 * this call and its pid was reused, the pidfd names the reuser. The fdinfo
 * check below cannot see that (the numbers match); the starttime we record
 * next is only as good as the moment it is read. */
static int open_pidfd(int sock, pid_t pid, struct vs_peer *p)
{
    int pidfd = -1;
    socklen_t len = sizeof pidfd;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && len == sizeof pidfd &&
        pidfd >= 0) {
        p->pidfd = pidfd;
        return 0;
    }
    if (errno == ESRCH)
        return vs_fail(VS_EDENIED, "peer exited before accept");
    if (errno != ENOPROTOOPT)
        return vs_fail_errno(VS_EIO, "getsockopt SO_PEERPIDFD");
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        if (errno == ESRCH)
            return vs_fail(VS_EDENIED, "peer exited before accept");
        return vs_fail_errno(VS_EIO, "pidfd_open");
    }
    p->pidfd = (int)fd;
    p->pidfd_by_pid = true;
    return 0;
}

static int read_exe(struct vs_peer *p)
{
    /* stat through the magic link: the inode the process runs, as
     * open+fstat would give it, in one syscall and no fd to close (only a
     * pinned sha256 needs the file open: vs_peer_open_exe). */
    struct stat st;
    if (fstatat(p->procfd, "exe", &st, 0) != 0) {
        if (errno == ENOENT || errno == ESRCH)
            return vs_fail(VS_EDENIED, "peer exited (no executable)");
        return vs_fail_errno(VS_EDENIED, "cannot open the peer's executable");
    }
    vs_file_id_from_stat(&st, &p->exe);
    p->exe_nlink = st.st_nlink;
    p->exe_mode = st.st_mode;
    return vs_proc_readlink(p->procfd, "exe", &p->exe_path);
}

/* Held open and read at request time only (vs_peer_check_tracer,
 * vs_peer_check_namespaces): the kernel writes the whole text at each read,
 * and a one-step grant then reads it once. */
static int open_status(struct vs_peer *p)
{
    return vs_proc_open(p->procfd, "status", "/proc/PID/status", &p->statusfd);
}

static int read_userns(struct vs_peer *p)
{
    struct stat st;
    if (fstatat(p->procfd, "ns/user", &st, 0) != 0) {
        if (errno == ENOENT || errno == ESRCH)
            return vs_fail(VS_EDENIED, "peer exited (reading ns/user)");
        return vs_fail_errno(VS_EDENIED, "cannot read the peer's user namespace");
    }
    dev_t dev;
    ino_t ino;
    int rc = vs_peer_self_userns(&dev, &ino);
    if (rc != 0)
        return rc;
    p->foreign_userns = st.st_dev != dev || st.st_ino != ino;
    return 0;
}

static int read_cmdline(struct vs_peer *p)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = vs_proc_open(p->procfd, "cmdline", "/proc/PID/cmdline", &p->cmdlinefd);
    if (rc == 0)
        rc = vs_proc_read_fd(p->cmdlinefd, "/proc/PID/cmdline", VS_PEER_MAX_CMDLINE, &buf, &len);
    if (rc == VS_ETOOBIG)
        return vs_fail(VS_EDENIED, "command line is over %u bytes", VS_PEER_MAX_CMDLINE);
    if (rc != 0)
        return rc;
    crypto_hash_sha256(p->cmdline_hash, (const unsigned char *)buf, len);
    return vs_proc_split_argv(p, buf, len);
}

/* Everything but the exe (read_exe) that marks one exec of one process. */
/* Alive and the same process (not a zombie, same start time); st is its
 * stat now. */
static int same_process(const struct vs_peer *p, struct vs_proc_stat *st)
{
    int rc = vs_proc_read_stat(p->statfd, st);
    if (rc != 0)
        return rc;
    if (st->state == 'Z' || st->state == 'X')
        return vs_fail(VS_EDENIED, "peer exited (%s)", st->state == 'Z' ? "zombie" : "dead");
    if (st->starttime != p->starttime)
        return vs_fail(VS_EDENIED, "peer is another process than at accept (start time)");
    return 0;
}

static int same_generation(const struct vs_peer *p, const char *when)
{
    struct vs_proc_stat st;
    int rc = same_process(p, &st);
    if (rc != 0)
        return rc;
    if (memcmp(st.layout, p->layout, sizeof st.layout) != 0)
        return vs_fail(VS_EDENIED, "peer exec'd %s (memory layout changed)", when);
    return 0;
}

/* Is the peer, a process of our own user, now non-dumpable and closed to us
 * (no ptrace access: vaultd runs as the owner without CAP_SYS_PTRACE)? Its exe link is then
 * unreadable and its stat layout fields read 0. */
static bool hidden_from_us(const struct vs_peer *p)
{
    if (p->opaque)
        return true;
    /* Only our own user's processes: another user's that we cannot read
     * is refused as before (the container set-up gives vaultd the
     * capabilities to read them). */
    struct stat maps;
    if (p->uid != geteuid() || p->uid == 0 || fstatat(p->procfd, "maps", &maps, 0) != 0 || maps.st_uid != 0)
        return false;
    int fd = openat(p->procfd, "exe", O_PATH | O_CLOEXEC);
    if (fd >= 0) {
        (void)close(fd);
        return false;
    }
    return errno == EACCES || errno == EPERM;
}

/* Used when the peer is hidden from us: start time and command line only.
 * It went non-dumpable after accept (the shim does so before CONFIRM); an
 * exec would have made it dumpable again, bar a setuid image, and the
 * shim's socket is close-on-exec, so no new image speaks on it. */
static int same_cmdline(const struct vs_peer *p);

static int limited_alive(const struct vs_peer *p)
{
    struct vs_proc_stat st;
    int rc;
    if ((rc = same_process(p, &st)) != 0 || (rc = same_cmdline(p)) != 0)
        return rc;
    return pidfd_alive(p->pidfd);
}

int vs_peer_alive(const struct vs_peer *p)
{
    if (p == NULL || p->pidfd < 0 || p->procfd < 0)
        return vs_fail(VS_EINVAL, "vs_peer_alive: no peer");
    /* No pidfd probe first: every read below goes through fds of this
     * process's /proc entry, which fail with ESRCH once it is gone (a pid
     * reuser has another entry), and the probe at the end covers the rest. */
    int rc;
    /* The full check first; the hidden case is looked at only when it
     * fails, so a peer open to us costs no extra syscall. */
    if (p->opaque)
        return limited_alive(p);
    rc = same_generation(p, "since accept");
    if (rc != 0)
        return hidden_from_us(p) ? limited_alive(p) : rc;
    /* stat through the magic link: the inode the process runs now, as
     * open+fstat would give it, in one syscall. */
    struct stat st;
    if (fstatat(p->procfd, "exe", &st, 0) != 0) {
        rc = vs_fail_errno(VS_EDENIED, "peer exited or its executable is gone");
        return hidden_from_us(p) ? limited_alive(p) : rc;
    }
    if (st.st_dev != p->exe.dev || st.st_ino != p->exe.ino)
        return vs_fail(VS_EDENIED, "peer exec'd another executable since accept (was %s)",
                       p->exe_path != NULL ? p->exe_path : "?");
    if ((rc = same_cmdline(p)) != 0)
        return rc;
    return pidfd_alive(p->pidfd);
}

static int same_cmdline(const struct vs_peer *p)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = vs_proc_read_fd(p->cmdlinefd, "/proc/PID/cmdline", VS_PEER_MAX_CMDLINE, &buf, &len);
    if (rc == VS_ETOOBIG)
        return vs_fail(VS_EDENIED, "peer's command line changed since accept");
    if (rc != 0)
        return rc;
    uint8_t h[32];
    crypto_hash_sha256(h, (const unsigned char *)buf, len);
    vs_proc_free(buf, len);
    if (memcmp(h, p->cmdline_hash, sizeof h) != 0)
        return vs_fail(VS_EDENIED, "peer's command line changed since accept");
    return 0;
}

static int gather(int sock, struct vs_peer *p)
{
    struct ucred uc;
    socklen_t len = sizeof uc;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 || len != sizeof uc)
        return vs_fail_errno(VS_EIO, "getsockopt SO_PEERCRED");
    if (uc.pid <= 0)
        return vs_fail(VS_EDENIED, "peer's pid is not visible here (another pid namespace)");
    p->pid = uc.pid;
    p->uid = uc.uid;
    p->gid = uc.gid;
    int rc = open_pidfd(sock, uc.pid, p);
    if (rc != 0)
        return rc;
    /* SO_PEERPIDFD and SO_PEERCRED both name the socket's sk_peer_pid, so
     * their numbers agree by construction; an exited peer (whose number may
     * be reused) fails pidfd_alive below, after /proc/PID is opened. Only
     * the pidfd_open fallback, which opens by number, is cross-checked
     * through fdinfo (4 syscalls a grant saved on Linux >= 6.5). */
    if (p->pidfd_by_pid) {
        pid_t fdpid = 0;
        rc = pidfd_pid(p->pidfd, &fdpid);
        if (rc != 0)
            return rc;
        if (fdpid <= 0)
            return vs_fail(VS_EDENIED, "peer exited before accept");
        if (fdpid != p->pid)
            return vs_fail(VS_EDENIED, "pidfd names pid %d, SO_PEERCRED pid %d", (int)fdpid, (int)p->pid);
    }
    char path[64];
    int n = snprintf(path, sizeof path, "/proc/%d", (int)p->pid);
    if (n < 0 || (size_t)n >= sizeof path)
        return vs_fail(VS_EINVAL, "proc path");
    p->procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->procfd < 0)
        return vs_fail_errno(VS_EDENIED, "peer exited or /proc/%d is hidden", (int)p->pid);
    rc = pidfd_alive(p->pidfd); /* only now is procfd known to be the peer's */
    if (rc != 0)
        return rc;
    struct vs_proc_stat st;
    rc = vs_proc_open(p->procfd, "stat", "/proc/PID/stat", &p->statfd);
    if (rc == 0)
        rc = vs_proc_read_stat(p->statfd, &st);
    if (rc != 0)
        return rc;
    p->starttime = st.starttime;
    memcpy(p->layout, st.layout, sizeof p->layout);
    if ((rc = read_exe(p)) != 0) {
        if (!hidden_from_us(p))
            return rc;
        /* Admin requests only (see struct vs_peer.opaque). */
        p->opaque = true;
        if ((rc = read_cmdline(p)) != 0 || (rc = open_status(p)) != 0)
            return rc;
        return vs_peer_settle(p);
    }
    if ((rc = read_cmdline(p)) != 0 || (rc = open_status(p)) != 0 || (rc = read_userns(p)) != 0)
        return rc;
    /* An exec while we read would mix two programs' facts: the first
     * request checks the generation again (vs_peer_settle, or the
     * vs_peer_alive a grant starts with) before any fact is used. */
    return 0;
}

int vs_peer_open_exe(const struct vs_peer *p)
{
    int fd = openat(p->procfd, "exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ESRCH)
            return vs_fail(VS_EDENIED, "peer exited (no executable)");
        return vs_fail_errno(VS_EDENIED, "cannot open the peer's executable");
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = vs_fail_errno(VS_EIO, "fstat of the peer's executable");
    else if (st.st_dev != p->exe.dev || st.st_ino != p->exe.ino)
        rc = vs_fail(VS_EDENIED, "peer exec'd another executable since accept (was %s)",
                     p->exe_path != NULL ? p->exe_path : "?");
    if (rc != 0) {
        (void)close(fd);
        return rc;
    }
    return fd;
}

const char *vs_peer_cwd(struct vs_peer *p)
{
    if (p->cwd_path == NULL && !p->opaque && p->procfd >= 0 &&
        vs_proc_readlink(p->procfd, "cwd", &p->cwd_path) != 0)
        p->cwd_path = NULL;
    return p->cwd_path;
}

int vs_peer_openat_cwd(const struct vs_peer *p, const char *path, int flags)
{
    if (path[0] == '/')
        return openat(AT_FDCWD, path, flags);
    int cwd = openat(p->procfd, "cwd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0)
        return -1;
    int fd = openat(cwd, path, flags);
    int saved = errno;
    close(cwd);
    errno = saved;
    return fd;
}

int vs_peer_settle(struct vs_peer *p)
{
    if (p->settled)
        return 0;
    int rc = vs_peer_alive(p);
    if (rc != 0)
        return vs_fail(VS_EDENIED, "peer changed while being inspected: %s", vs_last_error(rc));
    p->settled = true;
    return 0;
}

int vs_peer_accept(int sock, struct vs_peer *p)
{
    memset(p, 0, sizeof *p);
    p->pidfd = p->procfd = -1;
    p->statfd = p->statusfd = p->cmdlinefd = -1;
    int rc = gather(sock, p);
    if (rc != 0)
        vs_peer_free(p);
    return rc;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        (void)close(*fd);
    *fd = -1;
}

void vs_peer_free(struct vs_peer *p)
{
    if (p == NULL)
        return;
    close_fd(&p->pidfd);
    close_fd(&p->procfd);
    close_fd(&p->statfd);
    close_fd(&p->statusfd);
    close_fd(&p->cmdlinefd);
    free(p->exe_path);
    free(p->cwd_path);
    free(p->argv);
    vs_proc_free(p->argbuf, p->arglen);
    p->exe_path = p->cwd_path = p->argbuf = NULL;
    p->argv = NULL;
    p->argc = p->arglen = 0;
}

int vs_peer_check_msg_creds(const struct msghdr *msg, pid_t pid)
{
    if (msg->msg_flags & MSG_CTRUNC)
        return vs_fail(VS_EDENIED, "message's control data was truncated");
    const unsigned char *ctl = msg->msg_control;
    size_t clen = ctl != NULL ? msg->msg_controllen : 0;
    size_t off = 0, creds = 0;
    struct ucred uc = {0, 0, 0};
    while (clen - off >= sizeof(struct cmsghdr)) {
        struct cmsghdr h;
        memcpy(&h, ctl + off, sizeof h);
        if (h.cmsg_len < CMSG_LEN(0) || h.cmsg_len > clen - off)
            return vs_fail(VS_EDENIED, "message has a malformed control header");
        if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_CREDENTIALS &&
            h.cmsg_len >= CMSG_LEN(sizeof uc)) {
            memcpy(&uc, ctl + off + CMSG_LEN(0), sizeof uc);
            creds++;
        } else if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_RIGHTS) {
            return vs_fail(VS_EDENIED, "message carries file descriptors");
        } else {
            return vs_fail(VS_EDENIED, "message carries an unexpected control message (%d/%d)",
                           h.cmsg_level, h.cmsg_type);
        }
        size_t step = CMSG_ALIGN(h.cmsg_len);
        if (step > clen - off)
            break;
        off += step;
    }
    if (creds != 1)
        return vs_fail(VS_EDENIED, "message carries %s SCM_CREDENTIALS (SO_PASSCRED off?)",
                       creds == 0 ? "no" : "more than one");
    if (uc.pid == 0)
        return vs_fail(VS_EDENIED, "message has no sender pid (sent before SO_PASSCRED was on)");
    if (uc.pid != pid)
        return vs_fail(VS_EDENIED, "message sent by pid %d, not by the peer (pid %d)", (int)uc.pid,
                       (int)pid);
    return 0;
}
