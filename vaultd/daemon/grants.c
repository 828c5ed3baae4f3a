/* Who gets what: GRANTS (inspect the peer, decide), CONFIRM (the peer made
 * itself non-dumpable: verify, then release values), RENDER_FILE (the bytes
 * of one managed credential file for a granted peer).
 *
 * Rules this file keeps:
 *  1. Every fact is the kernel's (struct vs_peer, fixed at accept); labels
 *     the peer sends (agent, session) go to the audit log only.
 *  2. All inspection happens at GRANTS, while the peer is still dumpable;
 *     values leave at CONFIRM only, after vaultd has seen the peer
 *     non-dumpable and untraced and still the same process.
 *  3. The audit line is written before a value is sent; if it cannot be,
 *     nothing is sent.
 *  4. Decrypted values live in sodium_malloc'd scratch memory (allocated
 *     once) and are wiped as soon as the reply is built; the reply buffer
 *     is wiped after sending. A wipe covers the bytes a use wrote: a
 *     decryption writes its value's length, or no plaintext (libsodium
 *     checks the tag first), so no value is left behind after a use. */
#include "vaultd.h"

#include "buf.h"
#include "error.h"
#include "inject.h"
#include "template.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FILE_SECRETS 16

static bool label_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static void read_labels(struct conn *c, const struct vs_msg *m)
{
    if (vs_msg_get_str(m, VS_F_AGENT, c->agent, sizeof c->agent) != 0 || !label_ok(c->agent))
        c->agent[0] = '\0';
    if (vs_msg_get_str(m, VS_F_SESSION, c->session, sizeof c->session) != 0 || !label_ok(c->session))
        c->session[0] = '\0';
}

/* A usable secret for a grant: present and not revoked. */
static int usable_secret(struct vaultd *d, const char *name, const struct vs_secret **out)
{
    const struct vs_secret *s = vs_store_find(d->vault->store, name);
    if (s == NULL)
        return vs_fail(VS_EPOLICY, "secret %s is not in the vault", name);
    if ((s->flags & VS_SECRET_REVOKED) != 0)
        return vs_fail(VS_EPOLICY, "secret %s is revoked%s%s", name, s->reason != NULL ? ": " : "",
                       vs_secret_reason(s));
    *out = s;
    return 0;
}

static int check_secrets(struct vaultd *d, const struct vs_policy_tool *t)
{
    const struct vs_secret *s;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->n_env; i++)
        rc = usable_secret(d, t->env[i].secret, &s);
    for (size_t i = 0; rc == 0 && i < t->n_files; i++) {
        const struct vs_policy_file *f = &d->policy->files[t->files[i]];
        for (size_t k = 0; rc == 0 && k < vs_template_name_count(f->tmpl); k++)
            rc = usable_secret(d, vs_template_name(f->tmpl, k), &s);
    }
    return rc;
}

/* Finds the tool this process is, from its exe (and script). */
static int find_tool(struct vaultd *d, struct conn *c)
{
    const struct vs_peer *p = &c->peer;
    c->args_from = 1;
    if (vs_policy_is_interpreter(d->policy, p->exe.dev, p->exe.ino)) {
        int index;
        dev_t sdev;
        ino_t sino;
        int rc = vs_peer_script(p, &index, &sdev, &sino);
        if (rc != 0)
            return rc;
        c->tool = vs_policy_find_tool(d->policy, p->exe.dev, p->exe.ino, true, sdev, sino);
        if (c->tool != NULL && c->tool->script != NULL)
            c->args_from = index + 1;
    } else {
        c->tool = vs_policy_find_tool(d->policy, p->exe.dev, p->exe.ino, false, 0, 0);
    }
    if (c->tool == NULL)
        return vs_fail(VS_EDENIED, "no tool in the policy is this executable (%s)", p->exe_path);
    c->policy_gen = d->policy_gen;
    return 0;
}

