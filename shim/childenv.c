/* The child's environment (see childenv.h for what it holds and why).
 * Rules this file keeps:
 *  1. Pure: reads its arguments only; no hook, no allocation, no stdio, no
 *     errno change; safe in a vfork child and between fork and exec.
 *  2. Never writes outside buf[0..cap): every copy is bounds-checked, and an
 *     overflow is E2BIG, never a partial envp.
 *  3. Between fork and exec each page the child reads that is not already
 *     mapped in it is a fault (about 10 us): libc's string functions (three
 *     windows of its text, and .rodata for strcspn's table) and our own
 *     .rodata. So the ordinary child's path here uses the small loops below
 *     and strings kept in .data, whose page the process has written and the
 *     child has mapped. */
#include "childenv.h"

#include "inject.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Not const: const data would go to .rodata (rule 3). Never written. */
static char preload_eq[] = "LD_PRELOAD=";
static char socket_eq[] = "VAULT_SOCKET=";
static char nousersite_eq[] = "PYTHONNOUSERSITE=";
static char nousersite_on[] = "PYTHONNOUSERSITE=1";

#define LIT_LEN(s) (sizeof(s) - 1)

static size_t text_len(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        /* empty asm: keeps the compiler from making this loop a call to
         * strlen, which it recognizes (rule 3) */
        __asm__("" : "+r"(n));
        n++;
    }
    return n;
}

static bool has_prefix(const char *entry, const char *prefix, size_t plen)
{
    for (size_t i = 0; i < plen; i++)
        if (entry[i] != prefix[i])
            return false; /* a shorter entry stops at its NUL, which no prefix holds */
    return true;
}

/* Copies src up to its NUL (not copied) to dst; returns the end in dst. */
static char *copy_text(char *dst, const char *src)
{
    while (*src != '\0')
        *dst++ = *src++;
    return dst;
}

static bool set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* A placeholder name: non-empty, no '='. */
static bool placeholder_ok(const char *name)
{
    if (!set(name))
        return false;
    for (const char *p = name; *p != '\0'; p++)
        if (*p == '=')
            return false;
    return true;
}

static size_t count_envp(char *const *envp)
{
    size_t n = 0;
    while (envp != NULL && envp[n] != NULL)
        n++;
    return n;
}

/* a + b, or SIZE_MAX on overflow (sticky). */
static size_t add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

size_t vs_childenv_size(const struct vs_childenv_in *in)
{
    if (in == NULL)
        return 0;
    size_t n = count_envp(in->envp);
    size_t slots = add(n, 4); /* LD_PRELOAD, VAULT_SOCKET, PYTHONNOUSERSITE, NULL */
    size_t bytes = 0;
    if (set(in->shim_path)) {
        /* "LD_PRELOAD=" shim, then ':' + every parent LD_PRELOAD value */
        bytes = add(bytes, LIT_LEN(preload_eq) + text_len(in->shim_path) + 1);
        for (size_t i = 0; i < n; i++)
            if (has_prefix(in->envp[i], preload_eq, LIT_LEN(preload_eq)))
                bytes = add(bytes, text_len(in->envp[i]) - LIT_LEN(preload_eq) + 1);
    }
    if (set(in->socket_path))
        bytes = add(bytes, LIT_LEN(socket_eq) + text_len(in->socket_path) + 1);
    if (in->tool != NULL && in->idx != NULL) {
        for (size_t i = 0; i < in->tool->env_count; i++) {
            const char *name = vs_index_tool_env(in->idx, in->tool, i);
            if (placeholder_ok(name)) {
                slots = add(slots, 1);
                bytes = add(bytes, text_len(name) + 2);
            }
        }
    }
    if (slots > SIZE_MAX / sizeof(char *))
        return 0;
    size_t total = add(add(slots * sizeof(char *), bytes), _Alignof(char *) - 1);
    return total == SIZE_MAX ? 0 : total;
}

/* Strings are written from the end of the buffer down; pointers from the
 * start up. The two never cross: each reservation checks the gap. */
struct arena {
    char **ptrs;
    size_t nptrs;
    char *base;            /* first byte usable for pointers (aligned) */
    char *lo;              /* lowest byte taken by strings (no alignment needed) */
};

static size_t arena_gap(const struct arena *a)
{
    return (size_t)(a->lo - a->base);
}

/* Room for one more pointer, keeping one for the final NULL. */
static bool arena_push(struct arena *a, char *entry)
{
    if ((a->nptrs + 2) * sizeof(char *) > arena_gap(a))
        return false;
    a->ptrs[a->nptrs++] = entry;
    return true;
}

/* Takes len bytes for a string, keeping the pointers written so far plus
 * two more (this entry and the NULL) below it. */
static char *arena_take(struct arena *a, size_t len)
{
    size_t need_ptrs = (a->nptrs + 2) * sizeof(char *);
    size_t gap = arena_gap(a);
    if (gap < need_ptrs || gap - need_ptrs < len)
        return NULL;
    char *p = a->lo - len;
    a->lo = p;
    return p;
}

static bool preload_separator(char c)
{
    return c == ':' || c == ' ';
}

/* Is the element at p (up to a separator or the end) the shim's path? */
static bool element_is(const char *p, const char *shim)
{
    while (*shim != '\0' && *p == *shim) {
        p++;
        shim++;
    }
    return *shim == '\0' && (*p == '\0' || preload_separator(*p));
}

