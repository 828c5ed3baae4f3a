/* Policy indexes and look-ups. Rules this file keeps:
 * 1. Every per-request look-up is a binary search (tools by device and
 *    inode, files by path, protected names), never a scan of all tools.
 * 2. Two tools with the same look-up key, two files with the same name or
 *    path, two tools with the same name: refused at load, naming both lines. */
#include "policy_internal.h"

#include "error.h"
#include "names.h"

#include <stdlib.h>
#include <string.h>

struct vs_policy_tool_key {
    dev_t exe_dev;
    ino_t exe_ino;
    int has_script;
    dev_t script_dev;
    ino_t script_ino;
    size_t tool;
};

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

static int key_cmp(const void *va, const void *vb)
{
    const struct vs_policy_tool_key *a = va, *b = vb;
    int r;
    if ((r = CMP(a->exe_dev, b->exe_dev)) != 0 || (r = CMP(a->exe_ino, b->exe_ino)) != 0 ||
        (r = CMP(a->has_script, b->has_script)) != 0 ||
        (r = CMP(a->script_dev, b->script_dev)) != 0 || (r = CMP(a->script_ino, b->script_ino)) != 0)
        return r;
    return 0;
}

/* Sorting context for index arrays (qsort has no context argument). */
struct by_str {
    const char *s;
    unsigned line;
    size_t idx;
};

static int by_str_cmp(const void *va, const void *vb)
{
    const struct by_str *a = va, *b = vb;
    int r = strcmp(a->s, b->s);
    return r != 0 ? r : CMP(a->line, b->line);
}

static int str_cmp(const void *va, const void *vb)
{
    return strcmp(*(char *const *)va, *(char *const *)vb);
}

/* Sorts v and refuses the first repeat ("SRC:LINE: duplicate WHAT ..."). */
static int sort_unique(struct by_str *v, size_t n, const char *src, const char *what)
{
    qsort(v, n, sizeof *v, by_str_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i - 1].s, v[i].s) == 0)
            return vs_fail(VS_EPOLICY, "%s:%u: duplicate %s \"%s\" (first at line %u)", src,
                           v[i].line, what, v[i].s, v[i - 1].line);
    return 0;
}

