/* vaultctl import: moving credentials out of plaintext files.
 *
 * Rules these modules keep:
 *  1. A value found in a file lives only in sodium_malloc'd memory (as do
 *     the file's original bytes, which hold it); it is never printed, never
 *     written to a file outside the encrypted store.
 *  2. The run is all-or-nothing from the user's view: every rewritten file
 *     is staged as a temp file beside it before the vault changes; the
 *     vault commits the values and the encrypted backups in one
 *     transaction; only then are the temps renamed into place.
 *  3. A rewritten file keeps its mode, owner, comments, other lines, line
 *     endings and a missing final newline.
 *
 * The modules: import_scan*.c find values per file kind, import_files.c
 * lists the files to look at, import_plan.c names secrets and builds the
 * new contents and the policy snippet, import_rewrite.c stages and swaps
 * files, import_backup.c keeps the originals in the vault. */
#ifndef VS_IMPORT_H
#define VS_IMPORT_H

#include "buf.h"
#include "names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IMP_FILE_MAX (1u << 20) /* bytes of one file we import from */
#define IMP_ENV_NAME_MAX 255

enum imp_kind { IMP_NPMRC, IMP_NETRC, IMP_AWS, IMP_GH, IMP_PYPIRC, IMP_DOCKER, IMP_GITCRED, IMP_ENV, IMP_PROFILE };

/* One value found in a file. Offsets index the file's bytes. */
struct imp_find {
    unsigned line;            /* 1-based */
    size_t raw_off, raw_len;  /* the value as written (quotes included): {{name}} in a template */
    size_t cut_off, cut_len;  /* removed, or replaced by the comment when comment is set */
    bool comment;             /* .env and profiles: the line becomes a comment */
    uint8_t *value;           /* sodium_malloc'd: the value as a program sees it */
    size_t value_len;
    char hint[VS_SECRET_NAME_MAX + 1]; /* naming base, e.g. "aws.default.secret_access_key" */
    char what[160];           /* for the plan: "aws_secret_access_key in [default]" */
    char env[IMP_ENV_NAME_MAX + 1]; /* the env name (.env, profiles, known names), else "" */
    char name[VS_SECRET_NAME_MAX + 1]; /* chosen by the plan */
    bool known;               /* the value is already in the vault under name */
};

struct imp_finds {
    struct imp_find *v;
    size_t n, cap;
};

/* Each kind's parser appends what it finds; values are copied out. A
 * parse never fails on odd input (it skips what it cannot read); it fails
 * only on memory. */
int imp_parse(enum imp_kind kind, const uint8_t *text, size_t len, struct imp_finds *out);
void imp_finds_free(struct imp_finds *f);
const char *imp_kind_name(enum imp_kind kind);

/* The parsers of import_scan_*.c (buf: VS_VALUE_MAX + 1 locked bytes of
 * scratch for decoded values). */
int imp_parse_netrc(const uint8_t *text, size_t len, uint8_t *buf, struct imp_finds *out);
int imp_parse_docker(const uint8_t *text, size_t len, uint8_t *buf, struct imp_finds *out);
int imp_parse_env(const uint8_t *text, size_t len, bool profile, uint8_t *buf, struct imp_finds *out);

/* Helpers for the parsers (import_text.c). */
struct imp_line {
    size_t off, len;    /* content, without the terminator */
    size_t end;         /* offset after the terminator */
    unsigned number;
};
/* Iterates lines: *pos starts at 0; returns false at the end. */
bool imp_next_line(const uint8_t *text, size_t len, size_t *pos, struct imp_line *line);
/* Appends a find; value bytes are copied into locked memory. */
int imp_add(struct imp_finds *out, const struct imp_line *line, size_t raw_off, size_t raw_len,
            const uint8_t *value, size_t value_len, bool comment);
/* The cut for a whole line: its bytes and terminator; for a last line with
 * no terminator, the previous terminator too (so a missing final newline
 * stays missing). */
