/* Kernel facts about a vaultd peer, and the checks vaultd makes on them
 * (DESIGN.md, invariants 2 and 3). Rules this module keeps:
 *
 *  1. Every fact comes from the kernel (socket options, /proc/PID, pidfd),
 *     never from what the peer sends.
 *  2. Every /proc read goes through a /proc/PID directory fd opened at
 *     accept and validated against the pidfd: a later pid reuse cannot
 *     redirect it (reads through it fail with ESRCH once the task is gone).
 *  3. Every /proc read is bounded (cmdline and environ 256 KiB, maps read
 *     line by line with a line cap); a peer can make them huge.
 *  4. Functions return 0 or a negative VS_E* code; VS_EDENIED means "this
 *     peer is refused" and vs_last_error() holds the reason, written for the
 *     audit log. Reasons name variables, paths and pids, never an
 *     environment value or an argument.
 *  5. Not thread-safe: the two caches (trust verdicts, sha256 digests) are
 *     process-wide and unlocked. vaultd is single-threaded.
 *
 * Order of use in vaultd (invariant 2, "order"):
 *   vs_peer_init() once at start-up;
 *   vs_peer_enable_passcred(listen_fd) before accepting;
 *   vs_peer_accept(conn, &p);
 *   vs_peer_check_namespaces, vs_peer_check_exe, vs_peer_script (for
 *   interpreters), vs_peer_check_tracer, vs_peer_check_maps,
 *   vs_peer_check_environ: all while the peer is still dumpable;
 *   per message: vs_peer_check_msg_creds, then vs_peer_alive;
 *   after the peer's CONFIRM: vs_peer_is_nondumpable, vs_peer_check_tracer,
 *   vs_peer_alive, and only then release a value. */
#ifndef VS_PEER_H
#define VS_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#define VS_PEER_MAX_ARGS 4096
#define VS_PEER_MAX_CMDLINE (256u * 1024u)
#define VS_PEER_MAX_ENVIRON (256u * 1024u)

/* vs_peer_is_nondumpable's answer for a peer whose effective uid is 0:
 * positive, so `rc != 0` reads as "not confirmed" and `rc < 0` as "refused". */
#define VS_PEER_NOT_VERIFIABLE 1

/* A file's identity and version, from fstat on an open fd. */
struct vs_file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct timespec ctime;
};

/* Fields of /proc/PID/stat fixed by execve: startcode endcode startstack
 * arg_start arg_end env_start env_end. With ASLR on they differ from one
 * exec to the next, even of the same file with the same argv. */
#define VS_PEER_LAYOUT_FIELDS 7

struct vs_peer {
    /* who: SO_PEERCRED at connect time (effective ids) */
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int pidfd;          /* SO_PEERPIDFD, or pidfd_open(pid) on old kernels */
    bool pidfd_by_pid;  /* true: the weaker pidfd_open fallback was used */
    int procfd;         /* /proc/PID, O_DIRECTORY, validated against pidfd */
    /* /proc/PID/stat, status and cmdline, opened through procfd at accept
     * and read again from offset 0 by every check (the kernel produces
     * them from the task at read time): two syscalls fewer per read. */
    int statfd, statusfd, cmdlinefd;
    /* exec generation, compared by vs_peer_alive */
    uint64_t starttime; /* /proc/PID/stat field 22, clock ticks since boot */
    uint64_t layout[VS_PEER_LAYOUT_FIELDS];
    uint8_t cmdline_hash[32]; /* sha256 of the raw /proc/PID/cmdline */
    /* what */
    struct vs_file_id exe;   /* stat of /proc/PID/exe at accept */
    nlink_t exe_nlink;       /* 0: deleted or memfd */
    mode_t exe_mode;
    char *exe_path;          /* readlink, for logs only */
    char **argv;             /* argc entries then NULL; /proc/PID/cmdline */
    size_t argc;
    char *cwd_path;          /* vs_peer_cwd, at its first use */
    /* where */
    unsigned nspid_count;    /* NSpid entries in /proc/PID/status; 0 until the
                              * first status read at request time */
    bool foreign_userns;     /* /proc/PID/ns/user differs from ours */
    char *argbuf;            /* storage behind argv, wiped when freed */
    size_t arglen;           /* bytes of argbuf */
    /* Non-dumpable at accept while vaultd has no ptrace access to it (a
     * vault owner's vaultctl, which hides its passphrase that way): pid,
     * ids, start time, argv and tty are known, the executable and working
     * folder are not. Good for admin requests; vs_peer_check_exe refuses
     * it, so it is never granted anything. */
    bool opaque;
    /* The exec generation was read again after the facts at accept
     * (vs_peer_settle): until then no fact may decide anything. */
    bool settled;
};

