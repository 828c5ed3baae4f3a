/* make bench: throughput of vault-exec's masking engine in memory.
 *
 *   vsbench-mask MB R     R interleaved rounds of: MB megabytes of random
 *                         binary, then of log-like text (letters, digits,
 *                         punctuation, one value form every ~64 KiB), fed
 *                         in 64 KiB reads through a masker of 20 generated
 *                         40-byte values; and a plain copy of the same bytes
 *                         (the floor of any relay)
 *
 * Output: "mask binary MBps X", "mask text MBps X", "copy MBps X" (medians,
 * megabytes per second of this thread's CPU time) and "mask masks N".
 * Exit 0, or 1. */
#include "mask.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NVALUES 20
#define VALUE_LEN 40
#define CHUNK (64 * 1024)
#define BUF_MB 8

/* CPU time of this thread: on a shared machine the wall clock also counts
 * the time other processes had the core. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static volatile size_t sunk;

static int sink(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    sunk += len + data[0];
    return 0;
}

static void fill_text(uint8_t *b, size_t n, const uint8_t values[][VALUE_LEN])
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789    ,.:=/-_\"{}";
    uint32_t x = randombytes_random() | 1; /* xorshift: one getrandom call per byte would dominate */
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        b[i] = (i % 97 == 96) ? '\n' : (uint8_t)chars[x % (sizeof chars - 1)];
    }
    for (size_t at = 4096, k = 0; at + VALUE_LEN < n; at += 65536, k++)
        memcpy(b + at, values[k % NVALUES], VALUE_LEN);
}

static double run_mask(struct vs_masker *m, const uint8_t *buf, size_t total)
{
    size_t bufsz = (size_t)BUF_MB << 20;
    double t0 = now_s();
    for (size_t done = 0; done < total; done += CHUNK)
        if (vs_masker_feed(m, buf + done % bufsz, CHUNK, sink, NULL) != 0)
            exit(1);
    if (vs_masker_flush(m, sink, NULL) != 0)
        exit(1);
    return (double)total / (1 << 20) / (now_s() - t0);
}

static double run_copy(const uint8_t *buf, size_t total)
{
    static uint8_t dst[CHUNK];
    double t0 = now_s();
    for (size_t done = 0; done < total; done += CHUNK) {
        memcpy(dst, buf + done % ((size_t)BUF_MB << 20), CHUNK);
        sink(NULL, dst, CHUNK);
    }
    return (double)total / (1 << 20) / (now_s() - t0);
}

int main(int argc, char **argv)
{
    if (argc != 3 || sodium_init() < 0) {
        fprintf(stderr, "usage: vsbench-mask MB R\n");
        return 1;
    }
    size_t total = strtoul(argv[1], NULL, 10) << 20, r = strtoul(argv[2], NULL, 10);
    if (total == 0 || r == 0 || r > 99)
        return 1;
    static uint8_t values[NVALUES][VALUE_LEN];
    struct vs_mask_value v[NVALUES];
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < NVALUES; i++) {
        for (size_t k = 0; k < VALUE_LEN; k++)
            values[i][k] = (uint8_t)alnum[randombytes_uniform(sizeof alnum - 1)];
        v[i] = (struct vs_mask_value){values[i], VALUE_LEN};
    }
    struct vs_masker *m;
    if (vs_masker_new(v, NVALUES, &m) != 0)
        return 1;
    size_t bufsz = (size_t)BUF_MB << 20;
    uint8_t *bin = malloc(bufsz), *text = malloc(bufsz);
    if (bin == NULL || text == NULL)
        return 1;
    randombytes_buf(bin, bufsz);
    fill_text(text, bufsz, (const uint8_t(*)[VALUE_LEN])values);
    double mb[100], mt[100], cp[100];
    for (size_t i = 0; i < r; i++) {
        mb[i] = run_mask(m, bin, total);
        mt[i] = run_mask(m, text, total);
        cp[i] = run_copy(bin, total);
    }
    qsort(mb, r, sizeof *mb, cmp_double);
    qsort(mt, r, sizeof *mt, cmp_double);
    qsort(cp, r, sizeof *cp, cmp_double);
    printf("mask binary MBps %.0f\nmask text MBps %.0f\ncopy MBps %.0f\nmask masks %llu\n", mb[r / 2], mt[r / 2],
           cp[r / 2], (unsigned long long)vs_masker_count(m));
    vs_masker_free(m);
    free(bin);
    free(text);
    return 0;
}
