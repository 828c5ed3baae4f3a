/* The policy snippet an import writes: files entries serving each
 * rewritten credential file from its template, tools entries for the
 * programs that read them (with the example policy's allow lists), env
 * grants for known names, and protect for every other env name moved.
 * It holds no value: templates name secrets as {{name}}. It loads on its
 * own (vaultd --config FILE), so it can be checked before merging. */
#include "import.h"

#include "error.h"
#include "template.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum tool_id { T_NPM, T_CURL, T_AWS, T_GH, T_TWINE, T_DOCKER, T_GIT, T_COUNT };

struct tool_info {
    const char *name, *command, *exe, *script_command, *script;
    const char *allow, *deny;
};

/* exe and script: defaults when the command is not on PATH. The allow
 * lists are those of config/vaultshim.conf (curl's gets the netrc hosts). */
static const struct tool_info tool_info[T_COUNT] = {
    [T_NPM] = {"import_npm", "node", "/usr/bin/node", "npm", "/usr/lib/node_modules/npm/bin/npm-cli.js",
               "\"ci --ignore-scripts\", \"install --ignore-scripts\", \"install --ignore-scripts [!-]*\", "
               "\"whoami\", \"view [!-]*\", \"publish --ignore-scripts\"",
               "\"config **\", \"c **\", \"get **\", \"token **\""},
    [T_CURL] = {"import_curl", "curl", "/usr/bin/curl", NULL, NULL, NULL, NULL},
    [T_AWS] = {"import_aws", "aws", "/usr/local/bin/aws", NULL, NULL,
               "\"sts get-caller-identity\", \"s3 ls\", \"s3 ls s3://[!-]*\", \"ec2 describe-instances\"",
               "\"configure **\""},
    [T_GH] = {"import_gh", "gh", "/usr/bin/gh", NULL, NULL,
              "\"pr list\", \"pr view [0-9]*\", \"pr status\", \"issue list\", \"issue view [0-9]*\", "
              "\"repo view\", \"run list\", \"run view [0-9]*\"",
              "\"auth **\", \"api **\", \"secret **\", \"config **\", \"extension **\", \"alias **\""},
    [T_TWINE] = {"import_twine", "python3", "/usr/bin/python3", "twine", "/usr/bin/twine", "\"upload [!-]*\"",
                 NULL},
    [T_DOCKER] = {"import_docker", "docker", "/usr/bin/docker", NULL, NULL, "\"pull [!-]*\", \"push [!-]*\"",
                  NULL},
    [T_GIT] = {"import_git", "git", "/usr/bin/git", NULL, NULL,
               "\"fetch\", \"fetch origin\", \"pull --ff-only\", \"push\", \"push origin [!-]*\", "
               "\"ls-remote origin\"",
               "\"credential **\", \"credential-store **\", \"credential-cache **\", \"config **\""},
};

static const struct {
    const char *env;
    enum tool_id tool;
} env_tools[] = {
    {"GH_TOKEN", T_GH}, {"GITHUB_TOKEN", T_GH}, {"NPM_TOKEN", T_NPM},
    {"AWS_ACCESS_KEY_ID", T_AWS}, {"AWS_SECRET_ACCESS_KEY", T_AWS}, {"AWS_SESSION_TOKEN", T_AWS},
};

static enum tool_id tool_of_kind(enum imp_kind k)
{
    switch (k) {
    case IMP_NPMRC: return T_NPM;
    case IMP_NETRC: return T_CURL;
    case IMP_AWS: return T_AWS;
    case IMP_GH: return T_GH;
    case IMP_PYPIRC: return T_TWINE;
    case IMP_DOCKER: return T_DOCKER;
    case IMP_GITCRED: return T_GIT;
    default: return T_COUNT;
    }
}

/* A command found on PATH, symlinks resolved; else the default. */
static void which(const char *command, const char *fallback, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char dir[PATH_MAX], cand[PATH_MAX], real[PATH_MAX];
    for (const char *p = path != NULL ? path : ""; *p != '\0';) {
        const char *colon = strchr(p, ':');
        size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);
        if (n > 0 && n < sizeof dir && p[0] == '/') {
            memcpy(dir, p, n);
            dir[n] = '\0';
            if (snprintf(cand, sizeof cand, "%s/%s", dir, command) < (int)sizeof cand && access(cand, X_OK) == 0 &&
                realpath(cand, real) != NULL) {
                (void)snprintf(out, cap, "%s", real);
                return;
            }
        }
        p += n + (colon != NULL);
    }
    (void)snprintf(out, cap, "%s", fallback);
}

