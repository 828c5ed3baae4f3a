/* vault-exec's command line, parsed the same way by vault-exec and by
 * vaultd (which reads it from the kernel, /proc/PID/cmdline):
 *
 *     vault-exec [--agent NAME] -- TARGET [ARGS...]
 *
 * Nothing else is accepted: a strict grammar, so that the argv vaultd
 * checks is exactly the argv vault-exec runs. libc only. */
#ifndef VS_EXECARGS_H
#define VS_EXECARGS_H

#include <stddef.h>

/* The index of TARGET in argv[0..argc), or -1 when argv does not follow the
 * grammar. *agent (may be NULL) is set to NAME or NULL. */
long vs_execargs_target(size_t argc, char *const argv[], const char **agent);

#endif
