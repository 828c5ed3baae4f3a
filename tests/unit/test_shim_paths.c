/* shim/paths.c: canonical paths and the managed-path decision, with no hook
 * involved. paths.c is compiled into this test (shim objects are not in the
 * unit-test libraries); the shared state it reads is defined here, with an
 * index built from a real policy. Timings are '#' TAP comments, never
 * asserted. */
#include "testutil.h"

#include "../../shim/paths.c"
#include "../../shim/hide.c"

#include "buf.h"
#include "error.h"
#include "index_write.h"
#include "policy.h"

#include <sys/stat.h>
#include <time.h>

struct vs_shim vs_shim = {.sock = -1};
_Thread_local int vs_shim_guard;

static char *tmp;            /* mkdtemp, physical (realpath'd) */
static char netrc[PATH_MAX]; /* tmp/home/.netrc: managed */
static char aws[PATH_MAX];   /* tmp/link/aws/credentials: managed, named through a symlinked folder */
static struct vs_buf ibuf;

/* tmp + sep + a into out; sep is "/" or "//". */
static void pathf(char *out, const char *sep, const char *a)
{
    int n = snprintf(out, PATH_MAX, "%s%s%s", tmp, sep, a);
    assert_true(n > 0 && n < PATH_MAX);
}

static void mk(const char *rel, bool dir)
{
    char p[PATH_MAX];
    pathf(p, "/", rel);
    if (dir) {
        assert_int_equal(mkdir(p, 0700), 0);
    } else {
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fclose(f);
    }
}

