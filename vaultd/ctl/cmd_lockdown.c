/* vaultctl lockdown [--lift]: make vaultd refuse every grant at once
 * (persisted in VAULT_HOME, so a restart keeps it), and print the runbook
 * for every secret the audit log shows in use; --lift ends it, with the
 * human factor (ctl_human_factor). */
#include "ctl_life.h"

#include "error.h"
#include "fileio.h"
#include "proto.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int runbooks_for_all(const struct ctl *c)
{
    struct ctl_uses u;
    int rc = ctl_uses_scan(c, NULL, &u);
    for (size_t i = 0; rc == 0 && i < u.n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen = seen || strcmp(u.groups[k].secret, u.groups[i].secret) == 0;
        if (!seen)
            rc = ctl_runbook(c, u.groups[i].secret, CTL_AFTER_LOCKDOWN);
    }
    if (rc == 0 && u.n == 0)
        printf("No secret has a recorded grant: nothing to review.\n");
    ctl_uses_free(&u);
    return rc;
}

/* vaultd is not running: the lockdown file alone makes the next vaultd
 * start in lockdown (its start line and the first refusals are logged). */
static int lockdown_offline(const struct ctl *c, char *text, size_t cap)
{
    int dirfd = vs_open_private_dir(c->home, 0);
    if (dirfd < 0)
        return dirfd;
    static const char body[] = "lockdown set by vaultctl while vaultd was not running\n";
    int rc = vs_write_file_atomic(dirfd, "lockdown", body, sizeof body - 1);
    (void)close(dirfd);
    if (rc == 0)
        (void)snprintf(text, cap, "vaultd is not running: lockdown recorded in %.600s/lockdown; vaultd will start in "
                                  "lockdown and refuse every grant until `vaultctl lockdown --lift`", c->home);
    return rc;
}

int cmd_lockdown(struct ctl *c)
{
    char text[1024];
    struct ctl_req req = {.lift = c->lift ? 1 : 0};
    uint8_t *pass = NULL;
    int rc = 0;
    if (c->lift)
        rc = ctl_human_factor(c, &pass, &req.pass_len);
    req.pass = pass;
    if (rc == 0)
        rc = ctl_request(c, VS_OP_LOCKDOWN, &req, text, sizeof text);
    if (pass != NULL)
        sodium_free(pass);
    if (rc == VS_EIO && !c->lift)
        rc = lockdown_offline(c, text, sizeof text);
    if (rc != 0)
        return ctl_fail(c, rc);
    printf("%s\n", text);
    if (c->lift)
        return CTL_OK;
    printf("Step 1 is done for every secret: no grant leaves vaultd now. Then, for each secret in use:\n");
    rc = runbooks_for_all(c);
    return rc != 0 ? ctl_fail(c, rc) : CTL_OK;
}
