#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Values here are fake, and still never printed: byte comparisons go
 * through memcmp inside assert_true, never assert_memory_equal. */
#define assert_bytes(a, b, n) assert_true(memcmp((a), (b), (n)) == 0)

static const uint8_t all_ops[] = {
    VS_OP_GRANTS, VS_OP_CONFIRM, VS_OP_RENDER_FILE, VS_OP_STATUS, VS_OP_UNLOCK, VS_OP_LOCK,
    VS_OP_RELOAD, VS_OP_PING,    VS_OP_OK,          VS_OP_ERROR,  VS_OP_GRANT_LIST,
    VS_OP_MEDIATE, VS_OP_EXEC_DONE, VS_OP_PENDING, VS_OP_APPROVE, VS_OP_DENY,
};
#define NOPS (sizeof all_ops / sizeof all_ops[0])

static const char fake_value1[] = "fake-secret-value-1";
static const uint8_t fake_value2[] = {0x00, 0xff, 0x10, 'x', 0x00}; /* VALUE is bytes */
static const uint8_t fake_file[] = {'/', '/', 'r', 'e', 'g', '\n', 0x00, 0x01};
static const char fake_pass[] = "fake passphrase";

static uint8_t scratch[VS_PROTO_MAX_FRAME + 64];

/* A malloc'd copy of exactly len bytes, so ASan sees any read past it. */
static uint8_t *exact_copy(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len != 0 ? len : 1);
    assert_non_null(c);
    if (len != 0)
        memcpy(c, p, len);
    return c;
}

/* Decodes a copy and expects a refusal with a detail line naming it. */
static void expect_refused(const uint8_t *frame, size_t len, int code, const char *detail)
{
    static struct vs_msg m;
    uint8_t *c = exact_copy(frame, len);
    vs_clear_error();
    m.nfields = 99;
    int rc = vs_msg_decode(c, len, &m);
    free(c);
    assert_int_equal(rc, code);
    assert_int_equal(m.nfields, 0);
    assert_non_null(strstr(vs_last_error(code), detail));
}

static int decode_copy(const uint8_t *frame, size_t len)
{
    static struct vs_msg m;
    uint8_t *c = exact_copy(frame, len);
    int rc = vs_msg_decode(c, len, &m);
    free(c);
    return rc;
}

static size_t raw_header(uint8_t *b, uint8_t version, uint8_t op, uint16_t reserved, uint32_t id)
{
    b[0] = version;
    b[1] = op;
    b[2] = (uint8_t)reserved;
    b[3] = (uint8_t)(reserved >> 8);
    for (int i = 0; i < 4; i++)
        b[4 + i] = (uint8_t)(id >> (8 * i));
    return VS_PROTO_HEADER;
}

/* Appends a field whose length on the wire may differ from the n bytes
 * actually written. */
static size_t raw_field(uint8_t *b, size_t at, uint16_t type, uint32_t wire_len, const void *data,
                        size_t n)
{
    b[at] = (uint8_t)type;
    b[at + 1] = (uint8_t)(type >> 8);
    for (int i = 0; i < 4; i++)
        b[at + 2 + i] = (uint8_t)(wire_len >> (8 * i));
    if (n != 0)
        memcpy(b + at + 6, data, n);
    return at + 6 + n;
}

static size_t raw_u32(uint8_t *b, size_t at, uint16_t type, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return raw_field(b, at, type, 4, le, 4);
}

/* A representative frame for op carrying every field the op takes. */
static int build_op(uint8_t op, uint8_t *buf, size_t cap, size_t *len)
{
    struct vs_msg_writer w;
    vs_msg_begin(&w, buf, cap, op, 0x11223344u + op);
    switch (op) {
    case VS_OP_GRANTS:
        vs_msg_put_str(&w, VS_F_AGENT, "claude");
        vs_msg_put_str(&w, VS_F_SESSION, "s-42");
        vs_msg_put_u32(&w, VS_F_ONE_STEP, 1);
        vs_msg_put_u32(&w, VS_F_WITH_FILES, 1);
        break;
    case VS_OP_CONFIRM:
        vs_msg_put_u32(&w, VS_F_WITH_FILES, 1);
        break;
    case VS_OP_RENDER_FILE:
        vs_msg_put_str(&w, VS_F_PATH, "/home/u/.npmrc");
        break;
    case VS_OP_UNLOCK:
    case VS_OP_RELOAD:
        vs_msg_put_bytes(&w, VS_F_PASSPHRASE, fake_pass, strlen(fake_pass));
        break;
    case VS_OP_MEDIATE:
        vs_msg_put_u32(&w, VS_F_EXEC_FD, 3);
        vs_msg_put_str(&w, VS_F_AGENT, "claude");
        break;
    case VS_OP_EXEC_DONE:
        vs_msg_put_u32(&w, VS_F_EXIT_STATUS, 130);
        vs_msg_put_u32(&w, VS_F_DURATION_MS, 1234);
        break;
    case VS_OP_APPROVE:
        vs_msg_put_u32(&w, VS_F_REQ_ID, 7);
        vs_msg_put_u32(&w, VS_F_FOR_SECONDS, 900);
        vs_msg_put_u32(&w, VS_F_USES, 3);
        vs_msg_put_bytes(&w, VS_F_PASSPHRASE, fake_pass, strlen(fake_pass));
        break;
    case VS_OP_DENY:
        vs_msg_put_u32(&w, VS_F_REQ_ID, 7);
        break;
    case VS_OP_OK:
        vs_msg_put_u32(&w, VS_F_RUN_FLAGS, VS_RUN_MASK);
        vs_msg_put_str(&w, VS_F_PATH, "/home/u/.netrc");
        vs_msg_put_bytes(&w, VS_F_FILE_DATA, fake_file, sizeof fake_file);
        vs_msg_put_u32(&w, VS_F_COUNT, 3);
        vs_msg_put_u32(&w, VS_F_VERSION, 0xfffffffeu);
        vs_msg_put_str(&w, VS_F_SESSION, "s-42");
        vs_msg_put_str(&w, VS_F_STATUS_TEXT, "unlocked, 3 secrets");
        break;
    case VS_OP_ERROR:
        vs_msg_put_u32(&w, VS_F_ERRCODE, (uint32_t)-VS_EDENIED);
        vs_msg_put_str(&w, VS_F_REASON, "caller refused: traced");
        break;
    case VS_OP_GRANT_LIST:
        vs_msg_put_grant(&w, "GH_TOKEN", fake_value1, strlen(fake_value1), 3);
        vs_msg_put_str(&w, VS_F_PATH, "/home/u/.npmrc");
        vs_msg_put_grant(&w, "AWS_SECRET_ACCESS_KEY", fake_value2, sizeof fake_value2, 9);
        vs_msg_put_grant(&w, "EMPTY", "", 0, 0);
        vs_msg_put_str(&w, VS_F_PATH, "/home/u/.netrc");
        break;
    default:
        break;
    }
    return vs_msg_finish(&w, len);
}

