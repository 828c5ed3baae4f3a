/* Environment variables that put code, configuration or a listener into a
 * process (DESIGN.md, invariant 2, "untampered"). One table, used by vaultd
 * (reading /proc/PID/environ of a peer) and by the shim's exec hook.
 *
 * Async-signal-minded: no allocation, no stdio, no locale-dependent call;
 * reason strings are static. Safe to call from a hook.
 *
 * Kinds say which tools an entry matters for; the caller passes the kinds
 * that apply to the tool in question (VS_INJ_LOADER always; VS_INJ_PROXY
 * unless the tool's policy says allow_proxy; VS_INJ_NODE for node, ...).
 *
 * The list (name, or NAME* = prefix; "~" = case-insensitive):
 *  loader: LD_PRELOAD (any library but the caller's own shim), LD_AUDIT,
 *          LD_LIBRARY_PATH, GCONV_PATH (iconv modules), OPENSSL_CONF,
 *          OPENSSL_ENGINES, OPENSSL_MODULES (engines/providers are code)
 *  node:   NODE_OPTIONS unless every flag is on a benign list (below),
 *          NODE_PATH, NODE_REPL_EXTERNAL_MODULE, NODE_PRESERVE_SYMLINKS,
 *          NODE_COMPILE_CACHE, NODE_DEBUG, NODE_DEBUG_NATIVE, ~npm_config_*
 *          (npm reads any option from the environment: userconfig,
 *          registry, script-shell, node-options...)
 *  python: PYTHONPATH, PYTHONHOME, PYTHONSTARTUP, PYTHONINSPECT,
 *          PYTHONUSERBASE, PYTHONPLATLIBDIR, PYTHONPYCACHEPREFIX (a planted
 *          .pyc), PYTHONBREAKPOINT, PYTHONEXECUTABLE; empty values are
 *          ignored, as Python ignores them. The whole-environment checks also
 *          refuse a python tool whose environment lacks a non-empty
 *          PYTHONNOUSERSITE (user site-packages are agent-writable).
 *  perl:   PERL5OPT, PERL5LIB, PERLLIB, PERL5DB
 *  ruby:   RUBYOPT, RUBYLIB, GEM_HOME, GEM_PATH, BUNDLE_GEMFILE
 *  java:   JAVA_TOOL_OPTIONS, _JAVA_OPTIONS, JDK_JAVA_OPTIONS (-javaagent)
 *  shell:  BASH_ENV, ENV, BASH_FUNC_* (exported functions), SHELLOPTS,
 *          BASHOPTS (xtrace prints expanded values), ZDOTDIR
 *  git:    GIT_CONFIG_COUNT, GIT_CONFIG_KEY_*, GIT_CONFIG_VALUE_*,
 *          GIT_CONFIG_PARAMETERS, GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM,
 *          GIT_CONFIG (config can add credential helpers, proxies,
 *          http.curloptResolve, url rewrites), GIT_EXEC_PATH (fake
 *          git-remote-https), GIT_TRACE* (GIT_TRACE_CURL with
 *          GIT_TRACE_REDACT=0 prints the Authorization header),
 *          GIT_CURL_VERBOSE, GIT_SSH, GIT_SSH_COMMAND, GIT_PROXY_COMMAND,
 *          GIT_ASKPASS, SSH_ASKPASS (programs git runs around the credential
 *          exchange). Not listed: GIT_EDITOR, GIT_PAGER, GIT_TEMPLATE_DIR:
 *          what they run never sees the credential.
 *  config: XDG_CONFIG_HOME, CURL_HOME (.curlrc), GH_CONFIG_DIR (gh's
 *          http_unix_socket), AWS_CONFIG_FILE (endpoint_url,
 *          credential_process): another config file for the tool
 *  proxy:  ~http_proxy, ~https_proxy, ~all_proxy, ~ftp_proxy,
 *          ~npm_config_proxy, ~npm_config_https_proxy, AWS_ENDPOINT_URL*
 *          (no_proxy only narrows proxying: not listed)
 *  tls:    SSL_CERT_FILE, SSL_CERT_DIR, CURL_CA_BUNDLE, REQUESTS_CA_BUNDLE,
 *          NODE_EXTRA_CA_CERTS, AWS_CA_BUNDLE, GIT_SSL_CAINFO,
 *          GIT_SSL_CAPATH, GIT_SSL_NO_VERIFY, SSLKEYLOGFILE (session keys),
 *          NODE_TLS_REJECT_UNAUTHORIZED=0 (only the value "0")
 *
 * NODE_OPTIONS is split exactly as node splits it (spaces, double quotes,
 * backslash escapes inside quotes). Every token must be a flag from this
 * list ('_' and '-' are the same in flag names, as node treats them), or the
 * value following a flag that takes one:
 *   --max-old-space-size --max-semi-space-size --stack-size
 *   --stack-trace-limit --max-http-header-size --v8-pool-size
 *   --unhandled-rejections --dns-result-order --disable-proto --title
 *   --experimental-vm-modules --experimental-json-modules
 *   --experimental-wasm-modules --experimental-top-level-await
 *   --experimental-detect-module --experimental-require-module
 *   --experimental-global-webcrypto --experimental-fetch --no-experimental-fetch
 *   --experimental-specifier-resolution --experimental-default-type --input-type
 *   --no-warnings --no-deprecation --trace-warnings --trace-deprecation
 *   --throw-deprecation --pending-deprecation --trace-uncaught --trace-exit
 *   --enable-source-maps --no-addons --disallow-code-generation-from-strings
 *   --frozen-intrinsics --zero-fill-buffers --expose-gc --jitless
 *   --tls-min-v1.2 --tls-min-v1.3 --tls-max-v1.2 --tls-max-v1.3
 * Everything else is refused: in particular --require/-r, --import,
 * --loader, --experimental-loader, --inspect*, --debug*, --openssl-config,
 * --tls-keylog, --report-*, --heapsnapshot-*, --heap-prof, --prof,
 * --snapshot-blob, --preserve-symlinks*, --env-file, --experimental-policy,
 * --experimental-network-imports, --use-openssl-ca, -C/--conditions. */
