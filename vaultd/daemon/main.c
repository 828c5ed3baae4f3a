/* vaultd: the vault daemon. Foreground, logs to stderr (systemd style).
 *
 * usage: vaultd [--config FILE] [--socket PATH] [--home DIR] [--keyfile PATH]
 *               [--shim PATH] */
#include "vaultd.h"

#include "error.h"
#include "paths.h"

#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: vaultd [--config FILE] [--socket PATH] [--home DIR] [--keyfile PATH] [--shim PATH]\n"
                 "              [--peer-group GROUP]\n"
                 "  --config   policy file (VAULT_CONFIG; ~/.config/vaultshim/vaultshim.conf)\n"
                 "  --socket   socket path (VAULT_SOCKET; $XDG_RUNTIME_DIR/vaultshim/vaultd.sock;\n"
                 "             /tmp/vaultshim-UID/vaultd.sock)\n"
                 "  --home     the vault folder (VAULT_HOME; ~/.local/share/vaultshim)\n"
                 "  --keyfile  key file of a key-file vault (VAULT_KEYFILE; HOME/vault.key)\n"
                 "  --shim     the libvaultshim.so accepted in a tool's LD_PRELOAD\n"
                 "             (default: beside vaultd)\n"
                 "  --peer-group  let this group's users connect (socket folder 0710, socket 0660):\n"
                 "             the agent's user in a container; the default is vaultd's user only\n"
                 "A key-file vault is unlocked at start; a passphrase vault starts locked\n"
                 "(vaultctl unlock). SIGTERM stops, SIGHUP reloads the policy (key-file vaults).\n");
}

static int copy_path(char *out, size_t cap, const char *value, const char *what)
{
    if (value[0] != '/')
        return vs_fail(VS_EINVAL, "%s must be an absolute path", what);
    if ((size_t)snprintf(out, cap, "%s", value) >= cap)
        return vs_fail(VS_ETOOBIG, "%s path too long", what);
    return 0;
}

/* The shim accepted in a tool's LD_PRELOAD: beside vaultd (the build
 * folder) or in ../lib/vaultshim/ (make install). */
static void find_shim(struct vaultd *d)
{
    static const char *const places[] = {"/libvaultshim.so", "/../lib/vaultshim/libvaultshim.so"};
    (void)vaultd_find_beside(places, 2, d->shim, sizeof d->shim);
}

static int default_paths(struct vaultd *d)
{
    int rc = 0;
    if (d->home[0] == '\0')
        rc = vs_vault_default_home(d->home, sizeof d->home);
    const char *env = getenv("VAULT_CONFIG");
    if (rc == 0 && d->config[0] == '\0') {
        if (env != NULL && env[0] != '\0') {
            rc = copy_path(d->config, sizeof d->config, env, "VAULT_CONFIG");
        } else {
            struct passwd *pw = getpwuid(geteuid());
            if (pw == NULL || pw->pw_dir == NULL)
                return vs_fail(VS_ENOENT, "no home folder for uid %u", (unsigned)geteuid());
            (void)snprintf(d->config, sizeof d->config, "%s/.config/vaultshim/vaultshim.conf", pw->pw_dir);
        }
    }
    env = getenv("VAULT_KEYFILE");
    if (rc == 0 && d->keyfile[0] == '\0') {
        if (env != NULL && env[0] != '\0')
            rc = copy_path(d->keyfile, sizeof d->keyfile, env, "VAULT_KEYFILE");
        else if ((size_t)snprintf(d->keyfile, sizeof d->keyfile, "%s/%s", d->home, VS_KEYFILE_NAME) >=
                 sizeof d->keyfile)
            rc = vs_fail(VS_ETOOBIG, "key file path too long");
    }
    if (rc == 0 && d->socket[0] == '\0' && vs_socket_path(d->socket, sizeof d->socket) != 0)
        rc = vs_fail(VS_ETOOBIG, "socket path too long (at most %zu bytes)", sizeof d->socket - 1);
    if (rc == 0 && vs_dirname(d->socket, d->sockdir, sizeof d->sockdir) != 0)
        rc = vs_fail(VS_EINVAL, "socket path %s has no folder", d->socket);
    if (rc == 0 && d->shim[0] == '\0')
        find_shim(d);
    if (rc == 0)
        vaultd_find_vault_exec(d);
    return rc;
}

