/* getenv and secure_getenv: a protected name is absent outside a grant,
 * also before our constructor has run (another library's constructor may
 * ask), and present inside one only as the value vaultd granted. */
#include "shim.h"

#include "grants.h"

#include <stdlib.h>
#include <string.h>

static char *(*real_getenv)(const char *) VS_HOT;
static char *(*real_secure_getenv)(const char *) VS_HOT;

/* Rule: the real lookup first (cheap, and NULL for every scrubbed name);
 * only a value found for a protected name is questioned. */
/* The slow part apart, so that getenv's common path (NULL, or a value in
 * the start-up block) stays a leaf: no frame, no spills. */
__attribute__((noinline)) static char *question(const char *name, char *value)
{
    const struct vs_index *idx = vs_shim_ready() && vs_shim.have_index ? &vs_shim.index : NULL;
    if (!vs_index_env_protected(idx, name, strlen(name)))
        return value;
    /* Protected: only the entry vaultd granted us counts. */
    char *entry = value - strlen(name) - 1;
    return vs_grants_is_ours(entry) ? value : NULL;
}

static inline char *filter(const char *name, char *value)
{
    if (__builtin_expect(value == NULL || vs_shim_in_startup_env(value), 1))
        return value;
    return question(name, value);
}

VS_EXPORT char *getenv(const char *name)
{
    if (__builtin_expect(real_getenv == NULL, 0))
        real_getenv = vs_shim_next("getenv");
    return filter(name, real_getenv(name));
}

VS_EXPORT char *secure_getenv(const char *name)
{
    if (__builtin_expect(real_secure_getenv == NULL, 0))
        real_secure_getenv = vs_shim_next("secure_getenv");
    return filter(name, real_secure_getenv(name));
}
