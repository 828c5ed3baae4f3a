#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "argglob.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Compiles pattern and matches it against the NULL-terminated arguments. */
static bool m(const char *pattern, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;
    va_start(ap, pattern);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 64)
        argv[argc++] = (char *)a;
    va_end(ap);
    struct vs_argglob *g;
    assert_int_equal(vs_argglob_compile(pattern, &g), 0);
    bool r = vs_argglob_match(g, argc, argv);
    vs_argglob_free(g);
    return r;
}

static void bad(const char *pattern, const char *detail)
{
    struct vs_argglob *g = (struct vs_argglob *)&g;
    assert_int_equal(vs_argglob_compile(pattern, &g), VS_EINVAL);
    assert_null(g);
    assert_string_equal(vs_last_error(VS_EINVAL), detail);
}

static void literal_and_boundaries(void **state)
{
    (void)state;
    assert_true(m("auth status", "auth", "status", NULL));
    assert_false(m("auth status", "auth", NULL));
    assert_false(m("auth status", "auth", "status", "x", NULL));
    assert_false(m("auth status", "authstatus", NULL));
    assert_false(m("auth status", "auth status", NULL)); /* one argument with a space */
    assert_true(m("auth\\ status", "auth status", NULL));
    assert_true(m("  auth   status  ", "auth", "status", NULL)); /* runs of spaces */
    assert_true(m("", NULL));
    assert_false(m("", "x", NULL));
    assert_false(m("x", NULL));
}

static void star_stays_in_one_argument(void **state)
{
    (void)state;
    assert_true(m("*", "", NULL));
    assert_true(m("*", "anything at all/with/slashes", NULL));
    assert_false(m("*", "a", "b", NULL));
    assert_false(m("a*", "a", "b", NULL));
    assert_true(m("--user=*", "--user=x", NULL));
    assert_false(m("--user=*", "--user", "x", NULL));
    assert_true(m("https://api.example.com/**", "https://api.example.com/v1/x", NULL));
    assert_false(m("https://api.example.com/**", "https://api.example.com/v1", "-o", NULL));
    assert_false(m("https://api.example.com/*", "https://api.example.com.evil/x", NULL));
    assert_true(m("a?c", "abc", NULL));
    assert_false(m("a?c", "ac", NULL));
    assert_true(m("*.json", "x.json", NULL));
    assert_false(m("*.json", "x.json.sh", NULL));
    assert_true(m("a*b*c", "aXbYbZc", NULL));
    assert_true(m("\\*", "*", NULL));
    assert_false(m("\\*", "x", NULL));
    assert_true(m("\\?", "?", NULL));
    assert_false(m("\\?", "x", NULL));
}

static void classes(void **state)
{
    (void)state;
    assert_true(m("-[sS]", "-s", NULL));
    assert_true(m("-[sS]", "-S", NULL));
    assert_false(m("-[sS]", "-x", NULL));
    assert_true(m("v[0-9]", "v7", NULL));
    assert_false(m("v[0-9]", "vx", NULL));
    assert_true(m("v[!0-9]", "vx", NULL));
    assert_false(m("v[!0-9]", "v1", NULL));
    assert_true(m("[]]", "]", NULL));
    assert_true(m("[a-]", "-", NULL));
    assert_true(m("a[ ]b", "a b", NULL)); /* a class may hold a space */
    bad("[abc", "column 1: '[' without closing ']'");
    bad("x [z-a]", "column 3: reversed range in class");
}

static void final_double_star(void **state)
{
    (void)state;
    assert_true(m("auth token **", "auth", "token", NULL));
    assert_true(m("auth token **", "auth", "token", "--hostname", "x", "-u", "y", NULL));
    assert_false(m("auth token **", "auth", NULL));
    assert_false(m("auth token **", "auth", "tokens", NULL));
    assert_true(m("**", NULL));
    assert_true(m("**", "a", "b", NULL));
    assert_true(m("x**", "xyz", NULL)); /* inside a token: one star */
    assert_false(m("x**", "xyz", "w", NULL));
    bad("** x", "column 4: \"**\" must be the last token");
    bad("a ** b", "column 6: \"**\" must be the last token");
    bad("a ** **", "column 6: \"**\" must be the last token");
    bad("a\\", "column 2: '\\' at end of pattern");
    struct vs_argglob *g;
    assert_int_equal(vs_argglob_compile(NULL, &g), VS_EINVAL);
    char *huge = malloc(VS_ARGGLOB_MAX_PATTERN + 2);
    assert_non_null(huge);
    memset(huge, 'a', VS_ARGGLOB_MAX_PATTERN + 1);
    huge[VS_ARGGLOB_MAX_PATTERN + 1] = '\0';
    assert_int_equal(vs_argglob_compile(huge, &g), VS_EINVAL);
    free(huge);
}

