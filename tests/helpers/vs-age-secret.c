/* Test helper: makes a secret look DAYS days older (its rotation time and
 * its current version's creation time moved back), committed through the
 * vault library with its own audit line, so rotation-overdue cases need no
 * clock tricks. Prints nothing about values.
 * Usage: vs-age-secret HOME KEYFILE NAME DAYS */
#include "error.h"
#include "keyfile.h"
#include "vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 5 || sodium_init() < 0) {
        fprintf(stderr, "usage: vs-age-secret HOME KEYFILE NAME DAYS\n");
        return 2;
    }
    long days = strtol(argv[4], NULL, 10);
    uint8_t *key = NULL;
    int rc = vs_keyfile_read(argv[2], &key);
    struct vs_vault *v = NULL;
    if (rc == 0) {
        struct vs_unlock u = {VS_KDF_KEYFILE, key, 32};
        rc = vs_vault_open(argv[1], &u, VS_VAULT_WRITE, &v);
    }
    sodium_free(key);
    struct vs_secret *sec = rc == 0 ? vs_store_find(v->store, argv[3]) : NULL;
    if (rc == 0 && sec == NULL)
        rc = vs_fail(VS_ENOENT, "%s: no such secret", argv[3]);
    if (rc == 0) {
        uint64_t back = (uint64_t)days * 86400;
        sec->rotated -= back;
        sec->created -= back;
        sec->versions[sec->nversions - 1].created -= back;
        struct vs_audit_event ev = {.event = "test-age", .decision = "ok", .secret = argv[3], .uid = -1, .pid = -1,
                                    .reason = "test fixture: rotation time moved back"};
        rc = vs_vault_commit(v, &ev);
    }
    vs_vault_close(v);
    if (rc != 0) {
        fprintf(stderr, "vs-age-secret: %s\n", vs_last_error(rc));
        return 1;
    }
    return 0;
}
