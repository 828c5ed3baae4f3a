/* The terminal facts of a peer, for the human factor of an approval:
 * fields 4 (ppid), 5 (pgrp), 6 (session), 7 (tty_nr) and 8 (tpgid, the terminal's foreground
 * process group) of /proc/PID/stat, read through the peer's procfd. */
#include "vaultd.h"

#include "error.h"
#include "peer_int.h"

#include <stdlib.h>
#include <string.h>

#define STAT_CAP 4096

int vaultd_peer_tty(const struct vs_peer *p, struct peer_tty *t)
{
    char *text = NULL;
    size_t len = 0;
    int rc = vs_proc_read(p->procfd, "stat", "/proc/PID/stat", STAT_CAP, &text, &len);
    if (rc != 0)
        return rc;
    /* comm may hold spaces and ')': the fields start after the last ')'. */
    const char *close = NULL;
    for (size_t i = 0; i < len; i++)
        if (text[i] == ')')
            close = text + i;
    long field[9] = {0};
    int n = 2;
    char *q = close != NULL ? (char *)close + 1 : NULL;
    while (q != NULL && n < 8) {
        char *end = NULL;
        while (*q == ' ')
            q++;
        n++;
        if (n == 3) { /* state: one letter */
            q++;
            continue;
        }
        field[n] = strtol(q, &end, 10);
        if (end == q)
            break;
        q = end;
    }
    free(text);
    if (n < 8)
        return vs_fail(VS_EIO, "/proc/PID/stat: malformed");
    t->ppid = field[4];
    t->pgrp = field[5];
    t->sid = field[6];
    t->tty_nr = (unsigned)field[7];
    t->tpgid = field[8];
    return 0;
}