static int check_pin(const struct vs_policy_tool *t, const struct vs_peer *p)
{
    if (!t->has_sha256)
        return 0;
    uint8_t digest[32];
    int fd = vs_peer_open_exe(p);
    if (fd < 0)
        return fd;
    int rc = vs_hash_cache_sha256(fd, digest);
    (void)close(fd);
    if (rc != 0)
        return rc;
    if (sodium_memcmp(digest, t->sha256, sizeof digest) != 0)
        return vs_fail(VS_EDENIED, "executable %s does not have the pinned sha256", p->exe_path);
    return 0;
}

static int check_args(const struct conn *c)
{
    const struct vs_peer *p = &c->peer;
    size_t from = (size_t)c->args_from <= p->argc ? (size_t)c->args_from : p->argc;
    const char *why = NULL;
    if (vs_policy_tool_args(c->tool, (int)(p->argc - from), p->argv + from, &why) != 0)
        return vs_fail(VS_EDENIED, "arguments refused by policy (%s)", why != NULL ? why : "allow/deny rules");
    return 0;
}

/* The exe is the very file the peer runs (find_tool matched it by dev and
 * ino), so its identity from accept keys the trust cache: no stat. */
static int check_trusted_files(struct vaultd *d, const struct vs_policy_tool *t, const struct vs_peer *p)
{
    int rc = vs_file_trusted_at(t->exe_real, &p->exe, d->owner);
    if (rc == 0 && t->script_real != NULL)
        rc = vs_path_trusted_cached(t->script_real, d->owner);
    return rc;
}

/* The runtime a tool's executable is (by its real file's name), for the
 * injection variables only that runtime obeys. */
static bool runtime_is(const struct vs_policy_tool *t, const char *prefix)
{
    if (t->exe_real == NULL)
        return false;
    const char *base = strrchr(t->exe_real, '/');
    base = base != NULL ? base + 1 : t->exe_real;
    return strncmp(base, prefix, strlen(prefix)) == 0;
}

/* Loader, shell, git, config, proxy and TLS variables are checked for every
 * tool; a language runtime's variables (NODE_OPTIONS, npm_config_*,
 * PYTHONPATH, PERL5OPT...) only for a tool that is that runtime: they load
 * code into nothing else, and npm run, for one, exports npm_config_* to
 * every child. PYTHONNOUSERSITE is thereby required of Python tools only. */
static unsigned injection_kinds(const struct vs_policy_tool *t)
{
    static const struct { const char *prefix; unsigned kind; } runtimes[] = {
        {"node", VS_INJ_NODE}, {"python", VS_INJ_PYTHON}, {"perl", VS_INJ_PERL},
        {"ruby", VS_INJ_RUBY}, {"java", VS_INJ_JAVA},
    };
    unsigned kinds = VS_INJ_ALL;
    if (t->allow_proxy)
        kinds &= ~(unsigned)VS_INJ_PROXY;
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++)
        if (!runtime_is(t, runtimes[i].prefix))
            kinds &= ~runtimes[i].kind;
    return kinds;
}

/* Invariant 2, order: the peer is non-dumpable now (so no tracer can
 * attach any more) before its tracer is read. A root peer cannot be
 * verified from outside and can read vaultd anyway. */
static int check_order(struct conn *c, const char *when)
{
    int rc = vs_peer_is_nondumpable(&c->peer);
    if (rc == VS_PEER_NOT_VERIFIABLE)
        return 0;
    if (rc != 0)
        return vs_fail(VS_EDENIED, "the process did not make itself non-dumpable %s", when);
    return 0;
}

/* Every check of invariant 2, in order; the first refusal is the reason.
 * one_step: the peer says it is non-dumpable already (checked first). */
