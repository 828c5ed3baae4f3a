/* The wire protocol between vaultd and its peers (libvaultshim.so, vaultctl).
 *
 * One SOCK_SEQPACKET message is one frame, all integers little-endian:
 *
 *   header  u8 version (VS_PROTO_VERSION), u8 op (enum vs_op),
 *           u16 reserved (must be 0), u32 request id
 *   fields  repeated until the end of the frame:
 *           u16 type (enum vs_field), u32 length, length bytes
 *
 * Rules this module keeps (the decoder refuses, the writer will not emit):
 *  1. A frame is 8..VS_PROTO_MAX_FRAME bytes; the length is checked before
 *     any byte is read. Oversize frames and fields give VS_ETOOBIG, every
 *     other malformation VS_EPROTO, with one vs_fail() detail line naming it.
 *  2. Every field type has a length range (u32 fields exactly 4 bytes) and
 *     text fields hold no NUL byte.
 *  3. Which fields an op may carry, which are required and which may repeat
 *     is one table in proto.c; anything else (unknown op or field, a field
 *     the op does not take, a duplicate) is refused.
 *  4. A GRANT_LIST holds NAME, VALUE, VERSION triples (one per env grant) and
 *     lone PATHs (one per managed file), HIDEs (hide_files) and MASKs (the
 *     values inside a mediated run's files, masked, never put in env), in any order but never a partial
 *     triple.
 *  5. No allocation, no copy of secret bytes while decoding: a decoded
 *     vs_msg points into the caller's frame, which the caller owns and wipes.
 *     The writer fills a caller-provided fixed buffer (locked memory) and
 *     never writes past its capacity.
 *
 * What a peer puts in a request (AGENT, SESSION) is a label for logs and
 * audit, never a basis for a decision: vaultd decides from kernel facts. */
#ifndef VS_PROTO_H
#define VS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define VS_PROTO_VERSION 1
#define VS_PROTO_HEADER 8        /* bytes */
#define VS_PROTO_FIELD_HEADER 6  /* bytes before each field's data */
#define VS_PROTO_MAX_FRAME 65536 /* bytes, header included */
#define VS_PROTO_MAX_FIELDS 512  /* per frame */

/* Stable numbers: never renumber, only add. Requests 0x01-0x7f, replies
 * 0x80-0xff. */
enum vs_op {
    VS_OP_GRANTS = 0x01,      /* "my grants": AGENT?, SESSION?, ONE_STEP?, WITH_FILES? */
    VS_OP_CONFIRM = 0x02,     /* handshake step 2: "I am non-dumpable now": WITH_FILES? */
    VS_OP_RENDER_FILE = 0x03, /* bytes of one managed file: PATH */
    VS_OP_STATUS = 0x04,
    VS_OP_UNLOCK = 0x05,      /* PASSPHRASE */
    VS_OP_LOCK = 0x06,
    VS_OP_RELOAD = 0x07,      /* PASSPHRASE? */
    VS_OP_PING = 0x08,
    /* 0x10-0x1f: key lifecycle (docs/lifecycle.md) */
    VS_OP_LOCKDOWN = 0x10,     /* LIFT? PASSPHRASE?: refuse every grant, or lift that */
    VS_OP_SESSION_OPEN = 0x11, /* AGENT: OK carries SESSION */
    VS_OP_SESSIONS = 0x12,     /* OK carries STATUS_TEXT */
    VS_OP_SESSION_END = 0x13,  /* SESSION */
    VS_OP_RELEASE = 0x14,      /* NAME PASSPHRASE?: lift a quarantine */
    VS_OP_USAGE = 0x15,        /* NAME?: OK carries STATUS_TEXT */
    /* Mediated runs (vault-exec) and approvals; see docs/vault-exec.md. */
    VS_OP_MEDIATE = 0x09,     /* vault-exec: EXEC_FD, AGENT?, SESSION? -> OK (COUNT, RUN_FLAGS, PATH?) */
    VS_OP_EXEC_DONE = 0x0a,   /* vault-exec after the run: EXIT_STATUS, DURATION_MS, AGENT? */
    VS_OP_PENDING = 0x0b,     /* owner: held requests -> OK (STATUS_TEXT) */
    VS_OP_APPROVE = 0x0c,     /* owner: REQ_ID, FOR_SECONDS?, USES?, PASSPHRASE? */
    VS_OP_DENY = 0x0d,        /* owner: REQ_ID */
    VS_OP_OK = 0x80,          /* PATH? FILE_DATA? COUNT? VERSION? SESSION? STATUS_TEXT? */
    VS_OP_ERROR = 0x81,       /* ERRCODE, REASON? */
    VS_OP_GRANT_LIST = 0x82,  /* (NAME VALUE VERSION)* and PATH*, see rule 4 */
};

