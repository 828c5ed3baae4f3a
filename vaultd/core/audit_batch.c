/* Group commit of audit lines: see audit_batch.h. */
#include "audit_batch.h"

#include "error.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The sync period is measured on the monotonic clock: a wall-clock step
 * must neither postpone an fsync nor force a burst of them. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vs_audit_writer_init(struct vs_audit_writer *w, int fd)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->mode = VS_AUDIT_SYNC_EACH;
    w->interval_ms = VS_AUDIT_SYNC_MS_DEFAULT;
    w->tried_ms = mono_ms();
}

void vs_audit_writer_set_sync(struct vs_audit_writer *w, enum vs_audit_sync mode, int interval_ms)
{
    if (interval_ms < VS_AUDIT_SYNC_MS_MIN)
        interval_ms = VS_AUDIT_SYNC_MS_MIN;
    if (interval_ms > VS_AUDIT_SYNC_MS_MAX)
        interval_ms = VS_AUDIT_SYNC_MS_MAX;
    w->mode = mode == VS_AUDIT_SYNC_INTERVAL ? VS_AUDIT_SYNC_INTERVAL : VS_AUDIT_SYNC_EACH;
    w->interval_ms = interval_ms;
}

/* Rule 4: the events of a tool's request, whose answers need not wait in
 * interval mode. Every other event (and any added later) is urgent. */
static bool relaxed_event(const char *event)
{
    static const char *const relaxed[] = {"grant", "render", "mediate", "exec", "reject"};
    for (size_t i = 0; event != NULL && i < sizeof relaxed / sizeof relaxed[0]; i++)
        if (strcmp(event, relaxed[i]) == 0)
            return true;
    return false;
}

bool vs_audit_writer_must_wait(const struct vs_audit_writer *w, uint64_t written_before)
{
    if (w->mode == VS_AUDIT_SYNC_EACH)
        return w->written != written_before;
    return w->urgent > written_before;
}

bool vs_audit_writer_due(const struct vs_audit_writer *w)
{
    if (w->mode == VS_AUDIT_SYNC_EACH) /* every round's end, as before */
        return vs_audit_writer_dirty(w) || w->sync_failed;
    bool period_over = mono_ms() - w->tried_ms >= w->interval_ms;
    if (w->sync_failed) /* retried once a period (and by each append), never in a spin */
        return period_over;
    return vs_audit_writer_dirty(w) && (w->urgent > w->synced || period_over);
}

int vs_audit_writer_tick(struct vs_audit_writer *w)
{
    return vs_audit_writer_due(w) ? vs_audit_writer_sync(w) : 0;
}

int vs_audit_writer_wait_ms(const struct vs_audit_writer *w, int cap_ms)
{
    if (w->mode == VS_AUDIT_SYNC_EACH) /* synced at each round's end: no timer */
        return cap_ms;
    if (vs_audit_writer_due(w))
        return 0;
    if (!vs_audit_writer_dirty(w) && !w->sync_failed)
        return cap_ms;
    int64_t left = w->interval_ms - (mono_ms() - w->tried_ms);
    if (left < 0)
        left = 0;
    return left < cap_ms ? (int)left : cap_ms;
}

/* The MAC a built line ends with: ...,"mac":"<64 hex>"}\n */
static int line_mac(const struct vs_buf *line, uint8_t mac[VS_AUDIT_MAC_BYTES])
{
    size_t hexlen = 2 * VS_AUDIT_MAC_BYTES;
    if (line->len < hexlen + 3)
        return VS_EINVAL;
    const char *hex = (const char *)line->data + line->len - 3 - hexlen;
    size_t got = 0;
    if (sodium_hex2bin(mac, VS_AUDIT_MAC_BYTES, hex, hexlen, NULL, &got, NULL) != 0 || got != VS_AUDIT_MAC_BYTES)
        return VS_EINVAL;
    return 0;
}

static int write_unsynced(struct vs_audit_writer *w, const struct stat *st, const struct vs_buf *line)
{
    ssize_t n;
    do {
        n = write(w->fd, line->data, line->len);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)line->len)
        return 0;
    int saved = n < 0 ? errno : ENOSPC; /* a short write to a regular file: the disk is full */
    w->known = false;
    if (ftruncate(w->fd, st->st_size) != 0)
        return vs_fail(VS_EAUDIT, "audit log cannot be written (%s), and the partial line could not be removed",
                       strerror(saved));
    return vs_fail(VS_EAUDIT, "audit log cannot be written: %s", strerror(saved));
}

int vs_audit_writer_append(struct vs_audit_writer *w, const uint8_t key[VS_AUDIT_MAC_BYTES], uint64_t gen,
                           const struct vs_audit_event *ev)
{
    /* Rule 4: a line that cannot be synced is not written, so its
     * decision is refused (no audit, no answer). */
    if (w->mode == VS_AUDIT_SYNC_INTERVAL && w->sync_failed && vs_audit_writer_sync(w) != 0) {
        char why[256];
        (void)snprintf(why, sizeof why, "%s", vs_last_error(VS_EAUDIT));
        return vs_fail(VS_EAUDIT, "%s: every decision is refused until a sync succeeds", why);
    }
    int rc = vs_audit_lock(w->fd, true);
    if (rc != 0)
        return rc;
    struct stat st;
    struct vs_buf line = {0};
    struct vs_audit_tail tail;
    if (fstat(w->fd, &st) != 0) {
        rc = vs_fail_errno(VS_EAUDIT, "audit log stat");
        goto out;
    }
    if (w->known && st.st_dev == w->dev && st.st_ino == w->ino && st.st_size == w->end)
        tail = w->tail;
    else if ((rc = vs_audit_read_tail(w->fd, key, &tail)) != 0)
        goto out;
    if ((rc = vs_audit_build_line(key, &tail, gen, ev, &line)) != 0 || (rc = write_unsynced(w, &st, &line)) != 0)
        goto out;
    w->written++;
    if (!relaxed_event(ev->event))
        w->urgent = w->written;
    w->known = line_mac(&line, w->tail.mac) == 0;
    w->tail.empty = false;
    w->tail.seq = tail.empty ? 1 : tail.seq + 1;
    w->tail.gen = gen;
    w->dev = st.st_dev;
    w->ino = st.st_ino;
    w->end = st.st_size + (off_t)line.len;
out:
    vs_buf_free(&line);
    vs_audit_unlock(w->fd);
    if (rc != 0 && rc != VS_EAUDIT)
        rc = vs_fail(VS_EAUDIT, "audit log: %s", vs_last_error(rc));
    return rc;
}

int vs_audit_writer_sync(struct vs_audit_writer *w)
{
    if (!vs_audit_writer_dirty(w) && !w->sync_failed)
        return 0;
    uint64_t upto = w->written;
    w->tried_ms = mono_ms();
    while (fsync(w->fd) != 0) {
        if (errno != EINTR) {
            w->sync_failed = true; /* (not vs_fail_errno: ENOSPC would become VS_ENOSPC) */
            return vs_fail(VS_EAUDIT, "audit log cannot be synced: %s", strerror(errno));
        }
    }
    w->synced = upto;
    w->sync_failed = false;
    return 0;
}
