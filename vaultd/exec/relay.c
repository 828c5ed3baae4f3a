/* vault-exec's process runner (rules in relay.h). One poll loop over: a
 * signalfd (forwarded signals, SIGCHLD, SIGWINCH), the tool's outputs (a
 * pty master, or a stdout and a stderr pipe), and in pty mode our stdin
 * copied to the master. Teardown is one path whatever happened: streams
 * flushed, the terminal mode restored, the child reaped (killed first when
 * vault-exec itself failed), signal mask and dispositions put back. */
#include "relay.h"

#include "error.h"
#include "relay_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define RELAY_BUF (64 * 1024)
/* After the tool exits, output still arriving (a background child holding
 * the pipe) is waited for this long since the last byte, then we stop. */
#define RELAY_DRAIN_QUIET_MS 200

static const int FORWARDED[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

struct relay {
    const struct vs_relay_opts *o;
    bool use_pty;
    pid_t pid;
    bool exited;
    int wstatus;
    int sigfd;
    sigset_t old_mask;
    bool mask_blocked;
    struct sigaction old_pipe, old_chld;
    bool dispositions_set;
    struct relay_term term;
    int master, slave;     /* pty mode */
    int out_w, err_w;      /* pipe mode: the tool's ends */
    struct relay_stream out, err;
    int in_fd;             /* pty mode: our stdin while it is copied, else -1 */
    bool in_is_tty;
    uint8_t inbuf[4096];
    size_t in_len, in_off;
    uint8_t *buf;
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        (void)close(*fd); /* teardown: nothing useful to do about a failed close */
    *fd = -1;
}

/* --- set-up -------------------------------------------------------------- */

static int block_signals(struct relay *r)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++)
        sigaddset(&set, FORWARDED[i]);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGWINCH);
    /* SIGCHLD must not be ignored (the child would be reaped for us);
     * SIGPIPE is ours to see as EPIPE, not to die of. */
    struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};
    if (sigaction(SIGCHLD, &dfl, &r->old_chld) != 0 || sigaction(SIGPIPE, &ign, &r->old_pipe) != 0)
        return vs_fail_errno(VS_EIO, "relay: set signal dispositions");
    r->dispositions_set = true;
    if (sigprocmask(SIG_BLOCK, &set, &r->old_mask) != 0)
        return vs_fail_errno(VS_EIO, "relay: block signals");
    r->mask_blocked = true;
    r->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (r->sigfd < 0)
        return vs_fail_errno(VS_EIO, "relay: signalfd");
    return 0;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return vs_fail_errno(VS_EIO, "relay: make a relay fd non-blocking");
    return 0;
}

static int open_pty(struct relay *r)
{
    const struct vs_relay_opts *o = r->o;
    struct winsize ws;
    bool have_ws = ioctl(o->out_fd, TIOCGWINSZ, &ws) == 0 || ioctl(o->in_fd, TIOCGWINSZ, &ws) == 0;
    struct termios tio;
    bool have_tio = tcgetattr(o->in_fd, &tio) == 0 || tcgetattr(o->out_fd, &tio) == 0;
    if (openpty(&r->master, &r->slave, NULL, have_tio ? &tio : NULL, have_ws ? &ws : NULL) != 0)
        return vs_fail_errno(VS_EIO, "relay: openpty");
    if (fcntl(r->master, F_SETFD, FD_CLOEXEC) != 0)
        return vs_fail_errno(VS_EIO, "relay: fcntl pty");
    r->out = (struct relay_stream){.fd = r->master, .dest = o->out_fd, .mask = o->mask_out, .name = "pty"};
    r->in_is_tty = isatty(o->in_fd);
    r->in_fd = o->in_fd;
    return 0;
}

