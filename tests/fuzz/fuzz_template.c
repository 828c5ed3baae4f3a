/* libFuzzer target for the template renderer (vaultd/core/template.c): the
 * input is template text; an accepted template is rendered with a look-up
 * that returns fixed fake values (a name starting with "no" fails, so the
 * error path runs too), into a heap buffer of exactly the announced size
 * (ASan catches a byte past it), and again into one byte less, which must
 * fail with VS_ETOOBIG and leave *out_len 0 and the buffer wiped.
 * Built by tests/fuzz/fuzz.mk; by hand:
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Icommon \
 *     -Ivaultd/core tests/fuzz/fuzz_template.c vaultd/core/template.c common/[a-z]*.c \
 *     $(pkg-config --cflags --libs libsodium) -o /tmp/fuzz_template
 *
 * Values are fake. */
#include "error.h"
#include "template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include <stdio.h>

static void fail(int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
    abort();
}
#define check(c) ((c) ? (void)0 : fail(__LINE__, #c))

static const char *const fake_values[] = {"", "F", "FAKE-TOKEN-1", "fake{{x}}value\n",
                                          "FAKE/SECRET+VALUE=with=more=bytes=fake"};

static int lookup(void *ctx, const char *name, const uint8_t **val, size_t *len)
{
    (void)ctx;
    size_t n = strlen(name);
    check(n > 0);
    if (strncmp(name, "no", 2) == 0)
        return vs_fail(VS_ENOENT, "%s: no such secret", name);
    const char *v = fake_values[n % (sizeof fake_values / sizeof fake_values[0])];
    *val = (const uint8_t *)v;
    *len = strlen(v);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > VS_TEMPLATE_MAX + 16)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct vs_template *t = (struct vs_template *)&t;
    int rc = vs_template_compile(text, &t);
    if (rc != 0) {
        check(t == NULL && (rc == VS_EINVAL || rc == VS_ETOOBIG || rc == VS_ENOMEM));
        free(text);
        return 0;
    }
    size_t names = vs_template_name_count(t);
    for (size_t i = 0; i < names; i++) {
        const char *nm = vs_template_name(t, i);
        check(nm != NULL && strstr(text, nm) != NULL);
    }
    size_t want = 0;
    rc = vs_template_rendered_size(t, lookup, NULL, &want);
    if (rc == 0) {
        check(want <= 64u * (size + 1));
        uint8_t *out = malloc(want ? want : 1);
        size_t got = 12345;
        check(vs_template_render(t, lookup, NULL, out, want, &got) == 0 && got == want);
        if (want > 0) {
            got = 12345;
            memset(out, 0xAA, want);
            check(vs_template_render(t, lookup, NULL, out, want - 1, &got) == VS_ETOOBIG);
            check(got == 0);
            for (size_t i = 0; i + 1 < want; i++)
                check(out[i] == 0 || out[i] == 0xAA);
            check(out[want - 1] == 0xAA);
        }
        free(out);
    } else {
        check(rc == VS_ENOENT);
        uint8_t out[64];
        size_t got = 12345;
        check(vs_template_render(t, lookup, NULL, out, sizeof out, &got) != 0 && got == 0);
    }
    vs_template_free(t);
    free(text);
    return 0;
}
