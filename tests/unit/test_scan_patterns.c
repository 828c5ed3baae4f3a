/* The scan matcher: every encoded form of a value is found wherever it
 * sits in a longer encoded text; a prefix or a near miss never is; line
 * numbers and per-line de-duplication. Values are random fakes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../vaultd/ctl/scan.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hits {
    size_t n;
    unsigned line[16];
    char form[16][16];
    char name[16][VS_SECRET_NAME_MAX + 1];
};

static int collect(void *ctx, unsigned line, const char *name, const char *form)
{
    struct hits *h = ctx;
    if (h->n < 16) {
        h->line[h->n] = line;
        (void)snprintf(h->form[h->n], sizeof h->form[0], "%s", form);
        (void)snprintf(h->name[h->n], sizeof h->name[0], "%s", name);
    }
    h->n++;
    return 0;
}

static struct scan_set *set_of(const char *name, const uint8_t *v, size_t len)
{
    struct scan_set *s = NULL;
    assert_int_equal(scan_set_new(&s), 0);
    assert_int_equal(scan_set_add(s, name, v, len), 0);
    assert_int_equal(scan_set_seal(s), 0);
    return s;
}

static struct hits scan(const struct scan_set *s, const char *text)
{
    struct hits h = {0};
    assert_int_equal(scan_buffer(s, (const uint8_t *)text, strlen(text), collect, &h), 0);
    return h;
}

/* base64 of prefix + value + suffix, for every prefix length 0..5 and a
 * random suffix: the value is found in each (all 3 alignments, both
 * alphabets, with and without padding). */
static void base64_every_alignment(void **state)
{
    (void)state;
    uint8_t v[40];
    randombytes_buf(v, sizeof v);
    struct scan_set *s = set_of("k", v, sizeof v);
    for (int variant = 0; variant < 2; variant++)
        for (size_t pre = 0; pre < 6; pre++)
            for (size_t post = 0; post < 4; post++) {
                uint8_t in[64];
                randombytes_buf(in, sizeof in);
                memcpy(in + pre, v, sizeof v);
                size_t n = pre + sizeof v + post;
                char out[128];
                sodium_bin2base64(out, sizeof out, in, n,
                                  variant == 0 ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_URLSAFE);
                struct hits h = scan(s, out);
                assert_true(h.n >= 1);
                /* the URL-safe form is the standard one when no + or / occurs */
                assert_true(strncmp(h.form[0], "base64", 6) == 0);
            }
    scan_set_free(s);
}

static void hex_url_raw(void **state)
{
    (void)state;
    const char *v = "FAKE/v+lue:with?odd&bytes";
    struct scan_set *s = set_of("odd", (const uint8_t *)v, strlen(v));
    char hex[128];
    sodium_bin2hex(hex, sizeof hex, (const uint8_t *)v, strlen(v));
    char text[512];
    (void)snprintf(text, sizeof text, "a\nraw %s\nhex %s\nurl FAKE%%2Fv%%2Blue%%3Awith%%3Fodd%%26bytes\nlow "
                   "FAKE%%2fv%%2blue%%3awith%%3fodd%%26bytes\n",
                   v, hex);
    struct hits h = scan(s, text);
    assert_int_equal(h.n, 4);
    assert_int_equal(h.line[0], 2);
    assert_string_equal(h.form[0], "raw");
    assert_int_equal(h.line[1], 3);
    assert_string_equal(h.form[1], "hex");
    assert_int_equal(h.line[2], 4);
    assert_string_equal(h.form[2], "url-encoded");
    assert_int_equal(h.line[3], 5);
    assert_string_equal(h.name[3], "odd");
    for (char *p = hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    h = scan(s, hex);
    assert_int_equal(h.n, 1);
    scan_set_free(s);
}

/* No oracle: every strict prefix of the value, and the value with its last
 * byte changed, in every form, is never a find. */
static void no_partial_match(void **state)
{
    (void)state;
    const char *v = "FAKE-TOKEN-0123456789abcdef";
    size_t len = strlen(v);
    struct scan_set *s = set_of("t", (const uint8_t *)v, len);
    for (size_t cut = 1; cut < len; cut++) {
        char text[512], b64[128], hex[128];
        sodium_bin2base64(b64, sizeof b64, (const uint8_t *)v, cut, sodium_base64_VARIANT_ORIGINAL);
        sodium_bin2hex(hex, sizeof hex, (const uint8_t *)v, cut);
        (void)snprintf(text, sizeof text, "%.*s\n%s\n%s\n", (int)cut, v, b64, hex);
        assert_int_equal(scan(s, text).n, 0);
    }
    char near[64];
    memcpy(near, v, len + 1);
    near[len - 1] = 'X';
    assert_int_equal(scan(s, near).n, 0);
    scan_set_free(s);
}

static void once_per_line_and_many_secrets(void **state)
{
    (void)state;
    struct scan_set *s = NULL;
    assert_int_equal(scan_set_new(&s), 0);
    char names[200][16], vals[200][24];
    for (int i = 0; i < 200; i++) {
        (void)snprintf(names[i], sizeof names[i], "s%d", i);
        (void)snprintf(vals[i], sizeof vals[i], "FAKE-%08d-VAL", i * 7919);
        assert_int_equal(scan_set_add(s, names[i], (const uint8_t *)vals[i], strlen(vals[i])), 0);
    }
    assert_int_equal(scan_set_seal(s), 0);
    char text[256];
    (void)snprintf(text, sizeof text, "%s %s\n\n\n%s", vals[5], vals[5], vals[199]);
    struct hits h = scan(s, text);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.name[0], "s5");
    assert_int_equal(h.line[0], 1);
    assert_string_equal(h.name[1], "s199");
    assert_int_equal(h.line[1], 4);
    scan_set_free(s);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base64_every_alignment),
        cmocka_unit_test(hex_url_raw),
        cmocka_unit_test(no_partial_match),
        cmocka_unit_test(once_per_line_and_many_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
