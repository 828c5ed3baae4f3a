/* vaultd's audit appends: group commit.
 *
 * Rules this module keeps:
 *  1. Each line is written (one write(2), under the exclusive flock, after
 *     the chain's tail) before the caller acts on it; a failed write is
 *     truncated away, as vs_audit_append does.
 *  2. fsync is the caller's, once per batch (vs_audit_writer_sync): vaultd
 *     calls it at the end of each event-loop round and holds back every
 *     answer whose line was written in that round until it returns 0. So an
 *     answer is never sent before its line is on disk, and N answers served
 *     in one round share one fsync (what databases call group commit).
 *  3. The chain's tail is remembered from our own last line while the file
 *     is the inode and size that line left: another writer (vaultctl, under
 *     the same flock) changes the size, and the tail is then read back and
 *     verified as before. An in-place edit of our last line keeps the size:
 *     we chain to the MAC we wrote, and `vaultctl audit --verify` reports
 *     the edited line, as it would any other. */
#ifndef VS_AUDIT_BATCH_H
#define VS_AUDIT_BATCH_H

#include "audit.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vs_audit_writer {
    int fd;
    bool known;               /* tail/end describe the file as our last line left it */
    dev_t dev;
    ino_t ino;
    off_t end;
    struct vs_audit_tail tail;
    uint64_t written;         /* lines written, ever */
    uint64_t synced;          /* lines known to be on disk */
};

void vs_audit_writer_init(struct vs_audit_writer *w, int fd);

/* Lock, tail, build, write (no fsync), unlock. VS_EAUDIT when the line is
 * not in the file. */
int vs_audit_writer_append(struct vs_audit_writer *w, const uint8_t key[VS_AUDIT_MAC_BYTES], uint64_t gen,
                           const struct vs_audit_event *ev);

/* fsync when a line was written since the last sync; VS_EAUDIT on failure
 * (the unsynced lines stay unsynced: the caller refuses their answers). */
int vs_audit_writer_sync(struct vs_audit_writer *w);

static inline bool vs_audit_writer_dirty(const struct vs_audit_writer *w)
{
    return w->written != w->synced;
}

#endif
