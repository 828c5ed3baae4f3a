/* shim/strmem.c, the shim's own memory and string functions, against
 * libc's: every function on every length up to a few words, at every
 * alignment, on bytes with the high bit set, with the edge cases of each
 * contract (n == 0, the terminator searched for, an empty needle or
 * reject set, c beyond a byte, overlapping moves both ways), and that no
 * byte outside the destination is written. The file is compiled in with
 * its names prefixed, so libc's stay the reference. */
#include "testutil.h"

#define VS_STRFN(name) shim_##name
#define VS_STRAPI static
#include "../../shim/strmem.c"

#define BUF 160
#define GUARD 0x5a

static uint32_t rng = 2463534242u;

static unsigned char next_byte(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (unsigned char)rng;
}

/* A byte from a small alphabet (so that searches and compares hit), one
 * of them with the high bit set; never 0. */
static char small_alphabet(void)
{
    static const char letters[] = {'a', 'b', 'c', '/', (char)0xe9};
    return letters[next_byte() % sizeof letters];
}

static int sign(long v)
{
    return (v > 0) - (v < 0);
}

static void fill_random(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = next_byte();
}

static void memcpy_and_memset_write_exactly_their_bytes(void **state)
{
    (void)state;
    unsigned char src[BUF], a[BUF], b[BUF];
    for (size_t n = 0; n <= 70; n++)
        for (size_t so = 0; so < 9; so++)
            for (size_t doff = 0; doff < 9; doff++) {
                fill_random(src, sizeof src);
                memset(a, GUARD, sizeof a);
                memset(b, GUARD, sizeof b);
                assert_ptr_equal(shim_memcpy(a + doff, src + so, n), a + doff);
                memcpy(b + doff, src + so, n);
                assert_memory_equal(a, b, sizeof a);
            }
    const int fills[] = {0, 'x', 0xff, 0x1ab, -1, -200};
    for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++)
        for (size_t n = 0; n <= 70; n++)
            for (size_t doff = 0; doff < 9; doff++) {
                memset(a, GUARD, sizeof a);
                memset(b, GUARD, sizeof b);
                assert_ptr_equal(shim_memset(a + doff, fills[f], n), a + doff);
                memset(b + doff, fills[f], n);
                assert_memory_equal(a, b, sizeof a);
            }
}

static void memmove_overlaps_both_ways(void **state)
{
    (void)state;
    unsigned char a[BUF], b[BUF];
    for (size_t n = 0; n <= 70; n++)
        for (int shift = -17; shift <= 17; shift++) {
            fill_random(a, sizeof a);
            memcpy(b, a, sizeof a);
            size_t from = 40, to = (size_t)(40 + shift);
            assert_ptr_equal(shim_memmove(a + to, a + from, n), a + to);
            memmove(b + to, b + from, n);
            assert_memory_equal(a, b, sizeof a);
        }
}

static void memcmp_orders_bytes_unsigned(void **state)
{
    (void)state;
    unsigned char a[BUF], b[BUF];
    for (int round = 0; round < 4000; round++) {
        size_t n = next_byte() % 70;
        fill_random(a, n);
        memcpy(b, a, n);
        if (n > 0 && round % 4 != 0)
            b[next_byte() % n] = next_byte(); /* high bytes included */
        assert_int_equal(sign(shim_memcmp(a, b, n)), sign(memcmp(a, b, n)));
        assert_int_equal(sign(shim_memcmp(b, a, n)), sign(memcmp(b, a, n)));
        assert_int_equal(shim_bcmp(a, b, n) != 0, memcmp(a, b, n) != 0);
    }
    assert_int_equal(shim_memcmp("a", "b", 0), 0);
}

static void memchr_and_memrchr_find_first_and_last(void **state)
{
    (void)state;
    unsigned char s[BUF];
    const int wanted[] = {'a', 0xe9, 0x1e9, 0, -23 /* 0xe9 as a byte */, 'z'};
    for (int round = 0; round < 2000; round++) {
        size_t n = next_byte() % 70;
        for (size_t i = 0; i < n; i++)
            s[i] = round % 3 == 0 ? 0 : (unsigned char)small_alphabet();
        for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++) {
            assert_ptr_equal(shim_memchr(s, wanted[w], n), memchr(s, wanted[w], n));
            assert_ptr_equal(shim_memrchr(s, wanted[w], n), memrchr(s, wanted[w], n));
        }
    }
}

