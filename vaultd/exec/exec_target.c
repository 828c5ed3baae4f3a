/* Finding the target as execvp would, and opening it once (vexec.h rule 1). */
#include "vexec.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_exec(const char *path, int *fd)
{
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return -errno;
    struct stat st;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
        close(f);
        return -EACCES;
    }
    *fd = f;
    return 0;
}

int vexec_open_target(const char *name, int *fd, char *path, size_t cap)
{
    if (strchr(name, '/') != NULL) {
        if ((size_t)snprintf(path, cap, "%s", name) >= cap)
            return vs_fail(VS_ETOOBIG, "%s: path too long", name);
        int e = open_exec(name, fd);
        if (e == 0)
            return 0;
        return e == -ENOENT ? vs_fail(VS_ENOENT, "%s: not found", name)
                            : vs_fail(VS_EPERM, "%s: not an executable file (%s)", name, strerror(-e));
    }
    const char *p = getenv("PATH");
    if (p == NULL || p[0] == '\0')
        p = "/usr/local/bin:/usr/bin:/bin";
    bool denied = false;
    while (*p != '\0') {
        const char *colon = strchr(p, ':');
        size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);
        int k = n == 0 ? snprintf(path, cap, "./%s", name) : snprintf(path, cap, "%.*s/%s", (int)n, p, name);
        if (k > 0 && (size_t)k < cap) {
            int e = open_exec(path, fd);
            if (e == 0)
                return 0;
            denied = denied || e == -EACCES;
        }
        p += n + (colon != NULL);
    }
    path[0] = '\0';
    return denied ? vs_fail(VS_EPERM, "%s: not an executable file", name) : vs_fail(VS_ENOENT, "%s: not found in PATH", name);
}