static int decide(struct vaultd *d, struct conn *c, bool one_step)
{
    struct vs_peer *p = &c->peer;
    int rc = vs_peer_alive(p);
    if (rc != 0)
        return vs_fail(VS_EDENIED, "the connected process exited or exec'd since it connected");
    c->peer.settled = true;
    if (one_step && (rc = check_order(c, "before GRANTS with ONE_STEP")) != 0)
        return rc;
    if (d->vault == NULL)
        return vs_fail(VS_ELOCKED, "vault is locked (vaultctl unlock)");
    if ((rc = vaultd_refresh_store(d)) != 0 || (rc = vs_peer_check_exe(p)) != 0 || (rc = find_tool(d, c)) != 0)
        return rc;
    const struct vs_policy_tool *t = c->tool;
    if (t->mediate || t->approve || t->approve_args.n > 0)
        return vs_fail(VS_EPOLICY, "tool %s is mediated: it gets keys only through vault-exec", t->name);
    /* The tracer check reads status once and keeps the NSpid depth for the
     * namespace check. Its place in the order is no weaker: in one step the
     * peer is non-dumpable already, so no tracer can attach after it (bar
     * root); in two, CONFIRM checks the tracer again. */
    if ((rc = vs_peer_check_tracer(p)) != 0 ||
        (rc = vs_peer_check_namespaces(p, d->policy->allow_namespaces || t->allow_namespaces)) != 0 ||
        (rc = check_pin(t, p)) != 0 || (rc = check_args(c)) != 0 || (rc = vs_peer_check_maps(p, d->owner)) != 0 ||
        (rc = vs_peer_check_environ(p, injection_kinds(t), d->shim[0] != '\0' ? d->shim : NULL, d->owner)) != 0 ||
        (rc = check_trusted_files(d, t, p)) != 0 || (rc = check_secrets(d, t)) != 0 || (rc = vaultd_life_decide(d, c)) != 0)
        return rc;
    return 0;
}

static int finish_grant(struct vaultd *d, struct conn *c, uint32_t id, int rc, size_t *len);

/* WITH_FILES, when present, must be 1. */
static int with_files(const struct vs_msg *m, const char *op)
{
    uint32_t v = 0;
    if (vs_msg_get_u32(m, VS_F_WITH_FILES, &v) == 0 && v != 1)
        return vs_fail(VS_EPROTO, "%s: WITH_FILES must be 1", op);
    return 0;
}

/* A granted request with WITH_FILES: each of the tool's files is rendered
 * right behind the GRANT_LIST, in the same round (server.c), so that their
 * audit lines share the grant's fsync. A shim that sent the renders as
 * frames of their own lost that race about half the time: vaultd, woken
 * by the first frame, answered the grant and synced before the second
 * arrived. */