static void check_str(const struct vs_msg *m, uint16_t type, const char *want)
{
    char got[256];
    assert_int_equal(vs_msg_get_str(m, type, got, sizeof got), 0);
    assert_true(strcmp(got, want) == 0);
}

static void check_op(const struct vs_msg *m)
{
    const uint8_t *p;
    size_t n, cur = 0;
    uint32_t v;
    char reason[64];
    int code;
    struct vs_grant_ref g;
    const struct vs_field_ref *f;
    switch (m->op) {
    case VS_OP_GRANTS:
        check_str(m, VS_F_AGENT, "claude");
        check_str(m, VS_F_SESSION, "s-42");
        assert_int_equal(vs_msg_get_u32(m, VS_F_ONE_STEP, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(vs_msg_get_u32(m, VS_F_WITH_FILES, &v), 0);
        assert_int_equal(v, 1);
        break;
    case VS_OP_CONFIRM:
        assert_int_equal(vs_msg_get_u32(m, VS_F_WITH_FILES, &v), 0);
        assert_int_equal(v, 1);
        break;
    case VS_OP_RENDER_FILE:
        check_str(m, VS_F_PATH, "/home/u/.npmrc");
        break;
    case VS_OP_UNLOCK:
    case VS_OP_RELOAD:
        assert_int_equal(vs_msg_get_bytes(m, VS_F_PASSPHRASE, &p, &n), 0);
        assert_int_equal(n, strlen(fake_pass));
        assert_bytes(p, fake_pass, n);
        break;
    case VS_OP_MEDIATE:
        assert_int_equal(vs_msg_get_u32(m, VS_F_EXEC_FD, &v), 0);
        assert_int_equal(v, 3);
        check_str(m, VS_F_AGENT, "claude");
        break;
    case VS_OP_EXEC_DONE:
        assert_int_equal(vs_msg_get_u32(m, VS_F_EXIT_STATUS, &v), 0);
        assert_int_equal(v, 130);
        assert_int_equal(vs_msg_get_u32(m, VS_F_DURATION_MS, &v), 0);
        assert_int_equal(v, 1234);
        break;
    case VS_OP_APPROVE:
        assert_int_equal(vs_msg_get_u32(m, VS_F_USES, &v), 0);
        assert_int_equal(v, 3);
        assert_int_equal(vs_msg_get_u32(m, VS_F_FOR_SECONDS, &v), 0);
        assert_int_equal(v, 900);
        /* fall through: REQ_ID as for DENY */
    case VS_OP_DENY:
        assert_int_equal(vs_msg_get_u32(m, VS_F_REQ_ID, &v), 0);
        assert_int_equal(v, 7);
        break;
    case VS_OP_OK:
        assert_int_equal(vs_msg_get_u32(m, VS_F_RUN_FLAGS, &v), 0);
        assert_int_equal(v, VS_RUN_MASK);
        check_str(m, VS_F_PATH, "/home/u/.netrc");
        assert_int_equal(vs_msg_get_bytes(m, VS_F_FILE_DATA, &p, &n), 0);
        assert_int_equal(n, sizeof fake_file);
        assert_bytes(p, fake_file, n);
        assert_int_equal(vs_msg_get_u32(m, VS_F_COUNT, &v), 0);
        assert_int_equal(v, 3);
        assert_int_equal(vs_msg_get_u32(m, VS_F_VERSION, &v), 0);
        assert_int_equal(v, 0xfffffffeu);
        check_str(m, VS_F_SESSION, "s-42");
        check_str(m, VS_F_STATUS_TEXT, "unlocked, 3 secrets");
        break;
    case VS_OP_ERROR:
        assert_int_equal(vs_msg_get_error(m, &code, reason, sizeof reason), 0);
        assert_int_equal(code, VS_EDENIED);
        assert_true(strcmp(reason, "caller refused: traced") == 0);
        break;
    case VS_OP_GRANT_LIST:
        assert_int_equal(vs_msg_next_grant(m, &cur, &g), 0);
        assert_int_equal(g.name->len, 8);
        assert_bytes(g.name->data, "GH_TOKEN", 8);
        assert_int_equal(g.value->len, strlen(fake_value1));
        assert_bytes(g.value->data, fake_value1, g.value->len);
        assert_int_equal(g.version, 3);
        assert_int_equal(vs_msg_next_grant(m, &cur, &g), 0);
        assert_int_equal(g.value->len, sizeof fake_value2);
        assert_bytes(g.value->data, fake_value2, sizeof fake_value2);
        assert_int_equal(g.version, 9);
        assert_int_equal(vs_msg_next_grant(m, &cur, &g), 0);
        assert_int_equal(g.value->len, 0);
        assert_int_equal(g.version, 0);
        assert_int_equal(vs_msg_next_grant(m, &cur, &g), VS_ENOENT);
        cur = 0;
        assert_int_equal(vs_msg_next(m, VS_F_PATH, &cur, &f), 0);
        assert_int_equal(f->len, strlen("/home/u/.npmrc"));
        assert_int_equal(vs_msg_next(m, VS_F_PATH, &cur, &f), 0);
        assert_bytes(f->data, "/home/u/.netrc", f->len);
        assert_int_equal(vs_msg_next(m, VS_F_PATH, &cur, &f), VS_ENOENT);
        assert_null(f);
        /* repeated fields are for the iterators, not the single getters */
        assert_int_equal(vs_msg_get_u32(m, VS_F_VERSION, &v), VS_EPROTO);
        break;
    default:
        assert_int_equal(m->nfields, 0);
        break;
    }
}

/* Re-encodes a decoded message field by field: the encoding is canonical. */
static void reencode_same(const struct vs_msg *m, const uint8_t *frame, size_t len)
{
    static uint8_t out[VS_PROTO_MAX_FRAME];
    struct vs_msg_writer w;
    size_t olen;
    vs_msg_begin(&w, out, sizeof out, m->op, m->id);
    for (size_t i = 0; i < m->nfields; i++)
        vs_msg_put_bytes(&w, m->fields[i].type, m->fields[i].data, m->fields[i].len);
    assert_int_equal(vs_msg_finish(&w, &olen), 0);
    assert_int_equal(olen, len);
    assert_bytes(out, frame, len);
}

static void numbers_and_names(void **state)
{
    (void)state;
    /* Wire numbers are frozen: a change here breaks deployed peers. */
    assert_int_equal(VS_OP_GRANTS, 0x01);
    assert_int_equal(VS_OP_CONFIRM, 0x02);
    assert_int_equal(VS_OP_RENDER_FILE, 0x03);
    assert_int_equal(VS_OP_STATUS, 0x04);
    assert_int_equal(VS_OP_UNLOCK, 0x05);
    assert_int_equal(VS_OP_LOCK, 0x06);
    assert_int_equal(VS_OP_RELOAD, 0x07);
    assert_int_equal(VS_OP_PING, 0x08);
    assert_int_equal(VS_OP_OK, 0x80);
    assert_int_equal(VS_OP_ERROR, 0x81);
    assert_int_equal(VS_OP_GRANT_LIST, 0x82);
    assert_int_equal(VS_F_NAME, 1);
    assert_int_equal(VS_F_STATUS_TEXT, 12);
    assert_int_equal(VS_OP_MEDIATE, 0x09);
    assert_int_equal(VS_OP_DENY, 0x0d);
    assert_int_equal(VS_F_EXEC_FD, 13);
    assert_int_equal(VS_F_RUN_FLAGS, 19);
    assert_int_equal(VS_F_ONE_STEP, 24);
    assert_int_equal(VS_F_WITH_FILES, 25);
    assert_true(strcmp(vs_field_name(VS_F_WITH_FILES), "WITH_FILES") == 0);
    assert_true(strcmp(vs_op_name(VS_OP_GRANTS), "GRANTS") == 0);
    assert_true(strcmp(vs_op_name(VS_OP_GRANT_LIST), "GRANT_LIST") == 0);
    assert_true(strcmp(vs_op_name(0), "unknown") == 0);
    assert_true(strcmp(vs_op_name(0x1234), "unknown") == 0);
    assert_true(strcmp(vs_field_name(VS_F_PASSPHRASE), "PASSPHRASE") == 0);
    assert_true(strcmp(vs_field_name(31), "unknown") == 0);
    for (size_t i = 0; i < NOPS; i++) {
        assert_true(strcmp(vs_op_name(all_ops[i]), "unknown") != 0);
        assert_int_equal(vs_op_is_request(all_ops[i]), all_ops[i] < 0x80);
    }
    for (unsigned t = 1; t <= 19; t++)
        assert_true(strcmp(vs_field_name(t), "unknown") != 0);
    /* Every name in the tables ends inside its array (proto.h). */
    for (unsigned op = 0; op < 256; op++)
        assert_non_null(memchr(vs_op_name(op), '\0', VS_OP_NAME_SIZE));
    for (unsigned t = 0; t < 64; t++)
        assert_non_null(memchr(vs_field_name(t), '\0', VS_FIELD_NAME_SIZE));
    assert_false(vs_op_is_request(0));
    assert_false(vs_op_is_request(0x20));
}

static void round_trip_every_op(void **state)
{
    (void)state;
    static struct vs_msg m;
    for (size_t i = 0; i < NOPS; i++) {
        size_t len;
        assert_int_equal(build_op(all_ops[i], scratch, sizeof scratch, &len), 0);
        uint8_t *frame = exact_copy(scratch, len);
        assert_int_equal(vs_msg_decode(frame, len, &m), 0);
        assert_int_equal(m.version, VS_PROTO_VERSION);
        assert_int_equal(m.op, all_ops[i]);
        assert_int_equal(m.id, 0x11223344u + all_ops[i]);
        for (size_t k = 0; k < m.nfields; k++) /* pointers into the frame, no copy */
            assert_true(m.fields[k].data >= frame &&
                        m.fields[k].data + m.fields[k].len <= frame + len);
        check_op(&m);
        reencode_same(&m, frame, len);
        free(frame);
    }
}

static void header_refusals(void **state)
{
    (void)state;
    uint8_t b[16];
    raw_header(b, 1, VS_OP_PING, 0, 7);
    assert_int_equal(decode_copy(b, 8), 0);
    expect_refused(b, 0, VS_EPROTO, "empty frame");
    for (size_t n = 1; n < VS_PROTO_HEADER; n++)
        expect_refused(b, n, VS_EPROTO, "shorter than the 8-byte header");
    static const uint8_t versions[] = {0, 2, 0xff};
    for (size_t i = 0; i < sizeof versions; i++) {
        raw_header(b, versions[i], VS_OP_PING, 0, 7);
        expect_refused(b, 8, VS_EPROTO, "protocol version");
    }
    static const uint8_t bad_ops[] = {0, 0x20, 0x7f, 0x83, 0xff};
    for (size_t i = 0; i < sizeof bad_ops; i++) {
        raw_header(b, 1, bad_ops[i], 0, 7);
        expect_refused(b, 8, VS_EPROTO, "unknown op");
    }
    for (int bit = 0; bit < 16; bit++) {
        raw_header(b, 1, VS_OP_PING, (uint16_t)(1u << bit), 7);
        expect_refused(b, 8, VS_EPROTO, "reserved header bits");
    }
    assert_int_equal(vs_msg_decode(NULL, 0, NULL), VS_EINVAL);
    static struct vs_msg m;
    assert_int_equal(vs_msg_decode(NULL, 8, &m), VS_EINVAL);
}

static void field_refusals(void **state)
{
    (void)state;
    uint8_t *b = scratch;
    size_t at;
    static const uint16_t bad_types[] = {0, 31, 0x100, 0xffff};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        at = raw_header(b, 1, VS_OP_OK, 0, 1);
        at = raw_field(b, at, bad_types[i], 1, "x", 1);
        expect_refused(b, at, VS_EPROTO, "unknown field type");
    }
    /* a known field the op does not take */
    at = raw_header(b, 1, VS_OP_PING, 0, 1);
    at = raw_field(b, at, VS_F_VALUE, 1, "x", 1);
    expect_refused(b, at, VS_EPROTO, "field VALUE not allowed");
    at = raw_header(b, 1, VS_OP_GRANTS, 0, 1);
    at = raw_field(b, at, VS_F_PASSPHRASE, 1, "x", 1);
    expect_refused(b, at, VS_EPROTO, "not allowed");
    /* WITH_FILES belongs to the requests that grant, nowhere else */
    at = raw_header(b, 1, VS_OP_RENDER_FILE, 0, 1);
    at = raw_field(b, at, VS_F_PATH, 2, "/a", 2);
    at = raw_u32(b, at, VS_F_WITH_FILES, 1);
    expect_refused(b, at, VS_EPROTO, "field WITH_FILES not allowed");
    at = raw_header(b, 1, VS_OP_CONFIRM, 0, 1);
    at = raw_u32(b, at, VS_F_WITH_FILES, 1);
    at = raw_u32(b, at, VS_F_WITH_FILES, 1);
    expect_refused(b, at, VS_EPROTO, "duplicate field WITH_FILES");
    /* duplicates of a non-repeatable field */
    at = raw_header(b, 1, VS_OP_RENDER_FILE, 0, 1);
    at = raw_field(b, at, VS_F_PATH, 2, "/a", 2);
    at = raw_field(b, at, VS_F_PATH, 2, "/b", 2);
    expect_refused(b, at, VS_EPROTO, "duplicate field PATH");
    at = raw_header(b, 1, VS_OP_ERROR, 0, 1);
    at = raw_u32(b, at, VS_F_ERRCODE, 14);
    at = raw_u32(b, at, VS_F_ERRCODE, 14);
    expect_refused(b, at, VS_EPROTO, "duplicate field ERRCODE");
    /* missing required fields */
    raw_header(b, 1, VS_OP_RENDER_FILE, 0, 1);
    expect_refused(b, 8, VS_EPROTO, "missing required field PATH");
    at = raw_header(b, 1, VS_OP_ERROR, 0, 1);
    at = raw_field(b, at, VS_F_REASON, 1, "x", 1);
    expect_refused(b, at, VS_EPROTO, "missing required field ERRCODE");
    /* trailing bytes too few for a field header */
    for (size_t extra = 1; extra < VS_PROTO_FIELD_HEADER; extra++) {
        at = raw_header(b, 1, VS_OP_RENDER_FILE, 0, 1);
        at = raw_field(b, at, VS_F_PATH, 2, "/a", 2);
        memset(b + at, 0, extra);
        expect_refused(b, at + extra, VS_EPROTO, "trailing bytes");
    }
    /* a field running past the end */
    static const uint32_t lies[] = {3, 4, 1000, 0x7fffffff, 0xffffffff};
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        at = raw_header(b, 1, VS_OP_RENDER_FILE, 0, 1);
        at = raw_field(b, at, VS_F_PATH, lies[i], "/a", 2);
        expect_refused(b, at, VS_EPROTO, "runs past the end");
    }
    /* u32 fields of the wrong length */
    static const uint32_t u32_lens[] = {0, 1, 3, 5, 8};
    static const uint8_t u32_ops[] = {VS_OP_ERROR, VS_OP_OK, VS_OP_OK, VS_OP_GRANTS, VS_OP_CONFIRM};
    static const uint16_t u32_types[] = {VS_F_ERRCODE, VS_F_COUNT, VS_F_VERSION, VS_F_WITH_FILES, VS_F_WITH_FILES};
    for (size_t t = 0; t < sizeof u32_ops / sizeof u32_ops[0]; t++)
        for (size_t i = 0; i < sizeof u32_lens / sizeof u32_lens[0]; i++) {
            at = raw_header(b, 1, u32_ops[t], 0, 1);
            at = raw_field(b, at, u32_types[t], u32_lens[i], "\x01\x02\x03\x04\x05\x06\x07\x08",
                           u32_lens[i]);
            expect_refused(b, at, VS_EPROTO, "want 4");
        }
    /* every sized field one byte over its maximum; empty where it needs bytes */
    static const struct {
        uint8_t op;
        uint16_t type;
        uint32_t max, min;
    } sized[] = {
        {VS_OP_GRANT_LIST, VS_F_NAME, VS_F_NAME_MAX, 1},
        {VS_OP_GRANT_LIST, VS_F_PATH, VS_F_PATH_MAX, 1},
        {VS_OP_OK, VS_F_FILE_DATA, VS_F_FILE_DATA_MAX, 0},
        {VS_OP_ERROR, VS_F_REASON, VS_F_REASON_MAX, 0},
        {VS_OP_GRANTS, VS_F_AGENT, VS_F_LABEL_MAX, 1},
        {VS_OP_GRANTS, VS_F_SESSION, VS_F_LABEL_MAX, 1},
        {VS_OP_UNLOCK, VS_F_PASSPHRASE, VS_F_PASSPHRASE_MAX, 0},
        {VS_OP_OK, VS_F_STATUS_TEXT, VS_F_STATUS_TEXT_MAX, 0},
    };
    static uint8_t filler[VS_F_FILE_DATA_MAX + 1];
    memset(filler, 'a', sizeof filler);
    for (size_t i = 0; i < sizeof sized / sizeof sized[0]; i++) {
        at = raw_header(b, 1, sized[i].op, 0, 1);
        at = raw_field(b, at, sized[i].type, sized[i].max + 1, filler, sized[i].max + 1);
        expect_refused(b, at, VS_ETOOBIG, "over its maximum");
        if (sized[i].min != 0) {
            at = raw_header(b, 1, sized[i].op, 0, 1);
            at = raw_field(b, at, sized[i].type, 0, NULL, 0);
            expect_refused(b, at, VS_EPROTO, "is empty");
        }
    }
    at = raw_header(b, 1, VS_OP_GRANT_LIST, 0, 1);
    at = raw_field(b, at, VS_F_NAME, 1, "A", 1);
    at = raw_field(b, at, VS_F_VALUE, VS_F_VALUE_MAX + 1, filler, VS_F_VALUE_MAX + 1);
    expect_refused(b, at, VS_ETOOBIG, "VALUE is 16385 bytes, over its maximum");
    /* a NUL inside a text field */
    at = raw_header(b, 1, VS_OP_RENDER_FILE, 0, 1);
    at = raw_field(b, at, VS_F_PATH, 4, "/a\0b", 4);
    expect_refused(b, at, VS_EPROTO, "PATH holds a NUL byte");
    at = raw_header(b, 1, VS_OP_GRANTS, 0, 1);
    at = raw_field(b, at, VS_F_AGENT, 1, "", 1);
    expect_refused(b, at, VS_EPROTO, "NUL byte");
}

