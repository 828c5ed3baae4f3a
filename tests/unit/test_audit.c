#include "testutil.h"

#include "audit.h"
#include "error.h"
#include "jsonline.h"
#include "timeutil.h"

#include <fcntl.h>
#include <sodium.h>

static uint8_t key[VS_AUDIT_MAC_BYTES];

struct fixture {
    char *dir;
    int dirfd, fd;
    char path[256];
};

static int setup(void **state)
{
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(key, sizeof key);
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir();
    f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
    f->fd = vs_audit_open(f->dirfd, "audit.log", true);
    (void)snprintf(f->path, sizeof f->path, "%s/audit.log", f->dir);
    *state = f;
    return f->fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->fd);
    close(f->dirfd);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static void append_lines(struct fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char reason[32];
        (void)snprintf(reason, sizeof reason, "line %d", i + 1);
        struct vs_audit_event ev = {.event = "save", .decision = "ok", .secret = "gh_token", .version = 1,
                                    .reason = reason, .uid = -1, .pid = -1};
        assert_int_equal(vs_audit_append(f->fd, key, (uint64_t)i + 1, &ev), 0);
    }
}

/* Rewrites the log through a Python-free helper: lines as an array. */
static size_t split_lines(uint8_t *data, size_t len, char **lines, size_t max)
{
    size_t n = 0;
    char *p = (char *)data;
    while (p < (char *)data + len && n < max) {
        char *nl = memchr(p, '\n', (size_t)((char *)data + len - p));
        assert_non_null(nl);
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

static void write_lines(const char *path, char **lines, const int *order, size_t n)
{
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s\n", lines[order[i]]);
    assert_int_equal(fclose(out), 0);
}

static uint64_t verify_bad_line(struct fixture *f)
{
    struct vs_audit_report r;
    int fd = open(f->path, O_RDONLY);
    int rc = vs_audit_verify(fd, key, &r);
    close(fd);
    if (rc == 0)
        return 0;
    assert_int_not_equal(r.bad_line, 0);
    return r.bad_line;
}

static void chain_verifies(void **state)
{
    struct fixture *f = *state;
    append_lines(f, 10);
    struct vs_audit_report r;
    assert_int_equal(vs_audit_verify(f->fd, key, &r), 0);
    assert_int_equal(r.lines, 10);
    assert_int_equal(r.last_seq, 10);
    assert_int_equal(r.last_gen, 10);
    struct vs_audit_tail tail;
    assert_int_equal(vs_audit_read_tail(f->fd, key, &tail), 0);
    assert_int_equal(tail.seq, 10);
    /* The wrong key fails at line 1. */
    uint8_t other[VS_AUDIT_MAC_BYTES];
    randombytes_buf(other, sizeof other);
    assert_int_equal(vs_audit_verify(f->fd, other, &r), VS_ECRYPTO);
    assert_int_equal(r.bad_line, 1);
    assert_int_equal(vs_audit_read_tail(f->fd, other, &tail), VS_ECRYPTO);
}

static void edits_cuts_and_reorders_named(void **state)
{
    struct fixture *f = *state;
    append_lines(f, 8);
    size_t len;
    uint8_t *data = tu_read_file(f->path, &len);
    char *lines[16];
    size_t n = split_lines(data, len, lines, 16);
    assert_int_equal(n, 8);
    const int identity[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    const int cut[7] = {0, 1, 3, 4, 5, 6, 7};
    const int swapped[8] = {0, 1, 2, 4, 3, 5, 6, 7};
    const int duplicated[9] = {0, 1, 2, 3, 3, 4, 5, 6, 7};
    const int head_cut[6] = {2, 3, 4, 5, 6, 7};

    write_lines(f->path, lines, identity, 8);
    assert_int_equal(verify_bad_line(f), 0);
    write_lines(f->path, lines, cut, 7);
    assert_int_equal(verify_bad_line(f), 3);
    write_lines(f->path, lines, swapped, 8);
    assert_int_equal(verify_bad_line(f), 4);
    write_lines(f->path, lines, duplicated, 9);
    assert_int_equal(verify_bad_line(f), 5);
    write_lines(f->path, lines, head_cut, 6);
    assert_int_equal(verify_bad_line(f), 1);

    /* An edit of one character in line 5 (the reason text). */
    char *hit = strstr(lines[4], "line 5");
    assert_non_null(hit);
    hit[5] = '6';
    write_lines(f->path, lines, identity, 8);
    assert_int_equal(verify_bad_line(f), 5);
    hit[5] = '5';

    /* A partial last line. */
    write_lines(f->path, lines, identity, 8);
    FILE *out = fopen(f->path, "a");
    fputs("{\"seq\":9", out);
    fclose(out);
    assert_int_equal(verify_bad_line(f), 9);
    int fd = open(f->path, O_RDONLY);
    struct vs_audit_tail tail;
    assert_int_equal(vs_audit_read_tail(fd, key, &tail), VS_ECORRUPT);
    close(fd);
    free(data);
}

static void escaping_keeps_lines_whole(void **state)
{
    struct fixture *f = *state;
    struct vs_audit_event ev = {.event = "revoke", .decision = "ok", .secret = "gh_token",
                                .reason = "quote \" backslash \\ newline \n tab \t end", .uid = 5, .pid = 6,
                                .exe = "/usr/bin/we\"ird", .extra = "\"argv\":[\"a\",\"b\"]"};
    assert_int_equal(vs_audit_append(f->fd, key, 1, &ev), 0);
    size_t len;
    uint8_t *data = tu_read_file(f->path, &len);
    assert_int_equal(memchr(data, '\n', len), data + len - 1); /* one line */
    struct vs_jsonline j;
    assert_int_equal(vs_jsonline_parse((char *)data, len - 1, &j), 0);
    char reason[128], exe[64];
    assert_int_equal(vs_jsonline_get_str(&j, "reason", reason, sizeof reason), 0);
    assert_string_equal(reason, ev.reason);
    assert_int_equal(vs_jsonline_get_str(&j, "exe", exe, sizeof exe), 0);
    assert_string_equal(exe, ev.exe);
    uint64_t uid;
    assert_int_equal(vs_jsonline_get_u64(&j, "uid", &uid), 0);
    assert_int_equal(uid, 5);
    assert_int_equal(vs_jsonline_find(&j, "argv")->kind, VS_JSON_ARRAY);
    struct vs_audit_report r;
    assert_int_equal(vs_audit_verify(f->fd, key, &r), 0);
    free(data);
}

/* The line's bytes are frozen: other tools parse the log, and a format
 * that drifted would be a new one. The time is blanked (it is now), the MAC
 * is left off (it covers the time). */
static void line_bytes_fixed(void **state)
{
    (void)state;
    uint8_t k[VS_AUDIT_MAC_BYTES] = {1, 2, 3};
    struct vs_audit_tail tail = {.empty = false, .seq = 41, .gen = 7};
    memset(tail.mac, 0xab, sizeof tail.mac);
    struct vs_audit_event ev = {.event = "grant", .decision = "ok", .secret = "api_token", .version = 3,
                                .agent = "claude", .session = "s1", .uid = 1000, .pid = 4242,
                                .exe = "/usr/bin/curl", .reason = "tab\there \"q\"",
                                .extra = "\"args\":[\"a\\\"b\",\"x********y\"]"};
    struct vs_buf line;
    assert_int_equal(vs_audit_build_line(k, &tail, 9, &ev, &line), 0);
    char *text = (char *)line.data;
    char *when = strstr(text, "\"time\":\"");
    char *mac = strstr(text, ",\"mac\":\"");
    assert_non_null(when);
    assert_non_null(mac);
    memset(when + 8, '_', 24);
    *mac = '\0';
    assert_string_equal(text, "{\"seq\":42,\"time\":\"________________________\",\"event\":\"grant\","
                              "\"decision\":\"ok\",\"uid\":1000,\"pid\":4242,\"exe\":\"/usr/bin/curl\","
                              "\"agent\":\"claude\",\"session\":\"s1\",\"secret\":\"api_token\",\"version\":3,"
                              "\"reason\":\"tab\\u0009here \\\"q\\\"\",\"args\":[\"a\\\"b\",\"x********y\"],\"gen\":9,"
                              "\"prev\":\"abababababababababababababababababababababababababababababababab\"");
    vs_buf_free(&line);
}

static void jsonline_strictness(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", "{", "}", "[]", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{\"a\":1}x", "{\"a\":01}", "{\"a\":1.5}",
        "{\"a\":{\"b\":1}}", "{\"a\":[1]}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"A\":1}", "{\"a\":1,\"a\":2}",
        "{\"a\":tru}", "{\"a\":\"x\n\"}", "{\"a\":\"unterminated}", "{\"a\":123456789012345678901}",
    };
    struct vs_jsonline j;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (vs_jsonline_parse(bad[i], strlen(bad[i]), &j) == 0)
            fail_msg("accepted malformed line %zu", i);
    const char *good = "{ \"a\" : \"x\\u0041\\n\", \"b\":18446744073709551615, \"c\":true, \"d\":null, \"e\":[] }";
    assert_int_equal(vs_jsonline_parse(good, strlen(good), &j), 0);
    char s[8];
    assert_int_equal(vs_jsonline_get_str(&j, "a", s, sizeof s), 0);
    assert_string_equal(s, "xA\n");
    assert_int_equal(vs_jsonline_get_str(&j, "a", s, 3), VS_ETOOBIG);
    uint64_t v;
    assert_int_equal(vs_jsonline_get_u64(&j, "b", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(vs_jsonline_get_u64(&j, "c", &v), VS_ENOENT);
    const char *nul = "{\"a\":\"\\u0000\"}";
    assert_int_equal(vs_jsonline_parse(nul, strlen(nul), &j), 0);
    assert_int_equal(vs_jsonline_get_str(&j, "a", s, sizeof s), VS_ECORRUPT);
}

static void times(void **state)
{
    (void)state;
    char text[32];
    assert_int_equal(vs_format_time(1795403272123, text, sizeof text), 0);
    assert_string_equal(text, "2026-11-23T03:07:52.123Z");
    int64_t ms;
    assert_int_equal(vs_parse_time(text, 0, &ms), 0);
    assert_true(ms == 1795403272123);
    assert_int_equal(vs_parse_time("2026-11-23", 0, &ms), 0);
    assert_true(ms == 1795392000000);
    assert_int_equal(vs_parse_time("2026-11-23T03:07:52Z", 0, &ms), 0);
    assert_true(ms == 1795403272000);
    assert_int_equal(vs_parse_time("90m", 10000000, &ms), 0);
    assert_true(ms == 10000000 - 90 * 60000);
    assert_int_equal(vs_parse_time("7d", 0, &ms), 0);
    assert_true(ms == -7 * 86400000LL);
    static const char *bad[] = {"", "7", "7w", "d", "2026-13-01", "2026-11-23T25:00:00Z", "2026-11-23x",
                                "2026-11-23T03:07", "99999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(vs_parse_time(bad[i], 0, &ms), 0);
    char age[16];
    vs_format_age(3 * 86400 + 5, age, sizeof age);
    assert_string_equal(age, "3d");
    vs_format_age(59, age, sizeof age);
    assert_string_equal(age, "59s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(chain_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(edits_cuts_and_reorders_named, setup, teardown),
        cmocka_unit_test_setup_teardown(escaping_keeps_lines_whole, setup, teardown),
        cmocka_unit_test(line_bytes_fixed),
        cmocka_unit_test(jsonline_strictness),
        cmocka_unit_test(times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
