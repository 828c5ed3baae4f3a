/* The client side of the vaultd socket, shared by vaultctl, the shim and
 * test probes: libc only, no allocation (the shim calls it from its
 * constructor). Replies may hold secret values: the caller provides the
 * buffer (locked memory) and wipes it. */
#ifndef VS_CLIENT_H
#define VS_CLIENT_H

#include "proto.h"

#include <stddef.h>
#include <stdint.h>

/* Connects a SOCK_SEQPACKET|SOCK_CLOEXEC socket to path. Returns the fd or
 * a negative code (VS_EIO: vaultd not answering). */
int vs_client_connect(const char *path);

/* The same, with each later wait on the socket bounded by bound_ms (connect
 * on a full backlog, each send and each receive): a wait that runs out
 * fails with VS_EIO and errno EAGAIN. For callers that must not hang on a
 * stopped or wedged vaultd and never wait for a person (the shim). */
int vs_client_connect_within(const char *path, int bound_ms);

/* Sends one frame and receives one reply into buf (cap bytes; at least
 * VS_PROTO_MAX_FRAME + 1), decoded into *reply (pointing into buf). A reply
 * of op ERROR is returned as its code (negative) with *reply filled. */
int vs_client_call(int fd, const uint8_t *frame, size_t len, uint8_t *buf, size_t cap, struct vs_msg *reply);

/* The halves of vs_client_call, for pipelined requests: several frames
 * sent, then their replies received in order (vaultd answers a
 * connection's requests in the order they came). */
int vs_client_send(int fd, const uint8_t *frame, size_t len);
int vs_client_recv(int fd, uint8_t *buf, size_t cap, struct vs_msg *reply);

/* Builds and sends a request with no fields (PING, STATUS, LOCK, CONFIRM). */
int vs_client_simple(int fd, uint8_t op, uint8_t *buf, size_t cap, struct vs_msg *reply);

#endif
