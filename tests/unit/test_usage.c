/* The usage counts and the alert arithmetic (vaultd/core/usage.c), and the
 * lifecycle look-ups of the policy (projects, agents, rotation periods). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "policy.h"
#include "usage.h"

#include <string.h>

static void counts_and_baseline(void **state)
{
    (void)state;
    struct vs_usage u = {0};
    int64_t now = 500000;
    /* 2 uses an hour for the 7 days before now: baseline 2.0 */
    for (int64_t h = now - VS_USAGE_BASELINE_HOURS; h < now; h++)
        assert_int_equal(vs_usage_add(&u, h, "npm_token", h % 2 == 0 ? "claude" : "", 2), 0);
    assert_true(vs_usage_baseline(&u, "npm_token", now) > 1.999 && vs_usage_baseline(&u, "npm_token", now) < 2.001);
    assert_true(vs_usage_baseline(&u, "other", now) == 0.0);
    /* uses in the current hour do not count towards its own baseline */
    assert_int_equal(vs_usage_add(&u, now, "npm_token", "claude", 7), 0);
    assert_int_equal(vs_usage_add(&u, now, "npm_token", "claude", 1), 0);
    assert_int_equal(vs_usage_add(&u, now, "npm_token", NULL, 3), 0);
    assert_true(vs_usage_baseline(&u, "npm_token", now) < 2.001);
    assert_int_equal(vs_usage_count(&u, "npm_token", NULL, now), 11);
    assert_int_equal(vs_usage_count(&u, "npm_token", "claude", now), 8);
    assert_int_equal(vs_usage_count(&u, "npm_token", "", now), 3);
    assert_int_equal(vs_usage_first_hour(&u, "npm_token"), now - VS_USAGE_BASELINE_HOURS);
    assert_int_equal(vs_usage_first_hour(&u, "other"), -1);
    vs_usage_free(&u);
}

static void the_alert_rule(void **state)
{
    (void)state;
    /* 3x of 2.0 is 6: 7 alerts, 6 does not */
    assert_true(vs_usage_over_baseline(7, 2.0, 3.0, 1, true));
    assert_false(vs_usage_over_baseline(6, 2.0, 3.0, 1, true));
    /* below min_uses never alerts, however small the baseline */
    assert_false(vs_usage_over_baseline(9, 0.0, 3.0, 10, true));
    assert_true(vs_usage_over_baseline(10, 0.0, 3.0, 10, true));
    /* no day of history: no baseline alert */
    assert_false(vs_usage_over_baseline(1000, 0.0, 3.0, 10, false));
    /* multiple 0 turns it off */
    assert_false(vs_usage_over_baseline(1000, 1.0, 0.0, 1, true));
}

static void prune_keeps_eight_days(void **state)
{
    (void)state;
    struct vs_usage u = {0};
    int64_t now = 400000;
    assert_int_equal(vs_usage_add(&u, now - VS_USAGE_KEEP_HOURS - 1, "a", "x", 1), 0);
    assert_int_equal(vs_usage_add(&u, now - VS_USAGE_KEEP_HOURS, "a", "x", 1), 0);
    assert_int_equal(vs_usage_add(&u, now, "a", "x", 1), 0);
    vs_usage_prune(&u, now);
    assert_int_equal(u.n, 2);
    assert_int_equal(vs_usage_first_hour(&u, "a"), now - VS_USAGE_KEEP_HOURS);
    vs_usage_free(&u);
}

static void file_round_trip(void **state)
{
    (void)state;
    struct vs_usage u = {0}, back = {0};
    assert_int_equal(vs_usage_add(&u, 123, "gh_token", "claude", 4), 0);
    assert_int_equal(vs_usage_add(&u, 124, "gh_token", NULL, 9), 0);
    struct vs_buf b;
    vs_buf_init(&b, 1 << 20);
    assert_int_equal(vs_usage_format(&u, &b), 0);
    assert_int_equal(vs_usage_parse((const char *)b.data, b.len, &back), 0);
    assert_int_equal(back.n, 2);
    assert_int_equal(vs_usage_count(&back, "gh_token", "claude", 123), 4);
    assert_int_equal(vs_usage_count(&back, "gh_token", NULL, 124), 9);
    vs_buf_free(&b);
    vs_usage_free(&back);
    static const char *const bad[] = {
        "", "vsusage 2\n", "vsusage 1\n1 a\n", "vsusage 1\n-1 a x 1\n", "vsusage 1\n1 a x 1 extra\n",
        "vsusage 1\n1 _bad x 1\n", "vsusage 1\n1 a x 99999999999\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct vs_usage t = {0};
        assert_int_equal(vs_usage_parse(bad[i], strlen(bad[i]), &t), VS_ECORRUPT);
        vs_usage_free(&t);
    }
    vs_usage_free(&u);
}

static void paths_and_projects(void **state)
{
    (void)state;
    assert_true(vs_path_inside("/home/a/src/web", "/home/a/src/web"));
    assert_true(vs_path_inside("/home/a/src/web/x", "/home/a/src/web"));
    assert_false(vs_path_inside("/home/a/src/website", "/home/a/src/web"));
    assert_false(vs_path_inside("/home/a/src", "/home/a/src/web"));
    assert_true(vs_path_inside("/x", "/"));
    const char *text = "vault: { rotation_days = 60; };\n"
                       "secrets = ( { name = \"npm_token\"; rotation_days = 30; } );\n"
                       "projects = ( { name = \"web\"; path = \"/srv/web\"; secrets = [ \"npm_token\" ];\n"
                       "  agents = [ \"claude\" ]; } );\n";
    struct vs_policy *p = NULL;
    assert_int_equal(vs_policy_load_string(text, "t", NULL, &p), 0);
    assert_int_equal(vs_policy_rotation_days(p, "npm_token", 0), 30);
    assert_int_equal(vs_policy_rotation_days(p, "gh_token", 0), 60);
    assert_int_equal(vs_policy_rotation_days(p, "gh_token", 7), 7);
    assert_int_equal(vs_policy_rotation_days(NULL, "gh_token", 0), 90);
    assert_true(vs_policy_secret_scoped(p, "npm_token"));
    assert_false(vs_policy_secret_scoped(p, "gh_token"));
    const char *project = NULL;
    assert_true(vs_policy_project_allows(p, "npm_token", "/srv/web/app", "claude", &project));
    assert_string_equal(project, "web");
    assert_false(vs_policy_project_allows(p, "npm_token", "/srv/web/app", "other", &project));
    assert_false(vs_policy_project_allows(p, "npm_token", "/srv/webx", "claude", &project));
    assert_false(vs_policy_project_allows(p, "npm_token", "/srv/web/app", "", &project));
    assert_int_equal(p->life.alerts.multiple > 2.99 && p->life.alerts.multiple < 3.01, 1);
    vs_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_and_baseline), cmocka_unit_test(the_alert_rule),
        cmocka_unit_test(prune_keeps_eight_days), cmocka_unit_test(file_round_trip),
        cmocka_unit_test(paths_and_projects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
