/* Regression tests for crashes found by tests/fuzz/fuzz_store.c.
 *
 * 1. A secret name with a NUL byte inside its length-prefixed bytes
 *    ("ab\0", name_len 3) was accepted and read as "ab": the parser checks
 *    the reason for an embedded NUL but not the name, so the store is not
 *    canonical (it re-serializes shorter, with a different MAC) and the name
 *    the MAC covered is not the name vaultd uses. Found as a round-trip
 *    mismatch (fuzz_store.c walk: serialize != input) after 47k execs.
 *
 * The tampered files are re-MACed with the data key (derived here exactly as
 * store.c does), so these tests exercise the record parser, not the MAC. */
#include "testutil.h"

#include "error.h"
#include "keywrap.h"
#include "store.h"

#include <sodium.h>

#define PREFIX 64
#define BODY (PREFIX + VS_WRAP_NONCE_BYTES + VS_WRAPPED_BYTES)
#define RECORDS (BODY + 8 + 8 + 4)
#define MAC 32

static uint8_t fake_keyfile[VS_KEYFILE_BYTES];
static struct vs_unlock unlock_kf = {VS_KDF_KEYFILE, fake_keyfile, sizeof fake_keyfile};

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    memset(fake_keyfile, 0x42, sizeof fake_keyfile);
    return 0;
}

/* Re-computes the store MAC of file under the fake key file. */
static void remac(uint8_t *file, size_t len)
{
    static const char ctx[crypto_kdf_CONTEXTBYTES] = {'v', 's', 'h', 'i', 'm', 'k', 'e', 'y'};
    uint8_t kek[32], data_key[32], mac_key[32];
    assert_int_equal(crypto_generichash(kek, sizeof kek, file + 48, VS_SALT_BYTES, fake_keyfile,
                                        sizeof fake_keyfile), 0);
    assert_int_equal(vs_unwrap_key(kek, file, PREFIX, file + PREFIX,
                                   file + PREFIX + VS_WRAP_NONCE_BYTES, data_key), 0);
    assert_int_equal(crypto_kdf_derive_from_key(mac_key, sizeof mac_key, 2, ctx, data_key), 0);
    assert_int_equal(crypto_generichash(file + len - MAC, MAC, file, len - MAC, mac_key,
                                        sizeof mac_key), 0);
}

static void store_name_with_nul_refused(void **state)
{
    (void)state;
    static const uint8_t fake[] = "FAKE-REGRESS-VALUE";
    struct vs_store *s = NULL;
    assert_int_equal(vs_store_create(&unlock_kf, VS_KDF_INTERACTIVE, &s), 0);
    assert_int_equal(vs_store_add(s, "ab", fake, sizeof fake - 1, 1700000000), 0);
    uint8_t *file = NULL;
    size_t len = 0;
    assert_int_equal(vs_store_serialize(s, &file, &len), 0);
    vs_store_free(s);
    assert_int_equal(file[RECORDS - 4], 1); /* nsecrets */
    assert_int_equal(file[RECORDS], 2);     /* name_len */
    assert_memory_equal(file + RECORDS + 1, "ab", 2);

    /* "ab" becomes the three bytes "ab\0" */
    uint8_t *bad = malloc(len + 1);
    assert_non_null(bad);
    memcpy(bad, file, RECORDS + 3);
    bad[RECORDS] = 3;
    bad[RECORDS + 3] = '\0';
    memcpy(bad + RECORDS + 4, file + RECORDS + 3, len - RECORDS - 3);
    remac(bad, len + 1);

    struct vs_store *t = NULL;
    int rc = vs_store_parse(bad, len + 1, &unlock_kf, &t);
    if (rc == 0) {
        /* show the symptom: the name read is not the bytes on disk */
        uint8_t *again = NULL;
        size_t again_len = 0;
        assert_int_equal(vs_store_serialize(t, &again, &again_len), 0);
        print_message("# parsed as \"%s\"; re-serialized %zu bytes from %zu\n",
                      vs_store_at(t, 0)->name, again_len, len + 1);
        free(again);
        vs_store_free(t);
    }
    assert_int_equal(rc, VS_ECORRUPT);
    assert_null(t);

    /* the untouched file still parses */
    assert_int_equal(vs_store_parse(file, len, &unlock_kf, &t), 0);
    vs_store_free(t);
    free(bad);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_name_with_nul_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
