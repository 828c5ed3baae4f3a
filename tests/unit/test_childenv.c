/* The child's environment (shim/childenv.c), a pure function tested over
 * many parent environments against an index built from a real policy.
 * shim/ objects are not in the unit-test libraries, so the module is
 * compiled into this test. Values here are generated fakes. */
#include "testutil.h"

#include "../../shim/childenv.c"

#include "error.h"
#include "index.h"
#include "index_write.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#define SHIM "/opt/vaultshim/lib/libvaultshim.so"
#define SOCK "/run/vaultshim/vaultd.sock"

static char home[64];
static struct vs_policy *policy;
static struct vs_buf index_buf;
static struct vs_index idx;
static const struct vs_index_tool *tool;   /* plain tool, env TOOL_TOKEN, TOOL_USER */
static const struct vs_index_tool *script; /* interpreter tool, env SCRIPT_SECRET */
static char token[41];                     /* a fake protected value */

static void make_file(const char *rel, mode_t mode)
{
    char p[256];
    int n = snprintf(p, sizeof p, "%s/%s", home, rel);
    assert_true(n > 0 && (size_t)n < sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
    assert_int_equal(close(fd), 0);
}

static void dev_ino(const char *rel, uint64_t *dev, uint64_t *ino)
{
    char p[256];
    int n = snprintf(p, sizeof p, "%s/%s", home, rel);
    assert_true(n > 0 && (size_t)n < sizeof p);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    *dev = st.st_dev;
    *ino = st.st_ino;
}

static const char policy_text[] =
    "protect = [ \"FAKE_API_KEY\", \"*_TOKEN\", \"AWS_*_KEY*\", \"VS_SECRET_*\" ];\n"
    "tools = (\n"
    "  { name = \"tool\"; exe = \"~/bin/tool\";\n"
    "    env = { TOOL_TOKEN = \"fake_token\"; TOOL_USER = \"fake_user\"; }; },\n"
    "  { name = \"script\"; exe = \"~/bin/interp\"; script = \"~/lib/script.py\";\n"
    "    env = [ \"SCRIPT_SECRET\" ]; }\n"
    ");\n";

static int setup(void **state)
{
    (void)state;
    strcpy(home, "/tmp/vs-test-childenv-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    char p[256];
    const char *dirs[] = {"bin", "lib"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", home, dirs[i]);
        if (mkdir(p, 0700) != 0)
            return -1;
    }
    make_file("bin/tool", 0755);
    make_file("bin/interp", 0755);
    make_file("lib/script.py", 0644);
    struct vs_policy_opts o = {.home = home};
    int rc = vs_policy_load_string(policy_text, "t", &o, &policy);
    if (rc != 0) {
        print_error("policy: %s\n", vs_last_error(rc));
        return -1;
    }
    rc = vs_index_build(policy, 1, 0, &index_buf);
    if (rc != 0 || vs_index_from_memory(index_buf.data, index_buf.len, &idx) != 0)
        return -1;
    uint64_t d, i, sd, si;
    dev_ino("bin/tool", &d, &i);
    tool = vs_index_find_tool(&idx, d, i, false, 0, 0);
    dev_ino("bin/interp", &d, &i);
    dev_ino("lib/script.py", &sd, &si);
    script = vs_index_find_tool(&idx, d, i, true, sd, si);
    if (tool == NULL || script == NULL)
        return -1;
    tu_fake_token(token, sizeof token, 7);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vs_buf_free(&index_buf);
    vs_policy_free(policy);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    return strncmp(home, "/tmp/vs-test-childenv-", 22) == 0 && system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static char storage[1 << 16];

/* Builds into storage; the result must succeed. */
static char **build(const struct vs_childenv_in *in)
{
    char **out = (char **)(uintptr_t)1;
    size_t need = vs_childenv_size(in);
    assert_true(need > 0 && need <= sizeof storage);
    assert_int_equal(vs_childenv_build(in, storage, need, &out), 0);
    assert_non_null(out);
    return out;
}

static size_t count(char **env)
{
    size_t n = 0;
    while (env[n] != NULL)
        n++;
    return n;
}

/* The index of the entry whose name is name, or -1; fails on two. */
static long find(char **env, const char *name)
{
    size_t nlen = strlen(name);
    long at = -1;
    for (size_t i = 0; env[i] != NULL; i++)
        if (strncmp(env[i], name, nlen) == 0 && (env[i][nlen] == '=' || env[i][nlen] == '\0')) {
            assert_int_equal(at, -1);
            at = (long)i;
        }
    return at;
}

static const char *value_of(char **env, const char *name)
{
    long i = find(env, name);
    return i < 0 ? NULL : env[i] + strlen(name) + 1;
}

static void no_token(char **env)
{
    for (size_t i = 0; env[i] != NULL; i++)
        assert_null(strstr(env[i], token));
}

static char entries[64][128];

/* A parent envp: each name given gets "=" + the fake token unless the
 * name already holds '='. */
static char **parent(const char *const *names, char **arr)
{
    size_t i = 0;
    for (; names[i] != NULL; i++) {
        assert_true(i < 63);
        if (strchr(names[i], '=') != NULL || strcmp(names[i], "NOEQ_TOKEN") == 0)
            snprintf(entries[i], sizeof entries[i], "%s", names[i]);
        else
            snprintf(entries[i], sizeof entries[i], "%s=%s", names[i], token);
        arr[i] = entries[i];
    }
    arr[i] = NULL;
    return arr;
}

static struct vs_childenv_in plain(char **envp)
{
    return (struct vs_childenv_in){.envp = envp, .shim_path = SHIM, .socket_path = SOCK, .idx = &idx};
}

/* ---- protected names ---- */

static void protected_removed(void **state)
{
    (void)state;
    static const char *const names[] = {
        "HOME=/home/agent",  "FAKE_API_KEY",       "X_TOKEN",         "AWS_SECRET_KEY_ID",
        "GH_TOKEN",          "OPENAI_API_KEY",     "ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY",
        "TOOL_USER",         "SCRIPT_SECRET",      "VS_SECRET_1",     "NOEQ_TOKEN",
        "PATH=/usr/bin:/bin", "TOKEN_NOT=kept",    "LANG=C.UTF-8",    NULL};
    char *arr[64];
    struct vs_childenv_in in = plain(parent(names, arr));
    char **env = build(&in);
    no_token(env);
    assert_int_equal(find(env, "FAKE_API_KEY"), -1);
    assert_int_equal(find(env, "X_TOKEN"), -1);           /* glob *_TOKEN */
    assert_int_equal(find(env, "AWS_SECRET_KEY_ID"), -1); /* glob AWS_*_KEY* */
    assert_int_equal(find(env, "GH_TOKEN"), -1);          /* built-in */
    assert_int_equal(find(env, "OPENAI_API_KEY"), -1);
    assert_int_equal(find(env, "ANTHROPIC_API_KEY"), -1);
    assert_int_equal(find(env, "AWS_SECRET_ACCESS_KEY"), -1);
    assert_int_equal(find(env, "TOOL_USER"), -1);         /* a granted env name */
    assert_int_equal(find(env, "SCRIPT_SECRET"), -1);
    assert_int_equal(find(env, "VS_SECRET_1"), -1);
    assert_int_equal(find(env, "NOEQ_TOKEN"), -1);        /* an entry without '=' */
    /* the rest kept, in the parent's order, after our two */
    assert_int_equal(count(env), 2 + 4);
    assert_string_equal(env[2], "HOME=/home/agent");
    assert_string_equal(env[3], "PATH=/usr/bin:/bin");
    assert_string_equal(env[4], "TOKEN_NOT=kept");
    assert_string_equal(env[5], "LANG=C.UTF-8");
    assert_ptr_equal(env[2], arr[0]); /* kept entries are the parent's own */
}

static void no_index_builtins_only(void **state)
{
    (void)state;
    static const char *const names[] = {"GH_TOKEN", "NPM_TOKEN", "OPENAI_API_KEY", "X_TOKEN", "HOME=/h", NULL};
    char *arr[64];
    struct vs_childenv_in in = plain(parent(names, arr));
    in.idx = NULL;
    char **env = build(&in);
    assert_int_equal(find(env, "GH_TOKEN"), -1);
    assert_int_equal(find(env, "NPM_TOKEN"), -1);
    assert_int_equal(find(env, "OPENAI_API_KEY"), -1);
    assert_int_not_equal(find(env, "X_TOKEN"), -1); /* a policy glob: unknown without the index */
    assert_string_equal(value_of(env, "HOME"), "/h");
}

/* ---- LD_PRELOAD and VAULT_SOCKET ---- */

static void preload_restored(void **state)
{
    (void)state;
    char *none[] = {(char *)"HOME=/h", NULL};
    struct vs_childenv_in in = plain(none);
    char **env = build(&in);
    assert_string_equal(env[0], "LD_PRELOAD=" SHIM);
    assert_string_equal(env[1], "VAULT_SOCKET=" SOCK);
    assert_string_equal(env[2], "HOME=/h");
    assert_null(env[3]);
}

static void env_i(void **state)
{
    (void)state;
    char *empty[] = {NULL};
    struct vs_childenv_in in = plain(empty);
    char **env = build(&in);
    assert_int_equal(count(env), 2);
    assert_string_equal(env[0], "LD_PRELOAD=" SHIM);
    in.envp = NULL; /* execve(path, argv, NULL) */
    env = build(&in);
    assert_int_equal(count(env), 2);
    assert_string_equal(env[1], "VAULT_SOCKET=" SOCK);
}

static void preload_first_others_kept(void **state)
{
    (void)state;
    char *e[] = {(char *)"LD_PRELOAD=/lib/a.so:" SHIM " /lib/b.so", (char *)"X=1",
                 (char *)"LD_PRELOAD=" SHIM "::/lib/c.so", (char *)"VAULT_SOCKET=/tmp/evil.sock", NULL};
    struct vs_childenv_in in = plain(e);
    char **env = build(&in);
    assert_string_equal(env[0], "LD_PRELOAD=" SHIM ":/lib/a.so:/lib/b.so:/lib/c.so");
    assert_string_equal(env[1], "VAULT_SOCKET=" SOCK); /* ours replaces the caller's */
    assert_string_equal(env[2], "X=1");
    assert_int_equal(count(env), 3);

    char *only_ours[] = {(char *)"LD_PRELOAD=" SHIM, (char *)"LD_PRELOAD=", NULL};
    in.envp = only_ours;
    env = build(&in);
    assert_string_equal(env[0], "LD_PRELOAD=" SHIM);
    assert_int_equal(count(env), 2);
}

static void tool_child_drops_foreign_preload(void **state)
{
    (void)state;
    char *e[] = {(char *)"LD_PRELOAD=/lib/a.so " SHIM, NULL};
    struct vs_childenv_in in = plain(e);
    in.tool = tool;
    char **env = build(&in);
    assert_string_equal(env[0], "LD_PRELOAD=" SHIM);
}

static void unknown_paths_keep_parent(void **state)
{
    (void)state;
    char *e[] = {(char *)"LD_PRELOAD=/lib/a.so", (char *)"VAULT_SOCKET=/s", (char *)"GH_TOKEN=x", NULL};
    struct vs_childenv_in in = plain(e);
    in.shim_path = "";
    in.socket_path = NULL;
    char **env = build(&in);
    assert_int_equal(count(env), 2);
    assert_string_equal(env[0], "LD_PRELOAD=/lib/a.so");
    assert_string_equal(env[1], "VAULT_SOCKET=/s");
}

/* ---- interpreters ---- */

static void interpreter_injection_removed(void **state)
{
    (void)state;
    char *e[] = {(char *)"PYTHONPATH=/tmp/evil",  (char *)"PYTHONSTARTUP=/tmp/x.py",
                 (char *)"NODE_OPTIONS=--max-old-space-size=100", (char *)"NODE_OPTIONS=--require=/x.js",
                 (char *)"BASH_ENV=/tmp/x",       (char *)"npm_config_userconfig=/tmp/x",
                 (char *)"LD_AUDIT=/tmp/x.so",    (char *)"LD_LIBRARY_PATH=/tmp",
                 (char *)"GIT_CONFIG_COUNT=1",    (char *)"https_proxy=http://127.0.0.1:9",
                 (char *)"PYTHONNOUSERSITE=",     (char *)"PYTHONNOUSERSITE",
                 (char *)"LD_PRELOAD=/tmp/evil.so", (char *)"HOME=/h", NULL};
    struct vs_childenv_in in = plain(e);
    in.tool = script;
    in.interpreter = true;
    char **env = build(&in);
    assert_string_equal(env[0], "LD_PRELOAD=" SHIM);
    assert_string_equal(env[1], "VAULT_SOCKET=" SOCK);
    assert_string_equal(env[2], "SCRIPT_SECRET=");
    assert_string_equal(env[3], "PYTHONNOUSERSITE=1");
    assert_string_equal(env[4], "HOME=/h");
    assert_null(env[5]);
    /* the result passes vaultd's whole-environment check for a python tool */
    assert_null(vs_inject_check_envp(env, VS_INJ_ALL, SHIM));
}

static void ordinary_child_keeps_injection(void **state)
{
    (void)state;
    char *e[] = {(char *)"PYTHONPATH=/src", (char *)"NODE_OPTIONS=--require=/x.js", (char *)"PYTHONNOUSERSITE=", NULL};
    struct vs_childenv_in in = plain(e);
    char **env = build(&in);
    assert_string_equal(value_of(env, "PYTHONPATH"), "/src");
    assert_string_equal(value_of(env, "NODE_OPTIONS"), "--require=/x.js");
    assert_string_equal(value_of(env, "PYTHONNOUSERSITE"), "");
    /* a plain tool child too: only interpreters are cleaned (vaultd judges the rest) */
    in.tool = tool;
    env = build(&in);
    assert_string_equal(value_of(env, "PYTHONPATH"), "/src");
}

/* ---- placeholders ---- */

static void placeholders_for_tool(void **state)
{
    (void)state;
    static const char *const names[] = {"TOOL_TOKEN", "TOOL_USER", "HOME=/h", NULL};
    char *arr[64];
    struct vs_childenv_in in = plain(parent(names, arr));
    in.tool = tool;
    char **env = build(&in);
    no_token(env);
    assert_string_equal(value_of(env, "TOOL_TOKEN"), "");
    assert_string_equal(value_of(env, "TOOL_USER"), "");
    assert_int_equal(count(env), 2 + 2 + 1);
    assert_true(find(env, "TOOL_TOKEN") < find(env, "HOME"));
    /* placeholders are protected names: the child's constructor (not a
     * tool, or refused) removes them */
    assert_true(vs_index_entry_protected(&idx, env[find(env, "TOOL_TOKEN")]));
}

static void no_placeholders_for_others(void **state)
{
    (void)state;
    static const char *const names[] = {"TOOL_TOKEN", "SCRIPT_SECRET", NULL};
    char *arr[64];
    struct vs_childenv_in in = plain(parent(names, arr));
    char **env = build(&in);
    assert_int_equal(find(env, "TOOL_TOKEN"), -1);
    assert_int_equal(find(env, "SCRIPT_SECRET"), -1);
    assert_int_equal(count(env), 2);
    in.tool = tool; /* another tool's names are not reserved */
    env = build(&in);
    assert_int_equal(find(env, "SCRIPT_SECRET"), -1);
}

/* ---- storage ---- */

/* Every capacity below the bound: E2BIG and nothing written past cap, at
 * several alignments; at the bound: success. */
static void overflow_is_an_error(void **state)
{
    (void)state;
    char *e[] = {(char *)"LD_PRELOAD=/lib/a.so:/lib/b.so", (char *)"HOME=/h", (char *)"GH_TOKEN=x",
                 (char *)"PYTHONPATH=/x", (char *)"A=1", (char *)"B=2", NULL};
    struct vs_childenv_in in = plain(e);
    in.tool = script;
    in.interpreter = true;
    size_t need = vs_childenv_size(&in);
    assert_true(need > 0 && need + 64 <= sizeof storage);
    size_t min_ok = SIZE_MAX;
    for (size_t shift = 0; shift < 8; shift++) {
        for (size_t cap = 0; cap <= need; cap++) {
            memset(storage, 0xA5, sizeof storage);
            char **out = (char **)(uintptr_t)1;
            int rc = vs_childenv_build(&in, storage + shift, cap, &out);
            for (size_t i = 0; i < sizeof storage; i++)
                if (i < shift || i >= shift + cap)
                    assert_int_equal((unsigned char)storage[i], 0xA5);
            if (rc == 0) {
                assert_non_null(out);
                if (cap < min_ok)
                    min_ok = cap;
            } else {
                assert_int_equal(rc, E2BIG);
                assert_null(out);
            }
        }
        /* the bound is enough at any alignment */
        char **out;
        assert_int_equal(vs_childenv_build(&in, storage + shift, need, &out), 0);
        assert_string_equal(out[0], "LD_PRELOAD=" SHIM);
    }
    assert_true(min_ok <= need);
}

/* Heap copies of exactly cap bytes: ASan catches any byte past them. */
static void exact_heap_buffers(void **state)
{
    (void)state;
    char *e[] = {(char *)"LD_PRELOAD=/lib/a.so", (char *)"HOME=/h", NULL};
    struct vs_childenv_in in = plain(e);
    size_t need = vs_childenv_size(&in);
    for (size_t cap = 1; cap <= need; cap++) {
        char *buf = malloc(cap);
        assert_non_null(buf);
        char **out;
        int rc = vs_childenv_build(&in, buf, cap, &out);
        assert_true(rc == 0 || rc == E2BIG);
        if (rc == 0)
            assert_string_equal(out[2], "HOME=/h");
        free(buf);
    }
}

static void bad_arguments(void **state)
{
    (void)state;
    char **out = (char **)(uintptr_t)1;
    struct vs_childenv_in in = plain(NULL);
    assert_int_equal(vs_childenv_build(NULL, storage, sizeof storage, &out), EINVAL);
    assert_null(out);
    assert_int_equal(vs_childenv_build(&in, NULL, 10, &out), EINVAL);
    assert_int_equal(vs_childenv_build(&in, storage, sizeof storage, NULL), EINVAL);
    assert_int_equal(vs_childenv_size(NULL), 0);
}

/* A large environment: hundreds of entries, a third protected. */
static void large_environment(void **state)
{
    (void)state;
    enum { N = 600 };
    static char text[N][96];
    static char *arr[N + 1];
    for (size_t i = 0; i < N; i++) {
        if (i % 3 == 0)
            snprintf(text[i], sizeof text[i], "V%zu_TOKEN=%s", i, token);
        else if (i % 3 == 1)
            snprintf(text[i], sizeof text[i], "VAR_%zu=%.8s", i, token);
        else
            snprintf(text[i], sizeof text[i], "VS_SECRET_%zu=%s", i, token);
        arr[i] = text[i];
    }
    arr[N] = NULL;
    struct vs_childenv_in in = plain(arr);
    char **env = build(&in);
    assert_int_equal(count(env), 2 + N / 3);
    for (size_t i = 2; env[i] != NULL; i++)
        assert_memory_equal(env[i], "VAR_", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(protected_removed),
        cmocka_unit_test(no_index_builtins_only),
        cmocka_unit_test(preload_restored),
        cmocka_unit_test(env_i),
        cmocka_unit_test(preload_first_others_kept),
        cmocka_unit_test(tool_child_drops_foreign_preload),
        cmocka_unit_test(unknown_paths_keep_parent),
        cmocka_unit_test(interpreter_injection_removed),
        cmocka_unit_test(ordinary_child_keeps_injection),
        cmocka_unit_test(placeholders_for_tool),
        cmocka_unit_test(no_placeholders_for_others),
        cmocka_unit_test(overflow_is_an_error),
        cmocka_unit_test(exact_heap_buffers),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(large_environment),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
