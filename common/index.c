/* The index reader. Rules (see index.h for the format):
 *  1. libc only, no allocation, no stdio, no locale, no vs_fail: this file
 *     runs in the shim's constructor and inside its hooks. Return codes only.
 *  2. Files are opened and inspected with raw syscalls (vs_sys, rawsys.h),
 *     never through the libc wrappers the shim hooks (open, stat family,
 *     syscall itself): no re-entry.
 *  3. vs_index_from_memory bounds everything once; look-ups then trust the
 *     bounds it checked and keep their own loops bounded (a probe never runs
 *     more than the table size), so even a table that slipped through could
 *     not make a look-up spin. */
#include "index.h"

#include "error.h"
#include "rawsys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the index is read in place: little-endian hosts only"
#endif

_Static_assert(sizeof(struct vs_index_header) == 96, "header layout");
_Static_assert(sizeof(struct vs_index_slot) == 8, "slot layout");
_Static_assert(sizeof(struct vs_index_glob) == 12, "glob layout");
_Static_assert(sizeof(struct vs_index_tool) == 56, "tool layout");
_Static_assert(sizeof(struct vs_index_devino) == 16, "devino layout");

/* ---- the built-in list ----
 *
 * Well-known variables that hold a credential by themselves, protected even
 * when vaultd publishes no index. The rule for being here: the value alone
 * authenticates (a token, a secret key, a password, a session key), and the
 * name is documented by the tool or service that reads it. Left out on
 * purpose: identifiers that are not secret alone (AWS_ACCESS_KEY_ID), paths
 * to credential files (GOOGLE_APPLICATION_CREDENTIALS, KUBECONFIG: hiding a
 * path protects nothing; the file is for the managed-path list), sockets
 * (SSH_AUTH_SOCK), and generic names a program may use for anything (TOKEN,
 * PASSWORD; a policy protects those with a pattern if it wants).
 * DATABASE_URL is in: by the convention of Heroku, Rails, Django and Prisma
 * it is "scheme://user:PASSWORD@host/db", so it usually carries a password.
 * PGPASSWORD and MYSQL_PWD are the clients' own password variables.
 * Sorted (strcmp order): looked up by binary search. */
/* Shortest and longest built-in name: a cheap first reject (unit-tested). */
#define BUILTIN_MIN_LEN 8
#define BUILTIN_MAX_LEN 30
#define BUILTIN_LIST(X) \
    X("ACTIONS_ID_TOKEN_REQUEST_TOKEN") X("ACTIONS_RUNTIME_TOKEN") X("ANTHROPIC_API_KEY") \
    X("ANTHROPIC_AUTH_TOKEN") X("ARM_CLIENT_SECRET") X("AWS_SECRET_ACCESS_KEY") \
    X("AWS_SECURITY_TOKEN") X("AWS_SESSION_TOKEN") X("AZURE_CLIENT_SECRET") \
    X("AZURE_OPENAI_API_KEY") X("BW_SESSION") X("CARGO_REGISTRY_TOKEN") X("CI_JOB_TOKEN") \
    X("CLOUDFLARE_API_TOKEN") X("CODECOV_TOKEN") X("COHERE_API_KEY") X("CONSUL_HTTP_TOKEN") \
    X("DATABASE_URL") X("DEEPSEEK_API_KEY") X("DIGITALOCEAN_ACCESS_TOKEN") X("DOCKER_PASSWORD") \
    X("DOPPLER_TOKEN") X("FIREWORKS_API_KEY") X("FLY_API_TOKEN") X("GEMINI_API_KEY") \
    X("GEM_HOST_API_KEY") X("GH_ENTERPRISE_TOKEN") X("GH_TOKEN") X("GITHUB_ENTERPRISE_TOKEN") \
    X("GITHUB_TOKEN") X("GITLAB_TOKEN") X("GOOGLE_API_KEY") X("GROQ_API_KEY") \
    X("HEROKU_API_KEY") X("HF_TOKEN") X("HOMEBREW_GITHUB_API_TOKEN") \
    X("HUGGING_FACE_HUB_TOKEN") X("JIRA_API_TOKEN") X("LINEAR_API_KEY") X("MISTRAL_API_KEY") \
    X("MYSQL_PWD") X("NETLIFY_AUTH_TOKEN") X("NGROK_AUTHTOKEN") X("NODE_AUTH_TOKEN") \
    X("NOMAD_TOKEN") X("NPM_TOKEN") X("NUGET_API_KEY") X("OPENAI_API_KEY") \
    X("OPENROUTER_API_KEY") X("OP_SERVICE_ACCOUNT_TOKEN") X("PERPLEXITY_API_KEY") \
    X("PGPASSWORD") X("POETRY_PYPI_TOKEN_PYPI") X("PULUMI_ACCESS_TOKEN") X("PYPI_TOKEN") \
    X("REPLICATE_API_TOKEN") X("SENDGRID_API_KEY") X("SENTRY_AUTH_TOKEN") X("SLACK_APP_TOKEN") \
    X("SLACK_BOT_TOKEN") X("SLACK_USER_TOKEN") X("SNYK_TOKEN") X("SONAR_TOKEN") \
    X("STRIPE_SECRET_KEY") X("TOGETHER_API_KEY") X("TWILIO_AUTH_TOKEN") X("TWINE_PASSWORD") \
    X("UV_PUBLISH_TOKEN") X("VAULT_TOKEN") X("VERCEL_TOKEN") X("XAI_API_KEY")
