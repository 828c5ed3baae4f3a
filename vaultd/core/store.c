#include "store.h"

#include "buf.h"
#include "error.h"
#include "keywrap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "VSSTORE1"
#define FORMAT 1u
#define PREFIX_BYTES 64
#define MAC_BYTES 32
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define MIN_FILE (PREFIX_BYTES + VS_WRAP_NONCE_BYTES + VS_WRAPPED_BYTES + 8 + 8 + 4 + MAC_BYTES)
#define AD_MAX (VS_STORE_ID_BYTES + 1 + VS_SECRET_NAME_MAX + 4)

/* Subkeys of the data key, one per purpose (crypto_kdf ids). */
enum { SUBKEY_VALUE = 1, SUBKEY_STORE_MAC = 2, SUBKEY_AUDIT = 3 };
static const char KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = {'v', 's', 'h', 'i', 'm', 'k', 'e', 'y'};

struct vs_keys {
    uint8_t data[VS_KEY_BYTES];
    uint8_t value[VS_KEY_BYTES];
    uint8_t store_mac[VS_KEY_BYTES];
    uint8_t audit[VS_KEY_BYTES];
};

struct vs_store {
    uint8_t prefix[PREFIX_BYTES];
    uint8_t wrap_nonce[VS_WRAP_NONCE_BYTES];
    uint8_t wrapped[VS_WRAPPED_BYTES];
    uint64_t generation;
    uint64_t audit_seq;
    size_t nsecrets, cap;
    struct vs_secret *secrets;
    /* The names of the secrets a parse read, back to back in one block
     * (one malloc per name cost 25 bytes of overhead on a 7-byte name);
     * names added later are malloc'd on their own. */
    char *name_pool;
    size_t name_pool_len;
    struct vs_keys *keys; /* sodium_malloc: guarded, locked, wiped */
};

