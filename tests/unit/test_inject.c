#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "inject.h"

#include <stdio.h>
#include <string.h>

/* Every table entry, with a value that triggers it and its kind. */
static const struct {
    const char *entry;
    unsigned kind;
} every[] = {
    {"LD_PRELOAD=/tmp/evil.so", VS_INJ_LOADER},
    {"LD_AUDIT=/tmp/a.so", VS_INJ_LOADER},
    {"LD_LIBRARY_PATH=/tmp", VS_INJ_LOADER},
    {"GCONV_PATH=/tmp", VS_INJ_LOADER},
    {"OPENSSL_CONF=/tmp/o.cnf", VS_INJ_LOADER},
    {"OPENSSL_ENGINES=/tmp", VS_INJ_LOADER},
    {"OPENSSL_MODULES=/tmp", VS_INJ_LOADER},
    {"NODE_OPTIONS=--require /tmp/x.js", VS_INJ_NODE},
    {"NODE_PATH=/tmp", VS_INJ_NODE},
    {"NODE_REPL_EXTERNAL_MODULE=/tmp/x.js", VS_INJ_NODE},
    {"NODE_PRESERVE_SYMLINKS=1", VS_INJ_NODE},
    {"NODE_COMPILE_CACHE=/tmp", VS_INJ_NODE},
    {"NODE_DEBUG=http", VS_INJ_NODE},
    {"NODE_DEBUG_NATIVE=x", VS_INJ_NODE},
    {"npm_config_userconfig=/tmp/npmrc", VS_INJ_NODE},
    {"NPM_CONFIG_REGISTRY=https://x", VS_INJ_NODE},
    {"PYTHONPATH=/tmp", VS_INJ_PYTHON},
    {"PYTHONHOME=/tmp", VS_INJ_PYTHON},
    {"PYTHONSTARTUP=/tmp/s.py", VS_INJ_PYTHON},
    {"PYTHONINSPECT=1", VS_INJ_PYTHON},
    {"PYTHONUSERBASE=/tmp", VS_INJ_PYTHON},
    {"PYTHONPLATLIBDIR=../../tmp", VS_INJ_PYTHON},
    {"PYTHONPYCACHEPREFIX=/tmp", VS_INJ_PYTHON},
    {"PYTHONBREAKPOINT=x.y", VS_INJ_PYTHON},
    {"PYTHONEXECUTABLE=/tmp/p", VS_INJ_PYTHON},
    {"PERL5OPT=-Mx", VS_INJ_PERL},
    {"PERL5LIB=/tmp", VS_INJ_PERL},
    {"PERLLIB=/tmp", VS_INJ_PERL},
    {"PERL5DB=x", VS_INJ_PERL},
    {"RUBYOPT=-rx", VS_INJ_RUBY},
    {"RUBYLIB=/tmp", VS_INJ_RUBY},
    {"GEM_HOME=/tmp", VS_INJ_RUBY},
    {"GEM_PATH=/tmp", VS_INJ_RUBY},
    {"BUNDLE_GEMFILE=/tmp/G", VS_INJ_RUBY},
    {"JAVA_TOOL_OPTIONS=-javaagent:/tmp/a.jar", VS_INJ_JAVA},
    {"_JAVA_OPTIONS=-javaagent:/tmp/a.jar", VS_INJ_JAVA},
    {"JDK_JAVA_OPTIONS=-javaagent:/tmp/a.jar", VS_INJ_JAVA},
    {"BASH_ENV=/tmp/x", VS_INJ_SHELL},
    {"ENV=/tmp/x", VS_INJ_SHELL},
    {"BASH_FUNC_curl%%=() { :; }", VS_INJ_SHELL},
    {"SHELLOPTS=xtrace", VS_INJ_SHELL},
    {"BASHOPTS=x", VS_INJ_SHELL},
    {"ZDOTDIR=/tmp", VS_INJ_SHELL},
    {"GIT_CONFIG_COUNT=1", VS_INJ_GIT},
    {"GIT_CONFIG_KEY_0=credential.helper", VS_INJ_GIT},
    {"GIT_CONFIG_VALUE_0=!cat", VS_INJ_GIT},
    {"GIT_CONFIG_PARAMETERS='http.proxy'='x'", VS_INJ_GIT},
    {"GIT_CONFIG_GLOBAL=/tmp/c", VS_INJ_GIT},
    {"GIT_CONFIG_SYSTEM=/tmp/c", VS_INJ_GIT},
    {"GIT_CONFIG=/tmp/c", VS_INJ_GIT},
    {"GIT_EXEC_PATH=/tmp", VS_INJ_GIT},
    {"GIT_TRACE=1", VS_INJ_GIT},
    {"GIT_TRACE_CURL=1", VS_INJ_GIT},
    {"GIT_TRACE_REDACT=0", VS_INJ_GIT},
    {"GIT_CURL_VERBOSE=1", VS_INJ_GIT},
    {"GIT_SSH=/tmp/s", VS_INJ_GIT},
    {"GIT_SSH_COMMAND=x", VS_INJ_GIT},
    {"GIT_PROXY_COMMAND=x", VS_INJ_GIT},
    {"GIT_ASKPASS=/tmp/a", VS_INJ_GIT},
    {"SSH_ASKPASS=/tmp/a", VS_INJ_GIT},
    {"XDG_CONFIG_HOME=/tmp", VS_INJ_CONFIG},
    {"CURL_HOME=/tmp", VS_INJ_CONFIG},
    {"GH_CONFIG_DIR=/tmp", VS_INJ_CONFIG},
    {"AWS_CONFIG_FILE=/tmp/c", VS_INJ_CONFIG},
    {"http_proxy=http://p:8080", VS_INJ_PROXY},
    {"HTTP_PROXY=http://p:8080", VS_INJ_PROXY},
    {"https_proxy=http://p:8080", VS_INJ_PROXY},
    {"HTTPS_PROXY=http://p:8080", VS_INJ_PROXY},
    {"all_proxy=socks5://p", VS_INJ_PROXY},
    {"ALL_PROXY=socks5://p", VS_INJ_PROXY},
    {"ftp_proxy=http://p", VS_INJ_PROXY},
    {"npm_config_proxy=http://p", VS_INJ_PROXY},
    {"npm_config_https_proxy=http://p", VS_INJ_PROXY},
    {"AWS_ENDPOINT_URL=http://p", VS_INJ_PROXY},
    {"AWS_ENDPOINT_URL_S3=http://p", VS_INJ_PROXY},
    {"SSL_CERT_FILE=/tmp/ca", VS_INJ_TLS},
    {"SSL_CERT_DIR=/tmp", VS_INJ_TLS},
    {"CURL_CA_BUNDLE=/tmp/ca", VS_INJ_TLS},
    {"REQUESTS_CA_BUNDLE=/tmp/ca", VS_INJ_TLS},
    {"NODE_EXTRA_CA_CERTS=/tmp/ca", VS_INJ_TLS},
    {"AWS_CA_BUNDLE=/tmp/ca", VS_INJ_TLS},
    {"GIT_SSL_CAINFO=/tmp/ca", VS_INJ_TLS},
    {"GIT_SSL_CAPATH=/tmp", VS_INJ_TLS},
    {"GIT_SSL_NO_VERIFY=1", VS_INJ_TLS},
    {"SSLKEYLOGFILE=/tmp/k", VS_INJ_TLS},
    {"NODE_TLS_REJECT_UNAUTHORIZED=0", VS_INJ_TLS},
};