/* An array of arrays, not of pointers: no relocation per name at load. */
#define BUILTIN_NAME(s) s,
static const char builtin[][BUILTIN_MAX_LEN + 1] = {BUILTIN_LIST(BUILTIN_NAME)};
/* The same names back to back, each with its NUL, as the index writer lays
 * them out at the start of STRINGS (vs_index_from_memory confirms them
 * there in one compare). */
#define BUILTIN_BYTES(s) s "\0"
static const char builtin_block[] = BUILTIN_LIST(BUILTIN_BYTES);
#define BUILTIN_BLOCK_LEN (sizeof builtin_block - 1) /* without the literal's own NUL */
#define N_BUILTIN (sizeof builtin / sizeof builtin[0])

/* vs_index_hash and length of each built-in name, in the same order, so
 * that confirming them in NAMES (vs_index_from_memory) costs a probe each
 * rather than a hash each: 71 hashes were a third of a process's index
 * validation. Only a speed-up: a stale key misses, and the look-ups then
 * fall back to the list itself (test_index checks that keys are current
 * through builtins_in_names). Regenerate with vs_index_hash when the list
 * changes. */
static const struct {
    uint32_t hash;
    uint8_t len;
} builtin_key[] = {
    {0xee6f1342u, 30}, {0x77871e48u, 21}, {0xda8a6f83u, 17}, {0xe894168eu, 20},
    {0xac19c31fu, 17}, {0x4aefd4f7u, 21}, {0x94302610u, 18}, {0x34a10116u, 17},
    {0x596d5b77u, 19}, {0x847de3d4u, 20}, {0xc7ddc51bu, 10}, {0x80ed8967u, 20},
    {0x67e2b48bu, 12}, {0x4ffcfb51u, 20}, {0x3eb48dc6u, 13}, {0x937d95efu, 14},
    {0x60f6c721u, 17}, {0x6da4cc2au, 12}, {0x9a9c1c8bu, 16}, {0x40fa7fa6u, 25},
    {0xed7b815cu, 15}, {0x81530cbdu, 13}, {0x1ebcc131u, 17}, {0xedac68a5u, 13},
    {0xc2f9ccc1u, 14}, {0x8179e6a2u, 16}, {0x06f78e02u, 19}, {0xcb20f2efu, 8},
    {0x366dcbc3u, 23}, {0xb82854beu, 12}, {0x6f626472u, 12}, {0x7a59c598u, 14},
    {0xb1b0de12u, 12}, {0x3d1026c2u, 14}, {0x230bb1d9u, 8}, {0xd90c880bu, 25},
    {0xcdc83953u, 22}, {0xde35b8e6u, 14}, {0xd05c32a0u, 14}, {0xb8643533u, 15},
    {0xa8e15495u, 9}, {0x74d2ae0au, 18}, {0xcdd66981u, 15}, {0xfc665d6du, 15},
    {0x0cefe5a8u, 11}, {0x30237c76u, 9}, {0x1b1dd7d3u, 13}, {0x66c7911bu, 14},
    {0x5f84089fu, 18}, {0x8fbc2736u, 24}, {0x078ed2c8u, 18}, {0x804c5c84u, 10},
    {0xefb5fab9u, 22}, {0x1592cf60u, 19}, {0x6c2667f2u, 10}, {0x2581f292u, 19},
    {0xf9593cddu, 16}, {0x13b8bb70u, 17}, {0x86ed2676u, 15}, {0x92f10f4du, 15},
    {0xa5be4f16u, 16}, {0xf3e8b790u, 10}, {0x39554b70u, 11}, {0x5ba26c05u, 17},
    {0x97cbe789u, 16}, {0xa26191b9u, 17}, {0xb5a4b0f9u, 14}, {0x6daa97cfu, 16},
    {0x30a84526u, 11}, {0x4aaba701u, 12}, {0xa9b37dd7u, 11},
};
_Static_assert(sizeof builtin_key / sizeof builtin_key[0] == N_BUILTIN, "one key per built-in name");

