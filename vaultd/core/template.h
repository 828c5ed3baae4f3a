/* Credential-file templates: text with {{NAME}} placeholders, NAME a secret
 * name (vs_secret_name_valid; no spaces inside the braces). A "{{" with no
 * closing "}}", or with a bad name before it, is an error; a lone '{' or
 * "}}" is literal text. There is no escape for a literal "{{".
 *
 * Rendering writes into the caller's buffer (sodium_malloc'ed by the
 * caller: the output holds secret values), with no intermediate copy and
 * no allocation. */
#ifndef VS_TEMPLATE_H
#define VS_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#define VS_TEMPLATE_MAX 65536 /* template text, bytes */

struct vs_template;

/* Looks up a secret value; returns 0 with *val and *len set (the bytes stay
 * owned by the callee and valid until render returns), or a negative VS_E*
 * code, which render returns unchanged. */
typedef int (*vs_template_lookup_fn)(void *ctx, const char *name, const uint8_t **val,
                                     size_t *len);

/* Compiles text (NUL-terminated). Errors: VS_EINVAL with detail
 * "column N: ..." (N counts bytes from 1 at the start of the text),
 * VS_ETOOBIG, VS_ENOMEM. */
int vs_template_compile(const char *text, struct vs_template **out);
void vs_template_free(struct vs_template *t);

/* Placeholder names in order of first appearance, without repeats. */
size_t vs_template_name_count(const struct vs_template *t);
const char *vs_template_name(const struct vs_template *t, size_t i);

/* Bytes render will write for the values lookup returns now. */
int vs_template_rendered_size(const struct vs_template *t, vs_template_lookup_fn lookup,
                              void *ctx, size_t *size);

/* Writes the rendered text into out[0..cap) and sets *out_len. Nothing is
 * written at or past out + cap. On any failure (VS_ETOOBIG when cap is too
 * small, or the lookup's error) the bytes already written are wiped and
 * *out_len is 0. No NUL terminator is written. */
int vs_template_render(const struct vs_template *t, vs_template_lookup_fn lookup, void *ctx,
                       uint8_t *out, size_t cap, size_t *out_len);

#endif