static void empty_and_odd_argv(void **state)
{
    (void)state;
    struct vs_argglob *g;
    assert_int_equal(vs_argglob_compile("**", &g), 0);
    assert_true(vs_argglob_match(g, 0, NULL));
    assert_false(vs_argglob_match(g, -1, NULL));
    assert_false(vs_argglob_match(NULL, 0, NULL));
    vs_argglob_free(g);
    assert_int_equal(vs_argglob_compile("x", &g), 0);
    char *argv[] = {NULL};
    assert_false(vs_argglob_match(g, 1, argv)); /* a NULL argument never matches */
    assert_string_equal(vs_argglob_pattern(g), "x");
    vs_argglob_free(g);
    vs_argglob_free(NULL);
}

static void pathological_finishes(void **state)
{
    (void)state;
    size_t n = 200000;
    char *arg = malloc(n + 1);
    assert_non_null(arg);
    memset(arg, 'a', n);
    arg[n] = '\0';
    char *argv[] = {arg};
    struct vs_argglob *g;
    assert_int_equal(vs_argglob_compile("*a*a*a*a*a*a*a*a*a*a*a*a*b", &g), 0);
    assert_false(vs_argglob_match(g, 1, argv));
    vs_argglob_free(g);
    assert_int_equal(vs_argglob_compile("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*b", &g), 0);
    assert_false(vs_argglob_match(g, 1, argv));
    vs_argglob_free(g);
    arg[n - 1] = 'b';
    assert_int_equal(vs_argglob_compile("*a*a*a*a*b", &g), 0);
    assert_true(vs_argglob_match(g, 1, argv));
    vs_argglob_free(g);
    free(arg);
}

static struct vs_arglist list(const char *const *patterns)
{
    struct vs_arglist l = {0};
    l.present = true;
    for (size_t i = 0; patterns[i] != NULL; i++)
        assert_int_equal(vs_arglist_add(&l, patterns[i]), 0);
    return l;
}

static void decide(void **state)
{
    (void)state;
    const char *allow_p[] = {"auth status", "pr **", "api repos/*/*", NULL};
    const char *deny_p[] = {"auth token **", "pr checkout **", NULL};
    const char *none[] = {NULL};
    struct vs_arglist allow = list(allow_p), deny = list(deny_p), empty = list(none);
    const char *why = "unset";

    char *a1[] = {"auth", "token"};
    assert_int_equal(vs_args_decide(NULL, &deny, 2, a1, &why), VS_EPOLICY);
    assert_string_equal(why, "deny_args \"auth token **\"");
    assert_string_equal(vs_last_error(VS_EPOLICY), "deny_args \"auth token **\"");

    char *a2[] = {"pr", "checkout", "12"};
    assert_int_equal(vs_args_decide(&allow, &deny, 3, a2, &why), VS_EPOLICY); /* deny wins */
    assert_string_equal(why, "deny_args \"pr checkout **\"");

    char *a3[] = {"pr", "list"};
    assert_int_equal(vs_args_decide(&allow, &deny, 2, a3, &why), 0);
    assert_null(why);

    char *a4[] = {"repo", "view"};
    assert_int_equal(vs_args_decide(&allow, &deny, 2, a4, &why), VS_EPOLICY);
    assert_string_equal(why, "no allow_args pattern matches");
    assert_int_equal(vs_args_decide(NULL, &deny, 2, a4, &why), 0); /* no allow_args: open */
    assert_int_equal(vs_args_decide(NULL, NULL, 2, a4, NULL), 0);

    char *a5[] = {"api", "repos/o/r"};
    assert_int_equal(vs_args_decide(&allow, NULL, 2, a5, &why), 0);
    char *a6[] = {"api", "repos/o/r/x"};
    assert_int_equal(vs_args_decide(&allow, NULL, 2, a6, &why), 0); /* '*' takes '/' */
    char *a7[] = {"api", "repos/o"};
    assert_int_equal(vs_args_decide(&allow, NULL, 2, a7, &why), VS_EPOLICY);

    /* present but empty: nothing is allowed, not even no arguments */
    assert_int_equal(vs_args_decide(&empty, NULL, 0, NULL, &why), VS_EPOLICY);
    struct vs_arglist absent = {0};
    assert_int_equal(vs_args_decide(&absent, NULL, 0, NULL, &why), 0);

    assert_int_equal(vs_arglist_add(&empty, "a ** b"), VS_EINVAL);
    assert_int_equal(empty.n, 0);
    vs_arglist_free(&allow);
    vs_arglist_free(&deny);
    vs_arglist_free(&empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_and_boundaries),
        cmocka_unit_test(star_stays_in_one_argument),
        cmocka_unit_test(classes),
        cmocka_unit_test(final_double_star),
        cmocka_unit_test(empty_and_odd_argv),
        cmocka_unit_test(pathological_finishes),
        cmocka_unit_test(decide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
