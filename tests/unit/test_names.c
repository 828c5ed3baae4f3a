#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "buf.h"
#include "names.h"

#include <string.h>

static void secret_names(void **state)
{
    (void)state;
    assert_true(vs_secret_name_valid("gh_token"));
    assert_true(vs_secret_name_valid("a"));
    assert_true(vs_secret_name_valid("aws.prod-key_2"));
    assert_false(vs_secret_name_valid(""));
    assert_false(vs_secret_name_valid(NULL));
    assert_false(vs_secret_name_valid("_x"));
    assert_false(vs_secret_name_valid("-x"));
    assert_false(vs_secret_name_valid("a b"));
    assert_false(vs_secret_name_valid("a/b"));
    assert_false(vs_secret_name_valid("a\"b"));
    assert_false(vs_secret_name_valid("a\nb"));
    char longest[VS_SECRET_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[VS_SECRET_NAME_MAX] = '\0';
    assert_true(vs_secret_name_valid(longest));
    longest[VS_SECRET_NAME_MAX] = 'a';
    longest[VS_SECRET_NAME_MAX + 1] = '\0';
    assert_false(vs_secret_name_valid(longest));
}

static void env_names_and_patterns(void **state)
{
    (void)state;
    assert_true(vs_env_name_valid("GH_TOKEN"));
    assert_true(vs_env_name_valid("_x1"));
    assert_false(vs_env_name_valid("1X"));
    assert_false(vs_env_name_valid("A-B"));
    assert_false(vs_env_name_valid("A=B"));
    assert_false(vs_env_name_valid(""));
    assert_true(vs_env_pattern_match("*_TOKEN", "GH_TOKEN"));
    assert_false(vs_env_pattern_match("*_TOKEN", "GH_TOKENS"));
    assert_true(vs_env_pattern_match("*", ""));
    assert_true(vs_env_pattern_match("A*B*C", "AxxBxxBxC"));
    assert_false(vs_env_pattern_match("A*B*C", "AxxBxxBx"));
    assert_true(vs_env_pattern_match("OPENAI_API_KEY", "OPENAI_API_KEY"));
    assert_false(vs_env_pattern_match("OPENAI_API_KEY", "OPENAI_API_KEY2"));
}

static void buffer_and_reader(void **state)
{
    (void)state;
    struct vs_buf b;
    vs_buf_init(&b, 16);
    assert_int_equal(vs_buf_put_u32(&b, 0x01020304), 0);
    assert_int_equal(vs_buf_put_u64(&b, 7), 0);
    assert_int_equal(b.len, 12);
    assert_int_not_equal(vs_buf_put(&b, "12345", 5), 0); /* over the limit */
    assert_int_not_equal(b.err, 0);
    struct vs_reader r;
    vs_reader_init(&r, b.data, 12);
    assert_int_equal(vs_get_u32(&r), 0x01020304);
    assert_int_equal(vs_get_u64(&r), 7);
    assert_int_equal(r.err, 0);
    assert_int_equal(vs_get_u8(&r), 0);
    assert_int_not_equal(r.err, 0);
    vs_buf_free(&b);

    vs_buf_init(&b, 0);
    assert_int_equal(vs_buf_put_json_str(&b, "a\"b\\c\n\x01"), 0);
    assert_int_equal(vs_buf_put_u8(&b, 0), 0);
    assert_string_equal((char *)b.data, "a\\\"b\\\\c\\u000a\\u0001");
    vs_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secret_names),
        cmocka_unit_test(env_names_and_patterns),
        cmocka_unit_test(buffer_and_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
