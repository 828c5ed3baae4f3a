/* The policy index: writer (vaultd/core/index_write.c) and reader
 * (common/index.c). Fake names and paths only; the index never holds a
 * value. Timings are printed as '#' TAP comments, never asserted.
 * With VS_INDEX_SEED_DIR set, writes fuzz seeds there. */
#include "testutil.h"

#include "error.h"
#include "index.h"
#include "index_write.h"
#include "names.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

static char home[256]; /* bin/tool, bin/interp, lib/script.js, many/fNNNN */

static void path_in(char *out, size_t cap, const char *rel)
{
    int n = snprintf(out, cap, "%s/%s", home, rel);
    assert_true(n > 0 && (size_t)n < cap);
}

static void write_mode(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static int setup(void **state)
{
    (void)state;
    strcpy(home, "/tmp/vs-test-index-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    char p[512];
    const char *dirs[] = {"bin", "lib", "many", "out"};
    for (size_t i = 0; i < 4; i++) {
        path_in(p, sizeof p, dirs[i]);
        if (mkdir(p, 0700) != 0)
            return -1;
    }
    path_in(p, sizeof p, "bin/tool");
    write_mode(p, "#!/bin/sh\n", 0755);
    path_in(p, sizeof p, "bin/interp");
    write_mode(p, "#!/bin/sh\n", 0755);
    path_in(p, sizeof p, "lib/script.js");
    write_mode(p, "// fake\n", 0644);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (n < 0 || (size_t)n >= sizeof cmd || strncmp(home, "/tmp/vs-test-index-", 19) != 0)
        return -1;
    return system(cmd) == 0 ? 0 : -1;
}

static struct vs_policy *load(const char *text)
{
    struct vs_policy_opts o = {.home = home};
    struct vs_policy *p = NULL;
    int rc = vs_policy_load_string(text, "t", &o, &p);
    if (rc != 0)
        fail_msg("load failed: %s", vs_last_error(rc));
    return p;
}

static void dev_ino(const char *rel, uint64_t *dev, uint64_t *ino)
{
    char p[512];
    struct stat st;
    path_in(p, sizeof p, rel);
    assert_int_equal(stat(p, &st), 0);
    *dev = st.st_dev;
    *ino = st.st_ino;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Prints the mean cost of expr over iters runs; never asserts it. */
#define BENCH(label, iters, expr)                                                        \
    do {                                                                                 \
        volatile size_t sink_ = 0;                                                       \
        double t0_ = now_ns();                                                           \
        for (size_t it = 0; it < (iters); it++)                                          \
            sink_ += (size_t)(expr);                                                     \
        printf("# %-44s %7.1f ns/op\n", label, (now_ns() - t0_) / (double)(iters));      \
        (void)sink_;                                                                     \
    } while (0)

static const char policy_text[] =
    "protect = [ \"FAKE_API_KEY\", \"MY_SECRET\", \"*_TOKEN\", \"AWS_*_KEY*\" ];\n"
    "tools = (\n"
    "  { name = \"tool\"; exe = \"~/bin/tool\"; files = [ \"netrc\", \"npmrc\" ];\n"
    "    env = { TOOL_TOKEN = \"fake_token\"; OTHER_VAR = \"fake_key\"; };\n"
    "    mediate = true; approve = true; mask = true; },\n"
    "  { name = \"script\"; exe = \"~/bin/interp\"; script = \"~/lib/script.js\";\n"
    "    env = [ \"FAKE_API_KEY\" ]; files = [ \"npmrc\" ]; },\n"
    "  { name = \"bare_interp\"; exe = \"~/bin/interp\"; env = [ \"INTERP_ONLY\" ]; },\n"
    "  { name = \"missing\"; exe = \"/nonexistent/vaultshim-test/bin\"; env = [ \"MISSING_VAR\" ]; }\n"
    ");\n"
    "files = (\n"
    "  { name = \"netrc\"; path = \"~/.netrc\"; template = \"password {{fake_token}}\\n\"; },\n"
    "  { name = \"npmrc\"; path = \"/etc/vaultshim-test/npmrc\"; template = \"t={{fake_npm}}\\n\"; },\n"
    "  { name = \"unused\"; path = \"/etc/vaultshim-test/unused\"; template = \"x\"; }\n"
    ");\n";

/* A copy in memory of exactly len bytes (ASan sees any read past it). */
static uint8_t *dup_exact(const void *data, size_t len)
{
    uint8_t *p = malloc(len != 0 ? len : 1);
    assert_non_null(p);
    if (len != 0)
        memcpy(p, data, len);
    return p;
}

static void build_ok(const struct vs_policy *p, uint64_t gen, struct vs_buf *b)
{
    int rc = vs_index_build(p, gen, 0, b);
    if (rc != 0)
        fail_msg("build failed: %s", vs_last_error(rc));
}

static void seed(const char *name, const void *data, size_t len)
{
    const char *dir = getenv("VS_INDEX_SEED_DIR");
    if (dir == NULL)
        return;
    char p[512];
    int n = snprintf(p, sizeof p, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof p);
    tu_write_file(p, data, len);
}

/* Every look-up once, on whatever idx holds: the corruption tests run this
 * on each file the validator accepts (it must not crash or read out). */
static size_t exercise(const struct vs_index *idx)
{
    static const char *const names[] = {"GH_TOKEN", "TOOL_TOKEN", "HOME", "AWS_X_KEY_Y", "",
                                        "FAKE_API_KEY", "OTHER_VAR", "NPM_TOKEN", "X_KEY"};
    size_t hits = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        hits += vs_index_env_protected(idx, names[i], strlen(names[i]));
        hits += vs_index_env_granted_anywhere(idx, names[i], strlen(names[i]));
    }
    hits += vs_index_entry_protected(idx, "GH_TOKEN=x");
    hits += vs_index_path_managed(idx, "/etc/vaultshim-test/npmrc");
    hits += vs_index_path_managed(idx, "/etc/x");
    for (uint32_t k = 0; k < idx->n_tools; k++) {
        const struct vs_index_tool *t = &idx->tools[k];
        hits += vs_index_find_tool(idx, t->exe_dev, t->exe_ino, true, t->script_dev, t->script_ino) == t;
        hits += vs_index_is_interpreter(idx, t->exe_dev, t->exe_ino);
        hits += strlen(vs_index_tool_name(idx, t));
        for (size_t e = 0; e < t->env_count; e++) {
            const char *s = vs_index_tool_env(idx, t, e);
            hits += vs_index_env_granted_anywhere(idx, s, strlen(s)) + vs_index_env_protected(idx, s, strlen(s));
        }
        for (size_t f = 0; f < t->file_count; f++)
            hits += vs_index_path_managed(idx, vs_index_tool_file(idx, t, f));
        hits += vs_index_tool_env(idx, t, t->env_count) == NULL;
    }
    return hits;
}

/* ---- the built-in list ---- */

static void builtin_list(void **state)
{
    (void)state;
    size_t n = vs_index_builtin_count();
    assert_true(n >= 30);
    size_t min = SIZE_MAX, max = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = vs_index_builtin_name(i);
        assert_true(vs_env_name_valid(s));
        if (i > 0)
            assert_true(strcmp(vs_index_builtin_name(i - 1), s) < 0); /* sorted, unique */
        assert_true(vs_index_env_protected(NULL, s, strlen(s)));
        min = strlen(s) < min ? strlen(s) : min;
        max = strlen(s) > max ? strlen(s) : max;
        /* every proper prefix and one-byte extension is not on the list */
        char buf[64];
        for (size_t l = 0; l < strlen(s); l++)
            if (vs_index_builtin_protected(s, l)) {
                memcpy(buf, s, l);
                buf[l] = '\0';
                bool also = false;
                for (size_t k = 0; k < n; k++)
                    also = also || strcmp(vs_index_builtin_name(k), buf) == 0;
                assert_true(also);
            }
        snprintf(buf, sizeof buf, "%sS", s);
        assert_false(vs_index_env_protected(NULL, buf, strlen(buf)));
    }
    assert_int_equal(min, 8);  /* BUILTIN_MIN_LEN in index.c */
    assert_int_equal(max, 30); /* BUILTIN_MAX_LEN */
    assert_null(vs_index_builtin_name(n));
    const char *must[] = {"AWS_SECRET_ACCESS_KEY", "GH_TOKEN", "GITHUB_TOKEN", "OPENAI_API_KEY",
                          "ANTHROPIC_API_KEY", "DATABASE_URL", "NPM_TOKEN", "HF_TOKEN",
                          "CLOUDFLARE_API_TOKEN", "SENTRY_AUTH_TOKEN", "TWINE_PASSWORD"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        assert_true(vs_index_builtin_protected(must[i], strlen(must[i])));
    const char *not[] = {"HOME", "PATH", "AWS_ACCESS_KEY_ID", "GH_TOKE", "GH_TOKEN_", "gh_token",
                         "TOKEN", "SSH_AUTH_SOCK", "GOOGLE_APPLICATION_CREDENTIALS"};
    for (size_t i = 0; i < sizeof not / sizeof not[0]; i++)
        assert_false(vs_index_env_protected(NULL, not[i], strlen(not[i])));
    /* environ entries, no index */
    assert_true(vs_index_entry_protected(NULL, "GH_TOKEN=ghp_fake"));
    assert_true(vs_index_entry_protected(NULL, "GH_TOKEN="));
    assert_true(vs_index_entry_protected(NULL, "GH_TOKEN"));
    assert_true(vs_index_entry_protected(NULL, "DATABASE_URL=postgres://u:p@h/db=x"));
    assert_false(vs_index_entry_protected(NULL, "GH_TOKENS=1"));
    assert_false(vs_index_entry_protected(NULL, "PATH=/bin"));
    assert_false(vs_index_entry_protected(NULL, "=GH_TOKEN"));
    assert_false(vs_index_entry_protected(NULL, NULL));
    /* a name that is not NUL-terminated where it ends */
    assert_true(vs_index_env_protected(NULL, "GH_TOKEN_EXTRA", 8));
    assert_false(vs_index_env_protected(NULL, "GH_TOK\0N", 8));
    /* no index: the rest answers no */
    assert_false(vs_index_env_granted_anywhere(NULL, "GH_TOKEN", 8));
    assert_false(vs_index_path_managed(NULL, "/etc/passwd"));
    assert_null(vs_index_find_tool(NULL, 1, 2, false, 0, 0));
    assert_false(vs_index_is_interpreter(NULL, 1, 2));
    assert_null(vs_index_tool_env(NULL, NULL, 0));
}

/* ---- round trip ---- */

static void round_trip(void **state)
{
    (void)state;
    struct vs_policy *p = load(policy_text);
    struct vs_buf b;
    build_ok(p, 42, &b);
    seed("policy", b.data, b.len);
    struct vs_index idx;
    assert_int_equal(vs_index_from_memory(b.data, b.len, &idx), 0);
    assert_int_equal(idx.generation, 42);
    assert_true(idx.builtins_in_names);
    assert_false(idx.mapped);
    assert_int_equal(idx.n_tools, 3); /* "missing" is unavailable: left out */
    assert_int_equal(idx.n_interp, 1);
    assert_int_equal(idx.n_globs, 2);

    /* exact names, globs, tool env names (an unavailable tool's too), built-ins */
    const char *yes[] = {"FAKE_API_KEY", "MY_SECRET", "TOOL_TOKEN", "OTHER_VAR", "INTERP_ONLY",
                         "MISSING_VAR", "GH_TOKEN", "ANY_TOKEN", "_TOKEN", "AWS_X_KEY",
                         "AWS__KEY", "AWS_A_B_KEY_C", "OPENAI_API_KEY", "DATABASE_URL"};
    const char *no[] = {"HOME", "PATH", "FAKE_API_KEYS", "MY_SECRE", "TOKEN", "GH_TOKENS",
                        "AWS_KEY", "AWS_X_KE", "XAWS_X_KEY", "", "OTHER_VA"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!vs_index_env_protected(&idx, yes[i], strlen(yes[i])))
            fail_msg("%s: not protected", yes[i]);
        assert_true(vs_policy_is_protected(p, yes[i]) || vs_index_builtin_protected(yes[i], strlen(yes[i])));
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (vs_index_env_protected(&idx, no[i], strlen(no[i])))
            fail_msg("%s: protected", no[i]);
        assert_false(vs_policy_is_protected(p, no[i]));
    }
    /* environ entries against the globs, without copying */
    assert_true(vs_index_entry_protected(&idx, "GH_TOKEN=x"));
    assert_true(vs_index_entry_protected(&idx, "SOME_TOKEN=a=b"));
    assert_true(vs_index_entry_protected(&idx, "AWS_Q_KEY_ID=AKIAFAKE"));
    assert_true(vs_index_entry_protected(&idx, "MY_SECRET="));
    assert_false(vs_index_entry_protected(&idx, "SOME_TOKENS=1"));
    assert_false(vs_index_entry_protected(&idx, "PATH=/usr/bin:/bin"));
    assert_false(vs_index_entry_protected(&idx, "X=_TOKEN"));
    assert_true(vs_index_env_protected(&idx, "MY_SECRET_NOT", 9));
    assert_true(vs_index_env_protected(&idx, "AB_TOKENXX", 8));

    /* granted anywhere: available tools' env names only */
    const char *granted[] = {"TOOL_TOKEN", "OTHER_VAR", "FAKE_API_KEY", "INTERP_ONLY"};
    for (size_t i = 0; i < 4; i++)
        assert_true(vs_index_env_granted_anywhere(&idx, granted[i], strlen(granted[i])));
    assert_false(vs_index_env_granted_anywhere(&idx, "MISSING_VAR", 11));
    assert_false(vs_index_env_granted_anywhere(&idx, "MY_SECRET", 9));
    assert_false(vs_index_env_granted_anywhere(&idx, "GH_TOKEN", 8));

    /* paths */
    char netrc[512];
    path_in(netrc, sizeof netrc, ".netrc");
    assert_true(vs_index_path_managed(&idx, netrc));
    assert_true(vs_index_path_managed(&idx, "/etc/vaultshim-test/npmrc"));
    assert_true(vs_index_path_managed(&idx, "/etc/vaultshim-test/unused"));
    assert_false(vs_index_path_managed(&idx, "/etc/vaultshim-test/npmrc2"));
    assert_false(vs_index_path_managed(&idx, "/etc/vaultshim-test"));
    assert_false(vs_index_path_managed(&idx, "~/.netrc"));
    assert_false(vs_index_path_managed(&idx, ""));
    assert_true(vs_index_path_managed_n(&idx, "/etc/vaultshim-test/npmrc.bak", 25));

    /* tools */
    uint64_t td, ti, id, ii, sd, si;
    dev_ino("bin/tool", &td, &ti);
    dev_ino("bin/interp", &id, &ii);
    dev_ino("lib/script.js", &sd, &si);
    const struct vs_index_tool *t = vs_index_find_tool(&idx, td, ti, false, 0, 0);
    assert_non_null(t);
    assert_string_equal(vs_index_tool_name(&idx, t), "tool");
    assert_int_equal(t->flags, VS_INDEX_TOOL_MEDIATED | VS_INDEX_TOOL_APPROVE | VS_INDEX_TOOL_MASK);
    assert_ptr_equal(vs_index_find_tool(&idx, td, ti, true, sd, si), t); /* plain tool, any script */
    const struct vs_policy_tool *pt = vs_policy_find_tool_by_name(p, "tool");
    assert_int_equal(t->env_count, pt->n_env);
    for (size_t k = 0; k < pt->n_env; k++)
        assert_string_equal(vs_index_tool_env(&idx, t, k), pt->env[k].env);
    assert_null(vs_index_tool_env(&idx, t, pt->n_env));
    assert_int_equal(t->file_count, 2);
    assert_string_equal(vs_index_tool_file(&idx, t, 0), netrc);
    assert_string_equal(vs_index_tool_file(&idx, t, 1), "/etc/vaultshim-test/npmrc");
    assert_null(vs_index_tool_file(&idx, t, 2));

    const struct vs_index_tool *s = vs_index_find_tool(&idx, id, ii, true, sd, si);
    assert_non_null(s);
    assert_string_equal(vs_index_tool_name(&idx, s), "script");
    assert_int_equal(s->flags, VS_INDEX_TOOL_INTERPRETER);
    assert_int_equal(s->script_dev, sd);
    assert_int_equal(s->script_ino, si);
    assert_string_equal(vs_index_tool_env(&idx, s, 0), "FAKE_API_KEY");
    assert_string_equal(vs_index_tool_file(&idx, s, 0), "/etc/vaultshim-test/npmrc");
    const struct vs_index_tool *bare = vs_index_find_tool(&idx, id, ii, false, 0, 0);
    assert_non_null(bare); /* the interpreter alone is the plain tool */
    assert_string_equal(vs_index_tool_name(&idx, bare), "bare_interp");
    assert_ptr_equal(vs_index_find_tool(&idx, id, ii, true, sd, si + 1000000), bare);
    assert_ptr_equal(vs_index_find_tool(&idx, id, ii, true, 0, 0), bare);
    assert_null(vs_index_find_tool(&idx, sd, si, false, 0, 0));
    assert_null(vs_index_find_tool(&idx, td, ti + 1000000, false, 0, 0));
    assert_null(vs_index_tool_name(&idx, (const struct vs_index_tool *)(const void *)b.data));

    /* the same answers as the policy, tool by tool */
    for (size_t k = 0; k < p->n_tools; k++) {
        const struct vs_policy_tool *q = &p->tools[k];
        if (!q->available)
            continue;
        const struct vs_index_tool *x =
            vs_index_find_tool(&idx, q->exe_dev, q->exe_ino, q->script != NULL, q->script_dev, q->script_ino);
        assert_non_null(x);
        assert_ptr_equal(vs_policy_find_tool(p, q->exe_dev, q->exe_ino, q->script != NULL, q->script_dev,
                                             q->script_ino), q);
        assert_string_equal(vs_index_tool_name(&idx, x), q->name);
    }
    assert_true(vs_index_is_interpreter(&idx, id, ii));
    assert_false(vs_index_is_interpreter(&idx, td, ti));
    assert_false(vs_index_is_interpreter(&idx, sd, si));

    /* an empty policy: every table empty, built-ins still in NAMES */
    struct vs_policy *e = load("");
    struct vs_buf eb;
    build_ok(e, 0, &eb);
    seed("empty", eb.data, eb.len);
    assert_int_equal(vs_index_from_memory(eb.data, eb.len, &idx), 0);
    assert_true(idx.builtins_in_names);
    assert_int_equal(idx.n_tools + idx.n_paths + idx.n_granted + idx.n_globs + idx.n_interp, 0);
    assert_true(vs_index_env_protected(&idx, "GH_TOKEN", 8));
    assert_false(vs_index_env_protected(&idx, "TOOL_TOKEN", 10));
    assert_false(vs_index_path_managed(&idx, netrc));
    assert_null(vs_index_find_tool(&idx, td, ti, false, 0, 0));
    printf("# index sizes: policy %zu bytes, empty policy %zu bytes\n", b.len, eb.len);
    vs_buf_free(&eb);
    vs_policy_free(e);
    vs_buf_free(&b);
    vs_policy_free(p);
}

/* ---- hand-made files: one rule broken at a time ---- */

static const size_t esz[VS_IDX_NSECT] = {1, 8, 12, 8, 56, 4, 16, 8};

struct craft {
    char strings[64];
    uint32_t n_strings;
    struct vs_index_slot names[8], paths[8], granted[8];
    uint32_t n_names, n_paths, n_granted;
    struct vs_index_glob globs[2];
    uint32_t n_globs;
    struct vs_index_tool tools[3];
    uint32_t n_tools;
    uint32_t refs[4];
    uint32_t n_refs;
    struct vs_index_devino interp[3];
    uint32_t n_interp;
};

/* strings: "" GH_TOKEN *_KEY /etc/x t */
enum { S_GH = 1, S_GLOB = 10, S_PATH = 16, S_T = 23 };

static void craft_base(struct craft *c)
{
    memset(c, 0, sizeof *c);
    memcpy(c->strings, "\0GH_TOKEN\0*_KEY\0/etc/x\0t", 25);
    c->n_strings = 32; /* NUL padded to a multiple of 8 */
    uint32_t hg = vs_index_hash("GH_TOKEN", 8), hp = vs_index_hash("/etc/x", 6);
    c->n_names = c->n_paths = c->n_granted = 2;
    c->names[hg & 1] = (struct vs_index_slot){hg, S_GH};
    c->granted[hg & 1] = (struct vs_index_slot){hg, S_GH};
    c->paths[hp & 1] = (struct vs_index_slot){hp, S_PATH};
    c->globs[0] = (struct vs_index_glob){S_GLOB, 5, 0, 4, 0};
    c->n_globs = 1;
    c->tools[0] = (struct vs_index_tool){1, 10, 0, 0, 0, S_T, 0, 1, 1, 1};
    c->tools[1] = (struct vs_index_tool){1, 20, 1, 30, VS_INDEX_TOOL_INTERPRETER, S_T, 0, 1, 1, 1};
    c->n_tools = 2;
    c->refs[0] = S_GH;
    c->refs[1] = S_PATH;
    c->n_refs = 2;
    c->interp[0] = (struct vs_index_devino){1, 20};
    c->n_interp = 1;
}

static uint64_t craft_mem[2048]; /* 16 KiB, 8-aligned */

/* A file of these sections into craft_mem; its length. */
static size_t assemble_sections(const void *const data[VS_IDX_NSECT], const uint32_t count[VS_IDX_NSECT])
{
    uint8_t *out = (uint8_t *)craft_mem;
    memset(craft_mem, 0, sizeof craft_mem);
    struct vs_index_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, VS_INDEX_MAGIC, 8);
    h.version = VS_INDEX_VERSION;
    h.generation = 7;
    h.n_sections = VS_IDX_NSECT;
    size_t pos = sizeof h;
    for (int s = 0; s < VS_IDX_NSECT; s++) {
        pos = (pos + 7) & ~(size_t)7;
        h.sect[s] = (struct vs_index_sect){(uint32_t)pos, count[s]};
        if (count[s] != 0) /* an empty section may have no data (NULL) */
            memcpy(out + pos, data[s], count[s] * esz[s]);
        pos += count[s] * esz[s];
    }
    pos = (pos + 7) & ~(size_t)7;
    h.total_size = (uint32_t)pos;
    memcpy(out, &h, sizeof h);
    return pos;
}

