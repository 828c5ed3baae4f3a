/* The socket and the event loop: accept with the peer's identity fixed,
 * receive one frame at a time with its credentials checked, dispatch, send
 * one reply, drop a bad peer and live on. */
#include "vaultd.h"

#include "error.h"
#include "client.h"
#include "outq.h"
#include "paths.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* A tag in epoll data for the two non-connection fds. */
#define TAG_LISTEN ((uint64_t)-1)
#define TAG_SIGNAL ((uint64_t)-2)

/* The socket's folder: 0700 owned by vaultd's user, or with --peer-group
 * 0710 of that group, so the agent's user (in a container) can connect;
 * vaultd still decides each request from kernel facts. */
static int open_socket_dir(struct vaultd *d)
{
    bool shared = d->peer_gid != (gid_t)-1;
    if (mkdir(d->sockdir, 0700) != 0 && errno != EEXIST)
        return vs_fail_errno(VS_EIO, "socket folder %s", d->sockdir);
    int fd = open(d->sockdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return vs_fail_errno(VS_EPERM, "socket folder %s", d->sockdir);
    if (shared && (fchown(fd, geteuid(), d->peer_gid) != 0 || fchmod(fd, 0710) != 0)) {
        close(fd);
        return vs_fail_errno(VS_EPERM, "socket folder %s: cannot give it to the peer group", d->sockdir);
    }
    struct stat st;
    mode_t want = shared ? 0710 : 0700;
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 07777) != want ||
        (shared && st.st_gid != d->peer_gid)) {
        close(fd);
        return vs_fail(VS_EPERM, "socket folder %s: unsafe owner or mode (want uid %u, mode %04o)", d->sockdir,
                       (unsigned)geteuid(), (unsigned)want);
    }
    return fd;
}

int vaultd_listen(struct vaultd *d)
{
    int rc = d->sockdirfd = open_socket_dir(d);
    if (rc < 0)
        return rc;
    /* A live daemon on the path is an error; a stale socket file is not. */
    int probe = vs_client_connect(d->socket);
    if (probe >= 0) {
        close(probe);
        return vs_fail(VS_EEXIST, "another vaultd answers at %s", d->socket);
    }
    (void)unlinkat(d->sockdirfd, VS_SOCKET_NAME, 0);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return vs_fail_errno(VS_EIO, "socket");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, d->socket, strlen(d->socket) + 1);
    bool shared = d->peer_gid != (gid_t)-1;
    mode_t old = umask(shared ? 0117 : 0177); /* the socket file is created 0660 or 0600 */
    rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    int saved = errno;
    umask(old);
    if (rc == 0 && shared && fchownat(d->sockdirfd, VS_SOCKET_NAME, geteuid(), d->peer_gid, AT_SYMLINK_NOFOLLOW) != 0)
        rc = -1;
    else
        errno = saved;
    if (rc != 0 || (rc = vs_peer_enable_passcred(fd)) != 0 || listen(fd, 128) != 0) {
        rc = vs_fail_errno(VS_EIO, "listen on %s", d->socket);
        close(fd);
        return rc;
    }
    d->listen_fd = fd;
    return 0;
}

/* Answers whose audit line is written but not yet fsync'd (group commit,
 * audit_batch.h): kept in locked memory until the round's one fsync, then
 * sent; wiped after. A full buffer is flushed early. */
#define HELD_BYTES (4u * VS_PROTO_MAX_FRAME)
#define FRAMES_PER_ROUND 8
#define HELD_MAX 256
static struct {
    uint8_t *buf; /* sodium_malloc'd once */
    size_t used, n;
    struct held_reply {
        struct conn *c; /* NULL once the connection closed */
        size_t slot, off, len;
        uint32_t id;
    } q[HELD_MAX];
} held;

static bool trim_due;
static size_t peak_conns; /* since the last time none were open */

/* An fd kept in reserve for running out of them. When accept4 fails with
 * EMFILE the connection stays queued and the listen socket readable, so
 * the level-triggered loop would wake for it at once, forever. Spending
 * the reserve to take the connection and close it refuses that client at
 * once (it reads EOF) and drains the queue. When even that fails (ENFILE:
 * the whole system is out), listening pauses until a connection closes or
 * the next sweep. */
