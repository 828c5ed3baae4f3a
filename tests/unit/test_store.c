#include "testutil.h"

#include "error.h"
#include "keywrap.h"
#include "store.h"

#include <sodium.h>

static uint8_t key_a[32], key_b[32];
static struct vs_unlock unlock_a = {VS_KDF_KEYFILE, key_a, 32};
static struct vs_unlock unlock_b = {VS_KDF_KEYFILE, key_b, 32};

#define NSECRETS 3
static const char *names[NSECRETS] = {"aws_secret", "gh_token", "npm_token"};
static char values[NSECRETS][41];

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(key_a, sizeof key_a);
    randombytes_buf(key_b, sizeof key_b);
    for (int i = 0; i < NSECRETS; i++)
        tu_fake_token(values[i], sizeof values[i], (unsigned)i + 1);
    return 0;
}

static struct vs_store *sample_store(void)
{
    struct vs_store *s = NULL;
    assert_int_equal(vs_store_create(&unlock_a, VS_KDF_MODERATE, &s), 0);
    for (int i = NSECRETS - 1; i >= 0; i--) /* out of order on purpose */
        assert_int_equal(vs_store_add(s, names[i], (const uint8_t *)values[i], strlen(values[i]), 1000), 0);
    vs_store_set_generation(s, 7);
    return s;
}

static uint8_t *sample_file(size_t *len)
{
    struct vs_store *s = sample_store();
    uint8_t *file = NULL;
    assert_int_equal(vs_store_serialize(s, &file, len), 0);
    vs_store_free(s);
    return file;
}