/* A libconfig string body: quotes, backslashes and control bytes escaped. */
static void put_cfg_str(struct vs_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            (void)vs_buf_printf(b, "\\%c", c);
        else if (c == '\n')
            (void)vs_buf_put_str(b, "\\n");
        else if (c == '\r')
            (void)vs_buf_put_str(b, "\\r");
        else if (c == '\t')
            (void)vs_buf_put_str(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            (void)vs_buf_printf(b, "\\x%02x", c);
        else
            (void)vs_buf_put_u8(b, c);
    }
}

static void policy_path(const struct imp_file *f, const char *pw_home, struct vs_buf *b)
{
    size_t h = strlen(pw_home);
    if (h > 1 && strncmp(f->abs, pw_home, h) == 0 && f->abs[h] == '/') {
        (void)vs_buf_put_str(b, "~");
        put_cfg_str(b, f->abs + h);
    } else {
        put_cfg_str(b, f->abs);
    }
}

struct tool_use {
    bool used;
    char files[1024];   /* "\"import_npmrc\", ..." */
    char env[2048];     /* "GH_TOKEN = \"gh_token\"; ..." */
    char hosts[1024];   /* curl allow patterns */
};

/* Appends sep (when dst is not empty) and item; an item that does not fit
 * is left out whole. */
static void append(char *dst, size_t cap, const char *sep, const char *item)
{
    size_t n = strlen(dst), s = n > 0 ? strlen(sep) : 0, k = strlen(item);
    if (n + s + k + 1 > cap)
        return;
    memcpy(dst + n, sep, s);
    memcpy(dst + n + s, item, k + 1);
}

static bool glob_safe(const char *s)
{
    return strpbrk(s, "*?[]\\\" ") == NULL && s[0] != '\0';
}

static void write_tools(struct tool_use *use, struct vs_buf *b)
{
    bool any = false;
    for (int t = 0; t < T_COUNT; t++)
        any |= use[t].used;
    if (!any)
        return;
    (void)vs_buf_put_str(b, "tools = (\n");
    bool first = true;
    for (int t = 0; t < T_COUNT; t++) {
        if (!use[t].used)
            continue;
        const struct tool_info *ti = &tool_info[t];
        char exe[PATH_MAX], script[PATH_MAX];
        which(ti->command, ti->exe, exe, sizeof exe);
        (void)vs_buf_printf(b, "%s  {\n    name = \"%s\";\n    exe = \"", first ? "" : ",\n", ti->name);
        put_cfg_str(b, exe);
        (void)vs_buf_put_str(b, "\";\n");
        if (ti->script_command != NULL) {
            which(ti->script_command, ti->script, script, sizeof script);
            (void)vs_buf_put_str(b, "    script = \"");
            put_cfg_str(b, script);
            (void)vs_buf_put_str(b, "\";\n");
        }
        if (use[t].files[0] != '\0')
            (void)vs_buf_printf(b, "    files = [ %s ];\n", use[t].files);
        if (use[t].env[0] != '\0')
            (void)vs_buf_printf(b, "    env = { %s };\n", use[t].env);
        if (t == T_CURL && use[t].hosts[0] != '\0')
            (void)vs_buf_printf(b, "    allow_args = [ %s ];\n", use[t].hosts);
        else if (t == T_CURL)
            (void)vs_buf_put_str(b, "    allow_args = [ ];\n");
        else if (ti->allow != NULL)
            (void)vs_buf_printf(b, "    allow_args = [ %s ];\n", ti->allow);
        if (ti->deny != NULL)
            (void)vs_buf_printf(b, "    deny_args = [ %s ];\n", ti->deny);
        (void)vs_buf_put_str(b, "  }");
        first = false;
    }
    (void)vs_buf_put_str(b, "\n);\n\n");
}