static int spare_fd = -1;
static bool listen_paused;

static int open_spare_fd(void)
{
    return eventfd(0, EFD_CLOEXEC);
}

static void pause_listening(struct vaultd *d, bool pause)
{
    if (listen_paused == pause)
        return;
    if (!pause && spare_fd < 0)
        spare_fd = open_spare_fd();
    struct epoll_event ev = {.events = pause ? 0 : EPOLLIN, .data.u64 = TAG_LISTEN};
    if (epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, d->listen_fd, &ev) == 0)
        listen_paused = pause;
}

static void forget_held(const struct conn *c)
{
    for (size_t i = 0; i < held.n; i++)
        if (held.q[i].c == c)
            held.q[i].c = NULL;
}

static void close_conn(struct vaultd *d, size_t slot)
{
    struct conn *c = d->conns[slot];
    forget_held(c);
    (void)epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    vaultd_outq_free(c);
    vaultd_approvals_drop(d, c);
    vaultd_mediation_free(c);
    vaultd_masks_free(c);
    vs_peer_free(&c->peer);
    free(c);
    d->conns[slot] = NULL;
    d->nconns--;
    pause_listening(d, false);
    /* After a burst, give the per-connection memory back to the system:
     * at once when the burst was large, else from sweep_idle at most once
     * a second (a trim per closed connection cost every one-client grant
     * a heap walk). */
    if (d->nconns == 0) {
        if (peak_conns > 64)
            (void)malloc_trim(0);
        else
            trim_due = peak_conns > 0;
        peak_conns = 0;
    }
}

/* The connection's last answer (a refusal) is sent or queued: closed now,
 * or, when answers still wait for room, once the peer has read them and
 * that refusal. Nothing more is read from it meanwhile; the idle sweep
 * ends the wait of a peer that stops reading. */
static void close_when_sent(struct vaultd *d, size_t slot)
{
    struct conn *c = d->conns[slot];
    c->closing = true;
    c->files_due = 0;
    /* the drain sends what fits now and watches for room only */
    if (!vaultd_outq_pending(c) || vaultd_outq_drain(d, c) != 0 || !vaultd_outq_pending(c))
        close_conn(d, slot);
}

static void say_out_of_fds(struct vaultd *d)
{
    if (!d->full_logged)
        vaultd_say("out of file descriptors: connections are refused until some close");
    d->full_logged = true;
}

/* True when a queued connection was taken and closed. */
static bool refuse_for_want_of_fds(struct vaultd *d)
{
    say_out_of_fds(d);
    if (spare_fd >= 0) {
        close(spare_fd);
        spare_fd = -1;
    }
    int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    bool out = fd < 0 && (errno == EMFILE || errno == ENFILE);
    if (fd >= 0)
        close(fd);
    spare_fd = open_spare_fd();
    if (out)
        pause_listening(d, true);
    return fd >= 0;
}

/* Accepts one connection; false when there is none left to accept (or no
 * room), so the caller stops looping. */
static bool accept_one(struct vaultd *d)
{
    int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return (errno == EMFILE || errno == ENFILE) && refuse_for_want_of_fds(d);
    size_t slot = 0;
    while (slot < VAULTD_MAX_CONNS && d->conns[slot] != NULL)
        slot++;
    struct conn *c = slot < VAULTD_MAX_CONNS ? calloc(1, sizeof *c) : NULL;
    if (c == NULL) {
        if (!d->full_logged)
            vaultd_say("%d connections open: refusing more until some close", VAULTD_MAX_CONNS);
        d->full_logged = true;
        close(fd);
        return true;
    }
    c->fd = fd;
    c->slot = slot;
    c->accepted_ms = c->last_ms = vs_now_ms();
    /* Identity is fixed here, from the kernel, once. It takes fds of its
     * own (pidfd, /proc/PID, exe, stat...): running out there is running out. */
    errno = 0;
    if (vs_peer_accept(fd, &c->peer) != 0) {
        if (errno == EMFILE || errno == ENFILE)
            say_out_of_fds(d);
        close(fd);
        free(c);
        return true;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = slot};
    if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        vs_peer_free(&c->peer);
        close(fd);
        free(c);
        return true;
    }
    d->full_logged = false;
    d->conns[slot] = c;
    d->nconns++;
    if (d->nconns > peak_conns)
        peak_conns = d->nconns;
    return true;
}

