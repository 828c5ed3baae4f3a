/* vaultctl run's requests (run_ping.h). A bare connect would not do as the
 * liveness check: the kernel queues a connection while vaultd is hung or
 * unable to inspect the caller, and the agent would start with tools that
 * silently get nothing. Only vaultd's answer, after it inspected us, counts.
 * The session request shares the PING's connection: one inspection by
 * vaultd instead of two. */
#include "run_ping.h"

#include "error.h"
#include "proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

enum { PING_ID = 1, SESSION_ID = 2 };

static bool send_frame(int fd, const uint8_t *frame, size_t len)
{
    ssize_t n;
    do {
        n = send(fd, frame, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len;
}

int run_ping_send(const char *path, const char *agent)
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
     * full (a stopped vaultd, a flood of connections); SO_RCVTIMEO each
     * answer. */
    const struct timeval bound = {.tv_sec = RUN_PING_TIMEOUT_MS / 1000,
                                  .tv_usec = (RUN_PING_TIMEOUT_MS % 1000) * 1000};
    uint8_t ping[VS_PROTO_HEADER], open[VS_PROTO_HEADER + 128];
    struct vs_msg_writer w;
    size_t ping_len = 0, open_len = 0;
    vs_msg_begin(&w, ping, sizeof ping, VS_OP_PING, PING_ID);
    bool ok = vs_msg_finish(&w, &ping_len) == 0;
    if (ok && agent != NULL) {
        vs_msg_begin(&w, open, sizeof open, VS_OP_SESSION_OPEN, SESSION_ID);
        ok = vs_msg_put_str(&w, VS_F_AGENT, agent) == 0 && vs_msg_finish(&w, &open_len) == 0;
    }
    ok = ok && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound) == 0 &&
         setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound) == 0;
    int rc = -1;
    while (ok && (rc = connect(fd, (struct sockaddr *)&addr, sizeof addr)) != 0 && errno == EINTR)
        ;
    if (rc != 0 || !send_frame(fd, ping, ping_len) || (agent != NULL && !send_frame(fd, open, open_len))) {
        close(fd);
        return VS_EIO;
    }
    return fd;
}

/* One answer into buf. Returns its length, 0 when vaultd closed the
 * connection, -1 on no answer in time (EAGAIN) or an error. */
static ssize_t receive(int fd, uint8_t *buf, size_t cap)
{
    ssize_t n;
    do {
        n = recv(fd, buf, cap, MSG_TRUNC);
    } while (n < 0 && errno == EINTR);
    return n;
}

int run_ping_wait(int fd)
{
    uint8_t buf[64];
    ssize_t n = receive(fd, buf, sizeof buf);
    struct vs_msg m;
    if (n <= 0 || (size_t)n > sizeof buf || vs_msg_decode(buf, (size_t)n, &m) != 0 || m.op != VS_OP_OK ||
        m.id != PING_ID)
        return VS_EIO;
    return 0;
}

int run_session_wait(int fd, const char *path, char *id, size_t cap)
{
    static uint8_t buf[VS_PROTO_MAX_FRAME + 1]; /* an error's reason may be long */
    ssize_t n = receive(fd, buf, sizeof buf);
    if (n < 0)
        return vs_fail(VS_EIO, "vaultd at %s did not answer the session request in time", path);
    if (n == 0)
        return vs_fail(VS_EIO, "vaultd at %s closed the connection", path);
    struct vs_msg m;
    int rc = vs_msg_decode(buf, (size_t)n, &m);
    if (rc != 0)
        return rc;
    if (m.op == VS_OP_ERROR) {
        char reason[1100] = "";
        int code = VS_EPROTO;
        if (vs_msg_get_error(&m, &code, reason, sizeof reason) != 0 || code >= 0)
            code = VS_EPROTO;
        return vs_fail(code, "%s", reason[0] != '\0' ? reason : vs_strerror(code));
    }
    if (m.op != VS_OP_OK || m.id != SESSION_ID || vs_msg_get_str(&m, VS_F_SESSION, id, cap) != 0)
        return vs_fail(VS_EPROTO, "vaultd at %s sent no session id", path);
    return 0;
}
