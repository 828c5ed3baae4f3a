/* libFuzzer target for the argument-glob matcher (vaultd/core/argglob.c).
 * Input: a pattern up to the first NUL byte, then the argument vector, each
 * argument ended by a NUL (a missing final NUL ends the last one). An
 * accepted pattern is matched against the vector, and through a rule list
 * (vs_args_decide) as allow and as deny rule. When the pattern has no '[',
 * no '\' and no "**" token, the answer is compared with fnmatch(3) applied
 * token by token (the documented semantics coincide there).
 * Built by tests/fuzz/fuzz.mk; by hand:
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Icommon \
 *     -Ivaultd/core tests/fuzz/fuzz_argglob.c vaultd/core/argglob.c common/[a-z]*.c \
 *     -o /tmp/fuzz_argglob */
#include "argglob.h"
#include "error.h"

#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

#include <stdio.h>

static void fail(int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
    abort();
}
#define check(c) ((c) ? (void)0 : fail(__LINE__, #c))

/* fnmatch token by token; -1 when the pattern is outside the compared subset. */
static int reference(const char *pattern, int argc, char *const argv[])
{
    if (strchr(pattern, '[') != NULL || strchr(pattern, '\\') != NULL)
        return -1;
    char *copy = strdup(pattern);
    if (copy == NULL)
        return -1;
    char *tok[MAX_ARGS + 1];
    int n = 0, r = 1;
    for (char *save = NULL, *p = strtok_r(copy, " ", &save); p != NULL;
         p = strtok_r(NULL, " ", &save)) {
        if (strcmp(p, "**") == 0 || n > MAX_ARGS) {
            free(copy);
            return -1;
        }
        tok[n++] = p;
    }
    if (n != argc)
        r = 0;
    for (int i = 0; r && i < n; i++)
        if (fnmatch(tok[i], argv[i], 0) != 0)
            r = 0;
    free(copy);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    size_t plen = strlen(buf);
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (size_t off = plen + 1; off < size && argc < MAX_ARGS;) {
        argv[argc++] = buf + off;
        off += strlen(buf + off) + 1;
    }
    argv[argc] = NULL;

    struct vs_argglob *g = (struct vs_argglob *)&g;
    int rc = vs_argglob_compile(buf, &g);
    if (rc != 0) {
        check(g == NULL && (rc == VS_EINVAL || rc == VS_ENOMEM));
        free(buf);
        return 0;
    }
    check(strcmp(vs_argglob_pattern(g), buf) == 0);
    (void)vs_argglob_deny_reason(g);
    bool m = vs_argglob_match(g, argc, argv);
    check(vs_argglob_match(g, argc, argv) == m); /* deterministic */
    int ref = reference(buf, argc, argv);
    check(ref < 0 || ref == (int)m);
    vs_argglob_free(g);

    struct vs_arglist allow = {0}, deny = {0};
    check(vs_arglist_add(&allow, buf) == 0 && vs_arglist_add(&deny, buf) == 0);
    const char *why = NULL;
    rc = vs_args_decide(&allow, NULL, argc, argv, &why);
    check(m ? (rc == 0 && why == NULL) : (rc == VS_EPOLICY && why != NULL));
    rc = vs_args_decide(NULL, &deny, argc, argv, &why);
    check(!m ? (rc == 0 && why == NULL) : (rc == VS_EPOLICY && why != NULL));
    rc = vs_args_decide(&allow, &deny, argc, argv, &why);
    check(rc == VS_EPOLICY);
    vs_arglist_free(&allow);
    vs_arglist_free(&deny);
    free(buf);
    return 0;
}
