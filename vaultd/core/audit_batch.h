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
 *     the edited line, as it would any other.
 *  4. The sync mode (audit_sync.h) only decides when the fsync runs and
 *     which answers wait for it; the line is always written first. In
 *     interval mode an answer to a tool's request (grant, render, mediate,
 *     exec, reject) does not wait; any other line (an owner's decision,
 *     start, stop) is urgent: its answer waits and the round's tick syncs
 *     it. After a failed fsync, interval mode writes nothing (so refuses
 *     every decision) until an fsync succeeds: each append first retries
 *     one, and so does every tick. */
#ifndef VS_AUDIT_BATCH_H
#define VS_AUDIT_BATCH_H

#include "audit.h"
#include "audit_sync.h"

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
    enum vs_audit_sync mode;  /* VS_AUDIT_SYNC_EACH unless set */
    int interval_ms;
    int64_t tried_ms;         /* monotonic time of the last fsync attempt (or of init) */
    uint64_t urgent;          /* `written` after the last urgent line (rule 4) */
    bool sync_failed;         /* the last fsync failed; none succeeded since */
};

void vs_audit_writer_init(struct vs_audit_writer *w, int fd);

/* Lock, tail, build, write (no fsync), unlock. VS_EAUDIT when the line is
 * not in the file (in interval mode also while syncs fail: rule 4). */
int vs_audit_writer_append(struct vs_audit_writer *w, const uint8_t key[VS_AUDIT_MAC_BYTES], uint64_t gen,
                           const struct vs_audit_event *ev);

/* fsync when a line was written since the last sync (or the last sync
 * failed); VS_EAUDIT on failure (the unsynced lines stay unsynced: in each
 * mode the caller refuses their answers). */
int vs_audit_writer_sync(struct vs_audit_writer *w);

/* Rule 4. interval_ms is clamped to the policy's bounds. */
void vs_audit_writer_set_sync(struct vs_audit_writer *w, enum vs_audit_sync mode, int interval_ms);

/* Must an answer wait for the fsync, given the count of lines written
 * before its request was handled? Each: when a line was written since;
 * interval: when an urgent one was. */
bool vs_audit_writer_must_wait(const struct vs_audit_writer *w, uint64_t written_before);

/* Is an fsync due now? Each mode: when dirty (or the last one failed).
 * Interval: when dirty and an urgent line waits or the period since the
 * last attempt is over; after a failure, once a period (a retry). */
bool vs_audit_writer_due(const struct vs_audit_writer *w);

/* vs_audit_writer_sync when due; 0 when not. Called once per round. */
int vs_audit_writer_tick(struct vs_audit_writer *w);

/* Milliseconds until the next tick must run, at most cap_ms (an event
 * loop's timeout): 0 when due now; cap_ms in each mode (synced at every
 * round's end, no timer). */
int vs_audit_writer_wait_ms(const struct vs_audit_writer *w, int cap_ms);

static inline bool vs_audit_writer_dirty(const struct vs_audit_writer *w)
{
    return w->written != w->synced;
}

#endif
