/* libFuzzer target for the audit line parser (vaultd/core/jsonline.c) and
 * the audit log verifier (vaultd/core/audit.c).
 *
 * 1. Every line of the input goes through vs_jsonline_parse; an accepted
 *    line's fields are all looked up by key and decoded with both getters
 *    into a large and a 1-, 2- and 8-byte buffer.
 * 2. The input is then fixed up as a log under a fixed fake key: each line's
 *    "prev" is set to the previous line's MAC and its "mac" recomputed over
 *    the bytes before it (so mutations get past the MAC check), written to a
 *    memfd, and given to vs_audit_verify, vs_audit_read_tail and
 *    vs_audit_foreach.
 *
 * Built by tests/fuzz/fuzz.mk; by hand:
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Icommon \
 *     -Ivaultd/core tests/fuzz/fuzz_audit.c common/[a-z]*.c vaultd/core/[a-z]*.c \
 *     $(pkg-config --cflags --libs libsodium libconfig) -o /tmp/fuzz_audit
 *
 * Seeds (a real chained log under the fake key, written by this file):
 *
 *   cc -std=c11 -D_GNU_SOURCE -Icommon -Ivaultd/core -DVS_FUZZ_WRITE_SEEDS \
 *     tests/fuzz/fuzz_audit.c common/[a-z]*.c vaultd/core/[a-z]*.c \
 *     $(pkg-config --cflags --libs libsodium libconfig) -o /tmp/audit_seeds
 *   /tmp/audit_seeds tests/fuzz/corpus/audit */
#include "audit.h"
#include "buf.h"
#include "error.h"
#include "jsonline.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static uint8_t fake_key[VS_AUDIT_MAC_BYTES];
static int memfd = -1;

#include <stdio.h>

static void fail(int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
    abort();
}
#define check(c) ((c) ? (void)0 : fail(__LINE__, #c))

static void one_line(const char *line, size_t len)
{
    static struct vs_jsonline j;
    static char big[VS_AUDIT_LINE_MAX + 1];
    if (vs_jsonline_parse(line, len, &j) != 0)
        return;
    check(j.nfields <= VS_JSONLINE_MAX_FIELDS);
    for (size_t i = 0; i < j.nfields; i++) {
        const struct vs_json_field *f = &j.fields[i];
        check(f->key >= line && f->key + f->key_len <= line + len);
        check(f->value >= line && f->value + f->value_len <= line + len);
        char key[64];
        if (f->key_len >= sizeof key)
            continue;
        memcpy(key, f->key, f->key_len);
        key[f->key_len] = '\0';
        check(vs_jsonline_find(&j, key) == f); /* keys are unique */
        uint64_t u;
        char small[8];
        int rc = vs_jsonline_get_str(&j, key, big, sizeof big);
        if (rc == 0)
            check(strlen(big) < sizeof big);
        (void)vs_jsonline_get_str(&j, key, small, 1);
        (void)vs_jsonline_get_str(&j, key, small, 2);
        if (vs_jsonline_get_str(&j, key, small, sizeof small) == 0)
            check(memchr(small, '\0', sizeof small) != NULL);
        (void)vs_jsonline_get_u64(&j, key, &u);
    }
    (void)vs_jsonline_find(&j, "");
    (void)vs_jsonline_find(&j, "mac");
}

static void hex(char *out, const uint8_t *in, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
}

/* Patches prev and mac in one line (in place) when both are where a
 * writer puts them; returns the line's MAC in mac. */
