/* Group commit of audit lines: see audit_batch.h. */
#include "audit_batch.h"

#include "error.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void vs_audit_writer_init(struct vs_audit_writer *w, int fd)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
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
    if (!vs_audit_writer_dirty(w))
        return 0;
    uint64_t upto = w->written;
    while (fsync(w->fd) != 0)
        if (errno != EINTR)
            return vs_fail_errno(VS_EAUDIT, "audit log cannot be synced");
    w->synced = upto;
    return 0;
}
