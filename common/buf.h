/* A growable byte buffer with checked appends. Used for serialising the
 * store, audit lines and wire frames. Not for secret plaintext: it grows with
 * realloc, which would leave copies behind (see vaultd/core/secmem.h). */
#ifndef VS_BUF_H
#define VS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct vs_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t limit; /* appends past this fail with VS_ETOOBIG; 0 = SIZE_MAX/2 */
    int err;      /* first failure, sticky: check once at the end */
};

void vs_buf_init(struct vs_buf *b, size_t limit);
void vs_buf_free(struct vs_buf *b);
int vs_buf_reserve(struct vs_buf *b, size_t extra);
int vs_buf_put(struct vs_buf *b, const void *data, size_t len);
int vs_buf_put_u8(struct vs_buf *b, uint8_t v);
int vs_buf_put_u16(struct vs_buf *b, uint16_t v); /* little-endian */
int vs_buf_put_u32(struct vs_buf *b, uint32_t v);
int vs_buf_put_u64(struct vs_buf *b, uint64_t v);
int vs_buf_put_str(struct vs_buf *b, const char *s);
/* Short text is formatted on the stack first and not wiped there: never
 * a secret value (names, numbers, paths only). */
int vs_buf_printf(struct vs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as the body of a JSON string (no quotes): escapes '"', '\\' and
 * control bytes, so a name or path can never break the line it is in. */
int vs_buf_put_json_str(struct vs_buf *b, const char *s);

/* The value of one hex digit (either case), or -1. */
int vs_hex_digit(char c);

/* A bounds-checked reader over a byte range: every get fails once the data
 * runs out, and the failure is sticky (check r.err once at the end). */
struct vs_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    int err;
};

void vs_reader_init(struct vs_reader *r, const void *data, size_t len);
int vs_get(struct vs_reader *r, void *out, size_t len);
const uint8_t *vs_get_ptr(struct vs_reader *r, size_t len); /* NULL when short */
uint8_t vs_get_u8(struct vs_reader *r);
uint16_t vs_get_u16(struct vs_reader *r);
uint32_t vs_get_u32(struct vs_reader *r);
uint64_t vs_get_u64(struct vs_reader *r);
size_t vs_reader_left(const struct vs_reader *r);

#endif
