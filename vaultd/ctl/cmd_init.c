#include "vaultctl.h"

#include "error.h"
#include "fileio.h"
#include "keyfile.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int kdf_level(const char *name, enum vs_kdf_level *level)
{
    static const struct { const char *name; enum vs_kdf_level level; } levels[] = {
        {"interactive", VS_KDF_INTERACTIVE}, {"moderate", VS_KDF_MODERATE}, {"sensitive", VS_KDF_SENSITIVE}};
    if (name == NULL) {
        *level = VS_KDF_MODERATE;
        return 0;
    }
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcmp(levels[i].name, name) == 0) {
            *level = levels[i].level;
            return 0;
        }
    return -1;
}

int cmd_init(struct ctl *c)
{
    enum vs_kdf_level level;
    if (kdf_level(c->kdf, &level) != 0)
        return ctl_say(c, CTL_USAGE, "--kdf takes interactive, moderate or sensitive");
    if (c->keyfile_given && c->kdf != NULL)
        return ctl_say(c, CTL_USAGE, "--kdf applies to passphrase vaults, not --keyfile");
    /* The folder first: the default key file lives in it. */
    int dirfd = vs_open_private_dir(c->home, 1);
    if (dirfd < 0)
        return ctl_fail(c, dirfd);
    close(dirfd);
    char keyfile[PATH_MAX] = "";
    uint8_t *secret = NULL;
    size_t len = 0;
    int rc;
    if (c->keyfile_given) {
        rc = ctl_keyfile_path(c, keyfile, sizeof keyfile);
        if (rc == 0)
            rc = vs_keyfile_create(keyfile);
        if (rc != 0)
            return ctl_fail(c, rc);
        rc = vs_keyfile_read(keyfile, &secret);
        len = 32;
    } else {
        rc = ctl_read_passphrase(c, "New vault passphrase: ", true, &secret, &len);
    }
    if (rc == 0) {
        struct vs_unlock u = {.kind = c->keyfile_given ? VS_KDF_KEYFILE : VS_KDF_PASSPHRASE,
                              .secret = secret, .len = len};
        rc = vs_vault_init(c->home, &u, level);
    }
    sodium_free(secret);
    if (rc != 0) {
        if (keyfile[0] != '\0')
            (void)unlink(keyfile); /* created above, for this vault only */
        return ctl_fail(c, rc);
    }
    printf("vault created in %s (%s)\n", c->home, c->keyfile_given ? "key file" : "passphrase");
    if (keyfile[0] != '\0')
        printf("key file: %s (mode 0400; keep it unreadable to the agent's user)\n", keyfile);
    return CTL_OK;
}