static void every_entry(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof every / sizeof every[0]; i++) {
        const char *e = every[i].entry;
        const char *r = vs_inject_check(e, every[i].kind);
        if (r == NULL)
            fail_msg("not refused: %s", e);
        /* the reason starts with the table name (case and prefix aside) */
        assert_true(strlen(r) > 3 && strstr(r, ": ") != NULL);
        assert_non_null(vs_inject_check(e, VS_INJ_ALL));
        if (vs_inject_check(e, VS_INJ_ALL & ~every[i].kind) != NULL &&
            strncmp(e, "npm_config_", 11) != 0) /* npm proxies are node and proxy */
            fail_msg("refused outside its kind: %s", e);
        assert_true(vs_inject_is_injection_name(e));
        assert_true(vs_inject_name_kinds(e) & every[i].kind);
    }
}

/* The bucketed scan answers as the plain check, for every table entry and
 * near misses of it (case, one letter more or less, other values), under
 * every kinds mask that matters. */
static void check_same(const char *e, unsigned mask, const char *own)
{
    struct vs_inject_scan scan;
    vs_inject_scan_init(&scan, mask);
    const char *plain = vs_inject_check_preload(e, mask, own);
    const char *fast = vs_inject_scan_check(&scan, e, strlen(e), own);
    if (plain != fast)
        fail_msg("scan and check differ on %s (mask 0x%x): %s / %s", e, mask, plain ? plain : "-",
                 fast ? fast : "-");
}