static void grant_list_order(void **state)
{
    (void)state;
    uint8_t *b = scratch;
    size_t at;
    at = raw_header(b, 1, VS_OP_GRANT_LIST, 0, 1);
    assert_int_equal(decode_copy(b, at), 0); /* no grants at all */
    at = raw_field(b, at, VS_F_VALUE, 1, "v", 1);
    expect_refused(b, at, VS_EPROTO, "VALUE without a NAME");
    at = raw_header(b, 1, VS_OP_GRANT_LIST, 0, 1);
    at = raw_u32(b, at, VS_F_VERSION, 1);
    expect_refused(b, at, VS_EPROTO, "VERSION without a NAME");
    at = raw_header(b, 1, VS_OP_GRANT_LIST, 0, 1);
    at = raw_field(b, at, VS_F_NAME, 1, "A", 1);
    at = raw_field(b, at, VS_F_NAME, 1, "B", 1);
    expect_refused(b, at, VS_EPROTO, "NAME where VALUE");
    at = raw_header(b, 1, VS_OP_GRANT_LIST, 0, 1);
    at = raw_field(b, at, VS_F_NAME, 1, "A", 1);
    at = raw_field(b, at, VS_F_PATH, 2, "/p", 2);
    expect_refused(b, at, VS_EPROTO, "PATH where VALUE");
    at = raw_header(b, 1, VS_OP_GRANT_LIST, 0, 1);
    at = raw_field(b, at, VS_F_NAME, 1, "A", 1);
    expect_refused(b, at, VS_EPROTO, "ends before its VALUE");
    at = raw_field(b, at, VS_F_VALUE, 1, "v", 1);
    expect_refused(b, at, VS_EPROTO, "ends before its VERSION");
    at = raw_u32(b, at, VS_F_VERSION, 1);
    assert_int_equal(decode_copy(b, at), 0);

    /* VS_PROTO_MAX_FIELDS fields pass, one more does not */
    at = raw_header(b, 1, VS_OP_GRANT_LIST, 0, 1);
    for (int i = 0; i < VS_PROTO_MAX_FIELDS; i++)
        at = raw_field(b, at, VS_F_PATH, 1, "p", 1);
    assert_int_equal(decode_copy(b, at), 0);
    at = raw_field(b, at, VS_F_PATH, 1, "p", 1);
    expect_refused(b, at, VS_EPROTO, "more than 512 fields");
}

