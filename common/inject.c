/* Injection variables. Rules this file keeps:
 * 1. One table (entries below); the shim and vaultd both read it.
 * 2. No allocation, no stdio, no locale: callable from an exec hook.
 * 3. Unknown NODE_OPTIONS flags are refused, not guessed about: a deny list
 *    of node flags would miss the next release's. */
#include "inject.h"

#include <stdint.h>
#include <string.h>

enum match { M_EXACT, M_EXACT_NOCASE, M_PREFIX, M_PREFIX_NOCASE };
enum when { W_ALWAYS, W_NONEMPTY, W_ZERO, W_NODE_OPTIONS, W_PRELOAD };

struct entry {
    const char *name;
    uint8_t match;
    uint8_t when;
    uint8_t len; /* strlen(name): vaultd checks ~40 variables against every entry */
    unsigned kind;
    const char *reason;
};

#define E(n, m, w, k, r) {n, m, w, sizeof(n) - 1, k, n ": " r}
static const struct entry table[] = {
    E("LD_PRELOAD", M_EXACT, W_PRELOAD, VS_INJ_LOADER, "a library other than the shim is preloaded"),
    E("LD_AUDIT", M_EXACT, W_NONEMPTY, VS_INJ_LOADER, "loads audit libraries into the process"),
    E("LD_LIBRARY_PATH", M_EXACT, W_NONEMPTY, VS_INJ_LOADER, "libraries from another folder"),
    E("GCONV_PATH", M_EXACT, W_ALWAYS, VS_INJ_LOADER, "loads iconv modules from another folder"),
    E("OPENSSL_CONF", M_EXACT, W_ALWAYS, VS_INJ_LOADER, "OpenSSL config can load engines"),
    E("OPENSSL_ENGINES", M_EXACT, W_ALWAYS, VS_INJ_LOADER, "OpenSSL engines from another folder"),
    E("OPENSSL_MODULES", M_EXACT, W_ALWAYS, VS_INJ_LOADER, "OpenSSL providers from another folder"),

    E("NODE_OPTIONS", M_EXACT, W_NODE_OPTIONS, VS_INJ_NODE, "code-loading, inspector or unknown flag"),
    E("NODE_PATH", M_EXACT, W_ALWAYS, VS_INJ_NODE, "modules from another folder"),
    E("NODE_REPL_EXTERNAL_MODULE", M_EXACT, W_ALWAYS, VS_INJ_NODE, "loads a module"),
    E("NODE_PRESERVE_SYMLINKS", M_EXACT, W_ALWAYS, VS_INJ_NODE, "modules resolved beside a symlink"),
    E("NODE_COMPILE_CACHE", M_EXACT, W_ALWAYS, VS_INJ_NODE, "compiled code from another folder"),
    E("NODE_DEBUG", M_EXACT, W_ALWAYS, VS_INJ_NODE, "debug output of core modules"),
    E("NODE_DEBUG_NATIVE", M_EXACT, W_ALWAYS, VS_INJ_NODE, "debug output of native modules"),
    E("npm_config_", M_PREFIX_NOCASE, W_ALWAYS, VS_INJ_NODE, "npm configuration from the environment"),

    E("PYTHONPATH", M_EXACT, W_NONEMPTY, VS_INJ_PYTHON, "modules from another folder"),
    E("PYTHONHOME", M_EXACT, W_NONEMPTY, VS_INJ_PYTHON, "standard library from another folder"),
    E("PYTHONSTARTUP", M_EXACT, W_NONEMPTY, VS_INJ_PYTHON, "runs a file at startup"),
    E("PYTHONINSPECT", M_EXACT, W_NONEMPTY, VS_INJ_PYTHON, "interactive prompt after the script"),
    E("PYTHONUSERBASE", M_EXACT, W_NONEMPTY, VS_INJ_PYTHON, "user site-packages from another folder"),
    E("PYTHONPLATLIBDIR", M_EXACT, W_NONEMPTY, VS_INJ_PYTHON, "library folder moved"),
    E("PYTHONPYCACHEPREFIX", M_EXACT, W_NONEMPTY, VS_INJ_PYTHON, "bytecode from another folder"),
    E("PYTHONBREAKPOINT", M_EXACT, W_NONEMPTY, VS_INJ_PYTHON, "imports a module on breakpoint()"),
    E("PYTHONEXECUTABLE", M_EXACT, W_NONEMPTY, VS_INJ_PYTHON, "interpreter path overridden"),

    E("PERL5OPT", M_EXACT, W_ALWAYS, VS_INJ_PERL, "interpreter options (-M loads modules)"),
    E("PERL5LIB", M_EXACT, W_ALWAYS, VS_INJ_PERL, "modules from another folder"),
    E("PERLLIB", M_EXACT, W_ALWAYS, VS_INJ_PERL, "modules from another folder"),
    E("PERL5DB", M_EXACT, W_ALWAYS, VS_INJ_PERL, "debugger code"),

    E("RUBYOPT", M_EXACT, W_ALWAYS, VS_INJ_RUBY, "interpreter options (-r loads code)"),
    E("RUBYLIB", M_EXACT, W_ALWAYS, VS_INJ_RUBY, "libraries from another folder"),
    E("GEM_HOME", M_EXACT, W_ALWAYS, VS_INJ_RUBY, "gems from another folder"),
    E("GEM_PATH", M_EXACT, W_ALWAYS, VS_INJ_RUBY, "gems from another folder"),
    E("BUNDLE_GEMFILE", M_EXACT, W_ALWAYS, VS_INJ_RUBY, "another Gemfile"),

    E("JAVA_TOOL_OPTIONS", M_EXACT, W_ALWAYS, VS_INJ_JAVA, "JVM options (-javaagent loads code)"),
    E("_JAVA_OPTIONS", M_EXACT, W_ALWAYS, VS_INJ_JAVA, "JVM options (-javaagent loads code)"),
    E("JDK_JAVA_OPTIONS", M_EXACT, W_ALWAYS, VS_INJ_JAVA, "JVM options (-javaagent loads code)"),

    E("BASH_ENV", M_EXACT, W_ALWAYS, VS_INJ_SHELL, "bash runs this file at startup"),
    E("ENV", M_EXACT, W_ALWAYS, VS_INJ_SHELL, "sh runs this file at startup"),
    E("BASH_FUNC_", M_PREFIX, W_ALWAYS, VS_INJ_SHELL, "exported shell function"),
    E("SHELLOPTS", M_EXACT, W_ALWAYS, VS_INJ_SHELL, "shell options (xtrace prints values)"),
    E("BASHOPTS", M_EXACT, W_ALWAYS, VS_INJ_SHELL, "shell options"),
    E("ZDOTDIR", M_EXACT, W_ALWAYS, VS_INJ_SHELL, "zsh startup files from another folder"),

    E("GIT_CONFIG_COUNT", M_EXACT, W_ALWAYS, VS_INJ_GIT, "git configuration from the environment"),
    E("GIT_CONFIG_KEY_", M_PREFIX, W_ALWAYS, VS_INJ_GIT, "git configuration from the environment"),
    E("GIT_CONFIG_VALUE_", M_PREFIX, W_ALWAYS, VS_INJ_GIT, "git configuration from the environment"),
    E("GIT_CONFIG_PARAMETERS", M_EXACT, W_ALWAYS, VS_INJ_GIT, "git configuration from the environment"),
    E("GIT_CONFIG_GLOBAL", M_EXACT, W_ALWAYS, VS_INJ_GIT, "another global git configuration"),
    E("GIT_CONFIG_SYSTEM", M_EXACT, W_ALWAYS, VS_INJ_GIT, "another system git configuration"),
    E("GIT_CONFIG", M_EXACT, W_ALWAYS, VS_INJ_GIT, "another git configuration file"),
    E("GIT_EXEC_PATH", M_EXACT, W_ALWAYS, VS_INJ_GIT, "git helpers from another folder"),
    E("GIT_TRACE", M_PREFIX, W_ALWAYS, VS_INJ_GIT, "git tracing can print credentials"),
    E("GIT_CURL_VERBOSE", M_EXACT, W_ALWAYS, VS_INJ_GIT, "prints HTTP headers"),
    E("GIT_SSH", M_EXACT, W_ALWAYS, VS_INJ_GIT, "git runs another ssh"),
    E("GIT_SSH_COMMAND", M_EXACT, W_ALWAYS, VS_INJ_GIT, "git runs another ssh"),
    E("GIT_PROXY_COMMAND", M_EXACT, W_ALWAYS, VS_INJ_GIT, "git runs a proxy command"),
    E("GIT_ASKPASS", M_EXACT, W_ALWAYS, VS_INJ_GIT, "git runs a credential prompt program"),
    E("SSH_ASKPASS", M_EXACT, W_ALWAYS, VS_INJ_GIT, "ssh runs a credential prompt program"),

    E("XDG_CONFIG_HOME", M_EXACT, W_ALWAYS, VS_INJ_CONFIG, "tool configuration from another folder"),
    E("CURL_HOME", M_EXACT, W_ALWAYS, VS_INJ_CONFIG, "another .curlrc"),
    E("GH_CONFIG_DIR", M_EXACT, W_ALWAYS, VS_INJ_CONFIG, "another gh configuration"),
    E("AWS_CONFIG_FILE", M_EXACT, W_ALWAYS, VS_INJ_CONFIG, "another aws configuration"),

    E("http_proxy", M_EXACT_NOCASE, W_NONEMPTY, VS_INJ_PROXY, "traffic through a proxy"),
    E("https_proxy", M_EXACT_NOCASE, W_NONEMPTY, VS_INJ_PROXY, "traffic through a proxy"),
    E("all_proxy", M_EXACT_NOCASE, W_NONEMPTY, VS_INJ_PROXY, "traffic through a proxy"),
    E("ftp_proxy", M_EXACT_NOCASE, W_NONEMPTY, VS_INJ_PROXY, "traffic through a proxy"),
    E("npm_config_proxy", M_EXACT_NOCASE, W_NONEMPTY, VS_INJ_PROXY, "traffic through a proxy"),
    E("npm_config_https_proxy", M_EXACT_NOCASE, W_NONEMPTY, VS_INJ_PROXY, "traffic through a proxy"),
    E("AWS_ENDPOINT_URL", M_PREFIX, W_NONEMPTY, VS_INJ_PROXY, "requests to another endpoint"),

    E("SSL_CERT_FILE", M_EXACT, W_ALWAYS, VS_INJ_TLS, "another CA"),
    E("SSL_CERT_DIR", M_EXACT, W_ALWAYS, VS_INJ_TLS, "another CA"),
    E("CURL_CA_BUNDLE", M_EXACT, W_ALWAYS, VS_INJ_TLS, "another CA"),
    E("REQUESTS_CA_BUNDLE", M_EXACT, W_ALWAYS, VS_INJ_TLS, "another CA"),
    E("NODE_EXTRA_CA_CERTS", M_EXACT, W_ALWAYS, VS_INJ_TLS, "another CA"),
    E("AWS_CA_BUNDLE", M_EXACT, W_ALWAYS, VS_INJ_TLS, "another CA"),
    E("GIT_SSL_CAINFO", M_EXACT, W_ALWAYS, VS_INJ_TLS, "another CA"),
    E("GIT_SSL_CAPATH", M_EXACT, W_ALWAYS, VS_INJ_TLS, "another CA"),
    E("GIT_SSL_NO_VERIFY", M_EXACT, W_ALWAYS, VS_INJ_TLS, "certificate checks off"),
    E("SSLKEYLOGFILE", M_EXACT, W_ALWAYS, VS_INJ_TLS, "TLS session keys written to a file"),
    E("NODE_TLS_REJECT_UNAUTHORIZED", M_EXACT, W_ZERO, VS_INJ_TLS, "certificate checks off"),
};
#undef E