static void scan_matches_check(void **state)
{
    (void)state;
    static const char *const values[] = {"", "0", "1", "/tmp/x", "/own/shim.so", "--max-old-space-size=64"};
    static const char *const odd[] = {"", "=", "=x", "_", "X", "1ABC=2", "ENV", "E", "envx=1", "Http_Proxy=x",
                                      "LD_PRELOAD=/own/shim.so", "LD_PRELOAD=/own/shim.so:/x.so"};
    char buf[256];
    for (size_t i = 0; i < sizeof every / sizeof every[0]; i++) {
        const char *e = every[i].entry;
        size_t nlen = strcspn(e, "=");
        unsigned masks[] = {every[i].kind, VS_INJ_ALL, VS_INJ_ALL & ~every[i].kind, 0};
        for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
            check_same(e, masks[m], "/own/shim.so");
            check_same(e, masks[m], NULL);
            for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
                for (int form = 0; form < 4; form++) {
                    size_t k = 0;
                    for (size_t c = 0; c < nlen && k < 200; c++) {
                        char ch = e[c];
                        if (form == 1 && ch >= 'A' && ch <= 'Z')
                            ch = (char)(ch - 'A' + 'a');
                        if (form == 2 && ch >= 'a' && ch <= 'z')
                            ch = (char)(ch - 'a' + 'A');
                        if (form == 3 && c + 1 == nlen)
                            break; /* one letter short */
                        buf[k++] = ch;
                    }
                    if (form == 0)
                        buf[k++] = 'X'; /* one letter more */
                    (void)snprintf(buf + k, sizeof buf - k, "=%s", values[v]);
                    check_same(buf, masks[m], "/own/shim.so");
                }
            }
        }
    }
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        check_same(odd[i], VS_INJ_ALL, "/own/shim.so");
        check_same(odd[i], VS_INJ_PROXY | VS_INJ_LOADER, NULL);
    }
}

static void harmless_entries(void **state)
{
    (void)state;
    const char *ok[] = {
        "PATH=/usr/bin:/bin", "HOME=/home/u", "LANG=C.UTF-8", "TERM=xterm", "GIT_DIR=.git",
        "GIT_EDITOR=vi", "no_proxy=localhost", "NO_PROXY=localhost", "PYTHONNOUSERSITE=1",
        "PYTHONDONTWRITEBYTECODE=1", "NODE_ENV=production", "LD_PRELOAD=", "PYTHONPATH=",
        "http_proxy=", "NODE_TLS_REJECT_UNAUTHORIZED=1", "LD_BIND_NOW=1", "NODE_OPTIONSX=--require x",
        "XLD_PRELOAD=/tmp/x.so", "GIT_CONFIG_NOSYSTEM=1", "ENVX=1", "NODE_OPTIONS=",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *r = vs_inject_check(ok[i], VS_INJ_ALL);
        if (r != NULL)
            fail_msg("refused: %s (%s)", ok[i], r);
    }
    assert_null(vs_inject_check(NULL, VS_INJ_ALL));
    assert_null(vs_inject_check("LD_PRELOAD", VS_INJ_ALL)); /* no value */
    assert_non_null(vs_inject_check("BASH_ENV", VS_INJ_ALL));
    assert_false(vs_inject_is_injection_name("PATH"));
    assert_false(vs_inject_is_injection_name(NULL));
    assert_true(vs_inject_is_injection_name("LD_PRELOAD"));
    assert_true(vs_inject_is_injection_name("NODE_OPTIONS"));
    assert_true(vs_inject_is_injection_name("GIT_CONFIG_KEY_0"));
    assert_true(vs_inject_is_injection_name("GIT_CONFIG_KEY_17=x"));
    assert_false(vs_inject_is_injection_name("GIT_CONFIG_KEY"));
    assert_int_equal(vs_inject_name_kinds("npm_config_proxy"), VS_INJ_NODE | VS_INJ_PROXY);
    assert_int_equal(vs_inject_name_kinds("HOME"), 0);
}

