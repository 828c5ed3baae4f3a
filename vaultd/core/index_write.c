/* The index writer. Rules this file keeps:
 *  1. The index holds names, paths, device and inode numbers, never a value
 *     (no secret name either: only env names and file paths).
 *  2. Its output always passes vs_index_validate (checked before returning:
 *     a writer bug is an error here, not a refused file in every process).
 *  3. The file is replaced atomically, mode 0644: a process that mapped the
 *     old file keeps reading the old inode, a new one sees the whole new file. */
#include "index_write.h"

#include "error.h"
#include "fileio.h"
#include "index.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Interned strings: each distinct string once, offset 0 is "". */
struct strtab {
    struct vs_buf buf;
    uint32_t *slots; /* offsets into buf, 0 = empty */
    size_t cap, n;
};

static int st_init(struct strtab *st)
{
    vs_buf_init(&st->buf, VS_INDEX_MAX_BYTES);
    st->cap = 256;
    st->n = 0;
    st->slots = calloc(st->cap, sizeof *st->slots);
    if (st->slots == NULL)
        return vs_fail(VS_ENOMEM, "index: out of memory");
    return vs_buf_put_u8(&st->buf, 0);
}

static void st_free(struct strtab *st)
{
    vs_buf_free(&st->buf);
    free(st->slots);
}

