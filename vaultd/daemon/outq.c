/* Answers a peer's socket could not take at once (outq.h). */
#include "outq.h"

#include "error.h"
#include "vaultd.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* Whole answers from head to tail, each a 4-byte length and its bytes:
 * SOCK_SEQPACKET sends each as the record it was. */
struct outq {
    uint8_t *buf; /* sodium_malloc'd, cap bytes */
    size_t cap, head, tail;
};

#define REC_HEADER 4u

/* 1 sent, 0 the socket is full, -1 the peer is gone (a record is sent
 * whole or not at all). */
static int send_record(int fd, const uint8_t *data, size_t len)
{
    ssize_t n;
    do {
        n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)len)
        return 1;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
}

static int watch_writable(struct vaultd *d, const struct conn *c, bool on)
{
    /* A closing connection waits for room only: a half-close of the peer's
     * side (EPOLLRDHUP) must not end it before its answers are out. */
    uint32_t events = c->closing ? EPOLLOUT : EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
    struct epoll_event ev = {.events = events, .data.u64 = c->slot};
    return epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0 ? 0 : VS_EIO;
}

/* need more bytes at the tail: moves the queue to the front, or into a
 * buffer twice as large, up to VAULTD_OUTQ_MAX. Stale bytes are wiped. */
static bool make_room(struct outq *q, size_t need)
{
    size_t used = q->tail - q->head;
    if (q->cap - q->tail >= need)
        return true;
    if (used + need > VAULTD_OUTQ_MAX)
        return false;
    if (q->cap - used >= need) {
        memmove(q->buf, q->buf + q->head, used);
        sodium_memzero(q->buf + used, q->tail - used);
        q->head = 0;
        q->tail = used;
        return true;
    }
    size_t cap = q->cap != 0 ? q->cap : VS_PROTO_MAX_FRAME + REC_HEADER;
    while (cap < used + need)
        cap *= 2;
    if (cap > VAULTD_OUTQ_MAX)
        cap = VAULTD_OUTQ_MAX;
    uint8_t *bigger = sodium_malloc(cap);
    if (bigger == NULL)
        return false;
    if (used > 0)
        memcpy(bigger, q->buf + q->head, used);
    sodium_free(q->buf); /* wipes */
    q->buf = bigger;
    q->cap = cap;
    q->head = 0;
    q->tail = used;
    return true;
}

static int enqueue(struct vaultd *d, struct conn *c, const uint8_t *data, size_t len)
{
    if (c->out == NULL && (c->out = calloc(1, sizeof *c->out)) == NULL)
        return VS_EIO;
    struct outq *q = c->out;
    bool was_empty = q->tail == q->head;
    size_t used = q->tail - q->head; /* at most VAULTD_OUTQ_MAX */
    if (used > VAULTD_OUTQ_MAX - REC_HEADER || len > VAULTD_OUTQ_MAX - REC_HEADER - used) {
        vaultd_say("dropped pid %d (%s): it reads too slowly: more than %u bytes of answers waiting",
                   (int)c->peer.pid, c->peer.exe_path != NULL ? c->peer.exe_path : "?", VAULTD_OUTQ_MAX);
        return vs_fail(VS_EIO, "a peer reads too slowly: more than %u bytes of answers waiting", VAULTD_OUTQ_MAX);
    }
    if (!make_room(q, REC_HEADER + len))
        return vs_fail(VS_ENOMEM, "no locked memory left to queue an answer");
    uint32_t n = (uint32_t)len;
    memcpy(q->buf + q->tail, &n, REC_HEADER);
    memcpy(q->buf + q->tail + REC_HEADER, data, len);
    q->tail += REC_HEADER + len;
    return was_empty ? watch_writable(d, c, true) : 0;
}

int vaultd_outq_send(struct vaultd *d, struct conn *c, const uint8_t *data, size_t len)
{
    if (c->out != NULL && c->out->tail != c->out->head)
        return enqueue(d, c, data, len); /* behind the ones waiting */
    int sent = send_record(c->fd, data, len);
    if (sent == 1)
        return 0;
    return sent == 0 ? enqueue(d, c, data, len) : VS_EIO;
}

int vaultd_outq_drain(struct vaultd *d, struct conn *c)
{
    struct outq *q = c->out;
    if (q == NULL || q->tail == q->head)
        return watch_writable(d, c, false);
    while (q->tail - q->head >= REC_HEADER) {
        uint32_t n;
        memcpy(&n, q->buf + q->head, REC_HEADER);
        int sent = send_record(c->fd, q->buf + q->head + REC_HEADER, n);
        if (sent < 0)
            return VS_EIO;
        if (sent == 0) /* EPOLLOUT again when there is room (and only that, once closing) */
            return c->closing ? watch_writable(d, c, true) : 0;
        sodium_memzero(q->buf + q->head, REC_HEADER + n);
        q->head += REC_HEADER + n;
    }
    vaultd_outq_free(c); /* all sent: nothing kept, nothing locked */
    return watch_writable(d, c, false);
}

bool vaultd_outq_pending(const struct conn *c)
{
    return c->out != NULL && c->out->tail != c->out->head;
}

void vaultd_outq_free(struct conn *c)
{
    if (c->out == NULL)
        return;
    sodium_free(c->out->buf); /* wipes; NULL is fine */
    free(c->out);
    c->out = NULL;
}
