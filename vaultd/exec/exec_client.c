/* vault-exec and vaultd: MEDIATE (vaultd judges our target fd and argv
 * from the kernel, and may hold us for an approval), then non-dumpable,
 * CONFIRM (the values) with WITH_FILES when vaultd takes it (RUN_FLAGS),
 * each granted file's render right behind them (else a RENDER_FILE per
 * file) into sealed memfds the target inherits; EXEC_DONE on a fresh
 * connection after the run. */
#include "vexec.h"

#include "client.h"
#include "error.h"
#include "proto.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPLY_BYTES (VS_PROTO_MAX_FRAME + 1)
#define REGION_BYTES (VS_PROTO_MAX_FRAME + 4096)

/* The reason of an ERROR reply, or the code's phrase. */
static int refused(const struct vs_msg *m, int rc, const char *step)
{
    char why[VS_F_REASON_MAX + 1] = "";
    int code = rc;
    if (m->op == VS_OP_ERROR)
        (void)vs_msg_get_error(m, &code, why, sizeof why);
    if (rc == VS_EIO)
        return vs_fail(VS_EIO, "%s: vaultd closed the connection", step);
    return vs_fail(code < 0 ? code : VS_EPROTO, "%s", why[0] != '\0' ? why : vs_strerror(code));
}

static int ask_mediate(struct vexec *v, uint8_t *reply, struct vs_msg *m)
{
    uint8_t frame[1024];
    struct vs_msg_writer w;
    size_t len = 0;
    vs_msg_begin(&w, frame, sizeof frame, VS_OP_MEDIATE, 1);
    (void)vs_msg_put_u32(&w, VS_F_EXEC_FD, (uint32_t)v->targetfd);
    if (v->agent != NULL)
        (void)vs_msg_put_str(&w, VS_F_AGENT, v->agent);
    if (v->session != NULL && v->session[0] != '\0')
        (void)vs_msg_put_str(&w, VS_F_SESSION, v->session);
    int rc = vs_msg_finish(&w, &len);
    if (rc == 0)
        rc = vs_client_call(v->sock, frame, len, reply, REPLY_BYTES, m);
    if (rc != 0)
        return refused(m, rc, "MEDIATE");
    uint32_t flags = 0;
    (void)vs_msg_get_u32(m, VS_F_RUN_FLAGS, &flags);
    v->mask = (flags & VS_RUN_MASK) != 0;
    v->files_with_confirm = (flags & VS_RUN_WITH_FILES) != 0;
    if (vs_msg_get_str(m, VS_F_PATH, v->script, sizeof v->script) != 0)
        v->script[0] = '\0';
    return 0;
}

static int take_grants(struct vexec *v, const struct vs_msg *m)
{
    size_t cursor = 0;
    struct vs_grant_ref g;
    while (vs_msg_next_grant(m, &cursor, &g) == 0) {
        size_t need = g.name->len + g.value->len + 2;
        if (v->ngrants == VEXEC_MAX_GRANTS || v->region_used + need > REGION_BYTES)
            return vs_fail(VS_ETOOBIG, "more grants than vault-exec holds");
        if (memchr(g.value->data, 0, g.value->len) != NULL)
            return vs_fail(VS_EINVAL, "%.*s: a value with a NUL byte cannot be an environment value",
                           (int)g.name->len, (const char *)g.name->data);
        char *e = (char *)v->region + v->region_used;
        memcpy(e, g.name->data, g.name->len);
        e[g.name->len] = '=';
        memcpy(e + g.name->len + 1, g.value->data, g.value->len);
        e[need - 1] = '\0';
        v->region_used += need;
        v->grants[v->ngrants++] = (struct vexec_grant){e, g.name->len};
    }
    cursor = 0;
    const struct vs_field_ref *path;
    while (vs_msg_next(m, VS_F_PATH, &cursor, &path) == 0) {
        if (v->nfiles == VEXEC_MAX_FILES || path->len >= sizeof v->files[0].path)
            return vs_fail(VS_ETOOBIG, "more files than vault-exec holds");
        struct vexec_file *f = &v->files[v->nfiles++];
        memcpy(f->path, path->data, path->len);
        f->path[path->len] = '\0';
        f->memfd = -1;
        f->var = vexec_path_variable(f->path);
    }
    cursor = 0;
    const struct vs_field_ref *mask;
    while (vs_msg_next(m, VS_F_MASK, &cursor, &mask) == 0) {
        if (v->nfile_values == VEXEC_MAX_GRANTS || v->region_used + mask->len > REGION_BYTES)
            return vs_fail(VS_ETOOBIG, "more file values than vault-exec holds");
        uint8_t *dst = v->region + v->region_used;
        memcpy(dst, mask->data, mask->len);
        v->region_used += mask->len;
        v->file_values[v->nfile_values++] = (struct vs_mask_value){dst, mask->len};
    }
    return 0;
}

