/* The wire protocol; the rules it keeps are numbered in proto.h. The decoder
 * and the writer share one check (check_field, check_end), so what one
 * accepts the other can produce, and nothing else. No malloc, no stdio
 * except through vs_fail: the shim calls this from its constructor. */
#include "proto.h"

#include "buf.h"
#include "error.h"

#include <string.h>

enum kind { K_TEXT, K_BYTES, K_U32 };

/* Names as arrays, not pointers: the tables then need no relocation and stay
 * out of the shim's RELRO page (one page fault fewer in every process). */
static const struct {
    uint16_t type;
    uint8_t kind;
    uint32_t min, max;
    char name[VS_FIELD_NAME_SIZE];
} field_table[] = {
    {VS_F_NAME, K_TEXT, 1, VS_F_NAME_MAX, "NAME"},
    {VS_F_VALUE, K_BYTES, 0, VS_F_VALUE_MAX, "VALUE"},
    {VS_F_PATH, K_TEXT, 1, VS_F_PATH_MAX, "PATH"},
    {VS_F_FILE_DATA, K_BYTES, 0, VS_F_FILE_DATA_MAX, "FILE_DATA"},
    {VS_F_ERRCODE, K_U32, 4, 4, "ERRCODE"},
    {VS_F_REASON, K_TEXT, 0, VS_F_REASON_MAX, "REASON"},
    {VS_F_AGENT, K_TEXT, 1, VS_F_LABEL_MAX, "AGENT"},
    {VS_F_SESSION, K_TEXT, 1, VS_F_LABEL_MAX, "SESSION"},
    {VS_F_PASSPHRASE, K_BYTES, 0, VS_F_PASSPHRASE_MAX, "PASSPHRASE"},
    {VS_F_COUNT, K_U32, 4, 4, "COUNT"},
    {VS_F_VERSION, K_U32, 4, 4, "VERSION"},
    {VS_F_STATUS_TEXT, K_TEXT, 0, VS_F_STATUS_TEXT_MAX, "STATUS_TEXT"},
    {VS_F_LIFT, K_U32, 4, 4, "LIFT"},
    {VS_F_HIDE, K_TEXT, 1, 1023, "HIDE"},
    {VS_F_MASK, K_BYTES, 1, VS_F_VALUE_MAX, "MASK"},
    {VS_F_ONE_STEP, K_U32, 4, 4, "ONE_STEP"},
    {VS_F_WITH_FILES, K_U32, 4, 4, "WITH_FILES"},
    {VS_F_EXEC_FD, K_U32, 4, 4, "EXEC_FD"},
    {VS_F_EXIT_STATUS, K_U32, 4, 4, "EXIT_STATUS"},
    {VS_F_DURATION_MS, K_U32, 4, 4, "DURATION_MS"},
    {VS_F_REQ_ID, K_U32, 4, 4, "REQ_ID"},
    {VS_F_FOR_SECONDS, K_U32, 4, 4, "FOR_SECONDS"},
    {VS_F_USES, K_U32, 4, 4, "USES"},
    {VS_F_RUN_FLAGS, K_U32, 4, 4, "RUN_FLAGS"},
};

static const struct {
    uint8_t op;
    char name[VS_OP_NAME_SIZE];
} op_table[] = {
    {VS_OP_GRANTS, "GRANTS"}, {VS_OP_CONFIRM, "CONFIRM"}, {VS_OP_RENDER_FILE, "RENDER_FILE"},
    {VS_OP_STATUS, "STATUS"}, {VS_OP_UNLOCK, "UNLOCK"},   {VS_OP_LOCK, "LOCK"},
    {VS_OP_RELOAD, "RELOAD"}, {VS_OP_PING, "PING"},       {VS_OP_OK, "OK"},
    {VS_OP_ERROR, "ERROR"},   {VS_OP_GRANT_LIST, "GRANT_LIST"},
    {VS_OP_LOCKDOWN, "LOCKDOWN"}, {VS_OP_SESSION_OPEN, "SESSION_OPEN"}, {VS_OP_SESSIONS, "SESSIONS"},
    {VS_OP_SESSION_END, "SESSION_END"}, {VS_OP_RELEASE, "RELEASE"}, {VS_OP_USAGE, "USAGE"},
    {VS_OP_MEDIATE, "MEDIATE"}, {VS_OP_EXEC_DONE, "EXEC_DONE"}, {VS_OP_PENDING, "PENDING"},
    {VS_OP_APPROVE, "APPROVE"}, {VS_OP_DENY, "DENY"},
};

