/* Aho-Corasick construction for the masker (see mask_automaton.h): count
 * the trie's states exactly (sorted patterns, shared prefixes), allocate
 * the table once, insert, then one breadth-first pass computes failure
 * links and fills every missing transition from the failure state's row. */
#include "mask_automaton.h"

#include "error.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int cmp_pattern(const void *a, const void *b)
{
    const struct vs_ac_pattern *x = *(const struct vs_ac_pattern *const *)a;
    const struct vs_ac_pattern *y = *(const struct vs_ac_pattern *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static size_t common_prefix(const struct vs_ac_pattern *x, const struct vs_ac_pattern *y)
{
    size_t k = 0;
    while (k < x->len && k < y->len && x->data[k] == y->data[k])
        k++;
    return k;
}

/* The number of trie states: the root plus every distinct prefix. */
static int count_states(const struct vs_ac_pattern *p, size_t n, size_t *states)
{
    const struct vs_ac_pattern **sorted = calloc(n ? n : 1, sizeof *sorted);
    if (sorted == NULL)
        return vs_fail(VS_ENOMEM, "masking: no memory to sort patterns");
    for (size_t i = 0; i < n; i++)
        sorted[i] = &p[i];
    qsort(sorted, n, sizeof *sorted, cmp_pattern);
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        size_t shared = i == 0 ? 0 : common_prefix(sorted[i - 1], sorted[i]);
        if (sorted[i]->len - shared > SIZE_MAX - total) {
            free(sorted);
            return vs_fail(VS_ETOOBIG, "masking: too many pattern bytes");
        }
        total += sorted[i]->len - shared;
    }
    free(sorted);
    *states = total;
    return 0;
}

static int alloc_tables(struct vs_ac *ac, size_t states)
{
    if (states > VS_AC_ROW / ac->classes)
        return vs_fail(VS_ETOOBIG, "masking: %zu automaton states over the table limit", states);
    size_t cells = states * ac->classes + 2 * states;
    if (cells > SIZE_MAX / sizeof(uint32_t))
        return vs_fail(VS_ETOOBIG, "masking: automaton too large");
    uint32_t *block = sodium_malloc(cells * sizeof(uint32_t));
    if (block == NULL)
        return vs_fail(VS_ENOMEM, "masking: no memory for a %zu-state automaton", states);
    memset(block, 0, cells * sizeof(uint32_t));
    ac->block = block;
    ac->states = (uint32_t)states;
    ac->next = block;
    ac->out_len = block + states * ac->classes;
    ac->hold = ac->out_len + states;
    return 0;
}

/* Inserts every pattern; child edges hold state numbers (0: none yet,
 * the root is never a child). */
static void insert_all(struct vs_ac *ac, const struct vs_ac_pattern *p, size_t n, bool *has_child)
{
    uint32_t used = 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = 0;
        for (size_t k = 0; k < p[i].len; k++) {
            uint32_t *e = &ac->next[(size_t)s * ac->classes + ac->byte_class[p[i].data[k]]];
            if (*e == 0) {
                *e = used++;
                has_child[s] = true;
            }
            s = *e;
        }
        if (p[i].len > ac->out_len[s])
            ac->out_len[s] = (uint32_t)p[i].len;
    }
}

