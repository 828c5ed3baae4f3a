/* The masker's pattern automaton (internal): an Aho-Corasick machine
 * compiled to a dense DFA over byte classes, so the hot loop is one class
 * look-up and one table look-up per input byte.
 *
 *  - Bytes that occur in no pattern share class 0, which always leads back
 *    to the root; every other byte value has its own class.
 *  - A transition entry is the target state's row offset (state *
 *    classes). States that end a pattern are numbered after all others, so
 *    "a pattern ends here" is row >= match_row: the loop tests the value it
 *    already has and touches no other array unless something matched.
 *  - Per state: the longest pattern ending there (shorter ones ending at
 *    the same byte are inside it, so only the longest decides what is
 *    covered), and the hold: how many of the last bytes may still begin a
 *    match (the depth of the nearest state on the failure chain that has a
 *    way forward). Everything before that is final.
 * All of it lives in one sodium_malloc'd block (it spells the patterns),
 * wiped by vs_ac_free. */
#ifndef VS_MASK_AUTOMATON_H
#define VS_MASK_AUTOMATON_H

#include <stddef.h>
#include <stdint.h>

#define VS_AC_ROW 0x7fffffffu /* row offsets stay below this */

struct vs_ac {
    uint8_t byte_class[256];
    uint32_t classes;
    uint32_t states;
    uint32_t longest;   /* the longest pattern */
    uint32_t match_row; /* rows from here on end a pattern */
    uint32_t *next;     /* states * classes entries */
    uint32_t *out_len;  /* per state: longest pattern ending here, or 0 */
    uint32_t *hold;     /* per state: bytes that may still begin a match */
    void *block;        /* the sodium_malloc'd allocation behind the arrays */
};

struct vs_ac_pattern {
    const uint8_t *data;
    size_t len;
};

/* Compiles n patterns (each at least one byte). VS_ENOMEM, or VS_ETOOBIG
 * when the table would not fit the 31-bit row offsets. */
int vs_ac_build(struct vs_ac *ac, const struct vs_ac_pattern *patterns, size_t n);
void vs_ac_free(struct vs_ac *ac);

#endif
