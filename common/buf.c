#include "buf.h"

#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vs_buf_init(struct vs_buf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit != 0 ? limit : SIZE_MAX / 2;
}

void vs_buf_free(struct vs_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int vs_buf_reserve(struct vs_buf *b, size_t extra)
{
    if (b->err != 0)
        return b->err;
    if (extra > b->limit - b->len)
        return b->err = VS_ETOOBIG;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap != 0 ? b->cap : 256;
    while (cap < need)
        cap = cap > b->limit / 2 ? b->limit : cap * 2;
    uint8_t *grown = realloc(b->data, cap);
    if (grown == NULL)
        return b->err = VS_ENOMEM;
    b->data = grown;
    b->cap = cap;
    return 0;
}

int vs_buf_put(struct vs_buf *b, const void *data, size_t len)
{
    int rc = vs_buf_reserve(b, len);
    if (rc != 0)
        return rc;
    if (len != 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int vs_buf_put_u8(struct vs_buf *b, uint8_t v)
{
    return vs_buf_put(b, &v, 1);
}

static int put_le(struct vs_buf *b, uint64_t v, size_t width)
{
    uint8_t bytes[8];
    for (size_t i = 0; i < width; i++)
        bytes[i] = (uint8_t)(v >> (8 * i));
    return vs_buf_put(b, bytes, width);
}

int vs_buf_put_u16(struct vs_buf *b, uint16_t v) { return put_le(b, v, 2); }
int vs_buf_put_u32(struct vs_buf *b, uint32_t v) { return put_le(b, v, 4); }
int vs_buf_put_u64(struct vs_buf *b, uint64_t v) { return put_le(b, v, 8); }

int vs_buf_put_str(struct vs_buf *b, const char *s)
{
    return vs_buf_put(b, s, strlen(s));
}

int vs_buf_printf(struct vs_buf *b, const char *fmt, ...)
{
    /* One formatting pass when the text is short (audit fields, log
     * lines): vaultd formats several per grant, and measuring first
     * doubled the cost. Longer text is formatted again, into the buffer. */
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return b->err = VS_EINVAL;
    if ((size_t)n < sizeof small) {
        int rc = vs_buf_put(b, small, (size_t)n + 1); /* the NUL too, as below */
        if (rc == 0)
            b->len--;
        return rc;
    }
    int rc = vs_buf_reserve(b, (size_t)n + 1);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    (void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int vs_buf_put_json_str(struct vs_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        int rc;
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            rc = vs_buf_put(b, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            rc = vs_buf_printf(b, "\\u%04x", *p);
        } else {
            rc = vs_buf_put_u8(b, *p);
        }
        if (rc != 0)
            return rc;
    }
    return b->err;
}

int vs_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void vs_reader_init(struct vs_reader *r, const void *data, size_t len)
{
    r->data = data;
    r->len = len;
    r->pos = 0;
    r->err = 0;
}

size_t vs_reader_left(const struct vs_reader *r)
{
    return r->err != 0 ? 0 : r->len - r->pos;
}

const uint8_t *vs_get_ptr(struct vs_reader *r, size_t len)
{
    if (r->err != 0 || len > r->len - r->pos) {
        r->err = VS_ECORRUPT;
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += len;
    return p;
}

int vs_get(struct vs_reader *r, void *out, size_t len)
{
    const uint8_t *p = vs_get_ptr(r, len);
    if (p == NULL) {
        memset(out, 0, len);
        return r->err;
    }
    memcpy(out, p, len);
    return 0;
}

static uint64_t get_le(struct vs_reader *r, size_t width)
{
    const uint8_t *p = vs_get_ptr(r, width);
    uint64_t v = 0;
    if (p == NULL)
        return 0;
    for (size_t i = 0; i < width; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t vs_get_u8(struct vs_reader *r) { return (uint8_t)get_le(r, 1); }
uint16_t vs_get_u16(struct vs_reader *r) { return (uint16_t)get_le(r, 2); }
uint32_t vs_get_u32(struct vs_reader *r) { return (uint32_t)get_le(r, 4); }
uint64_t vs_get_u64(struct vs_reader *r) { return get_le(r, 8); }