static void put_le(uint8_t *p, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void build_prefix(uint8_t prefix[PREFIX_BYTES], const uint8_t id[VS_STORE_ID_BYTES],
                         const struct vs_kdf_params *p)
{
    memset(prefix, 0, PREFIX_BYTES);
    memcpy(prefix, MAGIC, 8);
    put_le(prefix + 8, FORMAT, 4);
    memcpy(prefix + 12, id, VS_STORE_ID_BYTES);
    prefix[28] = p->kind;
    put_le(prefix + 32, p->opslimit, 8);
    put_le(prefix + 40, p->memlimit, 8);
    memcpy(prefix + 48, p->salt, VS_SALT_BYTES);
}

static int parse_prefix(const uint8_t *file, size_t len, struct vs_kdf_params *p)
{
    if (len < 8 || memcmp(file, MAGIC, 8) != 0)
        return vs_fail(VS_ECORRUPT, "not a vaultshim store (bad magic)");
    if (len < MIN_FILE)
        return vs_fail(VS_ECORRUPT, "store truncated (%zu bytes)", len);
    struct vs_reader r;
    vs_reader_init(&r, file + 8, PREFIX_BYTES - 8);
    uint32_t format = vs_get_u32(&r);
    if (format != FORMAT)
        return vs_fail(VS_ECORRUPT, "unsupported store format %u", format);
    (void)vs_get_ptr(&r, VS_STORE_ID_BYTES);
    p->kind = vs_get_u8(&r);
    uint8_t reserved[3];
    (void)vs_get(&r, reserved, sizeof reserved);
    p->opslimit = vs_get_u64(&r);
    p->memlimit = vs_get_u64(&r);
    (void)vs_get(&r, p->salt, sizeof p->salt);
    if (r.err != 0 || reserved[0] != 0 || reserved[1] != 0 || reserved[2] != 0)
        return vs_fail(VS_ECORRUPT, "store header malformed");
    return vs_kdf_params_check(p);
}

static int derive_subkeys(struct vs_keys *k)
{
    if (crypto_kdf_derive_from_key(k->value, VS_KEY_BYTES, SUBKEY_VALUE, KDF_CONTEXT, k->data) != 0 ||
        crypto_kdf_derive_from_key(k->store_mac, VS_KEY_BYTES, SUBKEY_STORE_MAC, KDF_CONTEXT, k->data) != 0 ||
        crypto_kdf_derive_from_key(k->audit, VS_KEY_BYTES, SUBKEY_AUDIT, KDF_CONTEXT, k->data) != 0)
        return vs_fail(VS_ECRYPTO, "subkey derivation failed");
    return 0;
}

static struct vs_store *store_alloc(void)
{
    struct vs_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->keys = sodium_malloc(sizeof *s->keys);
    if (s->keys == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

/* A store and a key-encryption-key buffer, both or neither. */
static int alloc_with_kek(struct vs_store **s, uint8_t **kek)
{
    *s = store_alloc();
    *kek = sodium_malloc(VS_KEY_BYTES);
    if (*s != NULL && *kek != NULL)
        return 0;
    vs_store_free(*s);
    sodium_free(*kek);
    *s = NULL;
    *kek = NULL;
    return VS_ENOMEM;
}

static bool in_name_pool(const struct vs_store *s, const char *name)
{
    uintptr_t p = (uintptr_t)name, base = (uintptr_t)s->name_pool;
    return s->name_pool != NULL && p >= base && p < base + s->name_pool_len;
}

static void secret_release(const struct vs_store *s, struct vs_secret *sec)
{
    if (!in_name_pool(s, sec->name))
        free(sec->name);
    sec->name = NULL;
    free(sec->reason);
    sec->reason = NULL;
    for (uint16_t i = 0; i < sec->nversions; i++)
        free(sec->versions[i].ct);
    free(sec->versions);
    sec->versions = NULL;
    sec->nversions = 0;
}

/* Every record, the table and the name pool. */
static void records_release(struct vs_store *s)
{
    for (size_t i = 0; i < s->nsecrets; i++)
        secret_release(s, &s->secrets[i]);
    free(s->secrets);
    free(s->name_pool);
    s->secrets = NULL;
    s->name_pool = NULL;
    s->nsecrets = s->cap = s->name_pool_len = 0;
}

void vs_store_free(struct vs_store *s)
{
    if (s == NULL)
        return;
    records_release(s);
    sodium_free(s->keys); /* wipes */
    free(s);
}

int vs_store_create(const struct vs_unlock *u, enum vs_kdf_level level, struct vs_store **out)
{
    *out = NULL;
    struct vs_kdf_params params;
    int rc = vs_kdf_params_new(u->kind, level, &params);
    if (rc != 0)
        return rc;
    struct vs_store *s = NULL;
    uint8_t *kek = NULL;
    if (alloc_with_kek(&s, &kek) != 0)
        return vs_fail(VS_ENOMEM, "out of memory");
    uint8_t id[VS_STORE_ID_BYTES];
    randombytes_buf(id, sizeof id);
    build_prefix(s->prefix, id, &params);
    crypto_kdf_keygen(s->keys->data);
    rc = vs_kdf_derive(&params, u, kek);
    if (rc == 0)
        rc = vs_wrap_key(kek, s->prefix, PREFIX_BYTES, s->keys->data, s->wrap_nonce, s->wrapped);
    if (rc == 0)
        rc = derive_subkeys(s->keys);
    sodium_free(kek);
    if (rc != 0) {
        vs_store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int vs_store_peek_kdf(const uint8_t *file, size_t len, enum vs_kdf_kind *kind)
{
    struct vs_kdf_params p;
    int rc = parse_prefix(file, len, &p);
    if (rc == 0)
        *kind = (enum vs_kdf_kind)p.kind;
    return rc;
}

static size_t value_ad(uint8_t ad[AD_MAX], const uint8_t *store_id, const char *name, uint32_t version)
{
    size_t name_len = strlen(name);
    memcpy(ad, store_id, VS_STORE_ID_BYTES);
    ad[VS_STORE_ID_BYTES] = (uint8_t)name_len;
    memcpy(ad + VS_STORE_ID_BYTES + 1, name, name_len);
    put_le(ad + VS_STORE_ID_BYTES + 1 + name_len, version, 4);
    return VS_STORE_ID_BYTES + 1 + name_len + 4;
}

static int parse_version(struct vs_reader *r, struct vs_version *v, uint32_t previous)
{
    v->version = vs_get_u32(r);
    v->created = vs_get_u64(r);
    (void)vs_get(r, v->nonce, sizeof v->nonce);
    v->ct_len = vs_get_u32(r);
    if (r->err != 0)
        return vs_fail(VS_ECORRUPT, "store truncated in a version record");
    if (v->version <= previous)
        return vs_fail(VS_ECORRUPT, "store: versions out of order");
    if (v->ct_len <= TAG_BYTES || v->ct_len > VS_VALUE_MAX + TAG_BYTES)
        return vs_fail(VS_ECORRUPT, "store: bad ciphertext length %u", v->ct_len);
    const uint8_t *ct = vs_get_ptr(r, v->ct_len);
    if (ct == NULL)
        return vs_fail(VS_ECORRUPT, "store truncated in a ciphertext");
    v->ct = malloc(v->ct_len);
    if (v->ct == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    memcpy(v->ct, ct, v->ct_len);
    return 0;
}

static bool printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* name_pool has room for every name of the records (parse_records sized
 * it); *pool_used grows by each name and its NUL. */
static int parse_secret(struct vs_reader *r, struct vs_secret *sec, const char *previous_name, char *name_pool,
                        size_t *pool_used)
{
    uint8_t name_len = vs_get_u8(r);
    const uint8_t *name = vs_get_ptr(r, name_len);
    if (name == NULL || name_len == 0 || name_len > VS_SECRET_NAME_MAX || memchr(name, '\0', name_len) != NULL)
        return vs_fail(VS_ECORRUPT, "store: bad secret name");
    sec->name = name_pool + *pool_used;
    *pool_used += (size_t)name_len + 1;
    memcpy(sec->name, name, name_len);
    sec->name[name_len] = '\0';
    if (!vs_secret_name_valid(sec->name))
        return vs_fail(VS_ECORRUPT, "store: invalid secret name");
    if (previous_name != NULL && strcmp(previous_name, sec->name) >= 0)
        return vs_fail(VS_ECORRUPT, "store: secrets duplicated or out of order");
    sec->created = vs_get_u64(r);
    sec->rotated = vs_get_u64(r);
    sec->revoked_at = vs_get_u64(r);
    sec->flags = vs_get_u32(r);
    sec->rotation_days = vs_get_u32(r);
    uint16_t reason_len = vs_get_u16(r);
    if (r->err != 0 || reason_len > VS_REASON_MAX)
        return vs_fail(VS_ECORRUPT, "store: bad secret record for %s", sec->name);
    const uint8_t *reason = vs_get_ptr(r, reason_len);
    if (reason == NULL)
        return vs_fail(VS_ECORRUPT, "store truncated in %s", sec->name);
    if (reason_len != 0) {
        if ((sec->reason = malloc((size_t)reason_len + 1)) == NULL)
            return vs_fail(VS_ENOMEM, "out of memory");
        memcpy(sec->reason, reason, reason_len);
        sec->reason[reason_len] = '\0';
    }
    if ((sec->reason != NULL && (strlen(sec->reason) != reason_len || !printable(sec->reason))) ||
        (sec->flags & ~VS_SECRET_FLAGS_KNOWN) != 0)
        return vs_fail(VS_ECORRUPT, "store: bad secret record for %s", sec->name);
    uint16_t nversions = vs_get_u16(r);
    if (r->err != 0 || nversions == 0)
        return vs_fail(VS_ECORRUPT, "store: %s has no versions", sec->name);
    sec->versions = calloc(nversions, sizeof *sec->versions);
    if (sec->versions == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    for (uint16_t i = 0; i < nversions; i++) {
        int rc = parse_version(r, &sec->versions[i], i == 0 ? 0 : sec->versions[i - 1].version);
        sec->nversions = (uint16_t)(i + 1); /* so release frees what was read */
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Moves the names into a block of their exact size (the first was sized
 * for the worst case). */
static int trim_name_pool(struct vs_store *s, size_t used)
{
    if (s->name_pool == NULL || used == s->name_pool_len)
        return 0;
    char *fresh = malloc(used != 0 ? used : 1);
    if (fresh == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    memcpy(fresh, s->name_pool, used);
    for (size_t i = 0; i < s->nsecrets; i++)
        s->secrets[i].name = fresh + ((uintptr_t)s->secrets[i].name - (uintptr_t)s->name_pool);
    free(s->name_pool);
    s->name_pool = fresh;
    s->name_pool_len = used;
    return 0;
}

static int parse_records(struct vs_store *s, struct vs_reader *r)
{
    s->generation = vs_get_u64(r);
    s->audit_seq = vs_get_u64(r);
    uint32_t count = vs_get_u32(r);
    /* Each record takes at least 60 bytes: bound the count before allocating. */
    if (r->err != 0 || count > vs_reader_left(r) / 60)
        return vs_fail(VS_ECORRUPT, "store: bad record count");
    s->secrets = calloc(count != 0 ? count : 1, sizeof *s->secrets);
    if (s->secrets == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    s->cap = count != 0 ? count : 1;
    /* Room for every name: none is longer than VS_SECRET_NAME_MAX, and
     * together they are shorter than the bytes left. Trimmed below. */
    size_t room = (size_t)count * (VS_SECRET_NAME_MAX + 1);
    if (room > vs_reader_left(r))
        room = vs_reader_left(r);
    if (count != 0 && (s->name_pool = malloc(room)) == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    s->name_pool_len = count != 0 ? room : 0;
    size_t used = 0;
    for (uint32_t i = 0; i < count; i++) {
        s->nsecrets = i + 1;
        int rc = parse_secret(r, &s->secrets[i], i == 0 ? NULL : s->secrets[i - 1].name, s->name_pool, &used);
        if (rc != 0)
            return rc;
    }
    if (vs_reader_left(r) != 0)
        return vs_fail(VS_ECORRUPT, "store: trailing bytes after the records");
    return trim_name_pool(s, used);
}

static int mac_file(const struct vs_keys *k, const uint8_t *data, size_t len, uint8_t mac[MAC_BYTES])
{
    if (crypto_generichash(mac, MAC_BYTES, data, len, k->store_mac, VS_KEY_BYTES) != 0)
        return vs_fail(VS_ECRYPTO, "MAC computation failed");
    return 0;
}

int vs_store_parse(const uint8_t *file, size_t len, const struct vs_unlock *u, struct vs_store **out)
{
    *out = NULL;
    struct vs_kdf_params params;
    int rc = parse_prefix(file, len, &params);
    if (rc != 0)
        return rc;
    struct vs_store *s = NULL;
    uint8_t *kek = NULL;
    if (alloc_with_kek(&s, &kek) != 0)
        return vs_fail(VS_ENOMEM, "out of memory");
    memcpy(s->prefix, file, PREFIX_BYTES);
    memcpy(s->wrap_nonce, file + PREFIX_BYTES, VS_WRAP_NONCE_BYTES);
    memcpy(s->wrapped, file + PREFIX_BYTES + VS_WRAP_NONCE_BYTES, VS_WRAPPED_BYTES);
    rc = vs_kdf_derive(&params, u, kek);
    if (rc == 0)
        rc = vs_unwrap_key(kek, s->prefix, PREFIX_BYTES, s->wrap_nonce, s->wrapped, s->keys->data);
    sodium_free(kek);
    if (rc == 0)
        rc = derive_subkeys(s->keys);
    uint8_t mac[MAC_BYTES];
    if (rc == 0)
        rc = mac_file(s->keys, file, len - MAC_BYTES, mac);
    if (rc == 0 && crypto_verify_32(mac, file + len - MAC_BYTES) != 0)
        rc = vs_fail(VS_ECRYPTO, "store tampered or damaged: MAC mismatch");
    if (rc == 0) {
        struct vs_reader r;
        size_t body = PREFIX_BYTES + VS_WRAP_NONCE_BYTES + VS_WRAPPED_BYTES;
        vs_reader_init(&r, file + body, len - body - MAC_BYTES);
        rc = parse_records(s, &r);
    }
    if (rc != 0) {
        vs_store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int vs_store_reload(struct vs_store *s, const uint8_t *file, size_t len)
{
    struct vs_kdf_params params;
    int rc = parse_prefix(file, len, &params);
    if (rc != 0)
        return rc;
    if (memcmp(file, s->prefix, PREFIX_BYTES) != 0 ||
        memcmp(file + PREFIX_BYTES, s->wrap_nonce, VS_WRAP_NONCE_BYTES) != 0 ||
        memcmp(file + PREFIX_BYTES + VS_WRAP_NONCE_BYTES, s->wrapped, VS_WRAPPED_BYTES) != 0)
        return vs_fail(VS_ECRYPTO, "store was replaced by another vault's (different id or key)");
    uint8_t mac[MAC_BYTES];
    rc = mac_file(s->keys, file, len - MAC_BYTES, mac);
    if (rc == 0 && crypto_verify_32(mac, file + len - MAC_BYTES) != 0)
        rc = vs_fail(VS_ECRYPTO, "store tampered or damaged: MAC mismatch");
    if (rc != 0)
        return rc;
    struct vs_store fresh = {0};
    struct vs_reader r;
    size_t body = PREFIX_BYTES + VS_WRAP_NONCE_BYTES + VS_WRAPPED_BYTES;
    vs_reader_init(&r, file + body, len - body - MAC_BYTES);
    rc = parse_records(&fresh, &r);
    if (rc == 0 && fresh.generation < s->generation)
        rc = vs_fail(VS_EROLLBACK, "store generation %llu is older than the %llu already seen: the store was rolled back",
                     (unsigned long long)fresh.generation, (unsigned long long)s->generation);
    if (rc != 0) {
        records_release(&fresh);
        return rc;
    }
    records_release(s);
    s->secrets = fresh.secrets;
    s->nsecrets = fresh.nsecrets;
    s->cap = fresh.cap;
    s->name_pool = fresh.name_pool;
    s->name_pool_len = fresh.name_pool_len;
    s->generation = fresh.generation;
    s->audit_seq = fresh.audit_seq;
    return 0;
}

static void serialize_secret(struct vs_buf *b, const struct vs_secret *sec)
{
    size_t name_len = strlen(sec->name);
    size_t reason_len = strlen(vs_secret_reason(sec));
    (void)vs_buf_put_u8(b, (uint8_t)name_len);
    (void)vs_buf_put(b, sec->name, name_len);
    (void)vs_buf_put_u64(b, sec->created);
    (void)vs_buf_put_u64(b, sec->rotated);
    (void)vs_buf_put_u64(b, sec->revoked_at);
    (void)vs_buf_put_u32(b, sec->flags);
    (void)vs_buf_put_u32(b, sec->rotation_days);
    (void)vs_buf_put_u16(b, (uint16_t)reason_len);
    (void)vs_buf_put(b, vs_secret_reason(sec), reason_len);
    (void)vs_buf_put_u16(b, sec->nversions);
    for (uint16_t i = 0; i < sec->nversions; i++) {
        const struct vs_version *v = &sec->versions[i];
        (void)vs_buf_put_u32(b, v->version);
        (void)vs_buf_put_u64(b, v->created);
        (void)vs_buf_put(b, v->nonce, sizeof v->nonce);
        (void)vs_buf_put_u32(b, v->ct_len);
        (void)vs_buf_put(b, v->ct, v->ct_len);
    }
}

int vs_store_serialize(const struct vs_store *s, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    struct vs_buf b;
    vs_buf_init(&b, VS_STORE_MAX_BYTES);
    (void)vs_buf_put(&b, s->prefix, PREFIX_BYTES);
    (void)vs_buf_put(&b, s->wrap_nonce, VS_WRAP_NONCE_BYTES);
    (void)vs_buf_put(&b, s->wrapped, VS_WRAPPED_BYTES);
    (void)vs_buf_put_u64(&b, s->generation);
    (void)vs_buf_put_u64(&b, s->audit_seq);
    (void)vs_buf_put_u32(&b, (uint32_t)s->nsecrets);
    for (size_t i = 0; i < s->nsecrets; i++)
        serialize_secret(&b, &s->secrets[i]);
    uint8_t mac[MAC_BYTES];
    int rc = b.err;
    if (rc == 0)
        rc = mac_file(s->keys, b.data, b.len, mac);
    if (rc == 0)
        rc = vs_buf_put(&b, mac, MAC_BYTES);
    if (rc != 0) {
        vs_buf_free(&b);
        return rc == VS_ETOOBIG ? vs_fail(rc, "store would exceed %u MiB", VS_STORE_MAX_BYTES >> 20) : rc;
    }
    *out = b.data;
    *out_len = b.len;
    return 0;
}

uint64_t vs_store_generation(const struct vs_store *s) { return s->generation; }
void vs_store_set_generation(struct vs_store *s, uint64_t gen) { s->generation = gen; }
uint64_t vs_store_audit_seq(const struct vs_store *s) { return s->audit_seq; }
void vs_store_set_audit_seq(struct vs_store *s, uint64_t seq) { s->audit_seq = seq; }
const uint8_t *vs_store_id(const struct vs_store *s) { return s->prefix + 12; }
const uint8_t *vs_store_audit_key(const struct vs_store *s) { return s->keys->audit; }
size_t vs_store_count(const struct vs_store *s) { return s->nsecrets; }

struct vs_secret *vs_store_at(struct vs_store *s, size_t i)
{
    return i < s->nsecrets ? &s->secrets[i] : NULL;
}

/* Index of name, or of where it would go (with *found false). */
static size_t search(const struct vs_store *s, const char *name, bool *found)
{
    size_t lo = 0, hi = s->nsecrets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(s->secrets[mid].name, name);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

struct vs_secret *vs_store_find(struct vs_store *s, const char *name)
{
    bool found;
    size_t i = search(s, name, &found);
    return found ? &s->secrets[i] : NULL;
}

static int seal(const struct vs_store *s, const char *name, uint32_t version, const uint8_t *value, size_t len,
                uint64_t now, struct vs_version *v)
{
    if (len == 0)
        return vs_fail(VS_EINVAL, "%s: empty value refused", name);
    if (len > VS_VALUE_MAX)
        return vs_fail(VS_ETOOBIG, "%s: value of %zu bytes is over the %d byte limit", name, len, VS_VALUE_MAX);
    uint8_t ad[AD_MAX];
    size_t ad_len = value_ad(ad, vs_store_id(s), name, version);
    memset(v, 0, sizeof *v);
    v->version = version;
    v->created = now;
    v->ct_len = (uint32_t)(len + TAG_BYTES);
    v->ct = malloc(v->ct_len);
    if (v->ct == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    randombytes_buf(v->nonce, sizeof v->nonce);
    unsigned long long clen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(v->ct, &clen, value, len, ad, ad_len, NULL, v->nonce,
                                                   s->keys->value) != 0) {
        free(v->ct);
        v->ct = NULL;
        return vs_fail(VS_ECRYPTO, "%s: encryption failed", name);
    }
    return 0;
}

int vs_store_add(struct vs_store *s, const char *name, const uint8_t *value, size_t len, uint64_t now)
{
    if (!vs_secret_name_valid(name))
        return vs_fail(VS_EINVAL, "invalid secret name (use 1-%d of A-Z a-z 0-9 _ . -, starting with a letter or digit)",
                       VS_SECRET_NAME_MAX);
    bool found;
    size_t at = search(s, name, &found);
    if (found)
        return vs_fail(VS_EEXIST, "%s: already exists (use vaultctl rotate)", name);
    struct vs_version *v = calloc(1, sizeof *v);
    char *copy = strdup(name);
    if (v == NULL || copy == NULL) {
        free(v);
        free(copy);
        return vs_fail(VS_ENOMEM, "out of memory");
    }
    int rc = seal(s, name, 1, value, len, now, v);
    if (rc != 0) {
        free(v);
        free(copy);
        return rc;
    }
    if (s->nsecrets == s->cap) {
        size_t cap = s->cap != 0 ? s->cap * 2 : 16;
        struct vs_secret *grown = realloc(s->secrets, cap * sizeof *grown);
        if (grown == NULL) {
            free(v->ct);
            free(v);
            free(copy);
            return vs_fail(VS_ENOMEM, "out of memory");
        }
        s->secrets = grown;
        s->cap = cap;
    }
    memmove(&s->secrets[at + 1], &s->secrets[at], (s->nsecrets - at) * sizeof *s->secrets);
    struct vs_secret *sec = &s->secrets[at];
    memset(sec, 0, sizeof *sec);
    sec->name = copy;
    sec->created = sec->rotated = now;
    sec->nversions = 1;
    sec->versions = v;
    s->nsecrets++;
    return 0;
}

int vs_store_rotate(struct vs_store *s, const char *name, const uint8_t *value, size_t len, uint64_t now,
                    unsigned keep)
{
    struct vs_secret *sec = vs_store_find(s, name);
    if (sec == NULL)
        return vs_fail(VS_ENOENT, "%s: no such secret", name);
    uint32_t current = sec->versions[sec->nversions - 1].version;
    if (current == UINT32_MAX)
        return vs_fail(VS_ETOOBIG, "%s: version counter exhausted", name);
    struct vs_version fresh;
    int rc = seal(s, name, current + 1, value, len, now, &fresh);
    if (rc != 0)
        return rc;
    if (keep == 0)
        keep = 1;
    if (keep > UINT16_MAX - 1)
        keep = UINT16_MAX - 1;
    size_t total = (size_t)sec->nversions + 1;
    size_t drop = total > keep ? total - keep : 0;
    struct vs_version *next = calloc(total - drop, sizeof *next);
    if (next == NULL) {
        free(fresh.ct);
        return vs_fail(VS_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < drop; i++)
        free(sec->versions[i].ct);
    memcpy(next, sec->versions + drop, (sec->nversions - drop) * sizeof *next);
    next[total - drop - 1] = fresh;
    free(sec->versions);
    sec->versions = next;
    sec->nversions = (uint16_t)(total - drop);
    sec->rotated = now;
    return 0;
}

int vs_store_remove(struct vs_store *s, const char *name)
{
    bool found;
    size_t at = search(s, name, &found);
    if (!found)
        return vs_fail(VS_ENOENT, "%s: no such secret", name);
    secret_release(s, &s->secrets[at]);
    memmove(&s->secrets[at], &s->secrets[at + 1], (s->nsecrets - at - 1) * sizeof *s->secrets);
    s->nsecrets--;
    return 0;
}

const char *vs_secret_reason(const struct vs_secret *sec)
{
    return sec->reason != NULL ? sec->reason : "";
}

int vs_secret_set_reason(struct vs_secret *sec, const char *reason)
{
    char *copy = NULL;
    if (reason != NULL && reason[0] != '\0') {
        size_t len = strnlen(reason, VS_REASON_MAX + 1);
        if (len > VS_REASON_MAX)
            return vs_fail(VS_ETOOBIG, "%s: reason over %d bytes", sec->name, VS_REASON_MAX);
        if (!printable(reason))
            return vs_fail(VS_EINVAL, "%s: reason has control characters", sec->name);
        if ((copy = strdup(reason)) == NULL)
            return vs_fail(VS_ENOMEM, "out of memory");
    }
    free(sec->reason);
    sec->reason = copy;
    return 0;
}

int vs_store_open_value(const struct vs_store *s, const struct vs_secret *sec, const struct vs_version *v,
                        uint8_t *out, size_t *out_len)
{
    uint8_t ad[AD_MAX];
    size_t ad_len = value_ad(ad, vs_store_id(s), sec->name, v->version);
    unsigned long long mlen = 0;
    if (v->ct_len <= TAG_BYTES || v->ct_len - TAG_BYTES > VS_VALUE_MAX ||
        crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, v->ct, v->ct_len, ad, ad_len, v->nonce,
                                                   s->keys->value) != 0)
        return vs_fail(VS_ECRYPTO, "%s: version %u fails authentication", sec->name, v->version);
    *out_len = (size_t)mlen;
    return 0;
}
