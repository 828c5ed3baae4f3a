/* libFuzzer target for common/proto.c: decodes a frame, walks every field
 * through every getter, and checks that an accepted frame re-encodes to the
 * same bytes (the encoding is canonical). Not built by the Makefile:
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Icommon \
 *     tests/fuzz/fuzz_proto.c common/proto.c common/buf.c common/error.c -o /tmp/fuzz_proto
 *   /tmp/fuzz_proto -max_total_time=60 tests/fuzz/corpus/proto
 *
 * The seed frames in tests/fuzz/corpus/proto/ come from this file too:
 *
 *   cc -std=c11 -D_GNU_SOURCE -Icommon -DVS_FUZZ_WRITE_SEEDS tests/fuzz/fuzz_proto.c \
 *     common/proto.c common/buf.c common/error.c -o /tmp/proto_seeds
 *   /tmp/proto_seeds tests/fuzz/corpus/proto
 *
 * Seed values are fake. */
#include "proto.h"

#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vs_msg msg;
static uint8_t out[VS_PROTO_MAX_FRAME];
static char text[VS_PROTO_MAX_FRAME];

static void check(int ok)
{
    if (!ok)
        abort();
}

static void walk(const struct vs_msg *m, const uint8_t *frame, size_t len)
{
    check(m->version == VS_PROTO_VERSION && m->nfields <= VS_PROTO_MAX_FIELDS);
    (void)vs_op_name(m->op);
    (void)vs_op_is_request(m->op);
    for (size_t i = 0; i < m->nfields; i++) {
        const struct vs_field_ref *f = &m->fields[i];
        check(f->data >= frame && f->len <= len && f->data + f->len <= frame + len);
        (void)vs_field_name(f->type);
    }
    for (uint16_t t = 0; t <= 13; t++) {
        uint32_t v;
        const uint8_t *p;
        size_t n, cur = 0;
        const struct vs_field_ref *f;
        (void)vs_msg_get_u32(m, t, &v);
        (void)vs_msg_get_str(m, t, text, sizeof text);
        (void)vs_msg_get_str(m, t, text, 2);
        (void)vs_msg_get_bytes(m, t, &p, &n);
        while (vs_msg_next(m, t, &cur, &f) == 0)
            check(f->type == t);
    }
    struct vs_grant_ref g;
    size_t cur = 0;
    int rc;
    while ((rc = vs_msg_next_grant(m, &cur, &g)) == 0)
        check(g.name->type == VS_F_NAME && g.value->type == VS_F_VALUE);
    check(m->op != VS_OP_GRANT_LIST || rc == VS_ENOENT);
    int code;
    rc = vs_msg_get_error(m, &code, text, 80);
    check(m->op != VS_OP_ERROR || rc != 0 || code < 0);

    struct vs_msg_writer w;
    size_t olen;
    vs_msg_begin(&w, out, sizeof out, m->op, m->id);
    for (size_t i = 0; i < m->nfields; i++)
        vs_msg_put_bytes(&w, m->fields[i].type, m->fields[i].data, m->fields[i].len);
    check(vs_msg_finish(&w, &olen) == 0 && olen == len && memcmp(out, frame, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = vs_msg_decode(data, size, &msg);
    if (rc == 0)
        walk(&msg, data, size);
    else
        check((rc == VS_EPROTO || rc == VS_ETOOBIG) && msg.nfields == 0);
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

int main(int argc, char **argv)
{
    static uint8_t buf[VS_PROTO_MAX_FRAME];
    static const uint8_t fake_bin[] = {0x00, 0xff, 0x10, 'x'};
    struct vs_msg_writer w;
    size_t len;
    int bad = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];

    vs_msg_begin(&w, buf, sizeof buf, VS_OP_PING, 1);
    bad |= vs_msg_finish(&w, &len) || write_seed(dir, "ping", buf, len);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_GRANTS, 2);
    vs_msg_put_str(&w, VS_F_AGENT, "claude");
    vs_msg_put_str(&w, VS_F_SESSION, "s-1");
    bad |= vs_msg_finish(&w, &len) || write_seed(dir, "grants", buf, len);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_CONFIRM, 3);
    bad |= vs_msg_finish(&w, &len) || write_seed(dir, "confirm", buf, len);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_RENDER_FILE, 4);
    vs_msg_put_str(&w, VS_F_PATH, "/home/u/.npmrc");
    bad |= vs_msg_finish(&w, &len) || write_seed(dir, "render_file", buf, len);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_UNLOCK, 5);
    vs_msg_put_str(&w, VS_F_PASSPHRASE, "fake passphrase");
    bad |= vs_msg_finish(&w, &len) || write_seed(dir, "unlock", buf, len);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_OK, 6);
    vs_msg_put_str(&w, VS_F_PATH, "/home/u/.netrc");
    vs_msg_put_bytes(&w, VS_F_FILE_DATA, fake_bin, sizeof fake_bin);
    vs_msg_put_u32(&w, VS_F_COUNT, 2);
    vs_msg_put_u32(&w, VS_F_VERSION, 9);
    vs_msg_put_str(&w, VS_F_SESSION, "s-1");
    vs_msg_put_str(&w, VS_F_STATUS_TEXT, "unlocked");
    bad |= vs_msg_finish(&w, &len) || write_seed(dir, "ok_all", buf, len);
    bad |= vs_msg_build_error(buf, sizeof buf, 7, VS_EDENIED, "caller refused", &len) ||
           write_seed(dir, "error", buf, len);
    vs_msg_begin(&w, buf, sizeof buf, VS_OP_GRANT_LIST, 8);
    vs_msg_put_grant(&w, "GH_TOKEN", "fake-value-1", 12, 3);
    vs_msg_put_str(&w, VS_F_PATH, "/home/u/.npmrc");
    vs_msg_put_grant(&w, "AWS_SECRET_ACCESS_KEY", fake_bin, sizeof fake_bin, 1);
    bad |= vs_msg_finish(&w, &len) || write_seed(dir, "grant_list", buf, len);
    return bad != 0;
}
#endif
