#include "keywrap.h"

#include "error.h"

#include <sodium.h>
#include <string.h>

int vs_kdf_params_new(enum vs_kdf_kind kind, enum vs_kdf_level level, struct vs_kdf_params *p)
{
    memset(p, 0, sizeof *p);
    p->kind = (uint8_t)kind;
    randombytes_buf(p->salt, sizeof p->salt);
    if (kind == VS_KDF_KEYFILE)
        return 0;
    switch (level) {
    case VS_KDF_INTERACTIVE:
        p->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        p->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
        break;
    case VS_KDF_MODERATE:
        p->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
        p->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
        break;
    case VS_KDF_SENSITIVE:
        p->opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
        p->memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
        break;
    default:
        return vs_fail(VS_EINVAL, "unknown kdf level %d", (int)level);
    }
    return 0;
}

int vs_kdf_params_check(const struct vs_kdf_params *p)
{
    if (p->kind == VS_KDF_KEYFILE)
        return p->opslimit == 0 && p->memlimit == 0 ? 0 : vs_fail(VS_ECORRUPT, "store header: bad key-file parameters");
    if (p->kind != VS_KDF_PASSPHRASE)
        return vs_fail(VS_ECORRUPT, "store header: unknown key kind %u", p->kind);
    if (p->opslimit < crypto_pwhash_OPSLIMIT_MIN || p->opslimit > crypto_pwhash_OPSLIMIT_SENSITIVE ||
        p->memlimit < crypto_pwhash_MEMLIMIT_MIN || p->memlimit > crypto_pwhash_MEMLIMIT_SENSITIVE)
        return vs_fail(VS_ECORRUPT, "store header: Argon2id parameters out of range");
    return 0;
}

int vs_kdf_derive(const struct vs_kdf_params *p, const struct vs_unlock *u, uint8_t kek[VS_KEY_BYTES])
{
    int rc = vs_kdf_params_check(p);
    if (rc != 0)
        return rc;
    if (u->kind != p->kind)
        return vs_fail(VS_EINVAL, "this vault is unlocked with %s, not %s",
                       p->kind == VS_KDF_KEYFILE ? "a key file" : "a passphrase",
                       u->kind == VS_KDF_KEYFILE ? "a key file" : "a passphrase");
    if (p->kind == VS_KDF_KEYFILE) {
        if (u->len != VS_KEYFILE_BYTES)
            return vs_fail(VS_EINVAL, "key file must hold %d bytes", VS_KEYFILE_BYTES);
        /* Keyed BLAKE2b over the salt: the key file never is the KEK itself. */
        if (crypto_generichash(kek, VS_KEY_BYTES, p->salt, sizeof p->salt, u->secret, u->len) != 0)
            return vs_fail(VS_ECRYPTO, "key derivation failed");
        return 0;
    }
    if (crypto_pwhash(kek, VS_KEY_BYTES, (const char *)u->secret, u->len, p->salt, p->opslimit,
                      (size_t)p->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return vs_fail(VS_ENOMEM, "Argon2id needs %llu MiB of memory and could not get it",
                       (unsigned long long)(p->memlimit >> 20));
    return 0;
}

int vs_wrap_key(const uint8_t kek[VS_KEY_BYTES], const uint8_t *ad, size_t ad_len,
                const uint8_t key[VS_KEY_BYTES], uint8_t nonce[VS_WRAP_NONCE_BYTES],
                uint8_t wrapped[VS_WRAPPED_BYTES])
{
    randombytes_buf(nonce, VS_WRAP_NONCE_BYTES);
    unsigned long long clen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped, &clen, key, VS_KEY_BYTES, ad, ad_len, NULL,
                                                   nonce, kek) != 0 ||
        clen != VS_WRAPPED_BYTES)
        return vs_fail(VS_ECRYPTO, "wrapping the data key failed");
    return 0;
}

int vs_unwrap_key(const uint8_t kek[VS_KEY_BYTES], const uint8_t *ad, size_t ad_len,
                  const uint8_t nonce[VS_WRAP_NONCE_BYTES], const uint8_t wrapped[VS_WRAPPED_BYTES],
                  uint8_t key[VS_KEY_BYTES])
{
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(key, &mlen, NULL, wrapped, VS_WRAPPED_BYTES, ad, ad_len,
                                                   nonce, kek) != 0 ||
        mlen != VS_KEY_BYTES)
        return vs_fail(VS_ECRYPTO, "cannot unlock: wrong passphrase or key file, or the store header was altered");
    return 0;
}