/* Closes any file descriptors a peer sent us: they are never used. */
static bool drop_passed_fds(struct msghdr *msg)
{
    bool had = false;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(cm);
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
        had = true;
    }
    return had;
}

static int send_reply(struct vaultd *d, struct conn *c, size_t len)
{
    int rc = vaultd_outq_send(d, c, d->reply, len);
    sodium_memzero(d->reply, len); /* it may have held values */
    return rc;
}

/* fsync the round's audit lines (when no answer waits, only if the sync
 * mode says one is due), then send the answers that waited for them. If
 * the lines cannot be synced, their answers are refused and those peers
 * dropped (invariant 4: no audit line, no answer). */
static void flush_held(struct vaultd *d)
{
    int rc = held.n > 0 ? vaultd_audit_sync() : vaultd_audit_tick();
    if (rc != 0 && held.n > 0)
        vaultd_say("%s: refusing %zu answers", vs_last_error(rc), held.n);
    for (size_t i = 0; i < held.n; i++) {
        struct held_reply *h = &held.q[i];
        if (h->c == NULL)
            continue;
        bool ok = rc == 0 && vaultd_outq_send(d, h->c, held.buf + h->off, h->len) == 0;
        if (rc != 0) {
            size_t len = 0;
            if (vaultd_reply_error(d, h->id, VS_EAUDIT, vs_last_error(rc), &len) == 0 &&
                send_reply(d, h->c, len) == 0) {
                close_when_sent(d, h->slot);
                continue;
            }
        }
        if (!ok)
            close_conn(d, h->slot);
    }
    if (held.used != 0)
        sodium_memzero(held.buf, held.used);
    held.used = held.n = 0;
}

/* Keeps the reply in d->reply for the round's flush; false when it had to
 * be refused (no memory, send failed after an early flush). */
static bool hold_reply(struct vaultd *d, struct conn *c, size_t slot, uint32_t id, size_t len)
{
    if (held.buf == NULL && (held.buf = sodium_malloc(HELD_BYTES)) == NULL) {
        /* No room to wait in: sync now, answer now. */
        return vaultd_audit_sync() == 0 && send_reply(d, c, len) == 0;
    }
    if (held.n == HELD_MAX || HELD_BYTES - held.used < len) {
        flush_held(d);
        /* The flush closes a peer whose earlier answer could not be sent:
         * this one, maybe (a grant held, then its render). */
        if (d->conns[slot] != c) {
            sodium_memzero(d->reply, len);
            return true;
        }
        return vaultd_audit_sync() == 0 && send_reply(d, c, len) == 0;
    }
    memcpy(held.buf + held.used, d->reply, len);
    sodium_memzero(d->reply, len);
    held.q[held.n++] = (struct held_reply){.c = c, .slot = slot, .off = held.used, .len = len, .id = id};
    held.used += len;
    return true;
}

/* The reply to one request whose handler returned rc (len bytes in
 * d->reply): held for the round's fsync, sent, or an error. Returns false
 * when the connection must be closed. */
static bool answer(struct vaultd *d, size_t slot, uint32_t id, int rc, bool dispatched, size_t len,
                   uint64_t lines_before)
{
    struct conn *c = d->conns[slot];
    if (rc == VAULTD_HELD)
        return true; /* answered later, by approvals.c */
    if (rc < 0) {
        /* A malformed or refused request: one error reply, then the peer is
         * dropped (a connection that misbehaved gets no second try). The
         * grant handlers log their own decisions; the rest is logged here. */
        bool logged = dispatched && (rc == VS_EDENIED || rc == VS_EPOLICY || rc == VS_ELOCKED || rc == VS_EAUDIT);
        if (!logged) {
            char reason[512];
            (void)snprintf(reason, sizeof reason, "%s", vs_last_error(rc));
            (void)vaultd_log(d, c, "reject", "denied", reason, NULL, NULL);
            (void)vs_fail(rc, "%s", reason);
        }
        if (vaultd_reply_error(d, id, rc, vs_last_error(rc), &len) == 0 && send_reply(d, c, len) == 0 &&
            vaultd_outq_pending(c)) {
            close_when_sent(d, slot); /* behind answers that wait for room */
            return d->conns[slot] == c;
        }
        return false;
    }
    /* The idle limit runs from our answer, not from the request: vaultd's
     * own work (hashing a large tool) must not count against the client. */
    c->last_ms = vs_now_ms();
    /* An answer its dispatch logged waits for the round's fsync (in
     * interval mode only an urgent line's: audit_d.c). */
    if (vaultd_audit_answer_waits(lines_before))
        return hold_reply(d, c, slot, id, len);
    return send_reply(d, c, len) == 0;
}