/* A sealed memfd the target inherits (no CLOEXEC), holding data. */
static int sealed_memfd(const char *path, const uint8_t *data, size_t len, int *out)
{
    int fd = memfd_create("vault-exec", MFD_ALLOW_SEALING);
    if (fd < 0)
        return vs_fail_errno(VS_EIO, "memfd for %s", path);
    bool ok = fchmod(fd, 0400) == 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t k = write(fd, data + off, len - off);
        ok = k > 0;
        off += ok ? (size_t)k : 0;
    }
    ok = ok && lseek(fd, 0, SEEK_SET) == 0 &&
         fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) == 0;
    if (!ok) {
        close(fd);
        return vs_fail_errno(VS_EIO, "memfd for %s", path);
    }
    *out = fd;
    return 0;
}

/* A file's answer m (its render) into a sealed memfd; the answer must
 * name f's path. */
static int take_file(struct vexec_file *f, const struct vs_msg *m)
{
    const uint8_t *data = NULL, *path = NULL;
    size_t dlen = 0, plen = 0;
    if (vs_msg_get_bytes(m, VS_F_PATH, &path, &plen) != 0 || plen != strlen(f->path) ||
        memcmp(path, f->path, plen) != 0)
        return vs_fail(VS_EPROTO, "RENDER_FILE: an answer for another file than %s", f->path);
    if (vs_msg_get_bytes(m, VS_F_FILE_DATA, &data, &dlen) != 0)
        return vs_fail(VS_EPROTO, "RENDER_FILE: no file data");
    return sealed_memfd(f->path, data, dlen, &f->memfd);
}

/* With an older vaultd: one RENDER_FILE round trip per file. */
static int render(struct vexec *v, struct vexec_file *f, uint8_t *reply)
{
    uint8_t frame[4200];
    struct vs_msg_writer w;
    struct vs_msg m = {.op = 0};
    size_t len = 0;
    vs_msg_begin(&w, frame, sizeof frame, VS_OP_RENDER_FILE, 3);
    (void)vs_msg_put_str(&w, VS_F_PATH, f->path);
    int rc = vs_msg_finish(&w, &len);
    if (rc == 0 && (rc = vs_client_call(v->sock, frame, len, reply, REPLY_BYTES, &m)) != 0)
        rc = refused(&m, rc, "RENDER_FILE");
    if (rc == 0)
        rc = take_file(f, &m);
    sodium_memzero(reply, REPLY_BYTES);
    return rc;
}

/* CONFIRM WITH_FILES: vaultd renders every granted file right behind the
 * GRANT_LIST, in the round of the grant (one fsync for all their lines). */
static int confirm(struct vexec *v, uint8_t *reply, struct vs_msg *m)
{
    uint8_t frame[64];
    struct vs_msg_writer w;
    size_t len = 0;
    vs_msg_begin(&w, frame, sizeof frame, VS_OP_CONFIRM, 2);
    if (v->files_with_confirm)
        (void)vs_msg_put_u32(&w, VS_F_WITH_FILES, 1);
    int rc = vs_msg_finish(&w, &len);
    if (rc == 0)
        rc = vs_client_call(v->sock, frame, len, reply, REPLY_BYTES, m);
    return rc;
}

