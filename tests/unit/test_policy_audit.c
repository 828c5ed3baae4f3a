/* The policy's audit_sync and audit_sync_ms (vaultd/core/policy_audit.c):
 * the default is "each" (no answer before the fsync of its line); bad
 * values are refused whole with one line naming the file, line and key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "policy.h"

#include <string.h>

static struct vs_policy *load_ok(const char *text)
{
    struct vs_policy *p = NULL;
    int rc = vs_policy_load_string(text, "t.conf", NULL, &p);
    if (rc != 0)
        fail_msg("refused: %s", vs_last_error(rc));
    return p;
}

/* The policy is refused with exactly "t.conf:LINE: <why>" on one line. */
static void load_refused(const char *text, const char *want)
{
    struct vs_policy *p = NULL;
    int rc = vs_policy_load_string(text, "t.conf", NULL, &p);
    assert_int_equal(rc, VS_EPOLICY);
    assert_null(p);
    const char *msg = vs_last_error(rc);
    if (strcmp(msg, want) != 0)
        fail_msg("message \"%s\", wanted \"%s\"", msg, want);
    assert_null(strchr(msg, '\n'));
}

static void default_is_each(void **state)
{
    (void)state;
    struct vs_policy *p = load_ok("protect = [ \"X_TOKEN\" ];\n");
    assert_int_equal(p->audit_sync, VS_AUDIT_SYNC_EACH);
    assert_int_equal(p->audit_sync_ms, 1000);
    vs_policy_free(p);
    p = load_ok("audit_sync = \"each\";\n");
    assert_int_equal(p->audit_sync, VS_AUDIT_SYNC_EACH);
    vs_policy_free(p);
}

static void interval_and_its_period(void **state)
{
    (void)state;
    struct vs_policy *p = load_ok("audit_sync = \"interval\";\n");
    assert_int_equal(p->audit_sync, VS_AUDIT_SYNC_INTERVAL);
    assert_int_equal(p->audit_sync_ms, 1000);
    vs_policy_free(p);
    p = load_ok("audit_sync = \"interval\";\naudit_sync_ms = 10;\n");
    assert_int_equal(p->audit_sync_ms, 10);
    vs_policy_free(p);
    p = load_ok("audit_sync_ms = 60000;\naudit_sync = \"interval\";\n");
    assert_int_equal(p->audit_sync_ms, 60000);
    vs_policy_free(p);
}

static void bad_values_refused(void **state)
{
    (void)state;
    load_refused("audit_sync = \"sometimes\";\n",
                 "t.conf:1: audit_sync must be \"each\" or \"interval\", not \"sometimes\"");
    load_refused("audit_sync = \"Interval\";\n",
                 "t.conf:1: audit_sync must be \"each\" or \"interval\", not \"Interval\"");
    load_refused("\naudit_sync = 1;\n", "t.conf:2: audit_sync must be a string");
    load_refused("audit_sync = true;\n", "t.conf:1: audit_sync must be a string");
    load_refused("audit_sync = \"interval\";\naudit_sync_ms = 9;\n",
                 "t.conf:2: audit_sync_ms must be between 10 and 60000");
    load_refused("audit_sync = \"interval\";\naudit_sync_ms = 60001;\n",
                 "t.conf:2: audit_sync_ms must be between 10 and 60000");
    load_refused("audit_sync = \"interval\";\naudit_sync_ms = -5;\n",
                 "t.conf:2: audit_sync_ms must be between 10 and 60000");
    load_refused("audit_sync = \"interval\";\naudit_sync_ms = \"1000\";\n",
                 "t.conf:2: audit_sync_ms must be an integer");
    load_refused("audit_sync = \"interval\";\naudit_sync_ms = 1.5;\n",
                 "t.conf:2: audit_sync_ms must be an integer");
    /* A period with no interval mode would be a setting that does nothing:
     * the owner believes lines are synced on a timer, they are synced at
     * once. Refused rather than ignored. */
    load_refused("audit_sync_ms = 500;\n",
                 "t.conf:1: audit_sync_ms applies only with audit_sync = \"interval\"");
    load_refused("audit_sync = \"each\";\naudit_sync_ms = 500;\n",
                 "t.conf:2: audit_sync_ms applies only with audit_sync = \"interval\"");
    /* Not inside vault { }: the keys are top-level; a misplaced one is an
     * unknown key, as every typo is. */
    load_refused("vault: { audit_sync = \"interval\"; };\n", "t.conf:1: unknown key \"audit_sync\" in vault");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_is_each),
        cmocka_unit_test(interval_and_its_period),
        cmocka_unit_test(bad_values_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