static const char nousersite_reason[] =
    "PYTHONNOUSERSITE: not set, so user site-packages (agent-writable) load";

/* Benign NODE_OPTIONS flags; takes_value: may take the next token. The
 * names are arrays, not pointers: no relocation each when the shim loads
 * (this table alone pushed its relocated data onto a second page). */
struct node_flag {
    char name[sizeof "--disallow-code-generation-from-strings"];
    bool takes_value;
};
static const struct node_flag node_flags[] = {
    {"--max-old-space-size", true}, {"--max-semi-space-size", true}, {"--stack-size", true},
    {"--stack-trace-limit", true}, {"--max-http-header-size", true}, {"--v8-pool-size", true},
    {"--unhandled-rejections", true}, {"--dns-result-order", true}, {"--disable-proto", true},
    {"--title", true}, {"--experimental-specifier-resolution", true},
    {"--experimental-default-type", true}, {"--input-type", true},
    {"--experimental-vm-modules", false}, {"--experimental-json-modules", false},
    {"--experimental-wasm-modules", false}, {"--experimental-top-level-await", false},
    {"--experimental-detect-module", false}, {"--experimental-require-module", false},
    {"--experimental-global-webcrypto", false}, {"--experimental-fetch", false},
    {"--no-experimental-fetch", false}, {"--no-warnings", false}, {"--no-deprecation", false},
    {"--trace-warnings", false}, {"--trace-deprecation", false}, {"--throw-deprecation", false},
    {"--pending-deprecation", false}, {"--trace-uncaught", false}, {"--trace-exit", false},
    {"--enable-source-maps", false}, {"--no-addons", false},
    {"--disallow-code-generation-from-strings", false}, {"--frozen-intrinsics", false},
    {"--zero-fill-buffers", false}, {"--expose-gc", false}, {"--jitless", false},
    {"--tls-min-v1.2", false}, {"--tls-min-v1.3", false}, {"--tls-max-v1.2", false},
    {"--tls-max-v1.3", false},
};

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Does the name name[0..nlen) match e? The length and the first letter
 * go first: vaultd checks ~40 names against ~90 entries per grant, and
 * almost every pair differs there. */
