/* vaultd/daemon/peer*: kernel facts about a peer, each case against a real
 * child process. Children connect to a listening SOCK_SEQPACKET socket, as
 * vaultd's peers do (a socketpair would carry the creator's credentials,
 * not the child's), and are driven through pipes: a command byte in, a
 * 4-byte status out. An exec is seen as EOF on the O_CLOEXEC status pipe.
 * No sleeps; every child is killed and reaped by the teardown. */
#include "testutil.h"

#include "peer.h"
#include "peer_int.h"
#include "error.h"
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#define MAX_KIDS 16

static int listener = -1;
static struct sockaddr_un listen_addr;
static socklen_t listen_len;
static pid_t kids[MAX_KIDS];
static char *trusted_base; /* a root-owned 0755 folder on a trusted path */
static char *tmp;          /* a fresh folder under /tmp, per test */
static pid_t tracee_pid;   /* for the tracer child */

struct kid {
    pid_t pid;
    int cmd_w;  /* command bytes to the child */
    int stat_r; /* 4-byte statuses from the child; EOF once it exec'd */
    int stdin_w;
    int stdout_r; /* an exec'd child's stdout */
    int conn;   /* the accepted connection */
};

struct kid_opts {
    const char *path;   /* exec this; NULL: serve commands in the test image */
    char *const *argv;
    char *const *envp;
    const char *cwd;
    bool memfd;         /* exec path's bytes from a memfd */
    int (*before)(void); /* in the child, before connect: 0 or an errno */
    bool no_connect;    /* a helper that is not a peer */
};

static char *const clean_env[] = {"PATH=/usr/bin:/bin", NULL};

static void track(pid_t pid)
{
    for (size_t i = 0; i < MAX_KIDS; i++)
        if (kids[i] == 0) {
            kids[i] = pid;
            return;
        }
    fail_msg("too many children");
}

static void reap(pid_t pid)
{
    for (size_t i = 0; i < MAX_KIDS; i++)
        if (kids[i] == pid)
            kids[i] = 0;
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

static void put_status(int fd, int v)
{
    ssize_t n = write(fd, &v, sizeof v);
    (void)n;
}

static int sock_connect(void)
{
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&listen_addr, listen_len) != 0)
        return -1;
    return s;
}

/* Commands of a child that stays in the test image. */
static void serve(int cmd_r, int stat_w, int sock)
{
    char c;
    while (read(cmd_r, &c, 1) == 1) {
        int r = 0;
        switch (c) {
        case 'd': r = prctl(PR_SET_DUMPABLE, 0) == 0 ? 0 : errno; break;
        case 'D': r = prctl(PR_SET_DUMPABLE, 1) == 0 ? 0 : errno; break;
        case 'g': r = prctl(PR_GET_DUMPABLE); break;
        case 's': r = send(sock, "hi", 2, 0) == 2 ? 0 : errno; break;
        case 'f': { /* a grandchild that inherited the socket sends */
            pid_t g = fork();
            if (g == 0)
                _exit(send(sock, "gc", 2, 0) == 2 ? 0 : 1);
            int st = 0;
            r = g > 0 && waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
            break;
        }
        case 'e': { /* exec /bin/sleep keeping the socket: EOF on stat_w */
            int fl = fcntl(sock, F_GETFD);
            (void)fcntl(sock, F_SETFD, fl & ~FD_CLOEXEC);
            char *argv[] = {"sleep", "1000", NULL};
            execve("/bin/sleep", argv, clean_env);
            r = errno;
            break;
        }
        case 'a': r = ptrace(PTRACE_SEIZE, tracee_pid, 0, 0) == 0 ? 0 : errno; break;
        case 't': {
            int st;
            if (ptrace(PTRACE_INTERRUPT, tracee_pid, 0, 0) != 0)
                r = errno;
            else if (waitpid(tracee_pid, &st, __WALL) != tracee_pid)
                r = errno;
            else
                r = ptrace(PTRACE_DETACH, tracee_pid, 0, 0) == 0 ? 0 : errno;
            break;
        }
        case 'q': _exit(0);
        default: r = EINVAL;
        }
        put_status(stat_w, r);
    }
    _exit(0);
}

static void child_main(const struct kid_opts *o, int cmd_r, int stat_w, int stdin_r, int stdout_w)
{
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* no child outlives an aborted run */
    if (o->before != NULL) {
        int r = o->before();
        if (r != 0) {
            put_status(stat_w, r);
            _exit(127);
        }
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* a uid change cleared it */
    }
    int sock = -1;
    if (!o->no_connect && (sock = sock_connect()) < 0) {
        put_status(stat_w, errno);
        _exit(127);
    }
    if (o->path == NULL) {
        put_status(stat_w, 0);
        serve(cmd_r, stat_w, sock);
    }
    (void)fcntl(sock, F_SETFD, 0); /* the exec'd program keeps the connection */
    if (dup2(stdin_r, 0) < 0 || dup2(stdout_w, 1) < 0 || (o->cwd != NULL && chdir(o->cwd) != 0)) {
        put_status(stat_w, errno);
        _exit(127);
    }
    if (o->memfd) {
        int src = open(o->path, O_RDONLY | O_CLOEXEC);
        int mfd = memfd_create("payload", MFD_CLOEXEC);
        char buf[65536];
        ssize_t n;
        while (src >= 0 && mfd >= 0 && (n = read(src, buf, sizeof buf)) > 0)
            if (write(mfd, buf, (size_t)n) != n)
                break;
        fexecve(mfd, o->argv, (char *const *)(o->envp != NULL ? o->envp : clean_env));
    } else {
        execve(o->path, o->argv, (char *const *)(o->envp != NULL ? o->envp : clean_env));
    }
    put_status(stat_w, errno);
    _exit(127);
}

static void spawn(struct kid *k, const struct kid_opts *o)
{
    int cmd[2], st[2], in[2], out[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
    assert_int_equal(pipe2(st, O_CLOEXEC), 0);
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(cmd[1]);
        close(st[0]);
        close(in[1]);
        close(out[0]);
        child_main(o, cmd[0], st[1], in[0], out[1]);
        _exit(127);
    }
    track(pid);
    close(cmd[0]);
    close(st[1]);
    close(in[0]);
    close(out[1]);
    k->stdout_r = out[0];
    k->pid = pid;
    k->cmd_w = cmd[1];
    k->stat_r = st[0];
    k->stdin_w = in[1];
    k->conn = -1;
    int v = -1;
    ssize_t n = read(k->stat_r, &v, sizeof v);
    if (o->path != NULL) {
        if (n != 0)
            fail_msg("child could not start %s: %s", o->path, strerror(v));
    } else if (n != (ssize_t)sizeof v || v != 0) {
        fail_msg("child setup failed: %s", n == (ssize_t)sizeof v ? strerror(v) : "no status");
    }
    if (!o->no_connect) {
        k->conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        assert_true(k->conn >= 0);
    }
}

