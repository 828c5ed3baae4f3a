/* When vaultd's audit lines reach the disk: the policy's audit_sync.
 *
 *   each      no answer leaves before the fsync that covers its line (one
 *             fsync per event-loop round, shared by the round's answers)
 *   interval  the line is written whole with write(2) before its answer
 *             leaves; fsync runs at most every audit_sync_ms, so a line
 *             survives a vaultd crash but not a kernel crash or power
 *             loss (docs/audit-durability.md). */
#ifndef VS_AUDIT_SYNC_H
#define VS_AUDIT_SYNC_H

enum vs_audit_sync {
    VS_AUDIT_SYNC_EACH = 0,
    VS_AUDIT_SYNC_INTERVAL,
};

#define VS_AUDIT_SYNC_MS_DEFAULT 1000
#define VS_AUDIT_SYNC_MS_MIN 10
#define VS_AUDIT_SYNC_MS_MAX 60000

#endif
