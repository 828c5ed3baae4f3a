/* make bench helper: fills a key-file vault with N fake secrets in one
 * commit (vaultctl save would rewrite the store N times), for the scale
 * figures. Usage: vsbench-fill HOME KEYFILE N PREFIX. Values are random
 * and never printed. */
#include "keyfile.h"
#include "vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc != 5 || sodium_init() < 0)
        return 2;
    uint8_t *key = NULL;
    struct vs_vault *v = NULL;
    if (vs_keyfile_read(argv[2], &key) != 0)
        return 1;
    struct vs_unlock u = {.kind = VS_KDF_KEYFILE, .secret = key, .len = 32};
    int rc = vs_vault_open(argv[1], &u, VS_VAULT_WRITE, &v);
    sodium_free(key);
    if (rc != 0) {
        fprintf(stderr, "vsbench-fill: open failed (%d)\n", rc);
        return 1;
    }
    long n = strtol(argv[3], NULL, 10);
    uint8_t value[40];
    char name[64];
    for (long i = 0; i < n && rc == 0; i++) {
        randombytes_buf(value, sizeof value);
        (void)snprintf(name, sizeof name, "%s%ld", argv[4], i);
        rc = vs_store_add(v->store, name, value, sizeof value, (uint64_t)time(NULL));
    }
    sodium_memzero(value, sizeof value);
    struct vs_audit_event ev = {.event = "save", .decision = "ok", .reason = "bench fill", .uid = -1, .pid = -1};
    if (rc == 0)
        rc = vs_vault_commit(v, &ev);
    vs_vault_close(v);
    if (rc != 0)
        fprintf(stderr, "vsbench-fill: failed (%d)\n", rc);
    return rc != 0;
}