/* One frame in, its reply out, then the file renders a grant WITH_FILES
 * owes. Returns false when the connection must be closed; *more says
 * whether to read another frame in this round: after a granted tool's
 * request, when its renders come as frames of their own right behind it. */
static bool serve_one(struct vaultd *d, size_t slot, bool *more)
{
    *more = false;
    struct conn *c = d->conns[slot];
    uint64_t lines_before = vaultd_audit_written();
    /* Static, not on the stack: then whatever a request leaves in it is
     * exactly what the wipe below covers (the daemon is single-threaded
     * and serve_one does not nest). */
    static uint8_t frame[VS_PROTO_MAX_FRAME + 1];
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = frame, .iov_len = sizeof frame};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    ssize_t n;
    do {
        n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return true;
    if (n <= 0)
        return false;
    c->last_ms = vs_now_ms();
    size_t len = 0;
    uint32_t id = 0;
    bool dispatched = false;
    int rc;
    if (drop_passed_fds(&msg)) {
        rc = vs_fail(VS_EPROTO, "file descriptors are not accepted");
    } else if ((msg.msg_flags & MSG_TRUNC) != 0 || (size_t)n > VS_PROTO_MAX_FRAME) {
        rc = vs_fail(VS_ETOOBIG, "frame over %d bytes", VS_PROTO_MAX_FRAME);
    } else if ((rc = vs_peer_check_msg_creds(&msg, c->peer.pid)) != 0) {
        rc = vs_fail(VS_EDENIED, "message not sent by the connected process (%s)", vs_last_error(rc));
    } else {
        struct vs_msg m;
        rc = vs_msg_decode(frame, (size_t)n, &m);
        if (rc == 0) {
            id = m.id;
            dispatched = true;
            rc = vaultd_dispatch(d, c, &m, &len);
        }
    }
    /* Only the bytes recvmsg wrote: the rest is still zero from the last
     * request's wipe (all 64 KB were wiped, whatever the request's size). */
    sodium_memzero(frame, (size_t)n);
    bool inline_files = rc == 0 && c->files_due > 0;
    bool keep = answer(d, slot, id, rc, dispatched, len, lines_before);
    /* (hold_reply may have closed the connection: d->conns[slot] != c) */
    while (keep && d->conns[slot] == c && !c->closing && c->files_due > 0) {
        lines_before = vaultd_audit_written();
        len = 0;
        rc = vaultd_render_due(d, c, &id, &len);
        keep = answer(d, slot, id, rc, true, len, lines_before);
    }
    if (d->conns[slot] != c)
        return true; /* closed already */
    /* Only a granted tool with files may send more right behind (renders
     * of its own); for anyone else another read would find nothing. */
    *more = keep && !c->closing && !inline_files && c->state == CONN_GRANTED && c->tool != NULL &&
            c->tool->n_files > 0;
    return keep;
}

static void handle_signal(struct vaultd *d)
{
    struct signalfd_siginfo si;
    while (read(d->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            d->stop = true;
        } else if (si.ssi_signo == SIGHUP) {
            /* Widening access needs a human factor: on a passphrase vault a
             * signal (which the agent's user may be able to send) is not one. */
            if (d->kind == VS_KDF_PASSPHRASE) {
                vaultd_say("SIGHUP: policy not reloaded: a passphrase vault reloads with `vaultctl reload`");
                continue;
            }
            int rc = vaultd_load_policy(d);
            if (rc != 0)
                vaultd_say("reload refused, the running policy stays: %s", vs_last_error(rc));
            else
                vaultd_say("policy reloaded from %s", d->config);
            (void)vaultd_log(d, NULL, "reload", rc == 0 ? "ok" : "error", rc == 0 ? "SIGHUP" : vs_last_error(rc),
                             NULL, NULL);
        }
    }
}

