#include "audit.h"

#include "error.h"
#include "fileio.h"
#include "jsonline.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAC_MARK ",\"mac\":\""
#define HEX_MAC (2 * VS_AUDIT_MAC_BYTES)

int vs_audit_open(int dirfd, const char *name, bool writable)
{
    int flags = writable ? O_RDWR | O_APPEND | O_CREAT : O_RDONLY;
    int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT)
        return vs_fail(VS_ENOENT, "audit log %s is missing", name);
    if (fd < 0)
        return vs_fail_errno(VS_EAUDIT, "audit log %s cannot be opened", name);
    int rc = vs_check_fd_safe(fd, "audit log", 077);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int vs_audit_lock(int fd, bool exclusive)
{
    while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0)
        if (errno != EINTR)
            return vs_fail_errno(VS_EAUDIT, "audit log lock");
    return 0;
}

void vs_audit_unlock(int fd)
{
    (void)flock(fd, LOCK_UN);
}

static int mac_body(const uint8_t *key, const char *body, size_t len, uint8_t mac[VS_AUDIT_MAC_BYTES])
{
    if (crypto_generichash(mac, VS_AUDIT_MAC_BYTES, (const uint8_t *)body, len, key, VS_AUDIT_MAC_BYTES) != 0)
        return vs_fail(VS_ECRYPTO, "audit MAC failed");
    return 0;
}

static int hex_decode_mac(const char *hex, size_t len, uint8_t mac[VS_AUDIT_MAC_BYTES])
{
    size_t got = 0;
    if (len != HEX_MAC || sodium_hex2bin(mac, VS_AUDIT_MAC_BYTES, hex, len, NULL, &got, NULL) != 0 ||
        got != VS_AUDIT_MAC_BYTES)
        return VS_ECORRUPT;
    return 0;
}

/* The parsed facts of one line, and whether its MAC verifies under key. */
struct line_facts {
    uint64_t seq, gen;
    uint8_t prev[VS_AUDIT_MAC_BYTES];
    uint8_t mac[VS_AUDIT_MAC_BYTES];
};

static int check_line(const char *line, size_t len, const uint8_t *key, struct line_facts *f, const char **why)
{
    struct vs_jsonline j;
    if (vs_jsonline_parse(line, len, &j) != 0) {
        *why = "not a well-formed audit line";
        return VS_ECORRUPT;
    }
    const struct vs_json_field *prev = vs_jsonline_find(&j, "prev");
    const struct vs_json_field *mac = vs_jsonline_find(&j, "mac");
    if (vs_jsonline_get_u64(&j, "seq", &f->seq) != 0 || vs_jsonline_get_u64(&j, "gen", &f->gen) != 0 ||
        prev == NULL || mac == NULL || prev->kind != VS_JSON_STRING || mac->kind != VS_JSON_STRING ||
        hex_decode_mac(prev->value, prev->value_len, f->prev) != 0 ||
        hex_decode_mac(mac->value, mac->value_len, f->mac) != 0) {
        *why = "missing or malformed seq, gen, prev or mac";
        return VS_ECORRUPT;
    }
    /* mac must be the last field: the MAC covers everything before it. */
    size_t body_len = (size_t)(mac->value - line) - strlen(MAC_MARK);
    if (mac->value < line + strlen(MAC_MARK) || memcmp(line + body_len, MAC_MARK, strlen(MAC_MARK)) != 0 ||
        mac->value + mac->value_len + 2 != line + len) {
        *why = "mac is not the last field";
        return VS_ECORRUPT;
    }
    if (key != NULL) {
        uint8_t want[VS_AUDIT_MAC_BYTES];
        if (mac_body(key, line, body_len, want) != 0 || crypto_verify_32(want, f->mac) != 0) {
            *why = "MAC mismatch: the line was edited or forged";
            return VS_ECRYPTO;
        }
    }
    return 0;
}

/* The end of the log's complete lines: the file size, or less when a
 * writer died inside its one write() of a line (SIGKILL can cut a write
 * that crosses a page boundary) and left a last line with no newline.
 * VS_ECORRUPT when no newline is in reach. */
