/* vaultctl: the owner's command. Parses the command line, dispatches through
 * one table, and turns error codes into one line on stderr. */
#include "vaultctl.h"

#include "error.h"
#include "keyfile.h"

#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>

enum opt_bits {
    O_JSON = 1 << 0, O_VERIFY = 1 << 1, O_REASON = 1 << 2, O_SECRET = 1 << 3,
    O_SINCE = 1 << 4, O_KDF = 1 << 5, O_AGENT = 1 << 6, O_LIFT = 1 << 7, O_APPLY = 1 << 8,
    O_UNDO = 1 << 9, O_STAGED = 1 << 10, O_HISTORY = 1 << 11, O_HOOK = 1 << 12, O_APPROVE = 1 << 13,
};

struct command {
    const char *name;
    int (*run)(struct ctl *);
    unsigned opts;
    int min_args, max_args;
    const char *usage;
    const char *summary;
};

static const struct command commands[] = {
    {"init", cmd_init, O_KDF, 0, 0, "init [--keyfile[=PATH]] [--kdf interactive|moderate|sensitive]",
     "create a vault in VAULT_HOME, unlocked by a passphrase or (--keyfile) a new key file"},
    {"save", cmd_save, 0, 1, 1, "save NAME",
     "store a new secret; the value is read from stdin, or asked for without echo on a terminal"},
    {"rotate", cmd_rotate, 0, 1, 1, "rotate NAME", "store a new version of NAME (value as for save); older versions are kept"},
    {"revoke", cmd_revoke, O_REASON, 1, 1, "revoke NAME [--reason TEXT]", "stop every grant of NAME until restore"},
    {"restore", cmd_restore, 0, 1, 1, "restore NAME", "lift a revocation, or a quarantine vaultd applied after an alert"},
    {"rm", cmd_rm, 0, 1, 1, "rm NAME", "delete NAME and all its versions"},
    {"list", cmd_list, O_JSON, 0, 0, "list [--json]", "names, versions, ages, rotation due and status (never values)"},
    {"audit", cmd_audit, O_JSON | O_VERIFY | O_SECRET | O_SINCE, 0, 0,
     "audit [--json] [--verify] [--secret NAME] [--since TIME]",
     "show the audit log, or verify its chain (TIME: 2026-11-01, 2026-11-01T10:00:00Z, 90m, 24h, 7d)"},
    {"run", cmd_run, O_AGENT, 1, 1 << 20, "run [--agent NAME] [--socket PATH] -- CMD [ARGS...]",
     "run CMD (an agent, a shell, a tool) under the shim: protected names removed, the shim preloaded"},
    {"ping", cmd_ping, 0, 0, 0, "ping", "is vaultd answering? (any user may ask; prints the socket path)"},
    {"status", cmd_status, 0, 0, 0, "status", "ask the running vaultd: locked or not, policy, counts, overdue rotations"},
    {"unlock", cmd_unlock, 0, 0, 0, "unlock", "give the running vaultd the passphrase (a key-file vault re-reads its key file)"},
    {"lock", cmd_lock, 0, 0, 0, "lock", "make the running vaultd wipe its keys; every grant stops until unlock"},
    {"reload", cmd_reload, 0, 0, 0, "reload", "make vaultd re-read its policy (a passphrase vault asks for the passphrase)"},
    {"check", cmd_check, 0, 0, 0, "check", "one line per secret overdue for rotation; exit 1 if any (for cron and CI)"},
    {"history", cmd_history, 0, 1, 1, "history NAME", "versions of NAME and who used each (agent, tool, count, last use)"},
    {"drill", cmd_drill, 0, 1, 1, "drill NAME", "walk the emergency runbook of NAME as a dry run (changes nothing)"},
    {"lockdown", cmd_lockdown, O_LIFT, 0, 0, "lockdown [--lift]",
     "make vaultd refuse every grant now (kept across restarts); --lift ends it (passphrase or terminal)"},
    {"sessions", cmd_sessions, 0, 0, 0, "sessions", "list the agent sessions vaultd knows (vault-run --agent NAME)"},
    {"end-session", cmd_end_session, 0, 1, 1, "end-session ID", "refuse every grant for session ID from now on"},
    {"usage", cmd_usage, 0, 0, 1, "usage [NAME]", "uses per day and agent for the last 8 days, as a text chart"},
    {"import", cmd_import, O_APPLY | O_UNDO, 0, 1 << 16, "import [--apply] [--undo] [PATH...]",
     "move credentials out of ~/.npmrc, ~/.netrc, ~/.aws/credentials, .env files, profiles...: a plan, or --apply"},
    {"scan", cmd_scan, O_STAGED | O_HISTORY | O_HOOK, 0, 1 << 16,
     "scan [PATH...] [--staged] [--history] [--install-hook]",
     "find vaulted values (raw, base64, hex, URL-encoded) in files or git; exit 1 on a find"},
    {"pending", cmd_pending, 0, 0, 0, "pending", "requests held for an approval: agent, executable and sha256, argv, cwd, secrets, age"},
    {"approve", cmd_approve, O_APPROVE, 0, 1, "approve ID [--for 15m] [--uses N] [--passphrase] | approve --watch",
     "let a held request run; from the owner's terminal (the one that unlocked the vault) or with the passphrase"},
    {"deny", cmd_deny, 0, 1, 1, "deny ID", "refuse a held request"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: vaultctl [--home DIR] [--keyfile[=PATH]] [--passphrase-fd N] [--socket PATH] COMMAND [ARGS]\n\n"
                 "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-58s %s\n", commands[i].usage, commands[i].summary);
    fprintf(out, "\nVAULT_HOME (default ~/.local/share/vaultshim) holds the vault; VAULT_KEYFILE names its key file.\n"
                 "No command prints a secret value. Exit status: 0 ok, 1 error, 2 usage.\n");
}

