/* MEDIATE and EXEC_DONE: grants for a tool that vault-exec runs.
 *
 * Rules this file keeps (DESIGN.md invariant 2, for mediated runs):
 *  1. The peer is the vault-exec installed beside vaultd: /proc/PID/exe
 *     has the device and inode of that file, which is trusted (strict
 *     modes). A copy elsewhere, a script named vault-exec, or a vault-exec
 *     run by the loader are refused: the kernel's exe says otherwise.
 *  2. The target is the file behind the peer's own fd EXEC_FD
 *     (/proc/PID/fd/N, opened through the peer's procfd): vault-exec execs
 *     that fd, so a path swapped after it was opened changes nothing.
 *  3. The target's argv is vault-exec's /proc/PID/cmdline after "--"
 *     (common/execargs.h, the grammar vault-exec itself parses).
 *  4. The target passes the checks a direct tool passes: it is a tool of
 *     the policy by device and inode (and script, for an interpreter; the
 *     script vault-exec then runs is the policy's own resolved path, sent
 *     back in PATH), its pin, its argument rules, trusted files, usable
 *     secrets. vault-exec, whose environment and memory the target
 *     inherits, passes the process checks: namespaces, tracer, maps, and
 *     environ with the target's injection kinds.
 *  5. A tool whose policy asks for an approval is held (approvals.c)
 *     before any value is released; values still leave at CONFIRM only
 *     (grants.c), after vault-exec made itself non-dumpable.
 *  6. Every refusal is an audit line, as for GRANTS. */
#include "vaultd.h"
#include "lifecycle.h"

#include "error.h"
#include "execargs.h"
#include "timeutil.h"

#include <fcntl.h>
#include <sodium.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct mediation {
    int targetfd;            /* our own open of the peer's EXEC_FD */
    struct stat target;
    char target_path[PATH_MAX];
    uint8_t sha256[32];
    size_t target_at;        /* index of TARGET in the peer's argv */
    size_t args_from;        /* first argument the policy judges */
};

void vaultd_find_vault_exec(struct vaultd *d)
{
    static const char *const places[] = {"/vault-exec"};
    (void)vaultd_find_beside(places, 1, d->vault_exec, sizeof d->vault_exec);
}

void vaultd_mediation_free(struct conn *c)
{
    if (c->med == NULL)
        return;
    if (c->med->targetfd >= 0)
        close(c->med->targetfd);
    free(c->med);
    c->med = NULL;
}

/* Rule 1. */
static int genuine_vault_exec(struct vaultd *d, const struct vs_peer *p)
{
    if (d->vault_exec[0] == '\0')
        return vs_fail(VS_EDENIED, "no vault-exec is installed beside vaultd");
    struct stat st;
    if (stat(d->vault_exec, &st) != 0)
        return vs_fail_errno(VS_EDENIED, "vault-exec %s", d->vault_exec);
    if (st.st_dev != p->exe.dev || st.st_ino != p->exe.ino)
        return vs_fail(VS_EDENIED, "%s is not the vault-exec installed beside vaultd (%s)",
                       p->exe_path != NULL ? p->exe_path : "the peer", d->vault_exec);
    return vs_path_trusted(d->vault_exec, d->owner);
}

/* Rule 2: the file behind the peer's fd, as a regular, linked file. */
static int open_target(const struct vs_peer *p, uint32_t fdnum, struct mediation *med)
{
    char name[32];
    (void)snprintf(name, sizeof name, "fd/%u", fdnum);
    med->targetfd = openat(p->procfd, name, O_RDONLY | O_CLOEXEC);
    if (med->targetfd < 0)
        return vs_fail_errno(VS_EDENIED, "vault-exec's target fd %u cannot be opened", fdnum);
    ssize_t n = readlinkat(p->procfd, name, med->target_path, sizeof med->target_path - 1);
    med->target_path[n > 0 ? (size_t)n : 0] = '\0';
    if (fstat(med->targetfd, &med->target) != 0)
        return vs_fail_errno(VS_EDENIED, "vault-exec's target");
    if (!S_ISREG(med->target.st_mode) || med->target.st_nlink == 0)
        return vs_fail(VS_EDENIED, "vault-exec's target %s is not a linked regular file", med->target_path);
    if ((med->target.st_mode & 0111) == 0)
        return vs_fail(VS_EDENIED, "vault-exec's target %s is not executable", med->target_path);
    return 0;
}

/* An interpreter target: its script is the target's argv[1] (no option
 * before it), opened against the peer's cwd. */
