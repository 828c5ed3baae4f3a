/* A strict parser for one audit line: a flat JSON object whose values are
 * strings, integers, booleans, null or arrays of strings. Anything else
 * (nesting, floats, bad escapes, trailing bytes, duplicate keys) is refused.
 * Values are spans into the caller's line; getters decode and bound them. */
#ifndef VS_JSONLINE_H
#define VS_JSONLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_JSONLINE_MAX_FIELDS 48

enum vs_json_kind { VS_JSON_STRING, VS_JSON_INT, VS_JSON_BOOL, VS_JSON_NULL, VS_JSON_ARRAY };

struct vs_json_field {
    const char *key; /* raw (escape-free by the parser's rule: keys are [a-z_]) */
    size_t key_len;
    const char *value; /* raw span: for strings without the quotes */
    size_t value_len;
    enum vs_json_kind kind;
};

struct vs_jsonline {
    size_t nfields;
    struct vs_json_field fields[VS_JSONLINE_MAX_FIELDS];
};

int vs_jsonline_parse(const char *line, size_t len, struct vs_jsonline *out);
const struct vs_json_field *vs_jsonline_find(const struct vs_jsonline *j, const char *key);
/* Decodes a string field into out (NUL-terminated, escapes resolved; \u0000
 * refused). VS_ENOENT when absent, VS_ETOOBIG when it does not fit. */
int vs_jsonline_get_str(const struct vs_jsonline *j, const char *key, char *out, size_t cap);
int vs_jsonline_get_u64(const struct vs_jsonline *j, const char *key, uint64_t *out);

#endif