/* Once at start-up: finds the dynamic loader (PT_INTERP of /proc/self/exe
 * and the usual loader paths of this architecture) and our own user
 * namespace. Calls sodium_init. */
int vs_peer_init(void);

/* Turns on SO_PASSCRED, so every message carries the sender's pid in
 * SCM_CREDENTIALS. Set it on the listening socket: accepted sockets
 * inherit it, and a message queued before it was set carries no pid. */
int vs_peer_enable_passcred(int sock);

/* Gathers every fact about the peer of a connected AF_UNIX socket. On
 * failure p holds no resources. VS_EDENIED when the peer is gone or its
 * /proc entry is not readable. */
int vs_peer_accept(int sock, struct vs_peer *p);

/* The facts vs_peer_accept gathered describe one program: the exec
 * generation is read again (vs_peer_alive) once, before the first request
 * is decided. 0 at once when already settled. A grant's own
 * vs_peer_alive settles it too (the caller sets p->settled). */
int vs_peer_settle(struct vs_peer *p);

/* peer_probe.c: once at start-up, before any key is loaded, forks a child
 * that makes itself non-dumpable and tries the reads a grant makes on it.
 * true: vaultd can inspect non-dumpable peers, so tools may ask GRANTS
 * with ONE_STEP (published as VS_INDEX_F_ONE_STEP). vs_peer_one_step gives
 * the last probe's answer. */
bool vs_peer_probe_one_step(void);
bool vs_peer_one_step(void);

/* Releases fds and memory; p can be freed twice. */
void vs_peer_free(struct vs_peer *p);

/* Is the peer still the process it was at accept? 0 when:
 *   pidfd_send_signal(pidfd, 0) succeeds (the process, not only its pid,
 *   is alive) and it is not a zombie; starttime is unchanged (not a new
 *   process); /proc/PID/exe has the same dev/ino; the exec layout fields
 *   and the cmdline hash are unchanged (no exec since accept).
 * Detects: exit, pid reuse, exec of another file, exec with other argv,
 *   exec of the same file and argv while ASLR is on (the layout moves),
 *   a process that rewrote its argv in memory.
 * Cannot detect: exec of the same file with the same argv when ASLR is off
 *   (randomize_va_space=0) or when vaultd lacks ptrace access to the peer
 *   (the layout fields then read 0); code loaded or written into the same
 *   process after accept without exec (vs_peer_check_maps catches file
 *   mappings at the time it runs, not later ones). */
int vs_peer_alive(const struct vs_peer *p);

/* The peer's executable opened (for hashing): an fd the caller closes, or a
 * VS_E* code when it is gone or no longer the file identified at accept. */
int vs_peer_open_exe(const struct vs_peer *p);

/* For one received message: msg must carry exactly one SCM_CREDENTIALS
 * whose pid equals pid (the pidfd's pid), no other control message and no
 * MSG_CTRUNC. A pure function of msg. Defeats connect, fork, exec an
 * allowlisted tool, send from the child: the kernel writes the sender's own
 * pid. Cannot defeat a sender with CAP_SYS_ADMIN (root), which may write
 * any pid. The caller must still close any fds an SCM_RIGHTS brought in. */
int vs_peer_check_msg_creds(const struct msghdr *msg, pid_t pid);

/* The executable: refuses the dynamic loader run directly (dev/ino equal to
 * a loader found by vs_peer_init), a memfd, a deleted file (nlink 0 or a
 * "(deleted)" link), anything not a regular file. */
int vs_peer_check_exe(const struct vs_peer *p);

/* Refuses a peer with more than one NSpid entry (a non-initial pid
 * namespace) or in another user namespace than vaultd, unless allow. */
int vs_peer_check_namespaces(struct vs_peer *p, bool allow);

/* The peer's working folder (readlink of /proc/PID/cwd), read at its
 * first use and kept: only project-scoped secrets and approval listings
 * need it, and a fresh process's /proc entry costs each grant. NULL when
 * it cannot be read (an opaque or exited peer). */
const char *vs_peer_cwd(struct vs_peer *p);

/* openat of path as the peer would resolve it: a relative path from its
 * working folder (/proc/PID/cwd, opened for this call only: most grants
 * never need it, and it cost each of them an open and a close). */
int vs_peer_openat_cwd(const struct vs_peer *p, const char *path, int flags);

