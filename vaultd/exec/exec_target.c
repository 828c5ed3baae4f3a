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

/* Reads "#!INTERP[ ARG]" from fd's first line. */
static bool first_line(int fd, char *interp, size_t cap, char *arg, size_t acap)
{
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 3 || buf[0] != '#' || buf[1] != '!')
        return false;
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl == NULL)
        return false;
    *nl = '\0';
    char *p = buf + 2;
    p += strspn(p, " \t");
    size_t len = strcspn(p, " \t");
    if (len == 0 || len >= cap)
        return false;
    memcpy(interp, p, len);
    interp[len] = '\0';
    p += len;
    p += strspn(p, " \t");
    size_t alen = strcspn(p, " \t");
    if (alen >= acap || p[alen] != '\0')
        return false; /* more than one argument: not a form we run */
    memcpy(arg, p, alen);
    arg[alen] = '\0';
    return true;
}

int vexec_shebang(int fd, char *interp, size_t cap)
{
    char arg[256];
    if (!first_line(fd, interp, cap, arg, sizeof arg))
        return 0;
    if (arg[0] != '\0') {
        /* "#!/usr/bin/env NAME" is NAME from PATH; any other argument is an
         * interpreter option vaultd would refuse before the script. */
        const char *base = strrchr(interp, '/');
        if (base == NULL || strcmp(base, "/env") != 0 || arg[0] == '-')
            return vs_fail(VS_EPERM, "a #! line with an interpreter option (%s %s) is not run through vault-exec", interp, arg);
        int efd = -1;
        int rc = vexec_open_target(arg, &efd, interp, cap);
        if (rc != 0)
            return rc;
        close(efd);
    }
    int ifd = open(interp, O_RDONLY | O_CLOEXEC);
    if (ifd < 0)
        return vs_fail_errno(VS_ENOENT, "interpreter %s", interp);
    char magic[2];
    bool nested = pread(ifd, magic, 2, 0) == 2 && magic[0] == '#' && magic[1] == '!';
    close(ifd);
    if (nested)
        return vs_fail(VS_EPERM, "interpreter %s is itself a script", interp);
    return 1;
}