/* Every proper prefix of a valid frame is refused, except where it ends on
 * a field boundary and what is left is itself a valid message. Frames whose
 * required field comes last are refused at every length. */
static void truncation_every_length(void **state)
{
    (void)state;
    static struct vs_msg full, part;
    for (size_t i = 0; i < NOPS; i++) {
        size_t len;
        assert_int_equal(build_op(all_ops[i], scratch, sizeof scratch, &len), 0);
        assert_int_equal(vs_msg_decode(scratch, len, &full), 0);
        for (size_t k = 0; k < len; k++) {
            uint8_t *c = exact_copy(scratch, k);
            int rc = vs_msg_decode(c, k, &part);
            if (rc == 0) {
                size_t end = VS_PROTO_HEADER, j = 0;
                while (end < k)
                    end += VS_PROTO_FIELD_HEADER + full.fields[j++].len;
                assert_int_equal(end, k);
                assert_int_equal(part.nfields, j);
            } else {
                assert_int_equal(rc, VS_EPROTO);
                assert_int_equal(part.nfields, 0);
            }
            free(c);
        }
    }
    uint8_t *b = scratch;
    size_t ends[3];
    ends[0] = raw_field(b, raw_header(b, 1, VS_OP_RENDER_FILE, 0, 5), VS_F_PATH, 9, "/x/.netrc", 9);
    memcpy(b + 0x1000, b, ends[0]);
    ends[1] = raw_field(b + 0x2000, raw_header(b + 0x2000, 1, VS_OP_RENDER_FILE, 0, 5),
                        VS_F_PATH, 12, "/x/.npmrc123", 12);
    size_t at = raw_header(b + 0x3000, 1, VS_OP_ERROR, 0, 5);
    at = raw_field(b + 0x3000, at, VS_F_REASON, 3, "why", 3);
    ends[2] = raw_u32(b + 0x3000, at, VS_F_ERRCODE, 14);
    for (size_t f = 0; f < 3; f++) {
        const uint8_t *frame = b + 0x1000 * (f + 1);
        assert_int_equal(decode_copy(frame, ends[f]), 0);
        for (size_t k = 0; k < ends[f]; k++)
            assert_int_equal(decode_copy(frame, k), VS_EPROTO);
    }
}

