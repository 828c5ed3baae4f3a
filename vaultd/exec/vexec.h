/* vault-exec internals: the seams between its files.
 *
 *   main.c         the command line, the order of the steps
 *   exec_target.c  finding and opening the target (PATH search, as execvp)
 *   exec_client.c  the talk with vaultd: MEDIATE, CONFIRM, RENDER_FILE,
 *                  and EXEC_DONE after the run
 *   exec_env.c     the target's environment: env grants, files as sealed
 *                  memfds named through the tool's path variable
 *   exec_run.c     running the target: fexecve of the opened fd, signals,
 *                  exit status; through the masking relay when mask is on
 *
 * Rules vault-exec keeps:
 *  1. The target is opened once; vaultd judges that open file (through
 *     /proc/PID/fd) and vault-exec executes that same fd (execveat with
 *     AT_EMPTY_PATH): what was checked is what runs.
 *  2. Non-dumpable before CONFIRM; values live in sodium_malloc'd memory
 *     and are wiped as soon as the target's environment no longer needs
 *     them.
 *  3. The target is exec'd with raw syscalls, never through libc's exec
 *     family: a preloaded shim in vault-exec would rebuild the child's
 *     environment (and strip the grants).
 *  4. Fail closed: any refusal is one stderr line "vault-exec: ..." and
 *     exit status 126 (127: target not found); the target does not run. */
#ifndef VS_VEXEC_H
#define VS_VEXEC_H

#include "mask.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VEXEC_MAX_GRANTS 64
#define VEXEC_MAX_FILES 16

struct vexec_grant {
    char *entry;     /* "NAME=value" in locked memory */
    size_t name_len;
};

struct vexec_file {
    char path[4096]; /* the managed path, as the policy names it */
    int memfd;       /* sealed, inherited by the target; -1 */
    const char *var; /* the tool's path variable, or NULL */
};

struct vexec {
    const char *agent;
    const char *session; /* VAULT_SESSION: a label for the audit log, as the shim sends it */
    char **targv;           /* the target's argv (argv[0] as given) */
    int targetfd;           /* the opened target */
    char target_path[4096]; /* for messages */
    char script[4096];      /* an interpreter tool's script, from vaultd */
    int sock;
    struct vexec_grant grants[VEXEC_MAX_GRANTS];
    size_t ngrants;
    struct vexec_file files[VEXEC_MAX_FILES];
    size_t nfiles;
    struct vs_mask_value file_values[VEXEC_MAX_GRANTS]; /* values inside granted files: masked only */
    size_t nfile_values;
    uint8_t *region;        /* sodium_malloc'd entries */
    size_t region_used;
    bool mask;              /* from the mediated answer: relay and mask */
    bool files_with_confirm; /* ... and vaultd renders the files right behind CONFIRM */
};

/* exec_target.c: resolves name like execvp (a name with '/' as is, else
 * each PATH entry) and opens it O_RDONLY|O_CLOEXEC. 0, VS_ENOENT, VS_EPERM. */
int vexec_open_target(const char *name, int *fd, char *path, size_t cap);
/* A "#!" script target: 1 with interp set to what runs it ("#!/path", or
 * "#!/usr/bin/env NAME" with NAME found in PATH), 0 when fd is no script,
 * or a refusal (an interpreter option, an interpreter that is a script). */
int vexec_shebang(int fd, char *interp, size_t cap);

/* exec_client.c */
int vexec_mediate(struct vexec *v, const char *socket_path);
void vexec_wipe(struct vexec *v);
/* Best effort: one line on stderr when it cannot be logged. */
void vexec_report(const char *socket_path, const char *agent, int status, uint32_t duration_ms);

/* exec_env.c: the managed path's variable (NULL when the tool has none). */
const char *vexec_path_variable(const char *managed_path);
/* The target's envp: env minus the names set here, plus the grants, the
 * file variables and the marker VAULTSHIM_MEDIATED=1. The grant strings
 * are v's; the file variables are owned (freed by vexec_free_env). */
struct vexec_env {
    char **envp;
    char *owned[VEXEC_MAX_FILES];
    size_t nowned;
};
int vexec_build_env(const struct vexec *v, char *const env[], struct vexec_env *out);
void vexec_free_env(struct vexec_env *env);
/* The granted values, for the masker (pointing into v's locked memory). */
size_t vexec_mask_values(const struct vexec *v, struct vs_mask_value *out, size_t cap);

/* exec_run.c: runs the target to its end; returns the shell-style status
 * (0..255, 128+signal) or a negative VS_E* for a failure of our own. */
int vexec_run(struct vexec *v, char **envp, char **argv);

#endif
