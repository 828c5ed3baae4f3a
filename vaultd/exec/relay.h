/* vault-exec's process runner: starts the tool and relays its output
 * through a masker, as `script` or `ssh -t` relay a session.
 *
 *  - When the caller's stdout (or stderr) is a terminal, the tool gets a
 *    pty of the same size and mode (colours, progress bars and line editing
 *    keep working); the caller's terminal is put in raw mode for the run and
 *    restored on every exit path; SIGWINCH resizes the pty. Otherwise the
 *    tool's stdout and stderr are pipes, relayed to ours separately.
 *  - stdin: with a pty, the caller's stdin is copied to the pty master;
 *    otherwise the tool inherits our stdin as is (no copy).
 *  - SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 received by
 *    vault-exec are forwarded to the tool.
 *  - The exit status is the tool's: vs_relay_run returns it in the shape a
 *    shell reports (code, or 128+signal), after draining every byte of
 *    output and flushing the masker.
 *  - Every byte of output goes through the masker (mask may be NULL: pass
 *    through); output is flushed when the tool's output is idle so an
 *    interactive prompt is never held back behind the masker's window
 *    longer than VS_RELAY_IDLE_MS.
 */
#ifndef VS_RELAY_H
#define VS_RELAY_H

#include "mask.h"

#include <stdbool.h>
#include <sys/types.h>

#define VS_RELAY_IDLE_MS 50

struct vs_relay_opts {
    /* Runs in the child after fork, with stdio set up: execs the tool and
     * returns only on failure (the child then exits 127). */
    int (*exec_tool)(void *ctx);
    void *ctx;
    struct vs_masker *mask_out; /* for stdout (and the pty) */
    struct vs_masker *mask_err; /* for stderr (pipes only) */
    int in_fd, out_fd, err_fd;  /* normally 0, 1, 2 */
    bool force_pipes;           /* never a pty (tests) */
};

/* Runs the tool to completion. 0 with *status set (0..255, 128+sig), or a
 * VS_E* code for a failure of vault-exec itself (fork, pty, poll) with a
 * vs_fail line; the tool is then killed and reaped. *pid_out (may be NULL)
 * is set as soon as the child exists. */
int vs_relay_run(const struct vs_relay_opts *o, int *status, pid_t *pid_out);

#endif