static void max_frame(void **state)
{
    (void)state;
    static uint8_t value[VS_F_VALUE_MAX];
    static uint8_t buf[VS_PROTO_MAX_FRAME + 64];
    static struct vs_msg m;
    memset(value, 'v', sizeof value);
    /* 8 + 3 * (7 + 16390 + 10) + (7 + 16290 + 10) = 65536 */
    struct vs_msg_writer w;
    size_t len;
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_GRANT_LIST, 1);
    assert_int_equal(vs_msg_put_grant(&w, "A", value, VS_F_VALUE_MAX, 1), 0);
    assert_int_equal(vs_msg_put_grant(&w, "B", value, VS_F_VALUE_MAX, 2), 0);
    assert_int_equal(vs_msg_put_grant(&w, "C", value, VS_F_VALUE_MAX, 3), 0);
    assert_int_equal(vs_msg_put_grant(&w, "D", value, VS_F_VALUE_MAX - 100, 4), 0);
    assert_int_equal(vs_msg_finish(&w, &len), 0);
    assert_int_equal(len, VS_PROTO_MAX_FRAME);
    uint8_t *c = exact_copy(buf, len);
    assert_int_equal(vs_msg_decode(c, len, &m), 0);
    assert_int_equal(m.nfields, 12);
    free(c);
    /* one byte more: refused before anything is read */
    buf[len] = 0;
    expect_refused(buf, len + 1, VS_ETOOBIG, "over the maximum 65536");
    assert_int_equal(vs_msg_decode(buf, SIZE_MAX, &m), VS_ETOOBIG); /* length checked first */
    /* the writer will not pass the maximum even with room in its buffer */
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_GRANT_LIST, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vs_msg_put_grant(&w, "A", value, VS_F_VALUE_MAX, 1), 0);
    assert_int_equal(vs_msg_put_grant(&w, "D", value, VS_F_VALUE_MAX - 99, 4), VS_ETOOBIG);
    assert_non_null(strstr(vs_last_error(VS_ETOOBIG), "would pass 65536"));
    assert_int_equal(vs_msg_finish(&w, &len), VS_ETOOBIG);
    assert_int_equal(len, 0);
}