static void command_help(const struct command *cmd, FILE *out)
{
    fprintf(out, "usage: vaultctl %s\n%s\n", cmd->usage, cmd->summary);
}

int ctl_fail(const struct ctl *c, int rc)
{
    fprintf(stderr, "vaultctl: %s: %s\n", c->cmd, vs_last_error(rc));
    return CTL_ERROR;
}

int ctl_say(const struct ctl *c, int code, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "vaultctl: %s: %s\n", c->cmd, line);
    return code;
}

int ctl_keyfile_path(const struct ctl *c, char *out, size_t cap)
{
    const char *env = getenv("VAULT_KEYFILE");
    int n;
    if (c->keyfile != NULL)
        n = snprintf(out, cap, "%s", c->keyfile);
    else if (env != NULL && env[0] != '\0')
        n = snprintf(out, cap, "%s", env);
    else
        n = snprintf(out, cap, "%s/%s", c->home, VS_KEYFILE_NAME);
    if (n < 0 || (size_t)n >= cap)
        return vs_fail(VS_ETOOBIG, "key file path too long");
    return 0;
}

int ctl_open_vault(const struct ctl *c, unsigned flags, struct vs_vault **out)
{
    enum vs_kdf_kind kind;
    int rc = vs_vault_kdf_kind(c->home, &kind);
    if (rc != 0)
        return rc;
    uint8_t *secret = NULL;
    size_t len = 0;
    if (kind == VS_KDF_KEYFILE) {
        char path[PATH_MAX];
        rc = ctl_keyfile_path(c, path, sizeof path);
        if (rc == 0)
            rc = vs_keyfile_read(path, &secret);
        len = 32;
    } else {
        rc = ctl_read_passphrase(c, "Vault passphrase: ", false, &secret, &len);
    }
    if (rc != 0)
        return rc;
    struct vs_unlock u = {.kind = kind, .secret = secret, .len = len};
    rc = vs_vault_open(c->home, &u, flags, out);
    sodium_free(secret);
    return rc;
}