enum vs_field {
    VS_F_NAME = 1,         /* text 1..255: env or secret name */
    VS_F_VALUE = 2,        /* bytes 0..16384: secret value */
    VS_F_PATH = 3,         /* text 1..4096 */
    VS_F_FILE_DATA = 4,    /* bytes 0..32768: rendered managed file */
    VS_F_ERRCODE = 5,      /* u32: -VS_E* */
    VS_F_REASON = 6,       /* text 0..1024 */
    VS_F_AGENT = 7,        /* text 1..255 */
    VS_F_SESSION = 8,      /* text 1..255 */
    VS_F_PASSPHRASE = 9,   /* bytes 0..1024 */
    VS_F_COUNT = 10,       /* u32 */
    VS_F_VERSION = 11,     /* u32 */
    VS_F_STATUS_TEXT = 12, /* text 0..16384 */
    VS_F_LIFT = 21,        /* u32: 1 lifts a lockdown */
    VS_F_HIDE = 22,        /* text 1..1023: a path the granted tool must not see (hide_files) */
    VS_F_MASK = 23,        /* bytes 1..16384: a value inside a granted file, for vault-exec's masker */
    VS_F_ONE_STEP = 24,    /* u32 1 on GRANTS: "I am non-dumpable already": the answer is the GRANT_LIST */
    VS_F_WITH_FILES = 25,  /* u32 1 on the request that grants: each granted file's render follows the GRANT_LIST */
    VS_F_EXEC_FD = 13,     /* u32: the fd vault-exec holds on its target */
    VS_F_EXIT_STATUS = 14, /* u32: 0..255, 128+signal */
    VS_F_DURATION_MS = 15, /* u32 */
    VS_F_REQ_ID = 16,      /* u32: a held request */
    VS_F_FOR_SECONDS = 17, /* u32: remember an approval this long */
    VS_F_USES = 18,        /* u32: ... for this many runs */
    VS_F_RUN_FLAGS = 19,   /* u32: a mediated run's VS_RUN_* bits */
};

#define VS_RUN_MASK 0x1u /* relay the tool's output through the masker */
#define VS_RUN_WITH_FILES 0x2u /* CONFIRM may say WITH_FILES: the renders follow the GRANT_LIST */

#define VS_F_NAME_MAX 255
#define VS_F_VALUE_MAX 16384
#define VS_F_PATH_MAX 4096
#define VS_F_FILE_DATA_MAX 32768
#define VS_F_REASON_MAX 1024
#define VS_F_LABEL_MAX 255 /* AGENT, SESSION */
#define VS_F_PASSPHRASE_MAX 1024
#define VS_F_STATUS_TEXT_MAX 16384

/* "GRANTS", "NAME"...; "unknown" for a number not in the enum. Never NULL. */
/* The name tables hold names as arrays of these sizes, NUL included (no
 * relocation: common/proto.c). A name that fills its array exactly would
 * compile without its NUL; test_proto checks every one has it. */
#define VS_OP_NAME_SIZE 13
#define VS_FIELD_NAME_SIZE 12
const char *vs_op_name(unsigned op);
const char *vs_field_name(unsigned type);
/* 1 for a known request op, 0 otherwise (replies, unknown numbers). */
int vs_op_is_request(unsigned op);

struct vs_field_ref {
    uint16_t type;
    uint32_t len;
    const uint8_t *data; /* into the decoded frame */
};

struct vs_msg {
    uint8_t version, op;
    uint32_t id;
    size_t nfields;
    struct vs_field_ref fields[VS_PROTO_MAX_FIELDS];
};

