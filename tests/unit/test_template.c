#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Obvious fakes: no real credential ever appears in a test. */
static const struct {
    const char *name, *value;
} fake[] = {
    {"api_token", "FAKE-TOKEN-1"},
    {"npm_token", "FAKE-NPM"},
    {"aws_key_id", "FAKEKEYID"},
    {"aws_secret", "FAKE/SECRET+VALUE"},
    {"empty", ""},
};

static int lookup(void *ctx, const char *name, const uint8_t **val, size_t *len)
{
    int *calls = ctx;
    if (calls != NULL)
        (*calls)++;
    for (size_t i = 0; i < sizeof fake / sizeof fake[0]; i++) {
        if (strcmp(fake[i].name, name) == 0) {
            *val = (const uint8_t *)fake[i].value;
            *len = strlen(fake[i].value);
            return 0;
        }
    }
    return vs_fail(VS_ENOENT, "%s: no such secret", name);
}

static struct vs_template *compile(const char *text)
{
    struct vs_template *t = NULL;
    assert_int_equal(vs_template_compile(text, &t), 0);
    assert_non_null(t);
    return t;
}

static void bad(const char *text, const char *detail)
{
    struct vs_template *t = (struct vs_template *)&t;
    assert_int_equal(vs_template_compile(text, &t), VS_EINVAL);
    assert_null(t);
    assert_string_equal(vs_last_error(VS_EINVAL), detail);
}

static void renders(void **state)
{
    (void)state;
    struct vs_template *t = compile("[default]\naws_access_key_id = {{aws_key_id}}\n"
                                    "aws_secret_access_key = {{aws_secret}}\n{{aws_key_id}}");
    assert_int_equal(vs_template_name_count(t), 2);
    assert_string_equal(vs_template_name(t, 0), "aws_key_id");
    assert_string_equal(vs_template_name(t, 1), "aws_secret");
    assert_null(vs_template_name(t, 2));
    uint8_t out[256];
    size_t len = 0, size = 0;
    assert_int_equal(vs_template_rendered_size(t, lookup, NULL, &size), 0);
    assert_int_equal(vs_template_render(t, lookup, NULL, out, sizeof out, &len), 0);
    assert_int_equal(len, size);
    const char *want = "[default]\naws_access_key_id = FAKEKEYID\n"
                       "aws_secret_access_key = FAKE/SECRET+VALUE\nFAKEKEYID";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    vs_template_free(t);
}

static void literal_braces_and_edges(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"", ""},
        {"plain text", "plain text"},
        {"{ x } }} {", "{ x } }} {"},
        {"{{api_token}}", "FAKE-TOKEN-1"},
        {"a{{empty}}b", "ab"},
        {"{{{api_token}}}", NULL}, /* "{{" then name "{api_token" */
        {"x{{npm_token}}}", "xFAKE-NPM}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vs_template *t = NULL;
        int rc = vs_template_compile(cases[i][0], &t);
        if (cases[i][1] == NULL) {
            assert_int_equal(rc, VS_EINVAL);
            continue;
        }
        assert_int_equal(rc, 0);
        uint8_t out[64];
        size_t len;
        assert_int_equal(vs_template_render(t, lookup, NULL, out, sizeof out, &len), 0);
        assert_int_equal(len, strlen(cases[i][1]));
        assert_memory_equal(out, cases[i][1], len);
        vs_template_free(t);
    }
}

static void errors_name_the_column(void **state)
{
    (void)state;
    bad("abc {{api_token", "column 5: \"{{\" without closing \"}}\"");
    bad("{{", "column 1: \"{{\" without closing \"}}\"");
    bad("x{{}}", "column 2: placeholder name is empty or longer than 64 bytes");
    bad("ab\n{{bad name}}", "column 4: bad secret name in placeholder");
    bad("{{_x}}", "column 1: bad secret name in placeholder");
    bad("{{ api_token }}", "column 1: bad secret name in placeholder");
    bad("{{api_token}} {{a/b}}", "column 15: bad secret name in placeholder");
    char name[80];
    memset(name, 'a', sizeof name);
    memcpy(name, "{{", 2);
    memcpy(name + 70, "}}", 3);
    bad(name, "column 1: placeholder name is empty or longer than 64 bytes");
    struct vs_template *t;
    assert_int_equal(vs_template_compile(NULL, &t), VS_EINVAL);
    char *huge = malloc(VS_TEMPLATE_MAX + 2);
    assert_non_null(huge);
    memset(huge, 'x', VS_TEMPLATE_MAX + 1);
    huge[VS_TEMPLATE_MAX + 1] = '\0';
    assert_int_equal(vs_template_compile(huge, &t), VS_ETOOBIG);
    free(huge);
}

/* Renders into every cap from 0 to the exact size, with canary bytes after
 * cap: nothing may land there, and a failed render leaves zeros. */
static void overflow_at_every_cap(void **state)
{
    (void)state;
    struct vs_template *t = compile("machine api.example.com login agent password {{api_token}}\n"
                                    "# {{npm_token}}{{empty}}{{api_token}}");
    size_t size;
    assert_int_equal(vs_template_rendered_size(t, lookup, NULL, &size), 0);
    uint8_t buf[512];
    assert_true(size + 16 < sizeof buf);
    for (size_t cap = 0; cap <= size + 1; cap++) {
        memset(buf, 0xA5, sizeof buf);
        size_t len = 99;
        int rc = vs_template_render(t, lookup, NULL, buf, cap, &len);
        if (cap < size) {
            assert_int_equal(rc, VS_ETOOBIG);
            assert_int_equal(len, 0);
            for (size_t i = 0; i < cap; i++)
                assert_true(buf[i] == 0 || buf[i] == 0xA5); /* wiped or untouched */
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(len, size);
        }
        for (size_t i = cap; i < sizeof buf; i++)
            assert_int_equal(buf[i], 0xA5);
    }
    vs_template_free(t);
}

static void lookup_failure(void **state)
{
    (void)state;
    struct vs_template *t = compile("a={{api_token}} b={{missing}}");
    uint8_t out[64];
    memset(out, 0xA5, sizeof out);
    size_t len = 5, size = 5;
    int calls = 0;
    assert_int_equal(vs_template_render(t, lookup, &calls, out, sizeof out, &len), VS_ENOENT);
    assert_int_equal(len, 0);
    assert_int_equal(calls, 2);
    for (size_t i = 0; i < sizeof out; i++) /* the first value was wiped */
        assert_true(out[i] == 0 || out[i] == 0xA5);
    assert_int_equal(vs_template_rendered_size(t, lookup, NULL, &size), VS_ENOENT);
    assert_int_equal(size, 0);
    vs_template_free(t);
    vs_template_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders),
        cmocka_unit_test(literal_braces_and_edges),
        cmocka_unit_test(errors_name_the_column),
        cmocka_unit_test(overflow_at_every_cap),
        cmocka_unit_test(lookup_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
