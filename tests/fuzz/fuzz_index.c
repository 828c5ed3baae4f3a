/* libFuzzer target for the index reader (common/index.c): validates the
 * input, and when it is accepted runs every look-up over it and checks what
 * validation promises (every tool is found by its own key, every accessor
 * in range answers, every answer stays inside the buffer: ASan checks
 * that). The input is copied to a buffer of exactly its size, so a read
 * past the end is caught. A second pass patches total_size to the input's
 * length, so mutations that grow or shrink a file still reach the section
 * checks. Not built by the Makefile:
 *
 *   clang -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Icommon \
 *     tests/fuzz/fuzz_index.c common/index.c common/names.c common/error.c common/buf.c \
 *     -o /tmp/fuzz_index
 *   /tmp/fuzz_index -max_total_time=60 tests/fuzz/corpus/index
 *
 * The seeds in tests/fuzz/corpus/index/ are written by the unit test:
 *   VS_INDEX_SEED_DIR=tests/fuzz/corpus/index build/tests/test_index */
#include "index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static size_t walk(const struct vs_index *idx)
{
    static const char *const names[] = {"GH_TOKEN", "HOME", "A_TOKEN", "AWS_X_KEY", "X", "",
                                        "OPENAI_API_KEY=sk-fake", "PATH=/bin"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        n += vs_index_env_protected(idx, names[i], strlen(names[i]));
        n += vs_index_entry_protected(idx, names[i]);
        n += vs_index_env_granted_anywhere(idx, names[i], strlen(names[i]));
        n += vs_index_path_managed(idx, names[i]);
    }
    /* every string the tables name, looked up again */
    const struct vs_index_slot *tables[] = {idx->names, idx->paths, idx->granted};
    const uint32_t sizes[] = {idx->n_names, idx->n_paths, idx->n_granted};
    for (size_t t = 0; t < 3; t++)
        for (uint32_t i = 0; i < sizes[t]; i++)
            if (tables[t][i].str != 0) {
                const char *s = idx->strings + tables[t][i].str;
                n += vs_index_env_protected(idx, s, strlen(s)) + vs_index_path_managed(idx, s) +
                     vs_index_entry_protected(idx, s);
            }
    for (uint32_t k = 0; k < idx->n_globs; k++) {
        const char *g = idx->strings + idx->globs[k].str;
        n += vs_index_env_protected(idx, g, strlen(g));
    }
    for (uint32_t k = 0; k < idx->n_tools; k++) {
        const struct vs_index_tool *t = &idx->tools[k];
        bool script = (t->flags & VS_INDEX_TOOL_INTERPRETER) != 0;
        check(vs_index_find_tool(idx, t->exe_dev, t->exe_ino, script, t->script_dev, t->script_ino) == t);
        n += vs_index_is_interpreter(idx, t->exe_dev, t->exe_ino);
        n += vs_index_find_tool(idx, t->exe_dev, t->exe_ino, false, 0, 0) != NULL;
        check(vs_index_tool_name(idx, t) != NULL);
        for (size_t e = 0; e < t->env_count; e++) {
            const char *s = vs_index_tool_env(idx, t, e);
            check(s != NULL && s[0] != '\0');
            n += vs_index_env_granted_anywhere(idx, s, strlen(s));
        }
        for (size_t f = 0; f < t->file_count; f++) {
            const char *s = vs_index_tool_file(idx, t, f);
            check(s != NULL && s[0] != '\0');
            n += vs_index_path_managed(idx, s);
        }
        check(vs_index_tool_env(idx, t, t->env_count) == NULL);
        check(vs_index_tool_file(idx, t, t->file_count) == NULL);
    }
    for (uint32_t k = 0; k < idx->n_interp; k++)
        check(vs_index_is_interpreter(idx, idx->interp[k].dev, idx->interp[k].ino));
    return n;
}

static void one(uint8_t *buf, size_t size)
{
    struct vs_index idx;
    int rc = vs_index_from_memory(buf, size, &idx);
    check(rc == vs_index_validate(buf, size));
    if (rc == 0) {
        check(idx.base == buf && idx.len == size);
        (void)walk(&idx);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024 * 1024)
        return 0;
    uint8_t *buf = malloc(size != 0 ? size : 1); /* malloc: 16-byte aligned */
    if (buf == NULL)
        return 0;
    if (size != 0)
        memcpy(buf, data, size);
    one(buf, size);
    if (size >= sizeof(struct vs_index_header)) {
        uint32_t total = (uint32_t)size;
        memcpy(buf + offsetof(struct vs_index_header, total_size), &total, sizeof total);
        one(buf, size);
    }
    free(buf);
    return 0;
}
