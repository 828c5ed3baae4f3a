/* vaultctl run [--agent NAME] [--socket PATH] -- CMD [ARGS...]
 *
 * What scripts/vault-run does, without a shell: check that vaultd answers,
 * drop every protected name from the environment (the index's names and
 * patterns, the well-known list), put libvaultshim.so first in LD_PRELOAD,
 * set VAULT_SOCKET and VAULT_AGENT, and exec CMD. With --agent, vaultd
 * opens a session first (SESSION_OPEN: it records the agent, the start and
 * this process, which becomes CMD) and its id goes down as VAULT_SESSION. */
#include "vaultctl.h"
#include "run_ping.h"

#include "error.h"
#include "index.h"
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define SHIM_NAME "libvaultshim.so"

/* $VAULTSHIM_LIB, else beside vaultctl (the build folder), else
 * ../lib/vaultshim/ (make install). */
static int find_shim(char *out, size_t cap)
{
    const char *env = getenv("VAULTSHIM_LIB");
    if (env != NULL && env[0] == '/' && access(env, R_OK) == 0)
        return (size_t)snprintf(out, cap, "%s", env) < cap ? 0 : VS_ETOOBIG;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return vs_fail(VS_ENOENT, "cannot find my own executable");
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return vs_fail(VS_ENOENT, "cannot find my own folder");
    *slash = '\0';
    static const char *const places[] = {"/" SHIM_NAME, "/../lib/vaultshim/" SHIM_NAME};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        char candidate[PATH_MAX + 64];
        (void)snprintf(candidate, sizeof candidate, "%s%s", self, places[i]);
        /* The kernel's name for our executable is canonical already, so a
         * plain file beside it needs no realpath (a readlink per folder). */
        struct stat st;
        if (i == 0 && lstat(candidate, &st) == 0 && S_ISREG(st.st_mode))
            return (size_t)snprintf(out, cap, "%s", candidate) < cap ? 0 : VS_ETOOBIG;
        if (realpath(candidate, out) != NULL && strlen(out) < cap)
            return 0;
    }
    return vs_fail(VS_ENOENT, SHIM_NAME " not found (set VAULTSHIM_LIB)");
}

/* The command's environment: in usual_env unless it has more entries. No
 * malloc for a usual one: its first call costs three system calls
 * (getrandom, brk, brk) on the launcher's path. */
static char *usual_env[512];

static void env_free(char **env)
{
    if (env != usual_env)
        free(env);
}

static bool agent_ok(const char *agent)
{
    for (const char *p = agent; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '.' || *p == '-'))
            return false;
    return agent[0] != '\0' && strlen(agent) < 64;
}

static bool named(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

int cmd_run(struct ctl *c)
{
    if (c->agent != NULL && !agent_ok(c->agent))
        return ctl_say(c, CTL_USAGE, "--agent: 1-63 of A-Z a-z 0-9 _ . -");
    char sock[108];
    if (c->socket != NULL ? (size_t)snprintf(sock, sizeof sock, "%s", c->socket) >= sizeof sock
                          : vs_socket_path(sock, sizeof sock) != 0)
        return ctl_say(c, CTL_ERROR, "socket path too long");
    /* vaultd must answer a PING (and open the session) before the command
     * starts (run_ping.h). The requests go first and the answers are read
     * last: vaultd inspects us while we find the shim and build the
     * environment. */
    int ping = run_ping_send(sock, c->agent);
    if (ping < 0)
        return ctl_say(c, CTL_ERROR, "vaultd not answering at %s", sock);
    char shim[PATH_MAX];
    int rc = find_shim(shim, sizeof shim);
    if (rc != 0) {
        close(ping);
        return ctl_fail(c, rc);
    }

    /* The index names what is protected; without it, the well-known list. */
    static unsigned char index_buf[256 * 1024];
    struct vs_index idx;
    char index_path[160];
    bool have_index = vs_index_path(sock, index_path, sizeof index_path) == 0 &&
                      vs_index_load(index_path, index_buf, sizeof index_buf, &idx) == 0;

    /* The caller's environment minus what we set and what is protected,
     * after room for our own entries (LD_PRELOAD, VAULT_SOCKET, VAULT_AGENT,
     * VAULT_SESSION). */
    enum { OURS = 4 };
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = n + OURS + 1 <= sizeof usual_env / sizeof usual_env[0] ? usual_env : calloc(n + OURS + 1, sizeof *env);
    if (env == NULL) {
        close(ping);
        return ctl_fail(c, vs_fail(VS_ENOMEM, "out of memory"));
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        if (named(e, "LD_PRELOAD") || named(e, "VAULT_SOCKET") || named(e, "VAULT_AGENT") || named(e, "VAULT_SESSION") ||
            vs_index_entry_protected(have_index ? &idx : NULL, e))
            continue;
        env[OURS + kept++] = environ[i];
    }
    if (run_ping_wait(ping) != 0) {
        close(ping);
        env_free(env);
        return ctl_say(c, CTL_ERROR, "vaultd not answering at %s", sock);
    }
    static char preload[PATH_MAX + 16], socket_entry[160], agent_entry[96], session_entry[96];
    (void)snprintf(preload, sizeof preload, "LD_PRELOAD=%s", shim);
    (void)snprintf(socket_entry, sizeof socket_entry, "VAULT_SOCKET=%s", sock);
    size_t k = 0;
    env[k++] = preload;
    env[k++] = socket_entry;
    if (c->agent != NULL) {
        char id[64];
        rc = run_session_wait(ping, sock, id, sizeof id);
        if (rc != 0) {
            close(ping);
            env_free(env);
            return ctl_fail(c, rc);
        }
        (void)snprintf(agent_entry, sizeof agent_entry, "VAULT_AGENT=%s", c->agent);
        (void)snprintf(session_entry, sizeof session_entry, "VAULT_SESSION=%s", id);
        env[k++] = agent_entry;
        env[k++] = session_entry;
    }
    close(ping);
    memmove(env + k, env + OURS, kept * sizeof *env);
    env[k + kept] = NULL;
    ctl_restore_limits(); /* the agent gets the limits we were started with */
    execvpe(c->argv[0], c->argv, env);
    int saved = errno;
    fprintf(stderr, "vaultctl: run: %s: %s\n", c->argv[0], strerror(saved));
    env_free(env);
    return saved == ENOENT ? 127 : 126;
}
