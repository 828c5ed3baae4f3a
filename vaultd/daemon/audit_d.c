/* vaultd's audit writer (audit_batch.h) and its sync mode (the policy's
 * audit_sync, audit_sync.h): which answers wait for the fsync, when the
 * event loop must wake to run one, and what is said when syncs fail.
 *
 * Rules this file keeps:
 *  1. "each": as before, every answer whose request wrote a line waits for
 *     the round's fsync; a failed fsync refuses the answers it held
 *     (server.c).
 *  2. "interval": the line is written whole before its answer leaves; an
 *     fsync runs at most audit_sync_ms later, from the loop's timer, and at
 *     once for an urgent line (an owner's decision, start, stop).
 *  3. A failed fsync is said once on stderr; in interval mode every later
 *     decision is refused (no line is written) until an fsync succeeds,
 *     which is said once too. */
#include "vaultd.h"

#include "audit_batch.h"
#include "error.h"

#include <stdio.h>

static struct vs_audit_writer writer = {.fd = -1};
static enum vs_audit_sync mode = VS_AUDIT_SYNC_EACH;
static int period_ms = VS_AUDIT_SYNC_MS_DEFAULT;
static bool said_failed;

/* Rule 3: the state change, said once each way. */
static int note(int rc)
{
    if (rc != 0 && !said_failed)
        vaultd_say("%s: %s", vs_last_error(rc),
                   mode == VS_AUDIT_SYNC_INTERVAL ? "every grant is refused until a sync succeeds"
                                                  : "the answers waiting for it are refused");
    else if (rc == 0 && said_failed && !writer.sync_failed)
        vaultd_say("audit log synced again: grants resume");
    said_failed = writer.sync_failed;
    return rc;
}

void vaultd_audit_configure(const struct vs_policy *p)
{
    mode = p->audit_sync;
    period_ms = p->audit_sync_ms;
    if (writer.fd >= 0)
        vs_audit_writer_set_sync(&writer, mode, period_ms);
}

uint64_t vaultd_audit_written(void)
{
    return writer.written;
}

bool vaultd_audit_answer_waits(uint64_t written_before)
{
    return vs_audit_writer_must_wait(&writer, written_before);
}

int vaultd_audit_sync(void)
{
    return writer.fd < 0 ? 0 : note(vs_audit_writer_sync(&writer));
}

int vaultd_audit_tick(void)
{
    return writer.fd < 0 ? 0 : note(vs_audit_writer_tick(&writer));
}

int vaultd_audit_timeout(int cap_ms)
{
    return writer.fd < 0 ? cap_ms : vs_audit_writer_wait_ms(&writer, cap_ms);
}

int vaultd_audit_append(struct vaultd *d, const struct vs_audit_event *ev)
{
    if (writer.fd != d->auditfd) {
        vs_audit_writer_init(&writer, d->auditfd);
        vs_audit_writer_set_sync(&writer, mode, period_ms);
    }
    bool was_failed = writer.sync_failed && mode == VS_AUDIT_SYNC_INTERVAL;
    int rc = vs_audit_writer_append(&writer, d->audit_key, d->generation, ev);
    if (was_failed)
        (void)note(writer.sync_failed ? rc : 0); /* refused by rule 3 (said once), or recovered */
    if (rc != 0 && !writer.sync_failed)
        vaultd_say("audit log cannot be written, refusing: %s", vs_last_error(rc));
    return rc;
}
