/* vaultctl history NAME: the versions of a secret (kept and current, when
 * each was made, revoked or not) and who used each: agent, tool, count,
 * last use, from the audit log. Metadata only. */
#include "ctl_life.h"

#include "error.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>

int cmd_history(struct ctl *c)
{
    const char *name = c->argv[0];
    if (!vs_secret_name_valid(name))
        return ctl_say(c, CTL_USAGE, "invalid secret name");
    struct vs_vault *v = NULL;
    int rc = ctl_open_vault(c, 0, &v);
    if (rc != 0)
        return ctl_fail(c, rc);
    const struct vs_secret *s = vs_store_find(v->store, name);
    if (s == NULL) {
        vs_vault_close(v);
        return ctl_fail(c, vs_fail(VS_ENOENT, "%s: no such secret", name));
    }
    struct ctl_uses u;
    rc = ctl_uses_scan(c, name, &u);
    if (rc != 0) {
        vs_vault_close(v);
        return ctl_fail(c, rc);
    }
    bool revoked = (s->flags & VS_SECRET_REVOKED) != 0;
    printf("%s: %u versions kept, %s\n", name, s->nversions, revoked ? "REVOKED" : "active");
    printf("%-8s %-24s %-10s %s\n", "VERSION", "CREATED", "STATE", "USED BY (agent, tool: count, last use)");
    for (size_t i = s->nversions; i-- > 0;) {
        const struct vs_version *ver = &s->versions[i];
        char created[32];
        if (vs_format_time((int64_t)ver->created * 1000, created, sizeof created) != 0)
            created[0] = '\0';
        bool current = i + 1 == s->nversions;
        const char *state = current ? (revoked ? "revoked" : "current") : "retired";
        printf("v%-7u %-24s %-10s", ver->version, created, state);
        size_t shown = 0;
        for (size_t k = 0; k < u.n; k++) {
            const struct ctl_use *g = &u.groups[k];
            if (g->version != ver->version)
                continue;
            printf("%s%s, %s: %llu, last %s\n", shown == 0 ? " " : "                                             ",
                   g->agent, g->tool, (unsigned long long)g->count, g->last);
            shown++;
        }
        if (shown == 0)
            printf(" (no recorded use)\n");
    }
    /* Uses of versions no longer kept are still in the log. */
    for (size_t k = 0; k < u.n; k++) {
        bool kept = false;
        for (size_t i = 0; i < s->nversions; i++)
            kept = kept || s->versions[i].version == u.groups[k].version;
        if (!kept)
            printf("v%-7u %-24s %-10s %s, %s: %llu, last %s\n", u.groups[k].version, "-", "dropped", u.groups[k].agent,
                   u.groups[k].tool, (unsigned long long)u.groups[k].count, u.groups[k].last);
    }
    ctl_uses_free(&u);
    vs_vault_close(v);
    return fflush(stdout) == 0 ? CTL_OK : CTL_ERROR;
}
