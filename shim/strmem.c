/* The memory and string functions the shim's own code calls (the
 * compiler's implicit memcpy and memset included), defined here and hidden.
 *
 * Why not libc's: the loader binds every function the shim imports in
 * every process of the agent's tree (-z now, for full RELRO), about 700
 * instructions each, and glibc's are IFUNCs whose resolvers run as well.
 * A hidden definition is bound at link time: no relocation, no PLT call,
 * and nothing the loader does at start. Not exported, so the program's
 * own calls still reach libc's.
 *
 * The shim's strings are short (names, paths, an argv, a protocol field):
 * strlen, memchr, memrchr, memcmp, the copies and fills go a word at a
 * time, the rest byte by byte. Built with -ffreestanding, and under gcc -fno-tree-loop-distribute-
 * patterns (Makefile), so that no loop here becomes a call to itself;
 * shim_guards.sh checks that this object calls nothing.
 *
 * tests/unit/test_shim_strmem.c compiles this file with VS_STRFN renamed
 * and compares every function with libc's. */
#undef _FORTIFY_SOURCE /* its inline wrappers would clash with these definitions */

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "strmem.c's word scans assume a little-endian machine"
#endif

#ifndef VS_STRFN
#define VS_STRFN(name) name
#define VS_STRAPI __attribute__((visibility("hidden")))
#endif

/* A word read or written at any alignment, allowed to alias anything. */
typedef uint64_t __attribute__((may_alias, aligned(1))) vs_word;
/* The same at a word boundary. */
typedef uint64_t __attribute__((may_alias)) vs_aword;
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* The high bit of each byte of w that is zero, and perhaps of bytes above
 * a zero byte (a borrow): non-zero exactly when some byte is zero, and the
 * lowest flag is the first zero byte. Little-endian: byte 0 is lowest. */
static inline uint64_t zero_bytes(uint64_t w)
{
    return (w - ONES) & ~w & HIGHS;
}

/* The same without the false flags: only bytes of w that are zero (no
 * borrow crosses a byte), so the highest flag is the last zero byte. */
static inline uint64_t zero_bytes_exact(uint64_t w)
{
    uint64_t low7 = ~HIGHS;
    return ~(((w & low7) + low7) | w | low7);
}

static inline size_t first_flagged(uint64_t flags)
{
    return (size_t)__builtin_ctzll(flags) / 8;
}

VS_STRAPI void *VS_STRFN(memcpy)(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (; n >= sizeof(vs_word); n -= sizeof(vs_word), d += sizeof(vs_word), s += sizeof(vs_word))
        *(vs_word *)(void *)d = *(const vs_word *)(const void *)s;
    while (n-- > 0)
        *d++ = *s++;
    return dst;
}

VS_STRAPI void *VS_STRFN(memmove)(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n) {
        /* Forward: each word is read whole before the write that may
         * reach bytes of it, and later reads lie beyond what is written. */
        for (; n >= sizeof(vs_word); n -= sizeof(vs_word), d += sizeof(vs_word), s += sizeof(vs_word))
            *(vs_word *)(void *)d = *(const vs_word *)(const void *)s;
        while (n-- > 0)
            *d++ = *s++;
    } else {
        d += n;
        s += n;
        for (; n >= sizeof(vs_word); n -= sizeof(vs_word)) {
            d -= sizeof(vs_word);
            s -= sizeof(vs_word);
            *(vs_word *)(void *)d = *(const vs_word *)(const void *)s;
        }
        while (n-- > 0)
            *--d = *--s;
    }
    return dst;
}

VS_STRAPI void *VS_STRFN(memset)(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t word = (unsigned char)c * ONES;
    for (; n >= sizeof(vs_word); n -= sizeof(vs_word), d += sizeof(vs_word))
        *(vs_word *)(void *)d = word;
    while (n-- > 0)
        *d++ = (unsigned char)c;
    return dst;
}

