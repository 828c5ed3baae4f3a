/* The two halves of vaultctl run's PING (run_ping.h). A bare connect would
 * not do: the kernel queues a connection while vaultd is hung or unable to
 * inspect the caller, and the agent would start with tools that silently get
 * nothing. Only vaultd's answer, after it inspected us, counts. */
#include "run_ping.h"

#include "error.h"
#include "proto.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int run_ping_send(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path)
        return VS_EIO;
    memcpy(addr.sun_path, path, len + 1);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return VS_EIO;
    /* SO_SNDTIMEO also bounds connect on a Unix socket whose backlog is
     * full (a stopped vaultd, a flood of connections); SO_RCVTIMEO the
     * answer. */
    const struct timeval bound = {.tv_sec = RUN_PING_TIMEOUT_MS / 1000,
                                  .tv_usec = (RUN_PING_TIMEOUT_MS % 1000) * 1000};
    uint8_t frame[VS_PROTO_HEADER];
    struct vs_msg_writer w;
    size_t flen = 0;
    vs_msg_begin(&w, frame, sizeof frame, VS_OP_PING, 1);
    bool ok = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound) == 0 &&
              setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound) == 0 && vs_msg_finish(&w, &flen) == 0;
    int rc = -1;
    while (ok && (rc = connect(fd, (struct sockaddr *)&addr, sizeof addr)) != 0 && errno == EINTR)
        ;
    ssize_t n = -1;
    while (rc == 0 && (n = send(fd, frame, flen, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)flen) {
        close(fd);
        return VS_EIO;
    }
    return fd;
}

int run_ping_wait(int fd)
{
    uint8_t buf[64];
    ssize_t n;
    do {
        n = recv(fd, buf, sizeof buf, MSG_TRUNC);
    } while (n < 0 && errno == EINTR);
    close(fd);
    struct vs_msg m;
    /* n < 0: no answer in time (EAGAIN) or an error; 0: vaultd closed the
     * connection unanswered; over the buffer: not a PING answer. */
    if (n <= 0 || (size_t)n > sizeof buf || vs_msg_decode(buf, (size_t)n, &m) != 0 || m.op != VS_OP_OK)
        return VS_EIO;
    return 0;
}
