/* The encoded forms of a granted value (see mask_forms.h). Each form is
 * written into one scratch buffer (sodium_malloc'd: it holds the value in
 * another spelling) and handed to the caller; the buffer is wiped and freed
 * at the end. */
#include "mask_forms.h"

#include "error.h"

#include <sodium.h>
#include <stdbool.h>
#include <string.h>

static const char B64_STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char HEX_LOWER[] = "0123456789abcdef";
static const char HEX_UPPER[] = "0123456789ABCDEF";

size_t vs_mask_form_max(size_t len)
{
    /* JSON writes a control byte as \u00XX (6 bytes), the widest form. */
    return 6 * len + 8;
}

struct forms {
    const uint8_t *v;
    size_t len;
    uint8_t *buf; /* vs_mask_form_max(len) bytes */
    vs_mask_form_fn add;
    void *ctx;
};

/* The 6-bit group k of the bit string that is `lead` zero bytes followed
 * by the value and then zero bytes. */
static unsigned sextet(const struct forms *f, size_t lead, size_t k)
{
    size_t bit = 6 * k;
    unsigned acc = 0;
    for (size_t i = bit / 8; i <= (bit + 5) / 8; i++) {
        uint8_t byte = (i >= lead && i - lead < f->len) ? f->v[i - lead] : 0;
        acc = (acc << 8) | byte;
    }
    size_t last_bit_end = ((bit + 5) / 8 + 1) * 8; /* bits in acc end here */
    return (acc >> (last_bit_end - bit - 6)) & 0x3f;
}

/* Base64 of the value at alignment `lead` (0..2) inside a longer run: only
 * the characters made entirely of the value's bits, which are the same
 * whatever surrounds the value. */
static int base64_inner(const struct forms *f, const char *alphabet, size_t lead)
{
    size_t first = (8 * lead + 5) / 6, end = (8 * (lead + f->len)) / 6, n = 0;
    for (size_t k = first; k < end; k++)
        f->buf[n++] = (uint8_t)alphabet[sextet(f, lead, k)];
    return n == 0 ? 0 : f->add(f->ctx, f->buf, n);
}

/* The value encoded on its own: the last character carries zero bits;
 * with '=' padding and without. */
static int base64_whole(const struct forms *f, const char *alphabet)
{
    size_t chars = (8 * f->len + 5) / 6, n = 0;
    for (size_t k = 0; k < chars; k++)
        f->buf[n++] = (uint8_t)alphabet[sextet(f, 0, k)];
    int rc = f->add(f->ctx, f->buf, n);
    while (rc == 0 && n % 4 != 0)
        f->buf[n++] = '=';
    return rc != 0 ? rc : f->add(f->ctx, f->buf, n);
}

static int hex(const struct forms *f, const char *digits)
{
    for (size_t i = 0; i < f->len; i++) {
        f->buf[2 * i] = (uint8_t)digits[f->v[i] >> 4];
        f->buf[2 * i + 1] = (uint8_t)digits[f->v[i] & 0xf];
    }
    return f->add(f->ctx, f->buf, 2 * f->len);
}