static void files_follow(struct conn *c, const struct vs_msg *m)
{
    uint32_t v = 0;
    c->files_due = vs_msg_get_u32(m, VS_F_WITH_FILES, &v) == 0 ? c->tool->n_files : 0;
    c->files_id = m->id;
    /* The round's answers go out without blocking: more than a few large
     * files would overflow the socket's default send buffer (~200 KB), and
     * the rest would wait in the connection's queue (outq.c) for the tool
     * to read. Ask for room for all of them (the kernel caps it at
     * net.core.wmem_max); a refusal leaves the default. */
    if (c->files_due > 3) {
        size_t want = VS_PROTO_MAX_FRAME + c->files_due * (VS_F_FILE_DATA_MAX + 4096);
        int bytes = want < INT_MAX ? (int)want : INT_MAX;
        (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    }
}

int vaultd_grants(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    if (c->state != CONN_NEW)
        return vs_fail(VS_EPROTO, "GRANTS asked twice on one connection");
    uint32_t one = 0;
    bool one_step = vs_msg_get_u32(m, VS_F_ONE_STEP, &one) == 0;
    if (one_step && one != 1)
        return vs_fail(VS_EPROTO, "GRANTS: ONE_STEP must be 1");
    int rc = with_files(m, "GRANTS");
    if (rc != 0)
        return rc;
    if (!one_step && vs_msg_get_u32(m, VS_F_WITH_FILES, &one) == 0)
        return vs_fail(VS_EPROTO, "GRANTS: WITH_FILES goes with ONE_STEP, else on CONFIRM");
    /* Only where vaultd can read a non-dumpable peer (the index says so):
     * else every check below would fail on unreadable /proc files. */
    if (one_step && !vs_peer_one_step())
        return vs_fail(VS_EPROTO, "GRANTS: this vaultd cannot inspect non-dumpable processes: ask in two steps");
    read_labels(c, m);
    c->tool = NULL;
    rc = decide(d, c, one_step);
    if (rc != 0) {
        char reason[512];
        (void)snprintf(reason, sizeof reason, "%s", vs_last_error(rc));
        int logged = vaultd_masks_load(d, c);
        if (logged == 0)
            logged = vaultd_log(d, c, "grant", "denied", reason, NULL, NULL);
        vaultd_masks_free(c);
        vaultd_life_denied(d, c);
        return logged != 0 ? logged : vs_fail(rc, "%s", reason);
    }
    c->state = CONN_AWAIT_CONFIRM;
    if (one_step) { /* checked in decide, in the order CONFIRM keeps */
        rc = finish_grant(d, c, m->id, 0, len);
        if (rc == 0)
            files_follow(c, m);
        return rc;
    }
    struct vs_msg_writer w;
    vs_msg_begin(&w, d->reply, VS_PROTO_MAX_FRAME, VS_OP_OK, m->id);
    (void)vs_msg_put_u32(&w, VS_F_COUNT, (uint32_t)(c->tool->n_env + c->tool->n_files));
    return vs_msg_finish(&w, len);
}

/* "GH_TOKEN=gh_token@v3" entries for the audit line: names, never values;
 * a file is its path, then "file:NAME=secret@vN" for each secret its
 * template names (so a file's uses count in vaultctl history). */
static void describe_grants(struct vaultd *d, const struct vs_policy_tool *t, struct vs_buf *b)
{
    for (size_t i = 0; i < t->n_env; i++) {
        const struct vs_secret *s = vs_store_find(d->vault->store, t->env[i].secret);
        (void)vs_buf_printf(b, "%s\"%s=%s@v%u\"", b->len != 0 ? "," : "", t->env[i].env, t->env[i].secret,
                            s != NULL ? s->versions[s->nversions - 1].version : 0);
    }
    for (size_t i = 0; i < t->n_files; i++) {
        const struct vs_policy_file *f = &d->policy->files[t->files[i]];
        (void)vs_buf_put_str(b, b->len != 0 ? ",\"" : "\"");
        (void)vs_buf_put_json_str(b, f->path);
        (void)vs_buf_put_u8(b, '"');
        for (size_t k = 0; k < vs_template_name_count(f->tmpl); k++) {
            const struct vs_secret *s = vs_store_find(d->vault->store, vs_template_name(f->tmpl, k));
            (void)vs_buf_printf(b, ",\"file:%s=%s@v%u\"", f->name, vs_template_name(f->tmpl, k),
                                s != NULL ? s->versions[s->nversions - 1].version : 0);
        }
    }
    (void)vs_buf_put_u8(b, 0);
}

static int still_entitled(struct vaultd *d, struct conn *c)
{
    if (c->policy_gen != d->policy_gen)
        return vs_fail(VS_EDENIED, "the policy was reloaded since GRANTS: ask again");
    int rc = vs_peer_alive(&c->peer);
    if (rc != 0)
        return vs_fail(VS_EDENIED, "the connected process exited or exec'd since it connected");
    if (d->vault == NULL)
        return vs_fail(VS_ELOCKED, "vault is locked (vaultctl unlock)");
    if ((rc = vaultd_refresh_store(d)) != 0 || (rc = check_secrets(d, c->tool)) != 0 || (rc = vaultd_life_decide(d, c)) != 0)
        return rc;
    return 0;
}

/* Locked scratch memory for decrypted values, allocated once and wiped
 * after each use (the daemon is single-threaded). Slots of VS_VALUE_MAX:
 * 0 a grant's value, 1-2 a rendered file (VS_F_FILE_DATA_MAX), 3.. the
 * values a template names. */
#define SLOT_VALUE 0
#define SLOT_FILE 1
#define SLOT_FILE_VALUES 3
_Static_assert(VS_F_FILE_DATA_MAX <= 2 * VS_VALUE_MAX, "a rendered file fits slots 1-2");
static uint8_t *scratch(size_t slot)
{
    static uint8_t *pool;
    if (pool == NULL)
        pool = sodium_malloc((SLOT_FILE_VALUES + MAX_FILE_SECRETS) * VS_VALUE_MAX);
    return pool != NULL ? pool + slot * VS_VALUE_MAX : NULL;
}

/* A masked mediated run: the values inside its granted files too, so that
 * vault-exec masks them in the tool's output (a tool that prints its
 * credentials file). They are never put in the tool's environment. */
static int put_file_masks(struct vaultd *d, const struct vs_policy_tool *t, struct vs_msg_writer *w,
                          uint8_t *value)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->n_files; i++) {
        const struct vs_template *tm = d->policy->files[t->files[i]].tmpl;
        for (size_t k = 0; rc == 0 && k < vs_template_name_count(tm); k++) {
            struct vs_secret *s = vs_store_find(d->vault->store, vs_template_name(tm, k));
            if (s == NULL)
                return vs_fail(VS_ENOENT, "secret %s is not in the vault", vs_template_name(tm, k));
            size_t vlen = 0;
            rc = vs_store_open_value(d->vault->store, s, &s->versions[s->nversions - 1], value, &vlen);
            if (rc == 0 && vlen > 0)
                rc = vs_msg_put_bytes(w, VS_F_MASK, value, vlen);
            sodium_memzero(value, vlen);
        }
    }
    return rc;
}