static int parse_args(struct vaultd *d, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"socket", required_argument, NULL, 's'},
        {"home", required_argument, NULL, 'H'},   {"keyfile", required_argument, NULL, 'k'},
        {"shim", required_argument, NULL, 'S'},   {"peer-group", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt, rc = 0;
    opterr = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': rc = copy_path(d->config, sizeof d->config, optarg, "--config"); break;
        case 's': rc = copy_path(d->socket, sizeof d->socket, optarg, "--socket"); break;
        case 'H': rc = copy_path(d->home, sizeof d->home, optarg, "--home"); break;
        case 'k': rc = copy_path(d->keyfile, sizeof d->keyfile, optarg, "--keyfile"); break;
        case 'S': rc = copy_path(d->shim, sizeof d->shim, optarg, "--shim"); break;
        case 'g': {
            struct group *g = getgrnam(optarg);
            if (g == NULL)
                return vs_fail(VS_EINVAL, "--peer-group %s: no such group", optarg);
            d->peer_gid = g->gr_gid;
            break;
        }
        case 'h': usage(stdout); return 1;
        default: return vs_fail(VS_EINVAL, "unknown option %s (see vaultd --help)", argv[optind - 1]);
        }
    }
    if (rc == 0 && optind != argc)
        rc = vs_fail(VS_EINVAL, "unexpected argument %s (see vaultd --help)", argv[optind]);
    return rc;
}

/* Each connection holds seven fds (socket, pidfd, /proc/PID, exe, stat,
 * status, cmdline): the usual soft limit of 1024 would run out at ~140 of
 * VAULTD_MAX_CONNS. */
static void raise_fd_limit(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
            vaultd_say("cannot raise the open-file limit: fewer connections fit");
    }
}

/* vaultd holds the data key: no core file, no ptrace by the same uid. */
static int harden(void)
{
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return vs_fail_errno(VS_EPERM, "cannot disable core dumps");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
        return vs_fail(VS_EPERM, "cannot make vaultd non-dumpable");
    if (sodium_init() < 0)
        return vs_fail(VS_ECRYPTO, "libsodium failed to initialise");
    int rc = vs_peer_init();
    if (rc == 0 && !vs_peer_probe_one_step())
        vaultd_say("cannot inspect non-dumpable processes (no CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH): "
                   "tools ask in two steps");
    return rc;
}

static int start(struct vaultd *d)
{
    int rc = vs_vault_kdf_kind(d->home, &d->kind);
    if (rc != 0)
        return rc;
    if ((d->reply = sodium_malloc(VS_PROTO_MAX_FRAME)) == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    if (d->kind == VS_KDF_KEYFILE && (rc = vaultd_unlock_keyfile(d)) != 0)
        return rc;
    if (d->kind == VS_KDF_KEYFILE)
        vaultd_approvals_owner_tty(d, NULL);
    if ((rc = vaultd_listen(d)) != 0 || (rc = vaultd_load_policy(d)) != 0)
        return rc;
    return 0;
}

int main(int argc, char **argv)
{
    static struct vaultd d = {.auditfd = -1, .sockdirfd = -1, .listen_fd = -1, .epoll_fd = -1, .signal_fd = -1,
                              .peer_gid = (gid_t)-1};
    d.owner = geteuid();
    int rc = parse_args(&d, argc, argv);
    if (rc == 1)
        return 0;
    if (rc == 0)
        rc = harden();
    raise_fd_limit();
    if (rc == 0)
        rc = default_paths(&d);
    if (rc == 0)
        rc = start(&d);
    if (rc == 0)
        rc = vaultd_life_start(&d);
    if (rc == 0)
        (void)malloc_trim(0); /* the start-up loads' buffers, before serving */
    if (rc != 0) {
        vaultd_say("%s", vs_last_error(rc));
        vaultd_shutdown(&d);
        return 1;
    }
    vaultd_say("listening on %s; vault %s is %s; policy %s", d.socket, d.home,
               d.vault != NULL ? "unlocked" : "locked (vaultctl unlock)", d.config);
    (void)vaultd_log(&d, NULL, "start", "ok", NULL, NULL, NULL);
    rc = vaultd_run(&d);
    if (rc != 0)
        vaultd_say("%s", vs_last_error(rc));
    (void)vaultd_log(&d, NULL, "stop", "ok", NULL, NULL, NULL);
    vaultd_shutdown(&d);
    vaultd_life_stop(&d);
    vaultd_lock(&d);
    vaultd_approvals_free(&d);
    vs_policy_free(d.policy);
    sodium_free(d.reply);
    sodium_free(d.audit_key);
    vaultd_say("stopped");
    return rc == 0 ? 0 : 1;
}
