/* The import parsers, one kind at a time: what each finds (values, lines,
 * names), what it leaves alone, and what the file becomes. Values are
 * obvious fakes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../vaultd/ctl/import.h"

#include "error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>


/* Parses text as kind, names every find after its hint, builds the file. */
static struct imp_file *parse(enum imp_kind kind, const char *text)
{
    struct imp_file *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->kind = kind;
    f->data = (uint8_t *)strdup(text);
    f->len = strlen(text);
    (void)snprintf(f->shown, sizeof f->shown, "test");
    assert_int_equal(imp_parse(kind, f->data, f->len, &f->finds), 0);
    for (size_t i = 0; i < f->finds.n; i++)
        memcpy(f->finds.v[i].name, f->finds.v[i].hint, sizeof f->finds.v[i].name);
    struct imp_files files = {.v = f, .n = 1, .cap = 1};
    assert_int_equal(imp_plan(&files, NULL, NULL, NULL), 0);
    return f;
}

static void done(struct imp_file *f)
{
    imp_finds_free(&f->finds);
    free(f->data);
    free(f->after);
    free(f->tmpl);
    free(f);
}

static void value_is(const struct imp_find *x, const char *value, const char *name, unsigned line)
{
    assert_int_equal(x->value_len, strlen(value));
    assert_memory_equal(x->value, value, x->value_len);
    assert_string_equal(x->name, name);
    assert_int_equal(x->line, line);
}

static void after_is(const struct imp_file *f, const char *want)
{
    assert_int_equal(f->after_len, strlen(want));
    assert_memory_equal(f->after, want, f->after_len);
}

static void npmrc(void **state)
{
    (void)state;
    struct imp_file *f = parse(IMP_NPMRC, "; comment\nregistry=https://r.example/\n"
                                          "//registry.npmjs.org/:_authToken=FAKE-NPM-1\n"
                                          "//npm.corp.example/repo/:_authToken = \"FAKE-NPM-2\"\n"
                                          "_auth=RkFLRTpGQUtF\n//x.example/:_authToken=${NPM_TOKEN}\n"
                                          "//y.example/:_password=RkFLRQ==");
    assert_int_equal(f->finds.n, 4);
    value_is(&f->finds.v[0], "FAKE-NPM-1", "npm.registry.npmjs.org.token", 3);
    value_is(&f->finds.v[1], "FAKE-NPM-2", "npm.npm.corp.example.token", 4);
    value_is(&f->finds.v[2], "RkFLRTpGQUtF", "npm.auth", 5);
    value_is(&f->finds.v[3], "RkFLRQ==", "npm.y.example.password", 7);
    after_is(f, "; comment\nregistry=https://r.example/\n//x.example/:_authToken=${NPM_TOKEN}");
    assert_string_equal(f->tmpl, "; comment\nregistry=https://r.example/\n"
                                 "//registry.npmjs.org/:_authToken={{npm.registry.npmjs.org.token}}\n"
                                 "//npm.corp.example/repo/:_authToken = \"{{npm.npm.corp.example.token}}\"\n"
                                 "_auth={{npm.auth}}\n//x.example/:_authToken=${NPM_TOKEN}\n"
                                 "//y.example/:_password={{npm.y.example.password}}");
    done(f);
}

static void netrc_forms(void **state)
{
    (void)state;
    struct imp_file *f = parse(IMP_NETRC, "machine a.example\n  login u\n  password FAKEPW1\n"
                                          "machine b.example login v password FAKEPW2 account x\n"
                                          "macdef init\npassword NOT-A-FIND\n\n"
                                          "default login anon password \"FAKE PW3\"\n");
    assert_int_equal(f->finds.n, 3);
    value_is(&f->finds.v[0], "FAKEPW1", "netrc.a.example", 3);
    value_is(&f->finds.v[1], "FAKEPW2", "netrc.b.example", 4);
    value_is(&f->finds.v[2], "FAKE PW3", "netrc.default", 8);
    after_is(f, "machine a.example\n  login u\nmachine b.example login v account x\n"
                "macdef init\npassword NOT-A-FIND\n\ndefault login anon\n");
    done(f);
}

