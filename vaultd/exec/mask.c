/* The streaming masker (rules in mask.h). What is held back is only what
 * may still begin a match: the automaton state says how many of the last
 * bytes are a prefix of some pattern (its hold), and every byte before
 * them is final. Covered byte ranges are kept as a short list of disjoint
 * spans, merged when they overlap or touch, so a run of covered bytes
 * becomes one "********" however many matches made it. */
#include "mask.h"

#include "error.h"
#include "mask_automaton.h"
#include "mask_forms.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct span {
    uint64_t start, end; /* absolute stream positions, [start, end) covered */
};

struct vs_masker {
    struct vs_ac ac;
    uint32_t state;     /* current automaton state (its code; the root is 0) */
    uint64_t pos;       /* bytes fed since the stream began */
    uint64_t emitted;   /* bytes final and passed to the sink */
    bool in_mask;       /* the last byte passed on was covered */
    uint64_t count;     /* masks written */
    uint8_t *held;      /* sodium_malloc'd: bytes [emitted, pos) between feeds */
    size_t held_cap;
    struct span *spans; /* ring of covered spans ending after `emitted` */
    size_t span_head, span_len, span_cap;
};

/* --- building ------------------------------------------------------------ */

struct collect {
    struct vs_ac_pattern *patterns; /* NULL while counting */
    uint8_t *arena;
    size_t n, bytes;
};

static int collect_form(void *ctx, const uint8_t *p, size_t len)
{
    struct collect *c = ctx;
    if (c->patterns != NULL) {
        memcpy(c->arena + c->bytes, p, len);
        c->patterns[c->n] = (struct vs_ac_pattern){c->arena + c->bytes, len};
    }
    c->n++;
    c->bytes += len;
    return 0;
}

