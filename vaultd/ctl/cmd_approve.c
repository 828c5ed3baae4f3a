/* pending, approve, deny: the owner's side of held requests
 * (docs/vault-exec.md). vaultd decides whether an approval carries a human
 * factor (the owner's terminal, or the passphrase given here with
 * --passphrase); vaultctl only asks. approve --watch is a small terminal
 * view: each new request is shown as it arrives and answered y/n. */
#include "vaultctl.h"

#include "client.h"
#include "error.h"
#include "paths.h"

#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WATCH_POLL_MS 500
#define MAX_SEEN 256

struct approve_opts {
    uint32_t for_seconds, uses;
    bool has_for, has_uses;
    uint8_t *pass;
    size_t pass_len;
};

static int socket_path(const struct ctl *c, char *out, size_t cap)
{
    if (c->socket != NULL) {
        if ((size_t)snprintf(out, cap, "%s", c->socket) >= cap)
            return vs_fail(VS_ETOOBIG, "--socket path too long");
        return 0;
    }
    return vs_socket_path(out, cap) == 0 ? 0 : vs_fail(VS_ETOOBIG, "socket path too long");
}

/* One request to vaultd; the reply's STATUS_TEXT (or error reason) in text. */
static int request(const struct ctl *c, uint8_t op, uint32_t id, const struct approve_opts *o, char *text,
                   size_t cap)
{
    char path[128];
    int rc = socket_path(c, path, sizeof path);
    if (rc != 0)
        return rc;
    uint8_t *frame = sodium_malloc(VS_PROTO_MAX_FRAME + 1), *reply = sodium_malloc(VS_PROTO_MAX_FRAME + 1);
    int fd = frame != NULL && reply != NULL ? vs_client_connect(path) : VS_ENOMEM;
    if (fd < 0) {
        sodium_free(frame);
        sodium_free(reply);
        return fd == VS_ENOMEM ? vs_fail(VS_ENOMEM, "out of memory") : vs_fail(VS_EIO, "vaultd not answering at %s", path);
    }
    struct vs_msg_writer w;
    size_t len = 0;
    vs_msg_begin(&w, frame, VS_PROTO_MAX_FRAME, op, 1);
    if (op != VS_OP_PENDING)
        (void)vs_msg_put_u32(&w, VS_F_REQ_ID, id);
    if (o != NULL && o->has_for)
        (void)vs_msg_put_u32(&w, VS_F_FOR_SECONDS, o->for_seconds);
    if (o != NULL && o->has_uses)
        (void)vs_msg_put_u32(&w, VS_F_USES, o->uses);
    if (o != NULL && o->pass != NULL)
        (void)vs_msg_put_bytes(&w, VS_F_PASSPHRASE, o->pass, o->pass_len);
    rc = vs_msg_finish(&w, &len);
    struct vs_msg m = {.op = 0};
    if (rc == 0)
        rc = vs_client_call(fd, frame, len, reply, VS_PROTO_MAX_FRAME + 1, &m);
    close(fd);
    text[0] = '\0';
    int code = rc;
    if (rc < 0 && m.op == VS_OP_ERROR)
        (void)vs_msg_get_error(&m, &code, text, cap);
    else if (rc == 0)
        (void)vs_msg_get_str(&m, VS_F_STATUS_TEXT, text, cap);
    sodium_free(frame);
    sodium_free(reply);
    if (rc == VS_EIO && text[0] == '\0')
        return vs_fail(VS_EIO, "vaultd at %s closed the connection", path);
    if (rc != 0)
        return vs_fail(code < 0 ? code : VS_EPROTO, "%s", text[0] != '\0' ? text : vs_strerror(code));
    return 0;
}

/* "90s", "15m", "2h", "1d" (a bare number is seconds). */
static int parse_duration(const char *s, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || errno != 0 || s[0] == '-')
        return vs_fail(VS_EINVAL, "--for %s: want a duration such as 90s, 15m, 2h, 1d", s);
    unsigned long mult = 1;
    if (*end == 'm')
        mult = 60;
    else if (*end == 'h')
        mult = 3600;
    else if (*end == 'd')
        mult = 86400;
    else if (*end != 's' && *end != '\0')
        return vs_fail(VS_EINVAL, "--for %s: want a duration such as 90s, 15m, 2h, 1d", s);
    if (*end != '\0' && end[1] != '\0')
        return vs_fail(VS_EINVAL, "--for %s: want a duration such as 90s, 15m, 2h, 1d", s);
    if (v == 0 || v > 7UL * 86400 / mult)
        return vs_fail(VS_EINVAL, "--for %s: between 1 second and 7 days", s);
    *out = (uint32_t)(v * mult);
    return 0;
}

static int parse_id(const char *s, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v == 0 || v > UINT32_MAX || s[0] == '-')
        return vs_fail(VS_EINVAL, "%s is not a request id (see vaultctl pending)", s);
    *out = (uint32_t)v;
    return 0;
}

