/* Which files `vaultctl import` looks at: the known credential files and
 * shell profiles in the home folder, and .env files under the current
 * folder; or the paths given. Each is read (symlinks followed to the file
 * that is rewritten) into locked memory. */
#include "import.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENV_DEPTH_MAX 8
#define ENV_FILES_MAX 256

static const struct {
    const char *rel;
    enum imp_kind kind;
} home_files[] = {
    {".npmrc", IMP_NPMRC}, {".netrc", IMP_NETRC}, {".aws/credentials", IMP_AWS},
    {".config/gh/hosts.yml", IMP_GH}, {".pypirc", IMP_PYPIRC}, {".docker/config.json", IMP_DOCKER},
    {".git-credentials", IMP_GITCRED}, {".bashrc", IMP_PROFILE}, {".profile", IMP_PROFILE},
    {".bash_profile", IMP_PROFILE}, {".zshrc", IMP_PROFILE},
};

/* .env, .env.local, .env.production...; not the shared examples. */
static bool env_file_name(const char *base)
{
    if (strcmp(base, ".env") == 0)
        return true;
    if (strncmp(base, ".env.", 5) != 0)
        return false;
    static const char *const examples[] = {".example", ".sample", ".template", ".dist", ".defaults"};
    size_t n = strlen(base);
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        size_t k = strlen(examples[i]);
        if (n >= k && strcmp(base + n - k, examples[i]) == 0)
            return false;
    }
    return true;
}

int imp_kind_of_path(const char *path, enum imp_kind *kind)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof home_files / sizeof home_files[0]; i++) {
        size_t k = strlen(home_files[i].rel);
        if (n >= k && strcmp(path + n - k, home_files[i].rel) == 0 && (n == k || path[n - k - 1] == '/')) {
            *kind = home_files[i].kind;
            return 0;
        }
    }
    if (strcmp(base, "credentials") == 0) {
        *kind = IMP_AWS;
        return 0;
    }
    if (env_file_name(base)) {
        *kind = IMP_ENV;
        return 0;
    }
    return vs_fail(VS_EINVAL, "%s: cannot tell what kind of file this is (see vaultctl import --help)", path);
}

int imp_read_file(const char *path, uint8_t **data, size_t *len, struct imp_stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return vs_fail_errno(errno == ENOENT ? VS_ENOENT : VS_EIO, "%s", path);
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) != 0)
        rc = vs_fail_errno(VS_EIO, "%s", path);
    else if (!S_ISREG(sb.st_mode))
        rc = vs_fail(VS_EINVAL, "%s: not a regular file", path);
    else if (sb.st_nlink > 1)
        rc = vs_fail(VS_EINVAL, "%s: has %lu hard links (a rewrite would split them)", path,
                     (unsigned long)sb.st_nlink);
    else if ((uint64_t)sb.st_size > IMP_FILE_MAX)
        rc = vs_fail(VS_ETOOBIG, "%s: larger than %u bytes", path, IMP_FILE_MAX);
    uint8_t *buf = NULL;
    size_t got = 0;
    if (rc == 0 && (buf = sodium_malloc((size_t)sb.st_size + 1)) == NULL)
        rc = vs_fail(VS_ENOMEM, "out of locked memory");
    while (rc == 0 && got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = vs_fail_errno(VS_EIO, "read %s", path);
        else
            got += (size_t)r;
    }
    close(fd);
    if (rc != 0) {
        sodium_free(buf);
        return rc;
    }
    buf[got] = 0;
    *data = buf;
    *len = got;
    st->mode = sb.st_mode & 07777;
    st->uid = sb.st_uid;
    st->gid = sb.st_gid;
    return 0;
}

