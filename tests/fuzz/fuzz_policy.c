/* libFuzzer target for the policy loader (vaultd/core/policy*.c): the input
 * is policy text, loaded with vs_policy_load_string with a fixed home
 * ("/nonexistent-fuzz-home", so "~" paths resolve to nothing and every tool
 * is a warning, not a file-system read of the fuzzing user's files) and no
 * secret-name check. An accepted policy is walked through every look-up:
 * each tool is found by name, each file by name and by path, each protected
 * name is protected, each tool's argument rules run on fixed argv.
 * Built by tests/fuzz/fuzz.mk (`make fuzz`); by hand:
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Icommon \
 *     -Ivaultd/core -Ivaultd/daemon tests/fuzz/fuzz_policy.c common/[a-z]*.c \
 *     vaultd/core/[a-z]*.c $(pkg-config --cflags --libs libsodium libconfig) -o /tmp/fuzz_policy
 *   /tmp/fuzz_policy -max_total_time=60 tests/fuzz/corpus/policy
 *
 * Seeds: tests/fuzz/corpus/policy/ (config/vaultshim.conf and small
 * policies; all names and values fake). */
#include "error.h"
#include "policy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include <stdio.h>

static void fail(int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
    abort();
}
#define check(c) ((c) ? (void)0 : fail(__LINE__, #c))

static void walk(const struct vs_policy *p)
{
    static char *const argvs[][4] = {
        {"auth", "token", NULL, NULL},
        {"-s", "https://example.invalid/", NULL, NULL},
        {"", NULL, NULL, NULL},
    };
    static const int argcs[] = {2, 2, 0};
    for (size_t i = 0; i < p->n_tools; i++) {
        const struct vs_policy_tool *t = &p->tools[i];
        check(t->name != NULL && t->exe != NULL);
        check(vs_policy_find_tool_by_name(p, t->name) != NULL);
        for (size_t k = 0; k < t->n_env; k++)
            check(vs_policy_is_protected(p, t->env[k].env));
        for (size_t k = 0; k < t->n_files; k++)
            check(t->files[k] < p->n_files);
        for (size_t a = 0; a < sizeof argcs / sizeof argcs[0]; a++) {
            const char *why = NULL;
            int rc = vs_policy_tool_args(t, argcs[a], argvs[a], &why);
            check(rc == 0 ? why == NULL : (rc == VS_EPOLICY && why != NULL));
        }
        if (t->available)
            (void)vs_policy_find_tool(p, t->exe_dev, t->exe_ino, t->script != NULL,
                                      t->script_dev, t->script_ino);
        (void)vs_policy_is_interpreter(p, t->exe_dev, t->exe_ino);
    }
    for (size_t i = 0; i < p->n_files; i++) {
        const struct vs_policy_file *f = &p->files[i];
        check(f->path != NULL && f->path[0] == '/');
        check(vs_policy_find_file(p, f->path) != NULL);
        check(vs_policy_find_file_by_name(p, f->name) != NULL);
        for (size_t k = 0; k < vs_template_name_count(f->tmpl); k++)
            check(vs_template_name(f->tmpl, k) != NULL);
    }
    for (size_t i = 0; i < p->n_protect_exact; i++) {
        check(vs_policy_is_protected(p, p->protect_exact[i]));
        if (i > 0)
            check(strcmp(p->protect_exact[i - 1], p->protect_exact[i]) < 0);
    }
    (void)vs_policy_is_protected(p, "PATH");
    (void)vs_policy_is_protected(p, "");
    (void)vs_policy_find_file(p, "/nonexistent-fuzz-home/.netrc");
    (void)vs_policy_find_tool_by_name(p, "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct vs_policy_opts o = {.home = "/nonexistent-fuzz-home", .secret_known = NULL};
    struct vs_policy *p = (struct vs_policy *)&o;
    int rc = vs_policy_load_string(text, "fuzz", &o, &p);
    if (rc == 0) {
        check(p != NULL);
        walk(p);
        vs_policy_free(p);
    } else {
        check(rc < 0);
        (void)vs_last_error(rc);
    }
    free(text);
    return 0;
}
