/* vaultctl drill NAME: the emergency runbook of NAME as a dry run. It
 * changes no secret and no store byte; it appends one "drill" line to the
 * audit log, so that practising the runbook is on record (and a drill is
 * never mistaken for an incident when the log is read later). */
#include "ctl_life.h"

#include "error.h"

#include <stdio.h>

int cmd_drill(struct ctl *c)
{
    const char *name = c->argv[0];
    if (!vs_secret_name_valid(name))
        return ctl_say(c, CTL_USAGE, "invalid secret name");
    struct vs_vault *v = NULL;
    int rc = ctl_open_vault(c, VS_VAULT_WRITE, &v);
    if (rc == 0 && vs_store_find(v->store, name) == NULL)
        rc = vs_fail(VS_ENOENT, "%s: no such secret", name);
    if (rc == 0) {
        struct vs_audit_event ev = ctl_event("drill", name, 0, "runbook dry run: nothing changed");
        rc = vs_audit_append(v->auditfd, vs_store_audit_key(v->store), vs_store_generation(v->store), &ev);
    }
    vs_vault_close(v);
    if (rc != 0)
        return ctl_fail(c, rc);
    printf("DRILL for %s: what `vaultctl revoke %s` would do and what you would do next. Nothing is changed.\n", name,
           name);
    rc = ctl_runbook(c, name, CTL_AFTER_DRILL);
    return rc != 0 ? ctl_fail(c, rc) : CTL_OK;
}
