#include "client.h"

#include "error.h"
#include "rawsys.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* bound_ms > 0: SO_SNDTIMEO, which also bounds connect when the
 * listener's backlog is full, and SO_RCVTIMEO, set before connect. */
static int connect_bounded(const char *path, int bound_ms)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path)
        return VS_ETOOBIG;
    memcpy(addr.sun_path, path, len + 1);
    int fd = vs_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return VS_EIO;
    const struct timeval bound = {.tv_sec = bound_ms / 1000, .tv_usec = (bound_ms % 1000) * 1000};
    int rc = 0;
    if (bound_ms > 0 && (vs_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound) != 0 ||
                         vs_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound) != 0))
        rc = -1;
    while (rc == 0 && (rc = vs_connect(fd, (struct sockaddr *)&addr, sizeof addr)) != 0 && errno == EINTR)
        rc = 0;
    if (rc != 0) {
        int saved = errno;
        vs_close(fd);
        errno = saved;
        return VS_EIO;
    }
    return fd;
}

int vs_client_connect(const char *path)
{
    return connect_bounded(path, 0);
}

int vs_client_connect_within(const char *path, int bound_ms)
{
    return connect_bounded(path, bound_ms > 0 ? bound_ms : 1);
}

int vs_client_send(int fd, const uint8_t *frame, size_t len)
{
    ssize_t n;
    do {
        n = vs_send(fd, frame, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len ? 0 : VS_EIO;
}

int vs_client_recv(int fd, uint8_t *buf, size_t cap, struct vs_msg *reply)
{
    ssize_t n;
    int resets = 0;
    do {
        n = vs_recv(fd, buf, cap, MSG_TRUNC);
        /* vaultd closed with frames of ours unread (pipelined requests
         * behind one it refused): the kernel reports ECONNRESET once,
         * ahead of its answer, which is still queued behind it. */
    } while (n < 0 && (errno == EINTR || (errno == ECONNRESET && resets++ == 0)));
    if (n == 0)
        errno = ECONNRESET; /* vaultd closed the connection (not a timeout) */
    if (n <= 0)
        return VS_EIO;
    if ((size_t)n > cap)
        return VS_ETOOBIG;
    int rc = vs_msg_decode(buf, (size_t)n, reply);
    if (rc != 0)
        return rc;
    if (reply->op == VS_OP_ERROR) {
        int code = VS_EPROTO;
        if (vs_msg_get_error(reply, &code, NULL, 0) != 0 || code >= 0)
            code = VS_EPROTO;
        return code;
    }
    return 0;
}

int vs_client_call(int fd, const uint8_t *frame, size_t len, uint8_t *buf, size_t cap, struct vs_msg *reply)
{
    int rc = vs_client_send(fd, frame, len);
    return rc != 0 ? rc : vs_client_recv(fd, buf, cap, reply);
}

int vs_client_simple(int fd, uint8_t op, uint8_t *buf, size_t cap, struct vs_msg *reply)
{
    uint8_t frame[VS_PROTO_HEADER];
    struct vs_msg_writer w;
    size_t len = 0;
    vs_msg_begin(&w, frame, sizeof frame, op, 1);
    int rc = vs_msg_finish(&w, &len);
    if (rc != 0)
        return rc;
    return vs_client_call(fd, frame, len, buf, cap, reply);
}
