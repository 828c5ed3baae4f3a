/* vaultd's use counts: loaded from VAULT_HOME/usage at start (so the
 * baseline survives restarts), rewritten atomically at most once a minute
 * and at stop, pruned to VS_USAGE_KEEP_HOURS; and the USAGE chart. */
#include "vaultd.h"

#include "error.h"
#include "fileio.h"
#include "names.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vaultd_usage_load(struct vaultd *d)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = vs_read_file_at(d->life->dirfd, VS_USAGE_FILE, "usage file", 077, 16u << 20, &bytes, &len);
    if (rc == VS_ENOENT)
        return 0;
    if (rc == 0)
        rc = vs_usage_parse((const char *)bytes, len, &d->life->usage);
    free(bytes);
    if (rc != 0) {
        /* Counts are no secret and no authority: start again rather than
         * refuse to serve, and say so. */
        vaultd_say("%s/%s: %s: starting with no usage history", d->home, VS_USAGE_FILE, vs_last_error(rc));
        vs_usage_free(&d->life->usage);
        return 0;
    }
    vs_usage_prune(&d->life->usage, vs_now_ms() / 3600000);
    return 0;
}

int vaultd_usage_save(struct vaultd *d)
{
    vs_usage_prune(&d->life->usage, vs_now_ms() / 3600000);
    struct vs_buf b;
    vs_buf_init(&b, 16u << 20);
    int rc = vs_usage_format(&d->life->usage, &b);
    if (rc == 0)
        rc = vs_write_file_atomic(d->life->dirfd, VS_USAGE_FILE, b.data, b.len);
    vs_buf_free(&b);
    if (rc == 0)
        d->life->usage_dirty = false;
    return rc;
}

#define CHART_DAYS 8
#define CHART_WIDTH 40

struct row {
    char secret[65], agent[64];
    uint64_t days[CHART_DAYS];
};

/* Uses per day (UTC) and agent for the last CHART_DAYS days, as bars. */
int vaultd_h_usage(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    (void)c;
    char name[VS_F_NAME_MAX + 1] = "";
    if (vs_msg_get_str(m, VS_F_NAME, name, sizeof name) == 0 && !vs_secret_name_valid(name))
        return vs_fail(VS_EINVAL, "invalid secret name");
    const struct vs_usage *u = &d->life->usage;
    int64_t today = vs_now_ms() / 86400000;
    static struct row rows[256];
    size_t nrows = 0;
    uint64_t peak = 1;
    for (size_t i = 0; i < u->n; i++) {
        const struct vs_usage_entry *e = &u->e[i];
        int64_t ago = today - e->hour / 24;
        if ((name[0] != '\0' && strcmp(name, e->secret) != 0) || ago < 0 || ago >= CHART_DAYS)
            continue;
        size_t r = 0;
        while (r < nrows && !(strcmp(rows[r].secret, e->secret) == 0 && strcmp(rows[r].agent, e->agent) == 0))
            r++;
        if (r == nrows) {
            if (nrows == sizeof rows / sizeof rows[0])
                continue;
            memset(&rows[r], 0, sizeof rows[r]);
            (void)snprintf(rows[r].secret, sizeof rows[r].secret, "%s", e->secret);
            (void)snprintf(rows[r].agent, sizeof rows[r].agent, "%s", e->agent);
            nrows++;
        }
        rows[r].days[CHART_DAYS - 1 - ago] += e->count;
        if (rows[r].days[CHART_DAYS - 1 - ago] > peak)
            peak = rows[r].days[CHART_DAYS - 1 - ago];
    }
    static char text[VS_F_STATUS_TEXT_MAX];
    size_t at = 0;
    int n;
#define EMIT(...)                                                                   \
    do {                                                                            \
        n = snprintf(text + at, sizeof text - at, __VA_ARGS__);                    \
        if (n < 0 || (size_t)n >= sizeof text - at)                                 \
            return vaultd_reply_text(d, m->id, text, len);                          \
        at += (size_t)n;                                                            \
    } while (0)
    text[0] = '\0';
    if (nrows == 0)
        EMIT("no uses recorded in the last %d days%s%s\n", CHART_DAYS, name[0] != '\0' ? " for " : "", name);
    for (size_t r = 0; r < nrows; r++) {
        EMIT("%s, agent %s\n", rows[r].secret, rows[r].agent);
        for (int k = 0; k < CHART_DAYS; k++) {
            char day[32];
            if (vs_format_time((today - (CHART_DAYS - 1 - k)) * 86400000, day, sizeof day) != 0)
                day[0] = '\0';
            day[10] = '\0';
            uint64_t v = rows[r].days[k];
            int bar = (int)((v * CHART_WIDTH + peak - 1) / peak);
            EMIT("  %s %6llu %.*s\n", day, (unsigned long long)v, bar,
                 "########################################");
        }
    }
#undef EMIT
    return vaultd_reply_text(d, m->id, text, len);
}