static size_t assemble(const struct craft *c)
{
    const void *data[VS_IDX_NSECT] = {c->strings, c->names, c->globs, c->paths,
                                      c->tools, c->refs, c->interp, c->granted};
    const uint32_t count[VS_IDX_NSECT] = {c->n_strings, c->n_names, c->n_globs, c->n_paths,
                                          c->n_tools, c->n_refs, c->n_interp, c->n_granted};
    return assemble_sections(data, count);
}

static struct vs_index_header *hdr(void)
{
    return (struct vs_index_header *)(void *)craft_mem;
}

#define REFUSED(c_expr, ...)                                                                \
    do {                                                                                    \
        struct craft c_;                                                                    \
        craft_base(&c_);                                                                    \
        struct craft *c = &c_;                                                              \
        c_expr;                                                                             \
        size_t len_ = assemble(c);                                                          \
        __VA_ARGS__;                                                                        \
        if (vs_index_validate(craft_mem, len_) != VS_ECORRUPT)                              \
            fail_msg("line %d: accepted: %s", __LINE__, #c_expr " " #__VA_ARGS__);          \
    } while (0)

/* ---- the built-in names: confirmed in one compare where the writer puts
 * them (first in STRINGS, in list order), name by name elsewhere ---- */

#define BI_SLOTS 256
static char bi_strings[2048];
static struct vs_index_slot bi_names[BI_SLOTS];

static uint32_t bi_add_string(uint32_t *len, const char *s)
{
    uint32_t at = *len;
    size_t l = strlen(s);
    assert_true(at + l + 1 < sizeof bi_strings);
    memcpy(bi_strings + at, s, l + 1);
    *len += (uint32_t)l + 1;
    return at;
}

static void bi_add_slot(const char *s, uint32_t off)
{
    uint32_t h = vs_index_hash(s, strlen(s)), i = h & (BI_SLOTS - 1);
    while (bi_names[i].str != 0)
        i = (i + 1) & (BI_SLOTS - 1);
    bi_names[i] = (struct vs_index_slot){h, off};
}

/* NAMES holding every built-in name and X_TOKEN; the built-ins' strings
 * first (as the writer lays them out) or after X_TOKEN's. */
static size_t bi_file(bool builtins_first)
{
    memset(bi_strings, 0, sizeof bi_strings);
    memset(bi_names, 0, sizeof bi_names);
    uint32_t len = 1, x = 0;
    if (!builtins_first)
        x = bi_add_string(&len, "X_TOKEN");
    for (size_t i = 0; i < vs_index_builtin_count(); i++) {
        const char *b = vs_index_builtin_name(i);
        bi_add_slot(b, bi_add_string(&len, b));
    }
    if (builtins_first)
        x = bi_add_string(&len, "X_TOKEN");
    bi_add_slot("X_TOKEN", x);
    len = (len + 7) & ~7u;
    const void *data[VS_IDX_NSECT] = {bi_strings, bi_names};
    const uint32_t count[VS_IDX_NSECT] = {len, BI_SLOTS};
    return assemble_sections(data, count);
}

/* Every built-in name and X_TOKEN protected, a near miss not */
static void bi_lookups(const struct vs_index *idx)
{
    for (size_t i = 0; i < vs_index_builtin_count(); i++) {
        const char *b = vs_index_builtin_name(i);
        if (!vs_index_env_protected(idx, b, strlen(b)))
            fail_msg("%s not protected", b);
    }
    assert_true(vs_index_env_protected(idx, "X_TOKEN", 7));
    assert_false(vs_index_env_protected(idx, "X_TOKENS", 8));
    assert_false(vs_index_env_protected(idx, "GH_TOKE", 7));
}

static void builtins_confirmed_in_either_layout(void **state)
{
    (void)state;
    struct vs_index idx;
    for (int first = 0; first < 2; first++) {
        size_t len = bi_file(first != 0);
        assert_int_equal(vs_index_from_memory(craft_mem, len, &idx), 0);
        assert_true(idx.builtins_in_names);
        assert_int_equal(idx.builtins_first, first != 0);
        bi_lookups(&idx);
    }
    /* the writer's own file has them first */
    struct vs_policy *p = load("");
    struct vs_buf b;
    build_ok(p, 0, &b);
    const struct vs_index_header *h = (const void *)b.data;
    const char *strings = (const char *)b.data + h->sect[VS_IDX_STRINGS].offset;
    const char *gh = vs_index_builtin_name(0);
    assert_string_equal(strings + 1, gh);
    assert_int_equal(vs_index_from_memory(b.data, b.len, &idx), 0);
    assert_true(idx.builtins_first);
    vs_buf_free(&b);
    vs_policy_free(p);
}

/* A file that has them first but not as the list says: a byte of one name
 * changed, a slot's hash changed, a slot gone. Still valid; the names are
 * then not confirmed, and the built-in list answers for them. */
static void builtins_not_confirmed_when_altered(void **state)
{
    (void)state;
    struct vs_index idx;
    size_t len = bi_file(true);
    char *strings = (char *)craft_mem + hdr()->sect[VS_IDX_STRINGS].offset;
    strings[1 + strlen(vs_index_builtin_name(0)) + 1] ^= 0x20; /* the second name's first letter */
    assert_int_equal(vs_index_from_memory(craft_mem, len, &idx), 0);
    assert_false(idx.builtins_in_names || idx.builtins_first);
    bi_lookups(&idx);

    for (int how = 0; how < 2; how++) {
        len = bi_file(true);
        struct vs_index_slot *names =
            (struct vs_index_slot *)(void *)((char *)craft_mem + hdr()->sect[VS_IDX_NAMES].offset);
        const char *last = vs_index_builtin_name(vs_index_builtin_count() - 1);
        uint32_t h = vs_index_hash(last, strlen(last)), i = h & (BI_SLOTS - 1);
        while (names[i].hash != h)
            i = (i + 1) & (BI_SLOTS - 1);
        if (how == 0)
            names[i].hash ^= 1;
        else
            names[i] = (struct vs_index_slot){0, 0}; /* a probe chain may break: only absence matters */
        assert_int_equal(vs_index_from_memory(craft_mem, len, &idx), 0);
        assert_false(idx.builtins_in_names || idx.builtins_first);
        assert_true(vs_index_env_protected(&idx, last, strlen(last)));
    }
}

static void handmade(void **state)
{
    (void)state;
    struct craft good;
    craft_base(&good);
    size_t len = assemble(&good);
    seed("handmade", craft_mem, len);
    struct vs_index idx;
    assert_int_equal(vs_index_from_memory(craft_mem, len, &idx), 0);
    assert_int_equal(idx.generation, 7);
    assert_false(idx.builtins_in_names);              /* this file lacks them */
    assert_true(vs_index_env_protected(&idx, "NPM_TOKEN", 9)); /* so the list is checked */
    assert_true(vs_index_env_protected(&idx, "GH_TOKEN", 8));
    assert_true(vs_index_env_protected(&idx, "X_KEY", 5));
    assert_false(vs_index_env_protected(&idx, "X_KEYS", 6));
    assert_true(vs_index_path_managed(&idx, "/etc/x"));
    assert_true(vs_index_env_granted_anywhere(&idx, "GH_TOKEN", 8));
    assert_ptr_equal(vs_index_find_tool(&idx, 1, 10, false, 0, 0), &idx.tools[0]);
    assert_ptr_equal(vs_index_find_tool(&idx, 1, 20, true, 1, 30), &idx.tools[1]);
    assert_null(vs_index_find_tool(&idx, 1, 20, false, 0, 0));
    assert_null(vs_index_find_tool(&idx, 1, 20, true, 1, 31));
    assert_true(vs_index_is_interpreter(&idx, 1, 20));
    assert_false(vs_index_is_interpreter(&idx, 1, 10));
    assert_int_equal(idx.flags, 0);
    hdr()->flags = VS_INDEX_F_ONE_STEP; /* the known flags validate and are read */
    assert_int_equal(vs_index_from_memory(craft_mem, len, &idx), 0);
    assert_int_equal(idx.flags, VS_INDEX_F_ONE_STEP);
    hdr()->flags = VS_INDEX_F_ONE_STEP | VS_INDEX_F_WITH_FILES;
    assert_int_equal(vs_index_from_memory(craft_mem, len, &idx), 0);
    assert_int_equal(idx.flags, VS_INDEX_F_ONE_STEP | VS_INDEX_F_WITH_FILES);
    hdr()->flags = VS_INDEX_F_WITH_FILES << 1; /* the next bit is not known yet */
    assert_int_not_equal(vs_index_from_memory(craft_mem, len, &idx), 0);
    hdr()->flags = 0;

    /* the header */
    REFUSED((void)c, hdr()->magic[7] = '2');
    REFUSED((void)c, hdr()->version = 2);
    REFUSED((void)c, hdr()->flags = 4); /* an unknown flag */
    REFUSED((void)c, hdr()->flags = 0x80000001u);
    REFUSED((void)c, hdr()->n_sections = VS_IDX_NSECT - 1);
    REFUSED((void)c, hdr()->total_size += 8);
    REFUSED((void)c, hdr()->sect[VS_IDX_TOOLS].offset = (uint32_t)len_ + 8);      /* past the end */
    REFUSED((void)c, hdr()->sect[VS_IDX_TOOLS].offset = 0xfffffff8u);
    REFUSED((void)c, hdr()->sect[VS_IDX_TOOLS].count = 0xffffffffu);              /* 56 * count */
    REFUSED((void)c, hdr()->sect[VS_IDX_REFS].count = 0x40000001u);               /* 4 * count wraps u32 */
    REFUSED((void)c, hdr()->sect[VS_IDX_STRINGS].count = 0xffffffffu);
    REFUSED((void)c, hdr()->sect[VS_IDX_NAMES].offset -= 8);                      /* overlap */
    REFUSED((void)c, hdr()->sect[VS_IDX_GRANTED].count = 0);                      /* not the end */
    REFUSED((void)c, ((uint8_t *)craft_mem)[hdr()->sect[VS_IDX_GLOBS].offset + 12] = 1); /* padding */
    REFUSED((void)c, ((uint8_t *)craft_mem)[len_ - 1] = 1);                       /* tail padding, if any */
    /* strings */
    REFUSED(c->strings[31] = 'x');                                                /* unterminated */
    REFUSED(c->n_strings = 25);                                                   /* not padded */
    REFUSED(c->strings[0] = 'x');
    REFUSED(c->n_strings = 0);
    /* tables */
    REFUSED(c->n_names = 3);                                                      /* not a power of two */
    REFUSED(c->n_paths = 6);
    REFUSED(c->names[0].hash = c->names[1].hash = 1; c->names[0].str = c->names[1].str = S_GH);         /* more than half full */
    REFUSED(c->names[c->names[0].str == 0 ? 0 : 1].hash = 5);                     /* empty slot, hash set */
    REFUSED(c->granted[0].str = c->granted[1].str = 200);                         /* past the strings */
    REFUSED(c->paths[0].str = c->paths[1].str = 9);                               /* an empty string */
    /* globs */
    REFUSED(c->globs[0].prefix = 1);
    REFUSED(c->globs[0].suffix = 3);
    REFUSED(c->globs[0].len = 6);
    REFUSED(c->globs[0].reserved = 1);
    REFUSED(c->globs[0].str = S_GH);                                              /* no '*' */
    REFUSED(c->globs[0].str = 60);
    /* tools */
    REFUSED(struct vs_index_tool x = c->tools[0]; c->tools[0] = c->tools[1]; c->tools[1] = x); /* unsorted */
    REFUSED(c->tools[1] = c->tools[0]);                                           /* duplicate key */
    REFUSED(c->tools[0].script_ino = 5);                                          /* plain with a script */
    REFUSED(c->tools[1].flags = 0);
    REFUSED(c->tools[0].flags = 0x100);
    REFUSED(c->tools[0].env_first = 0xffffffffu; c->tools[0].env_count = 2);      /* first + count wraps */
    REFUSED(c->tools[0].file_first = 1; c->tools[0].file_count = 2);
    REFUSED(c->tools[1].name = 500);
    REFUSED(c->refs[1] = 32);
    REFUSED(c->refs[0] = 0);
    /* interpreters */
    REFUSED(c->interp[1] = c->interp[0]; c->n_interp = 2);
    REFUSED(c->interp[1].dev = 0; c->interp[1].ino = 99; c->n_interp = 2);

    /* the buffer itself */
    craft_base(&good);
    len = assemble(&good);
    assert_int_equal(vs_index_validate(NULL, len), VS_ECORRUPT);
    assert_int_equal(vs_index_validate(craft_mem, len - 8), VS_ECORRUPT);
    assert_int_equal(vs_index_validate(craft_mem, 0), VS_ECORRUPT);
    uint8_t *odd = malloc(len + 8);
    assert_non_null(odd);
    memcpy(odd + 4, craft_mem, len);
    assert_int_equal(vs_index_validate(odd + 4, len), VS_ECORRUPT); /* misaligned */
    free(odd);
    uint8_t *big = calloc(1, VS_INDEX_MAX_BYTES + 8);
    assert_non_null(big);
    memcpy(big, craft_mem, len);
    assert_int_equal(vs_index_validate(big, VS_INDEX_MAX_BYTES + 8), VS_ETOOBIG);
    free(big);
}

/* ---- every truncation, every flipped byte ---- */

static const char *region(const struct vs_index_header *h, size_t off)
{
    static const char *const names[VS_IDX_NSECT] = {"strings", "names", "globs", "paths",
                                                    "tools", "refs", "interp", "granted"};
    if (off >= 16 && off < 24)
        return "generation";
    if (off < sizeof *h)
        return "header";
    for (int s = VS_IDX_NSECT - 1; s >= 0; s--)
        if (off >= h->sect[s].offset)
            return off < h->sect[s].offset + h->sect[s].count * esz[s] ? names[s] : "padding";
    return "padding";
}

static void corrupt_all(const uint8_t *good, size_t len, const char *what)
{
    struct vs_index_header h;
    memcpy(&h, good, sizeof h);
    for (size_t l = 0; l < len; l++) {
        uint8_t *p = dup_exact(good, l);
        if (vs_index_validate(l != 0 ? p : NULL, l) == 0)
            fail_msg("%s: truncation to %zu accepted", what, l);
        free(p);
    }
    static const uint8_t masks[] = {0xff, 0x01, 0x80};
    size_t accepted = 0, tried = 0;
    char summary[512] = "";
    const char *last = NULL;
    size_t run = 0;
    uint8_t *p = dup_exact(good, len);
    for (size_t off = 0; off < len; off++) {
        const char *r = region(&h, off);
        if (last != NULL && r != last) {
            if (run > 0) {
                size_t sl = strlen(summary);
                snprintf(summary + sl, sizeof summary - sl, " %s:%zu", last, run);
            }
            run = 0;
        }
        last = r;
        for (size_t m = 0; m < sizeof masks; m++) {
            p[off] ^= masks[m];
            struct vs_index idx;
            tried++;
            if (vs_index_from_memory(p, len, &idx) == 0) {
                accepted++;
                run++;
                (void)exercise(&idx);
                /* The ONE_STEP and WITH_FILES flags are the header bits
                 * with two valid values each (mode hints: a wrong one
                 * costs a refusal or a round trip, never a value). */
                bool one_step_bit = off == offsetof(struct vs_index_header, flags) &&
                                    (masks[m] == VS_INDEX_F_ONE_STEP || masks[m] == VS_INDEX_F_WITH_FILES);
                if ((strcmp(r, "header") == 0 && !one_step_bit) || strcmp(r, "padding") == 0)
                    fail_msg("%s: flip 0x%02x at %zu (%s) accepted", what, masks[m], off, r);
            }
            p[off] ^= masks[m];
        }
    }
    if (run > 0) {
        size_t sl = strlen(summary);
        snprintf(summary + sl, sizeof summary - sl, " %s:%zu", last, run);
    }
    free(p);
    printf("# %s: %zu bytes, %zu truncations refused, %zu of %zu flips accepted, by region:%s\n",
           what, len, len, accepted, tried, summary);
}

static void truncations_and_flips(void **state)
{
    (void)state;
    struct craft c;
    craft_base(&c);
    size_t len = assemble(&c);
    uint8_t *copy = dup_exact(craft_mem, len);
    corrupt_all(copy, len, "handmade");
    free(copy);
    struct vs_policy *p = load(policy_text);
    struct vs_buf b;
    build_ok(p, 1, &b);
    corrupt_all(b.data, b.len, "policy");
    vs_buf_free(&b);
    vs_policy_free(p);
}

/* ---- writing and mapping files ---- */

static void write_and_map(void **state)
{
    (void)state;
    struct vs_policy *p = load(policy_text);
    char dir[512], file[600], link[600];
    path_in(dir, sizeof dir, "out");
    snprintf(file, sizeof file, "%s/index", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);

    struct vs_index idx;
    errno = 1234;
    assert_int_equal(vs_index_map(file, &idx), VS_ENOENT);
    assert_int_equal(errno, 1234); /* the shim's caller never sees ours */

    mode_t old = umask(077);
    assert_int_equal(vs_index_write(dirfd, "index", p, 5, 0), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(vs_index_map(file, &idx), 0);
    assert_true(idx.mapped);
    assert_int_equal(idx.generation, 5);
    assert_true(vs_index_env_protected(&idx, "TOOL_TOKEN", 10));

    /* replaced atomically: the old mapping still reads the old file */
    assert_int_equal(vs_index_write(dirfd, "index", p, 6, 0), 0);
    struct vs_index again;
    assert_int_equal(vs_index_map(file, &again), 0);
    assert_int_equal(again.generation, 6);
    assert_int_equal(idx.generation, 5);
    assert_true(vs_index_path_managed(&idx, "/etc/vaultshim-test/npmrc"));
    vs_index_unmap(&again);
    /* read into a buffer when it fits, mapped when not */
    static uint64_t small[1024];
    assert_int_equal(vs_index_load(file, small, sizeof small, &again), 0);
    assert_false(again.mapped);
    assert_ptr_equal(again.base, small);
    assert_int_equal(again.generation, 6);
    assert_true(vs_index_env_granted_anywhere(&again, "INTERP_ONLY", 11));
    vs_index_unmap(&again); /* nothing to unmap: forgets it */
    assert_int_equal(vs_index_load(file, small, 64, &again), 0);
    assert_true(again.mapped);
    vs_index_unmap(&again);
    assert_int_equal(vs_index_load(link, small, sizeof small, &again), VS_ENOENT);
    vs_index_unmap(&idx);
    assert_null(idx.base);
    vs_index_unmap(&idx);
    vs_index_unmap(NULL);
    /* no temp file left behind */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s')\" = index", dir);
    assert_int_equal(system(cmd), 0);

    /* refused: a symlink, an unsafe mode, not a file, too big, corrupt */
    assert_int_equal(symlink(file, link), 0);
    assert_int_equal(vs_index_map(link, &idx), VS_EPERM);
    assert_null(idx.base);
    assert_int_equal(unlink(link), 0);
    assert_int_equal(chmod(file, 0664), 0);
    assert_int_equal(vs_index_map(file, &idx), VS_EPERM);
    assert_int_equal(chmod(file, 0644), 0);
    assert_int_equal(vs_index_map(dir, &idx), VS_EPERM);
    assert_int_equal(mkfifo(link, 0600), 0);
    assert_int_equal(vs_index_map(link, &idx), VS_EPERM); /* and does not block */
    assert_int_equal(unlink(link), 0);
    int fd = open(link, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, VS_INDEX_MAX_BYTES + 8), 0);
    assert_int_equal(vs_index_map(link, &idx), VS_ETOOBIG);
    assert_int_equal(ftruncate(fd, 64), 0);
    assert_int_equal(vs_index_map(link, &idx), VS_ECORRUPT);
    assert_int_equal(ftruncate(fd, 4096), 0);
    assert_int_equal(vs_index_map(link, &idx), VS_ECORRUPT);
    assert_int_equal(close(fd), 0);
    assert_null(idx.base);

    /* bad names */
    assert_int_equal(vs_index_write(dirfd, "a/b", p, 1, 0), VS_EINVAL);
    assert_int_equal(vs_index_write(dirfd, "..", p, 1, 0), VS_EINVAL);
    assert_int_equal(vs_index_write(-1, "index", p, 1, 0), VS_EIO);
    assert_int_equal(close(dirfd), 0);
    vs_policy_free(p);
}

/* ---- a large policy, and the cost of each look-up ---- */

#define MANY_TOOLS 1000
#define NAMES_PER_TOOL 10

static void large_and_fast(void **state)
{
    (void)state;
    size_t cap = 600 * 1024, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "protect = [ \"*_TOKEN\", \"AWS_*_KEY*\", \"*_SECRET\" ];\ntools = (\n");
    for (int i = 0; i < MANY_TOOLS; i++) {
        char rel[64], p[512];
        snprintf(rel, sizeof rel, "many/f%04d", i);
        path_in(p, sizeof p, rel);
        write_mode(p, "#!/bin/sh\n", 0755);
        len += (size_t)snprintf(text + len, cap - len, " { name = \"t%d\"; exe = \"~/many/f%04d\"; env = [", i, i);
        for (int k = 0; k < NAMES_PER_TOOL; k++)
            len += (size_t)snprintf(text + len, cap - len, "%s\"N%d_%d\"", k ? ", " : " ", i, k);
        len += (size_t)snprintf(text + len, cap - len, " ]; }%s\n", i + 1 < MANY_TOOLS ? "," : "");
        assert_true(len < cap - 256);
    }
    len += (size_t)snprintf(text + len, cap - len, ");\n");
    double t0 = now_ns();
    struct vs_policy *p = load(text);
    double t1 = now_ns();
    struct vs_buf b;
    build_ok(p, 9, &b);
    double t2 = now_ns();
    struct vs_index idx;
    assert_int_equal(vs_index_from_memory(b.data, b.len, &idx), 0);
    double t3 = now_ns();
    printf("# large: %d tools, %d names: policy load %.1f ms, index build %.1f ms (%zu bytes), validate %.1f us\n",
           MANY_TOOLS, MANY_TOOLS * NAMES_PER_TOOL, (t1 - t0) / 1e6, (t2 - t1) / 1e6, b.len, (t3 - t2) / 1e3);
    assert_int_equal(idx.n_tools, MANY_TOOLS);
    assert_true(idx.builtins_in_names);

    static uint64_t dev[MANY_TOOLS], ino[MANY_TOOLS];
    static char hit[MANY_TOOLS * NAMES_PER_TOOL][16], miss[MANY_TOOLS * NAMES_PER_TOOL][16];
    static size_t hit_len[MANY_TOOLS * NAMES_PER_TOOL], miss_len[MANY_TOOLS * NAMES_PER_TOOL];
    for (int i = 0; i < MANY_TOOLS; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "many/f%04d", i);
        dev_ino(rel, &dev[i], &ino[i]);
        const struct vs_index_tool *t = vs_index_find_tool(&idx, dev[i], ino[i], false, 0, 0);
        assert_non_null(t);
        char want[16];
        snprintf(want, sizeof want, "t%d", i);
        assert_string_equal(vs_index_tool_name(&idx, t), want);
        assert_int_equal(t->env_count, NAMES_PER_TOOL);
        for (int k = 0; k < NAMES_PER_TOOL; k++) {
            size_t n = (size_t)(i * NAMES_PER_TOOL + k);
            hit_len[n] = (size_t)snprintf(hit[n], sizeof hit[n], "N%d_%d", i, k);
            miss_len[n] = (size_t)snprintf(miss[n], sizeof miss[n], "M%d_%d", i, k);
            assert_string_equal(vs_index_tool_env(&idx, t, (size_t)k), hit[n]);
            assert_true(vs_index_env_protected(&idx, hit[n], hit_len[n]));
            assert_true(vs_index_env_granted_anywhere(&idx, hit[n], hit_len[n]));
            assert_false(vs_index_env_protected(&idx, miss[n], miss_len[n]));
            assert_false(vs_index_env_granted_anywhere(&idx, miss[n], miss_len[n]));
        }
    }
    const size_t N = MANY_TOOLS * NAMES_PER_TOOL, iters = 2000000;
    BENCH("large: protected, exact hit", iters, vs_index_env_protected(&idx, hit[it % N], hit_len[it % N]));
    BENCH("large: protected, miss (3 globs)", iters, vs_index_env_protected(&idx, miss[it % N], miss_len[it % N]));
    BENCH("large: granted_anywhere, miss", iters, vs_index_env_granted_anywhere(&idx, miss[it % N], miss_len[it % N]));
    BENCH("large: find_tool (1,000 tools)", iters,
          vs_index_find_tool(&idx, dev[it % MANY_TOOLS], ino[it % MANY_TOOLS], false, 0, 0) != NULL);
    vs_buf_free(&b);
    vs_policy_free(p);
    free(text);
}