static void aws_profiles_crlf(void **state)
{
    (void)state;
    struct imp_file *f = parse(IMP_AWS, "[default]\r\naws_access_key_id = FAKEKEYID1\r\n# keep\r\n"
                                        "aws_secret_access_key=FAKE/SECRET+1\r\n[profile ci]\r\n"
                                        "region = us-east-1\r\naws_session_token = FAKESESSION");
    assert_int_equal(f->finds.n, 3);
    value_is(&f->finds.v[0], "FAKEKEYID1", "aws.default.access_key_id", 2);
    value_is(&f->finds.v[1], "FAKE/SECRET+1", "aws.default.secret_access_key", 4);
    value_is(&f->finds.v[2], "FAKESESSION", "aws.ci.session_token", 7);
    after_is(f, "[default]\r\n# keep\r\n[profile ci]\r\nregion = us-east-1");
    done(f);
}

static void gh_pypi_gitcred(void **state)
{
    (void)state;
    struct imp_file *f = parse(IMP_GH, "github.com:\n    user: u\n    oauth_token: FAKE-GHO\n"
                                       "ghe.example:\n    users:\n        u:\n            oauth_token: 'FAKE-GHE'\n");
    assert_int_equal(f->finds.n, 2);
    value_is(&f->finds.v[0], "FAKE-GHO", "gh.github.com.oauth_token", 3);
    value_is(&f->finds.v[1], "FAKE-GHE", "gh.ghe.example.oauth_token", 7);
    done(f);
    f = parse(IMP_PYPIRC, "[pypi]\nusername = __token__\npassword = FAKE-PYPI\n[test]\npassword: FAKE-TEST\n");
    assert_int_equal(f->finds.n, 2);
    value_is(&f->finds.v[0], "FAKE-PYPI", "pypi.pypi.password", 3);
    value_is(&f->finds.v[1], "FAKE-TEST", "pypi.test.password", 5);
    after_is(f, "[pypi]\nusername = __token__\n[test]\n");
    done(f);
    f = parse(IMP_GITCRED, "https://u:FAKE%2FPW@github.com\nhttps://nouser.example\nhttps://v:FAKE2@h.example/p\n");
    assert_int_equal(f->finds.n, 2);
    value_is(&f->finds.v[0], "FAKE/PW", "git.github.com.u", 1);
    value_is(&f->finds.v[1], "FAKE2", "git.h.example.v", 3);
    after_is(f, "https://nouser.example\n");
    done(f);
}

static void docker_json(void **state)
{
    (void)state;
    /* last member (the comma before goes), first member (the comma after
     * goes), alone (braces left empty) */
    struct imp_file *f = parse(IMP_DOCKER, "{\"auths\":{\"a.example\":{\"email\":\"e\",\"auth\":\"RkFLRTE=\"},"
                                           "\"https://b.example/v1/\":{\"auth\": \"RkFLRTI=\", \"x\": 1},"
                                           "\"c.example\":{ \"identitytoken\":\"FAKE-ID\" }},\"credsStore\":\"\"}");
    assert_int_equal(f->finds.n, 3);
    value_is(&f->finds.v[0], "RkFLRTE=", "docker.a.example.auth", 1);
    value_is(&f->finds.v[1], "RkFLRTI=", "docker.b.example.auth", 1);
    value_is(&f->finds.v[2], "FAKE-ID", "docker.c.example.identitytoken", 1);
    after_is(f, "{\"auths\":{\"a.example\":{\"email\":\"e\"},\"https://b.example/v1/\":{\"x\": 1},"
                "\"c.example\":{}},\"credsStore\":\"\"}");
    done(f);
    /* unreadable JSON: nothing found, nothing cut */
    f = parse(IMP_DOCKER, "{\"auths\":{\"a\":{\"auth\":\"RkFLRQ==\"}");
    assert_int_equal(f->finds.n, 0);
    done(f);
}

