/* The secret record's heap strings (store.h: name and reason are no longer
 * fixed arrays): the reason is set, cleared and persisted as before, keeps
 * the same limits, and a store written by the code with the inline arrays
 * (fixtures/store/format1-before-heap-strings.store, key file of 0x42
 * bytes, written by that code) opens and re-serialises byte for byte. */
#include "testutil.h"

#include "error.h"
#include "store.h"

#include <sodium.h>

static uint8_t key[32];
static struct vs_unlock unlock_k = {VS_KDF_KEYFILE, key, 32};
static char fixture[512];

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    memset(key, 0x42, sizeof key);
    /* The fixtures folder, from this file's path as the compiler saw it. */
    const char *me = __FILE__;
    const char *slash = strrchr(me, '/');
    int n = snprintf(fixture, sizeof fixture, "%.*sfixtures/store/format1-before-heap-strings.store",
                     slash != NULL ? (int)(slash - me + 1) : 0, me);
    return n < 0 || (size_t)n >= sizeof fixture ? -1 : 0;
}

static struct vs_store *store_of(const char *const *names, size_t n)
{
    struct vs_store *s = NULL;
    assert_int_equal(vs_store_create(&unlock_k, VS_KDF_MODERATE, &s), 0);
    for (size_t i = 0; i < n; i++) {
        char v[41];
        tu_fake_token(v, sizeof v, (unsigned)i + 1);
        assert_int_equal(vs_store_add(s, names[i], (const uint8_t *)v, strlen(v), 1000), 0);
    }
    return s;
}

/* Serialises s, frees it and parses the file back. */
static struct vs_store *reopen(struct vs_store *s)
{
    uint8_t *file = NULL;
    size_t len = 0;
    assert_int_equal(vs_store_serialize(s, &file, &len), 0);
    vs_store_free(s);
    struct vs_store *back = NULL;
    assert_int_equal(vs_store_parse(file, len, &unlock_k, &back), 0);
    free(file);
    return back;
}

static void reason_set_cleared_persisted(void **state)
{
    (void)state;
    static const char *const names[] = {"b_token", "a_token", "c_token"};
    struct vs_store *s = store_of(names, 3);
    struct vs_secret *sec = vs_store_find(s, "b_token");
    assert_non_null(sec);
    assert_null(sec->reason); /* nothing allocated for an empty reason */
    assert_string_equal(vs_secret_reason(sec), "");
    assert_int_equal(vs_secret_set_reason(sec, "leaked in a CI log"), 0);
    assert_int_equal(vs_secret_set_reason(sec, "leaked in a CI log, twice"), 0); /* replaces, no leak */
    s = reopen(s);
    sec = vs_store_find(s, "b_token");
    assert_non_null(sec);
    assert_string_equal(vs_secret_reason(sec), "leaked in a CI log, twice");
    assert_null(vs_store_find(s, "a_token")->reason);
    assert_null(vs_store_find(s, "c_token")->reason);
    assert_int_equal(vs_secret_set_reason(sec, ""), 0); /* "" clears */
    assert_null(sec->reason);
    assert_int_equal(vs_secret_set_reason(vs_store_find(s, "c_token"), "x"), 0);
    assert_int_equal(vs_secret_set_reason(vs_store_find(s, "c_token"), NULL), 0); /* NULL clears */
    s = reopen(s);
    for (size_t i = 0; i < vs_store_count(s); i++)
        assert_string_equal(vs_secret_reason(vs_store_at(s, i)), "");
    vs_store_free(s);
}

static void reason_limits_kept(void **state)
{
    (void)state;
    static const char *const names[] = {"gh_token"};
    struct vs_store *s = store_of(names, 1);
    struct vs_secret *sec = vs_store_find(s, "gh_token");
    char longest[VS_REASON_MAX + 2];
    memset(longest, 'r', sizeof longest);
    longest[VS_REASON_MAX] = '\0';
    assert_int_equal(vs_secret_set_reason(sec, longest), 0);
    longest[VS_REASON_MAX] = 'r';
    longest[VS_REASON_MAX + 1] = '\0';
    assert_int_equal(vs_secret_set_reason(sec, "kept"), 0);
    assert_int_equal(vs_secret_set_reason(sec, longest), VS_ETOOBIG); /* one byte over */
    assert_string_equal(vs_secret_reason(sec), "kept");                /* the old one stays */
    assert_int_equal(vs_secret_set_reason(sec, "line\nbreak"), VS_EINVAL);
    assert_int_equal(vs_secret_set_reason(sec, "del\x7f"), VS_EINVAL);
    assert_string_equal(vs_secret_reason(sec), "kept");
    longest[VS_REASON_MAX] = '\0';
    assert_int_equal(vs_secret_set_reason(sec, longest), 0);
    s = reopen(s);
    assert_string_equal(vs_secret_reason(vs_store_find(s, "gh_token")), longest);
    vs_store_free(s);
}

/* Names are owned per record: removing and adding around a secret keeps
 * every other name intact (ASan sees a double free or a leak). */