static int complete_end(int fd, size_t size, size_t *end)
{
    char buf[4096];
    size_t pos = size;
    while (pos > 0 && size - pos <= VS_AUDIT_LINE_MAX) {
        size_t n = pos < sizeof buf ? pos : sizeof buf;
        if (pread(fd, buf, n, (off_t)(pos - n)) != (ssize_t)n)
            return vs_fail_errno(VS_EAUDIT, "audit log read");
        for (size_t i = n; i > 0; i--)
            if (buf[i - 1] == '\n') {
                *end = pos - n + i;
                return 0;
            }
        pos -= n;
    }
    if (pos == 0) {
        *end = 0;
        return 0;
    }
    return vs_fail(VS_ECORRUPT, "audit log ends in a partial line over %d bytes", VS_AUDIT_LINE_MAX);
}

static int read_tail_upto(int fd, const uint8_t *key, struct vs_audit_tail *tail, size_t size);

int vs_audit_read_tail(int fd, const uint8_t *key, struct vs_audit_tail *tail)
{
    memset(tail, 0, sizeof *tail);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return vs_fail_errno(VS_EAUDIT, "audit log stat");
    return read_tail_upto(fd, key, tail, (size_t)st.st_size);
}

int vs_audit_read_complete_tail(int fd, const uint8_t *key, struct vs_audit_tail *tail)
{
    memset(tail, 0, sizeof *tail);
    struct stat st;
    size_t end = 0;
    if (fstat(fd, &st) != 0)
        return vs_fail_errno(VS_EAUDIT, "audit log stat");
    int rc = complete_end(fd, (size_t)st.st_size, &end);
    return rc != 0 ? rc : read_tail_upto(fd, key, tail, end);
}

int vs_audit_drop_partial(int fd)
{
    struct stat st;
    size_t end = 0;
    if (fstat(fd, &st) != 0)
        return vs_fail_errno(VS_EAUDIT, "audit log stat");
    int rc = complete_end(fd, (size_t)st.st_size, &end);
    if (rc != 0 || end == (size_t)st.st_size)
        return rc;
    if (ftruncate(fd, (off_t)end) != 0 || fsync(fd) != 0)
        return vs_fail_errno(VS_EAUDIT, "audit log: removing an interrupted partial line");
    return 0;
}

