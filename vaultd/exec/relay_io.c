/* Output streams and the caller's terminal for the relay (relay_io.h). */
#include "relay_io.h"

#include "error.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

int64_t relay_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0; /* cannot fail for CLOCK_MONOTONIC; 0 only makes idle come early */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int relay_write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                return vs_fail_errno(VS_EIO, "relay: poll for output");
        } else {
            if (n == 0)
                errno = EIO;
            return VS_EIO; /* the caller decides: EPIPE is not an error of ours */
        }
    }
    return 0;
}

static int sink_to_fd(void *ctx, const uint8_t *data, size_t len)
{
    const struct relay_stream *s = ctx;
    return relay_write_all(s->dest, data, len);
}

/* Our reader is gone: stop relaying this stream, and close the tool's end
 * so it gets EPIPE (or SIGPIPE) like a tool writing to a closed pipe. */
static int dest_failed(struct relay_stream *s)
{
    int err = errno;
    if (s->fd >= 0 && close(s->fd) != 0 && errno != EINTR) {
        s->fd = -1;
        return vs_fail_errno(VS_EIO, "relay: close %s", s->name);
    }
    s->fd = -1;
    if (err == EPIPE)
        return 0;
    errno = err;
    return vs_fail_errno(VS_EIO, "relay: write %s", s->name);
}

int relay_stream_close(struct relay_stream *s)
{
    int rc = 0;
    if (s->mask != NULL && s->fd >= 0 && vs_masker_flush(s->mask, sink_to_fd, s) != 0)
        rc = dest_failed(s);
    if (s->fd >= 0) {
        if (close(s->fd) != 0 && errno != EINTR && rc == 0)
            rc = vs_fail_errno(VS_EIO, "relay: close %s", s->name);
        s->fd = -1;
    }
    return rc;
}

int relay_stream_pump(struct relay_stream *s, uint8_t *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (s->fd < 0)
        return 0;
    ssize_t n = read(s->fd, buf, cap);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (n == 0 || (n < 0 && errno == EIO)) /* EIO: a pty master after the last slave closed */
        return relay_stream_close(s);
    if (n < 0)
        return vs_fail_errno(VS_EIO, "relay: read the tool's %s", s->name);
    *got = (size_t)n;
    s->last_read_ms = relay_now_ms();
    s->idle_done = false;
    int rc = s->mask != NULL ? vs_masker_feed(s->mask, buf, (size_t)n, sink_to_fd, s)
                             : relay_write_all(s->dest, buf, (size_t)n);
    return rc == 0 ? 0 : dest_failed(s);
}

int relay_stream_idle(struct relay_stream *s)
{
    if (s->mask == NULL || s->fd < 0)
        return 0;
    s->idle_done = true; /* a kept partial match waits for more bytes, not for the clock */
    return vs_masker_idle(s->mask, sink_to_fd, s) == 0 ? 0 : dest_failed(s);
}

size_t relay_stream_pending(const struct relay_stream *s)
{
    return s->mask != NULL && s->fd >= 0 ? vs_masker_pending(s->mask) : 0;
}

int relay_term_raw(struct relay_term *t, int fd)
{
    t->fd = -1;
    if (!isatty(fd))
        return 0;
    if (tcgetattr(fd, &t->saved) != 0)
        return vs_fail_errno(VS_EIO, "relay: read the terminal mode");
    struct termios raw = t->saved;
    cfmakeraw(&raw);
    if (tcsetattr(fd, TCSADRAIN, &raw) != 0)
        return vs_fail_errno(VS_EIO, "relay: set the terminal to raw mode");
    t->fd = fd;
    return 0;
}

int relay_term_restore(struct relay_term *t)
{
    if (t->fd < 0)
        return 0;
    int rc = 0;
    while (tcsetattr(t->fd, TCSADRAIN, &t->saved) != 0) {
        if (errno != EINTR) {
            rc = vs_fail_errno(VS_EIO, "relay: restore the terminal mode");
            break;
        }
    }
    t->fd = -1;
    return rc;
}