static void env_and_profiles(void **state)
{
    (void)state;
    struct imp_file *f = parse(IMP_ENV, "# app\nDB_HOST=db\nDB_PASSWORD = \"p@ss \\\"q\\\" w\"\n"
                                        "export API_KEY='FAKE$KEY'\nGH_TOKEN=${OTHER}\nSTRIPE_SECRET_KEY=FAKE1 # live\n"
                                        "TOKEN_URL=https://x\nEMPTY_TOKEN=\n  AUTH_TOKEN=FAKE2");
    assert_int_equal(f->finds.n, 4);
    value_is(&f->finds.v[0], "p@ss \"q\" w", "db_password", 3);
    value_is(&f->finds.v[1], "FAKE$KEY", "api_key", 4);
    value_is(&f->finds.v[2], "FAKE1", "stripe_secret_key", 6);
    value_is(&f->finds.v[3], "FAKE2", "auth_token", 9);
    after_is(f, "# app\nDB_HOST=db\n# DB_PASSWORD moved to vaultshim (secret db_password)\n"
                "# API_KEY moved to vaultshim (secret api_key)\nGH_TOKEN=${OTHER}\n"
                "# STRIPE_SECRET_KEY moved to vaultshim (secret stripe_secret_key)\n"
                "TOKEN_URL=https://x\nEMPTY_TOKEN=\n  # AUTH_TOKEN moved to vaultshim (secret auth_token)");
    assert_null(f->tmpl); /* served as env, not as a file */
    done(f);
    f = parse(IMP_PROFILE, "GH_TOKEN=FAKE-NOT-EXPORTED\nexport GH_TOKEN=FAKE-GH\r\nexport X_TOKEN=\"$(cat f)\"\r\n");
    assert_int_equal(f->finds.n, 1);
    value_is(&f->finds.v[0], "FAKE-GH", "gh_token", 2);
    after_is(f, "GH_TOKEN=FAKE-NOT-EXPORTED\n# GH_TOKEN moved to vaultshim (secret gh_token)\r\n"
                "export X_TOKEN=\"$(cat f)\"\r\n");
    done(f);
}

static void credential_names(void **state)
{
    (void)state;
    const char *yes[] = {"API_KEY", "GH_TOKEN", "aws_secret_access_key", "DB_PASSWORD", "MY_PASSWORD_2",
                         "STRIPE_SECRET", "SLACK_WEBHOOK_SECRET_V2", "AWS_ACCESS_KEY_ID", "OPENAI_API_KEY", "PGPASSWORD"};
    const char *no[] = {"PATH", "HOME", "TOKEN_URL", "KEY_PATH", "SECRET_FILE", "EDITOR", "PUBLIC_KEY_ID", "DEBUG"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(imp_credential_name(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(imp_credential_name(no[i]));
}

static void names_unique_and_shared(void **state)
{
    (void)state;
    /* two files: the same value gets one name; another value under the same
     * hint gets a suffix */
    struct imp_file *v = calloc(2, sizeof *v);
    assert_non_null(v);
    const char *texts[] = {"export GH_TOKEN=FAKE-A\n", "GH_TOKEN=FAKE-A\nexport GH_TOKEN=FAKE-B\n"};
    for (int i = 0; i < 2; i++) {
        v[i].kind = i == 0 ? IMP_PROFILE : IMP_ENV;
        v[i].data = (uint8_t *)strdup(texts[i]);
        v[i].len = strlen(texts[i]);
        assert_int_equal(imp_parse(v[i].kind, v[i].data, v[i].len, &v[i].finds), 0);
    }
    struct imp_files files = {.v = v, .n = 2, .cap = 2};
    assert_int_equal(imp_plan(&files, NULL, NULL, NULL), 0);
    assert_string_equal(v[0].finds.v[0].name, "gh_token");
    assert_string_equal(v[1].finds.v[0].name, "gh_token");
    assert_string_equal(v[1].finds.v[1].name, "gh_token.2");
    for (int i = 0; i < 2; i++) {
        imp_finds_free(&v[i].finds);
        free(v[i].data);
        free(v[i].after);
        free(v[i].tmpl);
    }
    free(v);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(npmrc),           cmocka_unit_test(netrc_forms),      cmocka_unit_test(aws_profiles_crlf),
        cmocka_unit_test(gh_pypi_gitcred), cmocka_unit_test(docker_json),      cmocka_unit_test(env_and_profiles),
        cmocka_unit_test(credential_names), cmocka_unit_test(names_unique_and_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
