/* vaultctl scan [PATH...] [--staged] [--history] [--install-hook]: looks
 * for every vaulted value (every kept version) in files or a git
 * repository. Exit 0: nothing found; 1: a find; 2: usage or an error (so
 * a hook blocks on both). The vault is opened read-only, in-process, as
 * every vaultctl command does; the values go straight into the scan set's
 * locked arena and the store is closed before anything is read. */
#include "vaultctl.h"

#include "error.h"
#include "import.h"
#include "scan.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

static int load_values(struct ctl *c, struct scan_set *set, size_t *skipped)
{
    struct vs_vault *v = NULL;
    int rc = ctl_open_vault(c, 0, &v);
    if (rc != 0)
        return rc;
    uint8_t *buf = sodium_malloc(VS_VALUE_MAX);
    if (buf == NULL)
        rc = vs_fail(VS_ENOMEM, "out of locked memory");
    for (size_t i = 0; rc == 0 && i < vs_store_count(v->store); i++) {
        struct vs_secret *sec = vs_store_at(v->store, i);
        if (imp_is_backup_name(sec->name))
            continue; /* whole original files, not credentials */
        for (uint16_t k = 0; rc == 0 && k < sec->nversions; k++) {
            size_t len = 0;
            rc = vs_store_open_value(v->store, sec, &sec->versions[k], buf, &len);
            if (rc == 0 && len < SCAN_VALUE_MIN) {
                fprintf(stderr, "vaultctl: scan: %s version %u: shorter than %d bytes, not looked for\n", sec->name,
                        sec->versions[k].version, SCAN_VALUE_MIN);
                ++*skipped;
            } else if (rc == 0) {
                rc = scan_set_add(set, sec->name, buf, len);
            }
            sodium_memzero(buf, VS_VALUE_MAX);
        }
    }
    sodium_free(buf);
    vs_vault_close(v);
    return rc == 0 ? scan_set_seal(set) : rc;
}

static int install_hook(struct ctl *c)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return ctl_say(c, CTL_USAGE, "cannot tell where vaultctl is");
    self[n] = '\0';
    bool already = false;
    int rc = scan_git_install_hook(self, c->home, &already);
    if (rc != 0) {
        fprintf(stderr, "vaultctl: scan: %s\n", vs_last_error(rc));
        return CTL_USAGE;
    }
    printf(already ? "pre-commit hook already installed\n"
                   : "pre-commit hook installed: each commit runs vaultctl scan --staged\n");
    return CTL_OK;
}

int cmd_scan(struct ctl *c)
{
    if (c->install_hook) {
        if (c->staged || c->history || c->argc > 0)
            return ctl_say(c, CTL_USAGE, "--install-hook takes no paths and no other option");
        return install_hook(c);
    }
    if ((c->staged || c->history) && c->argc > 0)
        return ctl_say(c, CTL_USAGE, "--staged and --history look at the repository here; give no paths");
    struct scan_set *set = NULL;
    size_t skipped = 0, finds = 0;
    int rc = scan_set_new(&set);
    if (rc == 0)
        rc = load_values(c, set, &skipped);
    if (rc == 0 && c->staged)
        rc = scan_git_staged(set, &finds);
    if (rc == 0 && c->history)
        rc = scan_git_history(set, &finds);
    if (rc == 0 && !c->staged && !c->history)
        rc = scan_paths(set, c->argc, c->argv, &finds);
    scan_set_free(set);
    if (fflush(stdout) != 0 && rc == 0)
        rc = vs_fail(VS_EIO, "stdout");
    if (rc != 0) {
        fprintf(stderr, "vaultctl: scan: %s\n", vs_last_error(rc));
        return CTL_USAGE;
    }
    if (finds > 0)
        fprintf(stderr, "vaultctl: scan: %zu find%s: a vaulted value is in the places above\n", finds,
                finds == 1 ? "" : "s");
    return finds > 0 ? CTL_ERROR : CTL_OK;
}
