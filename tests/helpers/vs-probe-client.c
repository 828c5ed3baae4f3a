/* Test helper: a small client of vaultd that does what the shim will do
 * (GRANTS, make itself non-dumpable, CONFIRM, RENDER_FILE) and prints only
 * digests: "grant NAME vVERSION SHA256" and "file PATH SHA256 LEN". Its own
 * argv is left free for argument-rule tests; it is steered by VS_PROBE, a
 * comma-separated list:
 *   stay-dumpable   skip PR_SET_DUMPABLE before CONFIRM
 *   no-confirm      stop after GRANTS
 *   render=PATH     ask for one managed file after CONFIRM
 *   fork-send       connect, fork, and let the child send GRANTS
 *   exec-send       connect, PING (so vaultd has accepted and fixed the
 *                   identity), then exec self keeping the socket; the new
 *                   image sends GRANTS (a request after exec)
 *   agent=NAME      the agent label
 * Exit: 0 granted, 3 refused (the reason on stderr), 1 other errors. */
#include "client.h"
#include "error.h"
#include "paths.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char opts[1024];

static const char *opt(const char *name)
{
    size_t n = strlen(name);
    for (char *p = opts; p != NULL && *p != '\0';) {
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return "";
        if (strncmp(p, name, n) == 0 && p[n] == '=')
            return p + n + 1;
        p = strchr(p, ',');
        if (p != NULL)
            p++;
    }
    return NULL;
}

static void opt_value(const char *name, char *out, size_t cap)
{
    const char *v = opt(name);
    size_t n = 0;
    while (v != NULL && v[n] != '\0' && v[n] != ',' && n + 1 < cap)
        n++;
    if (v != NULL)
        memcpy(out, v, n);
    out[v != NULL ? n : 0] = '\0';
}

static void print_digest(const char *label, const char *name, const uint8_t *data, size_t len, long extra)
{
    uint8_t d[crypto_hash_sha256_BYTES];
    char hex[2 * sizeof d + 1];
    crypto_hash_sha256(d, data, len);
    printf("%s %s %ld %s\n", label, name, extra, sodium_bin2hex(hex, sizeof hex, d, sizeof d));
}

static int refused(int rc, const struct vs_msg *m)
{
    char reason[1024] = "";
    int code = rc;
    if (m->op == VS_OP_ERROR)
        (void)vs_msg_get_error(m, &code, reason, sizeof reason);
    fprintf(stderr, "refused: %s\n", reason[0] != '\0' ? reason : vs_strerror(code));
    return 3;
}

static int converse(int fd)
{
    static uint8_t frame[VS_PROTO_MAX_FRAME + 1], reply[VS_PROTO_MAX_FRAME + 1];
    struct vs_msg m = {.op = 0};
    struct vs_msg_writer w;
    size_t len;
    char agent[64];
    opt_value("agent", agent, sizeof agent);
    vs_msg_begin(&w, frame, sizeof frame, VS_OP_GRANTS, 1);
    if (agent[0] != '\0')
        (void)vs_msg_put_str(&w, VS_F_AGENT, agent);
    if (vs_msg_finish(&w, &len) != 0)
        return 1;
    int rc = vs_client_call(fd, frame, len, reply, sizeof reply, &m);
    if (rc != 0)
        return refused(rc, &m);
    if (opt("no-confirm") != NULL)
        return 0;
    if (opt("stay-dumpable") == NULL && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return 1;
    rc = vs_client_simple(fd, VS_OP_CONFIRM, reply, sizeof reply, &m);
    if (rc != 0)
        return refused(rc, &m);
    size_t cursor = 0;
    struct vs_grant_ref g;
    while (vs_msg_next_grant(&m, &cursor, &g) == 0) {
        char name[256];
        memcpy(name, g.name->data, g.name->len < 255 ? g.name->len : 255);
        name[g.name->len < 255 ? g.name->len : 255] = '\0';
        print_digest("grant", name, g.value->data, g.value->len, (long)g.version);
    }
    cursor = 0;
    const struct vs_field_ref *path;
    while (vs_msg_next(&m, VS_F_PATH, &cursor, &path) == 0)
        printf("path %.*s\n", (int)path->len, (const char *)path->data);
    sodium_memzero(reply, sizeof reply);
    char want[4096];
    opt_value("render", want, sizeof want);
    if (want[0] != '\0') {
        vs_msg_begin(&w, frame, sizeof frame, VS_OP_RENDER_FILE, 2);
        (void)vs_msg_put_str(&w, VS_F_PATH, want);
        if (vs_msg_finish(&w, &len) != 0)
            return 1;
        rc = vs_client_call(fd, frame, len, reply, sizeof reply, &m);
        if (rc != 0)
            return refused(rc, &m);
        const uint8_t *data;
        size_t dlen;
        if (vs_msg_get_bytes(&m, VS_F_FILE_DATA, &data, &dlen) != 0)
            return 1;
        print_digest("file", want, data, dlen, (long)dlen);
        sodium_memzero(reply, sizeof reply);
    }
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    if (sodium_init() < 0)
        return 1;
    const char *env = getenv("VS_PROBE");
    (void)snprintf(opts, sizeof opts, "%s", env != NULL ? env : "");
    const char *inherited = getenv("VS_PROBE_FD");
    if (inherited != NULL) /* the exec'd image of exec-send */
        return converse(atoi(inherited));
    char path[128];
    if (vs_socket_path(path, sizeof path) != 0)
        return 1;
    int fd = vs_client_connect(path);
    if (fd < 0) {
        fprintf(stderr, "refused: vaultd not answering at %s\n", path);
        return 3;
    }
    if (opt("fork-send") != NULL) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(converse(fd));
        int status = 0;
        (void)waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (opt("exec-send") != NULL) {
        static uint8_t reply[VS_PROTO_MAX_FRAME + 1];
        struct vs_msg m;
        if (vs_client_simple(fd, VS_OP_PING, reply, sizeof reply, &m) != 0)
            return 1;
        char fdtext[16];
        (void)snprintf(fdtext, sizeof fdtext, "%d", fd);
        if (fcntl(fd, F_SETFD, 0) != 0 || setenv("VS_PROBE_FD", fdtext, 1) != 0)
            return 1;
        execv("/proc/self/exe", argv);
        return 1;
    }
    return converse(fd);
}