static void getters(void **state)
{
    (void)state;
    static struct vs_msg m;
    uint8_t *b = scratch;
    char s[8];
    uint32_t v;
    const uint8_t *p;
    size_t n;
    /* PASSPHRASE is bytes on the wire; as a string an embedded NUL is refused */
    size_t at = raw_header(b, 1, VS_OP_UNLOCK, 0, 1);
    at = raw_field(b, at, VS_F_PASSPHRASE, 5, "ab\0cd", 5);
    assert_int_equal(vs_msg_decode(b, at, &m), 0);
    strcpy(s, "junk");
    assert_int_equal(vs_msg_get_str(&m, VS_F_PASSPHRASE, s, sizeof s), VS_EPROTO);
    assert_non_null(strstr(vs_last_error(VS_EPROTO), "NUL byte"));
    assert_int_equal(s[0], '\0');
    assert_int_equal(vs_msg_get_bytes(&m, VS_F_PASSPHRASE, &p, &n), 0);
    assert_int_equal(n, 5);
    assert_true(p == b + 14);
    /* cap: a 5-byte string needs 6 */
    at = raw_header(b, 1, VS_OP_UNLOCK, 0, 1);
    at = raw_field(b, at, VS_F_PASSPHRASE, 5, "abcde", 5);
    assert_int_equal(vs_msg_decode(b, at, &m), 0);
    for (size_t cap = 1; cap <= 5; cap++) {
        memset(s, 'x', sizeof s);
        assert_int_equal(vs_msg_get_str(&m, VS_F_PASSPHRASE, s, cap), VS_ETOOBIG);
        assert_int_equal(s[0], '\0');
        assert_int_equal(s[cap], 'x'); /* nothing written past cap */
    }
    assert_int_equal(vs_msg_get_str(&m, VS_F_PASSPHRASE, s, 6), 0);
    assert_true(strcmp(s, "abcde") == 0);
    assert_int_equal(vs_msg_get_str(&m, VS_F_PASSPHRASE, s, 0), VS_EINVAL);
    assert_int_equal(vs_msg_get_str(&m, VS_F_PASSPHRASE, NULL, 6), VS_EINVAL);
    /* absent */
    assert_int_equal(vs_msg_get_str(&m, VS_F_NAME, s, sizeof s), VS_ENOENT);
    assert_int_equal(vs_msg_get_u32(&m, VS_F_COUNT, &v), VS_ENOENT);
    assert_int_equal(vs_msg_get_bytes(&m, VS_F_VALUE, &p, &n), VS_ENOENT);
    assert_null(p);
    assert_int_equal(n, 0);
    /* empty text field gives "" */
    at = raw_header(b, 1, VS_OP_OK, 0, 1);
    at = raw_field(b, at, VS_F_STATUS_TEXT, 0, NULL, 0);
    assert_int_equal(vs_msg_decode(b, at, &m), 0);
    assert_int_equal(vs_msg_get_str(&m, VS_F_STATUS_TEXT, s, 1), 0);
    assert_int_equal(s[0], '\0');

    /* getters do not trust a hand-made message either */
    static const uint8_t three[] = {1, 2, 3}, four[] = {1, 2, 3, 4};
    memset(&m, 0, sizeof m);
    m.op = VS_OP_OK;
    m.nfields = 1;
    m.fields[0] = (struct vs_field_ref){VS_F_COUNT, 3, three};
    assert_int_equal(vs_msg_get_u32(&m, VS_F_COUNT, &v), VS_EPROTO);
    assert_non_null(strstr(vs_last_error(VS_EPROTO), "want 4"));
    m.fields[0] = (struct vs_field_ref){VS_F_COUNT, 4, four};
    assert_int_equal(vs_msg_get_u32(&m, VS_F_COUNT, &v), 0);
    assert_int_equal(v, 0x04030201u);
    m.nfields = 2;
    m.fields[1] = m.fields[0];
    assert_int_equal(vs_msg_get_u32(&m, VS_F_COUNT, &v), VS_EPROTO);
    assert_non_null(strstr(vs_last_error(VS_EPROTO), "repeats"));
    m.fields[0] = (struct vs_field_ref){VS_F_STATUS_TEXT, 3, (const uint8_t *)"a\0b"};
    assert_int_equal(vs_msg_get_str(&m, VS_F_STATUS_TEXT, s, sizeof s), VS_EPROTO);
    /* a broken triple handed to the grant iterator */
    m.op = VS_OP_GRANT_LIST;
    m.fields[0] = (struct vs_field_ref){VS_F_NAME, 1, (const uint8_t *)"A"};
    m.fields[1] = (struct vs_field_ref){VS_F_VALUE, 1, (const uint8_t *)"v"};
    struct vs_grant_ref g;
    size_t cur = 0;
    assert_int_equal(vs_msg_next_grant(&m, &cur, &g), VS_EPROTO);
    m.op = VS_OP_OK;
    assert_int_equal(vs_msg_next_grant(&m, &cur, &g), VS_EPROTO);
    int code;
    assert_int_equal(vs_msg_get_error(&m, &code, s, sizeof s), VS_EPROTO);
}

