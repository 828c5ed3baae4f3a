/* Routing mediated tools through vault-exec; see route.h. */
#include "route.h"

#include "shim.h"
#include "rawsys.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char exe[PATH_MAX] VS_COLD;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static bool executable(const char *path)
{
    struct statx sx;
    return vs_sys_raw(SYS_statx, AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_MODE, &sx) == 0 &&
           S_ISREG(sx.stx_mode) && (sx.stx_mode & S_IXUSR) != 0;
}

static void find_exe(void)
{
    const char *shim_path = vs_shim_self_path();
    const char *slash = strrchr(shim_path, '/');
    if (slash == NULL)
        return;
    size_t dir = (size_t)(slash - shim_path);
    static const char places[][24] = {"/vault-exec", "/../../bin/vault-exec"}; /* no relocation */
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        size_t n = strlen(places[i]);
        if (dir + n + 1 > sizeof exe)
            continue;
        vs_copy(exe, shim_path, dir);
        vs_copy(exe + dir, places[i], n + 1);
        if (executable(exe))
            return;
    }
    exe[0] = '\0';
}

const char *vs_route_exe(void)
{
    if (pthread_once(&once, find_exe) != 0)
        return NULL;
    return exe[0] != '\0' ? exe : NULL;
}

bool vs_route_wanted(const struct vs_index_tool *t)
{
    return t != NULL && (t->flags & (VS_INDEX_TOOL_MEDIATED | VS_INDEX_TOOL_APPROVE)) != 0;
}

bool vs_route_argv(const char *interp, const char *target, char *const argv[], char **out, size_t cap)
{
    size_t n = 0;
    if (cap < 5)
        return false;
    out[n++] = (char *)"vault-exec";
    out[n++] = (char *)"--";
    if (interp != NULL)
        out[n++] = (char *)interp;
    out[n++] = (char *)target;
    for (size_t i = 1; argv != NULL && argv[0] != NULL && argv[i] != NULL; i++) {
        if (n + 1 >= cap)
            return false;
        out[n++] = argv[i];
    }
    out[n] = NULL;
    return true;
}
