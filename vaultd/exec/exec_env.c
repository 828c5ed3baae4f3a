/* The target's environment: the caller's, minus the names vault-exec sets,
 * plus the env grants, one variable per granted file naming its memfd as
 * /proc/self/fd/N, and VAULTSHIM_MEDIATED=1 (tells a preloaded shim in the
 * target to keep these values rather than fetch its own).
 *
 * Managed path -> the tool's own path variable (docs/vault-exec.md): a
 * file with no variable reaches only tools that open it under the shim. */
#include "vexec.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARKER "VAULTSHIM_MEDIATED=1"

static const struct {
    const char *suffix; /* of the managed path */
    const char *var;
} path_vars[] = {
    {"/.aws/credentials", "AWS_SHARED_CREDENTIALS_FILE"},
    {"/.aws/config", "AWS_CONFIG_FILE"},
    {"/.npmrc", "NPM_CONFIG_USERCONFIG"},
    {"/.netrc", "NETRC"},
    {"/.kube/config", "KUBECONFIG"},
    {"/.pgpass", "PGPASSFILE"},
    {"/.pypirc", "PYPIRC"},
    {"/.docker/config.json", "DOCKER_AUTH_CONFIG_FILE"},
    {"/application_default_credentials.json", "GOOGLE_APPLICATION_CREDENTIALS"},
};

#define NVARS (sizeof path_vars / sizeof path_vars[0])

const char *vexec_path_variable(const char *managed_path)
{
    size_t n = strlen(managed_path);
    for (size_t i = 0; i < NVARS; i++) {
        size_t k = strlen(path_vars[i].suffix);
        if (n >= k && strcmp(managed_path + n - k, path_vars[i].suffix) == 0)
            return path_vars[i].var;
    }
    return NULL;
}

static bool same_name(const char *entry, const char *name, size_t nlen)
{
    return strncmp(entry, name, nlen) == 0 && entry[nlen] == '=';
}

/* Is entry a name vault-exec sets itself? */
static bool overridden(const struct vexec *v, const char *entry)
{
    if (strncmp(entry, "VAULTSHIM_MEDIATED=", 19) == 0)
        return true;
    for (size_t i = 0; i < v->ngrants; i++)
        if (same_name(entry, v->grants[i].entry, v->grants[i].name_len))
            return true;
    for (size_t i = 0; i < v->nfiles; i++)
        if (v->files[i].var != NULL && same_name(entry, v->files[i].var, strlen(v->files[i].var)))
            return true;
    return false;
}

int vexec_build_env(const struct vexec *v, char *const env[], struct vexec_env *out)
{
    size_t have = 0;
    while (env != NULL && env[have] != NULL)
        have++;
    memset(out, 0, sizeof *out);
    char **e = calloc(have + v->ngrants + v->nfiles + 2, sizeof *e);
    if (e == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    out->envp = e;
    size_t n = 0;
    for (size_t i = 0; i < have; i++)
        if (!overridden(v, env[i]))
            e[n++] = env[i];
    for (size_t i = 0; i < v->ngrants; i++)
        e[n++] = v->grants[i].entry;
    for (size_t i = 0; i < v->nfiles; i++) {
        if (v->files[i].var == NULL || v->files[i].memfd < 0)
            continue;
        char buf[128];
        (void)snprintf(buf, sizeof buf, "%s=/proc/self/fd/%d", v->files[i].var, v->files[i].memfd);
        if ((e[n] = strdup(buf)) == NULL) {
            vexec_free_env(out);
            return vs_fail(VS_ENOMEM, "out of memory");
        }
        out->owned[out->nowned++] = e[n++];
    }
    e[n++] = (char *)MARKER;
    e[n] = NULL;
    return 0;
}

void vexec_free_env(struct vexec_env *env)
{
    for (size_t i = 0; i < env->nowned; i++)
        free(env->owned[i]);
    free(env->envp);
    memset(env, 0, sizeof *env);
}

size_t vexec_mask_values(const struct vexec *v, struct vs_mask_value *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < v->ngrants && n < cap; i++) {
        const char *val = v->grants[i].entry + v->grants[i].name_len + 1;
        size_t len = strlen(val);
        if (len >= VS_MASK_MIN_VALUE)
            out[n++] = (struct vs_mask_value){(const uint8_t *)val, len};
    }
    for (size_t i = 0; i < v->nfile_values && n < cap; i++)
        if (v->file_values[i].len >= VS_MASK_MIN_VALUE)
            out[n++] = v->file_values[i];
    return n;
}