static void error_reply(void **state)
{
    (void)state;
    static struct vs_msg m;
    static char reason[VS_F_REASON_MAX + 16];
    static char long_reason[3000];
    size_t len;
    int code;
    assert_int_equal(vs_msg_build_error(scratch, sizeof scratch, 77, VS_ELOCKED, NULL, &len), 0);
    assert_int_equal(vs_msg_decode(scratch, len, &m), 0);
    assert_int_equal(m.id, 77);
    assert_int_equal(vs_msg_get_error(&m, &code, reason, sizeof reason), 0);
    assert_int_equal(code, VS_ELOCKED);
    assert_true(strcmp(reason, vs_strerror(VS_ELOCKED)) == 0);
    assert_int_equal(vs_msg_get_error(&m, &code, NULL, 0), 0);
    /* a short buffer truncates the reason, never overflows */
    assert_int_equal(vs_msg_get_error(&m, &code, reason, 4), 0);
    assert_int_equal(strlen(reason), 3);
    /* a long reason is cut to VS_F_REASON_MAX so an error reply always fits */
    memset(long_reason, 'r', sizeof long_reason - 1);
    assert_int_equal(vs_msg_build_error(scratch, sizeof scratch, 1, VS_EPROTO, long_reason, &len),
                     0);
    assert_int_equal(len, VS_PROTO_HEADER + 10 + 6 + VS_F_REASON_MAX);
    assert_int_equal(vs_msg_decode(scratch, len, &m), 0);
    assert_int_equal(vs_msg_get_error(&m, &code, reason, sizeof reason), 0);
    assert_int_equal(strlen(reason), VS_F_REASON_MAX);
    assert_int_equal(vs_msg_build_error(scratch, sizeof scratch, 1, 0, "x", &len), VS_EINVAL);
    assert_int_equal(vs_msg_build_error(scratch, sizeof scratch, 1, 5, "x", &len), VS_EINVAL);
    assert_int_equal(vs_msg_build_error(scratch, 20, 1, VS_EIO, "a reason", &len), VS_ETOOBIG);
    assert_int_equal(len, 0);
    /* an out-of-range code from the wire */
    size_t at = raw_u32(scratch, raw_header(scratch, 1, VS_OP_ERROR, 0, 1), VS_F_ERRCODE, 0);
    assert_int_equal(vs_msg_decode(scratch, at, &m), 0);
    assert_int_equal(vs_msg_get_error(&m, &code, reason, sizeof reason), VS_EPROTO);
    assert_int_equal(code, VS_EPROTO);
}

static void writer_misuse(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct vs_msg_writer w;
    size_t len = 123;
    vs_msg_begin(&w, buf, sizeof buf, 0x42, 1);
    assert_int_equal(vs_msg_finish(&w, &len), VS_EINVAL);
    assert_int_equal(len, 0);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_PING, 1);
    assert_int_equal(vs_msg_put_str(&w, VS_F_NAME, "A"), VS_EINVAL);
    /* sticky: a later good put does nothing and returns the first error */
    assert_int_equal(vs_msg_put_u32(&w, VS_F_COUNT, 1), VS_EINVAL);
    assert_int_equal(w.len, VS_PROTO_HEADER);
    assert_int_equal(vs_msg_finish(&w, &len), VS_EINVAL);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_RENDER_FILE, 1);
    assert_int_equal(vs_msg_put_str(&w, VS_F_PATH, "/a"), 0);
    assert_int_equal(vs_msg_put_str(&w, VS_F_PATH, "/b"), VS_EINVAL);
    assert_non_null(strstr(vs_last_error(VS_EINVAL), "duplicate"));
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_RENDER_FILE, 1);
    assert_int_equal(vs_msg_finish(&w, &len), VS_EINVAL);
    assert_non_null(strstr(vs_last_error(VS_EINVAL), "missing required field PATH"));
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_GRANT_LIST, 1);
    assert_int_equal(vs_msg_put_str(&w, VS_F_NAME, "A"), 0);
    assert_int_equal(vs_msg_finish(&w, &len), VS_EINVAL);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_GRANT_LIST, 1);
    assert_int_equal(vs_msg_put_bytes(&w, VS_F_NAME, "A\0B", 3), VS_EINVAL);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_GRANT_LIST, 1);
    assert_int_equal(vs_msg_put_bytes(&w, VS_F_VALUE, NULL, 3), VS_EINVAL);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_GRANT_LIST, 1);
    assert_int_equal(vs_msg_put_str(&w, VS_F_PATH, NULL), VS_EINVAL);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_GRANTS, 1);
    static char longname[VS_F_LABEL_MAX + 2];
    memset(longname, 'a', VS_F_LABEL_MAX + 1);
    assert_int_equal(vs_msg_put_str(&w, VS_F_AGENT, longname), VS_ETOOBIG);
    vs_msg_begin(&w, NULL, 100, VS_OP_PING, 1);
    assert_int_equal(vs_msg_finish(&w, &len), VS_ETOOBIG);
    /* too many fields */
    static uint8_t big[VS_PROTO_MAX_FRAME];
    vs_msg_begin(&w, big, sizeof big, VS_OP_GRANT_LIST, 1);
    for (int i = 0; i < VS_PROTO_MAX_FIELDS; i++)
        assert_int_equal(vs_msg_put_str(&w, VS_F_PATH, "p"), 0);
    assert_int_equal(vs_msg_put_str(&w, VS_F_PATH, "p"), VS_ETOOBIG);
}

