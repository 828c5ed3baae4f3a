/* vault-exec: the trusted trampoline for mediated runs (docs/vault-exec.md).
 *
 *     vault-exec [--agent NAME] -- TARGET [ARGS...]
 *
 * Opens TARGET (found as execvp finds it), asks vaultd for the mediated
 * grant of that open file and this exact argv (vaultd reads both from the
 * kernel and may hold the request for the owner's approval), then runs the
 * target from that same fd with its env grants in the environment and its
 * files as sealed memfds named through the tool's path variable; with
 * mask on, through the masking relay. Exit status: the target's; 126 when
 * vault-exec refused or failed, 127 when the target was not found. */
#include "vexec.h"

#include "error.h"
#include "execargs.h"
#include "paths.h"
#include "timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "asan_defaults.h"

extern char **environ;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usage(void)
{
    fprintf(stderr, "usage: vault-exec [--agent NAME] -- TARGET [ARGS...]\n");
    return 2;
}

static int fail(int code, int rc)
{
    fprintf(stderr, "vault-exec: %s\n", vs_last_error(rc));
    return code;
}

/* A "#!" script target runs as INTERPRETER SCRIPT ARGS: vault-exec starts
 * again with that command line, so that the argv vaultd reads from the
 * kernel is the one that runs (the interpreter is checked not to be a
 * script itself: one step, no loop). */
static int rerun_as_interpreter(char **argv, long at, const char *interp, const char *script)
{
    size_t argc = 0;
    while (argv[argc] != NULL)
        argc++;
    char **nv = calloc(argc + 2, sizeof *nv);
    if (nv == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    size_t n = 0;
    for (long i = 0; i < at; i++)
        nv[n++] = argv[i];
    nv[n++] = (char *)interp;
    nv[n++] = (char *)script;
    for (size_t i = (size_t)at + 1; i < argc; i++)
        nv[n++] = argv[i];
    nv[n] = NULL;
    /* Raw syscall: a preloaded shim must not route or rewrite this one. */
    (void)syscall(SYS_execve, "/proc/self/exe", nv, environ);
    int rc = vs_fail_errno(VS_EIO, "re-running vault-exec for the #! script");
    free(nv);
    return rc;
}

static int socket_path(char *out, size_t cap)
{
    const char *s = getenv("VAULT_SOCKET");
    if (s != NULL && s[0] == '/') {
        if ((size_t)snprintf(out, cap, "%s", s) >= cap)
            return vs_fail(VS_ETOOBIG, "VAULT_SOCKET too long");
        return 0;
    }
    return vs_socket_path(out, cap) == 0 ? 0 : vs_fail(VS_ETOOBIG, "socket path too long");
}

int main(int argc, char **argv)
{
    const char *agent = NULL;
    long at = vs_execargs_target((size_t)argc, argv, &agent);
    if (at < 0)
        return usage();
    /* No core file of a process that will hold values. */
    struct rlimit core;
    if (getrlimit(RLIMIT_CORE, &core) == 0) {
        struct rlimit none = {0, core.rlim_max};
        (void)setrlimit(RLIMIT_CORE, &none);
    }
    if (sodium_init() < 0)
        return fail(126, vs_fail(VS_ECRYPTO, "libsodium failed to initialise"));
    static struct vexec v = {.targetfd = -1, .sock = -1};
    v.agent = agent != NULL ? agent : getenv("VAULT_AGENT");
    v.session = getenv("VAULT_SESSION");
    v.targv = argv + at;
    char sock[128];
    int rc = vexec_open_target(v.targv[0], &v.targetfd, v.target_path, sizeof v.target_path);
    if (rc != 0)
        return fail(rc == VS_ENOENT ? 127 : 126, rc);
    char interp[4096];
    if ((rc = vexec_shebang(v.targetfd, interp, sizeof interp)) < 0)
        return fail(126, rc);
    if (rc == 1)
        return fail(126, rerun_as_interpreter(argv, at, interp, v.target_path));
    if ((rc = socket_path(sock, sizeof sock)) != 0)
        return fail(126, rc);
    if ((rc = vexec_mediate(&v, sock)) != 0) {
        vexec_wipe(&v);
        /* The shim's refusal line, so the agent sees one form whichever
         * route the tool took: "vaultshim: gh: no grant: REASON". */
        const char *slash = strrchr(v.target_path, '/');
        fprintf(stderr, "vaultshim: %s: no grant: %s\n", slash != NULL ? slash + 1 : v.target_path,
                vs_last_error(rc));
        return 126;
    }
    /* An interpreter tool runs the policy's own script file, the one
     * vaultd judged, whatever path argv named it by. */
    if (v.script[0] != '\0' && v.targv[1] != NULL)
        v.targv[1] = v.script;
    struct vexec_env env;
    if ((rc = vexec_build_env(&v, environ, &env)) != 0) {
        vexec_wipe(&v);
        return fail(126, rc);
    }
    int64_t start = now_ms();
    int status = vexec_run(&v, env.envp, v.targv);
    uint32_t ms = (uint32_t)(now_ms() - start);
    vexec_free_env(&env);
    vexec_wipe(&v);
    if (status < 0)
        return fail(126, status);
    vexec_report(sock, v.agent, status, ms);
    return status;
}