struct vs_audit_event ctl_event(const char *event, const char *secret, uint32_t version, const char *reason)
{
    struct vs_audit_event ev = {.event = event, .decision = "ok", .secret = secret, .version = version,
                                .reason = reason, .uid = -1, .pid = -1};
    return ev;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Options may come before or after the command; each command accepts the
 * common ones and its own. */
static int parse_options(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    enum { OPT_HOME = 256, OPT_KEYFILE, OPT_PASSFD, OPT_JSON, OPT_VERIFY, OPT_REASON, OPT_SECRET, OPT_SINCE, OPT_KDF,
           OPT_SOCKET, OPT_AGENT, OPT_LIFT, OPT_APPLY, OPT_UNDO, OPT_STAGED, OPT_HISTORY, OPT_HOOK,
           OPT_FOR, OPT_USES, OPT_WATCH, OPT_PASSPHRASE };
    static const struct option longopts[] = {
        {"home", required_argument, NULL, OPT_HOME},
        {"keyfile", optional_argument, NULL, OPT_KEYFILE},
        {"passphrase-fd", required_argument, NULL, OPT_PASSFD},
        {"json", no_argument, NULL, OPT_JSON},
        {"verify", no_argument, NULL, OPT_VERIFY},
        {"reason", required_argument, NULL, OPT_REASON},
        {"secret", required_argument, NULL, OPT_SECRET},
        {"since", required_argument, NULL, OPT_SINCE},
        {"kdf", required_argument, NULL, OPT_KDF},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"agent", required_argument, NULL, OPT_AGENT},
        {"lift", no_argument, NULL, OPT_LIFT},
        {"apply", no_argument, NULL, OPT_APPLY},
        {"undo", no_argument, NULL, OPT_UNDO},
        {"staged", no_argument, NULL, OPT_STAGED},
        {"history", no_argument, NULL, OPT_HISTORY},
        {"install-hook", no_argument, NULL, OPT_HOOK},
        {"for", required_argument, NULL, OPT_FOR},
        {"uses", required_argument, NULL, OPT_USES},
        {"watch", no_argument, NULL, OPT_WATCH},
        {"passphrase", no_argument, NULL, OPT_PASSPHRASE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct { int id; unsigned bit; } owned[] = {
        {OPT_JSON, O_JSON}, {OPT_VERIFY, O_VERIFY}, {OPT_REASON, O_REASON},
        {OPT_SECRET, O_SECRET}, {OPT_SINCE, O_SINCE}, {OPT_KDF, O_KDF}, {OPT_AGENT, O_AGENT},
        {OPT_LIFT, O_LIFT},
        {OPT_APPLY, O_APPLY}, {OPT_UNDO, O_UNDO}, {OPT_STAGED, O_STAGED}, {OPT_HISTORY, O_HISTORY},
        {OPT_HOOK, O_HOOK},
        {OPT_FOR, O_APPROVE}, {OPT_USES, O_APPROVE}, {OPT_WATCH, O_APPROVE}, {OPT_PASSPHRASE, O_APPROVE},
    };
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
            if (opt == owned[i].id && (cmd == NULL || (cmd->opts & owned[i].bit) == 0))
                return ctl_say(c, CTL_USAGE, "%s does not apply here (see vaultctl %s --help)", argv[optind - 1],
                               cmd != NULL ? cmd->name : "");
        switch (opt) {
        case OPT_HOME:
            if (optarg[0] != '/')
                return ctl_say(c, CTL_USAGE, "--home needs an absolute path");
            if (snprintf(c->home, sizeof c->home, "%s", optarg) >= (int)sizeof c->home)
                return ctl_say(c, CTL_USAGE, "--home path too long");
            break;
        case OPT_KEYFILE: c->keyfile_given = true; c->keyfile = optarg; break;
        case OPT_PASSFD: {
            char *end = NULL;
            long fd = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || fd < 0 || fd > 1 << 20)
                return ctl_say(c, CTL_USAGE, "--passphrase-fd needs a file descriptor number");
            c->passphrase_fd = (int)fd;
            break;
        }
        case OPT_JSON: c->json = true; break;
        case OPT_VERIFY: c->verify = true; break;
        case OPT_REASON: c->reason = optarg; break;
        case OPT_SECRET: c->secret = optarg; break;
        case OPT_SINCE: c->since = optarg; break;
        case OPT_KDF: c->kdf = optarg; break;
        case OPT_AGENT: c->agent = optarg; break;
        case OPT_LIFT: c->lift = true; break;
        case OPT_APPLY: c->apply = true; break;
        case OPT_UNDO: c->undo = true; break;
        case OPT_STAGED: c->staged = true; break;
        case OPT_HISTORY: c->history = true; break;
        case OPT_HOOK: c->install_hook = true; break;
        case OPT_FOR: c->for_text = optarg; break;
        case OPT_USES: c->uses_text = optarg; break;
        case OPT_WATCH: c->watch = true; break;
        case OPT_PASSPHRASE: c->with_passphrase = true; break;
        case OPT_SOCKET:
            if (optarg[0] != '/')
                return ctl_say(c, CTL_USAGE, "--socket needs an absolute path");
            c->socket = optarg;
            break;
        case 'h':
            if (cmd != NULL)
                command_help(cmd, stdout);
            else
                usage(stdout);
            return -1;
        case ':': return ctl_say(c, CTL_USAGE, "%s needs a value", argv[optind - 1]);
        default: return ctl_say(c, CTL_USAGE, "unknown option %s", argv[optind - 1]);
        }
    }
    c->argc = argc - optind;
    c->argv = argv + optind;
    return 0;
}