static int read_tail_upto(int fd, const uint8_t *key, struct vs_audit_tail *tail, size_t size)
{
    if (size == 0) {
        tail->empty = true;
        return 0;
    }
    size_t window = size < VS_AUDIT_LINE_MAX + 1 ? size : VS_AUDIT_LINE_MAX + 1;
    char *buf = malloc(window);
    if (buf == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    ssize_t n = pread(fd, buf, window, (off_t)(size - window));
    int rc = 0;
    if (n != (ssize_t)window)
        rc = vs_fail_errno(VS_EAUDIT, "audit log read");
    else if (buf[window - 1] != '\n')
        rc = vs_fail(VS_ECORRUPT, "audit log ends in a partial line");
    size_t start = window - 1;
    while (rc == 0 && start > 0 && buf[start - 1] != '\n')
        start--;
    if (rc == 0 && start == 0 && window < size)
        rc = vs_fail(VS_ECORRUPT, "audit log's last line is over %d bytes", VS_AUDIT_LINE_MAX);
    if (rc == 0) {
        struct line_facts f;
        const char *why = "";
        rc = check_line(buf + start, window - 1 - start, key, &f, &why);
        if (rc != 0) {
            rc = vs_fail(rc, "audit log's last line: %s", why);
        } else {
            tail->seq = f.seq;
            tail->gen = f.gen;
            memcpy(tail->mac, f.mac, sizeof tail->mac);
        }
    }
    free(buf);
    return rc;
}

static void put_hex(struct vs_buf *b, const uint8_t *bytes, size_t n)
{
    char hex[2 * VS_AUDIT_MAC_BYTES + 1];
    if (n > VS_AUDIT_MAC_BYTES) {
        b->err = VS_EINVAL;
        return;
    }
    (void)sodium_bin2hex(hex, sizeof hex, bytes, n);
    (void)vs_buf_put_str(b, hex);
}

static void put_str_field(struct vs_buf *b, const char *key, const char *value)
{
    if (value == NULL)
        return;
    (void)vs_buf_put_str(b, ",\"");
    (void)vs_buf_put_str(b, key);
    (void)vs_buf_put_str(b, "\":\"");
    (void)vs_buf_put_json_str(b, value);
    (void)vs_buf_put_u8(b, '"');
}

int vs_audit_build_line(const uint8_t key[VS_AUDIT_MAC_BYTES], const struct vs_audit_tail *tail, uint64_t gen,
                        const struct vs_audit_event *ev, struct vs_buf *line)
{
    char when[32];
    int rc = vs_format_time(vs_now_ms(), when, sizeof when);
    if (rc != 0)
        return rc;
    char self_exe[PATH_MAX];
    const char *exe = ev->exe;
    if (exe == NULL) {
        ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
        self_exe[n > 0 ? (size_t)n : 0] = '\0';
        exe = self_exe;
    }
    static const uint8_t zeros[VS_AUDIT_MAC_BYTES];
    vs_buf_init(line, VS_AUDIT_LINE_MAX);
    (void)vs_buf_printf(line, "{\"seq\":%llu,\"time\":\"%s\"", (unsigned long long)(tail->empty ? 1 : tail->seq + 1),
                        when);
    put_str_field(line, "event", ev->event);
    put_str_field(line, "decision", ev->decision);
    (void)vs_buf_printf(line, ",\"uid\":%lld,\"pid\":%lld", ev->uid >= 0 ? ev->uid : (long long)getuid(),
                        ev->pid >= 0 ? ev->pid : (long long)getpid());
    put_str_field(line, "exe", exe);
    put_str_field(line, "agent", ev->agent);
    put_str_field(line, "session", ev->session);
    put_str_field(line, "secret", ev->secret);
    if (ev->version != 0)
        (void)vs_buf_printf(line, ",\"version\":%u", ev->version);
    put_str_field(line, "reason", ev->reason);
    if (ev->extra != NULL) {
        (void)vs_buf_put_u8(line, ',');
        (void)vs_buf_put_str(line, ev->extra);
    }
    (void)vs_buf_printf(line, ",\"gen\":%llu,\"prev\":\"", (unsigned long long)gen);
    put_hex(line, tail->empty ? zeros : tail->mac, VS_AUDIT_MAC_BYTES);
    (void)vs_buf_put_u8(line, '"');
    uint8_t mac[VS_AUDIT_MAC_BYTES];
    rc = line->err;
    if (rc == 0)
        rc = mac_body(key, (const char *)line->data, line->len, mac);
    if (rc == 0) {
        (void)vs_buf_put_str(line, MAC_MARK);
        put_hex(line, mac, sizeof mac);
        (void)vs_buf_put_str(line, "\"}\n");
        rc = line->err;
    }
    if (rc != 0) {
        vs_buf_free(line);
        return vs_fail(rc, "audit line could not be built: %s", vs_strerror(rc));
    }
    return 0;
}

int vs_audit_reserve(int fd, size_t len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return vs_fail_errno(VS_EAUDIT, "audit log stat");
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, (off_t)len) != 0) {
        if (errno == EOPNOTSUPP || errno == ENOSYS)
            return 0;
        return vs_fail_errno(VS_EAUDIT, "audit log cannot grow");
    }
    return 0;
}

int vs_audit_write_line(int fd, const struct vs_buf *line)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return vs_fail_errno(VS_EAUDIT, "audit log stat");
    ssize_t n = write(fd, line->data, line->len);
    if (n == (ssize_t)line->len && fsync(fd) == 0)
        return 0;
    int saved = errno;
    if (n >= 0 && n != (ssize_t)line->len)
        saved = ENOSPC; /* a short write to a regular file means the disk is full */
    if (ftruncate(fd, st.st_size) != 0)
        return vs_fail(VS_EAUDIT, "audit log cannot be written (%s), and the partial line could not be removed",
                       strerror(saved));
    return vs_fail(VS_EAUDIT, "audit log cannot be written: %s", strerror(saved));
}

