/* The encoded forms of a value that the masker looks for (internal to the
 * masking engine; the unit tests and the fuzz target use it as the
 * reference pattern set). */
#ifndef VS_MASK_FORMS_H
#define VS_MASK_FORMS_H

#include <stddef.h>
#include <stdint.h>

/* Receives one pattern (may repeat an earlier one); returns 0 or a VS_E*
 * code that stops the enumeration. The bytes are only valid during the
 * call (they live in a wiped scratch buffer). */
typedef int (*vs_mask_form_fn)(void *ctx, const uint8_t *pattern, size_t len);

/* Calls add for every form of value: raw; base64 and base64url (the stable
 * inner characters at the three alignments, and the whole encoding with
 * and without padding); hex lower and upper; URL-encoded (the
 * encodeURIComponent set and the RFC 3986 unreserved set, %XX in both
 * cases); JSON-escaped (with and without "\/"; UTF-8 kept, or written as
 * \uXXXX in either case; with and without the HTML-safe escapes Go's
 * encoder writes for < > & U+2028 U+2029).
 * Returns 0, VS_ENOMEM, or the first non-zero return of add. */
int vs_mask_forms(const uint8_t *value, size_t len, vs_mask_form_fn add, void *ctx);

/* An upper bound on the length of any form of a len-byte value. */
size_t vs_mask_form_max(size_t len);

#endif