static int cmd(struct kid *k, char c)
{
    assert_int_equal(write(k->cmd_w, &c, 1), 1);
    int v = -1;
    ssize_t n = read(k->stat_r, &v, sizeof v);
    return n == (ssize_t)sizeof v ? v : (n == 0 ? -1000 : -1001); /* -1000: exec'd */
}

static void end(struct kid *k)
{
    if (k->pid > 0)
        reap(k->pid);
    k->pid = 0;
    if (k->cmd_w >= 0)
        close(k->cmd_w);
    if (k->stat_r >= 0)
        close(k->stat_r);
    if (k->stdin_w >= 0)
        close(k->stdin_w);
    if (k->stdout_r >= 0)
        close(k->stdout_r);
    if (k->conn >= 0)
        close(k->conn);
    k->cmd_w = k->stat_r = k->stdin_w = k->stdout_r = k->conn = -1;
}

static void spawn_peer(struct kid *k, const struct kid_opts *o, struct vs_peer *p)
{
    spawn(k, o);
    int rc = vs_peer_accept(k->conn, p);
    if (rc != 0)
        fail_msg("vs_peer_accept: %s", vs_last_error(rc));
    /* vaultd runs notify commands: no fd it holds on a peer may leak into
     * them (the pidfd's flag comes from the kernel, not from a fcntl). */
    const int held[] = {p->pidfd, p->procfd, p->statfd, p->statusfd, p->cmdlinefd};
    for (size_t i = 0; i < sizeof held / sizeof held[0]; i++) {
        int flags = held[i] >= 0 ? fcntl(held[i], F_GETFD) : FD_CLOEXEC;
        if (flags < 0 || (flags & FD_CLOEXEC) == 0)
            fail_msg("peer fd %zu (%d) is not close-on-exec", i, held[i]);
    }
}

static void exec_peer(struct kid *k, struct vs_peer *p, const char *path, char *const *argv)
{
    struct kid_opts o = {.path = path, .argv = argv};
    spawn_peer(k, &o, p);
}

static void assert_denied(int rc, const char *needle)
{
    if (rc != VS_EDENIED)
        fail_msg("expected VS_EDENIED (\"%s\"), got %d: %s", needle, rc, vs_last_error(rc));
    if (needle != NULL && strstr(vs_last_error(rc), needle) == NULL)
        fail_msg("reason \"%s\" lacks \"%s\"", vs_last_error(rc), needle);
}

static void assert_ok(int rc)
{
    if (rc != 0)
        fail_msg("expected 0, got %d: %s", rc, vs_last_error(rc));
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof line);
    if (system(line) != 0)
        fail_msg("command failed: %s", line);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    tu_write_file(path, text, strlen(text));
    assert_int_equal(chmod(path, mode), 0);
}

/* --- setup --- */

static int group_setup(void **state)
{
    (void)state;
    if (vs_peer_init() != 0)
        return -1;
    listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (listener < 0)
        return -1;
    memset(&listen_addr, 0, sizeof listen_addr);
    listen_addr.sun_family = AF_UNIX;
    int n = snprintf(listen_addr.sun_path + 1, sizeof listen_addr.sun_path - 1, "vs-peer-test-%d",
                     (int)getpid());
    listen_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    if (bind(listener, (struct sockaddr *)&listen_addr, listen_len) != 0 ||
        vs_peer_enable_passcred(listener) != 0 || listen(listener, 16) != 0)
        return -1;
    /* A folder whose whole path is trusted: /tmp is not (world-writable). */
    static const char *const bases[] = {"/run", "/var/cache", "/var/lib", "/root"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0] && trusted_base == NULL; i++) {
        if (vs_path_trusted(bases[i], 0) != 0 || access(bases[i], W_OK) != 0)
            continue;
        char tmpl[64];
        (void)snprintf(tmpl, sizeof tmpl, "%s/vs-peer-XXXXXX", bases[i]);
        if (mkdtemp(tmpl) != NULL && chmod(tmpl, 0755) == 0)
            trusted_base = strdup(tmpl);
    }
    return trusted_base != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (trusted_base != NULL)
        tu_rmdir(trusted_base);
    close(listener);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tempdir();
    vs_clear_error();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < MAX_KIDS; i++)
        if (kids[i] != 0)
            reap(kids[i]);
    tu_rmdir(tmp);
    tmp = NULL;
    return 0;
}

/* --- identity --- */

static void identity_and_alive(void **state)
{
    (void)state;
    struct kid k;
    struct vs_peer p;
    struct kid_opts o = {0};
    spawn_peer(&k, &o, &p);
    assert_int_equal(p.pid, k.pid);
    assert_int_equal(p.uid, 0);
    assert_int_equal(p.gid, 0);
    assert_true(p.pidfd >= 0);
    assert_false(p.pidfd_by_pid); /* SO_PEERPIDFD on this kernel */
    assert_true(fcntl(p.pidfd, F_GETFD) & FD_CLOEXEC);
    struct stat self;
    assert_int_equal(stat("/proc/self/exe", &self), 0);
    assert_true(p.exe.dev == self.st_dev && p.exe.ino == self.st_ino);
    assert_int_equal(p.nspid_count, 0); /* status is read at request time only */
    assert_false(p.foreign_userns);
    assert_true(p.argc >= 1);
    assert_null(p.cwd_path); /* read at its first use only */
    char here[PATH_MAX];
    assert_non_null(getcwd(here, sizeof here));
    assert_non_null(vs_peer_cwd(&p));
    assert_string_equal(vs_peer_cwd(&p), here);
    assert_ok(vs_peer_check_exe(&p));
    assert_ok(vs_peer_check_namespaces(&p, false));
    assert_int_equal(p.nspid_count, 1);
    assert_ok(vs_peer_alive(&p));

    /* stat, status and cmdline are held and read again from offset 0 */
    assert_true(p.statfd >= 0 && p.statusfd >= 0 && p.cmdlinefd >= 0);
    assert_false(p.settled);
    assert_ok(vs_peer_settle(&p));
    assert_true(p.settled);

    /* the executable opened for a pin is the file identified at accept */
    int exefd = vs_peer_open_exe(&p);
    assert_true(exefd >= 0);
    struct stat est;
    assert_int_equal(fstat(exefd, &est), 0);
    assert_true(est.st_dev == p.exe.dev && est.st_ino == p.exe.ino);
    assert_int_equal(close(exefd), 0);

    /* exec: same process, same pid, same starttime; another executable. */
    assert_int_equal(cmd(&k, 'e'), -1000);
    assert_denied(vs_peer_alive(&p), "exec'd");
    assert_denied(vs_peer_open_exe(&p), "exec'd"); /* not opened as the accepted file */

    /* exit: a zombie first (not reaped), then gone. */
    assert_int_equal(kill(k.pid, SIGKILL), 0);
    siginfo_t si;
    assert_int_equal(waitid(P_PID, (id_t)k.pid, &si, WEXITED | WNOWAIT), 0);
    assert_denied(vs_peer_alive(&p), "exited");
    end(&k);
    assert_denied(vs_peer_alive(&p), "exited");
    vs_peer_free(&p);
    vs_peer_free(&p); /* twice is fine */
}

