/* Invariant 7 for node: an allowlisted node process holding a key must not
 * open its inspector, which node starts on SIGUSR1 (anyone of the same uid
 * can send it). --inspect and NODE_OPTIONS=--inspect are refused by vaultd;
 * the signal is the remaining door. In a granted node process a handler
 * for SIGUSR1 is never installed: the signal stays ignored. Other programs
 * (dd prints progress on SIGUSR1) are untouched. */
#include "shim.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

/* node, node20, nodejs...: the basename of our executable. */
static bool is_node(void)
{
    const char *base = strrchr(vs_tool.exe_path, '/');
    base = base != NULL ? base + 1 : vs_tool.exe_path;
    return strncmp(base, "node", 4) == 0;
}

static bool guarded(int signum)
{
    return signum == SIGUSR1 && vs_shim_ready() && vs_shim.granted && is_node();
}

VS_EXPORT int sigaction(int signum, const struct sigaction *act, struct sigaction *old)
{
    if (real_sigaction == NULL)
        real_sigaction = vs_shim_next("sigaction");
    if (act != NULL && guarded(signum) && act->sa_handler != SIG_IGN) {
        struct sigaction ignore;
        memset(&ignore, 0, sizeof ignore);
        ignore.sa_handler = SIG_IGN;
        return real_sigaction(signum, &ignore, old);
    }
    return real_sigaction(signum, act, old);
}

/* signal() reaches the real sigaction inside glibc, not our hook. */
VS_EXPORT __sighandler_t signal(int signum, __sighandler_t handler)
{
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    /* The memset left sa_mask empty: what sigemptyset does on Linux. */
    if (sigaction(signum, &act, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}
