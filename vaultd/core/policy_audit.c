/* The policy's top-level audit_sync ("each" | "interval") and
 * audit_sync_ms (10..60000, interval only): see audit_sync.h. A period set
 * without interval mode is refused, not ignored: the owner would believe
 * lines are synced on a timer when they are synced at once. */
#include "policy_internal.h"

#include <libconfig.h>
#include <string.h>

int vs_pol_audit_sync(struct vs_pol_ld *c, const config_setting_t *root)
{
    const config_setting_t *mode = config_setting_get_member(root, "audit_sync");
    const config_setting_t *period = config_setting_get_member(root, "audit_sync_ms");
    int rc = 0;
    if (mode != NULL) {
        const char *v;
        if ((rc = vs_pol_string(c, mode, &v)) != 0)
            return rc;
        if (strcmp(v, "each") == 0)
            c->p->audit_sync = VS_AUDIT_SYNC_EACH;
        else if (strcmp(v, "interval") == 0)
            c->p->audit_sync = VS_AUDIT_SYNC_INTERVAL;
        else
            return vs_pol_err(c, mode, "audit_sync must be \"each\" or \"interval\", not \"%.64s\"", v);
    }
    if (period == NULL)
        return 0;
    if ((rc = vs_pol_int(c, period, VS_AUDIT_SYNC_MS_MIN, VS_AUDIT_SYNC_MS_MAX, &c->p->audit_sync_ms)) != 0)
        return rc;
    if (c->p->audit_sync != VS_AUDIT_SYNC_INTERVAL)
        return vs_pol_err(c, period, "audit_sync_ms applies only with audit_sync = \"interval\"");
    return 0;
}
