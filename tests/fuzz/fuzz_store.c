/* libFuzzer target for the store file parser (vaultd/core/store.c).
 *
 * Every input is parsed as it is with vs_store_parse, unlocked with a fixed
 * fake key file. A random input rarely passes the header MAC, so when the
 * header unwraps with that key file the target also re-computes the MAC
 * over the input (as the store does: BLAKE2b keyed with the data key's
 * SUBKEY_STORE_MAC subkey) and patches it in, so that mutations reach the
 * record parser. An accepted store is walked (every version opened into a
 * VS_VALUE_MAX buffer), must re-serialize to the same bytes (the format is
 * canonical), and its records are grafted behind a fixed base store's
 * header and fed to vs_store_reload.
 *
 * Built by tests/fuzz/fuzz.mk; by hand:
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Icommon \
 *     -Ivaultd/core tests/fuzz/fuzz_store.c common/[a-z]*.c vaultd/core/[a-z]*.c \
 *     $(pkg-config --cflags --libs libsodium libconfig) -o /tmp/fuzz_store
 *
 * Seeds (valid stores with fake values, written by this file):
 *
 *   cc -std=c11 -D_GNU_SOURCE -Icommon -Ivaultd/core -DVS_FUZZ_WRITE_SEEDS \
 *     tests/fuzz/fuzz_store.c common/[a-z]*.c vaultd/core/[a-z]*.c \
 *     $(pkg-config --cflags --libs libsodium libconfig) -o /tmp/store_seeds
 *   /tmp/store_seeds tests/fuzz/corpus/store */
#include "error.h"
#include "keywrap.h"
#include "store.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define PREFIX 64
#define BODY (PREFIX + VS_WRAP_NONCE_BYTES + VS_WRAPPED_BYTES)
#define MAC 32
static const char KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = {'v', 's', 'h', 'i', 'm', 'k', 'e', 'y'};

static uint8_t fake_keyfile[VS_KEYFILE_BYTES];
static struct vs_unlock unlock_kf = {VS_KDF_KEYFILE, fake_keyfile, sizeof fake_keyfile};
static uint8_t *base;    /* a valid serialized store with no secrets */
static size_t base_len;
static uint8_t base_mackey[32];

#include <stdio.h>

static void fail(int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
    abort();
}
#define check(c) ((c) ? (void)0 : fail(__LINE__, #c))

/* The store-MAC key of file's header under the fake key file, or -1. */
static int mac_key(const uint8_t *file, size_t len, uint8_t key[32])
{
    if (len < BODY + 8 + 8 + 4 + MAC || file[28] != VS_KDF_KEYFILE)
        return -1;
    uint8_t kek[32], data_key[32];
    if (crypto_generichash(kek, sizeof kek, file + 48, VS_SALT_BYTES, fake_keyfile,
                           sizeof fake_keyfile) != 0)
        return -1;
    if (vs_unwrap_key(kek, file, PREFIX, file + PREFIX, file + PREFIX + VS_WRAP_NONCE_BYTES,
                      data_key) != 0)
        return -1;
    return crypto_kdf_derive_from_key(key, 32, 2, KDF_CONTEXT, data_key);
}

static void fix_mac(uint8_t *file, size_t len, const uint8_t key[32])
{
    crypto_generichash(file + len - MAC, MAC, file, len - MAC, key, 32);
}