static int map_unmap(const char *file)
{
    struct vs_index m;
    int rc = vs_index_map(file, &m);
    vs_index_unmap(&m);
    return rc == 0;
}

static void speed_small(void **state)
{
    (void)state;
    struct vs_policy *p = load(policy_text);
    struct vs_buf b;
    build_ok(p, 1, &b);
    struct vs_index idx;
    assert_int_equal(vs_index_from_memory(b.data, b.len, &idx), 0);
    /* names a process commonly reads: none protected */
    static const char *const common[] = {"HOME", "PATH", "LANG", "TERM", "XDG_RUNTIME_DIR",
                                         "LD_LIBRARY_PATH", "PYTHONPATH", "NODE_OPTIONS"};
    size_t clen[8];
    for (size_t i = 0; i < 8; i++) {
        clen[i] = strlen(common[i]);
        assert_false(vs_index_env_protected(&idx, common[i], clen[i]));
    }
    const size_t iters = 5000000;
    BENCH("bare getenv (HOME, PATH, ...)", iters, getenv(common[it & 7]) != NULL);
    BENCH("strlen + protected, unprotected name", iters,
          vs_index_env_protected(&idx, common[it & 7], strlen(common[it & 7])));
    BENCH("protected, unprotected name (len known)", iters,
          vs_index_env_protected(&idx, common[it & 7], clen[it & 7]));
    BENCH("protected, exact hit (TOOL_TOKEN)", iters, vs_index_env_protected(&idx, "TOOL_TOKEN", 10));
    BENCH("protected, built-in hit (OPENAI_API_KEY)", iters, vs_index_env_protected(&idx, "OPENAI_API_KEY", 14));
    BENCH("entry_protected, glob hit (GH_TOKEN=x)", iters, vs_index_entry_protected(&idx, "GH_TOKEN=x"));
    BENCH("entry_protected, miss (PYTHONPATH=/x)", iters, vs_index_entry_protected(&idx, "PYTHONPATH=/x"));
    BENCH("no index: protected, unprotected name", iters, vs_index_env_protected(NULL, common[it & 7], clen[it & 7]));
    BENCH("no index: protected, built-in hit", iters, vs_index_env_protected(NULL, "GITHUB_TOKEN", 12));
    BENCH("path_managed, miss (/usr/lib/x86_64-linux-gnu/libc.so.6)", iters,
          vs_index_path_managed(&idx, "/usr/lib/x86_64-linux-gnu/libc.so.6"));
    BENCH("path_managed, miss (/etc/hosts)", iters, vs_index_path_managed(&idx, "/etc/hosts"));
    BENCH("path_managed, hit", iters, vs_index_path_managed(&idx, "/etc/vaultshim-test/npmrc"));
    uint64_t td, ti;
    dev_ino("bin/tool", &td, &ti);
    BENCH("find_tool, hit", iters, vs_index_find_tool(&idx, td, ti, false, 0, 0) != NULL);
    BENCH("find_tool, miss", iters, vs_index_find_tool(&idx, td, ti + 1 + (it & 1), false, 0, 0) != NULL);
    BENCH("is_interpreter, miss", iters, vs_index_is_interpreter(&idx, td, ti));
    BENCH("validate (small policy index)", 20000, vs_index_from_memory(b.data, b.len, &idx) == 0);

    char dir[512], file[600];
    path_in(dir, sizeof dir, "out");
    snprintf(file, sizeof file, "%s/speed", dir);
    tu_write_file(file, b.data, b.len);
    assert_int_equal(chmod(file, 0644), 0);
    struct vs_index m;
    BENCH("vs_index_map + unmap (file: open, statx, mmap)", 20000, map_unmap(file));
    static uint64_t into[2048];
    BENCH("vs_index_load (file: open, statx, pread)", 20000, vs_index_load(file, into, sizeof into, &m) == 0);
    vs_buf_free(&b);
    vs_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_list),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(builtins_confirmed_in_either_layout),
        cmocka_unit_test(builtins_not_confirmed_when_altered),
        cmocka_unit_test(handmade),
        cmocka_unit_test(truncations_and_flips),
        cmocka_unit_test(write_and_map),
        cmocka_unit_test(large_and_fast),
        cmocka_unit_test(speed_small),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