static inline bool name_matches(const struct entry *e, const char *name, size_t nlen)
{
    size_t elen = e->len;
    bool prefix = e->match == M_PREFIX || e->match == M_PREFIX_NOCASE;
    if (prefix ? nlen < elen : nlen != elen)
        return false;
    bool nocase = e->match == M_EXACT_NOCASE || e->match == M_PREFIX_NOCASE;
    if (nocase ? lower(name[0]) != lower(e->name[0]) : name[0] != e->name[0])
        return false;
    for (size_t i = 1; i < elen; i++) {
        char a = name[i], b = e->name[i];
        if (nocase ? lower(a) != lower(b) : a != b)
            return false;
    }
    return true;
}

static bool node_flag_ok(const char *tok, size_t len, bool *takes_value)
{
    size_t nlen = 0;
    while (nlen < len && tok[nlen] != '=')
        nlen++;
    for (size_t i = 0; i < sizeof node_flags / sizeof node_flags[0]; i++) {
        const char *f = node_flags[i].name;
        size_t flen = strlen(f);
        if (flen != nlen)
            continue;
        size_t k = 0;
        while (k < nlen) {
            char c = tok[k];
            if (k >= 2 && c == '_') /* node reads "--a_b" as "--a-b" */
                c = '-';
            if (c != f[k])
                break;
            k++;
        }
        if (k == nlen) {
            *takes_value = node_flags[i].takes_value && nlen == len;
            return true;
        }
    }
    return false;
}