/* The facts of accept are settled by the first request: an exec in
 * between (here: before the first settle) is refused, through the held
 * stat/cmdline fds, which show the new image. */
static void settle_after_exec(void **state)
{
    (void)state;
    struct kid k;
    struct vs_peer p;
    struct kid_opts o = {0};
    spawn_peer(&k, &o, &p);
    assert_int_equal(cmd(&k, 'e'), -1000);
    assert_denied(vs_peer_settle(&p), "changed while being inspected");
    assert_false(p.settled);
    end(&k);
    vs_peer_free(&p);
}

static void read_line(struct kid *k, const char *want)
{
    char line[64];
    size_t n = 0;
    char c;
    while (n + 1 < sizeof line && read(k->stdout_r, &c, 1) == 1 && c != '\n')
        line[n++] = c;
    line[n] = '\0';
    assert_string_equal(line, want);
}

static void exec_same_file_same_argv(void **state)
{
    (void)state;
    /* A shell re-execs itself with the very same argv: pid, starttime, exe
     * and cmdline stay equal; only the exec layout moves (ASLR). */
    char script[512];
    (void)snprintf(script, sizeof script, "%s/loop.sh", tmp);
    write_text(script, "echo ready\nread x\nexec /bin/sh \"$0\"\n", 0644);
    char *argv[] = {"/bin/sh", script, NULL};
    struct kid k;
    struct vs_peer p;
    exec_peer(&k, &p, "/bin/sh", argv);
    read_line(&k, "ready");
    assert_ok(vs_peer_alive(&p));
    assert_int_equal(write(k.stdin_w, "\n", 1), 1);
    read_line(&k, "ready"); /* the new image runs */
    int rc = vs_peer_alive(&p);
    FILE *f = fopen("/proc/sys/kernel/randomize_va_space", "r");
    int aslr = -1;
    if (f != NULL) {
        if (fscanf(f, "%d", &aslr) != 1)
            aslr = -1;
        fclose(f);
    }
    if (aslr == 0)
        fail_msg("ASLR is off (randomize_va_space=0): a same-argv re-exec is not detectable");
    assert_denied(rc, "memory layout changed");
    end(&k);
    vs_peer_free(&p);
}

static void scm_credentials(void **state)
{
    (void)state;
    struct kid k;
    struct vs_peer p;
    struct kid_opts o = {0};
    spawn_peer(&k, &o, &p);
    char data[8], ctl[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cmd(&k, round == 0 ? 's' : 'f'), 0);
        struct iovec iov = {data, sizeof data};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                             .msg_controllen = sizeof ctl};
        assert_true(recvmsg(k.conn, &msg, MSG_CMSG_CLOEXEC) > 0);
        if (round == 0)
            assert_ok(vs_peer_check_msg_creds(&msg, p.pid));
        else
            assert_denied(vs_peer_check_msg_creds(&msg, p.pid), "not by the peer");
    }
    end(&k);
    vs_peer_free(&p);
}

