/* Use counts and the baseline arithmetic of the alerts (usage.h). */
#include "usage.h"

#include "error.h"
#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vs_usage_free(struct vs_usage *u)
{
    free(u->e);
    u->e = NULL;
    u->n = u->cap = 0;
}

static const char *agent_key(const char *agent)
{
    return agent == NULL || agent[0] == '\0' ? "-" : agent;
}

int vs_usage_add(struct vs_usage *u, int64_t hour, const char *secret, const char *agent, uint32_t n)
{
    const char *a = agent_key(agent);
    if (strlen(secret) >= sizeof u->e->secret || strlen(a) >= sizeof u->e->agent)
        return vs_fail(VS_EINVAL, "usage: name too long");
    for (size_t i = u->n; i-- > 0;) {
        struct vs_usage_entry *e = &u->e[i];
        if (e->hour == hour && strcmp(e->secret, secret) == 0 && strcmp(e->agent, a) == 0) {
            e->count = e->count > UINT32_MAX - n ? UINT32_MAX : e->count + n;
            return 0;
        }
    }
    if (u->n == VS_USAGE_MAX_ENTRIES)
        return vs_fail(VS_ETOOBIG, "usage: more than %d entries", VS_USAGE_MAX_ENTRIES);
    if (u->n == u->cap) {
        size_t cap = u->cap != 0 ? u->cap * 2 : 64;
        struct vs_usage_entry *ne = realloc(u->e, cap * sizeof *ne);
        if (ne == NULL)
            return vs_fail(VS_ENOMEM, "out of memory");
        u->e = ne;
        u->cap = cap;
    }
    struct vs_usage_entry *e = &u->e[u->n++];
    e->hour = hour;
    (void)snprintf(e->secret, sizeof e->secret, "%s", secret);
    (void)snprintf(e->agent, sizeof e->agent, "%s", a);
    e->count = n;
    return 0;
}

uint64_t vs_usage_count(const struct vs_usage *u, const char *secret, const char *agent, int64_t hour)
{
    uint64_t total = 0;
    for (size_t i = 0; i < u->n; i++)
        if (u->e[i].hour == hour && strcmp(u->e[i].secret, secret) == 0 &&
            (agent == NULL || strcmp(u->e[i].agent, agent_key(agent)) == 0))
            total += u->e[i].count;
    return total;
}

double vs_usage_baseline(const struct vs_usage *u, const char *secret, int64_t hour)
{
    uint64_t total = 0;
    for (size_t i = 0; i < u->n; i++)
        if (u->e[i].hour < hour && u->e[i].hour >= hour - VS_USAGE_BASELINE_HOURS &&
            strcmp(u->e[i].secret, secret) == 0)
            total += u->e[i].count;
    return (double)total / VS_USAGE_BASELINE_HOURS;
}

int64_t vs_usage_first_hour(const struct vs_usage *u, const char *secret)
{
    int64_t first = -1;
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->e[i].secret, secret) == 0 && (first < 0 || u->e[i].hour < first))
            first = u->e[i].hour;
    return first;
}

void vs_usage_prune(struct vs_usage *u, int64_t now_hour)
{
    size_t k = 0;
    for (size_t i = 0; i < u->n; i++)
        if (u->e[i].hour >= now_hour - VS_USAGE_KEEP_HOURS)
            u->e[k++] = u->e[i];
    u->n = k;
}

bool vs_usage_over_baseline(uint64_t this_hour, double baseline, double multiple, int min_uses, bool has_history)
{
    if (multiple <= 0.0 || !has_history || min_uses < 1 || this_hour < (uint64_t)min_uses)
        return false;
    return (double)this_hour > multiple * baseline;
}

static bool agent_valid(const char *s)
{
    if (strcmp(s, "-") == 0)
        return true;
    for (const char *p = s; *p != '\0'; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return false;
    return s[0] != '\0';
}

int vs_usage_parse(const char *text, size_t len, struct vs_usage *u)
{
    static const char magic[] = "vsusage 1\n";
    if (len < sizeof magic - 1 || memcmp(text, magic, sizeof magic - 1) != 0)
        return vs_fail(VS_ECORRUPT, "usage file: no \"vsusage 1\" header");
    size_t at = sizeof magic - 1;
    unsigned lineno = 1;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
        char line[256], secret[128], agent[128];
        long long hour;
        unsigned long count;
        int used = 0;
        lineno++;
        if (n >= sizeof line)
            return vs_fail(VS_ECORRUPT, "usage file: line %u too long", lineno);
        memcpy(line, text + at, n);
        line[n] = '\0';
        at += n + 1;
        if (n == 0)
            continue;
        if (sscanf(line, "%lld %127s %127s %lu%n", &hour, secret, agent, &count, &used) != 4 || line[used] != '\0' ||
            hour < 0 || count > UINT32_MAX || !vs_secret_name_valid(secret) || !agent_valid(agent) ||
            strlen(agent) >= sizeof u->e->agent)
            return vs_fail(VS_ECORRUPT, "usage file: line %u is not \"HOUR SECRET AGENT COUNT\"", lineno);
        int rc = vs_usage_add(u, hour, secret, agent, (uint32_t)count);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int vs_usage_format(const struct vs_usage *u, struct vs_buf *out)
{
    (void)vs_buf_put_str(out, "vsusage 1\n");
    for (size_t i = 0; i < u->n; i++)
        (void)vs_buf_printf(out, "%lld %s %s %u\n", (long long)u->e[i].hour, u->e[i].secret, u->e[i].agent,
                            u->e[i].count);
    return out->err != 0 ? vs_fail(VS_ENOMEM, "usage: out of memory") : 0;
}