int vs_policy_build_file_index(struct vs_policy *p, const char *src)
{
    struct by_str *v = calloc(p->n_files + 1, sizeof *v);
    if (v == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    for (size_t i = 0; i < p->n_files; i++)
        v[i] = (struct by_str){p->files[i].name, p->files[i].line, i};
    int rc = sort_unique(v, p->n_files, src, "file name");
    for (size_t i = 0; rc == 0 && i < p->n_files; i++)
        v[i] = (struct by_str){p->files[i].path, p->files[i].line, i};
    if (rc == 0)
        rc = sort_unique(v, p->n_files, src, "file path");
    if (rc == 0 && (p->file_by_path = calloc(p->n_files + 1, sizeof *p->file_by_path)) == NULL)
        rc = vs_fail(VS_ENOMEM, "policy: out of memory");
    for (size_t i = 0; rc == 0 && i < p->n_files; i++)
        p->file_by_path[i] = v[i].idx;
    free(v);
    return rc;
}

int vs_policy_build_tool_index(struct vs_policy *p, const char *src)
{
    struct by_str *v = calloc(p->n_tools + 1, sizeof *v);
    if (v == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    for (size_t i = 0; i < p->n_tools; i++)
        v[i] = (struct by_str){p->tools[i].name, p->tools[i].line, i};
    int rc = sort_unique(v, p->n_tools, src, "tool name");
    free(v);
    if (rc != 0)
        return rc;
    p->tool_index = calloc(p->n_tools + 1, sizeof *p->tool_index);
    if (p->tool_index == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < p->n_tools; i++) {
        const struct vs_policy_tool *t = &p->tools[i];
        if (!t->available)
            continue;
        p->tool_index[n++] = (struct vs_policy_tool_key){
            .exe_dev = t->exe_dev, .exe_ino = t->exe_ino, .has_script = t->script != NULL,
            .script_dev = t->script != NULL ? t->script_dev : 0,
            .script_ino = t->script != NULL ? t->script_ino : 0, .tool = i};
    }
    qsort(p->tool_index, n, sizeof *p->tool_index, key_cmp);
    p->n_tool_index = n;
    for (size_t i = 1; i < n; i++) {
        if (key_cmp(&p->tool_index[i - 1], &p->tool_index[i]) == 0) {
            const struct vs_policy_tool *a = &p->tools[p->tool_index[i - 1].tool];
            const struct vs_policy_tool *b = &p->tools[p->tool_index[i].tool];
            if (a->line > b->line) {
                const struct vs_policy_tool *x = a;
                a = b;
                b = x;
            }
            return vs_fail(VS_EPOLICY, "%s:%u: tool %s: same %s as tool %s (line %u)", src, b->line,
                           b->name, b->script != NULL ? "executable and script" : "executable",
                           a->name, a->line);
        }
    }
    return 0;
}

int vs_policy_build_protect(struct vs_policy *p)
{
    size_t extra = 0;
    for (size_t i = 0; i < p->n_tools; i++)
        extra += p->tools[i].n_env;
    char **v = realloc(p->protect_exact, (p->n_protect_exact + extra + 1) * sizeof *v);
    if (v == NULL)
        return vs_fail(VS_ENOMEM, "policy: out of memory");
    p->protect_exact = v;
    for (size_t i = 0; i < p->n_tools; i++) {
        for (size_t k = 0; k < p->tools[i].n_env; k++) {
            char *s = strdup(p->tools[i].env[k].env);
            if (s == NULL)
                return vs_fail(VS_ENOMEM, "policy: out of memory");
            v[p->n_protect_exact++] = s;
        }
    }
    qsort(v, p->n_protect_exact, sizeof *v, str_cmp);
    size_t out = 0;
    for (size_t i = 0; i < p->n_protect_exact; i++) {
        if (out > 0 && strcmp(v[out - 1], v[i]) == 0)
            free(v[i]);
        else
            v[out++] = v[i];
    }
    p->n_protect_exact = out;
    return 0;
}

const struct vs_policy_tool *vs_policy_find_tool(const struct vs_policy *p, dev_t exe_dev,
                                                 ino_t exe_ino, bool has_script,
                                                 dev_t script_dev, ino_t script_ino)
{
    struct vs_policy_tool_key k = {exe_dev, exe_ino, 1, script_dev, script_ino, 0};
    const struct vs_policy_tool_key *hit = NULL;
    if (p == NULL || p->n_tool_index == 0)
        return NULL;
    if (has_script)
        hit = bsearch(&k, p->tool_index, p->n_tool_index, sizeof k, key_cmp);
    if (hit == NULL) {
        k = (struct vs_policy_tool_key){exe_dev, exe_ino, 0, 0, 0, 0};
        hit = bsearch(&k, p->tool_index, p->n_tool_index, sizeof k, key_cmp);
    }
    return hit != NULL ? &p->tools[hit->tool] : NULL;
}

bool vs_policy_is_interpreter(const struct vs_policy *p, dev_t exe_dev, ino_t exe_ino)
{
    if (p == NULL || p->n_tool_index == 0)
        return false;
    /* Lower bound of (exe, has_script = 1, 0, 0): the first script tool of exe. */
    struct vs_policy_tool_key k = {exe_dev, exe_ino, 1, 0, 0, 0};
    size_t lo = 0, hi = p->n_tool_index;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(&p->tool_index[mid], &k) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n_tool_index && p->tool_index[lo].exe_dev == exe_dev && p->tool_index[lo].exe_ino == exe_ino &&
           p->tool_index[lo].has_script;
}

const struct vs_policy_tool *vs_policy_find_tool_by_name(const struct vs_policy *p,
                                                         const char *name)
{
    for (size_t i = 0; p != NULL && name != NULL && i < p->n_tools; i++)
        if (p->tools[i].name != NULL && strcmp(p->tools[i].name, name) == 0)
            return &p->tools[i];
    return NULL;
}

const struct vs_policy_file *vs_policy_find_file(const struct vs_policy *p, const char *path)
{
    if (p == NULL || path == NULL || p->file_by_path == NULL)
        return NULL;
    size_t lo = 0, hi = p->n_files;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct vs_policy_file *f = &p->files[p->file_by_path[mid]];
        int r = strcmp(path, f->path);
        if (r == 0)
            return f;
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct vs_policy_file *vs_policy_find_file_by_name(const struct vs_policy *p,
                                                         const char *name)
{
    for (size_t i = 0; p != NULL && name != NULL && i < p->n_files; i++)
        if (p->files[i].name != NULL && strcmp(p->files[i].name, name) == 0)
            return &p->files[i];
    return NULL;
}

bool vs_policy_is_protected(const struct vs_policy *p, const char *env_name)
{
    if (p == NULL || env_name == NULL)
        return false;
    if (p->n_protect_exact > 0 &&
        bsearch(&env_name, p->protect_exact, p->n_protect_exact, sizeof env_name, str_cmp) != NULL)
        return true;
    for (size_t i = 0; i < p->n_protect_glob; i++)
        if (vs_env_pattern_match(p->protect_glob[i], env_name))
            return true;
    return false;
}

int vs_policy_tool_args(const struct vs_policy_tool *t, int argc, char *const argv[],
                        const char **why)
{
    return vs_args_decide(&t->allow_args, &t->deny_args, argc, argv, why);
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void vs_policy_free(struct vs_policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; p->tools != NULL && i < p->n_tools; i++) {
        struct vs_policy_tool *t = &p->tools[i];
        free(t->name);
        free(t->exe);
        free(t->script);
        free(t->exe_real);
        free(t->script_real);
        for (size_t k = 0; k < t->n_env; k++) {
            free(t->env[k].env);
            free(t->env[k].secret);
        }
        free(t->env);
        free(t->files);
        for (size_t k = 0; k < t->n_hide; k++)
            free(t->hide[k]);
        free(t->hide);
        vs_arglist_free(&t->allow_args);
        vs_arglist_free(&t->deny_args);
        vs_arglist_free(&t->approve_args);
    }
    free(p->tools);
    for (size_t i = 0; p->files != NULL && i < p->n_files; i++) {
        free(p->files[i].name);
        free(p->files[i].path);
        vs_template_free(p->files[i].tmpl);
    }
    free(p->files);
    free_strv(p->protect_exact, p->n_protect_exact);
    free_strv(p->protect_glob, p->n_protect_glob);
    free_strv(p->warnings, p->n_warnings);
    vs_policy_life_free(&p->life);
    free_strv(p->notify_argv, p->n_notify);
    free(p->tool_index);
    free(p->file_by_path);
    free(p->source);
    free(p->audit_log);
    free(p);
}