static void sweep_idle(struct vaultd *d)
{
    int64_t now = vs_now_ms();
    for (size_t i = 0; i < VAULTD_MAX_CONNS; i++)
        if (d->conns[i] != NULL && !d->conns[i]->held && now - d->conns[i]->last_ms > VAULTD_IDLE_MS)
            close_conn(d, i);
    if (trim_due && d->nconns == 0) {
        (void)malloc_trim(0);
        trim_due = false;
    }
}

void vaultd_trim_when_idle(void)
{
    trim_due = true;
}

int vaultd_run(struct vaultd *d)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
        (d->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
        (d->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return vs_fail_errno(VS_EIO, "event loop");
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit must turn an audit append into an error (and a
     * refused grant), not kill the daemon. */
    signal(SIGXFSZ, SIG_IGN);
    struct epoll_event lev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    struct epoll_event sev = {.events = EPOLLIN, .data.u64 = TAG_SIGNAL};
    if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->listen_fd, &lev) != 0 ||
        epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->signal_fd, &sev) != 0)
        return vs_fail_errno(VS_EIO, "event loop");
    if ((spare_fd = open_spare_fd()) < 0)
        return vs_fail_errno(VS_EIO, "event loop");
    int64_t last_sweep = vs_now_ms();
    while (!d->stop) {
        struct epoll_event events[64];
        int n = epoll_wait(d->epoll_fd, events, 64, vaultd_audit_timeout(1000));
        if (n < 0 && errno != EINTR)
            return vs_fail_errno(VS_EIO, "epoll_wait");
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64;
            if (tag == TAG_LISTEN) {
                for (int k = 0; k < 64 && accept_one(d); k++) /* bounded: others get a turn */
                    ;
            } else if (tag == TAG_SIGNAL) {
                handle_signal(d);
            } else if (tag < VAULTD_MAX_CONNS && d->conns[tag] != NULL) {
                /* Room again for answers that waited (outq.c). Then: a
                 * tool's grant and the file renders it sent right behind
                 * it are served in one round, so one fsync covers their
                 * lines; bounded so that one peer cannot starve the rest.
                 * An event with neither (a hang-up, an error) closes. */
                uint32_t ev = events[i].events;
                struct conn *c = d->conns[tag];
                bool keep = (ev & (EPOLLIN | EPOLLOUT)) != 0, more = true;
                if (keep && (ev & EPOLLOUT) != 0)
                    keep = vaultd_outq_drain(d, c) == 0 && !(c->closing && !vaultd_outq_pending(c));
                /* (serve_one may close c: d->conns[tag] is read again) */
                for (int k = 0; keep && more && (ev & EPOLLIN) != 0 && !d->conns[tag]->closing &&
                                k < FRAMES_PER_ROUND;
                     k++)
                    keep = serve_one(d, (size_t)tag, &more);
                if (!keep)
                    close_conn(d, (size_t)tag);
            }
        }
        flush_held(d); /* one fsync for the round's audit lines */
        if (vs_now_ms() - last_sweep > 1000) {
            sweep_idle(d);
            vaultd_life_tick(d);
            vaultd_approvals_tick(d);
            pause_listening(d, false);
            last_sweep = vs_now_ms();
        }
    }
    return 0;
}

void vaultd_shutdown(struct vaultd *d)
{
    flush_held(d);
    (void)vaultd_audit_sync(); /* whatever the sync mode */
    for (size_t i = 0; i < VAULTD_MAX_CONNS; i++)
        if (d->conns[i] != NULL)
            close_conn(d, i);
    if (spare_fd >= 0)
        close(spare_fd);
    if (d->listen_fd >= 0) {
        close(d->listen_fd);
        (void)unlinkat(d->sockdirfd, VS_SOCKET_NAME, 0);
    }
}