static void node_options(void **state)
{
    (void)state;
    const char *benign[] = {
        "--max-old-space-size=4096",
        "--max-old-space-size 4096",
        "--max_old_space_size=4096",
        "--experimental-vm-modules --no-warnings",
        "  --enable-source-maps   --trace-warnings ",
        "--title \"my tool --require=x\"",
        "--unhandled-rejections=strict --dns-result-order=ipv4first",
        "--no-addons --disallow-code-generation-from-strings --frozen-intrinsics",
        "--tls-min-v1.2",
    };
    for (size_t i = 0; i < sizeof benign / sizeof benign[0]; i++) {
        char e[256];
        (void)snprintf(e, sizeof e, "NODE_OPTIONS=%s", benign[i]);
        const char *r = vs_inject_check(e, VS_INJ_NODE);
        if (r != NULL)
            fail_msg("refused benign %s", e);
    }
    const char *evil[] = {
        "--require /tmp/x.js", "--require=/tmp/x.js", "-r /tmp/x.js", "-r/tmp/x.js",
        "--import=/tmp/x.mjs", "--import /tmp/x.mjs", "--loader /tmp/l.mjs",
        "--experimental-loader=/tmp/l.mjs", "--experimental_loader=/tmp/l.mjs",
        "--inspect", "--inspect=0.0.0.0:9229", "--inspect-brk", "--inspect-port=9229",
        "--inspect-publish-uid=http", "--debug", "--debug-brk", "--debug-port=1",
        "--openssl-config=/tmp/o.cnf", "--tls-keylog=/tmp/k", "--report-on-signal",
        "--report-dir=/tmp", "--heapsnapshot-signal=SIGUSR2", "--heapsnapshot-near-heap-limit=1",
        "--heap-prof", "--prof", "--snapshot-blob /tmp/b", "--preserve-symlinks",
        "--preserve-symlinks-main", "--env-file=/tmp/e", "--experimental-policy=/tmp/p.json",
        "--experimental-network-imports", "--use-openssl-ca", "-C dev", "--conditions=dev",
        "--eval x", "-e x", "--no-warnings --require /tmp/x.js",
        "--max-old-space-size --require=/tmp/x.js", /* a value must not look like a flag */
        "--max-old-space-size=1 /tmp/x.js",         /* a stray argument */
        "\"--require\" /tmp/x.js", "--req\"uire\" /tmp/x.js", "--title \"unterminated",
        "--title \"a\\", "--no-warnings\t--require=/tmp/x.js", /* tab is not a separator */
        "\"\"", "--",
    };
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        char e[256];
        (void)snprintf(e, sizeof e, "NODE_OPTIONS=%s", evil[i]);
        const char *r = vs_inject_check(e, VS_INJ_NODE);
        if (r == NULL)
            fail_msg("accepted %s", e);
        assert_string_equal(r, "NODE_OPTIONS: code-loading, inspector or unknown flag");
    }
    char longtok[400] = "NODE_OPTIONS=--title=";
    memset(longtok + strlen(longtok), 'x', 300);
    longtok[sizeof longtok - 1] = '\0';
    assert_non_null(vs_inject_check(longtok, VS_INJ_NODE)); /* over the token buffer: refused */
}

