/* vaultctl check: for cron and CI. One line per secret overdue for
 * rotation (its `secrets` rotation_days in the policy, else
 * vault.rotation_days, 90 by default); exit 1 when any is, 0 otherwise. */
#include "ctl_life.h"

#include "error.h"
#include "timeutil.h"

#include <stdio.h>

int cmd_check(struct ctl *c)
{
    struct vs_policy *p = NULL;
    int rc = ctl_load_policy(c, &p);
    if (rc != 0)
        return ctl_fail(c, rc);
    struct vs_vault *v = NULL;
    rc = ctl_open_vault(c, 0, &v);
    if (rc != 0) {
        vs_policy_free(p);
        return ctl_fail(c, rc);
    }
    int64_t now = vs_now_ms() / 1000;
    size_t overdue = 0, n = vs_store_count(v->store);
    for (size_t i = 0; i < n; i++) {
        const struct vs_secret *s = vs_store_at(v->store, i);
        int days = vs_policy_rotation_days(p, s->name, s->rotation_days);
        int64_t late = now - ((int64_t)s->rotated + (int64_t)days * 86400);
        if (late <= 0)
            continue;
        char rotated[32];
        if (vs_format_time((int64_t)s->rotated * 1000, rotated, sizeof rotated) != 0)
            rotated[0] = '\0';
        printf("OVERDUE %s: last rotated %s, every %d days, %lld days late (vaultctl rotate %s)\n", s->name, rotated,
               days, (long long)(late / 86400), s->name);
        overdue++;
    }
    vs_vault_close(v);
    vs_policy_free(p);
    if (overdue == 0)
        printf("ok: %zu secrets, none overdue for rotation\n", n);
    if (fflush(stdout) != 0)
        return CTL_ERROR;
    return overdue != 0 ? CTL_ERROR : CTL_OK;
}
