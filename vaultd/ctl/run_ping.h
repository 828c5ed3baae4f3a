/* vaultctl run's requests to vaultd, on one connection and in two halves.
 * run_ping_send connects and sends a PING (and, for --agent, a
 * SESSION_OPEN) at once, so that vaultd inspects this process (from /proc)
 * while the launcher finds the shim and filters the environment; the answers
 * are read just before the exec. Everything is bounded: a hung vaultd (a
 * full backlog, no answer) is refused, not waited for forever. libc only:
 * the run path needs no libsodium (nothing it sends or gets is secret). */
#ifndef VS_RUN_PING_H
#define VS_RUN_PING_H

#include <stddef.h>

/* How long connect and each answer may take, in milliseconds. */
#define RUN_PING_TIMEOUT_MS 5000

/* Connects to the socket at path and sends a PING, then with agent (not
 * NULL) a SESSION_OPEN for it. Returns the connected fd, or VS_EIO when
 * nothing accepts the connection in time. */
int run_ping_send(const char *path, const char *agent);

/* Reads the PING's answer. 0 when vaultd answered OK within the bound, else
 * VS_EIO (closed unanswered: vaultd could not inspect us; no answer in
 * time; a malformed or non-OK answer). */
int run_ping_wait(int fd);

/* Reads the SESSION_OPEN's answer: the session id into id (cap bytes), or
 * an error with vaultd's reason (vs_last_error; path names the socket). */
int run_session_wait(int fd, const char *path, char *id, size_t cap);

#endif