static void own_preload(void **state)
{
    (void)state;
    const char *own = "/usr/lib/vaultshim/libvaultshim.so";
    assert_null(vs_inject_check_preload("LD_PRELOAD=/usr/lib/vaultshim/libvaultshim.so",
                                        VS_INJ_LOADER, own));
    assert_null(vs_inject_check_preload("LD_PRELOAD=/usr/lib/vaultshim/libvaultshim.so: ",
                                        VS_INJ_LOADER, own));
    assert_non_null(vs_inject_check_preload(
        "LD_PRELOAD=/usr/lib/vaultshim/libvaultshim.so:/tmp/evil.so", VS_INJ_LOADER, own));
    assert_non_null(vs_inject_check_preload(
        "LD_PRELOAD=/tmp/evil.so /usr/lib/vaultshim/libvaultshim.so", VS_INJ_LOADER, own));
    assert_non_null(vs_inject_check_preload("LD_PRELOAD=/usr/lib/vaultshim/libvaultshim.sox",
                                            VS_INJ_LOADER, own));
    assert_non_null(vs_inject_check("LD_PRELOAD=/usr/lib/vaultshim/libvaultshim.so", VS_INJ_LOADER));
    assert_string_equal(vs_inject_check("LD_PRELOAD=/tmp/e.so", VS_INJ_LOADER),
                        "LD_PRELOAD: a library other than the shim is preloaded");
}

static void whole_environment(void **state)
{
    (void)state;
    char *clean[] = {"PATH=/usr/bin", "HOME=/home/u", NULL};
    char *py_ok[] = {"PATH=/usr/bin", "PYTHONNOUSERSITE=1", NULL};
    char *py_empty[] = {"PYTHONNOUSERSITE=", NULL};
    char *dirty[] = {"PATH=/usr/bin", "GIT_CONFIG_KEY_0=http.proxy", NULL};
    assert_null(vs_inject_check_envp(clean, VS_INJ_ALL & ~VS_INJ_PYTHON, NULL));
    assert_non_null(vs_inject_check_envp(clean, VS_INJ_PYTHON, NULL));
    assert_string_equal(vs_inject_check_envp(clean, VS_INJ_PYTHON, NULL),
                        "PYTHONNOUSERSITE: not set, so user site-packages (agent-writable) load");
    assert_null(vs_inject_check_envp(py_ok, VS_INJ_ALL, NULL));
    assert_non_null(vs_inject_check_envp(py_empty, VS_INJ_PYTHON, NULL));
    assert_non_null(vs_inject_check_envp(dirty, VS_INJ_GIT, NULL));
    assert_null(vs_inject_check_envp(dirty, VS_INJ_NODE, NULL));
    assert_null(vs_inject_check_envp(NULL, VS_INJ_GIT, NULL));

    /* The whole-environment rule over a /proc/PID/environ block: entries
     * are the caller's to check (an LD_AUDIT here is not this rule's). */
    static const char block[] = "PATH=/usr/bin\0PYTHONNOUSERSITE=1\0LD_PRELOAD=/s.so\0";
    static const char block2[] = "PYTHONNOUSERSITE=1\0PYTHONPATH=/tmp"; /* no final NUL */
    assert_null(vs_inject_check_whole(block, sizeof block - 1, VS_INJ_ALL));
    assert_null(vs_inject_check_whole(block2, sizeof block2 - 1, VS_INJ_PYTHON));
    static const char no_site[] = "PATH=/usr/bin\0LD_AUDIT=/a.so\0PYTHONNOUSERSITE=\0";
    assert_string_equal(vs_inject_check_whole(no_site, sizeof no_site - 1, VS_INJ_PYTHON),
                        "PYTHONNOUSERSITE: not set, so user site-packages (agent-writable) load");
    assert_null(vs_inject_check_whole(no_site, sizeof no_site - 1, VS_INJ_ALL & ~VS_INJ_PYTHON));
    /* the length bounds the read: a PYTHONNOUSERSITE past len does not count */
    assert_non_null(vs_inject_check_whole(block, 14, VS_INJ_PYTHON));
    assert_non_null(vs_inject_check_whole(block2, 0, VS_INJ_PYTHON));
    assert_non_null(vs_inject_check_whole(NULL, 0, VS_INJ_PYTHON));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_entry),
        cmocka_unit_test(scan_matches_check),
        cmocka_unit_test(harmless_entries),
        cmocka_unit_test(node_options),
        cmocka_unit_test(own_preload),
        cmocka_unit_test(whole_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
