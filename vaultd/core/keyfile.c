#include "keyfile.h"

#include "error.h"
#include "fileio.h"
#include "keywrap.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

int vs_keyfile_create(const char *path)
{
    uint8_t *key = sodium_malloc(VS_KEYFILE_BYTES);
    if (key == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    randombytes_buf(key, VS_KEYFILE_BYTES);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
    int rc = 0;
    if (fd < 0)
        rc = errno == EEXIST ? vs_fail(VS_EEXIST, "key file %s already exists", path)
                             : vs_fail_errno(VS_EIO, "create key file %s", path);
    if (rc == 0)
        rc = vs_write_all(fd, key, VS_KEYFILE_BYTES);
    if (rc == 0 && fsync(fd) != 0)
        rc = vs_fail_errno(VS_EIO, "fsync key file %s", path);
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = vs_fail_errno(VS_EIO, "close key file %s", path);
    if (rc != 0 && fd >= 0)
        (void)unlink(path);
    sodium_free(key);
    return rc;
}

int vs_keyfile_read(const char *path, uint8_t **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? vs_fail(VS_ENOENT, "key file %s is missing", path)
                               : vs_fail_errno(VS_EPERM, "open key file %s", path);
    int rc = vs_check_fd_safe(fd, "key file", 077);
    struct stat st;
    if (rc == 0 && (fstat(fd, &st) != 0 || st.st_size != VS_KEYFILE_BYTES))
        rc = vs_fail(VS_EINVAL, "key file %s must hold exactly %d bytes", path, VS_KEYFILE_BYTES);
    uint8_t *key = rc == 0 ? sodium_malloc(VS_KEYFILE_BYTES) : NULL;
    if (rc == 0 && key == NULL)
        rc = vs_fail(VS_ENOMEM, "out of memory");
    if (rc == 0 && read(fd, key, VS_KEYFILE_BYTES) != VS_KEYFILE_BYTES)
        rc = vs_fail_errno(VS_EIO, "read key file %s", path);
    close(fd);
    if (rc != 0) {
        sodium_free(key);
        return rc;
    }
    *out = key;
    return 0;
}