/* NODE_OPTIONS, split as node's ParseNodeOptionsEnvVar splits it. */
static bool node_options_ok(const char *v, size_t len)
{
    char tok[256];
    size_t tlen = 0;
    bool in_string = false, have_tok = false, want_value = false;
    for (size_t i = 0; i <= len; i++) {
        bool end = i == len;
        char c = end ? ' ' : v[i];
        if (!end && c == '\\' && in_string) {
            if (i + 1 == len)
                return false; /* node: invalid escape */
            c = v[++i];
        } else if (c == ' ' && !in_string) {
            if (have_tok) {
                bool takes = false;
                if (want_value) {
                    if (tlen > 0 && tok[0] == '-')
                        return false;
                    want_value = false;
                } else if (tlen > 2 && tok[0] == '-' && tok[1] == '-' && node_flag_ok(tok, tlen, &takes)) {
                    want_value = takes;
                } else {
                    return false;
                }
                have_tok = false;
                tlen = 0;
            }
            continue;
        } else if (!end && c == '"') {
            in_string = !in_string;
            have_tok = true; /* node starts no argument here, but "" then x does */
            continue;
        }
        if (tlen + 1 >= sizeof tok)
            return false;
        tok[tlen++] = c;
        have_tok = true;
    }
    return !in_string;
}

static bool value_bad(const struct entry *e, const char *val, size_t vlen, const char *own)
{
    switch (e->when) {
    case W_ALWAYS: return true;
    case W_NONEMPTY: return vlen > 0;
    case W_ZERO: return vlen == 1 && val[0] == '0';
    case W_NODE_OPTIONS: return !node_options_ok(val, vlen);
    case W_PRELOAD: {
        size_t ownlen = own != NULL ? strlen(own) : 0;
        size_t i = 0;
        while (i < vlen) {
            if (val[i] == ':' || val[i] == ' ') {
                i++;
                continue;
            }
            size_t j = i;
            while (j < vlen && val[j] != ':' && val[j] != ' ')
                j++;
            if (own == NULL || j - i != ownlen || memcmp(val + i, own, ownlen) != 0)
                return true;
            i = j;
        }
        return false;
    }
    default: return true;
    }
}

/* "NAME=value" (len bytes): the name's length, the value and its length
 * (empty when there is no '='). */
struct split {
    size_t nlen, vlen;
    const char *val;
};
static struct split split_entry(const char *entry, size_t len)
{
    struct split s = {0, 0, entry + len};
    while (s.nlen < len && entry[s.nlen] != '=')
        s.nlen++;
    if (s.nlen < len) {
        s.val = entry + s.nlen + 1;
        s.vlen = len - s.nlen - 1;
    }
    return s;
}

