/* Alerts: a secret used more than `multiple` times its trailing 7-day
 * hourly average in the current hour, or more than per_minute_cap times in
 * a minute; an agent refused denial_burst times in a minute; a use outside
 * active_hours. Each writes an "alert" audit line and a stderr line, runs
 * alert_command (argv, no shell, stdin /dev/null, the alert text in
 * VAULT_ALERT, never a value; reaped by the tick), and a use alert with
 * quarantine = true puts the secret in quarantine.
 * Each alert fires once per key and period, not on every use after it. */
#include "vaultd.h"

#include "error.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void vaultd_alerts_reap(struct vaultd *d)
{
    for (size_t i = 0; i < LIFE_MAX_CHILDREN; i++) {
        pid_t pid = d->life->children[i];
        if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
            d->life->children[i] = 0;
    }
}

static void run_command(struct vaultd *d, const char *text)
{
    const struct vs_policy_alerts *a = &d->policy->life.alerts;
    if (a->command == NULL)
        return;
    size_t slot = 0;
    while (slot < LIFE_MAX_CHILDREN && d->life->children[slot] != 0)
        slot++;
    if (slot == LIFE_MAX_CHILDREN) {
        vaultd_say("alert_command not run: %d earlier runs have not finished", LIFE_MAX_CHILDREN);
        return;
    }
    char alert_env[600];
    (void)snprintf(alert_env, sizeof alert_env, "VAULT_ALERT=%s", text);
    char *envp[] = {alert_env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    pid_t pid = 0;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0 && (rc = posix_spawnattr_init(&attr)) == 0) {
        /* vaultd blocks its signals for its signalfd: the child must not inherit that. */
        (void)posix_spawnattr_setsigmask(&attr, &none);
        (void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
        (void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        rc = posix_spawn(&pid, a->command[0], &fa, &attr, a->command, envp);
        posix_spawnattr_destroy(&attr);
    }
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        vaultd_say("alert_command %s could not run: %s", a->command[0], strerror(rc));
    else
        d->life->children[slot] = pid;
}

static void fire(struct vaultd *d, struct conn *c, const char *kind, const char *secret, const char *text)
{
    char extra[200];
    if (secret != NULL)
        (void)snprintf(extra, sizeof extra, "\"alert\":\"%s\",\"secret\":\"%s\"", kind, secret);
    else
        (void)snprintf(extra, sizeof extra, "\"alert\":\"%s\"", kind);
    vaultd_say("ALERT %s: %s", kind, text);
    if (vaultd_log(d, c, "alert", "ok", text, NULL, extra) != 0)
        vaultd_say("the alert's audit line could not be written");
    run_command(d, text);
}

/* A once-per-period counter in a table of LIFE_MAX_MINUTE, by key; a new
 * period starts it again. The oldest slot is reused. */
static struct life_minute *counter(struct life_minute *t, const char *key, int64_t period)
{
    struct life_minute *oldest = &t[0];
    for (size_t i = 0; i < LIFE_MAX_MINUTE; i++) {
        if (strcmp(t[i].key, key) == 0) {
            if (t[i].minute != period) {
                t[i].minute = period;
                t[i].count = 0;
                t[i].alerted = false;
            }
            return &t[i];
        }
        if (t[i].minute < oldest->minute)
            oldest = &t[i];
    }
    memset(oldest, 0, sizeof *oldest);
    (void)snprintf(oldest->key, sizeof oldest->key, "%s", key);
    oldest->minute = period;
    return oldest;
}

static bool outside_hours(const struct vs_policy_alerts *a, int64_t now_ms)
{
    if (a->active_from < 0)
        return false;
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL)
        return false;
    int h = tm.tm_hour;
    bool inside = a->active_from < a->active_to ? h >= a->active_from && h < a->active_to
                                                : h >= a->active_from || h < a->active_to;
    return !inside;
}

static void quarantine(struct vaultd *d, struct conn *c, const char *secret)
{
    if (!d->policy->life.alerts.quarantine || vaultd_quarantined(d, secret))
        return;
    (void)vaultd_quarantine(d, secret);
    char text[160];
    (void)snprintf(text, sizeof text, "secret %s put in quarantine: every grant refused until vaultctl restore %s",
                   secret, secret);
    fire(d, c, "quarantine", secret, text);
}

void vaultd_alerts_use(struct vaultd *d, struct conn *c, const char *secret, int64_t now_ms)
{
    const struct vs_policy_alerts *a = &d->policy->life.alerts;
    const struct vs_usage *u = &d->life->usage;
    int64_t hour = now_ms / 3600000;
    char text[400];
    const char *agent = c->agent[0] != '\0' ? c->agent : "-";
    /* The use that crosses the line alerts, once an hour: no state to
     * lose at a restart, and no second alert (or quarantine) for the same
     * hour after the owner restored the secret. */
    uint64_t this_hour = a->multiple > 0.0 ? vs_usage_count(u, secret, NULL, hour) : 0;
    /* the 7-day scans only once the hour is busy enough to matter */
    double base = this_hour >= (uint64_t)a->min_uses ? vs_usage_baseline(u, secret, hour) : 0.0;
    int64_t first = this_hour >= (uint64_t)a->min_uses ? vs_usage_first_hour(u, secret) : -1;
    bool history = first >= 0 && first <= hour - 24;
    if (vs_usage_over_baseline(this_hour, base, a->multiple, a->min_uses, history) &&
        !vs_usage_over_baseline(this_hour - 1, base, a->multiple, a->min_uses, history)) {
        (void)snprintf(text, sizeof text, "secret %s used %llu times this hour, over %.1fx its 7-day hourly average "
                       "of %.2f (last use: agent %s, tool %s)", secret, (unsigned long long)this_hour, a->multiple, base,
                       agent, c->tool != NULL ? c->tool->name : "?");
        fire(d, c, "rate", secret, text);
        quarantine(d, c, secret);
    }
    if (a->per_minute_cap > 0) {
        char key[80];
        (void)snprintf(key, sizeof key, "cap:%s", secret);
        struct life_minute *mc = counter(d->life->cap, key, now_ms / 60000);
        mc->count++;
        if (!mc->alerted && mc->count > (uint32_t)a->per_minute_cap) {
            mc->alerted = true;
            (void)snprintf(text, sizeof text, "secret %s used more than %d times in a minute (per_minute_cap; "
                           "last use: agent %s)", secret, a->per_minute_cap, agent);
            fire(d, c, "cap", secret, text);
            quarantine(d, c, secret);
        }
    }
    if (outside_hours(a, now_ms)) {
        char key[80];
        (void)snprintf(key, sizeof key, "hours:%s", secret);
        struct life_minute *oh = counter(d->life->hours, key, hour);
        if (!oh->alerted) {
            oh->alerted = true;
            (void)snprintf(text, sizeof text, "secret %s used outside active_hours %02d-%02d (agent %s)", secret,
                           a->active_from, a->active_to, agent);
            fire(d, c, "hours", secret, text);
        }
    }
}

void vaultd_alerts_denial(struct vaultd *d, struct conn *c, int64_t now_ms)
{
    const struct vs_policy_alerts *a = d->policy != NULL ? &d->policy->life.alerts : NULL;
    if (a == NULL || a->denial_burst <= 0)
        return;
    char key[80];
    (void)snprintf(key, sizeof key, "deny:%s", c->agent[0] != '\0' ? c->agent : "-");
    struct life_minute *dc = counter(d->life->denials, key, now_ms / 60000);
    dc->count++;
    if (!dc->alerted && dc->count >= (uint32_t)a->denial_burst) {
        dc->alerted = true;
        char text[200];
        (void)snprintf(text, sizeof text, "%u refused requests in a minute from agent %s (probing?); last: %s",
                       dc->count, c->agent[0] != '\0' ? c->agent : "-", c->peer.exe_path != NULL ? c->peer.exe_path : "?");
        fire(d, c, "denials", NULL, text);
    }
}