static int link_states(struct vs_ac *ac, const bool *has_child)
{
    size_t states = ac->states, cls = ac->classes;
    uint32_t *fail = calloc(states, sizeof *fail), *depth = calloc(states, sizeof *depth);
    uint32_t *queue = calloc(states, sizeof *queue);
    if (fail == NULL || depth == NULL || queue == NULL) {
        free(fail), free(depth), free(queue);
        return vs_fail(VS_ENOMEM, "masking: no memory to link the automaton");
    }
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    while (head < tail) {
        uint32_t r = queue[head++];
        uint32_t *row = &ac->next[(size_t)r * cls];
        const uint32_t *fail_row = &ac->next[(size_t)fail[r] * cls];
        for (size_t c = 0; c < cls; c++) {
            uint32_t u = row[c];
            if (u == 0) { /* a missing edge: go where the failure state goes */
                row[c] = r == 0 ? 0 : fail_row[c];
                continue;
            }
            fail[u] = r == 0 ? 0 : fail_row[c];
            depth[u] = depth[r] + 1;
            if (ac->out_len[fail[u]] > ac->out_len[u])
                ac->out_len[u] = ac->out_len[fail[u]];
            ac->hold[u] = has_child[u] ? depth[u] : ac->hold[fail[u]];
            queue[tail++] = u;
        }
    }
    free(fail), free(depth), free(queue);
    return 0;
}

/* Renumbers the states so that every state ending a pattern comes after
 * every other one, and turns state numbers into row offsets: the hot loop
 * then tests "row >= match_row" on the value it already has. */
static int renumber(struct vs_ac *ac)
{
    size_t states = ac->states, cls = ac->classes;
    uint32_t *new_id = calloc(states, sizeof *new_id);
    if (new_id == NULL)
        return vs_fail(VS_ENOMEM, "masking: no memory to lay out the automaton");
    uint32_t k = 0;
    for (int matching = 0; matching < 2; matching++)
        for (size_t s = 0; s < states; s++)
            if ((ac->out_len[s] != 0) == matching) {
                if (matching && ac->match_row == 0)
                    ac->match_row = k * (uint32_t)cls;
                new_id[s] = k++;
            }
    if (ac->match_row == 0) /* no state matches (no pattern) */
        ac->match_row = VS_AC_ROW;
    struct vs_ac old = *ac;
    int rc = alloc_tables(ac, states);
    if (rc != 0) {
        free(new_id);
        *ac = old;
        return rc;
    }
    for (size_t s = 0; s < states; s++) {
        size_t to = new_id[s];
        for (size_t c = 0; c < cls; c++)
            ac->next[to * cls + c] = new_id[old.next[s * cls + c]] * (uint32_t)cls;
        ac->out_len[to] = old.out_len[s];
        ac->hold[to] = old.hold[s];
    }
    free(new_id);
    vs_ac_free(&old);
    return 0;
}

int vs_ac_build(struct vs_ac *ac, const struct vs_ac_pattern *patterns, size_t n)
{
    memset(ac, 0, sizeof *ac);
    bool used[256] = {false};
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < patterns[i].len; k++)
            used[patterns[i].data[k]] = true;
        if (patterns[i].len > UINT32_MAX / 2)
            return vs_fail(VS_ETOOBIG, "masking: a pattern is too long");
        if (patterns[i].len > ac->longest)
            ac->longest = (uint32_t)patterns[i].len;
    }
    /* Class 0 gathers the bytes no pattern uses, when there are any. */
    ac->classes = 0;
    for (int b = 0; b < 256 && ac->classes == 0; b++)
        ac->classes = used[b] ? 0 : 1;
    for (int b = 0; b < 256; b++)
        ac->byte_class[b] = used[b] ? (uint8_t)ac->classes++ : 0;
    size_t states = 0;
    int rc = count_states(patterns, n, &states);
    if (rc == 0)
        rc = alloc_tables(ac, states);
    if (rc != 0)
        return rc;
    bool *has_child = calloc(states, sizeof *has_child);
    if (has_child == NULL) {
        vs_ac_free(ac);
        return vs_fail(VS_ENOMEM, "masking: no memory to build the automaton");
    }
    insert_all(ac, patterns, n, has_child);
    rc = link_states(ac, has_child);
    free(has_child);
    if (rc == 0)
        rc = renumber(ac);
    if (rc != 0)
        vs_ac_free(ac);
    return rc;
}

void vs_ac_free(struct vs_ac *ac)
{
    if (ac->block != NULL)
        sodium_free(ac->block); /* wipes */
    memset(ac, 0, sizeof *ac);
}