static int target_script(const struct vs_peer *p, const struct mediation *med, struct stat *st)
{
    size_t at = med->target_at + 1;
    if (at >= p->argc || p->argv[at][0] == '-' || p->argv[at][0] == '\0')
        return vs_fail(VS_EDENIED, "an interpreter run through vault-exec needs its script first (no option before it)");
    int fd = vs_peer_openat_cwd(p, p->argv[at], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vs_fail_errno(VS_EDENIED, "script %s", p->argv[at]);
    int rc = fstat(fd, st) == 0 && S_ISREG(st->st_mode) ? 0 : vs_fail(VS_EDENIED, "script %s is not a regular file", p->argv[at]);
    close(fd);
    return rc;
}

static int find_target_tool(struct vaultd *d, struct conn *c)
{
    struct mediation *med = c->med;
    const struct stat *t = &med->target;
    c->tool = NULL;
    med->args_from = med->target_at + 1;
    if (vs_policy_is_interpreter(d->policy, t->st_dev, t->st_ino)) {
        struct stat sst;
        int rc = target_script(&c->peer, med, &sst);
        if (rc != 0)
            return rc;
        c->tool = vs_policy_find_tool(d->policy, t->st_dev, t->st_ino, true, sst.st_dev, sst.st_ino);
        if (c->tool != NULL && c->tool->script != NULL)
            med->args_from = med->target_at + 2;
    } else {
        c->tool = vs_policy_find_tool(d->policy, t->st_dev, t->st_ino, false, 0, 0);
    }
    if (c->tool == NULL)
        return vs_fail(VS_EDENIED, "no tool in the policy is vault-exec's target (%s)", med->target_path);
    c->policy_gen = d->policy_gen;
    return 0;
}

static int check_target(struct vaultd *d, struct conn *c)
{
    const struct vs_policy_tool *t = c->tool;
    const struct vs_peer *p = &c->peer;
    struct mediation *med = c->med;
    int rc = vs_hash_cache_sha256(med->targetfd, med->sha256);
    if (rc != 0)
        return rc;
    if (t->has_sha256 && sodium_memcmp(med->sha256, t->sha256, sizeof med->sha256) != 0)
        return vs_fail(VS_EDENIED, "executable %s does not have the pinned sha256", med->target_path);
    size_t from = med->args_from <= p->argc ? med->args_from : p->argc;
    const char *why = NULL;
    if (vs_policy_tool_args(t, (int)(p->argc - from), p->argv + from, &why) != 0)
        return vs_fail(VS_EDENIED, "arguments refused by policy (%s)", why != NULL ? why : "allow/deny rules");
    rc = vs_path_trusted(t->exe_real, d->owner);
    if (rc == 0 && t->script_real != NULL)
        rc = vs_path_trusted(t->script_real, d->owner);
    return rc;
}

/* Every check, in order; the first refusal is the reason. */
static int decide(struct vaultd *d, struct conn *c, uint32_t fdnum)
{
    struct vs_peer *p = &c->peer;
    if (vs_peer_alive(p) != 0)
        return vs_fail(VS_EDENIED, "the connected process exited or exec'd since it connected");
    c->peer.settled = true;
    if (d->vault == NULL)
        return vs_fail(VS_ELOCKED, "vault is locked (vaultctl unlock)");
    int rc;
    if ((rc = vaultd_refresh_store(d)) != 0 || (rc = vs_peer_check_exe(p)) != 0 ||
        (rc = genuine_vault_exec(d, p)) != 0)
        return rc;
    long at = vs_execargs_target(p->argc, p->argv, NULL);
    if (at < 0)
        return vs_fail(VS_EDENIED, "vault-exec's command line is not `vault-exec [--agent NAME] -- TARGET ARGS`");
    c->med->target_at = (size_t)at;
    if ((rc = open_target(p, fdnum, c->med)) != 0 || (rc = find_target_tool(d, c)) != 0)
        return rc;
    const struct vs_policy_tool *t = c->tool;
    if ((rc = vs_peer_check_namespaces(p, d->policy->allow_namespaces || t->allow_namespaces)) != 0 ||
        (rc = check_target(d, c)) != 0 || (rc = vs_peer_check_tracer(p)) != 0 ||
        (rc = vs_peer_check_maps(p, d->owner)) != 0 ||
        (rc = vs_peer_check_environ(p, vaultd_injection_kinds(t), d->shim[0] != '\0' ? d->shim : NULL, d->owner)) != 0 ||
        (rc = vaultd_check_secrets(d, t)) != 0 || (rc = vaultd_life_decide(d, c)) != 0)
        return rc;
    return 0;
}

/* The "target" member of mediated audit lines. */
static void target_extra(const struct conn *c, char *out, size_t cap)
{
    struct vs_buf b;
    vs_buf_init(&b, PATH_MAX * 2);
    if (c->med != NULL && c->med->target_path[0] != '\0') {
        (void)vs_buf_put_str(&b, "\"target\":\"");
        (void)vs_buf_put_json_str(&b, c->med->target_path);
        (void)vs_buf_put_u8(&b, '"');
    }
    (void)vs_buf_put_u8(&b, 0);
    (void)snprintf(out, cap, "%s", b.err == 0 ? (const char *)b.data : "");
    vs_buf_free(&b);
}

int vaultd_mediate_reply(struct vaultd *d, struct conn *c, uint32_t id, size_t *len)
{
    c->state = CONN_AWAIT_CONFIRM;
    c->held = false;
    struct vs_msg_writer w;
    vs_msg_begin(&w, d->reply, VS_PROTO_MAX_FRAME, VS_OP_OK, id);
    (void)vs_msg_put_u32(&w, VS_F_COUNT, (uint32_t)(c->tool->n_env + c->tool->n_files));
    (void)vs_msg_put_u32(&w, VS_F_RUN_FLAGS, VS_RUN_WITH_FILES | (c->tool->mask ? VS_RUN_MASK : 0));
    if (c->tool->script_real != NULL)
        (void)vs_msg_put_str(&w, VS_F_PATH, c->tool->script_real);
    return vs_msg_finish(&w, len);
}

int vaultd_mediate(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    if (c->state != CONN_NEW || c->med != NULL)
        return vs_fail(VS_EPROTO, "MEDIATE asked twice on one connection, or after GRANTS");
    uint32_t fdnum = 0;
    if (vs_msg_get_u32(m, VS_F_EXEC_FD, &fdnum) != 0)
        return vs_fail(VS_EPROTO, "MEDIATE needs EXEC_FD");
    vaultd_read_labels(c, m);
    c->tool = NULL;
    if ((c->med = calloc(1, sizeof *c->med)) == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    c->med->targetfd = -1;
    int rc = decide(d, c, fdnum);
    if (rc == 0)
        rc = vaultd_approval_gate(d, c, m->id);
    if (rc == VAULTD_HELD)
        return rc;
    if (rc != 0) {
        char reason[512], extra[PATH_MAX * 2];
        (void)snprintf(reason, sizeof reason, "%s", vs_last_error(rc));
        target_extra(c, extra, sizeof extra);
        int logged = vaultd_masks_load(d, c);
        if (logged == 0)
            logged = vaultd_log(d, c, "mediate", "denied", reason, NULL, extra[0] != '\0' ? extra : NULL);
        vaultd_masks_free(c);
        vaultd_life_denied(d, c);
        c->tool = NULL;
        return logged != 0 ? logged : vs_fail(rc, "%s", reason);
    }
    return vaultd_mediate_reply(d, c, m->id, len);
}

int vaultd_mediation_facts(const struct conn *c, struct mediation_facts *f)
{
    if (c->med == NULL || c->tool == NULL)
        return vs_fail(VS_EINVAL, "not a mediated request");
    f->target_path = c->med->target_path;
    f->sha256 = c->med->sha256;
    f->args = c->peer.argv + c->med->target_at;
    f->nargs = c->peer.argc - c->med->target_at;
    f->args_from = c->med->args_from - c->med->target_at;
    return 0;
}

/* The end of a run, on a connection of its own (the run may outlast any
 * connection): one audit line with status and duration. Only the genuine
 * vault-exec may write it. */
int vaultd_exec_done(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    uint32_t status = 0, ms = 0;
    if (vs_msg_get_u32(m, VS_F_EXIT_STATUS, &status) != 0 || vs_msg_get_u32(m, VS_F_DURATION_MS, &ms) != 0 ||
        status > 255)
        return vs_fail(VS_EPROTO, "EXEC_DONE needs EXIT_STATUS (0..255) and DURATION_MS");
    vaultd_read_labels(c, m);
    int rc = genuine_vault_exec(d, &c->peer);
    if (rc != 0) {
        char reason[512];
        (void)snprintf(reason, sizeof reason, "%s", vs_last_error(rc));
        int logged = vaultd_log(d, c, "exec", "denied", reason, NULL, NULL);
        return logged != 0 ? logged : vs_fail(rc, "%s", reason);
    }
    char extra[96];
    (void)snprintf(extra, sizeof extra, "\"exit_status\":%u,\"duration_ms\":%u", status, ms);
    rc = vaultd_log(d, c, "exec", "ok", NULL, NULL, extra);
    if (rc != 0)
        return rc;
    struct vs_msg_writer w;
    vs_msg_begin(&w, d->reply, VS_PROTO_MAX_FRAME, VS_OP_OK, m->id);
    return vs_msg_finish(&w, len);
}
