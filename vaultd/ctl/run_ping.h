/* vaultctl run's liveness check of vaultd, in two halves. run_ping_send
 * connects and sends a PING at once, so that vaultd inspects this process
 * (from /proc) while the launcher finds the shim and builds the command's
 * environment; run_ping_wait reads the answer just before the exec. Both are
 * bounded: a hung vaultd (a full backlog, no answer) is refused, not waited
 * for forever. libc only: the run path needs no libsodium. */
#ifndef VS_RUN_PING_H
#define VS_RUN_PING_H

/* How long connect and the answer may each take, in milliseconds. */
#define RUN_PING_TIMEOUT_MS 5000

/* Connects to the socket at path and sends a PING. Returns the connected fd,
 * or VS_EIO when nothing accepts the connection in time. */
int run_ping_send(const char *path);

/* Waits for vaultd's answer on fd and closes fd. Returns 0 when vaultd
 * answered OK within the bound, else VS_EIO (closed unanswered: vaultd could
 * not inspect us; no answer in time; a malformed or non-OK answer). */
int run_ping_wait(int fd);

#endif
