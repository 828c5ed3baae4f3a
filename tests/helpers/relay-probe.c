/* relay-probe: runs a command through vault-exec's relay and masker, as
 * vault-exec does, with fake values read from a file, so the integration
 * tests drive the I/O half with real programs.
 *
 *   relay-probe [--pipes] [--counts FILE] VALUES_FILE -- CMD [ARG...]
 *
 * VALUES_FILE: one value per line (the newline is not part of it; empty
 * lines are skipped). --pipes: never a pty. --counts: writes
 * "masks_out N\nmasks_err N\n" to FILE at the end. Exits with the tool's
 * status (code or 128+signal); 125 with one stderr line when the relay
 * itself fails. */
#include "error.h"
#include "mask.h"
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_VALUES 64

static int exec_tool(void *ctx)
{
    char **argv = ctx;
    execvp(argv[0], argv);
    fprintf(stderr, "relay-probe: %s: cannot run\n", argv[0]);
    return -1;
}

static _Noreturn void die(const char *what, int rc)
{
    fprintf(stderr, "relay-probe: %s: %s\n", what, vs_last_error(rc));
    exit(125);
}

/* Reads the values; each line is a malloc'd value (the probe's values are
 * fakes, so no wiping is needed here). */
static size_t read_values(const char *path, struct vs_mask_value *v)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror("relay-probe: values file");
        exit(125);
    }
    size_t n = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len == 0)
            continue;
        if (n == MAX_VALUES) {
            fprintf(stderr, "relay-probe: more than %d values\n", MAX_VALUES);
            exit(125);
        }
        uint8_t *copy = malloc((size_t)len);
        if (copy == NULL)
            exit(125);
        memcpy(copy, line, (size_t)len);
        v[n++] = (struct vs_mask_value){copy, (size_t)len};
    }
    free(line);
    if (ferror(f) || fclose(f) != 0) {
        perror("relay-probe: values file");
        exit(125);
    }
    return n;
}

int main(int argc, char **argv)
{
    struct vs_relay_opts o = {.exec_tool = exec_tool, .in_fd = 0, .out_fd = 1, .err_fd = 2};
    const char *counts = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--pipes") == 0) {
            o.force_pipes = true;
        } else if (strcmp(argv[i], "--counts") == 0 && i + 1 < argc) {
            counts = argv[++i];
        } else {
            fprintf(stderr, "relay-probe: unknown option %s\n", argv[i]);
            return 125;
        }
    }
    if (i + 2 >= argc || strcmp(argv[i + 1], "--") != 0) {
        fprintf(stderr, "usage: relay-probe [--pipes] [--counts FILE] VALUES_FILE -- CMD [ARG...]\n");
        return 125;
    }
    struct vs_mask_value values[MAX_VALUES];
    size_t n = read_values(argv[i], values);
    int rc = vs_masker_new(values, n, &o.mask_out);
    if (rc != 0)
        die("masker", rc);
    if ((rc = vs_masker_new(values, n, &o.mask_err)) != 0)
        die("masker", rc);
    o.ctx = argv + i + 2;
    int status = 0;
    rc = vs_relay_run(&o, &status, NULL);
    if (rc != 0)
        die("relay", rc);
    if (counts != NULL) {
        FILE *f = fopen(counts, "w");
        if (f == NULL || fprintf(f, "masks_out %llu\nmasks_err %llu\n",
                                 (unsigned long long)vs_masker_count(o.mask_out),
                                 (unsigned long long)vs_masker_count(o.mask_err)) < 0 || fclose(f) != 0) {
            perror("relay-probe: counts file");
            return 125;
        }
    }
    vs_masker_free(o.mask_out);
    vs_masker_free(o.mask_err);
    for (size_t k = 0; k < n; k++)
        free((void *)values[k].data);
    return status;
}
