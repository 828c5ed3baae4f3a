/* Aho-Corasick construction for the masker (layout in mask_automaton.h):
 * a trie with sibling lists, failure links in breadth-first order, then the
 * states renumbered (dense, sparse, sparse-matching) into one wiped block.
 * Scratch arrays that spell the patterns (edge classes) are wiped too. */
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
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t add = sorted[i]->len - (i == 0 ? 0 : common_prefix(sorted[i - 1], sorted[i]));
        if (add > VS_AC_CODE_MAX - total)
            rc = vs_fail(VS_ETOOBIG, "masking: too many pattern bytes");
        else
            total += add;
    }
    free(sorted);
    *states = total;
    return rc;
}

/* The trie while building: node 0 is the root; a child is never 0. */
struct trie {
    size_t n, used;
    uint32_t *first_child, *next_sibling, *fail, *depth, *order, *out_len, *hold, *nchild, *id;
    uint8_t *edge; /* class of the edge into each node */
    uint32_t root_child[256];
};

static void trie_free(struct trie *t)
{
    if (t->edge != NULL)
        sodium_memzero(t->edge, t->n);
    free(t->first_child), free(t->next_sibling), free(t->fail), free(t->depth), free(t->order);
    free(t->out_len), free(t->hold), free(t->nchild), free(t->id), free(t->edge);
    memset(t, 0, sizeof *t);
}

static int trie_alloc(struct trie *t, size_t n)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    uint32_t **arrays[] = {&t->first_child, &t->next_sibling, &t->fail, &t->depth, &t->order,
                           &t->out_len,     &t->hold,         &t->nchild, &t->id};
    bool ok = true;
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        ok = (*arrays[i] = calloc(n, sizeof(uint32_t))) != NULL && ok;
    ok = (t->edge = calloc(n, 1)) != NULL && ok;
    if (!ok) {
        trie_free(t);
        return vs_fail(VS_ENOMEM, "masking: no memory for a %zu-state automaton", n);
    }
    return 0;
}

static uint32_t child(const struct trie *t, uint32_t s, uint32_t c)
{
    if (s == 0)
        return t->root_child[c];
    for (uint32_t u = t->first_child[s]; u != 0; u = t->next_sibling[u])
        if (t->edge[u] == c)
            return u;
    return 0;
}

static void insert_all(struct trie *t, const struct vs_ac *ac, const struct vs_ac_pattern *p, size_t n)
{
    t->used = 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = 0;
        for (size_t k = 0; k < p[i].len; k++) {
            uint32_t c = ac->byte_class[p[i].data[k]], u = child(t, s, c);
            if (u == 0) {
                u = (uint32_t)t->used++;
                t->edge[u] = (uint8_t)c;
                t->next_sibling[u] = t->first_child[s];
                t->first_child[s] = u;
                t->nchild[s]++;
                if (s == 0)
                    t->root_child[c] = u;
            }
            s = u;
        }
        if (p[i].len > t->out_len[s])
            t->out_len[s] = (uint32_t)p[i].len;
    }
}

/* Where s goes on class c, following failure links (s's are all set). */
static uint32_t delta(const struct trie *t, uint32_t s, uint32_t c)
{
    for (;;) {
        uint32_t u = child(t, s, c);
        if (u != 0 || s == 0)
            return u;
        s = t->fail[s];
    }
}

/* Breadth-first: failure links, depth, longest output, hold. */
static void link_states(struct trie *t)
{
    size_t head = 0, tail = 0;
    t->order[tail++] = 0;
    while (head < tail) {
        uint32_t r = t->order[head++];
        for (uint32_t u = t->first_child[r]; u != 0; u = t->next_sibling[u]) {
            t->fail[u] = r == 0 ? 0 : delta(t, t->fail[r], t->edge[u]);
            t->depth[u] = t->depth[r] + 1;
            if (t->out_len[t->fail[u]] > t->out_len[u])
                t->out_len[u] = t->out_len[t->fail[u]];
            t->hold[u] = t->nchild[u] > 0 ? t->depth[u] : t->hold[t->fail[u]];
            t->order[tail++] = u;
        }
    }
}

static bool is_dense(const struct trie *t, uint32_t s)
{
    return t->depth[s] < VS_AC_DENSE_DEPTH && t->out_len[s] == 0;
}

/* Numbers the states: dense first (the root is 0), then sparse, then the
 * sparse states that end a pattern; t->id becomes each state's code. */
