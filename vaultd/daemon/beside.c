/* Files vaultd trusts because they are installed with it: the shim it
 * accepts in a tool's LD_PRELOAD, the vault-exec it grants mediated runs
 * to. Found relative to vaultd's own executable, never through PATH or the
 * environment. */
#include "vaultd.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool vaultd_find_beside(const char *const *places, size_t n, char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return false;
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return false;
    *slash = '\0';
    for (size_t i = 0; i < n; i++) {
        char candidate[PATH_MAX + 64];
        if ((size_t)snprintf(candidate, sizeof candidate, "%s%s", self, places[i]) >= sizeof candidate)
            continue;
        char *real = realpath(candidate, NULL);
        bool fits = real != NULL && strlen(real) < cap;
        if (fits)
            memcpy(out, real, strlen(real) + 1);
        free(real);
        if (fits)
            return true;
    }
    return false;
}
