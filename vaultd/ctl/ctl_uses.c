/* Who used which secret: grant lines of the audit log, grouped by secret,
 * version, agent and tool. Metadata only: the log holds no value. */
#include "ctl_life.h"

#include "error.h"
#include "fileio.h"
#include "jsonline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct scan {
    const char *only;
    struct ctl_uses *out;
    int err;
};

static void add_use(struct scan *s, const char *secret, uint32_t version, const char *agent, const char *tool,
                    const char *session, const char *when)
{
    struct ctl_uses *u = s->out;
    if (s->only != NULL && strcmp(s->only, secret) != 0)
        return;
    struct ctl_use *g = NULL;
    for (size_t i = 0; i < u->n && g == NULL; i++)
        if (u->groups[i].version == version && strcmp(u->groups[i].secret, secret) == 0 &&
            strcmp(u->groups[i].agent, agent) == 0 && strcmp(u->groups[i].tool, tool) == 0)
            g = &u->groups[i];
    if (g == NULL) {
        struct ctl_use *ng = realloc(u->groups, (u->n + 1) * sizeof *ng);
        if (ng == NULL) {
            s->err = vs_fail(VS_ENOMEM, "out of memory");
            return;
        }
        u->groups = ng;
        g = &u->groups[u->n++];
        memset(g, 0, sizeof *g);
        (void)snprintf(g->secret, sizeof g->secret, "%s", secret);
        (void)snprintf(g->agent, sizeof g->agent, "%s", agent);
        (void)snprintf(g->tool, sizeof g->tool, "%s", tool);
        g->version = version;
    }
    g->count++;
    (void)snprintf(g->last, sizeof g->last, "%s", when);
    (void)snprintf(g->session, sizeof g->session, "%s", session);
    if (s->only == NULL)
        return;
    if (version == u->newest_version && u->first_use[0] == '\0')
        (void)snprintf(u->first_use, sizeof u->first_use, "%s", when);
    if (u->n_recent == CTL_RECENT) {
        memmove(&u->recent[0], &u->recent[1], (CTL_RECENT - 1) * sizeof u->recent[0]);
        u->n_recent--;
    }
    struct ctl_use *r = &u->recent[u->n_recent++];
    *r = *g;
    r->count = 1;
}

/* "ENV=secret@vN" entries of a grant's secrets array (paths are skipped:
 * they start with '/'). */
static void each_grant(struct scan *s, const struct vs_json_field *arr, const char *agent, const char *tool,
                       const char *session, const char *when)
{
    const char *p = arr->value, *end = arr->value + arr->value_len;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (q == NULL)
            break;
        const char *close = q + 1;
        while (close < end && *close != '"')
            close += *close == '\\' && close + 1 < end ? 2 : 1; /* an escaped quote is no end */
        if (close >= end)
            break;
        char item[256];
        size_t n = (size_t)(close - q - 1);
        p = close + 1;
        if (n == 0 || n >= sizeof item || q[1] == '/')
            continue;
        memcpy(item, q + 1, n);
        item[n] = '\0';
        char *eq = strchr(item, '='), *at = strrchr(item, '@');
        if (eq == NULL || at == NULL || at < eq || at[1] != 'v')
            continue;
        *at = '\0';
        add_use(s, eq + 1, (uint32_t)strtoul(at + 2, NULL, 10), agent, tool, session, when);
    }
}

static int on_line(const char *line, size_t len, uint64_t lineno, void *ctx)
{
    struct scan *s = ctx;
    struct vs_jsonline j;
    if (vs_jsonline_parse(line, len, &j) != 0)
        return vs_fail(VS_ECORRUPT, "audit log line %llu is malformed (run vaultctl audit --verify)",
                       (unsigned long long)lineno);
    char event[32] = "", decision[16] = "", when[32] = "", agent[64] = "-", tool[64] = "-", session[64] = "-",
         secret[65] = "";
    (void)vs_jsonline_get_str(&j, "event", event, sizeof event);
    (void)vs_jsonline_get_str(&j, "decision", decision, sizeof decision);
    (void)vs_jsonline_get_str(&j, "time", when, sizeof when);
    if (s->only != NULL && (strcmp(event, "save") == 0 || strcmp(event, "rotate") == 0) &&
        vs_jsonline_get_str(&j, "secret", secret, sizeof secret) == 0 && strcmp(secret, s->only) == 0) {
        uint64_t v = 0;
        (void)vs_jsonline_get_u64(&j, "version", &v);
        s->out->newest_version = (uint32_t)v;
        (void)snprintf(s->out->version_time, sizeof s->out->version_time, "%s", when);
        s->out->first_use[0] = '\0';
    }
    if (strcmp(event, "grant") != 0 || strcmp(decision, "ok") != 0)
        return 0;
    const struct vs_json_field *arr = vs_jsonline_find(&j, "secrets");
    if (arr == NULL || arr->kind != VS_JSON_ARRAY)
        return 0;
    if (vs_jsonline_get_str(&j, "agent", agent, sizeof agent) != 0)
        (void)snprintf(agent, sizeof agent, "-");
    if (vs_jsonline_get_str(&j, "tool", tool, sizeof tool) != 0)
        (void)snprintf(tool, sizeof tool, "-");
    if (vs_jsonline_get_str(&j, "session", session, sizeof session) != 0)
        (void)snprintf(session, sizeof session, "-");
    each_grant(s, arr, agent, tool, session, when);
    return s->err;
}

int ctl_uses_scan(const struct ctl *c, const char *only_secret, struct ctl_uses *out)
{
    memset(out, 0, sizeof *out);
    int dirfd = vs_open_private_dir(c->home, 0);
    if (dirfd < 0)
        return dirfd;
    int fd = vs_audit_open(dirfd, VS_AUDIT_FILE, false);
    (void)close(dirfd);
    if (fd < 0)
        return fd;
    struct scan s = {.only = only_secret, .out = out};
    int rc = vs_audit_lock(fd, false);
    if (rc == 0) {
        rc = vs_audit_foreach(fd, on_line, &s);
        vs_audit_unlock(fd);
    }
    (void)close(fd);
    if (rc != 0)
        ctl_uses_free(out);
    return rc;
}

void ctl_uses_free(struct ctl_uses *u)
{
    free(u->groups);
    u->groups = NULL;
    u->n = 0;
}
