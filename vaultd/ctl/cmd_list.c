#include "vaultctl.h"
#include "ctl_life.h"

#include "buf.h"
#include "error.h"
#include "timeutil.h"

#include <stdio.h>

static void print_json_secret(const struct vs_secret *sec, int64_t now, const struct vs_policy *p)
{
    char created[32], rotated[32], due[32];
    uint32_t days = (uint32_t)vs_policy_rotation_days(p, sec->name, sec->rotation_days);
    int64_t due_s = (int64_t)sec->rotated + (int64_t)days * 86400;
    if (vs_format_time((int64_t)sec->created * 1000, created, sizeof created) != 0 ||
        vs_format_time((int64_t)sec->rotated * 1000, rotated, sizeof rotated) != 0 ||
        vs_format_time(due_s * 1000, due, sizeof due) != 0)
        created[0] = rotated[0] = due[0] = '\0';
    printf("{\"name\":\"%s\",\"version\":%u,\"versions\":[", sec->name, sec->versions[sec->nversions - 1].version);
    for (uint16_t i = 0; i < sec->nversions; i++)
        printf("%s%u", i == 0 ? "" : ",", sec->versions[i].version);
    printf("],\"created\":\"%s\",\"rotated\":\"%s\",\"rotation_days\":%u,\"rotation_due\":\"%s\",\"overdue\":%s,"
           "\"revoked\":%s",
           created, rotated, days, due, due_s < now / 1000 ? "true" : "false",
           (sec->flags & VS_SECRET_REVOKED) != 0 ? "true" : "false");
    if ((sec->flags & VS_SECRET_REVOKED) != 0) {
        struct vs_buf reason;
        vs_buf_init(&reason, 0);
        (void)vs_buf_put_json_str(&reason, vs_secret_reason(sec));
        (void)vs_buf_put_u8(&reason, 0);
        printf(",\"revoked_reason\":\"%s\"", reason.err == 0 ? (const char *)reason.data : "");
        vs_buf_free(&reason);
    }
    printf("}");
}

static void print_row(const struct vs_secret *sec, int64_t now, const struct vs_policy *p)
{
    char age[24], since_rotation[24], due[40];
    uint32_t days = (uint32_t)vs_policy_rotation_days(p, sec->name, sec->rotation_days);
    int64_t now_s = now / 1000;
    int64_t due_in = (int64_t)sec->rotated + (int64_t)days * 86400 - now_s;
    vs_format_age(now_s - (int64_t)sec->created, age, sizeof age);
    vs_format_age(now_s - (int64_t)sec->rotated, since_rotation, sizeof since_rotation);
    if (due_in < 0)
        (void)snprintf(due, sizeof due, "OVERDUE %lldd", (long long)(-due_in / 86400));
    else
        (void)snprintf(due, sizeof due, "in %lldd", (long long)(due_in / 86400));
    printf("%-32s %7u %8s %8s %-14s %s\n", sec->name, sec->versions[sec->nversions - 1].version, age, since_rotation,
           due, (sec->flags & VS_SECRET_REVOKED) != 0 ? "revoked" : "active");
}

int cmd_list(struct ctl *c)
{
    struct vs_policy *p = NULL;
    int rc = ctl_load_policy(c, &p); /* rotation periods: per secret, vault.rotation_days */
    if (rc != 0)
        return ctl_fail(c, rc);
    struct vs_vault *v = NULL;
    rc = ctl_open_vault(c, 0, &v);
    if (rc != 0) {
        vs_policy_free(p);
        return ctl_fail(c, rc);
    }
    int64_t now = vs_now_ms();
    size_t n = vs_store_count(v->store);
    if (c->json) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            printf(i == 0 ? "" : ",");
            print_json_secret(vs_store_at(v->store, i), now, p);
        }
        printf("]\n");
    } else if (n == 0) {
        printf("no secrets (add one with: vaultctl save NAME)\n");
    } else {
        printf("%-32s %7s %8s %8s %-14s %s\n", "NAME", "VERSION", "AGE", "ROTATED", "ROTATION DUE", "STATUS");
        for (size_t i = 0; i < n; i++)
            print_row(vs_store_at(v->store, i), now, p);
    }
    vs_vault_close(v);
    vs_policy_free(p);
    return fflush(stdout) == 0 ? CTL_OK : CTL_ERROR;
}
