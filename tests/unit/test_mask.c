/* The masking engine (vaultd/exec/mask.c): each encoded form of a
 * generated value is masked, whatever the split of the stream; overlaps
 * merge; binary without a value passes byte for byte; memory is bounded;
 * and on random inputs the streaming engine agrees with a naive reference
 * that sees the whole stream at once (mask_ref.h). Values are generated
 * fakes; failures report lengths and offsets, never bytes. */
#include "testutil.h"

#include "error.h"
#include "mask.h"
#include "mask_ref.h"

#include <sodium.h>

struct buf {
    uint8_t *data;
    size_t len, cap;
};

static int sink(void *ctx, const uint8_t *data, size_t len)
{
    struct buf *b = ctx;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        b->data = realloc(b->data, cap);
        assert_non_null(b->data);
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static bool contains(const struct buf *b, const void *needle, size_t n)
{
    return n <= b->len && memmem(b->data, b->len, needle, n) != NULL;
}

static struct vs_masker *masker(const struct vs_mask_value *v, size_t n)
{
    struct vs_masker *m = NULL;
    assert_int_equal(vs_masker_new(v, n, &m), 0);
    assert_non_null(m);
    return m;
}

/* Feeds s in pieces of the given sizes (the last piece takes the rest),
 * then flushes; checks the hold-back bound after every feed. */
static void feed_pieces(struct vs_masker *m, const uint8_t *s, size_t n, const size_t *pieces, size_t npieces,
                        struct buf *out)
{
    size_t off = 0;
    for (size_t i = 0; off < n; i++) {
        size_t take = i < npieces && pieces[i] < n - off ? pieces[i] : n - off;
        assert_int_equal(vs_masker_feed(m, s + off, take, sink, out), 0);
        assert_true(vs_masker_pending(m) <= vs_masker_bound(m));
        off += take;
    }
    assert_int_equal(vs_masker_flush(m, sink, out), 0);
    assert_int_equal(vs_masker_pending(m), 0);
}

static void mask_whole(struct vs_masker *m, const uint8_t *s, size_t n, struct buf *out)
{
    feed_pieces(m, s, n, NULL, 0, out);
}

/* The stream fed whole, in two pieces at every split point, and byte by
 * byte all give the same output, which equals the reference's. */
static void all_splits_agree(const struct vs_mask_value *v, size_t nv, const uint8_t *s, size_t n)
{
    struct vs_masker *m = masker(v, nv);
    struct buf whole = {0};
    mask_whole(m, s, n, &whole);
    uint8_t *ref;
    size_t ref_len;
    uint64_t ref_masks;
    assert_int_equal(ref_mask(v, nv, s, n, &ref, &ref_len, &ref_masks), 0);
    assert_int_equal(whole.len, ref_len);
    assert_memory_equal(whole.data, ref, ref_len);
    assert_int_equal(vs_masker_count(m), ref_masks);
    for (size_t split = 0; split <= n; split++) {
        struct buf two = {0};
        size_t pieces[1] = {split};
        feed_pieces(m, s, n, pieces, 1, &two);
        if (two.len != whole.len || memcmp(two.data, whole.data, whole.len) != 0)
            fail_msg("split at offset %zu of %zu differs from the whole", split, n);
        free(two.data);
    }
    size_t *ones = malloc((n ? n : 1) * sizeof *ones);
    assert_non_null(ones);
    for (size_t i = 0; i < n; i++)
        ones[i] = 1;
    struct buf bytes = {0};
    feed_pieces(m, s, n, ones, n, &bytes);
    assert_int_equal(bytes.len, whole.len);
    assert_memory_equal(bytes.data, whole.data, whole.len);
    free(ones);
    free(bytes.data);
    free(ref);
    free(whole.data);
    vs_masker_free(m);
}

/* "text " + encoded + " more": masked, the text around it intact, none of
 * the encoded run left but the given number of edge characters. */
static void masked_in_text(const struct vs_mask_value *v, const char *encoded, size_t keep_before,
                           size_t keep_after)
{
    char stream[2048];
    int n = snprintf(stream, sizeof stream, "text %s more", encoded);
    assert_true(n > 0 && (size_t)n < sizeof stream);
    size_t elen = strlen(encoded);
    char want[2048];
    int w = snprintf(want, sizeof want, "text %.*s********%s more", (int)keep_before, encoded,
                     encoded + elen - keep_after);
    assert_true(w > 0 && (size_t)w < sizeof want);
    struct vs_masker *m = masker(v, 1);
    struct buf out = {0};
    mask_whole(m, (const uint8_t *)stream, (size_t)n, &out);
    if (out.len != (size_t)w || memcmp(out.data, want, (size_t)w) != 0)
        fail_msg("form of %zu chars: masked output of %zu bytes is not the expected %d", elen, out.len, w);
    free(out.data);
    vs_masker_free(m);
    all_splits_agree(v, 1, (const uint8_t *)stream, (size_t)n);
}

static char *b64(const uint8_t *bin, size_t len, int variant)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, variant);
    char *s = malloc(cap);
    assert_non_null(s);
    assert_non_null(sodium_bin2base64(s, cap, bin, len, variant));
    return s;
}