static struct rlimit core_at_start;
static bool core_saved;

void ctl_restore_limits(void)
{
    if (core_saved)
        (void)setrlimit(RLIMIT_CORE, &core_at_start);
}

/* A vaultctl holding a passphrase or a key must not be readable through
 * ptrace or a core file by the agent's processes of the same uid. The soft
 * limit only: vaultctl run gives the command back what we started with. */
static int harden_process(void)
{
    core_saved = getrlimit(RLIMIT_CORE, &core_at_start) == 0;
    struct rlimit none = {0, core_saved ? core_at_start.rlim_max : 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return vs_fail_errno(VS_EPERM, "cannot disable core dumps");
    if (sodium_init() < 0)
        return vs_fail(VS_ECRYPTO, "libsodium failed to initialise");
    return 0;
}

int vaultctl_main(int argc, char **argv)
{
    struct ctl c = {.cmd = "vaultctl", .passphrase_fd = -1};
    int rc;
    /* Find the command word: the first argument that is not an option or
     * an option's separate value. */
    const struct command *cmd = NULL;
    int at = 1;
    for (; at < argc; at++) {
        if (strcmp(argv[at], "--home") == 0 || strcmp(argv[at], "--passphrase-fd") == 0 ||
            strcmp(argv[at], "--reason") == 0 || strcmp(argv[at], "--secret") == 0 ||
            strcmp(argv[at], "--since") == 0 || strcmp(argv[at], "--kdf") == 0 || strcmp(argv[at], "--socket") == 0 ||
            strcmp(argv[at], "--agent") == 0 || strcmp(argv[at], "--for") == 0 || strcmp(argv[at], "--uses") == 0) {
            at++;
            continue;
        }
        if (argv[at][0] != '-')
            break;
    }
    if (at < argc) {
        if (strcmp(argv[at], "help") == 0) {
            const struct command *topic = at + 1 < argc ? find_command(argv[at + 1]) : NULL;
            if (topic != NULL)
                command_help(topic, stdout);
            else
                usage(stdout);
            return CTL_OK;
        }
        cmd = find_command(argv[at]);
        if (cmd == NULL) {
            fprintf(stderr, "vaultctl: unknown command '%s' (see vaultctl --help)\n", argv[at]);
            return CTL_USAGE;
        }
        c.cmd = cmd->name;
        /* Drop the command word so getopt sees options and arguments only. */
        for (int i = at; i + 1 < argc; i++)
            argv[i] = argv[i + 1];
        argc--;
        argv[argc] = NULL; /* else `run -- CMD A B` execs CMD A B B */
    }
    rc = parse_options(&c, cmd, argc, argv);
    if (rc == -1)
        return CTL_OK;
    if (rc != 0)
        return rc;
    if (cmd == NULL) {
        usage(stderr);
        return CTL_USAGE;
    }
    if (c.argc < cmd->min_args || c.argc > cmd->max_args) {
        fprintf(stderr, "usage: vaultctl %s\n", cmd->usage);
        return CTL_USAGE;
    }
    /* `run` holds no passphrase, key or value and uses no libsodium: it
     * skips the hardening (undone by its exec anyway) and sodium_init on the
     * launcher's path. */
    if (cmd->run != cmd_run && (rc = harden_process()) != 0)
        return ctl_fail(&c, rc);
    /* run needs no vault folder: no password-database look-up (nsswitch,
     * /etc/passwd) on the launcher's path. */
    if (c.home[0] == '\0' && strcmp(cmd->name, "run") != 0 &&
        (rc = vs_vault_default_home(c.home, sizeof c.home)) != 0)
        return ctl_fail(&c, rc);
    return cmd->run(&c);
}