static int build_grant_list(struct vaultd *d, struct conn *c, uint32_t id, size_t *len)
{
    const struct vs_policy_tool *t = c->tool;
    uint8_t *value = scratch(SLOT_VALUE);
    if (value == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    struct vs_msg_writer w;
    vs_msg_begin(&w, d->reply, VS_PROTO_MAX_FRAME, VS_OP_GRANT_LIST, id);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->n_env; i++) {
        struct vs_secret *s = vs_store_find(d->vault->store, t->env[i].secret);
        struct vs_version *v = &s->versions[s->nversions - 1];
        size_t vlen = 0;
        rc = vs_store_open_value(d->vault->store, s, v, value, &vlen);
        if (rc == 0)
            rc = vs_msg_put_grant(&w, t->env[i].env, value, vlen, v->version);
        sodium_memzero(value, vlen);
    }
    for (size_t i = 0; rc == 0 && i < t->n_files; i++)
        rc = vs_msg_put_str(&w, VS_F_PATH, d->policy->files[t->files[i]].path);
    for (size_t i = 0; rc == 0 && i < t->n_hide; i++)
        rc = vs_msg_put_str(&w, VS_F_HIDE, t->hide[i]);
    if (rc == 0 && c->med != NULL && t->mask)
        rc = put_file_masks(d, t, &w, value);
    if (rc == 0)
        rc = vs_msg_finish(&w, len);
    if (rc != 0)
        sodium_memzero(d->reply, VS_PROTO_MAX_FRAME);
    return rc;
}

int vaultd_confirm(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    if (c->state != CONN_AWAIT_CONFIRM)
        return vs_fail(VS_EPROTO, "CONFIRM without a granted GRANTS");
    int rc = with_files(m, "CONFIRM");
    if (rc != 0)
        return rc;
    rc = still_entitled(d, c);
    /* Invariant 2, order: the peer is non-dumpable and untraced now. */
    if (rc == 0)
        rc = check_order(c, "before CONFIRM");
    if (rc == 0)
        rc = vs_peer_check_tracer(&c->peer);
    rc = finish_grant(d, c, m->id, rc, len);
    if (rc == 0)
        files_follow(c, m);
    return rc;
}