size_t vs_index_builtin_count(void)
{
    return N_BUILTIN;
}

const char *vs_index_builtin_name(size_t i)
{
    return i < N_BUILTIN ? builtin[i] : NULL;
}

/* strcmp order between name[0..len) and a NUL-terminated s. */
static int cmp_n(const char *name, size_t len, const char *s)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char a = (unsigned char)name[i], b = (unsigned char)s[i];
        if (a != b)
            return a < b ? -1 : 1;
        if (b == '\0')
            return 1; /* name holds a NUL where s ends: never equal */
    }
    return s[len] == '\0' ? 0 : -1;
}

bool vs_index_builtin_protected(const char *name, size_t len)
{
    if (name == NULL || len < BUILTIN_MIN_LEN || len > BUILTIN_MAX_LEN)
        return false;
    size_t lo = 0, hi = N_BUILTIN;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_n(name, len, builtin[mid]);
        if (r == 0)
            return true;
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

/* ---- hashing and tables ---- */

/* Unaligned little-endian loads, inside [s, s + len) only. */
static uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Word at a time, not FNV-1a byte by byte: FNV's multiply per byte made
 * the hash most of a getenv's cost (4 cycles a byte, serially). 8-byte
 * words (the last one overlapping), two overlapping 4-byte words for 4-7
 * bytes, 3 bytes below that; the length is mixed in, and a final
 * multiply-xorshift spreads every input bit into the low bits the tables
 * use. Not keyed: the names come from vaultd, and a caller choosing its own
 * names can only slow its own look-ups (probes stay bounded). */
uint32_t vs_index_hash(const char *s, size_t len)
{
    const uint64_t k = 0x9e3779b97f4a7c15u;
    uint64_t h = 0xcbf29ce484222325u ^ len;
    if (len >= 8) {
        for (size_t i = 0; i + 8 < len; i += 8)
            h = (h ^ load64(s + i)) * k;
        h = (h ^ load64(s + len - 8)) * k;
    } else if (len >= 4) {
        h = (h ^ (load32(s) | load32(s + len - 4) << 32)) * k;
    } else if (len > 0) {
        h = (h ^ ((uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[len / 2] << 8 |
                  (uint64_t)(unsigned char)s[len - 1] << 16)) * k;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93u;
    h ^= h >> 32;
    return (uint32_t)h;
}

/* Short compares inline (a memcmp call costs more than the bytes do);
 * backwards, where names differ most ("_TOKEN" against "_PATH"). */
static bool same_bytes(const char *a, const char *b, size_t n)
{
    while (n > 0) {
        n--;
        if (a[n] != b[n])
            return false;
    }
    return true;
}

static uint64_t len_bit(size_t len)
{
    return (uint64_t)1 << (len & 63);
}

/* Linear probing from the home slot; stops at an empty slot, and after n
 * slots at most. */
/* Inlined: a call with its register saves cost as much as the probe. */
static inline __attribute__((always_inline)) bool
table_has_hashed(const struct vs_index *idx, const struct vs_index_slot *t, uint32_t n,
                 uint64_t len_mask, const char *s, size_t len, uint32_t h)
{
    if (n == 0 || (len_mask & len_bit(len)) == 0)
        return false;
    uint32_t mask = n - 1;
    for (uint32_t i = h & mask, steps = 0; steps < n; i = (i + 1) & mask, steps++) {
        uint32_t off = t[i].str;
        if (off == 0)
            return false;
        if (t[i].hash == h && len < idx->strings_len - off &&
            idx->strings[off + len] == '\0' && memcmp(idx->strings + off, s, len) == 0)
            return true;
    }
    return false;
}

static inline __attribute__((always_inline)) bool
table_has(const struct vs_index *idx, const struct vs_index_slot *t, uint32_t n, uint64_t len_mask,
          const char *s, size_t len)
{
    return n != 0 && (len_mask & len_bit(len)) != 0 &&
           table_has_hashed(idx, t, n, len_mask, s, len, vs_index_hash(s, len));
}

/* '*' matches any run (possibly empty); no other metacharacter. Iterative
 * with one backtrack point, as vs_env_pattern_match, over name[0..len). */
static bool glob_match(const char *pat, const char *name, size_t len)
{
    const char *star = NULL;
    size_t i = 0, resume = 0;
    while (i < len) {
        if (*pat == '*') {
            star = pat++;
            resume = i;
        } else if (*pat != '\0' && *pat == name[i]) {
            pat++;
            i++;
        } else if (star != NULL) {
            pat = star + 1;
            i = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static bool globs_match(const struct vs_index *idx, const char *name, size_t len)
{
    for (uint32_t k = 0; k < idx->n_globs; k++) {
        const struct vs_index_glob *g = &idx->globs[k];
        const char *p = idx->strings + g->str;
        if (len < (size_t)g->prefix + g->suffix ||
            !same_bytes(name + len - g->suffix, p + g->len - g->suffix, g->suffix) ||
            !same_bytes(name, p, g->prefix))
            continue;
        if ((size_t)g->prefix + g->suffix + 1 == g->len || glob_match(p, name, len))
            return true;
    }
    return false;
}

/* ---- look-ups ---- */

bool vs_index_env_protected(const struct vs_index *idx, const char *name, size_t len)
{
    if (name == NULL)
        return false;
    if (idx == NULL || idx->base == NULL)
        return vs_index_builtin_protected(name, len);
    if (table_has(idx, idx->names, idx->n_names, idx->names_len_mask, name, len) ||
        globs_match(idx, name, len))
        return true;
    return !idx->builtins_in_names && vs_index_builtin_protected(name, len);
}

bool vs_index_entry_protected(const struct vs_index *idx, const char *entry)
{
    if (entry == NULL)
        return false;
    /* a loop, not strchr: the exec hooks call this for every entry between
     * fork and exec, where each libc text page used is a fault */
    const char *end = entry;
    while (*end != '\0' && *end != '=')
        end++;
    return vs_index_env_protected(idx, entry, (size_t)(end - entry));
}

bool vs_index_env_granted_anywhere(const struct vs_index *idx, const char *name, size_t len)
{
    return idx != NULL && idx->base != NULL && name != NULL &&
           table_has(idx, idx->granted, idx->n_granted, idx->granted_len_mask, name, len);
}

bool vs_index_path_managed_n(const struct vs_index *idx, const char *path, size_t len)
{
    return idx != NULL && idx->base != NULL && path != NULL &&
           table_has(idx, idx->paths, idx->n_paths, idx->paths_len_mask, path, len);
}

bool vs_index_path_managed(const struct vs_index *idx, const char *abs_path)
{
    return abs_path != NULL && vs_index_path_managed_n(idx, abs_path, strlen(abs_path));
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int tool_cmp(const struct vs_index_tool *t, uint64_t dev, uint64_t ino, uint64_t sdev,
                    uint64_t sino)
{
    int r;
    if ((r = cmp_u64(t->exe_dev, dev)) != 0 || (r = cmp_u64(t->exe_ino, ino)) != 0 ||
        (r = cmp_u64(t->script_dev, sdev)) != 0)
        return r;
    return cmp_u64(t->script_ino, sino);
}

static const struct vs_index_tool *tool_search(const struct vs_index *idx, uint64_t dev,
                                               uint64_t ino, uint64_t sdev, uint64_t sino)
{
    uint32_t lo = 0, hi = idx->n_tools;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int r = tool_cmp(&idx->tools[mid], dev, ino, sdev, sino);
        if (r == 0)
            return &idx->tools[mid];
        if (r > 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct vs_index_tool *vs_index_find_tool(const struct vs_index *idx, uint64_t dev,
                                               uint64_t ino, bool has_script,
                                               uint64_t script_dev, uint64_t script_ino)
{
    if (idx == NULL || idx->base == NULL || idx->n_tools == 0)
        return NULL;
    const struct vs_index_tool *t = NULL;
    /* Validation keeps plain tools at script 0/0 and interpreter tools
     * elsewhere, so the second search can only find a plain tool. */
    if (has_script && (script_dev | script_ino) != 0)
        t = tool_search(idx, dev, ino, script_dev, script_ino);
    return t != NULL ? t : tool_search(idx, dev, ino, 0, 0);
}

bool vs_index_is_interpreter(const struct vs_index *idx, uint64_t dev, uint64_t ino)
{
    if (idx == NULL || idx->base == NULL)
        return false;
    uint32_t lo = 0, hi = idx->n_interp;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct vs_index_devino *e = &idx->interp[mid];
        int r = cmp_u64(e->dev, dev);
        if (r == 0)
            r = cmp_u64(e->ino, ino);
        if (r == 0)
            return true;
        if (r > 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

/* t must come from this index (a pointer into idx->tools). */
static bool tool_of(const struct vs_index *idx, const struct vs_index_tool *t)
{
    return idx != NULL && idx->base != NULL && t != NULL && t >= idx->tools &&
           t < idx->tools + idx->n_tools;
}

const char *vs_index_tool_name(const struct vs_index *idx, const struct vs_index_tool *t)
{
    return tool_of(idx, t) ? idx->strings + t->name : NULL;
}

const char *vs_index_tool_env(const struct vs_index *idx, const struct vs_index_tool *t, size_t i)
{
    if (!tool_of(idx, t) || i >= t->env_count)
        return NULL;
    return idx->strings + idx->refs[t->env_first + i];
}

const char *vs_index_tool_file(const struct vs_index *idx, const struct vs_index_tool *t, size_t i)
{
    if (!tool_of(idx, t) || i >= t->file_count)
        return NULL;
    return idx->strings + idx->refs[t->file_first + i];
}

/* ---- validation ---- */

static const size_t elem_size[VS_IDX_NSECT] = {
    [VS_IDX_STRINGS] = 1,
    [VS_IDX_NAMES] = sizeof(struct vs_index_slot),
    [VS_IDX_GLOBS] = sizeof(struct vs_index_glob),
    [VS_IDX_PATHS] = sizeof(struct vs_index_slot),
    [VS_IDX_TOOLS] = sizeof(struct vs_index_tool),
    [VS_IDX_REFS] = sizeof(uint32_t),
    [VS_IDX_INTERP] = sizeof(struct vs_index_devino),
    [VS_IDX_GRANTED] = sizeof(struct vs_index_slot),
};

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static bool zero_bytes(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* A non-empty string inside the table (it ends there: the last byte is 0). */
static bool str_ok(const struct vs_index *idx, uint32_t off)
{
    return off < idx->strings_len && idx->strings[off] != '\0';
}

/* Tables up to this size have their strings measured for the length mask;
 * a larger one gets a mask of all ones (measuring would cost the
 * constructor more than it saves). */
#define MEASURED_SLOTS 1024

/* The built-in names as the writer lays them out: first in STRINGS, in list
 * order (builtin_block), each found in NAMES by its hash at exactly its
 * offset. Then one compare confirms their bytes, and each probe compares
 * offsets instead of strings. Flags each one's slot in known and, when all
 * are found, sets *len_mask to their lengths. Only for a table whose
 * strings are measured; false sends the caller to the name-by-name check. Reads only what
 * check_layout bounded: the probes stay below n_names. */
static bool builtins_at_start(const struct vs_index *v, uint64_t *known, uint64_t *len_mask)
{
    uint64_t lens = 0;
    uint32_t n = v->n_names;
    if (n == 0 || (n & (n - 1)) != 0 || n > MEASURED_SLOTS || v->strings_len < 1 + BUILTIN_BLOCK_LEN ||
        memcmp(v->strings + 1, builtin_block, BUILTIN_BLOCK_LEN) != 0)
        return false;
    uint32_t off = 1, mask = n - 1;
    for (size_t i = 0; i < N_BUILTIN; i++) {
        uint32_t h = builtin_key[i].hash, at = h & mask, steps = 0;
        while (steps < n && v->names[at].str != 0 && v->names[at].str != off) {
            at = (at + 1) & mask;
            steps++;
        }
        if (steps == n || v->names[at].str != off || v->names[at].hash != h)
            return false; /* a stale key, or a file laid out otherwise */
        known[at / 64] |= (uint64_t)1 << (at % 64);
        lens |= len_bit(builtin_key[i].len);
        off += builtin_key[i].len + 1u;
    }
    *len_mask = lens;
    return true;
}

/* The same confirmed name by name, wherever the file put them (an older
 * writer's layout); a stale key can only miss. */
static bool builtins_by_name(const struct vs_index *v)
{
    for (size_t i = 0; i < N_BUILTIN; i++) {
        size_t blen = builtin_key[i].len;
        if (blen > BUILTIN_MAX_LEN || builtin[i][blen] != '\0' ||
            !table_has_hashed(v, v->names, v->n_names, v->names_len_mask, builtin[i], blen,
                              builtin_key[i].hash))
            return false;
    }
    return true;
}

/* Power-of-two size, slots empty ({0,0}) or naming a non-empty string, at
 * most half full; adds each string's length to *len_mask. Slots flagged in
 * known (a bit per slot, or NULL) have theirs there already. */
static int check_table(const struct vs_index *idx, const struct vs_index_slot *t, uint32_t n,
                       const uint64_t *known, uint64_t *len_mask)
{
    if (n == 0)
        return 0;
    if ((n & (n - 1)) != 0)
        return VS_ECORRUPT;
    bool measure = n <= MEASURED_SLOTS;
    uint32_t used = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t slot; /* hash and offset at once: most slots are empty */
        memcpy(&slot, &t[i], sizeof slot);
        if (slot == 0)
            continue;
        if (!str_ok(idx, t[i].str)) /* an empty slot with a hash fails here too */
            return VS_ECORRUPT;
        used++;
        if (measure && (known == NULL || (known[i / 64] >> (i % 64) & 1) == 0))
            *len_mask |= len_bit(strlen(idx->strings + t[i].str));
    }
    if (used > n / 2)
        return VS_ECORRUPT;
    if (!measure)
        *len_mask = ~(uint64_t)0;
    return 0;
}

static int check_globs(const struct vs_index *idx)
{
    for (uint32_t k = 0; k < idx->n_globs; k++) {
        const struct vs_index_glob *g = &idx->globs[k];
        if (!str_ok(idx, g->str) || g->reserved != 0)
            return VS_ECORRUPT;
        const char *p = idx->strings + g->str;
        size_t len = strlen(p);
        const char *first = memchr(p, '*', len);
        const char *last = memrchr(p, '*', len);
        if (len != g->len || first == NULL || (size_t)(first - p) != g->prefix ||
            (size_t)(p + len - 1 - last) != g->suffix)
            return VS_ECORRUPT;
    }
    return 0;
}

static bool range_ok(uint32_t first, uint32_t count, uint32_t n)
{
    return (uint64_t)first + count <= n;
}

static int check_tools(const struct vs_index *idx)
{
    for (uint32_t k = 0; k < idx->n_tools; k++) {
        const struct vs_index_tool *t = &idx->tools[k];
        bool script = (t->flags & VS_INDEX_TOOL_INTERPRETER) != 0;
        if ((t->flags & ~VS_INDEX_TOOL_FLAGS) != 0 || !str_ok(idx, t->name) ||
            !range_ok(t->env_first, t->env_count, idx->n_refs) ||
            !range_ok(t->file_first, t->file_count, idx->n_refs) ||
            script != ((t->script_dev | t->script_ino) != 0))
            return VS_ECORRUPT;
        if (k > 0 && tool_cmp(&idx->tools[k - 1], t->exe_dev, t->exe_ino, t->script_dev,
                              t->script_ino) >= 0)
            return VS_ECORRUPT;
    }
    for (uint32_t k = 0; k < idx->n_refs; k++)
        if (!str_ok(idx, idx->refs[k]))
            return VS_ECORRUPT;
    for (uint32_t k = 1; k < idx->n_interp; k++) {
        const struct vs_index_devino *a = &idx->interp[k - 1], *b = &idx->interp[k];
        if (a->dev > b->dev || (a->dev == b->dev && a->ino >= b->ino))
            return VS_ECORRUPT;
    }
    return 0;
}

/* The section table: canonical layout, padding zero. Fills the pointers. */
static int check_layout(const struct vs_index_header *h, const uint8_t *base, size_t len,
                        struct vs_index *idx)
{
    size_t pos = sizeof *h;
    const uint8_t *at[VS_IDX_NSECT];
    for (int s = 0; s < VS_IDX_NSECT; s++) {
        size_t off = h->sect[s].offset;
        uint64_t bytes = (uint64_t)h->sect[s].count * elem_size[s];
        if (off != align8(pos) || off > len || bytes > len - off || !zero_bytes(base + pos, off - pos))
            return VS_ECORRUPT;
        at[s] = base + off;
        pos = off + (size_t)bytes;
    }
    if (align8(pos) != len || !zero_bytes(base + pos, len - pos))
        return VS_ECORRUPT;
    idx->strings = (const char *)at[VS_IDX_STRINGS];
    idx->strings_len = h->sect[VS_IDX_STRINGS].count;
    idx->names = (const struct vs_index_slot *)(const void *)at[VS_IDX_NAMES];
    idx->n_names = h->sect[VS_IDX_NAMES].count;
    idx->globs = (const struct vs_index_glob *)(const void *)at[VS_IDX_GLOBS];
    idx->n_globs = h->sect[VS_IDX_GLOBS].count;
    idx->paths = (const struct vs_index_slot *)(const void *)at[VS_IDX_PATHS];
    idx->n_paths = h->sect[VS_IDX_PATHS].count;
    idx->tools = (const struct vs_index_tool *)(const void *)at[VS_IDX_TOOLS];
    idx->n_tools = h->sect[VS_IDX_TOOLS].count;
    idx->refs = (const uint32_t *)(const void *)at[VS_IDX_REFS];
    idx->n_refs = h->sect[VS_IDX_REFS].count;
    idx->interp = (const struct vs_index_devino *)(const void *)at[VS_IDX_INTERP];
    idx->n_interp = h->sect[VS_IDX_INTERP].count;
    idx->granted = (const struct vs_index_slot *)(const void *)at[VS_IDX_GRANTED];
    idx->n_granted = h->sect[VS_IDX_GRANTED].count;
    return 0;
}

int vs_index_from_memory(const void *data, size_t len, struct vs_index *idx)
{
    struct vs_index v;
    memset(&v, 0, sizeof v);
    memset(idx, 0, sizeof *idx);
    if (len > VS_INDEX_MAX_BYTES)
        return VS_ETOOBIG;
    struct vs_index_header h;
    if (data == NULL || len < sizeof h || len % 8 != 0 || (uintptr_t)data % 8 != 0)
        return VS_ECORRUPT;
    memcpy(&h, data, sizeof h);
    if (memcmp(h.magic, VS_INDEX_MAGIC, sizeof h.magic) != 0 || h.version != VS_INDEX_VERSION ||
        h.total_size != len || (h.flags & ~VS_INDEX_FLAGS) != 0 || h.n_sections != VS_IDX_NSECT)
        return VS_ECORRUPT;
    int rc = check_layout(&h, data, len, &v);
    if (rc != 0)
        return rc;
    if (v.strings_len == 0 || v.strings_len % 8 != 0 || v.strings[0] != '\0' ||
        v.strings[v.strings_len - 1] != '\0')
        return VS_ECORRUPT;
    v.base = data;
    v.len = len;
    v.generation = h.generation;
    v.flags = h.flags;
    /* The writer puts the built-in list into NAMES, so a look-up is one
     * probe; confirm it rather than trust it (an older writer's file, or a
     * file without them, keeps the separate check). */
    uint64_t known[MEASURED_SLOTS / 64] = {0};
    v.builtins_in_names = v.builtins_first = builtins_at_start(&v, known, &v.names_len_mask);
    if ((rc = check_table(&v, v.names, v.n_names, v.builtins_in_names ? known : NULL,
                          &v.names_len_mask)) != 0 ||
        (rc = check_table(&v, v.paths, v.n_paths, NULL, &v.paths_len_mask)) != 0 ||
        (rc = check_table(&v, v.granted, v.n_granted, NULL, &v.granted_len_mask)) != 0 ||
        (rc = check_globs(&v)) != 0 || (rc = check_tools(&v)) != 0)
        return rc;
    if (!v.builtins_in_names)
        v.builtins_in_names = builtins_by_name(&v);
    *idx = v;
    return 0;
}

int vs_index_validate(const void *data, size_t len)
{
    struct vs_index idx;
    return vs_index_from_memory(data, len, &idx);
}

/* ---- mapping ---- */

/* Type, mode and size of an open fd without the libc stat wrappers. */
static int fd_info(long fd, mode_t *mode, uint64_t *size)
{
#ifdef SYS_statx
    struct statx sx;
    if (vs_sys(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_SIZE, &sx) == 0) {
        *mode = sx.stx_mode;
        *size = sx.stx_size;
        return 0;
    }
    if (errno != ENOSYS && errno != EPERM)
        return VS_EIO;
#endif
#if defined(SYS_fstat) && (defined(__x86_64__) || defined(__aarch64__))
    /* struct stat is the kernel's layout on these two. */
    struct stat st;
    if (vs_sys(SYS_fstat, fd, &st) == 0) {
        *mode = st.st_mode;
        *size = (uint64_t)st.st_size;
        return 0;
    }
#endif
    return VS_EIO;
}

/* Reads size bytes at offset 0 into buf; VS_ECORRUPT when the file is
 * shorter than its size said. */
static int read_all(long fd, uint8_t *buf, size_t size)
{
    size_t have = 0;
    while (have < size) {
        long n = vs_sys(SYS_pread64, fd, buf + have, size - have, (long)have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return VS_EIO;
        if (n == 0)
            return VS_ECORRUPT;
        have += (size_t)n;
    }
    return 0;
}

static int load(const char *path, void *buf, size_t cap, struct vs_index *idx)
{
    int saved = errno;
    memset(idx, 0, sizeof *idx);
    if (path == NULL)
        return VS_EINVAL;
    /* O_NONBLOCK: a FIFO planted at the path must not block the constructor. */
    long fd = vs_sys(SYS_openat, AT_FDCWD, path,
                      O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int rc = errno == ENOENT || errno == ENOTDIR ? VS_ENOENT : errno == ELOOP ? VS_EPERM : VS_EIO;
        errno = saved;
        return rc;
    }
    mode_t mode = 0;
    uint64_t size = 0;
    int rc = fd_info(fd, &mode, &size);
    if (rc == 0 && (!S_ISREG(mode) || (mode & 022) != 0))
        rc = VS_EPERM;
    else if (rc == 0 && size > VS_INDEX_MAX_BYTES)
        rc = VS_ETOOBIG;
    else if (rc == 0 && size < sizeof(struct vs_index_header))
        rc = VS_ECORRUPT;
    bool copy = buf != NULL && size <= cap;
    void *data = MAP_FAILED;
    if (rc == 0 && copy) {
        data = buf;
        rc = read_all(fd, buf, (size_t)size);
    } else if (rc == 0) {
        data = vs_mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, (int)fd, 0);
        if (data == MAP_FAILED)
            rc = VS_EIO;
    }
    (void)vs_close((int)fd);
    if (rc == 0) {
        rc = vs_index_from_memory(data, (size_t)size, idx);
        if (rc == 0)
            idx->mapped = !copy;
        else if (!copy)
            (void)vs_munmap(data, (size_t)size);
    }
    errno = saved;
    return rc;
}

int vs_index_map(const char *path, struct vs_index *idx)
{
    return load(path, NULL, 0, idx);
}

int vs_index_load(const char *path, void *buf, size_t cap, struct vs_index *idx)
{
    return load(path, buf, cap, idx);
}

void vs_index_unmap(struct vs_index *idx)
{
    if (idx == NULL)
        return;
    if (idx->mapped && idx->base != NULL) {
        int saved = errno;
        (void)vs_munmap((void *)(uintptr_t)idx->base, idx->len);
        errno = saved;
    }
    memset(idx, 0, sizeof *idx);
}