static void names_owned_through_remove_and_add(void **state)
{
    (void)state;
    static const char *const names[] = {"a_token", "m_token", "z_token"};
    struct vs_store *s = store_of(names, 3);
    assert_int_equal(vs_secret_set_reason(vs_store_find(s, "m_token"), "gone"), 0);
    assert_int_equal(vs_store_remove(s, "m_token"), 0);
    char v[41];
    tu_fake_token(v, sizeof v, 9);
    assert_int_equal(vs_store_add(s, "b_token", (const uint8_t *)v, strlen(v), 2000), 0);
    assert_int_equal(vs_store_add(s, "b_token", (const uint8_t *)v, strlen(v), 2000), VS_EEXIST);
    assert_int_equal(vs_store_count(s), 3);
    assert_string_equal(vs_store_at(s, 0)->name, "a_token");
    assert_string_equal(vs_store_at(s, 1)->name, "b_token");
    assert_string_equal(vs_store_at(s, 2)->name, "z_token");
    assert_null(vs_store_at(s, 1)->reason);
    s = reopen(s);
    assert_non_null(vs_store_find(s, "b_token"));
    assert_null(vs_store_find(s, "m_token"));
    vs_store_free(s);
}

/* Parsed names live in one block (store.c name_pool): removing a parsed
 * secret, adding one, and reloading a newer file (the block swapped, a
 * failed reload keeping the old one) leave every name readable and owned
 * once (ASan sees a bad free, a leak or a read after free). */
static void name_pool_through_edits_and_reload(void **state)
{
    (void)state;
    static const char *const names[] = {"a_token", "b_token", "c_token", "d_token"};
    struct vs_store *s = reopen(store_of(names, 4)); /* names now pooled */
    assert_int_equal(vs_store_remove(s, "b_token"), 0);
    char v[41];
    tu_fake_token(v, sizeof v, 7);
    assert_int_equal(vs_store_add(s, "bb_token", (const uint8_t *)v, strlen(v), 3000), 0);
    assert_int_equal(vs_store_rotate(s, "c_token", (const uint8_t *)v, strlen(v), 3001, 5), 0);
    vs_store_set_generation(s, 2);
    uint8_t *file = NULL;
    size_t len = 0;
    assert_int_equal(vs_store_serialize(s, &file, &len), 0);
    /* A second handle on the same vault reloads the newer file. */
    struct vs_store *other = NULL;
    assert_int_equal(vs_store_parse(file, len, &unlock_k, &other), 0);
    assert_int_equal(vs_store_remove(other, "a_token"), 0);
    assert_int_equal(vs_store_add(other, "zz_token", (const uint8_t *)v, strlen(v), 3002), 0);
    vs_store_set_generation(other, 3);
    uint8_t *newer = NULL;
    size_t newer_len = 0;
    assert_int_equal(vs_store_serialize(other, &newer, &newer_len), 0);
    assert_int_equal(vs_store_reload(s, newer, newer_len), 0);
    assert_int_equal(vs_store_count(s), 4);
    static const char *const want[] = {"bb_token", "c_token", "d_token", "zz_token"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(vs_store_at(s, i)->name, want[i]);
    assert_int_equal(vs_store_reload(s, file, len), VS_EROLLBACK); /* older: refused, s unchanged */
    assert_string_equal(vs_store_at(s, 3)->name, "zz_token");
    newer[newer_len - 1] ^= 1;
    assert_int_equal(vs_store_reload(s, newer, newer_len), VS_ECRYPTO);
    assert_string_equal(vs_store_at(s, 0)->name, "bb_token");
    free(file);
    free(newer);
    vs_store_free(other);
    vs_store_free(s);
}

/* A store written before this change opens: reason, flags, versions and
 * values as they were written, and it serialises to the same bytes. */
static void old_store_file_opens(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *file = tu_read_file(fixture, &len);
    assert_non_null(file);
    struct vs_store *s = NULL;
    assert_int_equal(vs_store_parse(file, len, &unlock_k, &s), 0);
    assert_int_equal(vs_store_count(s), 3);
    assert_int_equal(vs_store_generation(s), 9);
    assert_int_equal(vs_store_audit_seq(s), 3);
    struct vs_secret *npm = vs_store_find(s, "npm_token"), *gh = vs_store_find(s, "gh_token");
    assert_non_null(npm);
    assert_non_null(gh);
    assert_true((npm->flags & VS_SECRET_REVOKED) != 0);
    assert_int_equal(npm->revoked_at, 1700000200);
    assert_string_equal(vs_secret_reason(npm), "seen in a CI log");
    assert_null(gh->reason);
    assert_int_equal(gh->nversions, 2);
    uint8_t *out = sodium_malloc(VS_VALUE_MAX);
    assert_non_null(out);
    static const struct { const char *name; unsigned seed; } want[] = {
        {"aws_secret", 101}, {"gh_token", 104}, {"npm_token", 103}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct vs_secret *sec = vs_store_find(s, want[i].name);
        char expect[41];
        tu_fake_token(expect, sizeof expect, want[i].seed);
        size_t out_len = 0;
        assert_int_equal(vs_store_open_value(s, sec, &sec->versions[sec->nversions - 1], out, &out_len), 0);
        assert_int_equal(out_len, strlen(expect));
        assert_int_equal(sodium_memcmp(out, expect, out_len), 0);
    }
    sodium_free(out);
    uint8_t *again = NULL;
    size_t again_len = 0;
    assert_int_equal(vs_store_serialize(s, &again, &again_len), 0);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, file, len); /* same format, same MAC */
    free(again);
    vs_store_free(s);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reason_set_cleared_persisted),
        cmocka_unit_test(reason_limits_kept),
        cmocka_unit_test(names_owned_through_remove_and_add),
        cmocka_unit_test(name_pool_through_edits_and_reload),
        cmocka_unit_test(old_store_file_opens),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