static const char *check_entry(const char *entry, size_t len, unsigned kinds, const char *own)
{
    struct split s = split_entry(entry, len);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct entry *e = &table[i];
        if ((e->kind & kinds) && name_matches(e, entry, s.nlen) && value_bad(e, s.val, s.vlen, own))
            return e->reason;
    }
    return NULL;
}

_Static_assert(sizeof table / sizeof table[0] <= VS_INJ_MAX_ENTRIES, "the scan's index holds the table");

/* A name can only match entries whose first letter folds to its own:
 * name_matches compares the first letter exactly, or case-folded. */
static unsigned bucket_of(char c)
{
    char l = lower(c);
    if (l >= 'a' && l <= 'z')
        return (unsigned)(l - 'a');
    return l == '_' ? 26 : 27;
}

void vs_inject_scan_init(struct vs_inject_scan *scan, unsigned kinds_mask)
{
    size_t n = sizeof table / sizeof table[0];
    uint8_t fill[VS_INJ_BUCKETS] = {0};
    for (size_t i = 0; i < n; i++)
        if (table[i].kind & kinds_mask)
            fill[bucket_of(table[i].name[0])]++;
    scan->start[0] = 0;
    for (unsigned b = 0; b < VS_INJ_BUCKETS; b++) {
        scan->start[b + 1] = (uint8_t)(scan->start[b] + fill[b]);
        fill[b] = scan->start[b];
    }
    for (size_t i = 0; i < n; i++)
        if (table[i].kind & kinds_mask)
            scan->idx[fill[bucket_of(table[i].name[0])]++] = (uint8_t)i;
}

const char *vs_inject_scan_check(const struct vs_inject_scan *scan, const char *entry, size_t len,
                                 const char *own_preload)
{
    if (entry == NULL || len == 0)
        return NULL;
    struct split s = split_entry(entry, len);
    unsigned b = bucket_of(entry[0]);
    for (unsigned k = scan->start[b]; k < scan->start[b + 1]; k++) {
        const struct entry *e = &table[scan->idx[k]];
        if (name_matches(e, entry, s.nlen) && value_bad(e, s.val, s.vlen, own_preload))
            return e->reason;
    }
    return NULL;
}

const char *vs_inject_check_preload(const char *env_entry, unsigned kinds_mask,
                                    const char *own_preload)
{
    if (env_entry == NULL)
        return NULL;
    return check_entry(env_entry, strlen(env_entry), kinds_mask, own_preload);
}

const char *vs_inject_check(const char *env_entry, unsigned kinds_mask)
{
    return vs_inject_check_preload(env_entry, kinds_mask, NULL);
}

static bool is_nousersite(const char *entry, size_t len)
{
    static const char n[] = "PYTHONNOUSERSITE=";
    return len > sizeof n - 1 && memcmp(entry, n, sizeof n - 1) == 0;
}

const char *vs_inject_check_envp(char *const envp[], unsigned kinds_mask, const char *own_preload)
{
    bool nousersite = false;
    struct vs_inject_scan scan;
    vs_inject_scan_init(&scan, kinds_mask);
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        size_t len = strlen(envp[i]);
        const char *r = vs_inject_scan_check(&scan, envp[i], len, own_preload);
        if (r != NULL)
            return r;
        nousersite = nousersite || is_nousersite(envp[i], len);
    }
    if ((kinds_mask & VS_INJ_PYTHON) && !nousersite)
        return nousersite_reason;
    return NULL;
}

/* Is PYTHONNOUSERSITE set, and non-empty, in a NUL-separated block? */
static bool block_has_nousersite(const char *block, size_t len)
{
    for (size_t i = 0; block != NULL && i < len;) {
        const char *nul = memchr(block + i, '\0', len - i);
        size_t elen = nul != NULL ? (size_t)(nul - (block + i)) : len - i;
        if (is_nousersite(block + i, elen))
            return true;
        i += elen + 1;
    }
    return false;
}

const char *vs_inject_check_whole(const char *block, size_t len, unsigned kinds_mask)
{
    if ((kinds_mask & VS_INJ_PYTHON) && !block_has_nousersite(block, len))
        return nousersite_reason;
    return NULL;
}

unsigned vs_inject_name_kinds(const char *name)
{
    if (name == NULL)
        return 0;
    size_t nlen = 0;
    while (name[nlen] != '\0' && name[nlen] != '=')
        nlen++;
    unsigned kinds = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (name_matches(&table[i], name, nlen))
            kinds |= table[i].kind;
    return kinds;
}

bool vs_inject_is_injection_name(const char *name)
{
    return vs_inject_name_kinds(name) != 0;
}