static void raw_hex_and_standalone_base64(void **state)
{
    (void)state;
    char tok[41];
    tu_fake_token(tok, sizeof tok, 1);
    struct vs_mask_value v = {(const uint8_t *)tok, 40};
    masked_in_text(&v, tok, 0, 0);
    char hex[81];
    sodium_bin2hex(hex, sizeof hex, v.data, v.len);
    masked_in_text(&v, hex, 0, 0);
    for (char *p = hex; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    masked_in_text(&v, hex, 0, 0);
    int variants[] = {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    for (size_t len = 38; len <= 40; len++) { /* the three lengths mod 3: padding 0, 1 and 2 */
        struct vs_mask_value vl = {(const uint8_t *)tok, len};
        for (size_t k = 0; k < 4; k++) {
            char *e = b64(vl.data, len, variants[k]);
            masked_in_text(&vl, e, 0, 0);
            free(e);
        }
    }
}

/* The value inside a longer base64 run at offsets 0, 1 and 2 mod 3: every
 * character made only of the value's bits is masked; the edge characters
 * that mix in the neighbours' bits stay. */
static void base64_three_alignments(void **state)
{
    (void)state;
    char tok[41];
    tu_fake_token(tok, sizeof tok, 2);
    struct vs_mask_value v = {(const uint8_t *)tok, 40};
    int variants[] = {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_URLSAFE};
    for (size_t k = 0; k < 2; k++)
        for (size_t lead = 0; lead < 3; lead++) {
            uint8_t bin[64];
            size_t pre = 3 + lead; /* three whole groups before, then the alignment */
            memset(bin, 0xfb, pre);
            memcpy(bin + pre, tok, 40);
            memset(bin + pre + 40, 0xfe, 4);
            char *e = b64(bin, pre + 44, variants[k]);
            size_t first = (8 * pre + 5) / 6, end = (8 * (pre + 40)) / 6;
            masked_in_text(&v, e, first, strlen(e) - end);
            free(e);
        }
}

/* A value with characters every escaping scheme touches. */
static const char SPECIAL[] = "tk/\"q\\\xc3\xa9\n<&>Ab~!*'()+ =\x01\xf0\x9f\x94\x91z";

static void url_encoded(void **state)
{
    (void)state;
    struct vs_mask_value v = {(const uint8_t *)SPECIAL, sizeof SPECIAL - 1};
    /* encodeURIComponent, upper and lower hex */
    masked_in_text(&v, "tk%2F%22q%5C%C3%A9%0A%3C%26%3EAb~!*'()%2B%20%3D%01%F0%9F%94%91z", 0, 0);
    masked_in_text(&v, "tk%2f%22q%5c%c3%a9%0a%3c%26%3eAb~!*'()%2b%20%3d%01%f0%9f%94%91z", 0, 0);
    /* RFC 3986 unreserved only (Python's quote(safe=''), curl --data-urlencode) */
    masked_in_text(&v, "tk%2F%22q%5C%C3%A9%0A%3C%26%3EAb~%21%2A%27%28%29%2B%20%3D%01%F0%9F%94%91z", 0, 0);
}

static void json_escaped(void **state)
{
    (void)state;
    struct vs_mask_value v = {(const uint8_t *)SPECIAL, sizeof SPECIAL - 1};
    /* JSON.stringify / serde: UTF-8 kept, "/" as is */
    masked_in_text(&v, "tk/\\\"q\\\\\xc3\xa9\\n<&>Ab~!*'()+ =\\u0001\xf0\x9f\x94\x91z", 0, 0);
    /* PHP json_encode: "\/" and \uXXXX */
    masked_in_text(&v, "tk\\/\\\"q\\\\\\u00e9\\n<&>Ab~!*'()+ =\\u0001\\ud83d\\udd11z", 0, 0);
    /* Python json.dumps (ensure_ascii) */
    masked_in_text(&v, "tk/\\\"q\\\\\\u00e9\\n<&>Ab~!*'()+ =\\u0001\\ud83d\\udd11z", 0, 0);
    /* upper-case \uXXXX (Jackson and others) */
    masked_in_text(&v, "tk/\\\"q\\\\\\u00E9\\n<&>Ab~!*'()+ =\\u0001\\uD83D\\uDD11z", 0, 0);
    /* Go encoding/json: HTML-safe escapes */
    masked_in_text(&v, "tk/\\\"q\\\\\xc3\xa9\\n\\u003c\\u0026\\u003eAb~!*'()+ =\\u0001\xf0\x9f\x94\x91z", 0, 0);
}

static void overlapping_and_adjacent_merge(void **state)
{
    (void)state;
    struct vs_mask_value v[2] = {{(const uint8_t *)"abcdefgh", 8}, {(const uint8_t *)"efghijkl", 8}};
    struct vs_masker *m = masker(v, 2);
    struct {
        const char *in, *want;
        uint64_t masks;
    } cases[] = {
        {"[abcdefghijkl]", "[********]", 1},     /* overlapping */
        {"[abcdefghefghijkl]", "[********]", 1}, /* touching */
        {"[abcdefgh-efghijkl]", "[********-********]", 2},
        {"[abcdefgabcdefgh]", "[abcdefg********]", 1}, /* a false start, then the value */
        {"[abcdefabcdefgh]", "[abcdef********]", 1},
        {"abcdefg", "abcdefg", 0}, /* a prefix at the end: held, then flushed as is */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf out = {0};
        uint64_t before = vs_masker_count(m);
        mask_whole(m, (const uint8_t *)cases[i].in, strlen(cases[i].in), &out);
        assert_int_equal(out.len, strlen(cases[i].want));
        assert_memory_equal(out.data, cases[i].want, out.len);
        assert_int_equal(vs_masker_count(m) - before, cases[i].masks);
        all_splits_agree(v, 2, (const uint8_t *)cases[i].in, strlen(cases[i].in));
        free(out.data);
    }
    vs_masker_free(m);
}

/* 1 MB of random bytes and 20 generated values: the output is the input,
 * byte for byte, whatever the piece sizes; the hold-back stays bounded. */
static void binary_passes_unchanged(void **state)
{
    (void)state;
    char toks[20][41];
    struct vs_mask_value v[20];
    for (unsigned i = 0; i < 20; i++) {
        tu_fake_token(toks[i], sizeof toks[i], 100 + i);
        v[i] = (struct vs_mask_value){(const uint8_t *)toks[i], 40};
    }
    size_t n = 1 << 20;
    uint8_t *s = malloc(n);
    assert_non_null(s);
    randombytes_buf(s, n);
    struct vs_masker *m = masker(v, 20);
    size_t pieces[64];
    for (size_t i = 0; i < 64; i++)
        pieces[i] = 1 + randombytes_uniform(70000);
    struct buf out = {0};
    feed_pieces(m, s, n, pieces, 64, &out);
    assert_int_equal(out.len, n);
    assert_int_equal(memcmp(out.data, s, n), 0);
    assert_int_equal(vs_masker_count(m), 0);
    free(out.data);
    free(s);
    vs_masker_free(m);
}

static void bounded_hold_back(void **state)
{
    (void)state;
    char tok[41];
    tu_fake_token(tok, sizeof tok, 7);
    struct vs_mask_value v = {(const uint8_t *)tok, 40};
    struct vs_masker *m = masker(&v, 1);
    /* the longest form: JSON/URL of plain letters is the raw value; hex is 80 */
    assert_int_equal(vs_masker_bound(m), 79);
    struct buf out = {0};
    char hex[81];
    sodium_bin2hex(hex, sizeof hex, v.data, v.len);
    /* a hex run that stops one digit short is held whole: 79 bytes, no more */
    for (size_t i = 0; i < 79; i++) {
        assert_int_equal(vs_masker_feed(m, (const uint8_t *)hex + i, 1, sink, &out), 0);
        assert_int_equal(vs_masker_pending(m), i + 1);
    }
    assert_int_equal(out.len, 0);
    /* a byte that ends no prefix releases it all */
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"#", 1, sink, &out), 0);
    assert_int_equal(vs_masker_pending(m), 0);
    assert_int_equal(out.len, 80);
    assert_memory_equal(out.data, hex, 79);
    /* text that begins no pattern is never held */
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"#%$ ", 4, sink, &out), 0);
    assert_int_equal(vs_masker_pending(m), 0);
    free(out.data);
    vs_masker_free(m);
}

