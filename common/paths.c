#include "paths.h"
#include "rawsys.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* Joins parts into out; returns VS_ETOOBIG instead of truncating. */
static int join(char *out, size_t cap, const char *const *parts, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        if (len >= cap - used)
            return VS_ETOOBIG;
        memcpy(out + used, parts[i], len);
        used += len;
    }
    out[used] = '\0';
    return 0;
}

static void utoa(unsigned v, char buf[16])
{
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < sizeof tmp);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
}

int vs_socket_path(char *out, size_t cap)
{
    size_t max = cap < sizeof(((struct sockaddr_un *)0)->sun_path) ? cap : sizeof(((struct sockaddr_un *)0)->sun_path);
    const char *env = getenv("VAULT_SOCKET");
    if (env != NULL && env[0] == '/') {
        const char *parts[] = {env};
        return join(out, max, parts, 1);
    }
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    if (runtime != NULL && runtime[0] == '/') {
        const char *parts[] = {runtime, "/vaultshim/", VS_SOCKET_NAME};
        return join(out, max, parts, 3);
    }
    char uid[16];
    utoa((unsigned)vs_getuid(), uid);
    const char *parts[] = {"/tmp/vaultshim-", uid, "/", VS_SOCKET_NAME};
    return join(out, max, parts, 4);
}

int vs_dirname(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
        return VS_EINVAL;
    size_t len = (size_t)(slash - path);
    if (len >= cap)
        return VS_ETOOBIG;
    memcpy(out, path, len);
    out[len] = '\0';
    return 0;
}

int vs_index_path(const char *socket_path, char *out, size_t cap)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int rc = vs_dirname(socket_path, dir, sizeof dir);
    if (rc != 0)
        return rc;
    const char *parts[] = {dir, "/", VS_INDEX_NAME};
    return join(out, cap, parts, 3);
}
