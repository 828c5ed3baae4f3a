/* The encrypted store: one file holding every secret.
 *
 * Rules this module keeps:
 *  1. A value is only ever in plaintext in sodium_malloc'd memory, wiped on
 *     free; the file holds ciphertext (XChaCha20-Poly1305, a fresh random
 *     nonce per write) whose associated data binds store id, name and
 *     version, so a record cannot be swapped, renamed or re-versioned.
 *  2. The data key is wrapped by a key from the owner's passphrase
 *     (Argon2id, parameters in the header) or from a 32-byte key file.
 *  3. A keyed MAC over everything before it (header, generation, the whole
 *     record table) is checked before any record is parsed; the parser is
 *     strict anyway (sorted unique names, rising versions, no trailing bytes)
 *     and never trusts a length it has not bounded.
 *  4. Writing re-seals nothing but the value being changed.
 *
 * File layout (little-endian):
 *   "VSSTORE1" u32 format u8[16] store_id u8 kdf u8[3] 0 u64 opslimit
 *   u64 memlimit u8[16] salt                      <- 64-byte prefix, AD of:
 *   u8[24] wrap_nonce u8[48] wrapped data key
 *   u64 generation u64 audit_seq u32 nsecrets, then per secret:
 *     u8 name_len name u64 created u64 rotated u64 revoked_at u32 flags
 *     u32 rotation_days u16 reason_len reason u16 nversions, per version:
 *       u32 version u64 created u8[24] nonce u32 ct_len ct
 *   u8[32] MAC (BLAKE2b keyed with a subkey of the data key) */
#ifndef VS_STORE_H
#define VS_STORE_H

#include "names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_VALUE_MAX 16384          /* bytes of one secret value */
#define VS_REASON_MAX 256
#define VS_KEEP_VERSIONS_DEFAULT 5
#define VS_STORE_MAX_BYTES (64u << 20)
#define VS_KEY_BYTES 32
#define VS_STORE_ID_BYTES 16

enum vs_kdf_kind { VS_KDF_PASSPHRASE = 1, VS_KDF_KEYFILE = 2 };
enum vs_kdf_level { VS_KDF_INTERACTIVE, VS_KDF_MODERATE, VS_KDF_SENSITIVE };

#define VS_SECRET_REVOKED 0x1u
#define VS_SECRET_FLAGS_KNOWN VS_SECRET_REVOKED

/* What unlocks a store: passphrase bytes or key file bytes. Both point at
 * memory the caller keeps locked and wipes. */
struct vs_unlock {
    enum vs_kdf_kind kind;
    const uint8_t *secret;
    size_t len;
};

struct vs_version {
    uint32_t version;
    uint64_t created;
    uint8_t nonce[24];
    uint32_t ct_len;
    uint8_t *ct;
};

/* One secret's record. name and reason are heap strings of their own
 * length, not fixed arrays: a vault of 10,000 secrets keeps its table
 * small (most reasons are empty). The store owns both; change the reason
 * only through vs_secret_set_reason. */
struct vs_secret {
    char *name;
    uint64_t created, rotated, revoked_at; /* unix seconds */
    uint32_t flags;
    uint32_t rotation_days; /* 0: the policy's default */
    char *reason; /* NULL when there is none; see vs_secret_reason */
    uint16_t nversions;
    struct vs_version *versions; /* oldest first; the last is current */
};

struct vs_store; /* opaque: holds the keys */

/* Creates an empty store (generation 0) with a new random data key wrapped
 * for u. level applies to passphrases. */
int vs_store_create(const struct vs_unlock *u, enum vs_kdf_level level, struct vs_store **out);

/* Reads the kdf kind from a store file's header without unlocking it. */
int vs_store_peek_kdf(const uint8_t *file, size_t len, enum vs_kdf_kind *kind);

/* Verifies and parses a store file, unlocking it with u. */
int vs_store_parse(const uint8_t *file, size_t len, const struct vs_unlock *u, struct vs_store **out);

/* Re-reads a newer version of the same store (same id and wrapped key)
 * with the keys already held, so a daemon picks up vaultctl's writes
 * without keeping the passphrase. On failure s is unchanged. */
int vs_store_reload(struct vs_store *s, const uint8_t *file, size_t len);

/* Serialises with a fresh MAC; *out is malloc'd (ciphertext only). */
int vs_store_serialize(const struct vs_store *s, uint8_t **out, size_t *out_len);

void vs_store_free(struct vs_store *s);

uint64_t vs_store_generation(const struct vs_store *s);
void vs_store_set_generation(struct vs_store *s, uint64_t gen);
uint64_t vs_store_audit_seq(const struct vs_store *s);
void vs_store_set_audit_seq(struct vs_store *s, uint64_t seq);
const uint8_t *vs_store_id(const struct vs_store *s);
/* The key the audit log's MACs use (derived from the data key). */
const uint8_t *vs_store_audit_key(const struct vs_store *s);

size_t vs_store_count(const struct vs_store *s);
struct vs_secret *vs_store_at(struct vs_store *s, size_t i); /* sorted by name */
struct vs_secret *vs_store_find(struct vs_store *s, const char *name);

/* Adds a new secret (VS_EEXIST if present) or a new version of an existing
 * one (VS_ENOENT if absent); keeps at most keep versions. */
int vs_store_add(struct vs_store *s, const char *name, const uint8_t *value, size_t len, uint64_t now);
int vs_store_rotate(struct vs_store *s, const char *name, const uint8_t *value, size_t len, uint64_t now,
                    unsigned keep);
int vs_store_remove(struct vs_store *s, const char *name);

/* The revocation reason, "" when there is none (never NULL). */
const char *vs_secret_reason(const struct vs_secret *sec);

/* Sets (or, with NULL or "", clears) the revocation reason: at most
 * VS_REASON_MAX printable bytes (VS_ETOOBIG, VS_EINVAL otherwise). On
 * failure the old reason stays. */
int vs_secret_set_reason(struct vs_secret *sec, const char *reason);

/* Decrypts one version into out (at least VS_VALUE_MAX bytes of locked
 * memory the caller owns and wipes). */
int vs_store_open_value(const struct vs_store *s, const struct vs_secret *sec, const struct vs_version *v,
                        uint8_t *out, size_t *out_len);

#endif
