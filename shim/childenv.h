/* The child's environment for every exec entry point (a pure function: no
 * hook, no allocation, no stdio, no global state; the exec hooks and the
 * unit test call it alike).
 *
 * What the child gets, in this order:
 *   1. "LD_PRELOAD=<shim>[:<other>...]": our shim first and once, even when
 *      the caller removed LD_PRELOAD (env -i, env -u, unset). Every
 *      LD_PRELOAD entry of the parent is folded into this one (elements
 *      split on ':' and ' ' as ld.so splits them; copies of the shim path
 *      dropped). Other libraries are kept, after ours, for an ordinary
 *      child: the shim is not the security boundary, and a user's own
 *      preload (libfaketime, a profiler) keeps working. For a child that
 *      the index names as a tool they are dropped: vaultd refuses a tool
 *      with a foreign library mapped, and a library there is code inside the
 *      process that is about to hold a key.
 *   2. "VAULT_SOCKET=<socket>": the socket this shim's constructor used,
 *      replacing whatever the caller put there (a process cannot point its
 *      children at another daemon by changing its own variable).
 *   3. For a tool child, one placeholder "NAME=" for each env name of that
 *      tool's index record (names only; never a value). Go and bash read
 *      the start-up array itself, so the child's constructor needs a slot
 *      that is already there: it points the slot at the granted value, or
 *      removes it when vaultd refuses. No placeholder for other children:
 *      nothing could fill it.
 *   4. For a child that is an allowlisted interpreter, "PYTHONNOUSERSITE=1".
 *   5. Every other parent entry, in the parent's order, except:
 *      - protected names (vs_index_entry_protected: the policy's protect
 *        patterns, every granted env name, the built-in list), also when
 *        idx is NULL (then the built-in list alone);
 *      - every LD_PRELOAD and VAULT_SOCKET entry (folded into 1 and 2);
 *      - for an allowlisted interpreter: every injection variable
 *        (vs_inject_is_injection_name, whatever its value) and any
 *        PYTHONNOUSERSITE (replaced by 4).
 *   The array ends with NULL.
 *
 * Storage: the caller's buffer only. The pointer array comes first; the
 * strings built here (1-4) follow it; kept entries point into the
 * parent's envp (they must outlive the exec call, as envp does). The
 * buffer may be on the caller's stack or from mmap: a vfork or posix_spawn
 * child must not call malloc. */
#ifndef VS_CHILDENV_H
#define VS_CHILDENV_H

#include "index.h"

#include <stdbool.h>
#include <stddef.h>

struct vs_childenv_in {
    char *const *envp;       /* the parent's envp; NULL = empty */
    const char *shim_path;   /* our library; NULL or "": the parent's LD_PRELOAD is kept as is */
    const char *socket_path; /* NULL or "": the parent's VAULT_SOCKET is kept as is */
    const struct vs_index *idx;        /* NULL: no index (the built-in list only) */
    const struct vs_index_tool *tool;  /* the tool the child runs as, or NULL */
    bool interpreter;        /* the child is an allowlisted interpreter */
};

/* An upper bound of the bytes vs_childenv_build needs for in (pointer
 * array and strings, with alignment slack). 0 when it would overflow. */
size_t vs_childenv_size(const struct vs_childenv_in *in);

/* Builds the child's envp in buf[0..cap) (any alignment) and sets *out to
 * it. 0, or E2BIG when cap is too small (nothing is written past cap;
 * *out is NULL), or EINVAL for a NULL argument. */
int vs_childenv_build(const struct vs_childenv_in *in, void *buf, size_t cap, char ***out);

#endif