int imp_policy_snippet(const struct imp_files *files, const char *pw_home, struct vs_buf *b)
{
    struct tool_use *use = calloc(T_COUNT, sizeof *use);
    if (use == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    (void)vs_buf_put_str(b, "# vaultshim policy entries written by `vaultctl import`. No values: the\n"
                            "# templates name secrets as {{name}}. Check it alone with\n"
                            "#   vaultd --config THIS_FILE\n"
                            "# then merge the entries into your policy (tool and file names and paths\n"
                            "# must stay unique there; the exe paths were found on PATH).\n\n");
    /* env names: granted to a known tool, or protected */
    struct vs_buf protect;
    vs_buf_init(&protect, 0);
    for (size_t i = 0; i < files->n; i++) {
        const struct imp_finds *fs = &files->v[i].finds;
        for (size_t k = 0; k < fs->n; k++) {
            const struct imp_find *x = &fs->v[k];
            if (x->env[0] == '\0')
                continue;
            enum tool_id t = T_COUNT;
            for (size_t e = 0; e < sizeof env_tools / sizeof env_tools[0]; e++)
                if (strcmp(env_tools[e].env, x->env) == 0)
                    t = env_tools[e].tool;
            char entry[IMP_ENV_NAME_MAX + 8];
            (void)snprintf(entry, sizeof entry, "\"%s\"", x->env);
            if (t != T_COUNT) {
                char grant[IMP_ENV_NAME_MAX + VS_SECRET_NAME_MAX + 16];
                (void)snprintf(grant, sizeof grant, "%s = \"%s\";", x->env, x->name);
                if (strstr(use[t].env, grant) == NULL && strstr(use[t].env, x->env) == NULL)
                    append(use[t].env, sizeof use[t].env, " ", grant);
                use[t].used = true;
            } else if (protect.data == NULL || memmem(protect.data, protect.len, entry, strlen(entry)) == NULL) {
                (void)vs_buf_printf(&protect, "%s%s", protect.len > 0 ? ", " : "", entry);
            }
        }
    }
    if (protect.len > 0) {
        (void)vs_buf_put_str(b, "# From .env files and shell profiles: hidden from every process; grant\n"
                                "# them to a tool with env = { NAME = \"secret\"; } (the comment each\n"
                                "# moved line became names its secret).\n");
        (void)vs_buf_printf(b, "protect = [ %.*s ];\n\n", (int)protect.len, (const char *)protect.data);
    }
    vs_buf_free(&protect);
    /* files */
    struct vs_buf fentries;
    vs_buf_init(&fentries, 0);
    unsigned per_kind[IMP_PROFILE + 1] = {0};
    for (size_t i = 0; i < files->n; i++) {
        const struct imp_file *f = &files->v[i];
        enum tool_id t = tool_of_kind(f->kind);
        if (f->finds.n == 0 || t == T_COUNT)
            continue;
        if (f->tmpl == NULL) {
            (void)vs_buf_printf(b, "# %s: not served (it holds a literal \"{{\" or is too long for a template)\n",
                                f->shown);
            continue;
        }
        char fname[64];
        unsigned nth = ++per_kind[f->kind];
        static const char *const file_names[] = {"npmrc", "netrc", "aws", "gh_hosts", "pypirc", "docker",
                                                 "git_credentials", "env", "profile"};
        if (nth == 1)
            (void)snprintf(fname, sizeof fname, "import_%s", file_names[f->kind]);
        else
            (void)snprintf(fname, sizeof fname, "import_%s_%u", file_names[f->kind], nth);
        (void)vs_buf_printf(&fentries, "%s  { name = \"%s\"; path = \"", fentries.len > 0 ? ",\n" : "", fname);
        policy_path(f, pw_home, &fentries);
        (void)vs_buf_put_str(&fentries, "\";\n    template = \"");
        put_cfg_str(&fentries, f->tmpl);
        (void)vs_buf_put_str(&fentries, "\"; }");
        char quoted[80];
        (void)snprintf(quoted, sizeof quoted, "\"%s\"", fname);
        append(use[t].files, sizeof use[t].files, ", ", quoted);
        use[t].used = true;
        if (t == T_CURL) {
            for (size_t k = 0; k < f->finds.n; k++) {
                const char *host = f->finds.v[k].hint + 6; /* "netrc." */
                char pat[300];
                if (strcmp(host, "default") == 0 || !glob_safe(host))
                    continue;
                (void)snprintf(pat, sizeof pat, "\"--netrc -fsS https://%s/*\", \"--netrc -s https://%s/**\"", host,
                               host);
                if (strstr(use[t].hosts, pat) == NULL)
                    append(use[t].hosts, sizeof use[t].hosts, ", ", pat);
            }
        }
    }
    write_tools(use, b);
    if (fentries.len > 0)
        (void)vs_buf_printf(b, "files = (\n%.*s\n);\n", (int)fentries.len, (const char *)fentries.data);
    int err = fentries.err != 0 ? fentries.err : b->err;
    vs_buf_free(&fentries);
    free(use);
    return err != 0 ? vs_fail(err, "cannot build the policy snippet") : 0;
}