static int number_states(struct trie *t, struct vs_ac *ac, size_t *children)
{
    uint32_t nd = 0, ns = 0;
    for (size_t i = 0; i < t->used; i++)
        if (is_dense(t, t->order[i]))
            t->id[t->order[i]] = nd++;
    if ((uint64_t)nd * ac->classes > VS_AC_CODE_MAX - t->used)
        return vs_fail(VS_ETOOBIG, "masking: automaton over the table limit");
    ac->dense_states = nd;
    ac->dense_end = nd * ac->classes;
    *children = 0;
    ac->match_code = VS_AC_CODE_MAX;
    for (int matching = 0; matching < 2; matching++)
        for (size_t i = 0; i < t->used; i++) {
            uint32_t s = t->order[i];
            if (is_dense(t, s) || (t->out_len[s] != 0) != matching)
                continue;
            if (matching && ac->match_code == VS_AC_CODE_MAX)
                ac->match_code = ac->dense_end + ns;
            t->id[s] = ac->dense_end + ns++;
            *children += t->nchild[s];
        }
    for (size_t i = 0; i < t->used; i++)
        if (is_dense(t, t->order[i]))
            t->id[t->order[i]] *= ac->classes;
    return 0;
}

static int alloc_block(struct vs_ac *ac, size_t children)
{
    size_t ns = ac->states - ac->dense_states;
    size_t words = (size_t)ac->dense_end + 3 * ns + children + 2 * (size_t)ac->states;
    /* sodium_malloc puts the block against its guard page: its address is
     * only as aligned as its length is, so the length is rounded up. */
    ac->block_len = (words * sizeof(uint32_t) + children + 7) & ~(size_t)7;
    uint32_t *w = sodium_malloc(ac->block_len);
    if (w == NULL)
        return vs_fail(VS_ENOMEM, "masking: no memory for a %u-state automaton", ac->states);
    memset(w, 0, ac->block_len);
    ac->block = w;
    ac->dense = w, w += ac->dense_end;
    ac->sp_fail = w, w += ns;
    ac->sp_first = w, w += ns;
    ac->sp_count = w, w += ns;
    ac->ch_code = w, w += children;
    ac->out_len = w, w += ac->states;
    ac->hold = w, w += ac->states;
    ac->ch_class = (uint8_t *)w;
    return 0;
}

static void fill(const struct trie *t, struct vs_ac *ac)
{
    uint32_t next_child = 0;
    for (size_t i = 0; i < t->used; i++) {
        uint32_t s = t->order[i], code = t->id[s], index = vs_ac_index(ac, code);
        ac->out_len[index] = t->out_len[s];
        ac->hold[index] = t->hold[s];
        if (code < ac->dense_end) {
            for (uint32_t c = 0; c < ac->classes; c++)
                ac->dense[code + c] = t->id[delta(t, s, c)];
            continue;
        }
        uint32_t j = code - ac->dense_end;
        ac->sp_fail[j] = t->id[t->fail[s]];
        ac->sp_first[j] = next_child;
        for (uint32_t u = t->first_child[s]; u != 0; u = t->next_sibling[u]) {
            ac->ch_class[next_child] = t->edge[u];
            ac->ch_code[next_child++] = t->id[u];
        }
        ac->sp_count[j] = next_child - ac->sp_first[j];
    }
}

int vs_ac_build(struct vs_ac *ac, const struct vs_ac_pattern *patterns, size_t n)
{
    memset(ac, 0, sizeof *ac);
    bool used[256] = {false};
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < patterns[i].len; k++)
            used[patterns[i].data[k]] = true;
        if (patterns[i].len > VS_AC_CODE_MAX / 2)
            return vs_fail(VS_ETOOBIG, "masking: a pattern is too long");
        if (patterns[i].len > ac->longest)
            ac->longest = (uint32_t)patterns[i].len;
    }
    /* Class 0 gathers the bytes no pattern uses, when there are any. */
    for (int b = 0; b < 256 && ac->classes == 0; b++)
        ac->classes = used[b] ? 0 : 1;
    for (int b = 0; b < 256; b++)
        ac->byte_class[b] = used[b] ? (uint8_t)ac->classes++ : 0;
    size_t states = 0, children = 0;
    struct trie t;
    int rc = count_states(patterns, n, &states);
    if (rc != 0 || (rc = trie_alloc(&t, states)) != 0)
        return rc;
    ac->states = (uint32_t)states;
    insert_all(&t, ac, patterns, n);
    link_states(&t);
    rc = number_states(&t, ac, &children);
    if (rc == 0)
        rc = alloc_block(ac, children);
    if (rc == 0)
        fill(&t, ac);
    trie_free(&t);
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
