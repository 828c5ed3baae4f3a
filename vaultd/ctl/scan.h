/* vaultctl scan: finding vaulted values where they should not be.
 *
 * Rules these modules keep:
 *  1. Only a whole value (or a whole encoded form of it) is a find; a
 *     prefix never is, so the scanner is no oracle for guessing a value
 *     piece by piece.
 *  2. A find is reported as where and which secret; never the value, never
 *     any of its bytes.
 *  3. The patterns (values and their encodings) live in one locked,
 *     wiped arena.
 *
 * Matching (scan_patterns.c): every pattern is at least 4 bytes; a hash
 * table keyed by a pattern's first 4 bytes maps to its patterns, so the text
 * is read once, one table probe per byte, whatever the number of secrets
 * (a memmem per pattern would read it once per pattern: 9 forms x N
 * secrets). The table has 4x as many buckets as patterns, so most probes
 * hit an empty bucket and cost one load. */
#ifndef VS_SCAN_H
#define VS_SCAN_H

#include "names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCAN_VALUE_MIN 8            /* shorter values are not scanned (false finds) */
#define SCAN_FILE_MAX (64u << 20)   /* bigger files are skipped, with a note */

struct scan_set;

/* Forms of a value: raw, base64 at the 3 alignments (standard and URL-safe
 * alphabets), hex in both cases, percent-encoded in both cases. */
int scan_set_new(struct scan_set **out);
/* Adds a value under a secret name (copied into the locked arena). */
int scan_set_add(struct scan_set *s, const char *name, const uint8_t *value, size_t len);
/* Builds the table; call once after the last add. */
int scan_set_seal(struct scan_set *s);
void scan_set_free(struct scan_set *s);
size_t scan_set_count(const struct scan_set *s); /* patterns */

/* Called for each find, in offset order; line is 1-based. Return non-zero
 * to stop. */
typedef int (*scan_hit_fn)(void *ctx, unsigned line, const char *name, const char *form);
/* Finds every pattern in text; each (line, secret, form) is reported once. */
int scan_buffer(const struct scan_set *s, const uint8_t *text, size_t len, scan_hit_fn hit, void *ctx);

/* Reports of a scan go through one printer: "where:line: secret NAME (form)". */
struct scan_report {
    const char *where;  /* file path, or "commit:path" */
    size_t finds;
};
int scan_print_hit(void *ctx, unsigned line, const char *name, const char *form);

/* scan_files.c: files and folders, recursively (.git skipped, symlinks not
 * followed). */
int scan_paths(const struct scan_set *s, int npaths, char **paths, size_t *finds);

/* scan_git.c */
int scan_git_staged(const struct scan_set *s, size_t *finds);
int scan_git_history(const struct scan_set *s, size_t *finds);
/* Writes the pre-commit hook running `vaultctl scan --staged`. */
int scan_git_install_hook(const char *vaultctl_path, const char *vault_home, bool *already);

#endif