static void scm_credentials_pure(void **state)
{
    (void)state;
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {.msg_control = u.buf, .msg_controllen = CMSG_SPACE(sizeof(struct ucred))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred uc = {.pid = 4242, .uid = 0, .gid = 0};
    memcpy(CMSG_DATA(c), &uc, sizeof uc);
    assert_ok(vs_peer_check_msg_creds(&msg, 4242));
    assert_denied(vs_peer_check_msg_creds(&msg, 4243), "sent by pid 4242");
    msg.msg_flags = MSG_CTRUNC;
    assert_denied(vs_peer_check_msg_creds(&msg, 4242), "truncated");
    msg.msg_flags = 0;
    uc.pid = 0;
    memcpy(CMSG_DATA(c), &uc, sizeof uc);
    assert_denied(vs_peer_check_msg_creds(&msg, 4242), "no sender pid");
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    assert_denied(vs_peer_check_msg_creds(&msg, 4242), "file descriptors");
    c->cmsg_len = 1000; /* longer than the buffer */
    assert_denied(vs_peer_check_msg_creds(&msg, 4242), "malformed");
    struct msghdr none = {0};
    assert_denied(vs_peer_check_msg_creds(&none, 4242), "no SCM_CREDENTIALS");
}

/* --- what --- */

static void exe_identity(void **state)
{
    (void)state;
    char copy[512];
    (void)snprintf(copy, sizeof copy, "%s/sleep-copy", tmp);
    sh("cp /bin/sleep '%s'", copy);
    char *argv[] = {"sleep", "1000", NULL};
    struct kid a, b;
    struct vs_peer pa, pb;
    exec_peer(&a, &pa, "/bin/sleep", argv);
    exec_peer(&b, &pb, copy, argv);
    struct stat sa, sb;
    assert_int_equal(stat("/bin/sleep", &sa), 0);
    assert_int_equal(stat(copy, &sb), 0);
    assert_true(pa.exe.dev == sa.st_dev && pa.exe.ino == sa.st_ino);
    assert_true(pb.exe.dev == sb.st_dev && pb.exe.ino == sb.st_ino);
    assert_false(pa.exe.dev == pb.exe.dev && pa.exe.ino == pb.exe.ino);
    assert_int_equal(pa.exe.size, sa.st_size);
    assert_string_equal(pa.exe_path, "/usr/bin/sleep");
    assert_int_equal(pa.argc, 2);
    assert_string_equal(pa.argv[1], "1000");
    assert_null(pa.argv[2]);
    assert_ok(vs_peer_check_exe(&pa));
    assert_ok(vs_peer_check_exe(&pb));
    assert_ok(vs_peer_check_maps(&pa, 0));
    assert_denied(vs_peer_check_maps(&pb, 0), "/tmp is writable by others");
    end(&a);
    end(&b);
    vs_peer_free(&pa);
    vs_peer_free(&pb);
}

static void loader_run_directly(void **state)
{
    (void)state;
#if defined(__x86_64__)
    const char *ld = "/lib64/ld-linux-x86-64.so.2";
#elif defined(__aarch64__)
    const char *ld = "/lib/ld-linux-aarch64.so.1";
#else
#error "add this architecture's loader"
#endif
    char *argv[] = {(char *)ld, "/bin/sleep", "1000", NULL};
    struct kid k;
    struct vs_peer p;
    exec_peer(&k, &p, ld, argv);
    assert_denied(vs_peer_check_exe(&p), "executable is the dynamic loader run directly");
    end(&k);
    vs_peer_free(&p);
}

static void deleted_exe(void **state)
{
    (void)state;
    char copy[512];
    (void)snprintf(copy, sizeof copy, "%s/sleep-gone", tmp);
    sh("cp /bin/sleep '%s'", copy);
    char *argv[] = {"sleep", "1000", NULL};
    struct kid k;
    struct vs_peer p;
    exec_peer(&k, &p, copy, argv);
    assert_ok(vs_peer_check_exe(&p));
    assert_int_equal(unlink(copy), 0);
    vs_peer_free(&p);
    /* The facts again, through the same connection (it still names the
     * process): now the executable is deleted. */
    assert_ok(vs_peer_accept(k.conn, &p));
    assert_denied(vs_peer_check_exe(&p), "deleted");
    assert_denied(vs_peer_check_maps(&p, 0), "executable mapping of a deleted file");
    end(&k);
    vs_peer_free(&p);
}

static void memfd_exe(void **state)
{
    (void)state;
    char *argv[] = {"sleep", "1000", NULL};
    struct kid_opts o = {.path = "/bin/sleep", .argv = argv, .memfd = true};
    struct kid k;
    struct vs_peer p;
    spawn_peer(&k, &o, &p);
    assert_denied(vs_peer_check_exe(&p), "executable is a memfd");
    assert_denied(vs_peer_check_maps(&p, 0), "executable mapping of a memfd");
    end(&k);
    vs_peer_free(&p);
}

/* --- scripts --- */

static const char *python3(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : NULL;
}

static void script_case(const char *interp, char *const *argv, const char *cwd, const char *script,
                        const char *refusal)
{
    struct kid_opts o = {.path = interp, .argv = argv, .cwd = cwd};
    struct kid k;
    struct vs_peer p;
    spawn_peer(&k, &o, &p);
    int idx = -1;
    dev_t dev = 0;
    ino_t ino = 0;
    int rc = vs_peer_script(&p, &idx, &dev, &ino);
    if (refusal != NULL) {
        assert_denied(rc, refusal);
    } else {
        assert_ok(rc);
        assert_int_equal(idx, 1);
        struct stat st;
        assert_int_equal(stat(script, &st), 0);
        assert_true(st.st_dev == dev && st.st_ino == ino);
    }
    end(&k);
    vs_peer_free(&p);
}

static void scripts(void **state)
{
    (void)state;
    const char *py = python3();
    if (py == NULL)
        fail_msg("python3 is not at /usr/bin/python3");
    char pyfile[512], shfile[512];
    (void)snprintf(pyfile, sizeof pyfile, "%s/script.py", tmp);
    (void)snprintf(shfile, sizeof shfile, "%s/script.sh", tmp);
    write_text(pyfile, "import sys\nsys.stdin.read()\n", 0644);
    write_text(shfile, "read x\n", 0644);

    char *py_abs[] = {"python3", pyfile, NULL};
    script_case(py, py_abs, NULL, pyfile, NULL);
    char *py_rel[] = {"python3", "script.py", NULL};
    script_case(py, py_rel, tmp, pyfile, NULL);
    char *sh_abs[] = {"sh", shfile, NULL};
    script_case("/bin/sh", sh_abs, NULL, shfile, NULL);
    char *sh_rel[] = {"sh", "./script.sh", NULL};
    script_case("/bin/sh", sh_rel, tmp, shfile, NULL);

    char *py_c[] = {"python3", "-c", "import sys; sys.stdin.read()", NULL};
    script_case(py, py_c, NULL, NULL, "interpreter option before the script (-c)");
    char *sh_c[] = {"sh", "-c", "read x", NULL};
    script_case("/bin/sh", sh_c, NULL, NULL, "interpreter option before the script (-c)");
    char *py_x[] = {"python3", "-X", "importtime", pyfile, NULL};
    script_case(py, py_x, NULL, NULL, "interpreter option before the script (-X)");
    char *sh_only[] = {"sh", NULL};
    script_case("/bin/sh", sh_only, NULL, NULL, "interpreter without a script");
    /* The script vanished after the interpreter read it. */
    char gone[512];
    (void)snprintf(gone, sizeof gone, "%s/gone.sh", tmp);
    write_text(gone, "read x\n", 0644);
    char *sh_gone[] = {"sh", gone, NULL};
    struct kid_opts o = {.path = "/bin/sh", .argv = sh_gone};
    struct kid k;
    struct vs_peer p;
    spawn_peer(&k, &o, &p);
    assert_int_equal(unlink(gone), 0);
    int idx;
    dev_t dev;
    ino_t ino;
    assert_denied(vs_peer_script(&p, &idx, &dev, &ino), "does not open");
    end(&k);
    vs_peer_free(&p);
}

/* --- untampered --- */

static void tracer(void **state)
{
    (void)state;
    struct kid a, b;
    struct vs_peer p;
    struct kid_opts o = {0};
    spawn_peer(&a, &o, &p);
    assert_ok(vs_peer_check_tracer(&p));
    tracee_pid = a.pid;
    struct kid_opts ot = {.no_connect = true};
    spawn(&b, &ot);
    assert_int_equal(cmd(&b, 'a'), 0);
    char want[64];
    (void)snprintf(want, sizeof want, "tracer attached (TracerPid %d)", (int)b.pid);
    assert_denied(vs_peer_check_tracer(&p), want);
    assert_int_equal(cmd(&b, 't'), 0); /* PTRACE_INTERRUPT, wait, PTRACE_DETACH */
    assert_ok(vs_peer_check_tracer(&p));
    end(&b);
    end(&a);
    vs_peer_free(&p);
}

static void build_so(const char *dir, char *so, size_t solen)
{
    char src[512];
    (void)snprintf(src, sizeof src, "%s/preload.c", tmp);
    /* Its constructor says when the loader is done: the exec itself (EOF
     * on the status pipe) comes before the loader maps the preload. */
    write_text(src,
               "#include <unistd.h>\n"
               "__attribute__((constructor)) static void ready(void)\n"
               "{ if (write(1, \"ready\\n\", 6) != 6) _exit(1); }\n",
               0644);
    int n = snprintf(so, solen, "%s/libforeign.so", dir);
    assert_true(n > 0 && (size_t)n < solen);
    sh("cc -shared -fPIC -o '%s' '%s'", so, src);
    assert_int_equal(chmod(so, 0644), 0);
}

static void maps_foreign_preload(void **state)
{
    (void)state;
    /* The agent's folder: on a trusted path but owned by the agent. */
    char agent_dir[512], root_dir[512], so_agent[600], so_root[600], env_agent[700],
        env_root[700];
    (void)snprintf(agent_dir, sizeof agent_dir, "%s/agent", trusted_base);
    (void)snprintf(root_dir, sizeof root_dir, "%s/lib", trusted_base);
    assert_int_equal(mkdir(agent_dir, 0700), 0);
    assert_int_equal(mkdir(root_dir, 0755), 0);
    build_so(agent_dir, so_agent, sizeof so_agent);
    build_so(root_dir, so_root, sizeof so_root);
    assert_int_equal(chown(agent_dir, 65534, 65534), 0);
    assert_int_equal(chown(so_agent, 65534, 65534), 0);
    (void)snprintf(env_agent, sizeof env_agent, "LD_PRELOAD=%s", so_agent);
    (void)snprintf(env_root, sizeof env_root, "LD_PRELOAD=%s", so_root);

    char *argv[] = {"sleep", "1000", NULL};
    char *env1[] = {"PATH=/usr/bin:/bin", env_agent, NULL};
    char *env2[] = {"PATH=/usr/bin:/bin", env_root, NULL};
    struct kid k;
    struct vs_peer p;
    struct kid_opts o = {.path = "/bin/sleep", .argv = argv, .envp = env1};
    spawn_peer(&k, &o, &p);
    read_line(&k, "ready");
    char want[1400];
    (void)snprintf(want, sizeof want, "untrusted executable mapping: %s is not trusted: %s is owned by uid 65534",
                   so_agent, so_agent);
    assert_denied(vs_peer_check_maps(&p, 0), want);
    /* With the agent as vault_uid (never so in vaultd) the file counts. */
    assert_ok(vs_peer_check_maps(&p, 65534));
    assert_denied(vs_peer_check_environ(&p, 0, NULL, geteuid()), "environment variable LD_PRELOAD refused");
    /* The shim's own library is accepted in LD_PRELOAD. */
    assert_ok(vs_peer_check_environ(&p, 0, so_agent, geteuid()));
    end(&k);
    vs_peer_free(&p);

    /* Same library in a root folder: the mapping is trusted (LD_PRELOAD is
     * still refused by the environment check). */
    struct kid_opts o2 = {.path = "/bin/sleep", .argv = argv, .envp = env2};
    spawn_peer(&k, &o2, &p);
    read_line(&k, "ready");
    assert_ok(vs_peer_check_maps(&p, 0));
    assert_denied(vs_peer_check_environ(&p, 0, NULL, geteuid()), "LD_PRELOAD");
    end(&k);
    vs_peer_free(&p);

    /* A group-writable library folder. */
    assert_int_equal(chmod(root_dir, 0775), 0);
    spawn_peer(&k, &o2, &p);
    read_line(&k, "ready");
    assert_denied(vs_peer_check_maps(&p, 0), "is writable by its group (mode 0775)");
    end(&k);
    vs_peer_free(&p);

    /* No preload: passes, and the second check is served from the cache. */
    char *sh_argv[] = {"sh", "-c", "echo ready; read x", NULL};
    struct kid_opts o3 = {.path = "/bin/sh", .argv = sh_argv};
    spawn_peer(&k, &o3, &p);
    read_line(&k, "ready"); /* libc is mapped */
    vs_peer_caches_set_racy_window(2);
    vs_peer_caches_reset();
    assert_ok(vs_peer_check_maps(&p, 0));
    struct vs_cache_stats st1, st2;
    vs_trust_cache_stats(&st1);
    assert_ok(vs_peer_check_maps(&p, 0));
    vs_trust_cache_stats(&st2);
    assert_true(st1.entries >= 3); /* sleep, libc, ld.so */
    assert_true(st2.hits >= st1.hits + st1.entries);
    assert_int_equal(st2.misses, st1.misses);
    end(&k);
    vs_peer_free(&p);
}

struct env_case {
    const char *entry;
    const char *name;
    unsigned kinds;
};

/* A peer started with env, checked for every runtime but Python: accepted
 * (denied_for NULL) or refused naming denied_for. */
static void environ_verdict(struct kid_opts *o, char **env, const char *denied_for)
{
    struct kid k;
    struct vs_peer p;
    o->envp = env;
    spawn_peer(&k, o, &p);
    int rc = vs_peer_check_environ(&p, VS_INJ_ALL & ~VS_INJ_PYTHON, NULL, geteuid());
    if (denied_for == NULL)
        assert_ok(rc);
    else
        assert_denied(rc, denied_for);
    end(&k);
    vs_peer_free(&p);
}

static void environ_injection(void **state)
{
    (void)state;
    /* No table iterator in common/inject.h: one or more names per kind,
     * prefixes and case-insensitive names included. Values carry a marker
     * that must never reach a reason. */
    static const struct env_case cases[] = {
        {"LD_PRELOAD=/tmp/VSMARK.so", "LD_PRELOAD", 0},
        {"LD_AUDIT=/tmp/VSMARK.so", "LD_AUDIT", 0},
        {"LD_LIBRARY_PATH=/tmp/VSMARK", "LD_LIBRARY_PATH", 0},
        {"GCONV_PATH=/tmp/VSMARK", "GCONV_PATH", 0},
        {"OPENSSL_CONF=/tmp/VSMARK", "OPENSSL_CONF", 0},
        {"NODE_OPTIONS=--require /tmp/VSMARK.js", "NODE_OPTIONS", VS_INJ_NODE},
        {"NODE_OPTIONS=--inspect=VSMARK", "NODE_OPTIONS", VS_INJ_NODE},
        {"NODE_PATH=/tmp/VSMARK", "NODE_PATH", VS_INJ_NODE},
        {"npm_config_userconfig=/tmp/VSMARK", "npm_config_userconfig", VS_INJ_NODE},
        {"NPM_CONFIG_REGISTRY=http://VSMARK", "NPM_CONFIG_REGISTRY", VS_INJ_NODE},
        {"PYTHONPATH=/tmp/VSMARK", "PYTHONPATH", VS_INJ_PYTHON},
        {"PYTHONHOME=/tmp/VSMARK", "PYTHONHOME", VS_INJ_PYTHON},
        {"PYTHONSTARTUP=/tmp/VSMARK", "PYTHONSTARTUP", VS_INJ_PYTHON},
        {"PYTHONINSPECT=VSMARK", "PYTHONINSPECT", VS_INJ_PYTHON},
        {"PERL5OPT=-MVSMARK", "PERL5OPT", VS_INJ_PERL},
        {"PERL5LIB=/tmp/VSMARK", "PERL5LIB", VS_INJ_PERL},
        {"RUBYOPT=-rVSMARK", "RUBYOPT", VS_INJ_RUBY},
        {"JAVA_TOOL_OPTIONS=-javaagent:VSMARK", "JAVA_TOOL_OPTIONS", VS_INJ_JAVA},
        {"BASH_ENV=/tmp/VSMARK", "BASH_ENV", VS_INJ_SHELL},
        {"BASH_FUNC_ls%%=() { VSMARK; }", "BASH_FUNC_ls%%", VS_INJ_SHELL},
        {"GIT_CONFIG_COUNT=VSMARK", "GIT_CONFIG_COUNT", VS_INJ_GIT},
        {"GIT_CONFIG_KEY_0=VSMARK", "GIT_CONFIG_KEY_0", VS_INJ_GIT},
        {"GIT_CONFIG_VALUE_0=VSMARK", "GIT_CONFIG_VALUE_0", VS_INJ_GIT},
        {"GIT_TRACE_CURL=/tmp/VSMARK", "GIT_TRACE_CURL", VS_INJ_GIT},
        {"GIT_SSH_COMMAND=VSMARK", "GIT_SSH_COMMAND", VS_INJ_GIT},
        {"CURL_HOME=/tmp/VSMARK", "CURL_HOME", VS_INJ_CONFIG},
        {"https_proxy=http://VSMARK", "https_proxy", VS_INJ_PROXY},
        {"HTTPS_PROXY=http://VSMARK", "HTTPS_PROXY", VS_INJ_PROXY},
        {"ALL_PROXY=socks5://VSMARK", "ALL_PROXY", VS_INJ_PROXY},
        {"AWS_ENDPOINT_URL_S3=http://VSMARK", "AWS_ENDPOINT_URL_S3", VS_INJ_PROXY},
        {"SSL_CERT_FILE=/tmp/VSMARK", "SSL_CERT_FILE", VS_INJ_TLS},
        {"SSLKEYLOGFILE=/tmp/VSMARK", "SSLKEYLOGFILE", VS_INJ_TLS},
    };
    char *argv[] = {"sleep", "1000", NULL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *env[] = {"PATH=/usr/bin:/bin", (char *)cases[i].entry, NULL};
        struct kid_opts o = {.path = "/bin/sleep", .argv = argv, .envp = env};
        struct kid k;
        struct vs_peer p;
        spawn_peer(&k, &o, &p);
        int rc = vs_peer_check_environ(&p, VS_INJ_ALL & ~VS_INJ_PYTHON, NULL, geteuid());
        if (cases[i].kinds == VS_INJ_PYTHON)
            rc = vs_peer_check_environ(&p, VS_INJ_PYTHON, NULL, geteuid());
        char want[128];
        (void)snprintf(want, sizeof want, "environment variable %s refused", cases[i].name);
        assert_denied(rc, want);
        if (strstr(vs_last_error(rc), "VSMARK") != NULL)
            fail_msg("value leaked into the reason: %s", vs_last_error(rc));
        /* Kinds that do not apply let it through (the loader always applies). */
        if (cases[i].kinds != 0 && cases[i].kinds != VS_INJ_PYTHON)
            assert_ok(vs_peer_check_environ(&p, VS_INJ_ALL & ~cases[i].kinds & ~VS_INJ_PYTHON, NULL, geteuid()));
        end(&k);
        vs_peer_free(&p);
    }
    /* Whole-environment rule, and a clean environment. */
    char *env[] = {"PATH=/usr/bin:/bin", "HOME=/root", NULL};
    struct kid_opts o = {.path = "/bin/sleep", .argv = argv, .envp = env};
    struct kid k;
    struct vs_peer p;
    spawn_peer(&k, &o, &p);
    assert_ok(vs_peer_check_environ(&p, VS_INJ_ALL & ~VS_INJ_PYTHON, NULL, geteuid()));
    assert_denied(vs_peer_check_environ(&p, VS_INJ_PYTHON, NULL, geteuid()), "PYTHONNOUSERSITE");
    end(&k);
    vs_peer_free(&p);

    /* A CA-bundle variable naming the system's bundle (a trusted file) is
     * accepted; the same variable naming a file in /tmp is not. */
    char *system_ca[] = {"PATH=/usr/bin:/bin", "SSL_CERT_FILE=/etc/passwd", "NODE_EXTRA_CA_CERTS=/etc", NULL};
    environ_verdict(&o, system_ca, NULL);
    char *agent_ca[] = {"PATH=/usr/bin:/bin", "NODE_EXTRA_CA_CERTS=/tmp/agent-ca.pem", NULL};
    environ_verdict(&o, agent_ca, "NODE_EXTRA_CA_CERTS");
    /* One check remembers the values it found trusted (six CA variables
     * naming one bundle): a variable after them naming another, untrusted
     * file is still refused, and so is a refused value seen twice. */
    char *mixed_ca[] = {"SSL_CERT_FILE=/etc/passwd", "CURL_CA_BUNDLE=/etc/passwd",
                        "AWS_CA_BUNDLE=/tmp/agent-ca.pem", NULL};
    environ_verdict(&o, mixed_ca, "AWS_CA_BUNDLE");
    char *twice_bad[] = {"GIT_SSL_CAINFO=/tmp/agent-ca.pem", "SSL_CERT_FILE=/etc/passwd",
                         "REQUESTS_CA_BUNDLE=/tmp/agent-ca.pem", NULL};
    environ_verdict(&o, twice_bad, "GIT_SSL_CAINFO");
    char *same_ca[] = {"SSL_CERT_FILE=/etc/passwd", "CURL_CA_BUNDLE=/etc/passwd", "GIT_SSL_CAINFO=/etc/passwd",
                       "SSL_CERT_DIR=/etc", "GIT_SSL_CAPATH=/etc", NULL};
    environ_verdict(&o, same_ca, NULL);
}

/* --- trusted paths --- */

static void path_trust(void **state)
{
    (void)state;
    char dir[512], file[600], sub[600], subfile[700], link[600], tmpfile_[600];
    (void)snprintf(dir, sizeof dir, "%s/trust", trusted_base);
    assert_int_equal(mkdir(dir, 0755), 0);
    (void)snprintf(file, sizeof file, "%s/tool", dir);
    write_text(file, "x", 0644);
    assert_ok(vs_path_trusted(file, 0));
    assert_ok(vs_path_trusted(dir, 0));
    assert_int_equal(chmod(file, 0664), 0);
    assert_denied(vs_path_trusted(file, 0), "writable by its group (mode 0664)");
    assert_int_equal(chmod(file, 0646), 0);
    assert_denied(vs_path_trusted(file, 0), "writable by others");
    assert_int_equal(chmod(file, 0755), 0);
    assert_ok(vs_path_trusted(file, 0));

    (void)snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    (void)snprintf(subfile, sizeof subfile, "%s/f", sub);
    write_text(subfile, "x", 0644);
    assert_int_equal(chmod(sub, 0775), 0);
    char want[800];
    (void)snprintf(want, sizeof want, "%s is writable by its group", sub);
    assert_denied(vs_path_trusted(subfile, 0), want);
    assert_int_equal(chmod(sub, 01777), 0); /* sticky like /tmp: still refused */
    assert_denied(vs_path_trusted(subfile, 0), "writable by others");
    assert_int_equal(chmod(sub, 0755), 0);

    /* Owner: root or vault_uid only. */
    assert_int_equal(chown(subfile, 65534, 65534), 0);
    assert_denied(vs_path_trusted(subfile, 0), "owned by uid 65534");
    assert_ok(vs_path_trusted(subfile, 65534));

    /* /tmp itself is not trusted for what is inside. */
    (void)snprintf(tmpfile_, sizeof tmpfile_, "%s/f", tmp);
    write_text(tmpfile_, "x", 0644);
    assert_denied(vs_path_trusted(tmpfile_, 0), "/tmp is writable by others");

    /* A symlink in an untrusted folder to a trusted file: the target counts
     * (realpath first), so it is trusted; the reverse is not. */
    (void)snprintf(link, sizeof link, "%s/link", tmp);
    assert_int_equal(symlink(file, link), 0);
    assert_ok(vs_path_trusted(link, 0));
    char rev[700];
    (void)snprintf(rev, sizeof rev, "%s/rev", dir);
    assert_int_equal(symlink(tmpfile_, rev), 0);
    assert_denied(vs_path_trusted(rev, 0), "/tmp is writable by others");
    assert_denied(vs_path_trusted("/nonexistent/x", 0), "cannot resolve");
    assert_denied(vs_path_trusted("", 0), "empty path");

    /* A file known by its identity (a peer's exe): trusted only at a path
     * that names that very file; a verdict is remembered by identity (the
     * file was just written: no racy window here). */
    vs_peer_caches_reset();
    vs_peer_caches_set_racy_window(0);
    struct stat st_file, st_tmp;
    assert_int_equal(stat(file, &st_file), 0);
    assert_int_equal(stat(tmpfile_, &st_tmp), 0);
    struct vs_file_id id_file, id_tmp;
    vs_file_id_from_stat(&st_file, &id_file);
    vs_file_id_from_stat(&st_tmp, &id_tmp);
    assert_denied(vs_file_trusted_at(tmpfile_, &id_tmp, 0), "/tmp is writable by others");
    /* the agent's file claimed to be at the trusted path */
    assert_denied(vs_file_trusted_at(file, &id_tmp, 0), "was replaced while being checked");
    assert_ok(vs_file_trusted_at(file, &id_file, 0));
    struct vs_cache_stats before, after;
    vs_trust_cache_stats(&before);
    assert_ok(vs_file_trusted_at("/nonexistent/x", &id_file, 0)); /* by identity, no walk */
    vs_trust_cache_stats(&after);
    assert_int_equal(after.hits, before.hits + 1);
    /* another vault owner's verdict is not this one's */
    assert_denied(vs_file_trusted_at("/nonexistent/x", &id_file, 65534), "cannot resolve");
    assert_denied(vs_file_trusted_at(tmpfile_, &id_tmp, 0), "/tmp is writable by others");
    vs_peer_caches_set_racy_window(2);
}

/* --- order: non-dumpable --- */

static int drop_to_nobody(void)
{
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
        return errno;
    /* A uid change clears dumpable (fs.suid_dumpable=0): report it. */
    if (prctl(PR_GET_DUMPABLE) != 0)
        return EPROTO;
    return prctl(PR_SET_DUMPABLE, 1) == 0 ? 0 : errno;
}

/* Can a process running as nobody open /proc/pid/<name>? */
static bool nobody_can_open(pid_t pid, const char *name)
{
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        char path[64];
        (void)snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
            _exit(2);
        int fd = open(path, O_RDONLY);
        _exit(fd >= 0 ? 0 : 1);
    }
    int st = 0;
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 2);
    return WEXITSTATUS(st) == 0;
}