int vs_audit_append(int fd, const uint8_t key[VS_AUDIT_MAC_BYTES], uint64_t gen, const struct vs_audit_event *ev)
{
    int rc = vs_audit_lock(fd, true);
    if (rc != 0)
        return rc;
    struct vs_audit_tail tail;
    struct vs_buf line = {0};
    rc = vs_audit_drop_partial(fd); /* a killed appender's half line */
    if (rc == 0)
        rc = vs_audit_read_tail(fd, key, &tail);
    if (rc == 0)
        rc = vs_audit_build_line(key, &tail, gen, ev, &line);
    if (rc == 0)
        rc = vs_audit_write_line(fd, &line);
    vs_buf_free(&line);
    vs_audit_unlock(fd);
    return rc;
}

int vs_audit_foreach(int fd, vs_audit_line_fn fn, void *ctx)
{
    char *chunk = malloc(VS_AUDIT_LINE_MAX + 1);
    if (chunk == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    off_t offset = 0;
    size_t have = 0;
    uint64_t lineno = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = pread(fd, chunk + have, VS_AUDIT_LINE_MAX + 1 - have, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = vs_fail_errno(VS_EAUDIT, "audit log read");
            break;
        }
        offset += n;
        have += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < have && rc == 0; i++) {
            if (chunk[i] != '\n')
                continue;
            rc = fn(chunk + start, i - start, ++lineno, ctx);
            start = i + 1;
        }
        if (rc != 0)
            break;
        memmove(chunk, chunk + start, have - start);
        have -= start;
        if (n == 0) {
            if (have != 0)
                rc = vs_fail(VS_ECORRUPT, "audit log line %llu: partial line at the end",
                             (unsigned long long)lineno + 1);
            break;
        }
        if (have == VS_AUDIT_LINE_MAX + 1) {
            rc = vs_fail(VS_ECORRUPT, "audit log line %llu: over %d bytes", (unsigned long long)lineno + 1,
                         VS_AUDIT_LINE_MAX);
            break;
        }
    }
    free(chunk);
    return rc;
}

struct verify_state {
    const uint8_t *key;
    struct vs_audit_report *report;
    uint8_t prev[VS_AUDIT_MAC_BYTES];
};

static int verify_one(const char *line, size_t len, uint64_t lineno, void *ctx)
{
    struct verify_state *st = ctx;
    struct vs_audit_report *r = st->report;
    struct line_facts f;
    const char *why = "";
    int rc = check_line(line, len, st->key, &f, &why);
    if (rc == 0 && f.seq != lineno) {
        why = f.seq > lineno ? "sequence jumps: lines before it are missing" : "sequence repeats or goes back: lines were inserted, duplicated or reordered";
        rc = VS_ECORRUPT;
    }
    if (rc == 0 && crypto_verify_32(f.prev, st->prev) != 0) {
        why = "chain broken: prev does not match the line before (lines removed, inserted or reordered)";
        rc = VS_ECORRUPT;
    }
    if (rc != 0) {
        r->bad_line = lineno;
        (void)snprintf(r->why, sizeof r->why, "%s", why);
        return rc;
    }
    memcpy(st->prev, f.mac, sizeof st->prev);
    r->lines = lineno;
    r->last_seq = f.seq;
    r->last_gen = f.gen;
    return 0;
}

int vs_audit_verify(int fd, const uint8_t key[VS_AUDIT_MAC_BYTES], struct vs_audit_report *report)
{
    memset(report, 0, sizeof *report);
    struct verify_state st = {.key = key, .report = report};
    int rc = vs_audit_foreach(fd, verify_one, &st);
    if (rc != 0 && report->bad_line == 0) {
        report->bad_line = report->lines + 1;
        (void)snprintf(report->why, sizeof report->why, "%s", vs_last_error(rc));
    }
    return rc;
}
