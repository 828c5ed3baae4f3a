/* Pieces of the relay (internal to relay*.c): an output stream from the
 * tool through a masker to one of our fds, and the caller's terminal. */
#ifndef VS_RELAY_IO_H
#define VS_RELAY_IO_H

#include "mask.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

/* One output of the tool: read end `fd` (-1 once at end), masked into
 * `dest`. When dest stops taking data (EPIPE: our reader went away), the
 * read end is closed, so the tool sees EPIPE as it would without us. */
struct relay_stream {
    int fd;
    int dest;
    struct vs_masker *mask;
    const char *name; /* "stdout", "stderr", "pty": for error lines */
    int64_t last_read_ms; /* CLOCK_MONOTONIC of the last bytes read */
    bool idle_done;       /* released (or kept) since those bytes */
};

/* CLOCK_MONOTONIC in milliseconds. */
int64_t relay_now_ms(void);

/* Reads what is available (one read of up to cap bytes) and passes it
 * through the masker. At end of file (0, or EIO from a pty master whose
 * other side is closed) flushes the masker and closes fd. Returns 0, or a
 * VS_E* code for a failure of ours (not for the tool closing its end).
 * *got is set to the number of bytes read. */
int relay_stream_pump(struct relay_stream *s, uint8_t *buf, size_t cap, size_t *got);
/* Releases short held-back runs (the output went quiet). */
int relay_stream_idle(struct relay_stream *s);
/* Bytes held by the masker. */
size_t relay_stream_pending(const struct relay_stream *s);
/* Flushes and closes (end of the run). */
int relay_stream_close(struct relay_stream *s);

/* Writes all of data to fd: EINTR retried; EAGAIN (a non-blocking fd we
 * do not own) waits in poll. VS_EIO on failure (errno kept). */
int relay_write_all(int fd, const uint8_t *data, size_t len);

/* The caller's terminal in raw mode for the run, restored on every path. */
struct relay_term {
    int fd;              /* the terminal (our stdin), -1 when not raw */
    struct termios saved;
};
/* Puts fd in raw mode when it is a terminal; a no-op otherwise. */
int relay_term_raw(struct relay_term *t, int fd);
/* Restores the saved mode (idempotent). */
int relay_term_restore(struct relay_term *t);

#endif
