/* vaultctl's lifecycle helpers (ctl_life.h): the policy in force, one
 * request to vaultd, the human factor for lifting, the emergency runbook. */
#include "ctl_life.h"

#include "client.h"
#include "error.h"
#include "keyfile.h"
#include "paths.h"
#include "timeutil.h"

#include <errno.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ctl_load_policy(const struct ctl *c, struct vs_policy **out)
{
    (void)c;
    *out = NULL;
    char path[PATH_MAX];
    const char *env = getenv("VAULT_CONFIG");
    int n;
    if (env != NULL && env[0] != '\0') {
        n = snprintf(path, sizeof path, "%s", env);
    } else {
        struct passwd *pw = getpwuid(geteuid());
        if (pw == NULL || pw->pw_dir == NULL)
            return vs_fail(VS_ENOENT, "no home folder for uid %u", (unsigned)geteuid());
        n = snprintf(path, sizeof path, "%s/.config/vaultshim/vaultshim.conf", pw->pw_dir);
    }
    if (n < 0 || (size_t)n >= sizeof path)
        return vs_fail(VS_ETOOBIG, "policy path too long");
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return 0;
    return vs_policy_load_file(path, NULL, out);
}

int ctl_request(const struct ctl *c, uint8_t op, const struct ctl_req *req, char *text, size_t cap)
{
    char path[128];
    if (c->socket != NULL ? (size_t)snprintf(path, sizeof path, "%s", c->socket) >= sizeof path
                          : vs_socket_path(path, sizeof path) != 0)
        return vs_fail(VS_ETOOBIG, "socket path too long");
    int fd = vs_client_connect(path);
    if (fd < 0)
        return vs_fail(VS_EIO, "vaultd not answering at %s", path);
    uint8_t *frame = sodium_malloc(VS_PROTO_MAX_FRAME + 1), *reply = sodium_malloc(VS_PROTO_MAX_FRAME + 1);
    int rc = frame == NULL || reply == NULL ? vs_fail(VS_ENOMEM, "out of memory") : 0;
    struct vs_msg m = {.op = 0, .nfields = 0};
    if (rc == 0) {
        struct vs_msg_writer w;
        size_t len = 0;
        vs_msg_begin(&w, frame, VS_PROTO_MAX_FRAME, op, 1);
        if (req != NULL && req->name != NULL)
            (void)vs_msg_put_str(&w, VS_F_NAME, req->name);
        if (req != NULL && req->session != NULL)
            (void)vs_msg_put_str(&w, VS_F_SESSION, req->session);
        if (req != NULL && req->agent != NULL)
            (void)vs_msg_put_str(&w, VS_F_AGENT, req->agent);
        if (req != NULL && req->lift != 0)
            (void)vs_msg_put_u32(&w, VS_F_LIFT, req->lift);
        if (req != NULL && req->pass != NULL)
            (void)vs_msg_put_bytes(&w, VS_F_PASSPHRASE, req->pass, req->pass_len);
        rc = vs_msg_finish(&w, &len);
        if (rc == 0)
            rc = vs_client_call(fd, frame, len, reply, VS_PROTO_MAX_FRAME + 1, &m);
    }
    (void)close(fd);
    if (text != NULL && cap > 0)
        text[0] = '\0';
    if (rc < 0 && m.op == VS_OP_ERROR) {
        char reason[1100] = "";
        int code = rc;
        (void)vs_msg_get_error(&m, &code, reason, sizeof reason);
        rc = vs_fail(code, "%s", reason[0] != '\0' ? reason : vs_strerror(code));
    } else if (rc == VS_EIO) {
        rc = vs_fail(VS_EIO, "vaultd at %s closed the connection", path);
    } else if (rc == 0 && text != NULL) {
        if (vs_msg_get_str(&m, VS_F_STATUS_TEXT, text, cap) != 0)
            (void)vs_msg_get_str(&m, VS_F_SESSION, text, cap);
    }
    if (frame != NULL)
        sodium_free(frame);
    if (reply != NULL)
        sodium_free(reply);
    return rc;
}

int ctl_human_factor(const struct ctl *c, uint8_t **pass, size_t *pass_len)
{
    *pass = NULL;
    *pass_len = 0;
    enum vs_kdf_kind kind = VS_KDF_PASSPHRASE;
    int rc = vs_vault_kdf_kind(c->home, &kind);
    if (rc != 0)
        return rc;
    if (kind == VS_KDF_PASSPHRASE)
        return ctl_read_passphrase(c, "Vault passphrase: ", false, pass, pass_len);
    /* A key-file vault has no secret a person knows: vaultd checks that
     * vaultctl runs in the foreground of a terminal; we ask for a typed
     * word so that a stray script line does not lift it. */
    if (!isatty(STDIN_FILENO))
        return vs_fail(VS_EPERM, "this needs the owner at a terminal (a key-file vault): stdin is not one");
    fprintf(stderr, "Type lift to confirm: ");
    char line[32];
    if (fgets(line, sizeof line, stdin) == NULL || strcmp(line, "lift\n") != 0)
        return vs_fail(VS_EPERM, "not confirmed");
    return 0;
}

int ctl_runbook(const struct ctl *c, const char *secret, enum ctl_runbook_after after)
{
    bool drill = after == CTL_AFTER_DRILL;
    struct ctl_uses u;
    int rc = ctl_uses_scan(c, secret, &u);
    if (rc != 0)
        return rc;
    printf("\n=== EMERGENCY RUNBOOK: %s%s ===\n", secret, drill ? " (DRILL: a dry run, nothing was changed)" : "");
    printf("Last uses (newest first, from the audit log):\n");
    for (size_t i = u.n_recent; i-- > 0;) {
        const struct ctl_use *r = &u.recent[i];
        printf("  %s  v%u  agent %s  tool %s  session %s\n", r->last, r->version, r->agent, r->tool, r->session);
    }
    if (u.n_recent == 0)
        printf("  (no grant of %s is recorded)\n", secret);
    /* Review from when the value now in use came to be (its save or
     * rotation), else from its first recorded use, else the last 90 days. */
    char since[40];
    if (u.version_time[0] != '\0')
        (void)snprintf(since, sizeof since, "%s", u.version_time);
    else if (u.first_use[0] != '\0')
        (void)snprintf(since, sizeof since, "%s", u.first_use);
    else
        (void)snprintf(since, sizeof since, "90d");
    printf("Steps:\n");
    if (after == CTL_AFTER_REVOKE)
        printf("  1. Done: revoked here; every grant of it is refused from the next request.\n");
    else if (after == CTL_AFTER_LOCKDOWN)
        printf("  1. Done: lockdown; no grant of any secret leaves vaultd. To keep this one stopped after the lift: "
               "vaultctl revoke %s\n", secret);
    else
        printf("  1. (a drill: not done) Stop its use here: vaultctl revoke %s (or vaultctl lockdown for all)\n",
               secret);
    printf("  2. Revoke it at the provider that issued it (its web console or API), so the leaked value is dead "
           "everywhere, not only here.\n");
    printf("  3. Rotate it here with the new value from the provider: vaultctl rotate %s   then: vaultctl restore %s\n",
           secret, secret);
    printf("  4. Review every use since the value came to be: vaultctl audit --secret %s --since %s\n", secret, since);
    printf("  5. If a tool that held it could reach customer data (see the tools above), report the incident as your "
           "obligations require.\n");
    ctl_uses_free(&u);
    return fflush(stdout) == 0 ? 0 : vs_fail(VS_EIO, "stdout");
}
