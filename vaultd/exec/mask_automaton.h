/* The masker's pattern automaton (internal): Aho-Corasick, laid out so the
 * hot loop is one class look-up and one table look-up per input byte while
 * the table stays small.
 *
 *  - Bytes that occur in no pattern share one class; every other byte value
 *    has its own class.
 *  - Shallow states (depth < VS_AC_DENSE_DEPTH: where ordinary text spends
 *    nearly all its time, and which never end a pattern since every form
 *    is at least 4 bytes) get a dense row: the next state for every class.
 *  - Deeper states are the inside of one or a few patterns: each keeps its
 *    few children and its failure state; a byte that is none of its
 *    children follows the failure links down to a dense row. That keeps
 *    memory near the total length of the forms instead of states x classes.
 *  - A state is named by a code: a dense state's row offset (state *
 *    classes), or dense_end + its sparse index. Sparse states that end a
 *    pattern come last, so "a pattern ends here" is code >= match_code.
 *  - Per state: the longest pattern ending there (shorter ones ending at the
 *    same byte are inside it, so only the longest decides what is covered),
 *    and the hold: how many of the last bytes may still begin a match (the
 *    depth of the nearest state on the failure chain that has a way
 *    forward). Everything before that is final.
 * All of it lives in one sodium_malloc'd block (it spells the patterns),
 * wiped by vs_ac_free. */
#ifndef VS_MASK_AUTOMATON_H
#define VS_MASK_AUTOMATON_H

#include <stddef.h>
#include <stdint.h>

#define VS_AC_DENSE_DEPTH 4
#define VS_AC_CODE_MAX 0x7fffffffu

struct vs_ac {
    uint8_t byte_class[256];
    uint32_t classes;
    uint32_t states, dense_states;
    uint32_t longest;    /* the longest pattern */
    uint32_t dense_end;  /* dense_states * classes: codes below are dense rows */
    uint32_t match_code; /* codes from here on end a pattern */
    uint32_t *dense;     /* dense_states * classes codes */
    uint32_t *sp_fail;   /* per sparse state: failure state's code */
    uint32_t *sp_first;  /* per sparse state: first child in ch_*, ... */
    uint32_t *sp_count;  /* ... and how many */
    uint8_t *ch_class;   /* children: the class of the edge, */
    uint32_t *ch_code;   /* and the child's code */
    uint32_t *out_len;   /* per state index: longest pattern ending here, or 0 */
    uint32_t *hold;      /* per state index: bytes that may still begin a match */
    void *block;         /* the sodium_malloc'd allocation behind the arrays */
    size_t block_len;
};

struct vs_ac_pattern {
    const uint8_t *data;
    size_t len;
};

/* Compiles n patterns (each at least one byte). VS_ENOMEM, or VS_ETOOBIG
 * when the codes would not fit 31 bits. */
int vs_ac_build(struct vs_ac *ac, const struct vs_ac_pattern *patterns, size_t n);
void vs_ac_free(struct vs_ac *ac);

/* The next state from a sparse state (code >= dense_end) on class c. */
static inline uint32_t vs_ac_sparse_step(const struct vs_ac *ac, uint32_t code, uint32_t c)
{
    while (code >= ac->dense_end) {
        uint32_t j = code - ac->dense_end;
        const uint8_t *cls = ac->ch_class + ac->sp_first[j];
        for (uint32_t k = 0; k < ac->sp_count[j]; k++)
            if (cls[k] == c)
                return ac->ch_code[ac->sp_first[j] + k];
        code = ac->sp_fail[j];
    }
    return ac->dense[code + c];
}

/* The index of a state for out_len and hold. */
static inline uint32_t vs_ac_index(const struct vs_ac *ac, uint32_t code)
{
    return code < ac->dense_end ? code / ac->classes : ac->dense_states + (code - ac->dense_end);
}

#endif
