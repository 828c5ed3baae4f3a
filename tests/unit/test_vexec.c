/* vault-exec's pure parts: the command-line grammar vaultd and vault-exec
 * share (common/execargs.c) and the target's environment (exec_env.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "execargs.h"
#include "vexec.h"

#include <string.h>

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})
#define ARGC(a) (sizeof(a) / sizeof((a)[0]) - 1)

static void grammar(void **state)
{
    (void)state;
    const char *agent = "x";
    char **a1 = ARGV("vault-exec", "--", "gh", "pr", "list");
    assert_int_equal(vs_execargs_target(5, a1, &agent), 2);
    assert_null(agent);
    char **a2 = ARGV("vault-exec", "--agent", "claude", "--", "gh");
    assert_int_equal(vs_execargs_target(5, a2, &agent), 4);
    assert_string_equal(agent, "claude");
    /* "--" as the agent's name is a name, then the separator must follow */
    char **a3 = ARGV("vault-exec", "--agent", "--", "--", "gh");
    assert_int_equal(vs_execargs_target(5, a3, &agent), 4);
    /* refused: no separator, no target, an empty target, an unknown option,
     * an empty agent, nothing at all */
    char **b1 = ARGV("vault-exec", "gh", "pr");
    char **b2 = ARGV("vault-exec", "--");
    char **b3 = ARGV("vault-exec", "--", "");
    char **b4 = ARGV("vault-exec", "--mask=no", "--", "gh");
    char **b5 = ARGV("vault-exec", "--agent", "", "--", "gh");
    char **b6 = ARGV("vault-exec", "--agent", "claude", "gh", "x");
    assert_int_equal(vs_execargs_target(3, b1, NULL), -1);
    assert_int_equal(vs_execargs_target(2, b2, NULL), -1);
    assert_int_equal(vs_execargs_target(3, b3, NULL), -1);
    assert_int_equal(vs_execargs_target(4, b4, NULL), -1);
    assert_int_equal(vs_execargs_target(5, b5, NULL), -1);
    assert_int_equal(vs_execargs_target(5, b6, NULL), -1);
    assert_int_equal(vs_execargs_target(0, NULL, NULL), -1);
    assert_int_equal(vs_execargs_target(1, ARGV("vault-exec"), NULL), -1);
}

static void path_variables(void **state)
{
    (void)state;
    assert_string_equal(vexec_path_variable("/home/u/.aws/credentials"), "AWS_SHARED_CREDENTIALS_FILE");
    assert_string_equal(vexec_path_variable("/home/u/.npmrc"), "NPM_CONFIG_USERCONFIG");
    assert_string_equal(vexec_path_variable("/home/u/.netrc"), "NETRC");
    assert_string_equal(vexec_path_variable("/home/u/.kube/config"), "KUBECONFIG");
    assert_null(vexec_path_variable("/home/u/.config/gh/hosts.yml"));
    assert_null(vexec_path_variable("/home/u/notnetrc"));
}

static size_t count(char **e, const char *prefix)
{
    size_t n = 0;
    for (; *e != NULL; e++)
        n += strncmp(*e, prefix, strlen(prefix)) == 0;
    return n;
}

static void environment(void **state)
{
    (void)state;
    static char g1[] = "GH_TOKEN=fake-gh-value";
    static struct vexec v;
    memset(&v, 0, sizeof v);
    v.grants[0] = (struct vexec_grant){g1, 8};
    v.ngrants = 1;
    strcpy(v.files[0].path, "/home/u/.npmrc");
    v.files[0].memfd = 7;
    v.files[0].var = vexec_path_variable(v.files[0].path);
    strcpy(v.files[1].path, "/home/u/.config/gh/hosts.yml");
    v.files[1].memfd = 8;
    v.files[1].var = NULL;
    v.nfiles = 2;
    char *env[] = {"PATH=/usr/bin", "GH_TOKEN=agent-planted", "NPM_CONFIG_USERCONFIG=/tmp/evil",
                   "VAULTSHIM_MEDIATED=0", "GH_TOKENX=kept", NULL};
    struct vexec_env out;
    assert_int_equal(vexec_build_env(&v, env, &out), 0);
    /* one of each name vault-exec sets, its own value */
    assert_int_equal(count(out.envp, "GH_TOKEN="), 1);
    assert_int_equal(count(out.envp, "NPM_CONFIG_USERCONFIG="), 1);
    assert_int_equal(count(out.envp, "VAULTSHIM_MEDIATED="), 1);
    assert_int_equal(count(out.envp, "PATH=/usr/bin"), 1);
    assert_int_equal(count(out.envp, "GH_TOKENX=kept"), 1);
    assert_int_equal(count(out.envp, "GH_TOKEN=fake-gh-value"), 1);
    assert_int_equal(count(out.envp, "NPM_CONFIG_USERCONFIG=/proc/self/fd/7"), 1);
    assert_int_equal(count(out.envp, "VAULTSHIM_MEDIATED=1"), 1);
    assert_int_equal(count(out.envp, "/proc/self/fd/8"), 0);
    assert_int_equal(out.nowned, 1);
    vexec_free_env(&out);
    assert_null(out.envp);

    struct vs_mask_value mv[4];
    assert_int_equal(vexec_mask_values(&v, mv, 4), 1);
    assert_int_equal(mv[0].len, strlen("fake-gh-value"));
    assert_true(memcmp(mv[0].data, "fake-gh-value", mv[0].len) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grammar),
        cmocka_unit_test(path_variables),
        cmocka_unit_test(environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