static bool alnum(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Percent-encoding; `js` keeps encodeURIComponent's extra marks ! ~ * ' ( )
 * (without it only RFC 3986's unreserved set stays: - . _ ~). */
static int url(const struct forms *f, bool js, const char *digits)
{
    size_t n = 0;
    for (size_t i = 0; i < f->len; i++) {
        uint8_t c = f->v[i];
        if (alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
            (js && (c == '!' || c == '*' || c == '\'' || c == '(' || c == ')'))) {
            f->buf[n++] = c;
        } else {
            f->buf[n++] = '%';
            f->buf[n++] = (uint8_t)digits[c >> 4];
            f->buf[n++] = (uint8_t)digits[c & 0xf];
        }
    }
    return f->add(f->ctx, f->buf, n);
}

/* Decodes one UTF-8 sequence at v[i]; returns its length, 0 when invalid. */
static size_t utf8_decode(const uint8_t *v, size_t len, size_t i, uint32_t *cp)
{
    uint8_t c = v[i];
    size_t n;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80, *cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, *cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, *cp = c & 0x07;
    } else {
        return 0;
    }
    if (len - i < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((v[i + k] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (v[i + k] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

static size_t put_u(uint8_t *out, uint32_t unit, const char *digits)
{
    out[0] = '\\', out[1] = 'u';
    for (int k = 0; k < 4; k++)
        out[2 + k] = (uint8_t)digits[(unit >> (12 - 4 * k)) & 0xf];
    return 6;
}

enum json_unicode { JSON_UTF8, JSON_ASCII_LOWER, JSON_ASCII_UPPER };

/* The value as a JSON string's contents. Returns 0 without a form when the
 * value is not UTF-8 and the mode must decode it. */
static int json(const struct forms *f, bool slash, enum json_unicode mode, bool html)
{
    const char *digits = mode == JSON_ASCII_UPPER ? HEX_UPPER : HEX_LOWER;
    size_t n = 0;
    for (size_t i = 0; i < f->len;) {
        uint32_t cp;
        size_t w = utf8_decode(f->v, f->len, i, &cp);
        if (w == 0) {
            if (mode != JSON_UTF8)
                return 0;
            f->buf[n++] = f->v[i++]; /* encoders that pass bytes through */
            continue;
        }
        const char *two = NULL;
        switch (cp) {
        case '"': two = "\\\""; break;
        case '\\': two = "\\\\"; break;
        case '\b': two = "\\b"; break;
        case '\f': two = "\\f"; break;
        case '\n': two = "\\n"; break;
        case '\r': two = "\\r"; break;
        case '\t': two = "\\t"; break;
        case '/': two = slash ? "\\/" : NULL; break;
        default: break;
        }
        if (two != NULL) {
            f->buf[n++] = (uint8_t)two[0], f->buf[n++] = (uint8_t)two[1];
        } else if (cp < 0x20 || (html && (cp == '<' || cp == '>' || cp == '&' || cp == 0x2028 || cp == 0x2029))) {
            n += put_u(f->buf + n, cp, digits);
        } else if (cp >= 0x80 && mode != JSON_UTF8) {
            if (cp >= 0x10000) {
                uint32_t c = cp - 0x10000;
                n += put_u(f->buf + n, 0xd800 | (c >> 10), digits);
                n += put_u(f->buf + n, 0xdc00 | (c & 0x3ff), digits);
            } else {
                n += put_u(f->buf + n, cp, digits);
            }
        } else {
            memcpy(f->buf + n, f->v + i, w);
            n += w;
        }
        i += w;
    }
    return f->add(f->ctx, f->buf, n);
}

static int all_forms(const struct forms *f)
{
    int rc = f->add(f->ctx, f->v, f->len);
    for (size_t lead = 0; rc == 0 && lead < 3; lead++) {
        rc = base64_inner(f, B64_STD, lead);
        if (rc == 0)
            rc = base64_inner(f, B64_URL, lead);
    }
    if (rc == 0)
        rc = base64_whole(f, B64_STD);
    if (rc == 0)
        rc = base64_whole(f, B64_URL);
    if (rc == 0)
        rc = hex(f, HEX_LOWER);
    if (rc == 0)
        rc = hex(f, HEX_UPPER);
    for (int js = 0; rc == 0 && js < 2; js++) {
        rc = url(f, js, HEX_UPPER);
        if (rc == 0)
            rc = url(f, js, HEX_LOWER);
    }
    for (int slash = 0; rc == 0 && slash < 2; slash++)
        for (int mode = JSON_UTF8; rc == 0 && mode <= JSON_ASCII_UPPER; mode++)
            for (int html = 0; rc == 0 && html < 2; html++)
                rc = json(f, slash, (enum json_unicode)mode, html);
    return rc;
}

int vs_mask_forms(const uint8_t *value, size_t len, vs_mask_form_fn add, void *ctx)
{
    struct forms f = {.v = value, .len = len, .add = add, .ctx = ctx};
    f.buf = sodium_malloc(vs_mask_form_max(len));
    if (f.buf == NULL)
        return vs_fail(VS_ENOMEM, "masking: no memory for a value's forms");
    int rc = all_forms(&f);
    sodium_free(f.buf); /* wipes */
    return rc;
}