static void walk(struct vs_store *s, const uint8_t *file, size_t len)
{
    static uint8_t value[VS_VALUE_MAX];
    (void)vs_store_generation(s);
    (void)vs_store_audit_seq(s);
    (void)vs_store_id(s);
    (void)vs_store_audit_key(s);
    size_t n = vs_store_count(s);
    for (size_t i = 0; i < n; i++) {
        struct vs_secret *sec = vs_store_at(s, i);
        check(sec != NULL && vs_store_find(s, sec->name) == sec);
        check(strlen(vs_secret_reason(sec)) <= VS_REASON_MAX);
        for (uint16_t k = 0; k < sec->nversions; k++) {
            size_t vlen = 0;
            if (vs_store_open_value(s, sec, &sec->versions[k], value, &vlen) == 0)
                check(vlen <= VS_VALUE_MAX);
        }
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    check(vs_store_serialize(s, &out, &out_len) == 0);
    check(out_len == len && memcmp(out, file, len) == 0);
    free(out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    check(sodium_init() >= 0);
    memset(fake_keyfile, 0x42, sizeof fake_keyfile);
    struct vs_store *s = NULL;
    check(vs_store_create(&unlock_kf, VS_KDF_INTERACTIVE, &s) == 0);
    check(vs_store_serialize(s, &base, &base_len) == 0);
    vs_store_free(s);
    check(mac_key(base, base_len, base_mackey) == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    struct vs_store *s = NULL;
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    if (vs_store_parse(copy, size, &unlock_kf, &s) == 0) {
        walk(s, copy, size);
        vs_store_free(s);
    }
    uint8_t key[32];
    if (mac_key(copy, size, key) == 0) {
        fix_mac(copy, size, key);
        if (vs_store_parse(copy, size, &unlock_kf, &s) == 0) {
            walk(s, copy, size);
            vs_store_free(s);
        }
        /* the same records behind the base store's header, for reload */
        size_t glen = BODY + (size - BODY);
        uint8_t *graft = malloc(glen);
        memcpy(graft, base, BODY);
        memcpy(graft + BODY, copy + BODY, size - BODY);
        fix_mac(graft, glen, base_mackey);
        struct vs_store *b = NULL;
        check(vs_store_parse(base, base_len, &unlock_kf, &b) == 0);
        if (vs_store_reload(b, graft, glen) == 0)
            walk(b, graft, glen);
        vs_store_free(b);
        free(graft);
    }
    free(copy);
    return 0;
}

#ifdef VS_FUZZ_WRITE_SEEDS
#include <stdio.h>

static int write_seed(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int seed(const char *dir, const char *name, struct vs_store *s)
{
    uint8_t *out;
    size_t len;
    if (vs_store_serialize(s, &out, &len) != 0)
        return 1;
    int rc = write_seed(dir, name, out, len);
    /* the seed must parse with the fuzzer's key file */
    struct vs_store *t = NULL;
    rc |= vs_store_parse(out, len, &unlock_kf, &t) != 0;
    vs_store_free(t);
    free(out);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    const char *dir = argv[1];
    int bad = 0;
    struct vs_store *s = NULL;
    bad |= vs_store_create(&unlock_kf, VS_KDF_INTERACTIVE, &s) != 0;
    bad |= seed(dir, "empty", s);
    static const uint8_t v1[] = "FAKE-TOKEN-1", v2[] = "FAKE-TOKEN-2-rotated",
                         v3[] = "fake\x00binary\xff", v4[] = "x";
    bad |= vs_store_add(s, "gh_token", v1, sizeof v1 - 1, 1700000000) != 0;
    bad |= seed(dir, "one", s);
    bad |= vs_store_add(s, "aws_secret", v3, sizeof v3 - 1, 1700000100) != 0;
    bad |= vs_store_add(s, "npm_token", v4, sizeof v4 - 1, 1700000200) != 0;
    bad |= vs_store_rotate(s, "gh_token", v2, sizeof v2 - 1, 1700000300, 5) != 0;
    bad |= vs_store_rotate(s, "gh_token", v4, sizeof v4 - 1, 1700000400, 5) != 0;
    struct vs_secret *sec = vs_store_find(s, "npm_token");
    if (sec != NULL) {
        sec->flags |= VS_SECRET_REVOKED;
        sec->revoked_at = 1700000500;
        bad |= vs_secret_set_reason(sec, "seen in a fake CI log") != 0;
    }
    vs_store_set_generation(s, 7);
    vs_store_set_audit_seq(s, 42);
    bad |= seed(dir, "several", s);
    vs_store_free(s);
    return bad != 0;
}
#endif