/* A random string of len bytes from the small alphabet at buf + off. */
static char *random_string(char *buf, size_t off, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[off + i] = small_alphabet();
    buf[off + len] = '\0';
    return buf + off;
}

static void strlen_and_strnlen_at_every_alignment(void **state)
{
    (void)state;
    char buf[BUF];
    for (size_t len = 0; len <= 70; len++)
        for (size_t off = 0; off < 9; off++) {
            char *s = random_string(buf, off, len);
            assert_int_equal(shim_strlen(s), strlen(s));
            for (size_t max = 0; max <= len + 2; max++)
                assert_int_equal(shim_strnlen(s, max), strnlen(s, max));
        }
}

/* Each length of heap string from each offset: the word reads start
 * before and end after the bytes asked about. */
static void strlen_of_heap_strings(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 40; n++) {
        char *s = malloc(n + 1);
        assert_non_null(s);
        for (size_t i = 0; i < n; i++)
            s[i] = small_alphabet();
        s[n] = '\0';
        for (size_t off = 0; off <= n; off++)
            assert_int_equal(shim_strlen(s + off), n - off);
        free(s);
    }
}

static void strcmp_and_strncmp_order_unsigned(void **state)
{
    (void)state;
    char a[BUF], b[BUF];
    for (int round = 0; round < 4000; round++) {
        size_t la = next_byte() % 12, lb = round % 2 ? la : next_byte() % 12;
        char *x = random_string(a, next_byte() % 8, la);
        char *y = random_string(b, next_byte() % 8, lb);
        if (round % 5 == 0)
            memcpy(y, x, (la < lb ? la : lb)); /* one a prefix of the other */
        assert_int_equal(sign(shim_strcmp(x, y)), sign(strcmp(x, y)));
        for (size_t n = 0; n <= 14; n++)
            assert_int_equal(sign(shim_strncmp(x, y, n)), sign(strncmp(x, y, n)));
    }
    assert_int_equal(shim_strcmp("", ""), 0);
    assert_true(shim_strcmp("\xe9", "a") > 0); /* unsigned, as libc */
}

static void strchr_and_strrchr_include_the_terminator(void **state)
{
    (void)state;
    char buf[BUF];
    const int wanted[] = {'a', '/', 0xe9, -23, 0, 0x161 /* 'a' as a char */, 'z'};
    for (int round = 0; round < 2000; round++) {
        char *s = random_string(buf, next_byte() % 8, next_byte() % 40);
        for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++) {
            assert_ptr_equal(shim_strchr(s, wanted[w]), strchr(s, wanted[w]));
            assert_ptr_equal(shim_strrchr(s, wanted[w]), strrchr(s, wanted[w]));
        }
    }
}

static void strcspn_and_strstr_match_libc(void **state)
{
    (void)state;
    char buf[BUF], nbuf[32];
    for (int round = 0; round < 4000; round++) {
        char *s = random_string(buf, next_byte() % 8, next_byte() % 40);
        char *needle = random_string(nbuf, 0, next_byte() % 5); /* "" included */
        assert_int_equal(shim_strcspn(s, needle), strcspn(s, needle));
        assert_ptr_equal(shim_strstr(s, needle), strstr(s, needle));
    }
    const char *h = "aaab/node";
    assert_ptr_equal(shim_strstr(h, "aab"), h + 1);
    assert_ptr_equal(shim_strstr(h, "/node"), h + 4);
    assert_null(shim_strstr("ab", "abc"));
    assert_ptr_equal(shim_strstr(h, ""), h);
    assert_int_equal(shim_strcspn(h, ""), strlen(h));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memcpy_and_memset_write_exactly_their_bytes),
        cmocka_unit_test(memmove_overlaps_both_ways),
        cmocka_unit_test(memcmp_orders_bytes_unsigned),
        cmocka_unit_test(memchr_and_memrchr_find_first_and_last),
        cmocka_unit_test(strlen_and_strnlen_at_every_alignment),
        cmocka_unit_test(strlen_of_heap_strings),
        cmocka_unit_test(strcmp_and_strncmp_order_unsigned),
        cmocka_unit_test(strchr_and_strrchr_include_the_terminator),
        cmocka_unit_test(strcspn_and_strstr_match_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