/* Appends the elements of a preload list value, split on ':' and ' ',
 * except empty ones and copies of shim, to dst (cursor *pos, limit end). */
static bool append_preloads(char *dst, size_t *pos, size_t end, const char *value, const char *shim)
{
    const char *p = value;
    while (*p != '\0') {
        if (!preload_separator(*p) && !element_is(p, shim)) {
            if (*pos + 1 > end)
                return false;
            dst[(*pos)++] = ':';
            for (; *p != '\0' && !preload_separator(*p); p++) {
                if (*pos + 1 > end)
                    return false;
                dst[(*pos)++] = *p;
            }
        }
        while (*p != '\0' && !preload_separator(*p))
            p++;
        if (*p != '\0')
            p++;
    }
    return true;
}

/* The LD_PRELOAD entry: shim first, then (for an ordinary child) the
 * parent's other libraries. */
static char *build_preload(struct arena *a, const struct vs_childenv_in *in, size_t n)
{
    size_t len = LIT_LEN(preload_eq) + text_len(in->shim_path);
    bool keep_others = in->tool == NULL && !in->interpreter;
    if (keep_others)
        for (size_t i = 0; i < n; i++)
            if (has_prefix(in->envp[i], preload_eq, LIT_LEN(preload_eq)))
                len += text_len(in->envp[i]) - LIT_LEN(preload_eq) + 1;
    char *s = arena_take(a, len + 1);
    if (s == NULL)
        return NULL;
    size_t pos = (size_t)(copy_text(copy_text(s, preload_eq), in->shim_path) - s);
    if (keep_others)
        for (size_t i = 0; i < n; i++)
            if (has_prefix(in->envp[i], preload_eq, LIT_LEN(preload_eq)) &&
                !append_preloads(s, &pos, len, in->envp[i] + LIT_LEN(preload_eq), in->shim_path))
                return NULL; /* cannot happen: len bounds every element */
    s[pos] = '\0';
    return s;
}

/* "<prefix><value>" (value NULL: "<prefix>="). */
static char *build_pair(struct arena *a, const char *prefix, const char *value)
{
    size_t plen = text_len(prefix), vlen = value != NULL ? text_len(value) : 1;
    char *s = arena_take(a, plen + vlen + 1);
    if (s == NULL)
        return NULL;
    char *end = copy_text(s, prefix);
    if (value != NULL)
        end = copy_text(end, value);
    else
        *end++ = '=';
    *end = '\0';
    return s;
}

/* Is this parent entry dropped from the child? */
static bool dropped(const struct vs_childenv_in *in, const char *entry)
{
    if (vs_index_entry_protected(in->idx, entry))
        return true;
    if (set(in->shim_path) && has_prefix(entry, preload_eq, LIT_LEN(preload_eq)))
        return true;
    if (set(in->socket_path) && has_prefix(entry, socket_eq, LIT_LEN(socket_eq)))
        return true;
    if (in->interpreter) {
        if (has_prefix(entry, nousersite_eq, LIT_LEN(nousersite_eq)) ||
            (has_prefix(entry, nousersite_eq, LIT_LEN(nousersite_eq) - 1) &&
             entry[LIT_LEN(nousersite_eq) - 1] == '\0'))
            return true;
        /* LD_PRELOAD is in the table; with no shim path the parent's is
         * kept (see childenv.h), so it is not judged here. */
        if (!has_prefix(entry, preload_eq, LIT_LEN(preload_eq)) && vs_inject_is_injection_name(entry))
            return true;
    }
    return false;
}

int vs_childenv_build(const struct vs_childenv_in *in, void *buf, size_t cap, char ***out)
{
    if (out != NULL)
        *out = NULL;
    if (in == NULL || buf == NULL || out == NULL)
        return EINVAL;
    /* pointer area: from the first aligned byte */
    uintptr_t start = (uintptr_t)buf;
    size_t skip = (size_t)((_Alignof(char *) - start % _Alignof(char *)) % _Alignof(char *));
    if (cap < skip + sizeof(char *))
        return E2BIG;
    struct arena a = {
        .ptrs = (char **)(void *)((char *)buf + skip),
        .nptrs = 0,
        .base = (char *)buf + skip,
        .lo = (char *)buf + cap,
    };
    size_t n = count_envp(in->envp);

    if (set(in->shim_path)) {
        char *s = build_preload(&a, in, n);
        if (s == NULL || !arena_push(&a, s))
            return E2BIG;
    }
    if (set(in->socket_path)) {
        char *s = build_pair(&a, socket_eq, in->socket_path);
        if (s == NULL || !arena_push(&a, s))
            return E2BIG;
    }
    if (in->tool != NULL && in->idx != NULL) {
        for (size_t i = 0; i < in->tool->env_count; i++) {
            const char *name = vs_index_tool_env(in->idx, in->tool, i);
            if (!placeholder_ok(name))
                continue;
            char *s = build_pair(&a, name, NULL);
            if (s == NULL || !arena_push(&a, s))
                return E2BIG;
        }
    }
    if (in->interpreter && !arena_push(&a, (char *)nousersite_on))
        return E2BIG;
    for (size_t i = 0; i < n; i++) {
        if (dropped(in, in->envp[i]))
            continue;
        if (!arena_push(&a, in->envp[i]))
            return E2BIG;
    }
    a.ptrs[a.nptrs] = NULL; /* arena_push kept room for it */
    *out = a.ptrs;
    return 0;
}