void imp_cut_line(const uint8_t *text, size_t len, const struct imp_line *line, struct imp_find *f);
/* Copies a name into a hint, mapping bytes outside [A-Za-z0-9_.-] to '_'. */
void imp_hint(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Is NAME credential-like (the list in docs/import-and-scan.md)? */
bool imp_credential_name(const char *name);
/* Parses a shell assignment value at text[*pos..end): unquoted, '...' or
 * "..."; returns 0 and the value span and decoded bytes (in a locked
 * buffer of cap bytes), or -1 when it is not a literal (expansions,
 * unbalanced quotes). */
int imp_shell_value(const uint8_t *text, size_t start, size_t end, size_t *raw_len, uint8_t *buf, size_t cap,
                    size_t *out_len);

struct imp_stat {
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* A file to import from. */
struct imp_file {
    char path[4096];    /* as resolved (symlinks followed) */
    char shown[4096];   /* as the user knows it ("~/.npmrc") */
    char abs[4096];     /* absolute, symlinks not followed: the path tools open */
    enum imp_kind kind;
    uint8_t *data;      /* sodium_malloc'd original bytes */
    size_t len;
    struct imp_stat st;
    struct imp_finds finds;
    uint8_t *after;     /* malloc'd new bytes (no values) */
    size_t after_len;
    char *tmpl;         /* malloc'd template (credential kinds), NUL-terminated */
    char temp[4096];    /* staged temp file, "" when none */
};

struct imp_files {
    struct imp_file *v;
    size_t n, cap;
};

/* The default set (home files that exist, .env files under cwd) or the
 * given paths. Reads each file. home: the folder the ~ files are in. */
int imp_collect(const char *home, const char *cwd, int npaths, char **paths, struct imp_files *out);
void imp_files_free(struct imp_files *f);
int imp_kind_of_path(const char *path, enum imp_kind *kind);

/* import_plan.c: names every find (is_taken says whether a name is in the
 * vault; find_value whether a value is, filling its name), then builds
 * each file's new bytes and template. */
typedef bool (*imp_name_taken_fn)(void *ctx, const char *name);
typedef bool (*imp_value_known_fn)(void *ctx, const uint8_t *value, size_t len, char *name, size_t cap);
int imp_plan(struct imp_files *files, imp_name_taken_fn taken, imp_value_known_fn known, void *ctx);
int imp_build_after(struct imp_file *f);
/* Writes the policy snippet (libconfig, no values) into out. pw_home: the
 * home vaultd expands "~" with. */
int imp_policy_snippet(const struct imp_files *files, const char *pw_home, struct vs_buf *out);

/* import_rewrite.c */
/* Stages f->after as a temp beside f->path with f's mode and owner. */
int imp_stage(struct imp_file *f, const uint8_t *data, size_t len);
/* Renames the staged temp over the file and fsyncs the folder. */
int imp_commit_staged(struct imp_file *f);
void imp_drop_staged(struct imp_file *f);
/* sha256 of bytes, as 64 hex digits. */
void imp_sha256_hex(const uint8_t *data, size_t len, char out[65]);
/* Reads a file (up to IMP_FILE_MAX) into locked memory. */
int imp_read_file(const char *path, uint8_t **data, size_t *len, struct imp_stat *st);

/* import_backup.c: the originals, kept in the vault as secrets
 * "import-backup.R" (a manifest: files, modes, owners, hashes, the secrets
 * the run added) and "import-backup.R.F.C" (chunk C of file F). */
#define IMP_BACKUP_PREFIX "import-backup."
struct vs_store;
bool imp_is_backup_name(const char *name);
/* The next run number (1 + the highest kept), or the highest (0: none). */
unsigned imp_backup_last_run(struct vs_store *s);
/* Adds the run's backups to the store in memory (nothing is written). */
int imp_backup_add(struct vs_store *s, unsigned run, const struct imp_files *files, uint64_t now);

struct imp_undo_file {
    char path[4096];
    struct imp_stat st;
    char sha_before[65], sha_after[65];
    uint8_t *data; /* sodium_malloc'd original bytes */
    size_t len;
    unsigned chunks;
};
struct imp_undo {
    unsigned run;
    struct imp_undo_file *files;
    size_t nfiles;
    char (*secrets)[VS_SECRET_NAME_MAX + 1];
    size_t nsecrets;
};
int imp_backup_load(struct vs_store *s, unsigned run, struct imp_undo *u);
/* Removes the run's backups, and the secrets it added that were not
 * rotated since (kept: how many were left in place). */
int imp_backup_remove(struct vs_store *s, const struct imp_undo *u, size_t *kept);
void imp_undo_free(struct imp_undo *u);

#endif