/* Decodes and validates one frame. On success out points into frame, which
 * must outlive it; on failure out->nfields is 0. 0, VS_EPROTO, VS_ETOOBIG or
 * VS_EINVAL (NULL arguments). */
int vs_msg_decode(const uint8_t *frame, size_t len, struct vs_msg *out);

/* Getters for fields that occur once: VS_ENOENT when absent, VS_EPROTO when
 * the field repeats (use vs_msg_next) or has the wrong shape. */
int vs_msg_get_u32(const struct vs_msg *m, uint16_t type, uint32_t *out);
/* Copies and NUL-terminates; refuses an embedded NUL (VS_EPROTO) and a
 * string longer than cap-1 (VS_ETOOBIG). out is "" on failure (cap > 0). */
int vs_msg_get_str(const struct vs_msg *m, uint16_t type, char *out, size_t cap);
int vs_msg_get_bytes(const struct vs_msg *m, uint16_t type, const uint8_t **data, size_t *len);
/* Iterates fields of one type in frame order. Start with *cursor = 0; 0 with
 * *out set while there is one, VS_ENOENT after the last. */
int vs_msg_next(const struct vs_msg *m, uint16_t type, size_t *cursor,
                const struct vs_field_ref **out);

/* One env grant of a GRANT_LIST, pointing into the frame. */
struct vs_grant_ref {
    const struct vs_field_ref *name, *value;
    uint32_t version;
};
/* Iterates the NAME, VALUE, VERSION triples of a decoded GRANT_LIST (its
 * PATHs through vs_msg_next). 0 while there is one, VS_ENOENT after the
 * last, VS_EPROTO for another op or a broken triple. */
int vs_msg_next_grant(const struct vs_msg *m, size_t *cursor, struct vs_grant_ref *out);

/* An ERROR reply's code (a negative VS_E*) and reason, truncated to cap-1
 * (reason may be NULL). VS_EPROTO if m is not a well-formed ERROR. */
int vs_msg_get_error(const struct vs_msg *m, int *code, char *reason, size_t cap);

/* Internal state of the writer's schema check; callers never touch it. */
struct vs_proto_check {
    uint32_t seen;  /* bit per field type present */
    uint8_t group;  /* GRANT_LIST: position inside a NAME VALUE VERSION triple */
};

/* Encodes into a caller-provided buffer, with a sticky error: call begin,
 * the puts, then finish once and check its result. A put that does not fit
 * writes nothing and fails with VS_ETOOBIG (cap, field maximum,
 * VS_PROTO_MAX_FRAME or VS_PROTO_MAX_FIELDS); a field the op does not take, a duplicate, a missing
 * required field (at finish) or a NUL in a text field fails with VS_EINVAL.
 * On failure the buffer may hold a partial frame: the caller wipes it. */
struct vs_msg_writer {
    uint8_t *buf;
    size_t cap, len;
    int err;
    uint8_t op;
    size_t nfields;
    struct vs_proto_check chk;
};

void vs_msg_begin(struct vs_msg_writer *w, uint8_t *buf, size_t cap, uint8_t op, uint32_t id);
int vs_msg_put_bytes(struct vs_msg_writer *w, uint16_t type, const void *data, size_t len);
int vs_msg_put_str(struct vs_msg_writer *w, uint16_t type, const char *s);
int vs_msg_put_u32(struct vs_msg_writer *w, uint16_t type, uint32_t v);
/* NAME, VALUE, VERSION in one call, for a GRANT_LIST. */
int vs_msg_put_grant(struct vs_msg_writer *w, const char *name, const void *value,
                     size_t value_len, uint32_t version);
/* The sticky error; on success *len (if not NULL) is the frame length,
 * otherwise 0. */
int vs_msg_finish(struct vs_msg_writer *w, size_t *len);

/* Builds a whole ERROR reply: code is a negative VS_E*, reason a line for
 * the peer (NULL: vs_strerror(code)), truncated to VS_F_REASON_MAX. */
int vs_msg_build_error(uint8_t *buf, size_t cap, uint32_t id, int code, const char *reason,
                       size_t *len);

#endif