static int open_pipes(struct relay *r)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0)
        return vs_fail_errno(VS_EIO, "relay: pipe");
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close_fd(&po[0]), close_fd(&po[1]);
        return vs_fail_errno(VS_EIO, "relay: pipe");
    }
    r->out = (struct relay_stream){.fd = po[0], .dest = r->o->out_fd, .mask = r->o->mask_out, .name = "stdout"};
    r->err = (struct relay_stream){.fd = pe[0], .dest = r->o->err_fd, .mask = r->o->mask_err, .name = "stderr"};
    r->out_w = po[1];
    r->err_w = pe[1];
    return 0;
}

/* In the child: our signal state undone, stdio wired, the tool exec'd.
 * Only async-signal-safe calls. */
static _Noreturn void child(const struct relay *r)
{
    const struct vs_relay_opts *o = r->o;
    (void)sigaction(SIGPIPE, &r->old_pipe, NULL);
    (void)sigaction(SIGCHLD, &r->old_chld, NULL);
    (void)sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
    if (r->use_pty) {
        if (setsid() < 0 || ioctl(r->slave, TIOCSCTTY, 0) != 0)
            _exit(127);
        for (int fd = 0; fd < 3; fd++)
            if (dup2(r->slave, fd) < 0)
                _exit(127);
        if (r->slave > 2)
            (void)close(r->slave);
    } else {
        /* err first: the tool's ends are never 0..2 (ours are open there) */
        if ((o->in_fd != 0 && dup2(o->in_fd, 0) < 0) || dup2(r->out_w, 1) < 0 || dup2(r->err_w, 2) < 0)
            _exit(127);
    }
    (void)o->exec_tool(o->ctx);
    _exit(127);
}

/* --- the loop ------------------------------------------------------------ */

static void reap(struct relay *r)
{
    if (r->exited || r->pid <= 0)
        return;
    int st;
    pid_t p;
    do {
        p = waitpid(r->pid, &st, WNOHANG);
    } while (p < 0 && errno == EINTR);
    if (p == r->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
        r->exited = true;
        r->wstatus = st;
    }
}

static void resize(struct relay *r)
{
    struct winsize ws;
    if (r->master >= 0 && ioctl(r->o->out_fd, TIOCGWINSZ, &ws) == 0)
        (void)ioctl(r->master, TIOCSWINSZ, &ws); /* the kernel signals the tool's foreground group */
}

static int handle_signals(struct relay *r)
{
    for (int guard = 0; guard < 64; guard++) {
        struct signalfd_siginfo si;
        ssize_t n = read(r->sigfd, &si, sizeof si);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (n != (ssize_t)sizeof si)
            return vs_fail_errno(VS_EIO, "relay: read signalfd");
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            reap(r);
        } else if (sig == SIGWINCH) {
            resize(r);
        } else if (!r->exited) {
            /* With pipes the tool shares our terminal's process group: a
             * key the terminal turned into a signal reached it already. */
            if (!r->use_pty && si.ssi_code == SI_KERNEL)
                continue;
            if (kill(r->pid, sig) != 0 && errno != ESRCH)
                return vs_fail_errno(VS_EIO, "relay: forward signal %d", sig);
        }
    }
    return 0;
}

/* pty mode: our stdin to the master, through a small buffer so a tool that
 * does not read its input never blocks the relay of its output. */
