/* The commands that talk to a running vaultd: status, unlock, lock, reload.
 * The passphrase travels in locked memory and is wiped after the call. */
#include "vaultctl.h"

#include "client.h"
#include "error.h"
#include "paths.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int socket_path(const struct ctl *c, char *out, size_t cap)
{
    if (c->socket != NULL) {
        if ((size_t)snprintf(out, cap, "%s", c->socket) >= cap)
            return vs_fail(VS_ETOOBIG, "--socket path too long");
        return 0;
    }
    return vs_socket_path(out, cap) == 0 ? 0 : vs_fail(VS_ETOOBIG, "socket path too long");
}

/* One request, one reply; the reply's status text is printed. */
static int call(struct ctl *c, uint8_t op, const uint8_t *pass, size_t pass_len)
{
    char path[128];
    int rc = socket_path(c, path, sizeof path);
    if (rc != 0)
        return ctl_fail(c, rc);
    int fd = vs_client_connect(path);
    if (fd < 0)
        return ctl_say(c, CTL_ERROR, "vaultd not answering at %s", path);
    uint8_t *frame = sodium_malloc(VS_PROTO_MAX_FRAME + 1);
    uint8_t *reply = sodium_malloc(VS_PROTO_MAX_FRAME + 1);
    if (frame == NULL || reply == NULL) {
        sodium_free(frame);
        sodium_free(reply);
        close(fd);
        return ctl_fail(c, vs_fail(VS_ENOMEM, "out of memory"));
    }
    struct vs_msg_writer w;
    size_t len = 0;
    vs_msg_begin(&w, frame, VS_PROTO_MAX_FRAME, op, 1);
    if (pass != NULL)
        (void)vs_msg_put_bytes(&w, VS_F_PASSPHRASE, pass, pass_len);
    rc = vs_msg_finish(&w, &len);
    struct vs_msg m = {.op = 0, .nfields = 0};
    if (rc == 0)
        rc = vs_client_call(fd, frame, len, reply, VS_PROTO_MAX_FRAME + 1, &m);
    close(fd);
    char text[16384] = "";
    int code = rc;
    if (rc < 0 && m.op == VS_OP_ERROR)
        (void)vs_msg_get_error(&m, &code, text, sizeof text);
    else if (rc == 0)
        (void)vs_msg_get_str(&m, VS_F_STATUS_TEXT, text, sizeof text);
    sodium_free(frame);
    sodium_free(reply);
    if (rc == VS_EIO)
        return ctl_say(c, CTL_ERROR, "vaultd at %s closed the connection", path);
    if (rc != 0)
        return ctl_say(c, CTL_ERROR, "%s", text[0] != '\0' ? text : vs_strerror(code));
    if (text[0] != '\0')
        printf("%s%s", text, text[strlen(text) - 1] == '\n' ? "" : "\n");
    return CTL_OK;
}

/* unlock and reload of a passphrase vault carry the passphrase. */
static int call_with_passphrase(struct ctl *c, uint8_t op)
{
    enum vs_kdf_kind kind = VS_KDF_PASSPHRASE;
    int rc = vs_vault_kdf_kind(c->home, &kind);
    if (rc != 0)
        return ctl_fail(c, rc);
    if (kind == VS_KDF_KEYFILE)
        return call(c, op, NULL, 0);
    uint8_t *pass = NULL;
    size_t len = 0;
    rc = ctl_read_passphrase(c, "Vault passphrase: ", false, &pass, &len);
    if (rc != 0)
        return ctl_fail(c, rc);
    rc = call(c, op, pass, len);
    sodium_free(pass);
    return rc;
}

int cmd_ping(struct ctl *c)
{
    char path[128];
    int rc = socket_path(c, path, sizeof path);
    if (rc != 0)
        return ctl_fail(c, rc);
    rc = call(c, VS_OP_PING, NULL, 0);
    if (rc == CTL_OK)
        printf("vaultd answers at %s\n", path);
    return rc;
}

int cmd_status(struct ctl *c)
{
    return call(c, VS_OP_STATUS, NULL, 0);
}

int cmd_unlock(struct ctl *c)
{
    return call_with_passphrase(c, VS_OP_UNLOCK);
}

int cmd_lock(struct ctl *c)
{
    return call(c, VS_OP_LOCK, NULL, 0);
}

int cmd_reload(struct ctl *c)
{
    return call_with_passphrase(c, VS_OP_RELOAD);
}