static void check_value(struct vs_store *s, const char *name, const char *want)
{
    struct vs_secret *sec = vs_store_find(s, name);
    assert_non_null(sec);
    uint8_t *out = sodium_malloc(VS_VALUE_MAX);
    size_t len = 0;
    assert_int_equal(vs_store_open_value(s, sec, &sec->versions[sec->nversions - 1], out, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_int_equal(sodium_memcmp(out, want, len), 0);
    sodium_free(out);
}

static void round_trip(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = sample_file(&len);
    struct vs_store *s = NULL;
    assert_int_equal(vs_store_parse(file, len, &unlock_a, &s), 0);
    assert_int_equal(vs_store_count(s), NSECRETS);
    assert_int_equal(vs_store_generation(s), 7);
    for (int i = 0; i < NSECRETS; i++) {
        assert_string_equal(vs_store_at(s, (size_t)i)->name, names[i]); /* sorted */
        check_value(s, names[i], values[i]);
    }
    /* No value is in the file in plaintext. */
    for (int i = 0; i < NSECRETS; i++)
        assert_null(memmem(file, len, values[i], strlen(values[i])));
    vs_store_free(s);
    free(file);
}

static void rotation_keeps_versions(void **state)
{
    (void)state;
    struct vs_store *s = sample_store();
    char next[41];
    for (unsigned v = 2; v <= 8; v++) {
        tu_fake_token(next, sizeof next, 100 + v);
        assert_int_equal(vs_store_rotate(s, "gh_token", (const uint8_t *)next, strlen(next), 2000 + v, 5), 0);
    }
    struct vs_secret *sec = vs_store_find(s, "gh_token");
    assert_int_equal(sec->nversions, 5);
    assert_int_equal(sec->versions[0].version, 4);
    assert_int_equal(sec->versions[4].version, 8);
    assert_int_equal(sec->rotated, 2008);
    check_value(s, "gh_token", next);
    /* Old versions still open. */
    uint8_t *out = sodium_malloc(VS_VALUE_MAX);
    size_t len;
    tu_fake_token(next, sizeof next, 104);
    assert_int_equal(vs_store_open_value(s, sec, &sec->versions[0], out, &len), 0);
    assert_int_equal(sodium_memcmp(out, next, len), 0);
    sodium_free(out);
    assert_int_equal(vs_store_rotate(s, "missing", (const uint8_t *)"x", 1, 1, 5), VS_ENOENT);
    assert_int_equal(vs_store_add(s, "gh_token", (const uint8_t *)"x", 1, 1), VS_EEXIST);
    assert_int_equal(vs_store_add(s, "new", (const uint8_t *)"", 0, 1), VS_EINVAL);
    assert_int_equal(vs_store_add(s, "bad name", (const uint8_t *)"x", 1, 1), VS_EINVAL);
    uint8_t *big = calloc(1, VS_VALUE_MAX + 1);
    assert_int_equal(vs_store_add(s, "big", big, VS_VALUE_MAX + 1, 1), VS_ETOOBIG);
    assert_int_equal(vs_store_add(s, "big", big, VS_VALUE_MAX, 1), 0);
    free(big);
    assert_int_equal(vs_store_remove(s, "aws_secret"), 0);
    assert_int_equal(vs_store_remove(s, "aws_secret"), VS_ENOENT);
    assert_null(vs_store_find(s, "aws_secret"));
    vs_store_free(s);
}

static void wrong_key_and_passphrase(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = sample_file(&len);
    struct vs_store *s = NULL;
    assert_int_equal(vs_store_parse(file, len, &unlock_b, &s), VS_ECRYPTO);
    assert_null(s);
    struct vs_unlock pass = {VS_KDF_PASSPHRASE, (const uint8_t *)"correct horse", 13};
    assert_int_equal(vs_store_parse(file, len, &pass, &s), VS_EINVAL); /* kind mismatch */
    free(file);

    /* A passphrase store (interactive limits keep the test fast). */
    assert_int_equal(vs_store_create(&pass, VS_KDF_INTERACTIVE, &s), 0);
    assert_int_equal(vs_store_add(s, "k", (const uint8_t *)"v1", 2, 1), 0);
    assert_int_equal(vs_store_serialize(s, &file, &len), 0);
    vs_store_free(s);
    s = NULL;
    struct vs_unlock wrong = {VS_KDF_PASSPHRASE, (const uint8_t *)"correct horsf", 13};
    assert_int_equal(vs_store_parse(file, len, &wrong, &s), VS_ECRYPTO);
    assert_int_equal(vs_store_parse(file, len, &pass, &s), 0);
    check_value(s, "k", "v1");
    enum vs_kdf_kind kind;
    assert_int_equal(vs_store_peek_kdf(file, len, &kind), 0);
    assert_int_equal(kind, VS_KDF_PASSPHRASE);
    vs_store_free(s);
    free(file);
}

/* Every single-bit flip anywhere in the file is refused, and nothing crashes. */
static void flipped_bytes_detected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = sample_file(&len);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            file[i] ^= (uint8_t)(1u << bit);
            struct vs_store *s = NULL;
            int rc = vs_store_parse(file, len, &unlock_a, &s);
            if (rc == 0)
                fail_msg("flip of bit %d at offset %zu went undetected", bit, i);
            assert_null(s);
            file[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(file);
}

static void truncation_detected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = sample_file(&len);
    for (size_t cut = 0; cut < len; cut++) {
        struct vs_store *s = NULL;
        assert_int_not_equal(vs_store_parse(file, cut, &unlock_a, &s), 0);
        assert_null(s);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, file, len);
    longer[len] = 0;
    struct vs_store *s = NULL;
    assert_int_not_equal(vs_store_parse(longer, len + 1, &unlock_a, &s), 0);
    free(longer);
    free(file);
}

/* Record boundaries per the layout in store.h, for byte-level surgery. */
#define RECORDS_AT (64 + 24 + 48 + 8 + 8 + 4)
static size_t record_len(const uint8_t *p)
{
    size_t at = 1 + p[0] + 8 * 3 + 4 + 4;
    size_t reason = (size_t)p[at] | (size_t)p[at + 1] << 8;
    at += 2 + reason;
    size_t nversions = (size_t)p[at] | (size_t)p[at + 1] << 8;
    at += 2;
    for (size_t v = 0; v < nversions; v++) {
        size_t ct = (size_t)p[at + 36] | (size_t)p[at + 37] << 8;
        at += 4 + 8 + 24 + 4 + ct;
    }
    return at;
}

static void check_refused(uint8_t *file, size_t len)
{
    struct vs_store *s = NULL;
    assert_int_not_equal(vs_store_parse(file, len, &unlock_a, &s), 0);
    assert_null(s);
}

/* Without the MAC key (the agent's position) records cannot be deleted,
 * duplicated or reordered. */
static void record_surgery_detected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = sample_file(&len);
    size_t r0 = RECORDS_AT, l0 = record_len(file + r0), l1 = record_len(file + r0 + l0);
    size_t body_end = len - 32;
    assert_int_equal(r0 + l0 + l1 + record_len(file + r0 + l0 + l1), body_end);
    uint8_t *edit = malloc(len + l0);

    /* delete record 0 and fix the count */
    memcpy(edit, file, r0);
    memcpy(edit + r0, file + r0 + l0, len - r0 - l0);
    edit[RECORDS_AT - 4] = NSECRETS - 1;
    check_refused(edit, len - l0);

    /* duplicate record 0 */
    memcpy(edit, file, r0 + l0);
    memcpy(edit + r0 + l0, file + r0, len - r0);
    edit[RECORDS_AT - 4] = NSECRETS + 1;
    check_refused(edit, len + l0);

    /* swap records 0 and 1 */
    memcpy(edit, file, len);
    memcpy(edit + r0, file + r0 + l0, l1);
    memcpy(edit + r0 + l1, file + r0, l0);
    check_refused(edit, len);

    /* MAC of another store file spliced on */
    size_t other_len;
    uint8_t *other = sample_file(&other_len);
    memcpy(edit, file, len - 32);
    memcpy(edit + len - 32, other + other_len - 32, 32);
    check_refused(edit, len);
    free(other);
    free(edit);
    free(file);
}

