/* The masking engine of vault-exec: replaces every granted value, and each
 * encoded form of it, with "********" in a byte stream.
 *
 * Forms masked per value: raw; standard base64 at all three alignments of
 * the value inside a longer base64 run (the stable inner part of each);
 * base64url (same three alignments); hex lower and upper case; URL-encoded
 * (percent-encoding as encodeURIComponent does it, both hex cases); and
 * JSON-escaped (as a JSON encoder writes the string, "\/" and "\uXXXX"
 * forms included).
 *
 * Rules the engine keeps:
 *  1. Streaming: vs_masker_feed may be called with any split of the input;
 *     the output is the same as for the input fed whole. A value split
 *     across feeds is masked.
 *  2. Bounded memory: the engine holds back at most the longest pattern
 *     minus one byte; everything older is passed to the sink. Memory is
 *     fixed at vs_masker_new and never grows with the stream.
 *  3. One pass: a multi-pattern automaton (Aho-Corasick), not one scan per
 *     pattern. Overlapping matches are merged into one mask.
 *  4. Bytes that are part of no match pass through unchanged, byte for
 *     byte (binary data included).
 *  5. Pattern bytes live in sodium_malloc'd memory, wiped at free. Values
 *     shorter than VS_MASK_MIN_VALUE bytes are refused at new (masking
 *     them would be an oracle and would corrupt ordinary output).
 */
#ifndef VS_MASK_H
#define VS_MASK_H

#include <stddef.h>
#include <stdint.h>

#define VS_MASK_MIN_VALUE 4
#define VS_MASK_MAX_VALUE (64 * 1024) /* longer values are refused (VS_ETOOBIG) */
#define VS_MASK_REPLACEMENT "********"

struct vs_mask_value {
    const uint8_t *data;
    size_t len;
};

struct vs_masker;

/* Called with masked output, in order. Returns 0, or a VS_E* code that
 * stops the feed (returned by vs_masker_feed/flush as is). */
typedef int (*vs_mask_sink)(void *ctx, const uint8_t *data, size_t len);

/* Builds the automaton for n values (n may be 0: everything passes).
 * VS_EINVAL for a value shorter than VS_MASK_MIN_VALUE, VS_ETOOBIG for one
 * longer than VS_MASK_MAX_VALUE (or a table over its limit), VS_ENOMEM. */
int vs_masker_new(const struct vs_mask_value *values, size_t n, struct vs_masker **out);
/* Feeds len bytes; masked output that can no longer change goes to sink. */
int vs_masker_feed(struct vs_masker *m, const uint8_t *in, size_t len, vs_mask_sink sink, void *ctx);
/* End of stream: emits what is held back (masked where it matches). The
 * masker can be fed again afterwards as a fresh stream. */
int vs_masker_flush(struct vs_masker *m, vs_mask_sink sink, void *ctx);
/* Bytes currently held back (for tests and a relay's "nothing pending").
 * Only bytes that may still begin a match are held: the longest suffix of
 * the stream that is a prefix of some pattern, never more than
 * vs_masker_bound. */
size_t vs_masker_pending(const struct vs_masker *m);
/* The most vs_masker_pending can ever be: the longest pattern minus one. */
size_t vs_masker_bound(const struct vs_masker *m);

/* The stream went quiet (a prompt waits for an answer): emits what is held
 * back when the partial match in progress is shorter than
 * VS_MASK_IDLE_KEEP bytes, so a prompt that happens to end like the start
 * of a value is not held; a longer partial match is most likely a value
 * being written in pieces and stays held until more output or the end.
 * Unlike flush, the automaton keeps its state: when the rest of a value
 * follows, the rest is masked. So at most VS_MASK_IDLE_KEEP - 1 leading
 * bytes of a form are ever released early, however slowly it is written. */
#define VS_MASK_IDLE_KEEP 8
int vs_masker_idle(struct vs_masker *m, vs_mask_sink sink, void *ctx);
/* How many masks were written so far (for the audit line): one per run of
 * covered bytes, however many matches overlapped in it. */
uint64_t vs_masker_count(const struct vs_masker *m);
void vs_masker_free(struct vs_masker *m);

#endif