/* The audit line of a grant decided (rc 0) or refused at its last step,
 * then the GRANT_LIST: no line, no value (invariant 4). */
static int finish_grant(struct vaultd *d, struct conn *c, uint32_t id, int rc, size_t *len)
{
    struct vs_buf names;
    vs_buf_init(&names, 8192);
    if (rc == 0)
        describe_grants(d, c->tool, &names);
    char reason[512];
    (void)snprintf(reason, sizeof reason, "%s", rc == 0 ? "" : vs_last_error(rc));
    /* No audit line, no value (invariant 4). */
    int logged = vaultd_masks_load(d, c);
    if (logged == 0)
        logged = vaultd_log(d, c, "grant", rc == 0 ? "ok" : "denied", rc == 0 ? NULL : reason,
                            rc == 0 && names.err == 0 ? (const char *)names.data : NULL, NULL);
    vaultd_masks_free(c);
    vs_buf_free(&names);
    if (rc != 0)
        return logged != 0 ? logged : vs_fail(rc, "%s", reason);
    if (logged != 0)
        return logged;
    rc = build_grant_list(d, c, id, len);
    if (rc == 0)
        c->state = CONN_GRANTED;
    if (rc == 0)
        vaultd_life_granted(d, c);
    return rc;
}

/* Decrypted values of one template's placeholders, for its render. */
struct render_values {
    struct vaultd *d;
    size_t n;
    const char *names[MAX_FILE_SECRETS];
    uint8_t *values; /* sodium_malloc'd, n * VS_VALUE_MAX */
    size_t lens[MAX_FILE_SECRETS];
    size_t opened; /* values[0..opened) hold lens[i] decrypted bytes each */
};

static int lookup_value(void *ctx, const char *name, const uint8_t **val, size_t *len)
{
    struct render_values *rv = ctx;
    for (size_t i = 0; i < rv->n; i++)
        if (strcmp(rv->names[i], name) == 0) {
            *val = rv->values + i * VS_VALUE_MAX;
            *len = rv->lens[i];
            return 0;
        }
    return vs_fail(VS_ENOENT, "secret %s is not in the vault", name);
}