static void ln(const char *target, const char *rel)
{
    char p[PATH_MAX];
    pathf(p, "/", rel);
    assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
    (void)state;
    char *t = tu_tempdir();
    tmp = realpath(t, NULL);
    free(t);
    if (tmp == NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(tmp);
    vs_buf_free(&ibuf);
    return 0;
}

static void test_fixture(void **state)
{
    (void)state;
    mk("home", true);
    mk("real", true);
    mk("real/aws", true);
    mk("other", true);
    ln("real", "link"); /* relative target */
    char target[PATH_MAX];
    pathf(netrc, "/", "home/.netrc");
    pathf(aws, "/", "link/aws/credentials");
    char text[4 * PATH_MAX];
    int n = snprintf(text, sizeof text,
                     "files = ( { name = \"netrc\"; path = \"%s\"; template = \"x\"; },\n"
                     "          { name = \"aws\"; path = \"%s\"; template = \"y\"; } );\n",
                     netrc, aws);
    assert_true(n > 0 && (size_t)n < sizeof text);
    struct vs_policy_opts o = {.home = tmp};
    struct vs_policy *p = NULL;
    int rc = vs_policy_load_string(text, "t", &o, &p);
    if (rc != 0)
        fail_msg("policy: %s", vs_last_error(rc));
    vs_buf_init(&ibuf, 0);
    assert_int_equal(vs_index_build(p, 1, 0, &ibuf), 0);
    vs_policy_free(p);
    assert_int_equal(vs_index_from_memory(ibuf.data, ibuf.len, &vs_shim.index), 0);
    vs_shim.have_index = true;
    assert_true(vs_index_path_managed(&vs_shim.index, netrc));
    pathf(target, "/", "home/.netrc");
    ln(target, "other/.netrc");      /* a symlink named like the managed file */
    ln(target, "other/innocent");    /* one named otherwise */
    ln("../home/.netrc", "other/rel"); /* relative, other name */
    mk("other/plain", false);
}

static void canon_is(int dirfd, const char *path, const char *want)
{
    char out[PATH_MAX];
    errno = 4242;
    assert_true(vs_shim_canonical(dirfd, path, out, sizeof out));
    assert_string_equal(out, want);
    assert_int_equal(errno, 4242);
    assert_int_equal(vs_shim_guard, 0);
}

static void test_canonical_forms(void **state)
{
    (void)state;
    char in[PATH_MAX], want[PATH_MAX];
    canon_is(AT_FDCWD, netrc, netrc);
    pathf(in, "/", "other/../home/./.netrc");
    canon_is(AT_FDCWD, in, netrc);
    pathf(in, "//", "home//.netrc");
    canon_is(AT_FDCWD, in, netrc);
    /* a symlinked folder is resolved */
    pathf(in, "/", "link/aws/credentials");
    pathf(want, "/", "real/aws/credentials");
    canon_is(AT_FDCWD, in, want);
    /* the last component is not followed, even when it is a symlink */
    pathf(in, "/", "other/.netrc");
    canon_is(AT_FDCWD, in, in);
    /* the file need not exist, its folder must */
    pathf(in, "/", "home/nothing");
    canon_is(AT_FDCWD, in, in);
    char out[PATH_MAX];
    pathf(in, "/", "nofolder/x");
    assert_false(vs_shim_canonical(AT_FDCWD, in, out, sizeof out));
    assert_false(vs_shim_canonical(AT_FDCWD, "", out, sizeof out));
    assert_false(vs_shim_canonical(AT_FDCWD, NULL, out, sizeof out));
    assert_false(vs_shim_canonical(AT_FDCWD, netrc, out, 8)); /* too small: no truncation */
    /* folders: "x/", "x/.", "x/.." */
    pathf(in, "/", "home/");
    pathf(want, "/", "home");
    canon_is(AT_FDCWD, in, want);
    pathf(in, "/", "home/..");
    canon_is(AT_FDCWD, in, tmp);
    canon_is(AT_FDCWD, "/", "/");
    canon_is(AT_FDCWD, "/etc", "/etc");
}

static void test_relative_and_dirfd(void **state)
{
    (void)state;
    char cwd[PATH_MAX], home[PATH_MAX], in[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    pathf(home, "/", "home");
    assert_int_equal(chdir(home), 0);
    canon_is(AT_FDCWD, ".netrc", netrc);
    canon_is(AT_FDCWD, "./.netrc", netrc);
    canon_is(AT_FDCWD, "../home/.netrc", netrc);
    canon_is(AT_FDCWD, "../link/../home/.netrc", netrc); /* ".." after a symlink: physical */
    assert_int_equal(chdir(cwd), 0);
    int dfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    canon_is(dfd, ".netrc", netrc);
    canon_is(dfd, "../home/.netrc", netrc);
    canon_is(dfd, netrc, netrc); /* absolute: dirfd ignored */
    pathf(in, "/", "other");
    int ofd = open(in, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(ofd >= 0);
    canon_is(ofd, "../home/.netrc", netrc);
    close(ofd);
    close(dfd);
    char out[PATH_MAX];
    assert_false(vs_shim_canonical(12345, ".netrc", out, sizeof out)); /* a bad dirfd */
}

static bool managed(int dirfd, const char *path)
{
    char canon[PATH_MAX];
    errno = 4242;
    bool m = vs_shim_managed_path(dirfd, path, canon, sizeof canon);
    assert_int_equal(errno, 4242);
    assert_int_equal(vs_shim_guard, 0);
    if (m)
        assert_true(vs_shim_path_managed(canon));
    return m;
}

static void test_managed_decision(void **state)
{
    (void)state;
    char in[PATH_MAX], cwd[PATH_MAX];
    assert_true(managed(AT_FDCWD, netrc));
    pathf(in, "/", "other/../home/.netrc");
    assert_true(managed(AT_FDCWD, in));
    /* the policy names aws through a symlinked folder: both forms managed */
    assert_true(managed(AT_FDCWD, aws));
    pathf(in, "/", "real/aws/credentials");
    assert_true(managed(AT_FDCWD, in));
    pathf(in, "/", "real/aws/../aws/credentials");
    assert_true(managed(AT_FDCWD, in));
    /* a symlink named like a managed file leads to it: managed */
    pathf(in, "/", "other/.netrc");
    assert_true(managed(AT_FDCWD, in));
    /* documented limit: a symlink named otherwise is not seen */
    pathf(in, "/", "other/innocent");
    assert_false(managed(AT_FDCWD, in));
    /* same basename, another folder; other names; folders */
    pathf(in, "/", "home/credentials");
    assert_false(managed(AT_FDCWD, in));
    pathf(in, "/", "other/plain");
    assert_false(managed(AT_FDCWD, in));
    pathf(in, "/", "home/.netrc/");
    assert_false(managed(AT_FDCWD, in));
    pathf(in, "/", "home/.netrcx");
    assert_false(managed(AT_FDCWD, in));
    assert_false(managed(AT_FDCWD, ".netrc")); /* cwd is not home */
    assert_false(managed(AT_FDCWD, ""));
    assert_false(managed(AT_FDCWD, NULL));
    assert_false(managed(AT_FDCWD, "/"));
    /* relative and dirfd */
    assert_non_null(getcwd(cwd, sizeof cwd));
    pathf(in, "/", "home");
    assert_int_equal(chdir(in), 0);
    assert_true(managed(AT_FDCWD, ".netrc"));
    assert_true(managed(AT_FDCWD, "../link/aws/credentials"));
    assert_int_equal(chdir(cwd), 0);
    int dfd = open(in, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(managed(dfd, ".netrc"));
    close(dfd);
    /* no index: nothing is managed */
    vs_shim.have_index = false;
    assert_false(managed(AT_FDCWD, netrc));
    vs_shim.have_index = true;
}

static void test_filter_tables(void **state)
{
    (void)state;
    assert_int_equal(atomic_load(&filt.state), 2);
    assert_int_equal(filt.n, 2); /* ".netrc" and "credentials" */
    assert_false(filt.all);
    assert_true(candidate(".netrc", 6));
    assert_true(candidate("credentials", 11));
    assert_false(candidate(".npmrc", 6));
    assert_false(candidate("", 0));
    /* The hooks' filter: the managed basenames pass whatever the folder;
     * other names, a trailing '/', and NULL do not. */
    assert_true(vs_shim_path_suspect(netrc));
    assert_true(vs_shim_path_suspect(".netrc"));
    assert_true(vs_shim_path_suspect("/anywhere/credentials"));
    assert_false(vs_shim_path_suspect("/etc/hostname"));
    assert_false(vs_shim_path_suspect("/home/u/.npmrc"));
    assert_false(vs_shim_path_suspect("/home/u/.netrc/"));
    assert_false(vs_shim_path_suspect(""));
    assert_false(vs_shim_path_suspect(NULL));
    assert_int_equal(atomic_load(&alias.state), 2);
    assert_int_equal(alias.n, 1); /* aws's physical form */
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The cost an unmanaged open pays: printed, never asserted. */
/* hide_files inside a granted tool: a suffix entry and a path entry, reached
 * by absolute, relative and ".." forms; neighbours stay visible; a served
 * (managed) path is still managed. Runs last: entries cannot be removed. */
static void test_hidden(void **state)
{
    (void)state;
    char in[PATH_MAX], canon[PATH_MAX], cwd[PATH_MAX], exact[PATH_MAX];
    mk("other/.git", true); /* canonical forms need the parent folder */
    mk("other/git", true);
    pathf(in, "/", "other/.git/config");
    assert_false(vs_shim_hidden(AT_FDCWD, in, canon, sizeof canon)); /* no entry yet */
    assert_false(vs_shim_path_suspect(in));
    assert_int_equal(vs_shim_hide_add("*/.git/config", strlen("*/.git/config")), 0);
    pathf(exact, "/", "home/.gitconfig");
    assert_int_equal(vs_shim_hide_add(exact, strlen(exact)), 0);
    /* The hooks' filter passes hidden basenames too (else the hooks would
     * never ask vs_shim_managed_path about them). */
    assert_true(vs_shim_path_suspect(in));
    assert_true(vs_shim_path_suspect(".gitconfig"));
    assert_false(vs_shim_path_suspect("/x/.git/configx"));
    assert_false(vs_shim_path_suspect("/x/.gitconfig2"));
    assert_true(vs_shim_hidden(AT_FDCWD, in, canon, sizeof canon));
    pathf(in, "/", "home/../other/.git/config");
    assert_true(vs_shim_hidden(AT_FDCWD, in, canon, sizeof canon));
    assert_true(vs_shim_hidden(AT_FDCWD, exact, canon, sizeof canon));
    pathf(in, "/", "other/../home/.gitconfig");
    assert_true(vs_shim_hidden(AT_FDCWD, in, canon, sizeof canon));
    pathf(in, "/", "other/.gitconfig"); /* same basename, another folder */
    assert_false(vs_shim_hidden(AT_FDCWD, in, canon, sizeof canon));
    pathf(in, "/", "other/git/config"); /* not below a .git folder */
    assert_false(vs_shim_hidden(AT_FDCWD, in, canon, sizeof canon));
    pathf(in, "/", "other/.git/configx");
    assert_false(vs_shim_hidden(AT_FDCWD, in, canon, sizeof canon));
    assert_non_null(getcwd(cwd, sizeof cwd));
    pathf(in, "/", "other");
    assert_int_equal(chdir(in), 0);
    assert_true(vs_shim_hidden(AT_FDCWD, ".git/config", canon, sizeof canon));
    assert_true(vs_shim_managed_path(AT_FDCWD, ".git/config", canon, sizeof canon));
    assert_int_equal(chdir(cwd), 0);
    assert_true(managed(AT_FDCWD, netrc)); /* served files are unaffected */
    /* The filter never misses: every path managed or hidden above passes it. */
    const char *forms[] = {".git/config", "other/.git/config", ".netrc", "../home/.netrc", exact, netrc, aws};
    assert_int_equal(chdir(in), 0);
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (vs_shim_managed_path(AT_FDCWD, forms[i], canon, sizeof canon))
            assert_true(vs_shim_path_suspect(forms[i]));
    assert_int_equal(chdir(cwd), 0);
}

static void test_bench_unmanaged(void **state)
{
    (void)state;
    const char *paths[] = {"/usr/lib/x86_64-linux-gnu/libc.so.6", "src/main.c", "/etc/ssl/certs/ca.pem",
                           "node_modules/.package-lock.json"};
    char canon[PATH_MAX];
    volatile int hits = 0;
    enum { N = 2000000 };
    double t0 = now_ns();
    for (int i = 0; i < N; i++)
        hits += vs_shim_managed_path(AT_FDCWD, paths[i & 3], canon, sizeof canon);
    double t1 = now_ns();
    assert_int_equal(hits, 0);
    print_message("# vs_shim_managed_path, unmanaged path: %.1f ns per call\n", (t1 - t0) / N);
    t0 = now_ns();
    for (int i = 0; i < 20000; i++)
        hits += vs_shim_managed_path(AT_FDCWD, netrc, canon, sizeof canon);
    t1 = now_ns();
    print_message("# vs_shim_managed_path, managed path (canonicalised): %.0f ns per call\n",
                  (t1 - t0) / 20000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_canonical_forms),
        cmocka_unit_test(test_relative_and_dirfd),
        cmocka_unit_test(test_managed_decision),
        cmocka_unit_test(test_filter_tables),
        cmocka_unit_test(test_bench_unmanaged),
        cmocka_unit_test(test_hidden),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