static void flush_ends_the_stream(void **state)
{
    (void)state;
    struct vs_mask_value v = {(const uint8_t *)"s3cr3tvalue", 11};
    struct vs_masker *m = masker(&v, 1);
    struct buf out = {0};
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"a s3cr3t", 8, sink, &out), 0);
    assert_int_equal(vs_masker_pending(m), 6);
    assert_int_equal(vs_masker_flush(m, sink, &out), 0);
    assert_int_equal(vs_masker_pending(m), 0);
    /* a fresh stream: the rest alone is not the value */
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"value s3cr3tvalue!", 18, sink, &out), 0);
    assert_int_equal(vs_masker_flush(m, sink, &out), 0);
    assert_int_equal(out.len, strlen("a s3cr3tvalue ********!"));
    assert_memory_equal(out.data, "a s3cr3tvalue ********!", out.len);
    assert_int_equal(vs_masker_flush(m, sink, &out), 0); /* flushing nothing writes nothing */
    assert_int_equal(out.len, strlen("a s3cr3tvalue ********!"));
    free(out.data);
    vs_masker_free(m);
}

/* Idle: a short partial match (a prompt ending like a value's start) is
 * let go; the rest of a value after it is still masked; a long one stays. */
static void idle_releases_short_holds(void **state)
{
    (void)state;
    struct vs_mask_value v = {(const uint8_t *)"zq9Xv0bQwL", 10};
    struct vs_masker *m = masker(&v, 1);
    struct buf out = {0};
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"Token? zq9", 10, sink, &out), 0);
    assert_int_equal(vs_masker_pending(m), 3);
    assert_int_equal(vs_masker_idle(m, sink, &out), 0);
    assert_int_equal(vs_masker_pending(m), 0);
    assert_int_equal(out.len, 10);
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"Xv0bQwL.", 8, sink, &out), 0);
    assert_int_equal(vs_masker_flush(m, sink, &out), 0);
    assert_int_equal(out.len, strlen("Token? zq9********."));
    assert_memory_equal(out.data, "Token? zq9********.", out.len);
    out.len = 0;
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"> zq9Xv0bQw", 11, sink, &out), 0);
    assert_int_equal(vs_masker_pending(m), 9);
    assert_int_equal(vs_masker_idle(m, sink, &out), 0);
    assert_int_equal(vs_masker_pending(m), 9); /* a value being written: kept */
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"L", 1, sink, &out), 0);
    assert_int_equal(vs_masker_flush(m, sink, &out), 0);
    assert_int_equal(out.len, strlen("> ********"));
    assert_memory_equal(out.data, "> ********", out.len);
    /* written a byte at a time with a pause after each: the first 7 bytes
     * go out, the partial match then holds the rest */
    out.len = 0;
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(vs_masker_feed(m, v.data + i, 1, sink, &out), 0);
        assert_int_equal(vs_masker_idle(m, sink, &out), 0);
        assert_int_equal(out.len, i < 7 ? i + 1 : (i < 9 ? 7 : 15));
    }
    assert_memory_equal(out.data, "zq9Xv0b********", 15);
    free(out.data);
    vs_masker_free(m);
}