/* Even a writer holding the MAC key cannot swap, rename or re-version a
 * ciphertext: the associated data binds store id, name and version. */
static void associated_data_binds_records(void **state)
{
    (void)state;
    struct vs_store *s = sample_store();
    struct vs_secret *a = vs_store_find(s, "aws_secret"), *g = vs_store_find(s, "gh_token");
    struct vs_version tmp = a->versions[0];
    a->versions[0] = g->versions[0];
    g->versions[0] = tmp;
    uint8_t *out = sodium_malloc(VS_VALUE_MAX);
    size_t len;
    assert_int_equal(vs_store_open_value(s, a, &a->versions[0], out, &len), VS_ECRYPTO);
    assert_int_equal(vs_store_open_value(s, g, &g->versions[0], out, &len), VS_ECRYPTO);
    g->versions[0] = a->versions[0];
    a->versions[0] = tmp;
    a->versions[0].version = 2;
    assert_int_equal(vs_store_open_value(s, a, &a->versions[0], out, &len), VS_ECRYPTO);
    a->versions[0].version = 1;
    assert_int_equal(vs_store_open_value(s, a, &a->versions[0], out, &len), 0);
    memcpy(a->name, "aws_secreu", 11); /* a rename */
    assert_int_equal(vs_store_open_value(s, a, &a->versions[0], out, &len), VS_ECRYPTO);
    memcpy(a->name, "aws_secret", 11);

    /* A record moved into another store (another id) does not open. */
    struct vs_store *t = sample_store();
    struct vs_secret *ta = vs_store_find(t, "aws_secret");
    assert_int_equal(vs_store_open_value(t, ta, &a->versions[0], out, &len), VS_ECRYPTO);
    sodium_free(out);
    vs_store_free(t);
    vs_store_free(s);
}

static void tampered_kdf_parameters_bounded(void **state)
{
    (void)state;
    struct vs_kdf_params p;
    assert_int_equal(vs_kdf_params_new(VS_KDF_PASSPHRASE, VS_KDF_SENSITIVE, &p), 0);
    assert_int_equal(vs_kdf_params_check(&p), 0);
    p.memlimit = (uint64_t)1 << 40;
    assert_int_equal(vs_kdf_params_check(&p), VS_ECORRUPT);
    p.memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    p.opslimit = 1000000;
    assert_int_equal(vs_kdf_params_check(&p), VS_ECORRUPT);
    p.kind = 9;
    assert_int_equal(vs_kdf_params_check(&p), VS_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(rotation_keeps_versions),
        cmocka_unit_test(wrong_key_and_passphrase),
        cmocka_unit_test(flipped_bytes_detected),
        cmocka_unit_test(truncation_detected),
        cmocka_unit_test(record_surgery_detected),
        cmocka_unit_test(associated_data_binds_records),
        cmocka_unit_test(tampered_kdf_parameters_bounded),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
