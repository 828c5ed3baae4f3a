/* Routing mediated tools through vault-exec: when the program an exec
 * names is a tool the index marks mediated (mediate, approve,
 * approve_args), the shim runs `vault-exec -- TARGET ARGS...` instead, so
 * the agent's `gh release create` just works and is approved and masked.
 *
 * This is convenience, not the boundary: an agent can always exec the tool
 * itself some other way; vaultd then refuses it the keys (a mediated tool
 * gets them only through the genuine vault-exec). The vault-exec path is
 * derived from the shim's own location (beside it, or ../../bin from
 * lib/vaultshim/), never from the environment.
 *
 * libc only, no malloc: runs inside exec hooks (rule 4 of exec.c). */
#ifndef VS_SHIM_ROUTE_H
#define VS_SHIM_ROUTE_H

#include "index.h"

#include <stdbool.h>
#include <stddef.h>

#define VS_ROUTE_MAX_ARGS 1024

/* Is this tool run through vault-exec? */
bool vs_route_wanted(const struct vs_index_tool *t);

/* vault-exec's path, or NULL when there is none beside the shim. */
const char *vs_route_exe(void);

/* out = { "vault-exec", "--", interp?, target, argv[1..], NULL } in cap
 * slots. interp: a "#!" script's interpreter (NULL: none). false when it
 * does not fit. */
bool vs_route_argv(const char *interp, const char *target, char *const argv[], char **out, size_t cap);

#endif