static void fix_line(char *line, size_t len, uint8_t prev[VS_AUDIT_MAC_BYTES])
{
    static const char pmark[] = "\"prev\":\"", mmark[] = ",\"mac\":\"";
    const size_t hx = 2 * VS_AUDIT_MAC_BYTES;
    char *p = memmem(line, len, pmark, sizeof pmark - 1);
    if (p != NULL && (size_t)(p - line) + sizeof pmark - 1 + hx <= len)
        hex(p + sizeof pmark - 1, prev, VS_AUDIT_MAC_BYTES);
    if (len < sizeof mmark - 1 + hx + 2)
        return;
    char *m = line + len - 2 - hx - (sizeof mmark - 1);
    if (memcmp(m, mmark, sizeof mmark - 1) != 0)
        return;
    uint8_t mac[VS_AUDIT_MAC_BYTES];
    crypto_generichash(mac, sizeof mac, (const uint8_t *)line, (size_t)(m - line), fake_key,
                       sizeof fake_key);
    hex(m + sizeof mmark - 1, mac, sizeof mac);
    memcpy(prev, mac, sizeof mac);
}

static int count_lines(const char *line, size_t len, uint64_t lineno, void *ctx)
{
    (void)line;
    (void)len;
    (void)lineno;
    ++*(uint64_t *)ctx;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    check(sodium_init() >= 0);
    memset(fake_key, 0x5a, sizeof fake_key);
    memfd = memfd_create("fuzz-audit", MFD_CLOEXEC);
    check(memfd >= 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4 * VS_AUDIT_LINE_MAX)
        return 0;
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    for (size_t start = 0; start < size;) {
        char *nl = memchr(buf + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - buf) : size;
        one_line(buf + start, end - start);
        start = end + 1;
    }
    uint8_t prev[VS_AUDIT_MAC_BYTES] = {0};
    for (size_t start = 0; start < size;) {
        char *nl = memchr(buf + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - buf) : size;
        fix_line(buf + start, end - start, prev);
        start = end + 1;
    }
    check(ftruncate(memfd, 0) == 0);
    check(pwrite(memfd, buf, size, 0) == (ssize_t)size);
    struct vs_audit_report rep;
    int rc = vs_audit_verify(memfd, fake_key, &rep);
    check(rc == 0 ? rep.bad_line == 0 : rep.bad_line != 0);
    check(memchr(rep.why, '\0', sizeof rep.why) != NULL);
    struct vs_audit_tail tail;
    (void)vs_audit_read_tail(memfd, fake_key, &tail);
    (void)vs_audit_read_tail(memfd, NULL, &tail);
    uint64_t n = 0;
    (void)vs_audit_foreach(memfd, count_lines, &n);
    free(buf);
    return 0;
}

#ifdef VS_FUZZ_WRITE_SEEDS
#include <fcntl.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (dfd < 0) {
        perror(argv[1]);
        return 1;
    }
    (void)unlinkat(dfd, "log", 0);
    int fd = vs_audit_open(dfd, "log", true);
    if (fd < 0)
        return 1;
    const struct vs_audit_event evs[] = {
        {.event = "init", .decision = "ok", .uid = 1000, .pid = 10, .exe = "/usr/bin/vaultctl"},
        {.event = "save", .decision = "ok", .secret = "gh_token", .version = 1, .uid = 1000,
         .pid = 11, .exe = "/usr/bin/vaultctl"},
        {.event = "grant", .decision = "ok", .secret = "gh_token", .version = 1, .agent = "claude",
         .session = "s-1", .uid = 1000, .pid = 12, .exe = "/usr/bin/curl",
         .extra = "\"argv\":[\"curl\",\"-s\",\"https://example.invalid/\\u00e9\"],\"names\":[\"GH_TOKEN\"]"},
        {.event = "deny", .decision = "denied", .reason = "deny_args \"auth token **\"",
         .agent = "claude", .uid = 1000, .pid = 13, .exe = "/usr/bin/gh\t\"quoted\""},
        {.event = "revoke", .decision = "ok", .secret = "npm_token", .reason = "seen in a fake log",
         .uid = 1000, .pid = 14, .exe = "/usr/bin/vaultctl"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        bad |= vs_audit_append(fd, fake_key, 3, &evs[i]) != 0;
    struct vs_audit_report rep;
    bad |= vs_audit_verify(fd, fake_key, &rep) != 0;
    close(fd);
    return bad != 0;
}
#endif
