/* Trusted files: strict modes, as sudo and sshd check them. Rules:
 *  1. The path is resolved first (realpath); then the file and each folder
 *     up to / are checked with lstat: owner root or vault_uid, no group or
 *     other write bit. The sticky bit does not help: in a world-writable
 *     sticky folder (/tmp) anyone can create the file first.
 *  2. Symlinks count for their target: the agent can plant a link to a
 *     trusted file, but what gets opened is then a file it cannot change.
 *     A component that is a symlink at lstat time (swapped in after
 *     realpath) is refused.
 *  3. Once every folder on the path is trusted, the agent cannot change
 *     the path, so what the walk saw stays true; the final lstat is handed
 *     back so that callers can tie it to an inode they hold (a mapping). */
#include "peer_int.h"

#include "error.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int check_component(const char *path, const char *comp, const struct stat *st,
                           bool final, uid_t vault_uid)
{
    if (S_ISLNK(st->st_mode))
        return vs_fail(VS_EDENIED, "%s is not trusted: %s became a symlink", path, comp);
    if (final ? !(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) : !S_ISDIR(st->st_mode))
        return vs_fail(VS_EDENIED, "%s is not trusted: %s is not a %s", path, comp,
                       final ? "regular file or folder" : "folder");
    if (st->st_uid != 0 && st->st_uid != vault_uid)
        return vs_fail(VS_EDENIED, "%s is not trusted: %s is owned by uid %u", path, comp,
                       (unsigned)st->st_uid);
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return vs_fail(VS_EDENIED, "%s is not trusted: %s is writable by %s (mode %04o)", path,
                       comp, (st->st_mode & S_IWOTH) ? "others" : "its group",
                       (unsigned)(st->st_mode & 07777));
    return 0;
}

int vs_path_trusted_stat(const char *path, uid_t vault_uid, struct stat *final)
{
    if (path == NULL || path[0] == '\0')
        return vs_fail(VS_EDENIED, "empty path is not trusted");
    char *resolved = realpath(path, NULL);
    if (resolved == NULL) {
        if (errno == ENOMEM)
            return vs_fail(VS_ENOMEM, "realpath: out of memory");
        return vs_fail_errno(VS_EDENIED, "%s is not trusted: cannot resolve it", path);
    }
    int rc = 0;
    bool is_final = true;
    size_t len = strlen(resolved);
    for (;;) {
        struct stat st;
        if (lstat(resolved, &st) != 0) {
            rc = vs_fail_errno(VS_EDENIED, "%s is not trusted: lstat %s", path, resolved);
            break;
        }
        rc = check_component(path, resolved, &st, is_final, vault_uid);
        if (rc != 0)
            break;
        if (is_final && final != NULL)
            *final = st;
        is_final = false;
        if (len == 1) /* "/" checked */
            break;
        char *slash = strrchr(resolved, '/');
        if (slash == NULL) { /* realpath always returns an absolute path */
            rc = vs_fail(VS_EDENIED, "%s is not trusted: not absolute", path);
            break;
        }
        if (slash == resolved)
            slash[1] = '\0';
        else
            slash[0] = '\0';
        len = strlen(resolved);
    }
    free(resolved);
    return rc;
}

int vs_path_trusted(const char *path, uid_t vault_uid)
{
    return vs_path_trusted_stat(path, vault_uid, NULL);
}

/* Positive verdicts of vs_peer_check_maps, by the mapped file's identity.
 * Negative ones are not cached: a refusal then always carries its exact
 * reason, and only refused peers pay the walk again. */
static struct vs_fcache trust_cache;

void vs_trust_cache_clear(void)
{
    vs_fcache_clear(&trust_cache);
}

void vs_trust_cache_stats(struct vs_cache_stats *st)
{
    vs_fcache_stats(&trust_cache, st);
}

static void verdict_value(uid_t vault_uid, uint8_t value[32])
{
    memset(value, 0, 32);
    value[0] = 1;
    memcpy(value + 1, &vault_uid, sizeof vault_uid);
}

int vs_file_trusted_at(const char *path, const struct vs_file_id *id, uid_t vault_uid)
{
    uint8_t want[32];
    verdict_value(vault_uid, want);
    const uint8_t *v = vs_fcache_get(&trust_cache, id);
    if (v != NULL && memcmp(v, want, sizeof want) == 0)
        return 0;
    struct stat final;
    int rc = vs_path_trusted_stat(path, vault_uid, &final);
    if (rc != 0)
        return rc;
    if (final.st_dev != id->dev || final.st_ino != id->ino)
        return vs_fail(VS_EDENIED, "%s was replaced while being checked", path);
    vs_fcache_put(&trust_cache, id, want);
    return 0;
}

int vs_trusted_mapping(const char *path, const struct stat *mapped, uid_t vault_uid)
{
    struct vs_file_id id;
    vs_file_id_from_stat(mapped, &id);
    return vs_file_trusted_at(path, &id, vault_uid);
}

int vs_path_trusted_cached(const char *path, uid_t vault_uid)
{
    struct stat st;
    if (path == NULL || stat(path, &st) != 0)
        return vs_path_trusted(path, vault_uid); /* the walk names the reason */
    return vs_trusted_mapping(path, &st, vault_uid);
}