VS_STRAPI int VS_STRFN(memcmp)(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    /* Equal words skipped whole (the index's check of its 71 built-in
     * names compares that many at every start); the bytes decide. */
    for (; n >= sizeof(vs_word); n -= sizeof(vs_word), p += sizeof(vs_word), q += sizeof(vs_word))
        if (*(const vs_word *)(const void *)p != *(const vs_word *)(const void *)q)
            break;
    for (; n > 0; n--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}

/* clang turns memcmp(...) == 0 into bcmp. */
VS_STRAPI int VS_STRFN(bcmp)(const void *a, const void *b, size_t n)
{
    return VS_STRFN(memcmp)(a, b, n) != 0;
}

VS_STRAPI void *VS_STRFN(memchr)(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    uint64_t pattern = (unsigned char)c * ONES;
    for (; n >= sizeof(vs_word); n -= sizeof(vs_word), p += sizeof(vs_word)) {
        uint64_t z = zero_bytes(*(const vs_word *)(const void *)p ^ pattern);
        if (z != 0) /* the lowest flag is exact */
            return (void *)(p + first_flagged(z));
    }
    for (; n > 0; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

VS_STRAPI void *VS_STRFN(memrchr)(const void *s, int c, size_t n)
{
    /* Backwards a word at a time (the hooks look for a path's last '/'). */
    const unsigned char *p = (const unsigned char *)s + n;
    uint64_t pattern = (unsigned char)c * ONES;
    for (; n >= sizeof(vs_word); n -= sizeof(vs_word)) {
        p -= sizeof(vs_word);
        uint64_t z = zero_bytes_exact(*(const vs_word *)(const void *)p ^ pattern);
        if (z != 0)
            return (void *)(p + (63 - (size_t)__builtin_clzll(z)) / 8);
    }
    while (n-- > 0)
        if (*--p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

/* The aligned reads around the string are not the caller's bytes: a
 * sanitizer build of the unit test would flag them. */
__attribute__((no_sanitize("address"))) VS_STRAPI size_t VS_STRFN(strlen)(const char *s)
{
    /* Whole aligned words, the first with its bytes before s set (every
     * open and stat hook measures its path). An aligned word never crosses
     * a page, so the bytes it reads around the string cannot fault;
     * valgrind accepts such reads (shim_guards.sh runs the shim under it). */
    uintptr_t at = (uintptr_t)s;
    size_t skip = at & (sizeof(vs_aword) - 1);
    const vs_aword *w = (const vs_aword *)(uintptr_t)(at - skip);
    uint64_t z = zero_bytes(*w | ((UINT64_C(1) << (8 * skip)) - 1));
    while (z == 0)
        z = zero_bytes(*++w);
    return (size_t)((const char *)(const void *)w + first_flagged(z) - s);
}

VS_STRAPI size_t VS_STRFN(strnlen)(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0')
        n++;
    return n;
}

VS_STRAPI int VS_STRFN(strcmp)(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p != '\0' && *p == *q) {
        p++;
        q++;
    }
    return *p < *q ? -1 : *p > *q;
}

VS_STRAPI int VS_STRFN(strncmp)(const char *a, const char *b, size_t n)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    for (; n > 0; n--, p++, q++) {
        if (*p != *q)
            return *p < *q ? -1 : 1;
        if (*p == '\0')
            break;
    }
    return 0;
}

VS_STRAPI char *VS_STRFN(strchr)(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (*s == '\0')
            return NULL;
    }
}

VS_STRAPI char *VS_STRFN(strrchr)(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (*s == '\0')
            return (char *)last;
    }
}

VS_STRAPI size_t VS_STRFN(strcspn)(const char *s, const char *reject)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        for (const char *r = reject; *r != '\0'; r++)
            if (s[n] == *r)
                return n;
    return n;
}

VS_STRAPI char *VS_STRFN(strstr)(const char *haystack, const char *needle)
{
    if (*needle == '\0')
        return (char *)haystack;
    for (; *haystack != '\0'; haystack++) {
        size_t i = 0;
        while (needle[i] != '\0' && haystack[i] == needle[i])
            i++;
        if (needle[i] == '\0')
            return (char *)haystack;
    }
    return NULL;
}
