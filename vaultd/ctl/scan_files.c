/* Scanning files and folders: recursive, .git folders skipped, symlinks
 * not followed, files over SCAN_FILE_MAX skipped with a note. Files are
 * mapped read-only, so their bytes are not copied into our memory. */
#include "scan.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEPTH_MAX 64

/* follow: a path the user named (a symlink is followed); in a walk, never. */
static int scan_file(const struct scan_set *s, int dirfd, const char *name, const char *shown, bool follow,
                     size_t *finds)
{
    int fd = openat(dirfd, name, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == EACCES || errno == ELOOP || errno == ENXIO) {
            fprintf(stderr, "vaultctl: scan: %s: skipped (%s)\n", shown, strerror(errno));
            return 0;
        }
        return vs_fail_errno(VS_EIO, "%s", shown);
    }
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) != 0)
        rc = vs_fail_errno(VS_EIO, "%s", shown);
    else if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
        ;
    else if ((uint64_t)sb.st_size > SCAN_FILE_MAX)
        fprintf(stderr, "vaultctl: scan: %s: skipped (larger than %u MiB)\n", shown, SCAN_FILE_MAX >> 20);
    else {
        void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            rc = vs_fail_errno(VS_EIO, "mmap %s", shown);
        } else {
            struct scan_report r = {.where = shown};
            rc = scan_buffer(s, map, (size_t)sb.st_size, scan_print_hit, &r);
            *finds += r.finds;
            (void)munmap(map, (size_t)sb.st_size);
        }
    }
    close(fd);
    return rc;
}

static int scan_dir(const struct scan_set *s, int fd, const char *shown, int depth, size_t *finds)
{
    if (depth > DEPTH_MAX) {
        close(fd);
        fprintf(stderr, "vaultctl: scan: %s: skipped (deeper than %d folders)\n", shown, DEPTH_MAX);
        return 0;
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return vs_fail_errno(VS_EIO, "%s", shown);
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, ".git") == 0)
            continue;
        char sub[PATH_MAX];
        bool here = strcmp(shown, ".") == 0; /* "./x" reads as "x" */
        if (snprintf(sub, sizeof sub, "%s%s%s", here ? "" : shown, here ? "" : "/", n) >= (int)sizeof sub)
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), n, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            int sfd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sfd < 0) {
                fprintf(stderr, "vaultctl: scan: %s: skipped (%s)\n", sub, strerror(errno));
                continue;
            }
            rc = scan_dir(s, sfd, sub, depth + 1, finds);
        } else if (S_ISREG(sb.st_mode)) {
            rc = scan_file(s, dirfd(d), n, sub, false, finds);
        }
    }
    closedir(d);
    return rc;
}

int scan_paths(const struct scan_set *s, int npaths, char **paths, size_t *finds)
{
    static char dot[] = ".";
    char *dflt[] = {dot};
    if (npaths == 0) {
        npaths = 1;
        paths = dflt;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < npaths; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0)
            return vs_fail_errno(VS_ENOENT, "%s", paths[i]);
        if (S_ISDIR(sb.st_mode)) {
            int fd = open(paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0)
                return vs_fail_errno(VS_EIO, "%s", paths[i]);
            char shown[PATH_MAX];
            size_t n = strlen(paths[i]);
            (void)snprintf(shown, sizeof shown, "%.*s", (int)(n > 1 && paths[i][n - 1] == '/' ? n - 1 : n),
                           paths[i]);
            rc = scan_dir(s, fd, shown, 0, finds);
        } else {
            rc = scan_file(s, AT_FDCWD, paths[i], paths[i], true, finds);
        }
    }
    return rc;
}
