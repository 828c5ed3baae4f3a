/* Replacing a user's file without a window where it is half-written or has
 * lost its mode or owner: the new bytes go to a temp file beside it
 * (O_EXCL, mode 0600 while written), fsync'd, given the original's mode
 * and owner, and renamed over it later; then the folder is fsync'd. A
 * failure before the rename leaves the file as it was and the temp gone. */
#include "import.h"

#include "error.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void imp_sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    (void)sodium_bin2hex(out, 65, h, sizeof h);
}

static int fsync_parent(const char *path)
{
    char copy[4096];
    (void)snprintf(copy, sizeof copy, "%s", path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return vs_fail_errno(VS_EIO, "open the folder of %s", path);
    int rc = fsync(dfd) == 0 ? 0 : vs_fail_errno(VS_EIO, "fsync the folder of %s", path);
    close(dfd);
    return rc;
}

int imp_stage(struct imp_file *f, const uint8_t *data, size_t len)
{
    imp_drop_staged(f);
    char copy[4096];
    (void)snprintf(copy, sizeof copy, "%s", f->path);
    char *base = strrchr(copy, '/');
    if (base == NULL)
        return vs_fail(VS_EINVAL, "%s: not an absolute path", f->path);
    *base++ = '\0';
    char temp[sizeof f->temp];
    if (snprintf(temp, sizeof temp, "%s/.%s.vaultshim-import.%ld", copy, base, (long)getpid()) >= (int)sizeof temp)
        return vs_fail(VS_ETOOBIG, "%s: path too long", f->path);
    int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return vs_fail_errno(VS_EIO, "cannot write beside %s", f->shown);
    strcpy(f->temp, temp);
    int rc = vs_write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = vs_fail_errno(VS_EIO, "fsync %s", temp);
    struct stat sb;
    if (rc == 0 && fstat(fd, &sb) == 0 && (sb.st_uid != f->st.uid || sb.st_gid != f->st.gid) &&
        fchown(fd, f->st.uid, f->st.gid) != 0)
        rc = vs_fail_errno(VS_EPERM, "%s: cannot keep its owner %u:%u", f->shown, (unsigned)f->st.uid,
                           (unsigned)f->st.gid);
    if (rc == 0 && fchmod(fd, f->st.mode) != 0)
        rc = vs_fail_errno(VS_EIO, "%s: cannot keep its mode", f->shown);
    if (close(fd) != 0 && rc == 0)
        rc = vs_fail_errno(VS_EIO, "close %s", temp);
    if (rc != 0)
        imp_drop_staged(f);
    return rc;
}

int imp_commit_staged(struct imp_file *f)
{
    if (f->temp[0] == '\0')
        return 0;
    if (rename(f->temp, f->path) != 0)
        return vs_fail_errno(VS_EIO, "rename over %s", f->shown);
    f->temp[0] = '\0';
    return fsync_parent(f->path);
}

void imp_drop_staged(struct imp_file *f)
{
    if (f->temp[0] != '\0') {
        (void)unlink(f->temp);
        f->temp[0] = '\0';
    }
}
