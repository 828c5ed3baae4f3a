/* Shared fixtures for the unit tests: temp folders, fake key material.
 * Values used here are generated fakes; tests compare bytes, never print. */
#ifndef VS_TESTUTIL_H
#define VS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh private temp folder; rm -rf'd by tu_rmdir. */
static inline char *tu_tempdir(void)
{
    char *path = strdup("/tmp/vs-unit-XXXXXX");
    assert_non_null(path);
    assert_non_null(mkdtemp(path));
    return path;
}

static inline void tu_rmdir(char *path)
{
    char cmd[256];
    int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    assert_int_equal(system(cmd), 0);
    free(path);
}

/* Fills buf with a printable fake token, different for each seed. */
static inline void tu_fake_token(char *buf, size_t len, unsigned seed)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i + 1 < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = alphabet[x % (sizeof alphabet - 1)];
    }
    buf[len - 1] = '\0';
}

static inline uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    uint8_t *data = malloc((size_t)size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return data;
}

static inline void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

#endif
