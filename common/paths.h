/* Where vaultd listens, shared by vaultd, vaultctl and the shim (libc only:
 * no allocation, no stdio beyond snprintf-free formatting). */
#ifndef VS_PATHS_H
#define VS_PATHS_H

#include <stddef.h>

#define VS_SOCKET_NAME "vaultd.sock"
#define VS_INDEX_NAME "index"

/* $VAULT_SOCKET, else $XDG_RUNTIME_DIR/vaultshim/vaultd.sock, else
 * /tmp/vaultshim-UID/vaultd.sock. Fails (VS_ETOOBIG) rather than truncate:
 * a sun_path holds 107 bytes. */
int vs_socket_path(char *out, size_t cap);

/* The folder part of a socket path (everything before the last '/'). */
int vs_dirname(const char *path, char *out, size_t cap);

/* The index file beside the socket: DIR/index. */
int vs_index_path(const char *socket_path, char *out, size_t cap);

#endif
