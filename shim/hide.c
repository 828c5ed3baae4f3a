/* hide_files: inside a granted tool, the configuration files the policy
 * names for it answer ENOENT, as an unserved managed file does. The agent
 * can write them (a repository's .git/config, ~/.gitconfig, a project
 * .npmrc) and a proxy or helper set there would carry the tool's
 * credential to a host the agent controls.
 *
 * Rules (this runs inside open/stat hooks):
 *  1. Outside a grant there is no entry, and the check is one load.
 *  2. Entries are set once, by take_grants before the grant is confirmed
 *     to the rest of the shim, and read-only after that.
 *  3. A path is compared only when its basename equals an entry's
 *     basename; then it is canonicalised as managed paths are (the parent
 *     resolved by the kernel, the last component not followed), so "..",
 *     symlinked folders and relative paths cannot step around an entry.
 *  4. "* /SUFFIX" (no space) matches any canonical path ending in
 *     "/SUFFIX"; any other entry is one canonical path. */
#include "shim.h"

#include <errno.h>
#include <string.h>

#define HIDE_MAX 16
#define HIDE_BYTES 4096

static char hide_text[HIDE_BYTES] VS_COLD;
static size_t hide_used;
static const char *hide_entry[HIDE_MAX];
static size_t hide_count;

int vs_shim_hide_add(const char *entry, size_t len)
{
    if (hide_count == HIDE_MAX || len == 0 || len + 1 > HIDE_BYTES - hide_used)
        return -1;
    char *dst = hide_text + hide_used;
    memcpy(dst, entry, len);
    dst[len] = '\0';
    hide_used += len + 1;
    hide_entry[hide_count++] = dst;
    return 0;
}

static const char *base_name(const char *s, size_t *len)
{
    const char *slash = strrchr(s, '/');
    const char *b = slash != NULL ? slash + 1 : s;
    *len = strlen(b);
    return b;
}

static bool matches(const char *entry, const char *canon)
{
    if (entry[0] == '*' && entry[1] == '/') {
        size_t el = strlen(entry + 1), cl = strlen(canon); /* "/SUFFIX" */
        return cl >= el && memcmp(canon + cl - el, entry + 1, el) == 0;
    }
    return strcmp(entry, canon) == 0;
}

static __attribute__((noinline)) bool hide_compare(const char *b, size_t bl)
{
    for (size_t i = 0; i < hide_count; i++) {
        size_t el;
        const char *eb = base_name(hide_entry[i], &el);
        if (el == bl && memcmp(eb, b, bl) == 0)
            return true;
    }
    return false;
}

bool vs_shim_hide_any(void)
{
    return hide_count != 0;
}

/* Rule 1: one load outside a grant (the loop out of line, so no register
 * is saved for it). */
bool vs_shim_hide_candidate(const char *b, size_t bl)
{
    return hide_count != 0 && hide_compare(b, bl);
}

bool vs_shim_hidden(int dirfd, const char *path, char *canon, size_t cap)
{
    if (hide_count == 0 || path == NULL)
        return false;
    size_t bl;
    const char *b = base_name(path, &bl);
    if (!hide_compare(b, bl))
        return false;
    int saved = errno;
    bool hidden = false;
    if (vs_shim_canonical(dirfd, path, canon, cap))
        for (size_t i = 0; i < hide_count && !hidden; i++)
            hidden = matches(hide_entry[i], canon);
    errno = saved;
    return hidden;
}
