/* The floor of any inspecting vault on this machine, for make bench: a
 * single-threaded server on a SEQPACKET socket that does per grant only the
 * kernel work an inspection cannot skip, and nothing of vaultd's own:
 *
 *   accept, SO_PEERCRED, open /proc/PID; on the request read stat, the exe
 *   link, cmdline, status, maps and environ (open, read, close each); with
 *   LOG, append a 380-byte line to LOG and fsync it once per event-loop
 *   round before the round's answers leave (vaultd's "each"); answer a
 *   GRANT_LIST of one fake value; close on hang-up.
 *
 * No policy, no checks of what was read, no store, no crypto: a real vault
 * cannot be faster than this, so run.sh prints it beside vaultd's figures
 * as what the machine allows.
 *
 *   vsbench-floor [-w N] SOCK [LOG]   serves until SIGTERM; -w: N processes
 *                                     accept on the one socket (both cores)
 *
 * vsbench grant with VSBENCH_STEPS=1 is its client. */
#include "error.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { MAX_EVENTS = 64, PROC_BUF = 1 << 16, LINE_LEN = 380 };

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* open, read to the end, close: as an inspector reads a file it cannot hold
 * (maps and environ must be opened fresh). -1 when the peer is gone. */
static int read_proc(int procfd, const char *name, char *buf)
{
    int fd = openat(procfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    while ((n = read(fd, buf, PROC_BUF)) > 0)
        ;
    (void)close(fd);
    return n < 0 ? -1 : 0;
}

static int inspect(int procfd, char *buf)
{
    static const char *const files[] = {"stat", "cmdline", "status", "maps", "environ"};
    if (readlinkat(procfd, "exe", buf, PROC_BUF) < 0)
        return -1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (read_proc(procfd, files[i], buf) != 0)
            return -1;
    return 0;
}

struct conn {
    int fd, procfd;
};

static void drop(int ep, struct conn *c)
{
    (void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    (void)close(c->fd);
    if (c->procfd >= 0)
        (void)close(c->procfd);
    free(c);
}

static void accept_all(int ep, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        struct ucred uc;
        socklen_t len = sizeof uc;
        struct conn *c = malloc(sizeof *c);
        char path[32];
        if (c == NULL || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
            snprintf(path, sizeof path, "/proc/%d", (int)uc.pid) >= (int)sizeof path) {
            free(c);
            (void)close(fd);
            continue;
        }
        c->fd = fd;
        c->procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (c->procfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            if (c->procfd >= 0)
                (void)close(c->procfd);
            free(c);
            (void)close(fd);
        }
    }
}

/* One request: inspect, log; the answer waits in reply for the round's fsync. */
static int serve(struct conn *c, int logfd, char *buf, uint8_t *reply, size_t *reply_len)
{
    uint8_t frame[VS_PROTO_MAX_FRAME + 1];
    ssize_t n = recv(c->fd, frame, sizeof frame, MSG_DONTWAIT);
    struct vs_msg m;
    if (n <= 0 || vs_msg_decode(frame, (size_t)n, &m) != 0 || inspect(c->procfd, buf) != 0)
        return -1;
    if (logfd >= 0) {
        char line[LINE_LEN];
        memset(line, 'x', sizeof line);
        line[sizeof line - 1] = '\n';
        if (write(logfd, line, sizeof line) != (ssize_t)sizeof line)
            return -1;
    }
    struct vs_msg_writer w;
    static const char value[] = "floor_value_of_thirty_two_bytes_";
    vs_msg_begin(&w, reply, VS_PROTO_MAX_FRAME, VS_OP_GRANT_LIST, m.id);
    (void)vs_msg_put_grant(&w, "BENCH_TOKEN", value, sizeof value - 1, 1);
    return vs_msg_finish(&w, reply_len) == 0 ? 0 : -1;
}

static int listen_on(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "vsbench-floor: socket path too long\n");
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    (void)unlink(path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
        fprintf(stderr, "vsbench-floor: listen on %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            (void)close(fd);
        return -1;
    }
    return fd;
}

/* After listen: workers - 1 children serve the same socket, each with its
 * own epoll, and die with the parent. */
static int fork_workers(long workers)
{
    pid_t parent = getpid();
    for (long i = 1; i < workers; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0)
            return prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && getppid() == parent ? 0 : -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long workers = 1;
    if (argc >= 3 && strcmp(argv[1], "-w") == 0) {
        workers = strtol(argv[2], NULL, 10);
        argc -= 2;
        argv += 2;
    }
    if (argc < 2 || argc > 3 || workers < 1 || workers > 64) {
        fprintf(stderr, "usage: vsbench-floor [-w N] SOCK [LOG]\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_term};
    int logfd = argc == 3 ? open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
    int lfd = listen_on(argv[1]);
    if (lfd < 0 || sigaction(SIGTERM, &sa, NULL) != 0 || fork_workers(workers) != 0) {
        fprintf(stderr, "vsbench-floor: set-up failed: %s\n", strerror(errno));
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
    char *buf = malloc(PROC_BUF);
    /* one answer per ready connection of a round */
    uint8_t(*replies)[VS_PROTO_MAX_FRAME] = malloc(MAX_EVENTS * sizeof *replies);
    if ((argc == 3 && logfd < 0) || ep < 0 || buf == NULL || replies == NULL ||
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0) {
        fprintf(stderr, "vsbench-floor: set-up failed: %s\n", strerror(errno));
        return 1;
    }
    while (!stop) {
        struct epoll_event evs[MAX_EVENTS];
        int n = epoll_wait(ep, evs, MAX_EVENTS, 1000);
        if (n < 0 && errno != EINTR)
            return 1;
        struct conn *ready[MAX_EVENTS];
        size_t lens[MAX_EVENTS], nready = 0;
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                accept_all(ep, lfd);
            } else if ((evs[i].events & EPOLLIN) && serve(c, logfd, buf, replies[nready], &lens[nready]) == 0) {
                ready[nready++] = c;
            } else {
                drop(ep, c);
            }
        }
        if (nready > 0 && logfd >= 0 && fsync(logfd) != 0) {
            fprintf(stderr, "vsbench-floor: fsync: %s\n", strerror(errno));
            return 1;
        }
        for (size_t i = 0; i < nready; i++)
            if (send(ready[i]->fd, replies[i], lens[i], MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)lens[i])
                drop(ep, ready[i]);
    }
    return 0;
}
