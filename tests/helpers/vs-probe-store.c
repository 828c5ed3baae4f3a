/* Test helper: prints the SHA-256 of a secret's current value (or "absent"),
 * so integration tests can check what the store holds without any value
 * ever being printed. Usage: vs-probe-store HOME KEYFILE NAME */
#include "error.h"
#include "keyfile.h"
#include "vault.h"

#include <sodium.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4 || sodium_init() < 0) {
        fprintf(stderr, "usage: vs-probe-store HOME KEYFILE NAME\n");
        return 2;
    }
    uint8_t *key = NULL;
    int rc = vs_keyfile_read(argv[2], &key);
    struct vs_vault *v = NULL;
    if (rc == 0) {
        struct vs_unlock u = {VS_KDF_KEYFILE, key, 32};
        rc = vs_vault_open(argv[1], &u, 0, &v);
    }
    sodium_free(key);
    if (rc != 0) {
        fprintf(stderr, "vs-probe-store: %s\n", vs_last_error(rc));
        return 1;
    }
    struct vs_secret *sec = vs_store_find(v->store, argv[3]);
    if (sec == NULL) {
        printf("absent\n");
        vs_vault_close(v);
        return 0;
    }
    uint8_t *value = sodium_malloc(VS_VALUE_MAX);
    size_t len = 0;
    rc = vs_store_open_value(v->store, sec, &sec->versions[sec->nversions - 1], value, &len);
    if (rc == 0) {
        uint8_t digest[crypto_hash_sha256_BYTES];
        char hex[2 * sizeof digest + 1];
        crypto_hash_sha256(digest, value, len);
        printf("%s\n", sodium_bin2hex(hex, sizeof hex, digest, sizeof digest));
    }
    sodium_free(value);
    vs_vault_close(v);
    if (rc != 0)
        fprintf(stderr, "vs-probe-store: %s\n", vs_last_error(rc));
    return rc == 0 ? 0 : 1;
}