static int take_files(struct vexec *v, uint8_t *reply)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < v->nfiles; i++) {
        struct vs_msg m = {.op = 0};
        if (!v->files_with_confirm) {
            rc = render(v, &v->files[i], reply);
            continue;
        }
        rc = vs_client_recv(v->sock, reply, REPLY_BYTES, &m);
        rc = rc != 0 ? refused(&m, rc, "RENDER_FILE") : take_file(&v->files[i], &m);
        sodium_memzero(reply, REPLY_BYTES);
    }
    return rc;
}

int vexec_mediate(struct vexec *v, const char *socket_path)
{
    v->sock = vs_client_connect(socket_path);
    if (v->sock < 0)
        return vs_fail(VS_EIO, "vaultd not answering at %s", socket_path);
    uint8_t *reply = sodium_malloc(REPLY_BYTES);
    v->region = sodium_malloc(REGION_BYTES);
    if (reply == NULL || v->region == NULL) {
        sodium_free(reply);
        return vs_fail(VS_ENOMEM, "out of memory");
    }
    struct vs_msg m = {.op = 0};
    int rc = ask_mediate(v, reply, &m);
    /* Invariant 7: non-dumpable before any value can arrive. */
    if (rc == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        rc = vs_fail_errno(VS_EPERM, "cannot make vault-exec non-dumpable");
    if (rc == 0 && (rc = confirm(v, reply, &m)) != 0)
        rc = refused(&m, rc, "CONFIRM");
    if (rc == 0 && m.op != VS_OP_GRANT_LIST)
        rc = vs_fail(VS_EPROTO, "CONFIRM: unexpected answer from vaultd");
    if (rc == 0)
        rc = take_grants(v, &m);
    sodium_memzero(reply, REPLY_BYTES);
    if (rc == 0)
        rc = take_files(v, reply);
    sodium_free(reply);
    close(v->sock);
    v->sock = -1;
    return rc;
}

void vexec_wipe(struct vexec *v)
{
    sodium_free(v->region); /* wipes */
    v->region = NULL;
    v->ngrants = 0;
    for (size_t i = 0; i < v->nfiles; i++)
        if (v->files[i].memfd >= 0)
            close(v->files[i].memfd);
    v->nfiles = 0;
}

void vexec_report(const char *socket_path, const char *agent, int status, uint32_t duration_ms)
{
    uint8_t frame[512];
    uint8_t *reply = sodium_malloc(REPLY_BYTES);
    struct vs_msg_writer w;
    struct vs_msg m = {.op = 0};
    size_t len = 0;
    vs_msg_begin(&w, frame, sizeof frame, VS_OP_EXEC_DONE, 4);
    (void)vs_msg_put_u32(&w, VS_F_EXIT_STATUS, (uint32_t)status);
    (void)vs_msg_put_u32(&w, VS_F_DURATION_MS, duration_ms);
    if (agent != NULL)
        (void)vs_msg_put_str(&w, VS_F_AGENT, agent);
    int rc = reply == NULL ? VS_ENOMEM : vs_msg_finish(&w, &len);
    int fd = rc == 0 ? vs_client_connect(socket_path) : -1;
    if (rc == 0 && fd < 0)
        rc = VS_EIO;
    if (rc == 0 && (rc = vs_client_call(fd, frame, len, reply, REPLY_BYTES, &m)) != 0)
        rc = refused(&m, rc, "EXEC_DONE");
    if (fd >= 0)
        close(fd);
    sodium_free(reply);
    if (rc != 0)
        fprintf(stderr, "vault-exec: the exit status was not logged: %s\n", vs_last_error(rc));
}
