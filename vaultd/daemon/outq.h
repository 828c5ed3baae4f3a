/* Answers a peer's socket could not take at once.
 *
 * vaultd never blocks on one peer, so every answer is sent without
 * waiting. One that would block (the peer is slow to read, or a tool's
 * files outgrew the socket's buffer) is queued whole, later ones behind it
 * in order, and the event loop sends the queue when the socket is writable
 * (EPOLLOUT). Answers may hold values: the queue lives in sodium_malloc'd
 * (locked, guarded) memory and is wiped as soon as it empties, and when
 * the connection closes. A peer whose queue would pass VAULTD_OUTQ_MAX is
 * dropped, and vaultd says so on stderr. A connection that is closing
 * (conn.closing: its last answer, a refusal, is queued) is watched for
 * room only, so nothing more is read from it. */
#ifndef VAULTD_OUTQ_H
#define VAULTD_OUTQ_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VAULTD_OUTQ_MAX (16u * VS_PROTO_MAX_FRAME)

struct vaultd;
struct conn;

/* Sends data[0..len) on c, or queues it behind what is queued already. 0,
 * or an error (VS_EIO: the peer is gone or its queue is full; VS_ENOMEM):
 * the caller closes the connection. */
int vaultd_outq_send(struct vaultd *d, struct conn *c, const uint8_t *data, size_t len);

/* The socket is writable: sends what is queued, in order. 0 (something may
 * still be queued), or VS_EIO: close the connection. */
int vaultd_outq_drain(struct vaultd *d, struct conn *c);

/* Do answers still wait for room? */
bool vaultd_outq_pending(const struct conn *c);

/* Wipes and frees c's queue (the connection is closing). */
void vaultd_outq_free(struct conn *c);

#endif
