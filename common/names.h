/* Name rules shared by the store, the policy, the daemon and the shim. */
#ifndef VS_NAMES_H
#define VS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define VS_SECRET_NAME_MAX 64

/* A secret name: 1-64 bytes of [A-Za-z0-9_.-], starting with a letter or
 * digit. Names reach logs, file names and JSON, so the set is narrow. */
bool vs_secret_name_valid(const char *name);

/* An environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 255 bytes. */
bool vs_env_name_valid(const char *name);

/* Matches an env-name pattern where '*' stands for any run of characters
 * (no other metacharacters): "*_TOKEN" matches "GH_TOKEN". */
bool vs_env_pattern_match(const char *pattern, const char *name);

#endif
