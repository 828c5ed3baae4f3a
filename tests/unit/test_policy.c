#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "policy.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The fixtures folder, found from this file's path as the compiler saw it
 * (tests/unit/test_policy.c when built from the repository root). */
static char fixtures[512];
static char home[256]; /* a temporary home: bin/tool, bin/interp, lib/script.js */

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    char *buf = malloc(VS_POLICY_MAX_BYTES + 1);
    assert_non_null(buf);
    size_t n = fread(buf, 1, VS_POLICY_MAX_BYTES, f);
    buf[n] = '\0';
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void path_in(char *out, size_t cap, const char *base, const char *rel)
{
    int n = snprintf(out, cap, "%s/%s", base, rel);
    assert_true(n > 0 && (size_t)n < cap);
}

static int setup(void **state)
{
    (void)state;
    const char *me = __FILE__;
    const char *slash = strrchr(me, '/');
    int n = snprintf(fixtures, sizeof fixtures, "%.*sfixtures/policy", slash != NULL ? (int)(slash - me + 1) : 0, me);
    if (n < 0 || (size_t)n >= sizeof fixtures)
        return -1;
    strcpy(home, "/tmp/vs-test-policy-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    char p[512];
    const char *dirs[] = {"bin", "lib", "many"};
    for (size_t i = 0; i < 3; i++) {
        path_in(p, sizeof p, home, dirs[i]);
        if (mkdir(p, 0700) != 0)
            return -1;
    }
    path_in(p, sizeof p, home, "bin/tool");
    write_file(p, "#!/bin/sh\n", 0755);
    path_in(p, sizeof p, home, "bin/interp");
    write_file(p, "#!/bin/sh\n", 0755);
    path_in(p, sizeof p, home, "lib/script.js");
    write_file(p, "// fake\n", 0644);
    char target[512];
    path_in(target, sizeof target, home, "bin/tool");
    path_in(p, sizeof p, home, "bin/link");
    if (symlink(target, p) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (n < 0 || (size_t)n >= sizeof cmd || strncmp(home, "/tmp/vs-test-policy-", 20) != 0)
        return -1;
    return system(cmd) == 0 ? 0 : -1;
}

/* Known secrets for the check callback: a sorted list, searched with bsearch. */
static const char *const known[] = {"fake_key", "fake_npm", "fake_token", "FAKE_API_KEY"};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool secret_known(void *ctx, const char *name)
{
    (void)ctx;
    static const char *sorted[sizeof known / sizeof known[0]];
    static bool init;
    if (!init) {
        memcpy(sorted, known, sizeof sorted);
        qsort(sorted, sizeof sorted / sizeof sorted[0], sizeof sorted[0], cmp_str);
        init = true;
    }
    return bsearch(&name, sorted, sizeof sorted / sizeof sorted[0], sizeof sorted[0], cmp_str) != NULL;
}

static struct vs_policy *load_ok(const char *text, bool check_secrets)
{
    struct vs_policy_opts o = {.home = home, .secret_known = check_secrets ? secret_known : NULL};
    struct vs_policy *p = NULL;
    int rc = vs_policy_load_string(text, "t", &o, &p);
    if (rc != 0)
        fail_msg("load failed: %s", vs_last_error(rc));
    assert_non_null(p);
    return p;
}

static void dev_ino(const char *rel, dev_t *dev, ino_t *ino)
{
    char p[512];
    struct stat st;
    path_in(p, sizeof p, home, rel);
    assert_int_equal(stat(p, &st), 0);
    *dev = st.st_dev;
    *ino = st.st_ino;
}

static void every_key(void **state)
{
    (void)state;
    char path[600];
    path_in(path, sizeof path, fixtures, "full.conf");
    char *text = read_text(path);
    struct vs_policy *p = load_ok(text, true);
    free(text);

    assert_int_equal(p->rotation_days, 30);
    assert_int_equal(p->keep_versions, 7);
    char want[600];
    path_in(want, sizeof want, home, "audit.log");
    assert_string_equal(p->audit_log, want);
    assert_true(p->allow_namespaces);
    assert_int_equal(p->n_tools, 3);
    assert_int_equal(p->n_files, 2);

    const struct vs_policy_tool *t = vs_policy_find_tool_by_name(p, "tool");
    assert_non_null(t);
    assert_true(t->available);
    assert_true(t->has_sha256);
    assert_int_equal(t->sha256[0], 0x00);
    assert_int_equal(t->sha256[10], 0xAA);
    assert_int_equal(t->sha256[31], 0xff);
    assert_int_equal(t->n_env, 2);
    assert_string_equal(t->env[0].env, "TOOL_TOKEN");
    assert_string_equal(t->env[0].secret, "fake_token");
    assert_int_equal(t->n_files, 2);
    assert_string_equal(p->files[t->files[1]].name, "npmrc");
    assert_true(t->approve && t->mask && t->mediate && t->allow_proxy);
    assert_false(t->allow_namespaces);
    assert_false(t->interpreter);
    assert_int_equal(t->allow_args.n, 2);
    assert_int_equal(t->deny_args.n, 1);
    assert_int_equal(t->approve_args.n, 1);
    assert_null(t->script);

    const struct vs_policy_tool *s = vs_policy_find_tool_by_name(p, "script");
    assert_non_null(s);
    assert_true(s->interpreter);
    assert_true(s->available);
    assert_string_equal(s->env[0].env, "FAKE_API_KEY");
    assert_string_equal(s->env[0].secret, "FAKE_API_KEY");

    const struct vs_policy_tool *m = vs_policy_find_tool_by_name(p, "missing");
    assert_non_null(m);
    assert_false(m->available);
    assert_true(m->allow_args.present);
    assert_int_equal(m->allow_args.n, 0);
    assert_int_equal(p->n_warnings, 1);
    assert_non_null(strstr(p->warnings[0], "t:18: tool missing: /nonexistent/vaultshim-test/bin: "));
    assert_non_null(strstr(p->warnings[0], "(tool unavailable)"));

    /* look-ups */
    dev_t d, sd;
    ino_t i, si;
    dev_ino("bin/tool", &d, &i);
    assert_ptr_equal(vs_policy_find_tool(p, d, i, false, 0, 0), t);
    assert_ptr_equal(vs_policy_find_tool(p, d, i, true, 1, 2), t); /* plain tool, any script */
    dev_ino("bin/interp", &d, &i);
    dev_ino("lib/script.js", &sd, &si);
    assert_ptr_equal(vs_policy_find_tool(p, d, i, true, sd, si), s);
    assert_null(vs_policy_find_tool(p, d, i, false, 0, 0)); /* the interpreter alone */
    assert_null(vs_policy_find_tool(p, d, i, true, sd, si + 1000000));
    assert_null(vs_policy_find_tool(p, sd, si, false, 0, 0));

    char netrc[600];
    path_in(netrc, sizeof netrc, home, ".netrc");
    assert_ptr_equal(vs_policy_find_file(p, netrc), &p->files[0]);
    assert_ptr_equal(vs_policy_find_file(p, "/etc/vaultshim-test/npmrc"), &p->files[1]);
    assert_null(vs_policy_find_file(p, "/etc/vaultshim-test/npmrc2"));
    assert_null(vs_policy_find_file(p, "~/.netrc"));
    assert_ptr_equal(vs_policy_find_file_by_name(p, "npmrc"), &p->files[1]);

    assert_true(vs_policy_is_protected(p, "FAKE_API_KEY"));
    assert_true(vs_policy_is_protected(p, "GH_TOKEN"));
    assert_true(vs_policy_is_protected(p, "AWS_SECRET_KEY_ID"));
    assert_true(vs_policy_is_protected(p, "OTHER_VAR")); /* granted by a tool: hidden too */
    assert_false(vs_policy_is_protected(p, "PATH"));
    assert_false(vs_policy_is_protected(p, "GH_TOKENS"));

    const char *why;
    char *a1[] = {"auth", "token", "--hostname", "x"};
    assert_int_equal(vs_policy_tool_args(t, 4, a1, &why), VS_EPOLICY);
    assert_string_equal(why, "deny_args \"auth token **\"");
    char *a2[] = {"--netrc", "-s", "https://api.example.com/v1/x"};
    assert_int_equal(vs_policy_tool_args(t, 3, a2, &why), 0);
    char *a3[] = {"--netrc", "-s", "file:///etc/passwd"};
    assert_int_equal(vs_policy_tool_args(t, 3, a3, &why), VS_EPOLICY);
    assert_string_equal(why, "no allow_args pattern matches");
    assert_int_equal(vs_policy_tool_args(s, 0, NULL, &why), 0); /* no allow_args */
    vs_policy_free(p);
    vs_policy_free(NULL);
}

static void defaults(void **state)
{
    (void)state;
    struct vs_policy *p = load_ok("", false);
    assert_int_equal(p->rotation_days, 90);
    assert_int_equal(p->keep_versions, 5);
    assert_false(p->allow_namespaces);
    assert_null(p->audit_log); /* unset: the vault's own log */
    assert_int_equal(p->n_tools, 0);
    assert_false(vs_policy_is_protected(p, "X"));
    assert_null(vs_policy_find_tool(p, 1, 2, false, 0, 0));
    assert_null(vs_policy_find_file(p, "/x"));
    vs_policy_free(p);
    p = load_ok("vault: { rotation_days = 3650L; keep_versions = 1; };", false);
    assert_int_equal(p->rotation_days, 3650);
    vs_policy_free(p);
}

/* Each case: policy text and the exact detail it is refused with. */
static const struct {
    const char *text, *detail;
} refused[] = {
    /* unknown keys, every level */
    {"protect = [ \"A\" ];\nprotcet = [ \"B\" ];\n", "t:2: unknown key \"protcet\" in the policy"},
    {"vault: {\n  rotation_days = 9;\n  rotaton_days = 9; };\n", "t:3: unknown key \"rotaton_days\" in vault"},
    {"tools = (\n { name = \"a\"; exe = \"~/bin/tool\";\n   alow_args = [ \"x\" ]; }\n);\n",
     "t:3: unknown key \"alow_args\" in tool"},
    {"files = (\n { name = \"a\"; path = \"~/a\"; template = \"x\";\n   mode = 1; }\n);\n",
     "t:3: unknown key \"mode\" in file"},
    {"agents = ( { name = \"a\";\n tools = [ \"nope\" ]; } );\n", "t:2: agent a: no tool named \"nope\" in tools"},
    {"secrets = ( { name = \"fake_key\"; rotaton_days = 3; } );\n", "t:1: unknown key \"rotaton_days\" in secret"},
    {"secrets = ( { name = \"nope\"; } );\n", "t:1: secrets: unknown secret \"nope\""},
    {"projects = ( { name = \"w\"; path = \"/\";\n secrets = [ \"nope\" ]; } );\n",
     "t:2: project secrets: unknown secret \"nope\""},
    {"alerts = {\n multiple = 0.5; };\n", "t:2: multiple must be a number from 1.0 to 1000.0 (0 turns it off)"},
    {"alerts = {\n active_hours = \"8-25\"; };\n",
     "t:2: active_hours must be \"HH-HH\" (from 00-23, to 01-24, e.g. \"08-20\")"},
    {"alerts = {\n alert_command = [ \"notify\" ]; };\n",
     "t:2: alert_command: 1-16 arguments, the first an absolute path (run without a shell)"},
    /* wrong types and ranges */
    {"vault: { rotation_days = \"90\"; };\n", "t:1: rotation_days must be an integer"},
    {"vault: {\n rotation_days = 0; };\n", "t:2: rotation_days must be between 1 and 3650"},
    {"vault: { rotation_days = 3651; };\n", "t:1: rotation_days must be between 1 and 3650"},
    {"vault: { keep_versions = 101; };\n", "t:1: keep_versions must be between 1 and 100"},
    {"vault: { keep_versions = 5.0; };\n", "t:1: keep_versions must be an integer"},
    {"vault = [ 1 ];\n", "t:1: vault must be a group { ... }"},
    {"vault: { audit_log = 1; };\n", "t:1: audit_log must be a string"},
    {"allow_namespaces = 1;\n", "t:1: allow_namespaces must be true or false"},
    {"protect = \"A\";\n", "t:1: protect must be a list of strings"},
    {"protect = ( \"A\",\n 2 );\n", "t:2: protect must be a list of strings"},
    {"tools = { };\n", "t:1: tools must be a list ( { ... }, ... )"},
    {"files = [ \"x\" ];\n", "t:1: files must be a list ( { ... }, ... )"},
    {"tools = ( \"x\" );\n", "t:1: tools: each entry must be a group { ... }"},
    {"files = (\n 1 );\n", "t:2: files: each entry must be a group { ... }"},
    {"tools = (\n { name = \"a\"; } );\n", "t:2: tool: name and exe are required"},
    {"files = ( { name = \"a\"; path = \"/a\"; } );\n", "t:1: file: name, path and template are required"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n approve = \"yes\"; } );\n",
     "t:2: approve must be true or false"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n env = \"X\"; } );\n",
     "t:2: env must be a list [ \"NAME\", ... ] or a group { ENV = \"secret\"; }"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n env = { X = 1; }; } );\n", "t:2: X must be a string"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n deny_args = \"x\"; } );\n",
     "t:2: deny_args must be a list of strings"},
    {"tools = ( { name = \"a\"; exe = [ \"~/bin/tool\" ]; } );\n", "t:1: exe must be a string"},
    /* names */
    {"tools = ( { name = \"a b\"; exe = \"~/bin/tool\"; } );\n",
     "t:1: tool name \"a b\" is not valid ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64)"},
    {"files = ( { name = \"../x\"; path = \"/a\"; template = \"\"; } );\n",
     "t:1: file name \"../x\" is not valid ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64)"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n env = [ \"1X\" ]; } );\n",
     "t:2: tool a: env name \"1X\" is not valid"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n env = [ \"_X\" ]; } );\n",
     "t:2: tool a: secret name \"_X\" is not valid"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n env = { X = \"a b\"; }; } );\n",
     "t:2: tool a: secret name \"a b\" is not valid"},
    {"protect = [ \"A-B\" ];\n",
     "t:1: protect: \"A-B\" is not an env name or pattern ([A-Za-z_][A-Za-z0-9_]* with '*'; not '*' alone)"},
    {"protect = [ \"OK\",\n \"**\" ];\n",
     "t:2: protect: \"**\" is not an env name or pattern ([A-Za-z_][A-Za-z0-9_]* with '*'; not '*' alone)"},
    {"protect = [ \"1X\" ];\n",
     "t:1: protect: \"1X\" is not an env name or pattern ([A-Za-z_][A-Za-z0-9_]* with '*'; not '*' alone)"},
    /* references and secrets */
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n files = [ \"nope\" ]; } );\n",
     "t:2: tool a: unknown file \"nope\""},
    {"files = ( { name = \"f\"; path = \"/f\"; template = \"\"; } );\n"
     "tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n files = [ \"f\", \"f\" ]; } );\n",
     "t:3: tool a: file \"f\" given twice"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n env = { X = \"real_name\"; }; } );\n",
     "t:2: tool a: env X: unknown secret \"real_name\""},
    {"files = ( { name = \"f\"; path = \"/f\";\n template = \"x {{fake_key}} {{nope}}\"; } );\n",
     "t:2: file f: template: unknown secret \"nope\""},
    {"files = ( { name = \"f\"; path = \"/f\";\n template = \"pass {{fake_key\"; } );\n",
     "t:2: file f: template: column 6: \"{{\" without closing \"}}\""},
    {"files = ( { name = \"f\"; path = \"/f\";\n template = \"{{bad name}}\"; } );\n",
     "t:2: file f: template: column 1: bad secret name in placeholder"},
    /* duplicates */
    {"tools = (\n { name = \"a\"; exe = \"~/bin/tool\"; },\n { name = \"a\"; exe = \"~/bin/interp\"; }\n);\n",
     "t:3: duplicate tool name \"a\" (first at line 2)"},
    {"files = (\n { name = \"f\"; path = \"/f\"; template = \"\"; },\n\n"
     " { name = \"f\"; path = \"/g\"; template = \"\"; }\n);\n",
     "t:4: duplicate file name \"f\" (first at line 2)"},
    {"files = (\n { name = \"f\"; path = \"~/.netrc\"; template = \"\"; },\n"
     " { name = \"g\"; path = \"~/.netrc\"; template = \"\"; }\n);\n",
     "t:3: duplicate file path \"..." /* the path holds the temporary home */},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n env = [ \"FAKE_API_KEY\",\n \"FAKE_API_KEY\" ]; } );\n",
     "t:3: tool a: env name \"FAKE_API_KEY\" given twice"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n env = { X = \"fake_key\";\n X = \"fake_npm\"; }; } );\n",
     "t:3: duplicate setting name"},
    {"tools = (\n { name = \"a\"; exe = \"~/bin/tool\"; },\n { name = \"b\"; exe = \"~/bin/link\"; }\n);\n",
     "t:3: tool b: same executable as tool a (line 2)"},
    {"tools = (\n { name = \"a\"; exe = \"~/bin/interp\"; script = \"~/lib/script.js\"; },\n\n"
     " { name = \"b\"; exe = \"~/bin/interp\"; script = \"~/lib/script.js\"; }\n);\n",
     "t:4: tool b: same executable and script as tool a (line 2)"},
    /* globs */
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n deny_args = [ \"ok\",\n \"a ** b\" ]; } );\n",
     "t:3: deny_args \"a ** b\": column 6: \"**\" must be the last token"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n allow_args = [ \"[x\" ]; } );\n",
     "t:2: allow_args \"[x\": column 1: '[' without closing ']'"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n approve_args = [ \"** x\" ]; } );\n",
     "t:2: approve_args \"** x\": column 4: \"**\" must be the last token"},
    /* paths */
    {"tools = ( { name = \"a\";\n exe = \"bin/tool\"; } );\n",
     "t:2: exe: relative path \"bin/tool\" (use an absolute path or ~/)"},
    {"tools = ( { name = \"a\";\n exe = \"~root/bin/tool\"; } );\n", "t:2: exe: \"~user\" paths are not supported"},
    {"files = ( { name = \"f\";\n path = \"/etc/../f\"; template = \"\"; } );\n",
     "t:2: path: path \"/etc/../f\" is not canonical (\"//\", \".\", \"..\" or a trailing '/')"},
    {"files = ( { name = \"f\"; path = \"~//f\"; template = \"\"; } );\n",
     "t:1: path: path \"~//f\" is not canonical (\"//\", \".\", \"..\" or a trailing '/')"},
    {"vault: { audit_log = \"/var/log/\"; };\n",
     "t:1: audit_log: path \"/var/log/\" is not canonical (\"//\", \".\", \"..\" or a trailing '/')"},
    {"vault: { audit_log = \"log\"; };\n", "t:1: audit_log: relative path \"log\" (use an absolute path or ~/)"},
    {"tools = ( { name = \"a\";\n exe = \"~/bin\"; } );\n", "t:2: tool a: ..." /* HOME/bin is not a regular file */},
    {"tools = ( { name = \"a\"; exe = \"~/bin/interp\";\n script = \"lib/x.js\"; } );\n",
     "t:2: script: relative path \"lib/x.js\" (use an absolute path or ~/)"},
    /* sha256, interpreter */
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n sha256 = \"abc\"; } );\n",
     "t:2: tool a: sha256 must be 64 hex digits"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n"
     " sha256 = \"g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"; } );\n",
     "t:2: tool a: sha256 must be 64 hex digits"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/tool\";\n interpreter = true; } );\n",
     "t:2: tool a: interpreter = true needs a script"},
    {"tools = ( { name = \"a\"; exe = \"~/bin/interp\"; script = \"~/lib/script.js\";\n"
     " interpreter = false; } );\n",
     "t:2: tool a: a script is run by an interpreter (interpreter = false)"},
    /* the text itself */
    {"# 99999999999 in a comment\nvault: {\n rotation_days = 4294967386; };\n",
     "t:3: integer out of range (write a large value with an L suffix)"},
    {"files = ( { name = \"f\"; path = \"/f\"; template = \"id 123456789012\"; } );\n"
     "vault: { keep_versions = 0x100000005; };\n",
     "t:2: integer out of range (write a large value with an L suffix)"},
    {"vault: { keep_versions = 99999999999L; };\n", "t:1: keep_versions must be between 1 and 100"},
    {"protect = [ \"A\" ];\n# fine\n@include \"/etc/passwd\"\n",
     "t:3: @include is not allowed (it would bypass the owner and mode checks)"},
    {"protect = [ \"A\" ];\ntools = (\n { name = \"x\" }\n { name = \"y\" }\n);\n", "t:4: syntax error"},
};

static void every_error_with_its_line(void **state)
{
    (void)state;
    struct vs_policy_opts o = {.home = home, .secret_known = secret_known};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct vs_policy *p = (struct vs_policy *)&p;
        vs_clear_error();
        int rc = vs_policy_load_string(refused[i].text, "t", &o, &p);
        if (rc != VS_EPOLICY)
            fail_msg("case %zu: rc %d, want VS_EPOLICY (%s)", i, rc, vs_last_error(rc));
        assert_null(p);
        const char *got = vs_last_error(rc);
        size_t wl = strlen(refused[i].detail);
        bool prefix_only = wl > 3 && strcmp(refused[i].detail + wl - 3, "...") == 0;
        if (prefix_only)
            wl -= 3;
        if (prefix_only ? strncmp(got, refused[i].detail, wl) != 0 : strcmp(got, refused[i].detail) != 0)
            fail_msg("case %zu:\n  got  %s\n  want %s", i, got, refused[i].detail);
    }
}

static void fixture_files(void **state)
{
    (void)state;
    struct vs_policy_opts o = {.home = home};
    struct vs_policy *p;
    const char *cases[][2] = {
        {"include.conf", ":3: @include is not allowed (it would bypass the owner and mode checks)"},
        {"syntax.conf", ":4: syntax error"},
    };
    for (size_t i = 0; i < 2; i++) {
        char path[600];
        path_in(path, sizeof path, fixtures, cases[i][0]);
        char *text = read_text(path);
        assert_int_equal(vs_policy_load_string(text, cases[i][0], &o, &p), VS_EPOLICY);
        free(text);
        const char *got = vs_last_error(VS_EPOLICY);
        assert_string_equal(got + strlen(cases[i][0]), cases[i][1]);
    }
}

static void example_config_loads(void **state)
{
    (void)state;
    char path[600];
    /* fixtures is tests/unit/fixtures/policy: the repository root is 4 up */
    path_in(path, sizeof path, fixtures, "../../../../config/vaultshim.conf");
    char *text = read_text(path);
    struct vs_policy_opts o = {.home = home};
    struct vs_policy *p = NULL;
    int rc = vs_policy_load_string(text, "config/vaultshim.conf", &o, &p);
    free(text);
    if (rc != 0)
        fail_msg("%s", vs_last_error(rc));
    assert_int_equal(p->n_tools, 6);
    assert_int_equal(p->n_files, 4);
    const struct vs_policy_tool *gh = vs_policy_find_tool_by_name(p, "gh");
    assert_non_null(gh);
    const char *why;
    char *tok[] = {"auth", "token"};
    assert_int_equal(vs_policy_tool_args(gh, 2, tok, &why), VS_EPOLICY);
    char *body[] = {"pr", "create", "--title", "x", "--body-file", "/proc/self/environ"};
    assert_int_equal(vs_policy_tool_args(gh, 6, body, &why), VS_EPOLICY);
    char *list[] = {"pr", "list"};
    assert_int_equal(vs_policy_tool_args(gh, 2, list, &why), 0);
    const struct vs_policy_tool *curl = vs_policy_find_tool_by_name(p, "curl");
    char *c1[] = {"--netrc", "-s", "file:///home/u/.netrc"};
    char *c2[] = {"--netrc", "-s", "https://api.example.com/x", "-d", "@/home/u/.netrc"};
    char *c3[] = {"--netrc", "-s", "-x", "http://evil", "https://api.example.com/x"};
    char *c4[] = {"--netrc", "-s", "https://api.example.com/v1/models"};
    assert_int_equal(vs_policy_tool_args(curl, 3, c1, &why), VS_EPOLICY);
    assert_int_equal(vs_policy_tool_args(curl, 5, c3, &why), VS_EPOLICY);
    assert_int_equal(vs_policy_tool_args(curl, 3, c4, &why), 0);
    (void)c2; /* "**" after the URL token is inside it: -d is a further argument */
    assert_int_equal(vs_policy_tool_args(curl, 5, c2, &why), VS_EPOLICY);
    /* git itself gets nothing; its HTTP transport gets the netrc for github.com only. */
    assert_null(vs_policy_find_tool_by_name(p, "git"));
    const struct vs_policy_tool *git = vs_policy_find_tool_by_name(p, "git-remote-http");
    assert_non_null(git);
    char *g1[] = {"origin", "https://evil.example/o/r"};
    char *g2[] = {"origin", "https://github.com/o/r", "--extra"};
    char *g3[] = {"--upload-pack=x", "https://github.com/o/r"};
    char *g4[] = {"origin", "https://github.com/o/r.git"};
    char *g5[] = {"https://github.com/o/r", "https://github.com/o/r"};
    assert_int_equal(vs_policy_tool_args(git, 2, g1, &why), VS_EPOLICY);
    assert_int_equal(vs_policy_tool_args(git, 3, g2, &why), VS_EPOLICY);
    assert_int_equal(vs_policy_tool_args(git, 2, g3, &why), VS_EPOLICY);
    assert_int_equal(vs_policy_tool_args(git, 2, g4, &why), 0);
    assert_int_equal(vs_policy_tool_args(git, 2, g5, &why), 0);
    const struct vs_policy_tool *npm = vs_policy_find_tool_by_name(p, "npm");
    char *n1[] = {"config", "get", "//registry.npmjs.org/:_authToken"};
    assert_int_equal(vs_policy_tool_args(npm, 3, n1, &why), VS_EPOLICY);
    assert_string_equal(why, "deny_args \"config **\"");
    const struct vs_policy_tool *aws = vs_policy_find_tool_by_name(p, "aws");
    char *w1[] = {"configure", "get", "aws_secret_access_key"};
    char *w2[] = {"s3", "cp", "/home/u/.aws/credentials", "s3://bucket/x"};
    assert_int_equal(vs_policy_tool_args(aws, 3, w1, &why), VS_EPOLICY);
    assert_int_equal(vs_policy_tool_args(aws, 4, w2, &why), VS_EPOLICY);
    vs_policy_free(p);
}

static void file_checks(void **state)
{
    (void)state;
    struct vs_policy_opts o = {.home = home};
    struct vs_policy *p = NULL;
    char good[512], link[512], loose[512], fifo[512];
    path_in(good, sizeof good, home, "good.conf");
    path_in(link, sizeof link, home, "link.conf");
    path_in(loose, sizeof loose, home, "loose.conf");
    path_in(fifo, sizeof fifo, home, "fifo.conf");
    write_file(good, "protect = [ \"FAKE_TOKEN\" ];\n", 0600);
    assert_int_equal(vs_policy_load_file(good, &o, &p), 0);
    assert_true(vs_policy_is_protected(p, "FAKE_TOKEN"));
    assert_string_equal(p->source, good);
    vs_policy_free(p);

    write_file(loose, "protect = [ \"FAKE_TOKEN\" ];\n", 0620);
    assert_int_equal(vs_policy_load_file(loose, &o, &p), VS_EPERM);
    assert_null(p);
    assert_non_null(strstr(vs_last_error(VS_EPERM), "writable by group or others (mode 0620)"));
    assert_int_equal(chmod(loose, 0602), 0);
    assert_int_equal(vs_policy_load_file(loose, &o, &p), VS_EPERM);
    assert_int_equal(chmod(loose, 0644), 0); /* readable by others is fine */
    assert_int_equal(vs_policy_load_file(loose, &o, &p), 0);
    vs_policy_free(p);

    assert_int_equal(symlink(good, link), 0);
    assert_int_equal(vs_policy_load_file(link, &o, &p), VS_EPERM);
    assert_non_null(strstr(vs_last_error(VS_EPERM), "is a symlink"));

    assert_int_equal(vs_policy_load_file(home, &o, &p), VS_EPERM); /* a folder */
    assert_non_null(strstr(vs_last_error(VS_EPERM), "not a regular file"));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(vs_policy_load_file(fifo, &o, &p), VS_EPERM);

    char missing[512];
    path_in(missing, sizeof missing, home, "missing.conf");
    assert_int_equal(vs_policy_load_file(missing, &o, &p), VS_EIO);

    char nul[512];
    path_in(nul, sizeof nul, home, "nul.conf");
    int fd = open(nul, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "protect = [];\0@include \"x\"\n", 27), 27);
    assert_int_equal(close(fd), 0);
    assert_int_equal(vs_policy_load_file(nul, &o, &p), VS_EPOLICY);
    assert_non_null(strstr(vs_last_error(VS_EPOLICY), "contains a NUL byte"));

    if (geteuid() == 0) { /* owned by someone else: only root can set this up */
        assert_int_equal(chown(good, 65534, 65534), 0);
        assert_int_equal(vs_policy_load_file(good, &o, &p), VS_EPERM);
        assert_non_null(strstr(vs_last_error(VS_EPERM), "owned by uid 65534"));
    }
}

static void many_tools(void **state)
{
    (void)state;
    enum { N = 1000 };
    size_t cap = (size_t)N * 96 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "tools = (\n");
    for (int i = 0; i < N; i++) {
        char rel[64], p[512];
        (void)snprintf(rel, sizeof rel, "many/t%d", i);
        path_in(p, sizeof p, home, rel);
        write_file(p, "", 0755);
        len += (size_t)snprintf(text + len, cap - len, " { name = \"t%d\"; exe = \"~/many/t%d\"; }%s\n",
                                i, i, i + 1 < N ? "," : "");
        assert_true(len < cap);
    }
    len += (size_t)snprintf(text + len, cap - len, ");\n");
    assert_true(len < cap);
    struct vs_policy *p = load_ok(text, false);
    free(text);
    assert_int_equal(p->n_tools, N);
    assert_int_equal(p->n_tool_index, N);
    for (int i = 0; i < N; i += 37) {
        char rel[64];
        dev_t d;
        ino_t ino;
        (void)snprintf(rel, sizeof rel, "many/t%d", i);
        dev_ino(rel, &d, &ino);
        const struct vs_policy_tool *t = vs_policy_find_tool(p, d, ino, false, 0, 0);
        assert_non_null(t);
        assert_int_equal(t - p->tools, i);
    }
    vs_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_key),
        cmocka_unit_test(defaults),
        cmocka_unit_test(every_error_with_its_line),
        cmocka_unit_test(fixture_files),
        cmocka_unit_test(example_config_loads),
        cmocka_unit_test(file_checks),
        cmocka_unit_test(many_tools),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