static void nondumpable(void **state)
{
    (void)state;
    struct kid k;
    struct vs_peer p;
    struct kid_opts o = {.before = drop_to_nobody};
    spawn_peer(&k, &o, &p);
    assert_int_equal(p.uid, 65534);
    assert_int_equal(cmd(&k, 'g'), 1);
    assert_denied(vs_peer_is_nondumpable(&p), "still dumpable (its /proc files belong to uid 65534)");
    assert_true(nobody_can_open(k.pid, "maps"));
    assert_true(nobody_can_open(k.pid, "environ"));
    /* Inspection happens here, while it is dumpable: its maps open (their
     * trust verdicts are the maps_* cases', on files in known places; this
     * child is the test binary, wherever the build folder is). */
    int maps_fd = openat(p.procfd, "maps", O_RDONLY | O_CLOEXEC);
    assert_true(maps_fd >= 0);
    close(maps_fd);
    assert_ok(vs_peer_check_tracer(&p));

    assert_int_equal(cmd(&k, 'd'), 0);
    assert_int_equal(cmd(&k, 'g'), 0);
    assert_ok(vs_peer_is_nondumpable(&p));
    /* Facts behind it: files root's, /proc/PID still the euid's. */
    struct stat dir, maps;
    assert_int_equal(fstat(p.procfd, &dir), 0);
    assert_int_equal(fstatat(p.procfd, "maps", &maps, 0), 0);
    assert_int_equal(dir.st_uid, 65534);
    assert_int_equal(maps.st_uid, 0);
    /* A same-uid reader without CAP_SYS_PTRACE is locked out of maps and
     * environ, but not out of status (TracerPid stays readable). */
    assert_false(nobody_can_open(k.pid, "maps"));
    assert_false(nobody_can_open(k.pid, "environ"));
    assert_true(nobody_can_open(k.pid, "status"));
    assert_ok(vs_peer_check_tracer(&p));
    assert_ok(vs_peer_alive(&p));
    end(&k);
    vs_peer_free(&p);

    /* A root peer: cannot be verified either way. */
    struct kid_opts o2 = {0};
    spawn_peer(&k, &o2, &p);
    assert_int_equal(vs_peer_is_nondumpable(&p), VS_PEER_NOT_VERIFIABLE);
    assert_int_equal(cmd(&k, 'd'), 0);
    assert_int_equal(vs_peer_is_nondumpable(&p), VS_PEER_NOT_VERIFIABLE);
    assert_non_null(strstr(vs_last_error(VS_PEER_NOT_VERIFIABLE), "runs as root"));
    end(&k);
    vs_peer_free(&p);
}

