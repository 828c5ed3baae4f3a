/* A tool's grants inside the shim: identify the process, fetch its values
 * from vaultd with one round trip, keep them in locked memory, serve its
 * managed files from sealed memfds, wipe everything at exit. */
#ifndef VS_SHIM_GRANTS_H
#define VS_SHIM_GRANTS_H

#include <stdbool.h>
#include <stddef.h>

/* Looks the executable (and, for interpreters, the script) up in the index;
 * sets vs_shim.is_tool and tool_name. */
void vs_grants_identify(void);

/* GRANTS, PR_SET_DUMPABLE 0, CONFIRM; installs env values into environ (and
 * into the start-up array's reserved slots) and records managed files. On
 * any failure: nothing granted, placeholders removed, one stderr line. */
void vs_grants_fetch(char **startup_env);

/* For scrub: a static "NAME=" slot if this tool may be granted the name
 * of entry (nlen bytes), else NULL. */
const char *vs_grants_placeholder(const char *entry, size_t nlen);

/* Is this environ entry one of our granted "NAME=value" strings? */
bool vs_grants_is_ours(const char *entry);

void vs_grants_wipe(void);

#endif