#define REQUIRED 0x1u
#define REPEATABLE 0x2u

/* The schema: which (op, field) pairs exist. A pair not listed is refused;
 * an op with no row takes no field. */
static const struct {
    uint8_t op;
    uint16_t field;
    uint8_t flags;
} schema[] = {
    {VS_OP_GRANTS, VS_F_AGENT, 0},
    {VS_OP_GRANTS, VS_F_SESSION, 0},
    {VS_OP_GRANTS, VS_F_ONE_STEP, 0},
    {VS_OP_GRANTS, VS_F_WITH_FILES, 0},
    {VS_OP_CONFIRM, VS_F_WITH_FILES, 0},
    {VS_OP_RENDER_FILE, VS_F_PATH, REQUIRED},
    {VS_OP_UNLOCK, VS_F_PASSPHRASE, 0}, /* a key-file vault unlocks without one */
    {VS_OP_RELOAD, VS_F_PASSPHRASE, 0},
    {VS_OP_LOCKDOWN, VS_F_LIFT, 0},
    {VS_OP_LOCKDOWN, VS_F_PASSPHRASE, 0},
    {VS_OP_SESSION_OPEN, VS_F_AGENT, REQUIRED},
    {VS_OP_SESSION_END, VS_F_SESSION, REQUIRED},
    {VS_OP_RELEASE, VS_F_NAME, REQUIRED},
    {VS_OP_RELEASE, VS_F_PASSPHRASE, 0},
    {VS_OP_USAGE, VS_F_NAME, 0},
    {VS_OP_MEDIATE, VS_F_EXEC_FD, REQUIRED},
    {VS_OP_MEDIATE, VS_F_AGENT, 0},
    {VS_OP_MEDIATE, VS_F_SESSION, 0},
    {VS_OP_EXEC_DONE, VS_F_EXIT_STATUS, REQUIRED},
    {VS_OP_EXEC_DONE, VS_F_DURATION_MS, REQUIRED},
    {VS_OP_EXEC_DONE, VS_F_AGENT, 0},
    {VS_OP_APPROVE, VS_F_REQ_ID, REQUIRED},
    {VS_OP_APPROVE, VS_F_FOR_SECONDS, 0},
    {VS_OP_APPROVE, VS_F_USES, 0},
    {VS_OP_APPROVE, VS_F_PASSPHRASE, 0},
    {VS_OP_DENY, VS_F_REQ_ID, REQUIRED},
    {VS_OP_OK, VS_F_PATH, 0},
    {VS_OP_OK, VS_F_FILE_DATA, 0},
    {VS_OP_OK, VS_F_COUNT, 0},
    {VS_OP_OK, VS_F_VERSION, 0},
    {VS_OP_OK, VS_F_SESSION, 0},
    {VS_OP_OK, VS_F_STATUS_TEXT, 0},
    {VS_OP_OK, VS_F_RUN_FLAGS, 0},
    {VS_OP_ERROR, VS_F_ERRCODE, REQUIRED},
    {VS_OP_ERROR, VS_F_REASON, 0},
    {VS_OP_GRANT_LIST, VS_F_NAME, REPEATABLE},
    {VS_OP_GRANT_LIST, VS_F_VALUE, REPEATABLE},
    {VS_OP_GRANT_LIST, VS_F_VERSION, REPEATABLE},
    {VS_OP_GRANT_LIST, VS_F_PATH, REPEATABLE},
    {VS_OP_GRANT_LIST, VS_F_HIDE, REPEATABLE},
    {VS_OP_GRANT_LIST, VS_F_MASK, REPEATABLE},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int field_index(unsigned type)
{
    for (size_t i = 0; i < NELEM(field_table); i++)
        if (field_table[i].type == type)
            return (int)i;
    return -1;
}

static int op_index(unsigned op)
{
    for (size_t i = 0; i < NELEM(op_table); i++)
        if (op_table[i].op == op)
            return (int)i;
    return -1;
}

static int schema_index(unsigned op, unsigned type)
{
    for (size_t i = 0; i < NELEM(schema); i++)
        if (schema[i].op == op && schema[i].field == type)
            return (int)i;
    return -1;
}

const char *vs_op_name(unsigned op)
{
    int i = op_index(op);
    return i < 0 ? "unknown" : op_table[i].name;
}

const char *vs_field_name(unsigned type)
{
    int i = field_index(type);
    return i < 0 ? "unknown" : field_table[i].name;
}

int vs_op_is_request(unsigned op)
{
    return op_index(op) >= 0 && op < 0x80;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le(uint8_t *p, uint32_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Rule 4: the next field's place in a GRANT_LIST. */
static int check_grant_order(uint16_t type, struct vs_proto_check *st, int bad)
{
    static const uint16_t want[3] = {VS_F_NAME, VS_F_VALUE, VS_F_VERSION};
    if (st->group == 0 && (type == VS_F_PATH || type == VS_F_HIDE || type == VS_F_MASK))
        return 0;
    if (type != want[st->group]) {
        if (st->group == 0)
            return vs_fail(bad, "GRANT_LIST: %s without a NAME before it", vs_field_name(type));
        return vs_fail(bad, "GRANT_LIST: %s where %s of the grant must follow",
                       vs_field_name(type), vs_field_name(want[st->group]));
    }
    st->group = (uint8_t)((st->group + 1) % 3);
    return 0;
}

/* Rules 2-4 for one field; bad is the code for a schema violation
 * (VS_EPROTO from the wire, VS_EINVAL from our own writer). */
static int check_field(uint8_t op, uint16_t type, const uint8_t *data, size_t len,
                       struct vs_proto_check *st, int bad)
{
    int f = field_index(type);
    if (f < 0)
        return vs_fail(bad, "%s: unknown field type %u", vs_op_name(op), (unsigned)type);
    const char *fname = field_table[f].name;
    int s = schema_index(op, type);
    if (s < 0)
        return vs_fail(bad, "%s: field %s not allowed", vs_op_name(op), fname);
    uint32_t bit = 1u << type;
    if ((st->seen & bit) != 0 && (schema[s].flags & REPEATABLE) == 0)
        return vs_fail(bad, "%s: duplicate field %s", vs_op_name(op), fname);
    if (field_table[f].kind == K_U32 && len != 4)
        return vs_fail(bad, "%s: field %s is %zu bytes, want 4", vs_op_name(op), fname, len);
    if (len > field_table[f].max)
        return vs_fail(VS_ETOOBIG, "%s: field %s is %zu bytes, over its maximum %u",
                       vs_op_name(op), fname, len, (unsigned)field_table[f].max);
    if (len < field_table[f].min)
        return vs_fail(bad, "%s: field %s is empty", vs_op_name(op), fname);
    if (field_table[f].kind == K_TEXT && len != 0 && memchr(data, '\0', len) != NULL)
        return vs_fail(bad, "%s: field %s holds a NUL byte", vs_op_name(op), fname);
    if (op == VS_OP_GRANT_LIST) {
        int rc = check_grant_order(type, st, bad);
        if (rc != 0)
            return rc;
    }
    st->seen |= bit;
    return 0;
}

static int check_end(uint8_t op, const struct vs_proto_check *st, int bad)
{
    for (size_t i = 0; i < NELEM(schema); i++)
        if (schema[i].op == op && (schema[i].flags & REQUIRED) != 0 &&
            (st->seen & (1u << schema[i].field)) == 0)
            return vs_fail(bad, "%s: missing required field %s", vs_op_name(op),
                           vs_field_name(schema[i].field));
    if (st->group != 0)
        return vs_fail(bad, "GRANT_LIST: grant ends before its %s",
                       st->group == 1 ? "VALUE" : "VERSION");
    return 0;
}

/* ---- decoding ---------------------------------------------------------- */

static int decode(const uint8_t *frame, size_t len, struct vs_msg *out)
{
    if (len == 0)
        return vs_fail(VS_EPROTO, "empty frame");
    if (len > VS_PROTO_MAX_FRAME)
        return vs_fail(VS_ETOOBIG, "frame of %zu bytes is over the maximum %d", len,
                       VS_PROTO_MAX_FRAME);
    if (len < VS_PROTO_HEADER)
        return vs_fail(VS_EPROTO, "frame of %zu bytes is shorter than the %d-byte header", len,
                       VS_PROTO_HEADER);
    struct vs_reader r;
    vs_reader_init(&r, frame, len);
    out->version = vs_get_u8(&r);
    out->op = vs_get_u8(&r);
    uint16_t reserved = vs_get_u16(&r);
    out->id = vs_get_u32(&r);
    if (out->version != VS_PROTO_VERSION)
        return vs_fail(VS_EPROTO, "protocol version %u, want %d", (unsigned)out->version,
                       VS_PROTO_VERSION);
    if (op_index(out->op) < 0)
        return vs_fail(VS_EPROTO, "unknown op %u", (unsigned)out->op);
    if (reserved != 0)
        return vs_fail(VS_EPROTO, "%s: reserved header bits set (0x%04x)", vs_op_name(out->op),
                       (unsigned)reserved);

    struct vs_proto_check st = {0, 0};
    size_t n = 0;
    while (r.err == 0 && vs_reader_left(&r) > 0) {
        size_t at = r.pos, left = vs_reader_left(&r);
        if (left < VS_PROTO_FIELD_HEADER)
            return vs_fail(VS_EPROTO, "%s: %zu trailing bytes at offset %zu, too few for a field",
                           vs_op_name(out->op), left, at);
        uint16_t type = vs_get_u16(&r);
        uint32_t flen = vs_get_u32(&r);
        const uint8_t *data = vs_get_ptr(&r, flen);
        if (data == NULL)
            return vs_fail(VS_EPROTO,
                           "%s: field %s at offset %zu: length %lu runs past the end of the frame",
                           vs_op_name(out->op), vs_field_name(type), at, (unsigned long)flen);
        if (n == VS_PROTO_MAX_FIELDS)
            return vs_fail(VS_EPROTO, "%s: more than %d fields", vs_op_name(out->op),
                           VS_PROTO_MAX_FIELDS);
        int rc = check_field(out->op, type, data, flen, &st, VS_EPROTO);
        if (rc != 0)
            return rc;
        out->fields[n].type = type;
        out->fields[n].len = flen;
        out->fields[n].data = data;
        n++;
    }
    if (r.err != 0)
        return vs_fail(VS_EPROTO, "%s: truncated frame", vs_op_name(out->op));
    int rc = check_end(out->op, &st, VS_EPROTO);
    if (rc != 0)
        return rc;
    out->nfields = n;
    return 0;
}

int vs_msg_decode(const uint8_t *frame, size_t len, struct vs_msg *out)
{
    if (out == NULL)
        return vs_fail(VS_EINVAL, "vs_msg_decode: no message");
    out->version = 0;
    out->op = 0;
    out->id = 0;
    out->nfields = 0;
    if (frame == NULL && len != 0)
        return vs_fail(VS_EINVAL, "vs_msg_decode: no frame");
    return decode(frame, len, out);
}

/* ---- getters ----------------------------------------------------------- */

/* The one field of a type: VS_ENOENT when absent, VS_EPROTO when repeated. */
static int find_one(const struct vs_msg *m, uint16_t type, const struct vs_field_ref **out)
{
    *out = NULL;
    if (m == NULL)
        return vs_fail(VS_EINVAL, "no message");
    size_t n = m->nfields < VS_PROTO_MAX_FIELDS ? m->nfields : VS_PROTO_MAX_FIELDS;
    for (size_t i = 0; i < n; i++) {
        if (m->fields[i].type != type)
            continue;
        if (*out != NULL) {
            *out = NULL;
            return vs_fail(VS_EPROTO, "%s: field %s repeats", vs_op_name(m->op),
                           vs_field_name(type));
        }
        *out = &m->fields[i];
    }
    if (*out == NULL)
        return vs_fail(VS_ENOENT, "%s: no field %s", vs_op_name(m->op), vs_field_name(type));
    return 0;
}

int vs_msg_get_u32(const struct vs_msg *m, uint16_t type, uint32_t *out)
{
    const struct vs_field_ref *f;
    if (out == NULL)
        return vs_fail(VS_EINVAL, "vs_msg_get_u32: no output");
    *out = 0;
    int rc = find_one(m, type, &f);
    if (rc != 0)
        return rc;
    if (f->len != 4 || f->data == NULL)
        return vs_fail(VS_EPROTO, "%s: field %s is %lu bytes, want 4", vs_op_name(m->op),
                       vs_field_name(type), (unsigned long)f->len);
    *out = get_le32(f->data);
    return 0;
}

int vs_msg_get_str(const struct vs_msg *m, uint16_t type, char *out, size_t cap)
{
    const struct vs_field_ref *f;
    if (out == NULL || cap == 0)
        return vs_fail(VS_EINVAL, "vs_msg_get_str: no room for the string");
    out[0] = '\0';
    int rc = find_one(m, type, &f);
    if (rc != 0)
        return rc;
    if (f->len != 0 && f->data == NULL)
        return vs_fail(VS_EINVAL, "%s: field %s has no data", vs_op_name(m->op),
                       vs_field_name(type));
    if (f->len != 0 && memchr(f->data, '\0', f->len) != NULL)
        return vs_fail(VS_EPROTO, "%s: field %s holds a NUL byte", vs_op_name(m->op),
                       vs_field_name(type));
    if (f->len > cap - 1)
        return vs_fail(VS_ETOOBIG, "%s: field %s is %lu bytes, room for %zu",
                       vs_op_name(m->op), vs_field_name(type), (unsigned long)f->len, cap - 1);
    if (f->len != 0)
        memcpy(out, f->data, f->len);
    out[f->len] = '\0';
    return 0;
}

int vs_msg_get_bytes(const struct vs_msg *m, uint16_t type, const uint8_t **data, size_t *len)
{
    const struct vs_field_ref *f;
    if (data == NULL || len == NULL)
        return vs_fail(VS_EINVAL, "vs_msg_get_bytes: no output");
    *data = NULL;
    *len = 0;
    int rc = find_one(m, type, &f);
    if (rc != 0)
        return rc;
    *data = f->data;
    *len = f->len;
    return 0;
}

int vs_msg_next(const struct vs_msg *m, uint16_t type, size_t *cursor,
                const struct vs_field_ref **out)
{
    if (m == NULL || cursor == NULL || out == NULL)
        return vs_fail(VS_EINVAL, "vs_msg_next: missing argument");
    *out = NULL;
    size_t n = m->nfields < VS_PROTO_MAX_FIELDS ? m->nfields : VS_PROTO_MAX_FIELDS;
    for (size_t i = *cursor; i < n; i++) {
        if (m->fields[i].type == type) {
            *out = &m->fields[i];
            *cursor = i + 1;
            return 0;
        }
    }
    *cursor = n;
    return VS_ENOENT; /* the normal end of a loop: no detail to record */
}

int vs_msg_next_grant(const struct vs_msg *m, size_t *cursor, struct vs_grant_ref *out)
{
    if (m == NULL || cursor == NULL || out == NULL)
        return vs_fail(VS_EINVAL, "vs_msg_next_grant: missing argument");
    memset(out, 0, sizeof *out);
    if (m->op != VS_OP_GRANT_LIST)
        return vs_fail(VS_EPROTO, "%s: not a GRANT_LIST", vs_op_name(m->op));
    size_t n = m->nfields < VS_PROTO_MAX_FIELDS ? m->nfields : VS_PROTO_MAX_FIELDS;
    size_t i = *cursor;
    while (i < n && (m->fields[i].type == VS_F_PATH || m->fields[i].type == VS_F_HIDE ||
                     m->fields[i].type == VS_F_MASK))
        i++;
    if (i >= n) {
        *cursor = n;
        return VS_ENOENT;
    }
    const struct vs_field_ref *f = &m->fields[i];
    if (n - i < 3 || f[0].type != VS_F_NAME || f[1].type != VS_F_VALUE ||
        f[2].type != VS_F_VERSION || f[2].len != 4 || f[2].data == NULL)
        return vs_fail(VS_EPROTO, "GRANT_LIST: broken grant at field %zu", i);
    out->name = &f[0];
    out->value = &f[1];
    out->version = get_le32(f[2].data);
    *cursor = i + 3;
    return 0;
}

int vs_msg_get_error(const struct vs_msg *m, int *code, char *reason, size_t cap)
{
    if (m == NULL || code == NULL)
        return vs_fail(VS_EINVAL, "vs_msg_get_error: missing argument");
    *code = VS_EPROTO;
    if (reason != NULL && cap != 0)
        reason[0] = '\0';
    if (m->op != VS_OP_ERROR)
        return vs_fail(VS_EPROTO, "%s: not an ERROR reply", vs_op_name(m->op));
    uint32_t wire;
    int rc = vs_msg_get_u32(m, VS_F_ERRCODE, &wire);
    if (rc != 0)
        return vs_fail(VS_EPROTO, "ERROR: no valid ERRCODE field");
    if (wire == 0 || wire > 0xffff)
        return vs_fail(VS_EPROTO, "ERROR: error code %lu out of range", (unsigned long)wire);
    *code = -(int)wire;
    const uint8_t *text;
    size_t len;
    if (reason != NULL && cap != 0 && vs_msg_get_bytes(m, VS_F_REASON, &text, &len) == 0) {
        if (len > cap - 1)
            len = cap - 1;
        const void *nul = len != 0 ? memchr(text, '\0', len) : NULL;
        if (nul != NULL)
            len = (size_t)((const uint8_t *)nul - text);
        if (len != 0)
            memcpy(reason, text, len);
        reason[len] = '\0';
    }
    return 0;
}

/* ---- writing ----------------------------------------------------------- */

void vs_msg_begin(struct vs_msg_writer *w, uint8_t *buf, size_t cap, uint8_t op, uint32_t id)
{
    if (w == NULL)
        return;
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
    w->op = op;
    if (op_index(op) < 0) {
        w->err = vs_fail(VS_EINVAL, "cannot write unknown op %u", (unsigned)op);
        return;
    }
    if (w->cap < VS_PROTO_HEADER) {
        w->err = vs_fail(VS_ETOOBIG, "%s: buffer of %zu bytes too small for the header",
                         vs_op_name(op), w->cap);
        return;
    }
    buf[0] = VS_PROTO_VERSION;
    buf[1] = op;
    put_le(buf + 2, 0, 2);
    put_le(buf + 4, id, 4);
    w->len = VS_PROTO_HEADER;
}

int vs_msg_put_bytes(struct vs_msg_writer *w, uint16_t type, const void *data, size_t len)
{
    if (w == NULL)
        return vs_fail(VS_EINVAL, "no writer");
    if (w->err != 0)
        return w->err;
    if (data == NULL && len != 0)
        return w->err = vs_fail(VS_EINVAL, "%s: field %s has no data", vs_op_name(w->op),
                                vs_field_name(type));
    struct vs_proto_check st = w->chk;
    int rc = check_field(w->op, type, data, len, &st, VS_EINVAL);
    if (rc != 0)
        return w->err = rc;
    if (w->nfields == VS_PROTO_MAX_FIELDS)
        return w->err = vs_fail(VS_ETOOBIG, "%s: more than %d fields", vs_op_name(w->op),
                                VS_PROTO_MAX_FIELDS);
    /* len <= 32768 here, so the sums below cannot wrap. */
    size_t need = VS_PROTO_FIELD_HEADER + len;
    if (w->len + need > VS_PROTO_MAX_FRAME)
        return w->err = vs_fail(VS_ETOOBIG, "%s: frame would pass %d bytes at field %s",
                                vs_op_name(w->op), VS_PROTO_MAX_FRAME, vs_field_name(type));
    if (need > w->cap - w->len)
        return w->err = vs_fail(VS_ETOOBIG, "%s: buffer of %zu bytes full at field %s",
                                vs_op_name(w->op), w->cap, vs_field_name(type));
    uint8_t *p = w->buf + w->len;
    put_le(p, type, 2);
    put_le(p + 2, (uint32_t)len, 4);
    if (len != 0)
        memcpy(p + VS_PROTO_FIELD_HEADER, data, len);
    w->len += need;
    w->nfields++;
    w->chk = st;
    return 0;
}

int vs_msg_put_str(struct vs_msg_writer *w, uint16_t type, const char *s)
{
    if (w != NULL && w->err == 0 && s == NULL)
        return w->err = vs_fail(VS_EINVAL, "%s: field %s is NULL", vs_op_name(w->op),
                                vs_field_name(type));
    /* No field is longer than VS_PROTO_MAX_FRAME: one more byte is enough to
     * refuse an oversize string without reading all of it. */
    return vs_msg_put_bytes(w, type, s, s != NULL ? strnlen(s, VS_PROTO_MAX_FRAME + 1) : 0);
}

int vs_msg_put_u32(struct vs_msg_writer *w, uint16_t type, uint32_t v)
{
    uint8_t le[4];
    put_le(le, v, 4);
    return vs_msg_put_bytes(w, type, le, sizeof le);
}

int vs_msg_put_grant(struct vs_msg_writer *w, const char *name, const void *value,
                     size_t value_len, uint32_t version)
{
    int rc = vs_msg_put_str(w, VS_F_NAME, name);
    if (rc == 0)
        rc = vs_msg_put_bytes(w, VS_F_VALUE, value, value_len);
    if (rc == 0)
        rc = vs_msg_put_u32(w, VS_F_VERSION, version);
    return rc;
}

int vs_msg_finish(struct vs_msg_writer *w, size_t *len)
{
    if (len != NULL)
        *len = 0;
    if (w == NULL)
        return vs_fail(VS_EINVAL, "no writer");
    if (w->err == 0)
        w->err = check_end(w->op, &w->chk, VS_EINVAL);
    if (w->err == 0 && len != NULL)
        *len = w->len;
    return w->err;
}

int vs_msg_build_error(uint8_t *buf, size_t cap, uint32_t id, int code, const char *reason,
                       size_t *len)
{
    if (len != NULL)
        *len = 0;
    if (code >= 0 || code < -0xffff)
        return vs_fail(VS_EINVAL, "ERROR: %d is not an error code", code);
    if (reason == NULL)
        reason = vs_strerror(code);
    struct vs_msg_writer w;
    vs_msg_begin(&w, buf, cap, VS_OP_ERROR, id);
    vs_msg_put_u32(&w, VS_F_ERRCODE, (uint32_t)-code);
    vs_msg_put_bytes(&w, VS_F_REASON, reason, strnlen(reason, VS_F_REASON_MAX));
    return vs_msg_finish(&w, len);
}