static int open_file_values(struct render_values *rv, const struct vs_template *t)
{
    rv->n = vs_template_name_count(t);
    if (rv->n > MAX_FILE_SECRETS)
        return vs_fail(VS_ETOOBIG, "a file template names more than %d secrets", MAX_FILE_SECRETS);
    rv->values = scratch(SLOT_FILE_VALUES);
    if (rv->values == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    for (size_t i = 0; i < rv->n; i++) {
        rv->names[i] = vs_template_name(t, i);
        struct vs_secret *s = vs_store_find(rv->d->vault->store, rv->names[i]);
        if (s == NULL)
            return vs_fail(VS_ENOENT, "secret %s is not in the vault", rv->names[i]);
        int rc = vs_store_open_value(rv->d->vault->store, s, &s->versions[s->nversions - 1],
                                     rv->values + i * VS_VALUE_MAX, &rv->lens[i]);
        if (rc != 0)
            return rc;
        rv->opened = i + 1;
    }
    return 0;
}

static int render_file(struct vaultd *d, const struct vs_policy_file *f, uint32_t id, size_t *len)
{
    struct render_values rv = {.d = d};
    /* The rendered file goes straight into the reply frame (locked, wiped
     * after sending): no second copy. */
    struct vs_msg_writer w;
    vs_msg_begin(&w, d->reply, VS_PROTO_MAX_FRAME, VS_OP_OK, id);
    (void)vs_msg_put_str(&w, VS_F_PATH, f->path);
    uint8_t *out = scratch(SLOT_FILE);
    size_t out_len = 0;
    int rc = out == NULL ? vs_fail(VS_ENOMEM, "out of memory") : open_file_values(&rv, f->tmpl);
    if (rc == 0)
        rc = vs_template_render(f->tmpl, lookup_value, &rv, out, VS_F_FILE_DATA_MAX, &out_len);
    for (size_t i = 0; rv.values != NULL && i < rv.opened; i++)
        sodium_memzero(rv.values + i * VS_VALUE_MAX, rv.lens[i]);
    if (rc == 0) {
        (void)vs_msg_put_bytes(&w, VS_F_FILE_DATA, out, out_len);
        rc = vs_msg_finish(&w, len);
    }
    /* A render that failed may have written up to the cap. */
    if (out != NULL)
        sodium_memzero(out, rc == 0 ? out_len : VS_F_FILE_DATA_MAX);
    return rc;
}

/* One file's render, asked for by path (RENDER_FILE) or due after a grant
 * WITH_FILES: the same checks and the same audit line either way. */
static int render_path(struct vaultd *d, struct conn *c, const char *path, uint32_t id, size_t *len)
{
    int rc = still_entitled(d, c);
    const struct vs_policy_file *f = rc == 0 ? vs_policy_find_file(d->policy, path) : NULL;
    bool granted = false;
    for (size_t i = 0; f != NULL && i < c->tool->n_files; i++)
        granted = granted || &d->policy->files[c->tool->files[i]] == f;
    if (rc == 0 && !granted)
        rc = vs_fail(VS_EDENIED, "%s is not a file this tool is granted", path);
    char reason[512];
    (void)snprintf(reason, sizeof reason, "%s", rc == 0 ? "" : vs_last_error(rc));
    char extra[4200];
    struct vs_buf pathj;
    vs_buf_init(&pathj, 8192);
    (void)vs_buf_put_json_str(&pathj, path);
    (void)vs_buf_put_u8(&pathj, 0);
    (void)snprintf(extra, sizeof extra, "\"path\":\"%s\"", pathj.err == 0 ? (const char *)pathj.data : "");
    vs_buf_free(&pathj);
    int logged = vaultd_masks_load(d, c);
    if (logged == 0)
        logged = vaultd_log(d, c, "render", rc == 0 ? "ok" : "denied", rc == 0 ? NULL : reason, NULL, extra);
    vaultd_masks_free(c);
    if (rc != 0)
        return logged != 0 ? logged : vs_fail(rc, "%s", reason);
    if (logged != 0)
        return logged;
    return render_file(d, f, id, len);
}

int vaultd_render(struct vaultd *d, struct conn *c, const struct vs_msg *m, size_t *len)
{
    if (c->state != CONN_GRANTED)
        return vs_fail(VS_EPROTO, "RENDER_FILE before the grant was confirmed");
    char path[4096];
    if (vs_msg_get_str(m, VS_F_PATH, path, sizeof path) != 0)
        return vs_fail(VS_EPROTO, "RENDER_FILE needs a PATH");
    return render_path(d, c, path, m->id, len);
}

int vaultd_render_due(struct vaultd *d, struct conn *c, uint32_t *id, size_t *len)
{
    *id = c->files_id;
    size_t due = c->files_due;
    c->files_due = 0;
    /* The policy cannot change between the grant and its renders (one
     * round), but c->tool is only valid under the policy it came from. */
    if (due == 0 || c->state != CONN_GRANTED || c->policy_gen != d->policy_gen || due > c->tool->n_files)
        return vs_fail(VS_EPROTO, "a file render due with no grant behind it");
    c->files_due = due - 1;
    return render_path(d, c, d->policy->files[c->tool->files[c->tool->n_files - due]].path, *id, len);
}

void vaultd_read_labels(struct conn *c, const struct vs_msg *m)
{
    read_labels(c, m);
}

int vaultd_check_secrets(struct vaultd *d, const struct vs_policy_tool *t)
{
    return check_secrets(d, t);
}

unsigned vaultd_injection_kinds(const struct vs_policy_tool *t)
{
    return injection_kinds(t);
}