/* At every capacity below the full size the writer fails with VS_ETOOBIG and
 * leaves the bytes after cap untouched; at the full size it succeeds. */
static void writer_every_capacity(void **state)
{
    (void)state;
    enum { CANARY = 32 };
    static uint8_t ref[4096];
    for (size_t i = 0; i < NOPS; i++) {
        size_t full, len;
        assert_int_equal(build_op(all_ops[i], ref, sizeof ref, &full), 0);
        for (size_t cap = 0; cap <= full; cap++) {
            uint8_t *buf = malloc(cap + CANARY);
            assert_non_null(buf);
            memset(buf, 0xA5, cap + CANARY);
            int rc = build_op(all_ops[i], buf, cap, &len);
            if (cap < full) {
                assert_int_equal(rc, VS_ETOOBIG);
                assert_int_equal(len, 0);
            } else {
                assert_int_equal(rc, 0);
                assert_int_equal(len, full);
                assert_bytes(buf, ref, full);
            }
            for (size_t k = cap; k < cap + CANARY; k++)
                assert_int_equal(buf[k], 0xA5);
            free(buf);
        }
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* Everything a consumer could do with a decoded message. */
static void walk(const struct vs_msg *m, const uint8_t *frame, size_t len)
{
    static char s[VS_PROTO_MAX_FRAME];
    for (size_t i = 0; i < m->nfields; i++) {
        const struct vs_field_ref *f = &m->fields[i];
        assert_true(f->data >= frame && f->len <= len && f->data + f->len <= frame + len);
    }
    for (uint16_t t = 0; t <= 20; t++) {
        uint32_t v;
        const uint8_t *p;
        size_t n, cur = 0;
        const struct vs_field_ref *f;
        (void)vs_msg_get_u32(m, t, &v);
        (void)vs_msg_get_str(m, t, s, sizeof s);
        (void)vs_msg_get_str(m, t, s, 3);
        (void)vs_msg_get_bytes(m, t, &p, &n);
        while (vs_msg_next(m, t, &cur, &f) == 0)
            assert_int_equal(f->type, t);
    }
    struct vs_grant_ref g;
    size_t cur = 0;
    int rc;
    while ((rc = vs_msg_next_grant(m, &cur, &g)) == 0)
        assert_true(g.value->data + g.value->len <= frame + len);
    if (m->op == VS_OP_GRANT_LIST)
        assert_int_equal(rc, VS_ENOENT);
    int code;
    (void)vs_msg_get_error(m, &code, s, 64);
}

static void random_frames(void **state)
{
    (void)state;
    static struct vs_msg m;
    static uint8_t seeds[NOPS][512];
    size_t seed_len[NOPS];
    for (size_t i = 0; i < NOPS; i++)
        assert_int_equal(build_op(all_ops[i], seeds[i], sizeof seeds[i], &seed_len[i]), 0);
    uint8_t *b = scratch;
    size_t accepted = 0;
    for (int iter = 0; iter < 100000; iter++) {
        size_t len = 0;
        switch (rnd() % 4) {
        case 0: /* noise */
            len = rnd() % 48;
            for (size_t k = 0; k < len; k++)
                b[k] = (uint8_t)rnd();
            break;
        case 1: { /* a valid header, then fields of random type and length */
            len = raw_header(b, 1, all_ops[rnd() % NOPS], 0, (uint32_t)rnd());
            int nf = (int)(rnd() % 6);
            for (int k = 0; k < nf; k++) {
                uint16_t t = (uint16_t)(rnd() % 14);
                size_t n = (rnd() % 2) ? 4 : rnd() % 12;
                uint32_t wire = (rnd() % 8) ? (uint32_t)n : (uint32_t)rnd();
                uint8_t data[12];
                for (size_t d = 0; d < n; d++)
                    data[d] = (uint8_t)(rnd() % 3 ? 'a' + rnd() % 26 : rnd());
                len = raw_field(b, len, t, wire, data, n);
            }
            break;
        }
        default: { /* a valid frame, mutated */
            size_t s = rnd() % NOPS;
            len = seed_len[s];
            memcpy(b, seeds[s], len);
            int muts = 1 + (int)(rnd() % 4);
            for (int k = 0; k < muts && len != 0; k++) {
                size_t at = rnd() % len;
                switch (rnd() % 5) {
                case 0: b[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
                case 1: b[at] = (uint8_t)rnd(); break;
                case 2: len = at; break;
                case 3: if (len < 1000) b[len++] = (uint8_t)rnd(); break;
                default: b[at] = (uint8_t)(rnd() % 2 ? 0 : 0xff); break;
                }
            }
            break;
        }
        }
        uint8_t *c = exact_copy(b, len);
        int rc = vs_msg_decode(c, len, &m);
        if (rc == 0) {
            accepted++;
            walk(&m, c, len);
            reencode_same(&m, c, len);
        } else {
            assert_true(rc == VS_EPROTO || rc == VS_ETOOBIG);
            assert_int_equal(m.nfields, 0);
        }
        free(c);
    }
    assert_true(accepted > 1000); /* the generator reaches past the header */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_and_names),
        cmocka_unit_test(round_trip_every_op),
        cmocka_unit_test(header_refusals),
        cmocka_unit_test(field_refusals),
        cmocka_unit_test(grant_list_order),
        cmocka_unit_test(truncation_every_length),
        cmocka_unit_test(max_frame),
        cmocka_unit_test(getters),
        cmocka_unit_test(error_reply),
        cmocka_unit_test(writer_misuse),
        cmocka_unit_test(writer_every_capacity),
        cmocka_unit_test(random_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
