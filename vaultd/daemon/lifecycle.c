/* The lifecycle hook of vaultd's decisions, and the start, stop and tick of
 * its lifecycle state (lifecycle.h). */
#include "vaultd.h"

#include "error.h"
#include "fileio.h"
#include "template.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE_SAVE_MS 60000 /* the usage file is rewritten at most once a minute, and at stop */

int64_t vaultd_life_now_ms(void)
{
    return vs_now_ms();
}

int vaultd_life_start(struct vaultd *d)
{
    if ((d->life = calloc(1, sizeof *d->life)) == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    for (size_t i = 0; i < LIFE_MAX_SESSIONS; i++)
        d->life->sessions[i].pidfd = -1;
    d->life->dirfd = vs_open_private_dir(d->home, 0);
    if (d->life->dirfd < 0)
        return d->life->dirfd;
    int rc = vaultd_lockdown_load(d);
    if (rc == 0)
        rc = vaultd_usage_load(d);
    if (rc == 0 && d->life->lockdown)
        vaultd_say("LOCKDOWN is on (%s/%s): every grant is refused until vaultctl lockdown --lift", d->home,
                   LIFE_LOCKDOWN_FILE);
    for (size_t i = 0; rc == 0 && i < d->life->n_quarantined; i++)
        vaultd_say("secret %s is in quarantine until vaultctl restore %s", d->life->quarantined[i],
                   d->life->quarantined[i]);
    d->life->usage_saved_ms = vs_now_ms();
    return rc;
}

void vaultd_life_stop(struct vaultd *d)
{
    if (d->life == NULL)
        return;
    if (d->life->usage_dirty && d->life->dirfd >= 0) {
        int rc = vaultd_usage_save(d);
        if (rc != 0)
            vaultd_say("usage counts not saved: %s", vs_last_error(rc));
    }
    vaultd_alerts_reap(d);
    vaultd_sessions_close(d);
    vs_usage_free(&d->life->usage);
    if (d->life->dirfd >= 0)
        (void)close(d->life->dirfd);
    free(d->life);
    d->life = NULL;
}

void vaultd_life_tick(struct vaultd *d)
{
    if (d->life == NULL)
        return;
    vaultd_alerts_reap(d);
    int64_t now = vs_now_ms();
    if (d->life->usage_dirty && now - d->life->usage_saved_ms >= USAGE_SAVE_MS) {
        int rc = vaultd_usage_save(d);
        if (rc != 0)
            vaultd_say("usage counts not saved: %s", vs_last_error(rc));
        d->life->usage_saved_ms = now;
    }
}

/* Calls fn for each secret a tool is granted (env, then file templates);
 * stops at the first non-zero. */
static int each_secret(struct vaultd *d, const struct vs_policy_tool *t,
                       int (*fn)(struct vaultd *, struct conn *, const char *), struct conn *c)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->n_env; i++)
        rc = fn(d, c, t->env[i].secret);
    for (size_t i = 0; rc == 0 && i < t->n_files; i++) {
        const struct vs_template *tmpl = d->policy->files[t->files[i]].tmpl;
        for (size_t k = 0; rc == 0 && k < vs_template_name_count(tmpl); k++)
            rc = fn(d, c, vs_template_name(tmpl, k));
    }
    return rc;
}

static int secret_allowed(struct vaultd *d, struct conn *c, const char *secret)
{
    if (vaultd_quarantined(d, secret))
        return vs_fail(VS_EDENIED, "secret %s is in quarantine after an alert (vaultctl restore %s)", secret, secret);
    if (!vs_policy_secret_scoped(d->policy, secret))
        return 0;
    const char *cwd = vs_peer_cwd(&c->peer);
    cwd = cwd != NULL ? cwd : "";
    const char *project = NULL;
    if (cwd[0] == '/' && strstr(cwd, " (deleted)") == NULL &&
        vs_policy_project_allows(d->policy, secret, cwd, c->agent, &project))
        return 0;
    return vs_fail(VS_EDENIED, "secret %s belongs to project %s: not for a process working in %s%s%s", secret,
                   project != NULL ? project : "?", cwd, c->agent[0] != '\0' ? " as agent " : "", c->agent);
}

int vaultd_life_decide(struct vaultd *d, struct conn *c)
{
    if (d->life == NULL)
        return 0;
    if (d->life->lockdown)
        return vs_fail(VS_EDENIED, "LOCKDOWN: every grant is refused until `vaultctl lockdown --lift`");
    int rc = vaultd_session_check(d, c);
    if (rc != 0)
        return rc;
    const struct vs_policy_tool *t = c->tool;
    if (c->agent[0] != '\0' && d->policy->life.n_agents > 0) {
        const struct vs_policy_agent *a = vs_policy_find_agent(d->policy, c->agent);
        if (a == NULL)
            return vs_fail(VS_EDENIED, "agent %s is not in the policy's agents", c->agent);
        if (!vs_policy_agent_allows(a, t->name))
            return vs_fail(VS_EDENIED, "agent %s may not use tool %s (agents: tools)", c->agent, t->name);
    }
    return each_secret(d, t, secret_allowed, c);
}

static int count_use(struct vaultd *d, struct conn *c, const char *secret)
{
    int64_t now = vs_now_ms();
    int rc = vs_usage_add(&d->life->usage, now / 3600000, secret, c->agent, 1);
    if (rc != 0)
        vaultd_say("usage not counted: %s", vs_last_error(rc));
    d->life->usage_dirty = true;
    vaultd_alerts_use(d, c, secret, now);
    return 0;
}

void vaultd_life_granted(struct vaultd *d, struct conn *c)
{
    if (d->life != NULL && c->tool != NULL)
        (void)each_secret(d, c->tool, count_use, c);
}

void vaultd_life_denied(struct vaultd *d, struct conn *c)
{
    if (d->life != NULL)
        vaultd_alerts_denial(d, c, vs_now_ms());
}

void vaultd_life_status(struct vaultd *d, char *out, size_t cap)
{
    struct vs_buf b;
    vs_buf_init(&b, cap > 0 ? cap - 1 : 0);
    if (d->life != NULL && d->life->lockdown)
        (void)vs_buf_printf(&b, "LOCKDOWN: every grant is refused (vaultctl lockdown --lift)\n");
    for (size_t i = 0; d->life != NULL && i < d->life->n_quarantined; i++)
        (void)vs_buf_printf(&b, "quarantined: %s (vaultctl restore %s)\n", d->life->quarantined[i],
                            d->life->quarantined[i]);
    int64_t now = vs_now_ms() / 1000;
    for (size_t i = 0; d->vault != NULL && i < vs_store_count(d->vault->store); i++) {
        const struct vs_secret *s = vs_store_at(d->vault->store, i);
        int days = vs_policy_rotation_days(d->policy, s->name, s->rotation_days);
        if ((int64_t)s->rotated + (int64_t)days * 86400 < now)
            (void)vs_buf_printf(&b, "OVERDUE for rotation: %s (every %d days; vaultctl rotate %s)\n", s->name, days,
                                s->name);
    }
    size_t live = 0;
    for (size_t i = 0; d->life != NULL && i < LIFE_MAX_SESSIONS; i++)
        live += d->life->sessions[i].used && !d->life->sessions[i].ended;
    (void)vs_buf_printf(&b, "sessions: %zu open (vaultctl sessions)\n", live);
    if (cap > 0) {
        size_t n = b.err == 0 ? b.len : 0;
        if (n > cap - 1)
            n = cap - 1;
        if (n > 0)
            memcpy(out, b.data, n);
        out[n] = '\0';
    }
    vs_buf_free(&b);
}
