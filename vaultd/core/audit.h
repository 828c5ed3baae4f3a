/* The audit log: JSON lines, one per event, chained and keyed.
 *
 * Rules this module keeps:
 *  1. A line never holds a secret value: events carry names, versions,
 *     numbers and reasons only, and strings are JSON-escaped.
 *  2. Each line carries seq (1, 2, 3...), the store generation it saw, prev
 *     (the previous line's mac; zeros for line 1) and mac: keyed BLAKE2b-256
 *     over the line up to ',"mac":"'. The key derives from the vault's data
 *     key, so an agent with write access to the file can cut or edit lines
 *     but cannot make a chain that verifies.
 *  3. Appends hold an exclusive flock; a line is written with one write and
 *     fsync'd, and a failed write is truncated away, so the file only ever
 *     holds whole lines. An append that fails returns VS_EAUDIT: the caller
 *     refuses the operation (fail closed). */
#ifndef VS_AUDIT_H
#define VS_AUDIT_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_AUDIT_MAC_BYTES 32
#define VS_AUDIT_LINE_MAX 65536

struct vs_audit_event {
    const char *event;    /* init, save, rotate, revoke, restore, rm, recover, grant, deny... */
    const char *decision; /* ok, denied, error */
    const char *reason;   /* optional */
    const char *secret;   /* optional */
    uint32_t version;     /* 0: none */
    const char *agent;    /* optional */
    const char *session;  /* optional */
    long long uid, pid;   /* the actor; -1: this process */
    const char *exe;      /* the actor's executable; NULL: this process's */
    const char *extra;    /* optional pre-escaped `"key":value` pairs, comma-separated */
};

struct vs_audit_tail {
    bool empty;
    uint64_t seq;
    uint64_t gen;
    uint8_t mac[VS_AUDIT_MAC_BYTES];
};

/* Opens the log below dirfd: for appending (created 0600 when missing) or,
 * without writable, read-only (VS_ENOENT when missing). */
int vs_audit_open(int dirfd, const char *name, bool writable);

/* flock: exclusive for writers, shared for readers. */
int vs_audit_lock(int fd, bool exclusive);
void vs_audit_unlock(int fd);

/* Reads the last line. With a key, its MAC must verify. */
int vs_audit_read_tail(int fd, const uint8_t *key, struct vs_audit_tail *tail);

/* The same, over complete lines only: a last line without its newline (an
 * append cut by SIGKILL, or one in progress) is not looked at. For readers. */
int vs_audit_read_complete_tail(int fd, const uint8_t *key, struct vs_audit_tail *tail);

/* Under the exclusive lock, before an append: removes a last line left
 * without its newline by an appender that died inside its write. That line
 * never counted (no writer acknowledged it); the store's audit sequence
 * still detects a lost line (vault.c logs it as "recover"). */
int vs_audit_drop_partial(int fd);

/* Builds the next line (ending in '\n') after tail. */
int vs_audit_build_line(const uint8_t key[VS_AUDIT_MAC_BYTES], const struct vs_audit_tail *tail, uint64_t gen,
                        const struct vs_audit_event *ev, struct vs_buf *line);

/* Reserves room for len more bytes so that the append after a store write
 * cannot hit a full disk (best effort where the file system cannot). */
int vs_audit_reserve(int fd, size_t len);

/* Writes a built line (one write, fsync); a failure truncates it away. */
int vs_audit_write_line(int fd, const struct vs_buf *line);

/* Lock, read tail, build, write, unlock: one event, for callers that do not
 * need to order the append against another file. */
int vs_audit_append(int fd, const uint8_t key[VS_AUDIT_MAC_BYTES], uint64_t gen, const struct vs_audit_event *ev);

struct vs_audit_report {
    uint64_t lines;
    uint64_t last_seq, last_gen;
    uint64_t bad_line; /* 1-based; 0 when the chain is intact */
    char why[160];
};

/* Verifies every line: JSON shape, MAC, seq, prev. Returns 0 when intact,
 * VS_ECRYPTO or VS_ECORRUPT with report->bad_line and why otherwise. */
int vs_audit_verify(int fd, const uint8_t key[VS_AUDIT_MAC_BYTES], struct vs_audit_report *report);

/* Calls fn for each whole line (without '\n'); fn returns non-zero to stop. */
typedef int (*vs_audit_line_fn)(const char *line, size_t len, uint64_t lineno, void *ctx);
int vs_audit_foreach(int fd, vs_audit_line_fn fn, void *ctx);

#endif
