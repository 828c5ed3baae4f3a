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
 * The shim's strings are short (names, paths, an argv, a protocol field),
 * so plain loops serve them; the copies and fills move a word at a time.
 * Built with -ffreestanding, and under gcc -fno-tree-loop-distribute-
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

#ifndef VS_STRFN
#define VS_STRFN(name) name
#define VS_STRAPI __attribute__((visibility("hidden")))
#endif

/* A word read or written at any alignment, allowed to alias anything. */
typedef uint64_t __attribute__((may_alias, aligned(1))) vs_word;

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
    uint64_t word = (unsigned char)c * UINT64_C(0x0101010101010101);
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
    for (; n > 0; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

VS_STRAPI void *VS_STRFN(memrchr)(const void *s, int c, size_t n)
{
    const unsigned char *p = (const unsigned char *)s + n;
    while (n-- > 0)
        if (*--p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

VS_STRAPI size_t VS_STRFN(strlen)(const char *s)
{
    /* Four bytes a round, never reading past the terminator (a word read
     * would be faster, but reads bytes the caller does not own). */
    const char *p = s;
    for (;; p += 4) {
        if (p[0] == '\0')
            return (size_t)(p - s);
        if (p[1] == '\0')
            return (size_t)(p + 1 - s);
        if (p[2] == '\0')
            return (size_t)(p + 2 - s);
        if (p[3] == '\0')
            return (size_t)(p + 3 - s);
    }
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
