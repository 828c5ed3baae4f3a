/* libFuzzer target for the import parsers (vaultd/ctl/import_scan*.c) and
 * the plan that rewrites a file (import_plan.c): the first input byte picks
 * the file kind, the rest is the file. Checked for every input: each find's
 * spans lie inside the file and in order, every value is non-empty, the new
 * file is built, and a template (when there is one) compiles and names
 * exactly the secrets found. The ctl sources are compiled in here (the
 * fuzz library holds common/ and core/ only). Built by tests/fuzz/fuzz.mk. */
#include "../../vaultd/ctl/import_plan.c"
#include "../../vaultd/ctl/import_scan.c"
#include "../../vaultd/ctl/import_scan_env.c"
#include "../../vaultd/ctl/import_scan_json.c"
#include "../../vaultd/ctl/import_scan_netrc.c"
#include "../../vaultd/ctl/import_text.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
    abort();
}
#define check(c) ((c) ? (void)0 : fail(__LINE__, #c))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        check(sodium_init() >= 0);
        ready = 1;
    }
    if (size < 1 || size > 65536)
        return 0;
    struct imp_file f;
    memset(&f, 0, sizeof f);
    f.kind = (enum imp_kind)(data[0] % (IMP_PROFILE + 1));
    f.len = size - 1;
    f.data = malloc(f.len + 1);
    check(f.data != NULL);
    memcpy(f.data, data + 1, f.len);
    f.data[f.len] = 0;
    check(imp_parse(f.kind, f.data, f.len, &f.finds) == 0);
    struct imp_files files = {.v = &f, .n = 1, .cap = 1};
    check(imp_plan(&files, NULL, NULL, NULL) == 0);
    for (size_t i = 0; i < f.finds.n; i++) {
        const struct imp_find *x = &f.finds.v[i];
        check(x->value_len > 0);
        check(x->raw_off + x->raw_len <= f.len && x->cut_off + x->cut_len <= f.len);
        check(vs_secret_name_valid(x->name));
        check(i == 0 || f.finds.v[i - 1].cut_off <= x->cut_off);
    }
    check(f.finds.n == 0 || f.after != NULL);
    check(f.finds.n == 0 || f.after_len <= f.len + 160 * f.finds.n);
    if (f.tmpl != NULL) {
        struct vs_template *t = NULL;
        check(vs_template_compile(f.tmpl, &t) == 0);
        for (size_t k = 0; k < vs_template_name_count(t); k++) {
            bool found = false;
            for (size_t i = 0; i < f.finds.n; i++)
                found |= strcmp(vs_template_name(t, k), f.finds.v[i].name) == 0;
            check(found);
        }
        vs_template_free(t);
    }
    imp_finds_free(&f.finds);
    free(f.after);
    free(f.tmpl);
    free(f.data);
    return 0;
}