/* --- hash cache --- */

static void sha256sum_of(const char *path, uint8_t out[32])
{
    char line[1024];
    (void)snprintf(line, sizeof line, "sha256sum '%s'", path);
    FILE *f = popen(line, "r");
    assert_non_null(f);
    char hex[65];
    assert_int_equal(fscanf(f, "%64s", hex), 1);
    assert_int_equal(pclose(f), 0);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void hash_one(const char *path, uint8_t out[32])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_ok(vs_hash_cache_sha256(fd, out));
    close(fd);
}

static void hash_cache(void **state)
{
    (void)state;
    vs_peer_caches_reset();
    vs_peer_caches_set_racy_window(2);
    uint8_t a[32], b[32], want[32];
    struct vs_cache_stats s;

    /* An old system file: hashed once, then served from the cache. */
    hash_one("/bin/sleep", a);
    sha256sum_of("/bin/sleep", want);
    assert_memory_equal(a, want, 32);
    hash_one("/bin/sleep", b);
    assert_memory_equal(b, want, 32);
    vs_hash_cache_stats(&s);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.hits, 1);

    /* Through the peer's executable, as vaultd opens it for a pin. */
    char *argv[] = {"sleep", "1000", NULL};
    struct kid k;
    struct vs_peer p;
    exec_peer(&k, &p, "/bin/sleep", argv);
    int exefd = vs_peer_open_exe(&p);
    assert_true(exefd >= 0);
    assert_ok(vs_hash_cache_sha256(exefd, b));
    assert_int_equal(close(exefd), 0);
    assert_memory_equal(b, want, 32);
    vs_hash_cache_stats(&s);
    assert_int_equal(s.hits, 2);
    end(&k);
    vs_peer_free(&p);

    /* A fresh file is inside the racy window: hashed, not cached. */
    char file[512];
    (void)snprintf(file, sizeof file, "%s/blob", tmp);
    write_text(file, "first version\n", 0644);
    hash_one(file, a);
    hash_one(file, a);
    vs_hash_cache_stats(&s);
    assert_int_equal(s.misses, 3);

    /* Without the window: cached, and a touch (mtime) means a re-hash. */
    vs_peer_caches_set_racy_window(0);
    hash_one(file, a);
    hash_one(file, b);
    vs_hash_cache_stats(&s);
    assert_int_equal(s.misses, 4);
    assert_int_equal(s.hits, 3);
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, file, ts, 0), 0);
    hash_one(file, b);
    vs_hash_cache_stats(&s);
    assert_int_equal(s.misses, 5);
    assert_memory_equal(a, b, 32); /* same bytes */
    sha256sum_of(file, want);
    assert_memory_equal(b, want, 32);
    write_text(file, "second version\n", 0644);
    hash_one(file, b);
    sha256sum_of(file, want);
    assert_memory_equal(b, want, 32);
    assert_memory_not_equal(a, b, 32);

    /* Bounded: 300 files, at most 256 entries. */
    for (int i = 0; i < 300; i++) {
        char f[600];
        (void)snprintf(f, sizeof f, "%s/n%d", tmp, i);
        write_text(f, f, 0644);
        hash_one(f, a);
    }
    vs_hash_cache_stats(&s);
    assert_true(s.entries <= 256);
    assert_true(s.entries >= 200);
    vs_peer_caches_set_racy_window(2);
}