static int add_file(struct imp_files *out, const char *path, const char *shown, enum imp_kind kind)
{
    char real[PATH_MAX];
    if (realpath(path, real) == NULL)
        return errno == ENOENT ? 0 : vs_fail_errno(VS_EIO, "%s", path);
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->v[i].path, real) == 0)
            return 0; /* named twice */
    if (out->n == out->cap) {
        size_t cap = out->cap == 0 ? 16 : out->cap * 2;
        struct imp_file *v = realloc(out->v, cap * sizeof *v);
        if (v == NULL)
            return vs_fail(VS_ENOMEM, "out of memory");
        out->v = v;
        out->cap = cap;
    }
    struct imp_file *f = &out->v[out->n];
    memset(f, 0, sizeof *f);
    if (strlen(real) >= sizeof f->path || strlen(shown) >= sizeof f->shown)
        return vs_fail(VS_ETOOBIG, "%s: path too long", path);
    strcpy(f->path, real);
    if (path[0] == '/')
        (void)snprintf(f->abs, sizeof f->abs, "%s", path);
    else if (getcwd(f->abs, sizeof f->abs) == NULL || strlen(f->abs) + strlen(path) + 2 > sizeof f->abs)
        (void)snprintf(f->abs, sizeof f->abs, "%s", real);
    else
        strcat(strcat(f->abs, "/"), path);
    strcpy(f->shown, shown);
    f->kind = kind;
    int rc = imp_read_file(f->path, &f->data, &f->len, &f->st);
    if (rc != 0)
        return rc;
    out->n++;
    return imp_parse(kind, f->data, f->len, &f->finds);
}

/* .env files below dir, skipping .git, node_modules and other tools'
 * folders; bounded in depth and count. */
static int find_env_files(struct imp_files *out, const char *dir, const char *shown, int depth, size_t *count)
{
    if (depth > ENV_DEPTH_MAX)
        return 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == EACCES ? 0 : vs_fail_errno(VS_EIO, "%s", dir);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, ".git") == 0 ||
            strcmp(n, "node_modules") == 0 || strcmp(n, ".venv") == 0 || strcmp(n, "venv") == 0)
            continue;
        char path[PATH_MAX], sub[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, n) >= (int)sizeof path ||
            snprintf(sub, sizeof sub, "%s%s%s", shown, shown[0] != '\0' ? "/" : "", n) >= (int)sizeof sub)
            continue;
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            rc = find_env_files(out, path, sub, depth + 1, count);
        else if (S_ISREG(sb.st_mode) && env_file_name(n)) {
            if (++*count > ENV_FILES_MAX)
                rc = vs_fail(VS_ETOOBIG, "more than %d .env files under the current folder", ENV_FILES_MAX);
            else
                rc = add_file(out, path, sub, IMP_ENV);
        }
    }
    closedir(d);
    return rc;
}

int imp_collect(const char *home, const char *cwd, int npaths, char **paths, struct imp_files *out)
{
    int rc = 0;
    size_t count = 0;
    if (npaths == 0) {
        for (size_t i = 0; rc == 0 && i < sizeof home_files / sizeof home_files[0]; i++) {
            char path[PATH_MAX], shown[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", home, home_files[i].rel) >= (int)sizeof path)
                return vs_fail(VS_ETOOBIG, "home path too long");
            (void)snprintf(shown, sizeof shown, "~/%s", home_files[i].rel);
            rc = add_file(out, path, shown, home_files[i].kind);
        }
        if (rc == 0)
            rc = find_env_files(out, cwd, "", 0, &count);
        return rc;
    }
    for (int i = 0; rc == 0 && i < npaths; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0)
            return vs_fail_errno(VS_ENOENT, "%s", paths[i]);
        if (S_ISDIR(sb.st_mode)) {
            rc = find_env_files(out, paths[i], paths[i], 0, &count);
            continue;
        }
        enum imp_kind kind;
        rc = imp_kind_of_path(paths[i], &kind);
        if (rc == 0)
            rc = add_file(out, paths[i], paths[i], kind);
    }
    return rc;
}

void imp_files_free(struct imp_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        imp_drop_staged(&f->v[i]);
        sodium_free(f->v[i].data);
        imp_finds_free(&f->v[i].finds);
        free(f->v[i].after);
        free(f->v[i].tmpl);
    }
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}