#ifndef VS_INJECT_H
#define VS_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vs_inject_kind {
    VS_INJ_LOADER = 1u << 0,
    VS_INJ_NODE = 1u << 1,
    VS_INJ_PYTHON = 1u << 2,
    VS_INJ_PERL = 1u << 3,
    VS_INJ_RUBY = 1u << 4,
    VS_INJ_JAVA = 1u << 5,
    VS_INJ_SHELL = 1u << 6,
    VS_INJ_GIT = 1u << 7,
    VS_INJ_CONFIG = 1u << 8,
    VS_INJ_PROXY = 1u << 9,
    VS_INJ_TLS = 1u << 10,
};
#define VS_INJ_ALL 0x7ffu

/* Checks one "NAME=value" entry (an entry without '=' is checked by name
 * with an empty value). Returns a static reason ("NODE_OPTIONS: code-loading
 * or unknown flag") or NULL when the entry is harmless for those kinds.
 * LD_PRELOAD is refused whenever it is non-empty. */
const char *vs_inject_check(const char *env_entry, unsigned kinds_mask);

/* As vs_inject_check, but an LD_PRELOAD whose every element (separated by
 * ':' or ' ') equals own_preload is accepted (NULL: none is accepted). */
const char *vs_inject_check_preload(const char *env_entry, unsigned kinds_mask,
                                    const char *own_preload);

/* For checking many entries against one kinds mask (vaultd: a peer's
 * whole environment, ~40 entries against ~90 table names per grant): the
 * table's entries of those kinds, bucketed once by the first letter of
 * their name (case folded), so that each entry meets only the few names
 * that could match it. It lives on the caller's stack: no allocation, no
 * shared state. vs_inject_scan_check answers exactly as
 * vs_inject_check_preload does for the same mask. */
#define VS_INJ_BUCKETS 28 /* a-z, '_', anything else */
#define VS_INJ_MAX_ENTRIES 128
struct vs_inject_scan {
    uint8_t start[VS_INJ_BUCKETS + 1]; /* bucket b: idx[start[b] .. start[b + 1]) */
    uint8_t idx[VS_INJ_MAX_ENTRIES];   /* table order within a bucket */
};
void vs_inject_scan_init(struct vs_inject_scan *scan, unsigned kinds_mask);
/* entry: "NAME=value", len bytes (no NUL needed at len). */
const char *vs_inject_scan_check(const struct vs_inject_scan *scan, const char *entry, size_t len,
                                 const char *own_preload);

/* Checks a whole environment, an envp array (NULL-terminated): each entry,
 * then the one rule that needs the whole environment: with VS_INJ_PYTHON,
 * PYTHONNOUSERSITE must be set and non-empty. Returns the first reason or
 * NULL. */
const char *vs_inject_check_envp(char *const envp[], unsigned kinds_mask, const char *own_preload);

/* Only that whole-environment rule, over a block of NUL-separated entries
 * as /proc/PID/environ gives it (len bounds the read), for a caller that
 * checks every entry itself: vaultd, which lets a trusted CA path through
 * entry by entry, so no entry is looked at twice. */
const char *vs_inject_check_whole(const char *block, size_t len, unsigned kinds_mask);

/* True when name (bare, or "NAME=value": only the name is read) is in the
 * table for any kind, whatever its value: what the exec hook strips before
 * exec'ing an allowlisted tool. LD_PRELOAD is included: the caller keeps
 * its own library. */
bool vs_inject_is_injection_name(const char *name);

/* The kinds of every table entry that names this variable (0: none). */
unsigned vs_inject_name_kinds(const char *name);

#endif
