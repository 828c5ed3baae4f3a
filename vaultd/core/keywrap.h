/* The data key's wrapping: a key-encryption key from the owner's passphrase
 * (Argon2id) or from a 32-byte key file, and the AEAD that wraps the data
 * key under it. */
#ifndef VS_KEYWRAP_H
#define VS_KEYWRAP_H

#include "store.h"

#define VS_SALT_BYTES 16
#define VS_WRAP_NONCE_BYTES 24
#define VS_WRAPPED_BYTES (VS_KEY_BYTES + 16)
#define VS_KEYFILE_BYTES 32

struct vs_kdf_params {
    uint8_t kind; /* enum vs_kdf_kind */
    uint64_t opslimit;
    uint64_t memlimit;
    uint8_t salt[VS_SALT_BYTES];
};

/* Fills params for a new store (fresh salt; limits from level). */
int vs_kdf_params_new(enum vs_kdf_kind kind, enum vs_kdf_level level, struct vs_kdf_params *p);

/* Refuses parameters outside libsodium's range or above SENSITIVE, so a
 * tampered header cannot make unlocking take a gigabyte or an hour. */
int vs_kdf_params_check(const struct vs_kdf_params *p);

/* Derives the key-encryption key into kek (locked memory, caller wipes). */
int vs_kdf_derive(const struct vs_kdf_params *p, const struct vs_unlock *u, uint8_t kek[VS_KEY_BYTES]);

int vs_wrap_key(const uint8_t kek[VS_KEY_BYTES], const uint8_t *ad, size_t ad_len,
                const uint8_t key[VS_KEY_BYTES], uint8_t nonce[VS_WRAP_NONCE_BYTES],
                uint8_t wrapped[VS_WRAPPED_BYTES]);
int vs_unwrap_key(const uint8_t kek[VS_KEY_BYTES], const uint8_t *ad, size_t ad_len,
                  const uint8_t nonce[VS_WRAP_NONCE_BYTES], const uint8_t wrapped[VS_WRAPPED_BYTES],
                  uint8_t key[VS_KEY_BYTES]);

#endif
