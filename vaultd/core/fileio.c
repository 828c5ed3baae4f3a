#include "fileio.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_MARK ".tmp."

static int mkdir_parents(const char *path)
{
    char partial[PATH_MAX];
    size_t len = strnlen(path, sizeof partial);
    if (len == 0 || len >= sizeof partial)
        return vs_fail(VS_EINVAL, "%s: path too long or empty", path);
    memcpy(partial, path, len + 1);
    for (char *p = partial + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(partial, 0700) != 0 && errno != EEXIST)
            return vs_fail_errno(VS_EIO, "mkdir %s", partial);
        *p = '/';
    }
    if (mkdir(partial, 0700) != 0 && errno != EEXIST)
        return vs_fail_errno(VS_EIO, "mkdir %s", partial);
    return 0;
}

int vs_open_private_dir(const char *path, int create)
{
    if (create) {
        int rc = mkdir_parents(path);
        if (rc != 0)
            return rc;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return vs_fail(VS_ENOENT, "%s: no vault here (run vaultctl init)", path);
        return vs_fail_errno(VS_EIO, "open %s", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = vs_fail_errno(VS_EIO, "stat %s", path);
        close(fd);
        return rc;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        close(fd);
        return vs_fail(VS_EPERM, "%s: unsafe folder (owner uid %u, mode %04o; want uid %u, mode 0700)",
                       path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
    }
    return fd;
}

int vs_check_fd_safe(int fd, const char *what, mode_t forbid)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return vs_fail_errno(VS_EIO, "stat %s", what);
    if (!S_ISREG(st.st_mode))
        return vs_fail(VS_EPERM, "%s: not a regular file", what);
    if (st.st_uid != geteuid() && st.st_uid != 0)
        return vs_fail(VS_EPERM, "%s: owned by uid %u, not by uid %u or root", what,
                       (unsigned)st.st_uid, (unsigned)geteuid());
    if ((st.st_mode & forbid) != 0)
        return vs_fail(VS_EPERM, "%s: unsafe mode %04o (allowed at most %04o)", what,
                       (unsigned)(st.st_mode & 07777), (unsigned)(07777 & ~forbid & 0777));
    return 0;
}

int vs_read_file_at(int dirfd, const char *name, const char *what, mode_t forbid, size_t max,
                    uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return vs_fail(VS_ENOENT, "%s: missing", what);
        if (errno == ELOOP)
            return vs_fail(VS_EPERM, "%s: is a symbolic link", what);
        return vs_fail_errno(VS_EIO, "open %s", what);
    }
    int rc = vs_check_fd_safe(fd, what, forbid);
    struct stat st;
    if (rc == 0 && fstat(fd, &st) != 0)
        rc = vs_fail_errno(VS_EIO, "stat %s", what);
    if (rc == 0 && (uint64_t)st.st_size > max)
        rc = vs_fail(VS_ETOOBIG, "%s: %lld bytes, over the %zu byte limit", what, (long long)st.st_size, max);
    uint8_t *data = NULL;
    size_t have = 0;
    if (rc == 0) {
        size_t want = (size_t)st.st_size;
        data = malloc(want + 1);
        if (data == NULL)
            rc = vs_fail(VS_ENOMEM, "%s: out of memory", what);
        /* Read to EOF rather than trusting st_size alone, bounded by max. */
        while (rc == 0) {
            if (have == want + 1)
                break;
            ssize_t n = read(fd, data + have, want + 1 - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                rc = vs_fail_errno(VS_EIO, "read %s", what);
            else if (n == 0)
                break;
            else
                have += (size_t)n;
        }
        if (rc == 0 && have != want)
            rc = vs_fail(VS_EIO, "%s: changed while being read", what);
    }
    close(fd);
    if (rc != 0) {
        free(data);
        return rc;
    }
    *out = data;
    *out_len = have;
    return 0;
}

int vs_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vs_fail_errno(VS_EIO, "write");
        if (n == 0) {
            errno = ENOSPC;
            return vs_fail_errno(VS_EIO, "write");
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int vs_write_all_str(int fd, const char *text)
{
    return vs_write_all(fd, text, strlen(text));
}

/* Errors name shown (the file the user knows), not a temp name. */
static int write_new_file(int dirfd, const char *name, const char *shown, mode_t mode, const void *data, size_t len)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == EEXIST ? vs_fail(VS_EEXIST, "%s: already exists", shown)
                               : vs_fail_errno(VS_EIO, "create %s", shown);
    int rc = vs_write_all(fd, data, len);
    if (rc != 0)
        rc = vs_fail_errno(rc, "write %s", shown);
    if (rc == 0 && fsync(fd) != 0)
        rc = vs_fail_errno(VS_EIO, "fsync %s", shown);
    if (close(fd) != 0 && rc == 0)
        rc = vs_fail_errno(VS_EIO, "close %s", shown);
    if (rc != 0)
        (void)unlinkat(dirfd, name, 0);
    return rc;
}

int vs_create_file_excl(int dirfd, const char *name, mode_t mode, const void *data, size_t len)
{
    int rc = write_new_file(dirfd, name, name, mode, data, len);
    if (rc == 0 && fsync(dirfd) != 0)
        rc = vs_fail_errno(VS_EIO, "fsync folder of %s", name);
    return rc;
}

int vs_write_file_atomic(int dirfd, const char *name, const void *data, size_t len)
{
    bool replaced;
    return vs_write_file_atomic_ex(dirfd, name, data, len, &replaced);
}

int vs_write_file_atomic_ex(int dirfd, const char *name, const void *data, size_t len, bool *replaced)
{
    *replaced = false;
    char temp[NAME_MAX + 1];
    int n = snprintf(temp, sizeof temp, ".%s" TEMP_MARK "%ld", name, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof temp)
        return vs_fail(VS_EINVAL, "%s: name too long", name);
    (void)unlinkat(dirfd, temp, 0); /* a leftover of this pid's earlier crash */
    int rc = write_new_file(dirfd, temp, name, 0600, data, len);
    if (rc != 0)
        return rc;
    if (renameat(dirfd, temp, dirfd, name) != 0) {
        rc = vs_fail_errno(VS_EIO, "rename %s", name);
        (void)unlinkat(dirfd, temp, 0);
        return rc;
    }
    *replaced = true;
    if (fsync(dirfd) != 0)
        return vs_fail_errno(VS_EIO, "fsync folder of %s", name);
    return 0;
}

int vs_lock_file_at(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return vs_fail_errno(VS_EIO, "open lock %s", name);
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int rc = vs_fail_errno(VS_EIO, "lock %s", name);
            close(fd);
            return rc;
        }
    }
    return fd;
}

void vs_remove_stale_temps(int dirfd, const char *name)
{
    int dup_fd = dup(dirfd);
    if (dup_fd < 0)
        return;
    DIR *dir = fdopendir(dup_fd);
    if (dir == NULL) {
        close(dup_fd);
        return;
    }
    char prefix[NAME_MAX + 1];
    int n = snprintf(prefix, sizeof prefix, ".%s" TEMP_MARK, name);
    if (n > 0 && (size_t)n < sizeof prefix) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL)
            if (strncmp(entry->d_name, prefix, (size_t)n) == 0)
                (void)unlinkat(dirfd, entry->d_name, 0);
    }
    closedir(dir);
}
