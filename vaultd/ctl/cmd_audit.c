/* vaultctl audit: show the log (filtered by secret and time) or verify its
 * chain and its agreement with the store. */
#include "vaultctl.h"

#include "error.h"
#include "fileio.h"
#include "jsonline.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct show_state {
    const struct ctl *c;
    int64_t since_ms; /* INT64_MIN: no bound */
    uint64_t shown;
};

/* Does a grant's "secrets" array name secret ("ENV=secret@vN")? */
static bool grant_names(const struct vs_jsonline *j, const char *secret)
{
    const struct vs_json_field *f = vs_jsonline_find(j, "secrets");
    if (f == NULL || f->kind != VS_JSON_ARRAY)
        return false;
    size_t n = strlen(secret);
    for (size_t i = 0; i + n + 2 < f->value_len; i++)
        if (f->value[i] == '=' && memcmp(f->value + i + 1, secret, n) == 0 && f->value[i + 1 + n] == '@')
            return true;
    return false;
}

static int show_line(const char *line, size_t len, uint64_t lineno, void *ctx)
{
    struct show_state *st = ctx;
    struct vs_jsonline j;
    if (vs_jsonline_parse(line, len, &j) != 0)
        return vs_fail(VS_ECORRUPT, "audit log line %llu is malformed (run vaultctl audit --verify)",
                       (unsigned long long)lineno);
    char when[40] = "", event[32] = "", decision[16] = "", secret[VS_SECRET_NAME_MAX + 1] = "", reason[512] = "";
    uint64_t version = 0;
    (void)vs_jsonline_get_str(&j, "time", when, sizeof when);
    if (st->c->secret != NULL &&
        (vs_jsonline_get_str(&j, "secret", secret, sizeof secret) != 0 || strcmp(secret, st->c->secret) != 0) &&
        !grant_names(&j, st->c->secret))
        return 0;
    if (st->c->since != NULL) {
        int64_t t;
        if (vs_parse_time(when, 0, &t) != 0 || t < st->since_ms)
            return 0;
    }
    st->shown++;
    if (st->c->json) {
        fwrite(line, 1, len, stdout);
        putchar('\n');
        return 0;
    }
    (void)vs_jsonline_get_str(&j, "event", event, sizeof event);
    (void)vs_jsonline_get_str(&j, "decision", decision, sizeof decision);
    (void)vs_jsonline_get_str(&j, "secret", secret, sizeof secret);
    (void)vs_jsonline_get_str(&j, "reason", reason, sizeof reason);
    (void)vs_jsonline_get_u64(&j, "version", &version);
    char target[VS_SECRET_NAME_MAX + 16] = "-", tool[64] = "";
    if (secret[0] != '\0')
        (void)snprintf(target, sizeof target, version != 0 ? "%s@v%llu" : "%s", secret, (unsigned long long)version);
    else if (vs_jsonline_get_str(&j, "tool", tool, sizeof tool) == 0)
        (void)snprintf(target, sizeof target, "tool %s", tool);
    /* A grant's detail: what it gave (names and versions, never values). */
    const struct vs_json_field *given = vs_jsonline_find(&j, "secrets");
    if (reason[0] == '\0' && given != NULL && given->kind == VS_JSON_ARRAY)
        printf("%-24s %-8s %-7s %-32s %.*s\n", when, event, decision, target, (int)given->value_len, given->value);
    else
        printf("%-24s %-8s %-7s %-32s %s\n", when, event, decision, target, reason);
    return 0;
}

static int verify(struct ctl *c)
{
    struct vs_vault *v = NULL;
    int rc = ctl_open_vault(c, VS_VAULT_SKIP_AUDIT_CHECK, &v);
    if (rc != 0)
        return ctl_fail(c, rc);
    struct vs_audit_report report;
    rc = vs_audit_verify(v->auditfd, vs_store_audit_key(v->store), &report);
    uint64_t gen = vs_store_generation(v->store), seq = vs_store_audit_seq(v->store);
    vs_vault_close(v);
    if (rc != 0)
        return ctl_say(c, CTL_ERROR, "line %llu: %s", (unsigned long long)report.bad_line, report.why);
    if (report.lines == 0 || report.last_gen > gen)
        return ctl_say(c, CTL_ERROR, "store generation %llu is older than the log's %llu: the store was rolled back",
                       (unsigned long long)gen, (unsigned long long)report.last_gen);
    if (report.last_seq + 1 < seq)
        return ctl_say(c, CTL_ERROR, "log ends at line %llu but the store records line %llu: the log was cut",
                       (unsigned long long)report.last_seq, (unsigned long long)seq);
    printf("audit: %llu lines verified, chain intact, store generation %llu agrees\n",
           (unsigned long long)report.lines, (unsigned long long)gen);
    return CTL_OK;
}

int cmd_audit(struct ctl *c)
{
    if (c->verify)
        return verify(c);
    struct show_state st = {.c = c, .since_ms = INT64_MIN};
    if (c->since != NULL) {
        int rc = vs_parse_time(c->since, vs_now_ms(), &st.since_ms);
        if (rc != 0) {
            fprintf(stderr, "vaultctl: audit: %s\n", vs_last_error(rc));
            return CTL_USAGE;
        }
    }
    if (c->secret != NULL && !vs_secret_name_valid(c->secret))
        return ctl_say(c, CTL_USAGE, "--secret: invalid secret name");
    /* Showing the log needs no key: it holds no values. */
    int dirfd = vs_open_private_dir(c->home, 0);
    if (dirfd < 0)
        return ctl_fail(c, dirfd);
    int fd = vs_audit_open(dirfd, VS_AUDIT_FILE, false);
    close(dirfd);
    if (fd < 0)
        return ctl_fail(c, fd);
    int rc = vs_audit_lock(fd, false);
    if (rc == 0) {
        if (!c->json)
            printf("%-24s %-8s %-7s %-32s %s\n", "TIME", "EVENT", "RESULT", "SECRET OR TOOL", "REASON OR GRANT");
        rc = vs_audit_foreach(fd, show_line, &st);
        vs_audit_unlock(fd);
    }
    close(fd);
    if (rc != 0)
        return ctl_fail(c, rc);
    return fflush(stdout) == 0 ? CTL_OK : CTL_ERROR;
}