/* For interpreters: the script is argv[1]; refused when argv[1] is missing
 * or starts with '-' (an interpreter option before the script: -c, -e, -m,
 * -X, --require...). A relative path is opened from the peer's cwd,
 * an absolute one as it is; the opened file's dev/ino are returned. Refused
 * when the script does not open or is not a regular file. */
int vs_peer_script(const struct vs_peer *p, int *script_index, dev_t *dev, ino_t *ino);

/* TracerPid in /proc/PID/status is 0. Call at accept and again after the
 * peer's CONFIRM. */
int vs_peer_check_tracer(struct vs_peer *p);

/* Every file-backed executable mapping in /proc/PID/maps is a trusted file
 * (vs_path_trusted with vault_uid) and is the very inode that is mapped.
 * Refused: an untrusted library (a foreign LD_PRELOAD), a memfd or deleted
 * executable mapping, a path the kernel escaped. Allowed: anonymous
 * executable mappings (JIT), [vdso], [vsyscall]. Verdicts are cached per
 * (dev, ino, size, mtime, ctime). */
int vs_peer_check_maps(const struct vs_peer *p, uid_t vault_uid);

/* Runs each /proc/PID/environ entry through common/inject with kinds (and
 * own_preload, the shim's path, accepted in LD_PRELOAD; NULL: none), then
 * the whole-environment rules. The reason names the variable, never its
 * value. Refused too when environ is over 256 KiB. A path variable whose
 * only threat is an agent-controlled path (CA bundles, GIT_EXEC_PATH) is
 * accepted when it names a trusted file or folder (vs_path_trusted with
 * vault_uid): the system bundle, git's own helper folder. */
int vs_peer_check_environ(const struct vs_peer *p, unsigned kinds, const char *own_preload, uid_t vault_uid);

/* Has the peer made itself non-dumpable? When a process is non-dumpable
 * the kernel makes root the owner of its /proc/PID/ files (maps, environ,
 * status...) while /proc/PID itself keeps the process's effective uid.
 * Returns 0 (confirmed: euid != 0 and maps owned by root), VS_EDENIED
 * (still dumpable), or VS_PEER_NOT_VERIFIABLE for a peer whose effective
 * uid is 0: its files are root's either way, and nothing else in /proc
 * shows dumpability. vaultd then lets the policy decide (a root peer can
 * read vaultd's secrets from anywhere anyway). */
int vs_peer_is_nondumpable(const struct vs_peer *p);

/* Strict modes, as sudo and sshd check them: realpath(path), then the file
 * and every folder up to / (lstat on each component) are owned by root or
 * vault_uid and not writable by group or other. A world-writable sticky
 * folder (/tmp) is not trusted either. Symlinks are resolved first, so a
 * link in an untrusted folder to a trusted file is trusted: what is
 * opened is the target, which the agent cannot change. The final
 * component must be a regular file or a folder. 0 or VS_EDENIED. */
int vs_path_trusted(const char *path, uid_t vault_uid);

/* vs_path_trusted for files checked on every grant (a tool's exe and
 * script): a positive verdict is cached by the file's (dev, ino, size,
 * mtime, ctime), as vs_peer_check_maps caches its own, so a grant costs one
 * stat instead of a realpath and a walk to /. Equally strong against the
 * agent: once every folder on the path is trusted it cannot change them;
 * the owner's own later chmod of a folder is seen at the next policy load
 * (which clears the caches) or when the file changes. */
int vs_path_trusted_cached(const char *path, uid_t vault_uid);

/* The same for a file already identified, such as the peer's executable
 * (fstat of its exe fd at accept): a verdict cached for that identity
 * answers without a system call; otherwise path is walked and must name
 * that very file. */
int vs_file_trusted_at(const char *path, const struct vs_file_id *id, uid_t vault_uid);

/* sha256 of an open file (e.g. the peer's exefd), read with pread from
 * offset 0, cached by (dev, ino, size, mtime, ctime) in 256 entries (LRU).
 * A file changed within the last racy-window seconds (2 by default) is
 * hashed but not cached: a change inside one timestamp tick would keep the
 * key. If the file changes while being read, VS_EIO. */
int vs_hash_cache_sha256(int fd, uint8_t out[32]);

struct vs_cache_stats {
    uint64_t hits;
    uint64_t misses;
    unsigned entries;
};
void vs_hash_cache_stats(struct vs_cache_stats *st);
void vs_trust_cache_stats(struct vs_cache_stats *st);
/* Forgets every cached digest and trust verdict (policy reload, tests). */
void vs_peer_caches_reset(void);
/* For tests: the racy window in seconds (0: cache whatever was hashed). */
void vs_peer_caches_set_racy_window(unsigned seconds);

#endif