/* A value using every byte value: 256 byte classes, no class left over for
 * "no pattern byte"; its raw and hex forms are still found, and a stream of
 * other arrangements of the same bytes passes. */
static void value_with_every_byte(void **state)
{
    (void)state;
    uint8_t all[256], other[512];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)(255 - i), other[i] = (uint8_t)i, other[256 + i] = (uint8_t)i;
    struct vs_mask_value v = {all, sizeof all};
    uint8_t s[8 + 256 + 8 + 512];
    memcpy(s, "before: ", 8);
    memcpy(s + 8, all, 256);
    memcpy(s + 264, " after: ", 8);
    memcpy(s + 272, other, 512);
    struct vs_masker *m = masker(&v, 1);
    struct buf out = {0};
    mask_whole(m, s, sizeof s, &out);
    assert_int_equal(out.len, 8 + 8 + 8 + 512);
    assert_memory_equal(out.data + 8, "********", 8);
    assert_memory_equal(out.data + 24, other, 512);
    free(out.data);
    vs_masker_free(m);
    all_splits_agree(&v, 1, s, sizeof s);
}

static void short_values_refused(void **state)
{
    (void)state;
    struct vs_masker *m = (struct vs_masker *)&m;
    struct vs_mask_value v[2] = {{(const uint8_t *)"long enough", 11}, {(const uint8_t *)"abc", 3}};
    assert_int_equal(vs_masker_new(v, 2, &m), VS_EINVAL);
    assert_null(m);
    assert_non_null(strstr(vs_last_error(VS_EINVAL), "value 2 is shorter than 4 bytes"));
    v[1].len = 0;
    assert_int_equal(vs_masker_new(v + 1, 1, &m), VS_EINVAL);
    static uint8_t huge[VS_MASK_MAX_VALUE + 1];
    v[1] = (struct vs_mask_value){huge, sizeof huge};
    assert_int_equal(vs_masker_new(v, 2, &m), VS_ETOOBIG);
    assert_null(m);
    v[1] = (struct vs_mask_value){(const uint8_t *)"abcd", 4};
    assert_int_equal(vs_masker_new(v, 2, &m), 0);
    vs_masker_free(m);
    /* no value at all: everything passes */
    assert_int_equal(vs_masker_new(NULL, 0, &m), 0);
    struct buf out = {0};
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"anything", 8, sink, &out), 0);
    assert_int_equal(vs_masker_pending(m), 0);
    assert_int_equal(out.len, 8);
    free(out.data);
    vs_masker_free(m);
}