static int read_opts(struct ctl *c, struct approve_opts *o)
{
    memset(o, 0, sizeof *o);
    int rc = 0;
    if (c->for_text != NULL && (rc = parse_duration(c->for_text, &o->for_seconds)) == 0)
        o->has_for = true;
    if (rc == 0 && c->uses_text != NULL) {
        char *end = NULL;
        unsigned long v = strtoul(c->uses_text, &end, 10);
        if (end == c->uses_text || *end != '\0' || v == 0 || v > 1000000 || c->uses_text[0] == '-')
            rc = vs_fail(VS_EINVAL, "--uses %s: want a count from 1 to 1000000", c->uses_text);
        o->uses = (uint32_t)v;
        o->has_uses = rc == 0;
    }
    if (rc == 0 && c->with_passphrase)
        rc = ctl_read_passphrase(c, "Vault passphrase (to approve): ", false, &o->pass, &o->pass_len);
    return rc;
}

int cmd_pending(struct ctl *c)
{
    static char text[VS_F_STATUS_TEXT_MAX + 1];
    int rc = request(c, VS_OP_PENDING, 0, NULL, text, sizeof text);
    if (rc != 0)
        return ctl_fail(c, rc);
    fputs(text, stdout);
    return CTL_OK;
}

int cmd_deny(struct ctl *c)
{
    char text[VS_F_REASON_MAX + 1];
    uint32_t id = 0;
    int rc = parse_id(c->argv[0], &id);
    if (rc == 0)
        rc = request(c, VS_OP_DENY, id, NULL, text, sizeof text);
    if (rc != 0)
        return ctl_fail(c, rc);
    printf("%s\n", text);
    return CTL_OK;
}

/* The ids in a PENDING text: each block starts "id N". */
static size_t pending_ids(const char *text, uint32_t *ids, size_t cap)
{
    size_t n = 0;
    for (const char *p = text; p != NULL && *p != '\0' && n < cap;) {
        if (strncmp(p, "id ", 3) == 0)
            ids[n++] = (uint32_t)strtoul(p + 3, NULL, 10);
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return n;
}

/* The block of request id in text, printed. */
static void show_block(const char *text, uint32_t id)
{
    char head[32];
    (void)snprintf(head, sizeof head, "id %u ", id);
    const char *p = strstr(text, head);
    while (p != NULL && p != text && p[-1] != '\n')
        p = strstr(p + 1, head);
    if (p == NULL)
        return;
    const char *end = strstr(p + 1, "\nid ");
    printf("\n%.*s\n", (int)(end != NULL ? end - p : (long)strlen(p)), p);
}

static bool seen_has(const uint32_t *seen, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (seen[i] == id)
            return true;
    return false;
}

/* y/n for one request; 'q' or end of input stops the watch (-1). */
static int ask(uint32_t id)
{
    printf("approve request %u? [y/n, q to quit] ", id);
    (void)fflush(stdout);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL || line[0] == 'q')
        return -1;
    return line[0] == 'y' || line[0] == 'Y';
}

static int watch(struct ctl *c, const struct approve_opts *o)
{
    static char text[VS_F_STATUS_TEXT_MAX + 1];
    char answer[VS_F_REASON_MAX + 1];
    uint32_t seen[MAX_SEEN];
    size_t nseen = 0;
    printf("watching for requests (q to quit)\n");
    (void)fflush(stdout);
    for (;;) {
        int rc = request(c, VS_OP_PENDING, 0, NULL, text, sizeof text);
        if (rc != 0)
            return ctl_fail(c, rc);
        uint32_t ids[64];
        size_t n = pending_ids(text, ids, 64);
        uint32_t next = 0;
        for (size_t i = 0; next == 0 && i < n; i++)
            if (!seen_has(seen, nseen, ids[i]))
                next = ids[i];
        if (next == 0) {
            struct pollfd in = {.fd = 0, .events = POLLIN};
            if (poll(&in, 1, WATCH_POLL_MS) > 0) {
                char line[64];
                if (fgets(line, sizeof line, stdin) == NULL || line[0] == 'q')
                    return CTL_OK;
            }
            continue;
        }
        show_block(text, next);
        int yes = ask(next);
        if (yes < 0)
            return CTL_OK;
        if (nseen < MAX_SEEN)
            seen[nseen++] = next;
        rc = request(c, yes ? VS_OP_APPROVE : VS_OP_DENY, next, yes ? o : NULL, answer, sizeof answer);
        if (rc != 0)
            fprintf(stderr, "vaultctl: approve: %s\n", vs_last_error(rc));
        else
            printf("%s\n", answer);
        (void)fflush(stdout);
    }
}

int cmd_approve(struct ctl *c)
{
    if (c->watch == (c->argc == 1))
        return ctl_say(c, CTL_USAGE, "give a request id, or --watch (see vaultctl pending)");
    struct approve_opts o;
    int rc = read_opts(c, &o);
    uint32_t id = 0;
    if (rc == 0 && !c->watch)
        rc = parse_id(c->argv[0], &id);
    int out;
    if (rc != 0) {
        out = ctl_fail(c, rc);
    } else if (c->watch) {
        out = watch(c, &o);
    } else {
        char text[VS_F_REASON_MAX + 1];
        rc = request(c, VS_OP_APPROVE, id, &o, text, sizeof text);
        out = rc != 0 ? ctl_fail(c, rc) : CTL_OK;
        if (rc == 0)
            printf("%s\n", text);
    }
    sodium_free(o.pass);
    return out;
}