static size_t probe(const struct strtab *st, uint32_t *slots, size_t cap, const char *s, size_t len)
{
    size_t i = vs_index_hash(s, len) & (cap - 1);
    while (slots[i] != 0 && strcmp((const char *)st->buf.data + slots[i], s) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

static int st_grow(struct strtab *st)
{
    size_t cap = st->cap * 2;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return vs_fail(VS_ENOMEM, "index: out of memory");
    for (size_t i = 0; i < st->cap; i++) {
        if (st->slots[i] == 0)
            continue;
        const char *s = (const char *)st->buf.data + st->slots[i];
        slots[probe(st, slots, cap, s, strlen(s))] = st->slots[i];
    }
    free(st->slots);
    st->slots = slots;
    st->cap = cap;
    return 0;
}

static int intern(struct strtab *st, const char *s, uint32_t *off)
{
    size_t len = s != NULL ? strlen(s) : 0;
    if (len == 0)
        return vs_fail(VS_EINVAL, "index: empty name or path");
    size_t i = probe(st, st->slots, st->cap, s, len);
    if (st->slots[i] != 0) {
        *off = st->slots[i];
        return 0;
    }
    size_t at = st->buf.len;
    if (vs_buf_put(&st->buf, s, len + 1) != 0)
        return vs_fail(st->buf.err, "index: strings over %u bytes", VS_INDEX_MAX_BYTES);
    st->slots[i] = (uint32_t)at;
    *off = (uint32_t)at;
    return ++st->n * 2 > st->cap ? st_grow(st) : 0;
}

/* A growable array of u32 (string offsets, refs). */
struct u32v {
    uint32_t *v;
    size_t n, cap;
};

static int u32v_push(struct u32v *a, uint32_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap != 0 ? a->cap * 2 : 64;
        uint32_t *v = realloc(a->v, cap * sizeof *v);
        if (v == NULL)
            return vs_fail(VS_ENOMEM, "index: out of memory");
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static int push_str(struct strtab *st, struct u32v *a, const char *s)
{
    uint32_t off;
    int rc = intern(st, s, &off);
    return rc != 0 ? rc : u32v_push(a, off);
}

/* A hash table over interned offsets (a repeated offset goes in once). */
static int make_table(const struct strtab *st, const struct u32v *offs, struct vs_index_slot **out,
                      uint32_t *size)
{
    size_t n = 0;
    while (n < 2 * offs->n)
        n = n != 0 ? n * 2 : 1;
    if (n > VS_INDEX_MAX_BYTES / sizeof **out)
        return vs_fail(VS_ETOOBIG, "index: %zu entries in one table", offs->n);
    *out = calloc(n != 0 ? n : 1, sizeof **out);
    if (*out == NULL)
        return vs_fail(VS_ENOMEM, "index: out of memory");
    for (size_t k = 0; k < offs->n; k++) {
        const char *s = (const char *)st->buf.data + offs->v[k];
        uint32_t h = vs_index_hash(s, strlen(s));
        size_t i = h & (n - 1);
        while ((*out)[i].str != 0 && (*out)[i].str != offs->v[k])
            i = (i + 1) & (n - 1);
        (*out)[i] = (struct vs_index_slot){h, offs->v[k]};
    }
    *size = (uint32_t)n;
    return 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int tool_cmp(const void *va, const void *vb)
{
    const struct vs_index_tool *a = va, *b = vb;
    int r;
    if ((r = cmp_u64(a->exe_dev, b->exe_dev)) != 0 || (r = cmp_u64(a->exe_ino, b->exe_ino)) != 0 ||
        (r = cmp_u64(a->script_dev, b->script_dev)) != 0)
        return r;
    return cmp_u64(a->script_ino, b->script_ino);
}

static int devino_cmp(const void *va, const void *vb)
{
    const struct vs_index_devino *a = va, *b = vb;
    int r = cmp_u64(a->dev, b->dev);
    return r != 0 ? r : cmp_u64(a->ino, b->ino);
}

/* Everything the file holds, before it is laid out. */
struct parts {
    struct strtab st;
    struct u32v names, paths, granted, refs;
    struct vs_index_glob *globs;
    struct vs_index_tool *tools;
    struct vs_index_devino *interp;
    size_t n_globs, n_tools, n_interp;
    struct vs_index_slot *t_names, *t_paths, *t_granted;
    uint32_t n_names, n_paths, n_granted;
};

static void parts_free(struct parts *w)
{
    st_free(&w->st);
    free(w->names.v);
    free(w->paths.v);
    free(w->granted.v);
    free(w->refs.v);
    free(w->globs);
    free(w->tools);
    free(w->interp);
    free(w->t_names);
    free(w->t_paths);
    free(w->t_granted);
}

static int add_globs(struct parts *w, const struct vs_policy *p)
{
    w->globs = calloc(p->n_protect_glob + 1, sizeof *w->globs);
    if (w->globs == NULL)
        return vs_fail(VS_ENOMEM, "index: out of memory");
    for (size_t i = 0; i < p->n_protect_glob; i++) {
        const char *s = p->protect_glob[i];
        const char *first = strchr(s, '*'), *last = strrchr(s, '*');
        size_t len = strlen(s);
        if (first == NULL)
            return vs_fail(VS_EINVAL, "index: pattern \"%s\" has no '*'", s);
        if (len > UINT16_MAX)
            return vs_fail(VS_ETOOBIG, "index: a pattern of %zu bytes", len);
        struct vs_index_glob *g = &w->globs[w->n_globs++];
        int rc = intern(&w->st, s, &g->str);
        if (rc != 0)
            return rc;
        g->len = (uint16_t)len;
        g->prefix = (uint16_t)(first - s);
        g->suffix = (uint16_t)(s + len - 1 - last);
    }
    return 0;
}

static int add_tools(struct parts *w, const struct vs_policy *p)
{
    w->tools = calloc(p->n_tools + 1, sizeof *w->tools);
    w->interp = calloc(p->n_tools + 1, sizeof *w->interp);
    if (w->tools == NULL || w->interp == NULL)
        return vs_fail(VS_ENOMEM, "index: out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->n_tools; i++) {
        const struct vs_policy_tool *pt = &p->tools[i];
        if (!pt->available)
            continue;
        struct vs_index_tool *t = &w->tools[w->n_tools++];
        t->exe_dev = (uint64_t)pt->exe_dev;
        t->exe_ino = (uint64_t)pt->exe_ino;
        if (pt->script != NULL) {
            t->script_dev = (uint64_t)pt->script_dev;
            t->script_ino = (uint64_t)pt->script_ino;
            if ((t->script_dev | t->script_ino) == 0)
                return vs_fail(VS_EINVAL, "index: tool %s: script with device and inode 0", pt->name);
            t->flags |= VS_INDEX_TOOL_INTERPRETER;
            w->interp[w->n_interp++] = (struct vs_index_devino){t->exe_dev, t->exe_ino};
        }
        /* mask (on by default) matters only for a run through vault-exec. */
        bool routed = pt->mediate || pt->approve || pt->approve_args.n > 0;
        t->flags |= (pt->mediate ? VS_INDEX_TOOL_MEDIATED : 0) | (pt->approve || pt->approve_args.n > 0 ? VS_INDEX_TOOL_APPROVE : 0) |
                    (pt->mask && routed ? VS_INDEX_TOOL_MASK : 0);
        rc = intern(&w->st, pt->name, &t->name);
        t->env_first = (uint32_t)w->refs.n;
        t->env_count = (uint32_t)pt->n_env;
        for (size_t k = 0; rc == 0 && k < pt->n_env; k++)
            if ((rc = push_str(&w->st, &w->refs, pt->env[k].env)) == 0)
                rc = u32v_push(&w->granted, w->refs.v[w->refs.n - 1]);
        t->file_first = (uint32_t)w->refs.n;
        t->file_count = (uint32_t)pt->n_files;
        for (size_t k = 0; rc == 0 && k < pt->n_files; k++)
            rc = push_str(&w->st, &w->refs, p->files[pt->files[k]].path);
    }
    if (rc != 0)
        return rc;
    qsort(w->tools, w->n_tools, sizeof *w->tools, tool_cmp);
    for (size_t i = 1; i < w->n_tools; i++)
        if (tool_cmp(&w->tools[i - 1], &w->tools[i]) == 0)
            return vs_fail(VS_EPOLICY, "index: tools %s and %s have the same executable and script",
                           (const char *)w->st.buf.data + w->tools[i - 1].name,
                           (const char *)w->st.buf.data + w->tools[i].name);
    qsort(w->interp, w->n_interp, sizeof *w->interp, devino_cmp);
    size_t out = 0;
    for (size_t i = 0; i < w->n_interp; i++)
        if (out == 0 || devino_cmp(&w->interp[out - 1], &w->interp[i]) != 0)
            w->interp[out++] = w->interp[i];
    w->n_interp = out;
    return 0;
}

static int collect(struct parts *w, const struct vs_policy *p)
{
    int rc = st_init(&w->st);
    /* The built-in names first: they then sit at the start of STRINGS in
     * list order, where a reader confirms them in one compare. */
    for (size_t i = 0; rc == 0 && i < vs_index_builtin_count(); i++)
        rc = push_str(&w->st, &w->names, vs_index_builtin_name(i));
    for (size_t i = 0; rc == 0 && i < p->n_protect_exact; i++)
        rc = push_str(&w->st, &w->names, p->protect_exact[i]);
    for (size_t i = 0; rc == 0 && i < p->n_files; i++)
        rc = push_str(&w->st, &w->paths, p->files[i].path);
    if (rc == 0)
        rc = add_globs(w, p);
    if (rc == 0)
        rc = add_tools(w, p);
    while (rc == 0 && w->st.buf.len % 8 != 0) /* STRINGS is a multiple of 8 */
        rc = vs_buf_put_u8(&w->st.buf, 0);
    if (rc == 0 && w->st.buf.err != 0)
        rc = vs_fail(w->st.buf.err, "index: strings over %u bytes", VS_INDEX_MAX_BYTES);
    if (rc == 0)
        rc = make_table(&w->st, &w->names, &w->t_names, &w->n_names);
    if (rc == 0)
        rc = make_table(&w->st, &w->paths, &w->t_paths, &w->n_paths);
    if (rc == 0)
        rc = make_table(&w->st, &w->granted, &w->t_granted, &w->n_granted);
    return rc;
}

static int emit(const struct parts *w, uint64_t generation, uint32_t flags, struct vs_buf *out)
{
    const struct {
        const void *data;
        size_t count, size;
    } sect[VS_IDX_NSECT] = {
        [VS_IDX_STRINGS] = {w->st.buf.data, w->st.buf.len, 1},
        [VS_IDX_NAMES] = {w->t_names, w->n_names, sizeof *w->t_names},
        [VS_IDX_GLOBS] = {w->globs, w->n_globs, sizeof *w->globs},
        [VS_IDX_PATHS] = {w->t_paths, w->n_paths, sizeof *w->t_paths},
        [VS_IDX_TOOLS] = {w->tools, w->n_tools, sizeof *w->tools},
        [VS_IDX_REFS] = {w->refs.v, w->refs.n, sizeof *w->refs.v},
        [VS_IDX_INTERP] = {w->interp, w->n_interp, sizeof *w->interp},
        [VS_IDX_GRANTED] = {w->t_granted, w->n_granted, sizeof *w->t_granted},
    };
    struct vs_index_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, VS_INDEX_MAGIC, sizeof h.magic);
    h.version = VS_INDEX_VERSION;
    h.generation = generation;
    h.flags = flags;
    h.n_sections = VS_IDX_NSECT;
    size_t pos = sizeof h;
    for (int s = 0; s < VS_IDX_NSECT; s++) {
        pos = (pos + 7) & ~(size_t)7;
        if (sect[s].count > VS_INDEX_MAX_BYTES || sect[s].count * sect[s].size > VS_INDEX_MAX_BYTES - pos)
            return vs_fail(VS_ETOOBIG, "index: over %u bytes", VS_INDEX_MAX_BYTES);
        h.sect[s] = (struct vs_index_sect){(uint32_t)pos, (uint32_t)sect[s].count};
        pos += sect[s].count * sect[s].size;
    }
    pos = (pos + 7) & ~(size_t)7;
    if (pos > VS_INDEX_MAX_BYTES)
        return vs_fail(VS_ETOOBIG, "index: over %u bytes", VS_INDEX_MAX_BYTES);
    h.total_size = (uint32_t)pos;
    static const uint8_t zeros[8];
    vs_buf_init(out, VS_INDEX_MAX_BYTES);
    (void)vs_buf_reserve(out, pos);
    (void)vs_buf_put(out, &h, sizeof h);
    for (int s = 0; s < VS_IDX_NSECT; s++) {
        (void)vs_buf_put(out, zeros, h.sect[s].offset - out->len);
        (void)vs_buf_put(out, sect[s].data, sect[s].count * sect[s].size);
    }
    (void)vs_buf_put(out, zeros, pos - out->len);
    if (out->err != 0)
        return vs_fail(out->err, "index: cannot lay out %zu bytes", pos);
    return 0;
}

int vs_index_build(const struct vs_policy *p, uint64_t generation, uint32_t flags, struct vs_buf *out)
{
    struct parts w;
    memset(&w, 0, sizeof w);
    vs_buf_init(out, VS_INDEX_MAX_BYTES);
    int rc = collect(&w, p);
    if (rc == 0)
        rc = emit(&w, generation, flags, out);
    parts_free(&w);
    if (rc == 0 && (rc = vs_index_validate(out->data, out->len)) != 0)
        rc = vs_fail(rc, "index: the built file does not validate (%s)", vs_strerror(rc));
    if (rc != 0)
        vs_buf_free(out);
    return rc;
}

int vs_index_write(int dirfd, const char *name, const struct vs_policy *p, uint64_t generation,
                   uint32_t flags)
{
    if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return vs_fail(VS_EINVAL, "index: bad file name");
    char temp[NAME_MAX + 1];
    int n = snprintf(temp, sizeof temp, ".%s.tmp.%ld", name, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof temp)
        return vs_fail(VS_EINVAL, "%s: name too long", name);
    struct vs_buf b;
    int rc = vs_index_build(p, generation, flags, &b);
    if (rc != 0)
        return rc;
    (void)unlinkat(dirfd, temp, 0); /* a leftover of this pid's earlier crash */
    int fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = vs_fail_errno(VS_EIO, "create %s", name);
        vs_buf_free(&b);
        return rc;
    }
    if (fchmod(fd, 0644) != 0) /* whatever the umask */
        rc = vs_fail_errno(VS_EIO, "chmod %s", name);
    if (rc == 0)
        rc = vs_write_all(fd, b.data, b.len);
    if (rc == 0 && fsync(fd) != 0)
        rc = vs_fail_errno(VS_EIO, "fsync %s", name);
    if (close(fd) != 0 && rc == 0)
        rc = vs_fail_errno(VS_EIO, "close %s", name);
    vs_buf_free(&b);
    if (rc == 0 && renameat(dirfd, temp, dirfd, name) != 0)
        rc = vs_fail_errno(VS_EIO, "rename %s", name);
    if (rc != 0) {
        (void)unlinkat(dirfd, temp, 0);
        return rc;
    }
    if (fsync(dirfd) != 0)
        return vs_fail_errno(VS_EIO, "fsync folder of %s", name);
    return 0;
}
