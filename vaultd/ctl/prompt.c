/* Reading passphrases and values: never from argv, never echoed, always into
 * locked memory that is wiped when freed. */
#include "vaultctl.h"

#include "error.h"
#include "fileio.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSPHRASE_MAX 1024
#define PASSPHRASE_MIN 8

/* The terminal state to restore if a signal arrives while echo is off. */
static int echo_fd = -1;
static struct termios echo_saved;

static void restore_echo(int sig)
{
    if (echo_fd >= 0)
        (void)tcsetattr(echo_fd, TCSAFLUSH, &echo_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line (without its newline) of at most cap-1 bytes from fd. */
static int read_line(int fd, uint8_t *buf, size_t cap, size_t *len, bool *too_long)
{
    size_t n = 0;
    *too_long = false;
    for (;;) {
        uint8_t ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return vs_fail_errno(VS_EIO, "read");
        if (r == 0 || ch == '\n')
            break;
        if (n + 1 >= cap) {
            *too_long = true;
            continue; /* drain the line, keep nothing more */
        }
        buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    *len = n;
    return 0;
}

static int tty_read_hidden(const char *prompt, uint8_t *buf, size_t cap, size_t *len, bool *too_long)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return vs_fail(VS_EINVAL, "no terminal to ask on (use --passphrase-fd or a pipe)");
    struct termios t;
    if (tcgetattr(fd, &echo_saved) != 0) {
        close(fd);
        return vs_fail_errno(VS_EIO, "terminal");
    }
    t = echo_saved;
    t.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
    t.c_lflag |= ICANON;
    echo_fd = fd;
    struct sigaction sa = {.sa_handler = restore_echo}, old[3];
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++)
        (void)sigaction(sigs[i], &sa, &old[i]);
    int rc = 0;
    if (tcsetattr(fd, TCSAFLUSH, &t) != 0)
        rc = vs_fail_errno(VS_EIO, "terminal");
    if (rc == 0)
        rc = vs_write_all_str(fd, prompt);
    if (rc == 0)
        rc = read_line(fd, buf, cap, len, too_long);
    (void)tcsetattr(fd, TCSAFLUSH, &echo_saved);
    (void)vs_write_all_str(fd, "\n");
    echo_fd = -1;
    for (int i = 0; i < 3; i++)
        (void)sigaction(sigs[i], &old[i], NULL);
    close(fd);
    return rc;
}

int ctl_read_passphrase(const struct ctl *c, const char *prompt, bool confirm, uint8_t **buf, size_t *len)
{
    *buf = sodium_malloc(PASSPHRASE_MAX);
    if (*buf == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    bool too_long = false;
    int rc;
    if (c->passphrase_fd >= 0) {
        rc = read_line(c->passphrase_fd, *buf, PASSPHRASE_MAX, len, &too_long);
    } else {
        rc = tty_read_hidden(prompt, *buf, PASSPHRASE_MAX, len, &too_long);
        if (rc == 0 && confirm) {
            uint8_t *again = sodium_malloc(PASSPHRASE_MAX);
            size_t again_len = 0;
            bool again_long = false;
            if (again == NULL)
                rc = vs_fail(VS_ENOMEM, "out of memory");
            if (rc == 0)
                rc = tty_read_hidden("Repeat the passphrase: ", again, PASSPHRASE_MAX, &again_len, &again_long);
            if (rc == 0 && (again_len != *len || sodium_memcmp(again, *buf, *len) != 0))
                rc = vs_fail(VS_EINVAL, "the passphrases differ");
            sodium_free(again);
        }
    }
    if (rc == 0 && too_long)
        rc = vs_fail(VS_ETOOBIG, "passphrase over %d bytes", PASSPHRASE_MAX - 1);
    if (rc == 0 && *len == 0)
        rc = vs_fail(VS_EINVAL, "empty passphrase");
    if (rc == 0 && confirm && *len < PASSPHRASE_MIN)
        rc = vs_fail(VS_EINVAL, "passphrase shorter than %d characters", PASSPHRASE_MIN);
    if (rc != 0) {
        sodium_free(*buf);
        *buf = NULL;
    }
    return rc;
}

static int read_all_stdin(uint8_t *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (n == cap)
            return vs_fail(VS_ETOOBIG, "value over %d bytes", VS_VALUE_MAX);
        ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return vs_fail_errno(VS_EIO, "read stdin");
        if (r == 0)
            break;
        n += (size_t)r;
    }
    /* `echo TOKEN | vaultctl save` must store TOKEN, not TOKEN\n. */
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    *len = n;
    return 0;
}

int ctl_read_value(const struct ctl *c, const char *name, uint8_t **buf, size_t *len)
{
    (void)c;
    /* One byte over the limit tells "too long" from "exactly the limit". */
    size_t cap = VS_VALUE_MAX + 2;
    *buf = sodium_malloc(cap);
    if (*buf == NULL)
        return vs_fail(VS_ENOMEM, "out of memory");
    int rc;
    if (isatty(STDIN_FILENO)) {
        char prompt[128];
        (void)snprintf(prompt, sizeof prompt, "Value for %s (not shown): ", name);
        bool too_long = false;
        rc = tty_read_hidden(prompt, *buf, cap, len, &too_long);
        if (rc == 0 && too_long)
            rc = vs_fail(VS_ETOOBIG, "value over %d bytes", VS_VALUE_MAX);
    } else {
        rc = read_all_stdin(*buf, cap, len);
    }
    if (rc == 0 && *len > VS_VALUE_MAX)
        rc = vs_fail(VS_ETOOBIG, "value over %d bytes", VS_VALUE_MAX);
    if (rc == 0 && *len == 0)
        rc = vs_fail(VS_EINVAL, "empty value refused");
    if (rc != 0) {
        sodium_free(*buf);
        *buf = NULL;
    }
    return rc;
}