/* --- namespaces --- */

static int enter_userns(void)
{
    return unshare(CLONE_NEWUSER) == 0 ? 0 : errno;
}

static void user_namespace(void **state)
{
    (void)state;
    struct kid_opts o = {.before = enter_userns};
    struct kid k;
    struct vs_peer p;
    /* spawn fails the test, naming the errno, if the kernel refuses. */
    spawn_peer(&k, &o, &p);
    assert_true(p.foreign_userns);
    assert_denied(vs_peer_check_namespaces(&p, false), "peer is in another user namespace");
    assert_ok(vs_peer_check_namespaces(&p, true));
    end(&k);
    vs_peer_free(&p);
}

static void pid_namespace(void **state)
{
    (void)state;
    /* The child unshares a pid namespace; its first child (pid 1 there)
     * connects. Killing that one ends the namespace and the child. */
    int st[2], hold[2];
    assert_int_equal(pipe2(st, O_CLOEXEC), 0);
    assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        close(hold[1]); /* else the namespace's init never sees EOF */
        close(st[0]);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (unshare(CLONE_NEWPID) != 0) {
            put_status(st[1], errno);
            _exit(1);
        }
        pid_t g = fork();
        if (g == 0) {
            /* pid 1 there: only SIGKILL from us ends it, so tie it to c. */
            (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
            int s = sock_connect();
            put_status(st[1], s >= 0 ? 0 : errno);
            char x;
            _exit(read(hold[0], &x, 1) < 0 ? 1 : 0);
        }
        (void)waitpid(g, NULL, 0);
        _exit(0);
    }
    track(c);
    close(st[1]);
    close(hold[0]);
    int v = -1;
    assert_int_equal(read(st[0], &v, sizeof v), sizeof v);
    if (v != 0)
        fail_msg("unshare(CLONE_NEWPID)/connect failed: %s", strerror(v));
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    assert_true(conn >= 0);
    struct vs_peer p;
    int rc = vs_peer_accept(conn, &p);
    if (rc != 0)
        fail_msg("vs_peer_accept: %s", vs_last_error(rc));
    assert_denied(vs_peer_check_namespaces(&p, false), "non-initial pid namespace (2 NSpid entries)");
    assert_int_equal(p.nspid_count, 2);
    assert_ok(vs_peer_check_namespaces(&p, true));
    close(hold[1]); /* the namespace's init exits, then c */
    close(st[0]);
    close(conn);
    vs_peer_free(&p);
    int status = 0;
    assert_int_equal(waitpid(c, &status, 0), c);
    for (size_t i = 0; i < MAX_KIDS; i++)
        if (kids[i] == c)
            kids[i] = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identity_and_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(exec_same_file_same_argv, setup, teardown),
        cmocka_unit_test_setup_teardown(settle_after_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(scm_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(scm_credentials_pure, setup, teardown),
        cmocka_unit_test_setup_teardown(exe_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(loader_run_directly, setup, teardown),
        cmocka_unit_test_setup_teardown(deleted_exe, setup, teardown),
        cmocka_unit_test_setup_teardown(memfd_exe, setup, teardown),
        cmocka_unit_test_setup_teardown(scripts, setup, teardown),
        cmocka_unit_test_setup_teardown(tracer, setup, teardown),
        cmocka_unit_test_setup_teardown(maps_foreign_preload, setup, teardown),
        cmocka_unit_test_setup_teardown(environ_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(path_trust, setup, teardown),
        cmocka_unit_test_setup_teardown(nondumpable, setup, teardown),
        cmocka_unit_test_setup_teardown(hash_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(user_namespace, setup, teardown),
        cmocka_unit_test_setup_teardown(pid_namespace, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