static int copy_input(struct relay *r, short in_events, short master_events)
{
    if (r->in_fd >= 0 && r->in_len == 0 && (in_events & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = read(r->in_fd, r->inbuf, sizeof r->inbuf);
        if (n > 0) {
            r->in_len = (size_t)n, r->in_off = 0;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            /* end of our input: a pipe's end becomes the tool's EOF key */
            struct termios tio;
            if (n == 0 && !r->in_is_tty && r->master >= 0 && tcgetattr(r->master, &tio) == 0) {
                r->inbuf[0] = tio.c_cc[VEOF];
                r->in_len = 1, r->in_off = 0;
            }
            r->in_fd = -1;
        }
    }
    if (r->in_len > r->in_off && r->master >= 0 && (master_events & POLLOUT)) {
        ssize_t n = write(r->master, r->inbuf + r->in_off, r->in_len - r->in_off);
        if (n > 0)
            r->in_off += (size_t)n;
        else if (n < 0 && errno != EINTR && errno != EAGAIN)
            r->in_off = r->in_len; /* the tool's side is gone: drop the input */
        if (r->in_off == r->in_len)
            r->in_len = r->in_off = 0;
    }
    return 0;
}

/* Milliseconds until a stream with held-back bytes has been quiet for
 * VS_RELAY_IDLE_MS (each stream on its own clock, so a busy stdout does not
 * keep a prompt on stderr waiting), or -1 when nothing is held. */
static int idle_due_in(const struct relay_stream *s, int64_t now)
{
    if (s->idle_done || relay_stream_pending(s) == 0)
        return -1;
    int64_t left = s->last_read_ms + VS_RELAY_IDLE_MS - now;
    return left < 0 ? 0 : (int)left;
}

static int poll_timeout(const struct relay *r)
{
    if (r->exited)
        return RELAY_DRAIN_QUIET_MS;
    int64_t now = relay_now_ms();
    int a = idle_due_in(&r->out, now), b = idle_due_in(&r->err, now);
    return a < 0 ? b : (b < 0 || a < b ? a : b);
}

static int release_idle(struct relay *r)
{
    int64_t now = relay_now_ms();
    int rc = idle_due_in(&r->out, now) == 0 ? relay_stream_idle(&r->out) : 0;
    if (rc == 0 && idle_due_in(&r->err, now) == 0)
        rc = relay_stream_idle(&r->err);
    return rc;
}

static int loop(struct relay *r)
{
    for (;;) {
        if (!r->exited)
            reap(r); /* SIGCHLD may have been merged with an earlier one */
        if (r->exited && r->out.fd < 0 && r->err.fd < 0)
            return 0;
        struct pollfd p[4];
        int n = 0, i_sig = -1, i_out = -1, i_err = -1, i_in = -1;
        p[i_sig = n++] = (struct pollfd){.fd = r->sigfd, .events = POLLIN};
        if (r->out.fd >= 0)
            p[i_out = n++] = (struct pollfd){.fd = r->out.fd,
                                             .events = POLLIN | (r->in_len > r->in_off ? POLLOUT : 0)};
        if (r->err.fd >= 0)
            p[i_err = n++] = (struct pollfd){.fd = r->err.fd, .events = POLLIN};
        if (r->in_fd >= 0 && r->in_len == 0 && r->master >= 0)
            p[i_in = n++] = (struct pollfd){.fd = r->in_fd, .events = POLLIN};
        int ready = poll(p, (nfds_t)n, poll_timeout(r));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return vs_fail_errno(VS_EIO, "relay: poll");
        if (ready == 0 && r->exited)
            return 0; /* quiet since the tool exited: what is left is a background holder's */
        int rc = release_idle(r);
        if (rc != 0 || ready == 0) {
            if (rc != 0)
                return rc;
            continue;
        }
        rc = p[i_sig].revents ? handle_signals(r) : 0;
        size_t got;
        if (rc == 0 && i_out >= 0 && (p[i_out].revents & (POLLIN | POLLHUP | POLLERR)))
            rc = relay_stream_pump(&r->out, r->buf, RELAY_BUF, &got);
        if (rc == 0 && i_err >= 0 && (p[i_err].revents & (POLLIN | POLLHUP | POLLERR)))
            rc = relay_stream_pump(&r->err, r->buf, RELAY_BUF, &got);
        if (rc == 0 && r->master >= 0 && r->out.fd < 0)
            r->master = -1; /* closed with its stream */
        if (rc == 0 && r->master >= 0)
            rc = copy_input(r, i_in >= 0 ? p[i_in].revents : 0, i_out >= 0 ? p[i_out].revents : 0);
        if (rc != 0)
            return rc;
    }
}

/* --- teardown ------------------------------------------------------------ */

static int teardown(struct relay *r, int rc)
{
    int crc = relay_stream_close(&r->out);
    int erc = relay_stream_close(&r->err);
    if (rc == 0)
        rc = crc != 0 ? crc : erc;
    r->master = -1; /* closed as r->out.fd in pty mode */
    close_fd(&r->slave);
    close_fd(&r->out_w);
    close_fd(&r->err_w);
    int trc = relay_term_restore(&r->term);
    if (rc == 0)
        rc = trc;
    if (r->pid > 0 && !r->exited) {
        if (rc != 0)
            (void)kill(r->pid, SIGKILL); /* vault-exec failed: the tool must not run on unrelayed */
        int st;
        pid_t p;
        do {
            p = waitpid(r->pid, &st, 0);
        } while (p < 0 && errno == EINTR);
        if (p == r->pid)
            r->exited = true, r->wstatus = st;
    }
    if (r->sigfd >= 0) {
        struct signalfd_siginfo si; /* signals left for the finished run are not ours to die of */
        for (int guard = 0; guard < 64 && read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si; guard++)
            ;
        close_fd(&r->sigfd);
    }
    if (r->mask_blocked)
        (void)sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
    if (r->dispositions_set) {
        (void)sigaction(SIGPIPE, &r->old_pipe, NULL);
        (void)sigaction(SIGCHLD, &r->old_chld, NULL);
    }
    if (r->buf != NULL) {
        explicit_bzero(r->buf, RELAY_BUF); /* it held the tool's output, masked or not */
        free(r->buf);
    }
    explicit_bzero(r->inbuf, sizeof r->inbuf);
    return rc;
}

static int start(struct relay *r, pid_t *pid_out)
{
    int rc = block_signals(r);
    if (rc == 0)
        rc = r->use_pty ? open_pty(r) : open_pipes(r);
    if (rc != 0)
        return rc;
    r->buf = malloc(RELAY_BUF);
    if (r->buf == NULL)
        return vs_fail(VS_ENOMEM, "relay: no memory");
    r->pid = fork();
    if (r->pid < 0)
        return vs_fail_errno(VS_EIO, "relay: fork");
    if (r->pid == 0)
        child(r);
    if (pid_out != NULL)
        *pid_out = r->pid;
    close_fd(&r->slave);
    close_fd(&r->out_w);
    close_fd(&r->err_w);
    if (r->out.fd >= 0 && (rc = set_nonblock(r->out.fd)) != 0)
        return rc;
    if (r->err.fd >= 0 && (rc = set_nonblock(r->err.fd)) != 0)
        return rc;
    return r->use_pty ? relay_term_raw(&r->term, r->o->in_fd) : 0;
}

int vs_relay_run(const struct vs_relay_opts *o, int *status, pid_t *pid_out)
{
    if (o == NULL || o->exec_tool == NULL || status == NULL || o->in_fd < 0 || o->out_fd < 0 || o->err_fd < 0)
        return vs_fail(VS_EINVAL, "relay: no tool to run, or a missing fd");
    struct relay r = {.o = o, .sigfd = -1, .master = -1, .slave = -1, .out_w = -1, .err_w = -1, .in_fd = -1};
    r.out.fd = r.err.fd = -1;
    r.term.fd = -1;
    r.use_pty = !o->force_pipes && isatty(o->out_fd);
    int rc = start(&r, pid_out);
    if (rc == 0)
        rc = loop(&r);
    rc = teardown(&r, rc);
    if (rc != 0)
        return rc;
    if (!r.exited)
        return vs_fail(VS_EIO, "relay: the tool's exit status was lost");
    *status = WIFEXITED(r.wstatus) ? WEXITSTATUS(r.wstatus) : 128 + WTERMSIG(r.wstatus);
    return 0;
}