static int failing_sink(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx, (void)data, (void)len;
    return VS_EIO;
}

static void sink_error_is_returned(void **state)
{
    (void)state;
    struct vs_mask_value v = {(const uint8_t *)"abcdefgh", 8};
    struct vs_masker *m = masker(&v, 1);
    assert_int_equal(vs_masker_feed(m, (const uint8_t *)"xx abcdefgh yy", 14, failing_sink, NULL), VS_EIO);
    vs_masker_free(m);
}

/* Random values over a small alphabet (so forms overlap and false starts
 * abound), streams mixing noise and forms, fed in random pieces: equal to
 * the reference, and no raw value survives. */
static void agrees_with_reference_on_random_input(void **state)
{
    (void)state;
    static const char alpha[] = "abAB01+/=%\\\"u";
    for (int round = 0; round < 300; round++) {
        size_t nv = 1 + randombytes_uniform(3);
        uint8_t vals[3][12];
        struct vs_mask_value v[3];
        for (size_t i = 0; i < nv; i++) {
            size_t len = 4 + randombytes_uniform(9);
            for (size_t k = 0; k < len; k++)
                vals[i][k] = (uint8_t)alpha[randombytes_uniform(sizeof alpha - 1)];
            v[i] = (struct vs_mask_value){vals[i], len};
        }
        struct ref_patterns forms = {0};
        for (size_t i = 0; i < nv; i++)
            assert_int_equal(vs_mask_forms(v[i].data, v[i].len, ref_add, &forms), 0);
        uint8_t s[1500];
        size_t n = 0;
        while (n < sizeof s - 80) {
            if (randombytes_uniform(3) == 0) {
                size_t f = randombytes_uniform((uint32_t)forms.n);
                size_t cut = randombytes_uniform(4) == 0 ? randombytes_uniform((uint32_t)forms.len[f]) : 0;
                size_t take = forms.len[f] - cut;
                if (take > 72)
                    take = 72;
                memcpy(s + n, forms.p[f] + cut, take);
                n += take;
            } else {
                s[n++] = randombytes_uniform(2) ? (uint8_t)alpha[randombytes_uniform(sizeof alpha - 1)]
                                                : (uint8_t)randombytes_uniform(256);
            }
        }
        ref_free(&forms);
        uint8_t *ref;
        size_t ref_len;
        uint64_t ref_masks;
        assert_int_equal(ref_mask(v, nv, s, n, &ref, &ref_len, &ref_masks), 0);
        struct vs_masker *m = masker(v, nv);
        size_t pieces[200];
        for (size_t i = 0; i < 200; i++)
            pieces[i] = randombytes_uniform(40);
        struct buf out = {0};
        feed_pieces(m, s, n, pieces, 200, &out);
        if (out.len != ref_len || memcmp(out.data, ref, ref_len) != 0)
            fail_msg("round %d: streaming output (%zu bytes) differs from the reference (%zu)", round, out.len,
                     ref_len);
        assert_int_equal(vs_masker_count(m), ref_masks);
        for (size_t i = 0; i < nv; i++)
            assert_false(contains(&out, v[i].data, v[i].len));
        free(out.data);
        free(ref);
        vs_masker_free(m);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raw_hex_and_standalone_base64),
        cmocka_unit_test(base64_three_alignments),
        cmocka_unit_test(url_encoded),
        cmocka_unit_test(json_escaped),
        cmocka_unit_test(overlapping_and_adjacent_merge),
        cmocka_unit_test(binary_passes_unchanged),
        cmocka_unit_test(bounded_hold_back),
        cmocka_unit_test(flush_ends_the_stream),
        cmocka_unit_test(idle_releases_short_holds),
        cmocka_unit_test(value_with_every_byte),
        cmocka_unit_test(short_values_refused),
        cmocka_unit_test(sink_error_is_returned),
        cmocka_unit_test(agrees_with_reference_on_random_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
