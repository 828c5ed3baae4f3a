/* libFuzzer target for the masking engine (vaultd/exec/mask.c).
 * Input: byte 0 picks the number of values (1..4) and byte 1 seeds the
 * piece sizes; then each value as a length byte (4..35) and its bytes;
 * the rest is the stream. The stream is fed in pseudo-random pieces (empty
 * ones included) with idle-free flushes only at the end, and the output
 * must equal the naive reference masking of the whole stream
 * (tests/unit/mask_ref.h), with the same mask count, the hold-back within
 * its bound after every feed, and no raw value left in the output (unless
 * the value has a '*', which the mask itself can spell).
 * Built by tests/fuzz/fuzz.mk; by hand:
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Icommon \
 *     -Ivaultd/exec tests/fuzz/fuzz_mask.c vaultd/exec/mask*.c common/[a-z]*.c \
 *     -lsodium -o /tmp/fuzz_mask */
#include "../unit/mask_ref.h"
#include "mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
    abort();
}
#define check(c) ((c) ? (void)0 : fail(__LINE__, #c))

struct out {
    uint8_t *data;
    size_t len, cap;
};

static int sink(void *ctx, const uint8_t *data, size_t len)
{
    struct out *o = ctx;
    if (o->len + len > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + len)
            cap *= 2;
        uint8_t *p = realloc(o->data, cap);
        check(p != NULL);
        o->data = p, o->cap = cap;
    }
    memcpy(o->data + o->len, data, len);
    o->len += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4096)
        return 0;
    size_t nv = 1 + data[0] % 4, off = 2;
    uint32_t seed = data[1] * 2654435761u + 1;
    struct vs_mask_value v[4];
    size_t got = 0;
    while (got < nv && off < size) {
        size_t len = 4 + data[off++] % 32;
        if (len > size - off)
            break;
        v[got++] = (struct vs_mask_value){data + off, len};
        off += len;
    }
    if (got == 0)
        return 0;
    const uint8_t *s = data + off;
    size_t n = size - off;

    struct vs_masker *m = NULL;
    check(vs_masker_new(v, got, &m) == 0 && m != NULL);
    struct out o = {0};
    for (size_t at = 0; at < n;) {
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        size_t take = seed % 24;
        if (take > n - at)
            take = n - at;
        check(vs_masker_feed(m, s + at, take, sink, &o) == 0);
        check(vs_masker_pending(m) <= vs_masker_bound(m));
        at += take;
    }
    check(vs_masker_flush(m, sink, &o) == 0);
    check(vs_masker_pending(m) == 0);

    uint8_t *ref;
    size_t ref_len;
    uint64_t ref_masks;
    check(ref_mask(v, got, s, n, &ref, &ref_len, &ref_masks) == 0);
    check(o.len == ref_len && (ref_len == 0 || memcmp(o.data, ref, ref_len) == 0));
    check(vs_masker_count(m) == ref_masks);
    for (size_t i = 0; i < got; i++)
        if (memchr(v[i].data, '*', v[i].len) == NULL)
            check(o.len < v[i].len || memmem(o.data, o.len, v[i].data, v[i].len) == NULL);
    free(ref);
    free(o.data);
    vs_masker_free(m);
    return 0;
}