static int forms_of_all(const struct vs_mask_value *values, size_t n, struct collect *c)
{
    c->n = c->bytes = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = vs_mask_forms(values[i].data, values[i].len, collect_form, c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Every form of every value, in one wiped arena, compiled to the automaton. */
static int build_automaton(struct vs_ac *ac, const struct vs_mask_value *values, size_t n)
{
    struct collect c = {0};
    int rc = forms_of_all(values, n, &c);
    if (rc != 0)
        return rc;
    c.arena = sodium_malloc(c.bytes ? c.bytes : 1);
    c.patterns = calloc(c.n ? c.n : 1, sizeof *c.patterns);
    if (c.arena == NULL || c.patterns == NULL)
        rc = vs_fail(VS_ENOMEM, "masking: no memory for %zu patterns", c.n);
    if (rc == 0)
        rc = forms_of_all(values, n, &c);
    if (rc == 0)
        rc = vs_ac_build(ac, c.patterns, c.n);
    if (c.arena != NULL)
        sodium_free(c.arena);
    free(c.patterns);
    return rc;
}

int vs_masker_new(const struct vs_mask_value *values, size_t n, struct vs_masker **out)
{
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (values[i].data == NULL || values[i].len < VS_MASK_MIN_VALUE)
            return vs_fail(VS_EINVAL, "masking: value %zu is shorter than %d bytes (refused: masking it "
                           "would corrupt ordinary output)", i + 1, VS_MASK_MIN_VALUE);
        else if (values[i].len > VS_MASK_MAX_VALUE)
            return vs_fail(VS_ETOOBIG, "masking: value %zu is longer than %d bytes", i + 1, VS_MASK_MAX_VALUE);
    }
    if (sodium_init() < 0)
        return vs_fail(VS_ECRYPTO, "masking: libsodium failed to initialise");
    struct vs_masker *m = calloc(1, sizeof *m);
    if (m == NULL)
        return vs_fail(VS_ENOMEM, "masking: no memory");
    int rc = build_automaton(&m->ac, values, n);
    if (rc == 0) {
        m->held_cap = m->ac.longest > 0 ? m->ac.longest : 1;
        m->span_cap = m->held_cap + 2; /* disjoint spans inside the hold, plus the new one */
        m->held = sodium_malloc(m->held_cap);
        m->spans = calloc(m->span_cap, sizeof *m->spans);
        if (m->held == NULL || m->spans == NULL)
            rc = vs_fail(VS_ENOMEM, "masking: no memory for the stream window");
    }
    if (rc != 0) {
        vs_masker_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void vs_masker_free(struct vs_masker *m)
{
    if (m == NULL)
        return;
    vs_ac_free(&m->ac);
    if (m->held != NULL)
        sodium_free(m->held);
    free(m->spans);
    free(m);
}

/* --- covered spans ------------------------------------------------------- */

static struct span *span_at(struct vs_masker *m, size_t k)
{
    return &m->spans[(m->span_head + k) % m->span_cap];
}

/* Matches arrive in order of their end; a new one swallows the spans it
 * overlaps or touches (it may start before them). */
static void add_span(struct vs_masker *m, uint64_t start, uint64_t end)
{
    while (m->span_len > 0) {
        struct span *last = span_at(m, m->span_len - 1);
        if (last->end < start)
            break;
        if (last->start < start)
            start = last->start;
        m->span_len--;
    }
    *span_at(m, m->span_len) = (struct span){start, end};
    m->span_len++;
}

/* --- output -------------------------------------------------------------- */

/* The bytes fed so far that are not final: the held ones (positions from
 * `emitted` at the feed's start) and the current input (from `base`). */
struct window {
    const uint8_t *held;
    uint64_t held_pos;
    const uint8_t *in;
    uint64_t base;
};

static int emit_plain(struct vs_masker *m, const struct window *w, uint64_t to, vs_mask_sink sink, void *ctx)
{
    while (m->emitted < to) {
        uint64_t from = m->emitted, stop = to;
        const uint8_t *p;
        if (from < w->base) {
            p = w->held + (from - w->held_pos);
            if (stop > w->base)
                stop = w->base;
        } else {
            p = w->in + (from - w->base);
        }
        int rc = sink(ctx, p, (size_t)(stop - from));
        if (rc != 0)
            return rc;
        m->emitted = stop;
        m->in_mask = false;
    }
    return 0;
}

/* Passes every byte before `limit` to the sink: plain runs as they are,
 * each covered run as one mask. */
static int emit_to(struct vs_masker *m, const struct window *w, uint64_t limit, vs_mask_sink sink, void *ctx)
{
    while (m->emitted < limit) {
        struct span *front = m->span_len > 0 ? span_at(m, 0) : NULL;
        if (front != NULL && front->start <= m->emitted) {
            uint64_t stop = front->end < limit ? front->end : limit;
            if (!m->in_mask) {
                int rc = sink(ctx, (const uint8_t *)VS_MASK_REPLACEMENT, sizeof VS_MASK_REPLACEMENT - 1);
                if (rc != 0)
                    return rc;
                m->in_mask = true;
                m->count++;
            }
            m->emitted = stop;
        } else {
            uint64_t stop = front != NULL && front->start < limit ? front->start : limit;
            int rc = emit_plain(m, w, stop, sink, ctx);
            if (rc != 0)
                return rc;
        }
        while (m->span_len > 0 && span_at(m, 0)->end <= m->emitted) {
            m->span_head = (m->span_head + 1) % m->span_cap;
            m->span_len--;
        }
    }
    return 0;
}

/* Keeps the bytes from `emitted` to the end of the input for the next feed. */
static void keep_tail(struct vs_masker *m, const struct window *w, size_t in_len)
{
    size_t keep_held = 0, skip_in = 0;
    if (m->emitted < w->base)
        keep_held = (size_t)(w->base - m->emitted);
    else
        skip_in = (size_t)(m->emitted - w->base);
    if (keep_held > 0)
        memmove(m->held, m->held + (m->emitted - w->held_pos), keep_held);
    memcpy(m->held + keep_held, w->in + skip_in, in_len - skip_in);
}

int vs_masker_feed(struct vs_masker *m, const uint8_t *in, size_t len, vs_mask_sink sink, void *ctx)
{
    if (len == 0)
        return 0; /* nothing can change; `in` may be NULL */
    struct window w = {.held = m->held, .held_pos = m->emitted, .in = in, .base = m->pos};
    const struct vs_ac *ac = &m->ac;
    const uint32_t *dense = ac->dense;
    const uint8_t *cls = ac->byte_class;
    const uint32_t dense_end = ac->dense_end, match_code = ac->match_code;
    uint32_t code = m->state;
    for (size_t i = 0; i < len; i++) {
        uint32_t c = cls[in[i]];
        code = __builtin_expect(code < dense_end, 1) ? dense[code + c] : vs_ac_sparse_step(ac, code, c);
        if (__builtin_expect(code >= match_code, 0)) {
            uint32_t state = vs_ac_index(ac, code);
            uint64_t end = w.base + i + 1;
            add_span(m, end - ac->out_len[state], end);
            int rc = emit_to(m, &w, end - ac->hold[state], sink, ctx);
            if (rc != 0)
                return rc; /* the stream is lost; the caller flushes or frees */
        }
    }
    m->state = code;
    m->pos = w.base + len;
    uint64_t final = m->pos - ac->hold[vs_ac_index(ac, code)];
    int rc = emit_to(m, &w, final, sink, ctx);
    if (rc != 0)
        return rc;
    keep_tail(m, &w, len);
    return 0;
}

/* Emits everything fed so far; the automaton state is left as it is. */
static int emit_all(struct vs_masker *m, vs_mask_sink sink, void *ctx)
{
    struct window w = {.held = m->held, .held_pos = m->emitted, .in = NULL, .base = m->pos};
    return emit_to(m, &w, m->pos, sink, ctx);
}

int vs_masker_flush(struct vs_masker *m, vs_mask_sink sink, void *ctx)
{
    int rc = emit_all(m, sink, ctx);
    m->state = 0;
    m->span_len = 0;
    m->in_mask = false;
    m->emitted = m->pos;
    return rc;
}

int vs_masker_idle(struct vs_masker *m, vs_mask_sink sink, void *ctx)
{
    /* The partial match, not just what is held: after a release the state
     * still counts the released bytes, so a value written a byte at a
     * time is kept from its VS_MASK_IDLE_KEEP-th byte on. */
    if (m->ac.hold[vs_ac_index(&m->ac, m->state)] >= VS_MASK_IDLE_KEEP)
        return 0;
    return emit_all(m, sink, ctx);
}

size_t vs_masker_pending(const struct vs_masker *m)
{
    return (size_t)(m->pos - m->emitted);
}

size_t vs_masker_bound(const struct vs_masker *m)
{
    return m->ac.longest > 0 ? m->ac.longest - 1 : 0;
}

uint64_t vs_masker_count(const struct vs_masker *m)
{
    return m->count;
}
