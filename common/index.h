/* The policy index: a small file vaultd publishes (names, paths,
 * executables; never a value) so that the shim decides "is this name
 * protected, is this path managed, is this executable a tool" without a
 * socket round trip. The shim maps it in its constructor and reads it in
 * place.
 *
 * Rules the reader (common/index.c) keeps, because it runs inside an
 * LD_PRELOAD constructor and inside hooks:
 *  1. libc only; no malloc, no stdio, no locale, no vs_fail: return codes.
 *  2. The file is opened with raw syscalls (openat, statx, pread, close
 *     through vs_sys, rawsys.h: not syscall(2), which the shim hooks), so
 *     the shim's own open/stat/read hooks are never
 *     re-entered; errno is preserved.
 *  3. Nothing is read before vs_index_validate has bounded it: every offset
 *     and count lies inside the file, every string ends inside the string
 *     table, every hash table is a power of two at most half full, the tool
 *     and interpreter arrays are strictly sorted. After that, look-ups do
 *     no further bounds checks beyond those in their own loops.
 *
 * Format (version 1), all integers little-endian, used in place:
 *   header (96 bytes): magic "VSIDX001", u32 version, u32 total_size (the
 *     file size), u64 generation (the policy load counter), u32 flags
 *     (VS_INDEX_F_*),
 *     u32 n_sections (8), then 8 x {u32 offset, u32 count}.
 *   sections, in this order, each at the previous end rounded up to 8 (the
 *   first right after the header), padding zero, total_size = the end of
 *   the last section rounded up to 8. So the layout is canonical: a
 *   changed offset or count never validates.
 *     STRINGS  count = bytes, a multiple of 8 (NUL padded); starts and
 *              ends with NUL; offset 0 is "".
 *     NAMES    count = slots (0 or a power of two): struct vs_index_slot,
 *              open addressing, linear probing, vs_index_hash of the name;
 *              every protected exact name (policy protect + every tool env
 *              name + the built-in list below).
 *     GLOBS    struct vs_index_glob: the policy's protect patterns.
 *     PATHS    slots like NAMES: every managed file path (absolute,
 *              canonical, as the policy holds it).
 *     TOOLS    struct vs_index_tool, sorted by (exe_dev, exe_ino,
 *              script_dev, script_ino), strictly; only available tools.
 *     REFS     u32 string offsets, the tools' env names and file paths.
 *     INTERP   struct vs_index_devino, sorted strictly: executables that
 *              are the interpreter of some tool.
 *     GRANTED  slots like NAMES: every env name some available tool gets.
 *   Empty slot: {0, 0}. An occupied slot's string is never "".
 */
#ifndef VS_INDEX_H
#define VS_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_INDEX_MAGIC "VSIDX001"
#define VS_INDEX_VERSION 1u
#define VS_INDEX_MAX_BYTES (16u * 1024u * 1024u)

enum vs_index_section {
    VS_IDX_STRINGS,
    VS_IDX_NAMES,
    VS_IDX_GLOBS,
    VS_IDX_PATHS,
    VS_IDX_TOOLS,
    VS_IDX_REFS,
    VS_IDX_INTERP,
    VS_IDX_GRANTED,
    VS_IDX_NSECT
};

struct vs_index_sect {
    uint32_t offset, count;
};

struct vs_index_header {
    char magic[8];
    uint32_t version;
    uint32_t total_size;
    uint64_t generation;
    uint32_t flags; /* VS_INDEX_F_*; an unknown bit does not validate */
    uint32_t n_sections;
    struct vs_index_sect sect[VS_IDX_NSECT];
};

struct vs_index_slot {
    uint32_t hash; /* vs_index_hash of the string */
    uint32_t str;  /* offset in STRINGS; 0 = empty slot */
};

/* A pattern with at least one '*'. prefix/suffix: the literal bytes before
 * the first and after the last '*', checked first (one memcmp each). */
struct vs_index_glob {
    uint32_t str;
    uint16_t len, prefix, suffix, reserved;
};

/* vaultd can read a non-dumpable peer's /proc files (it has CAP_SYS_PTRACE
 * and CAP_DAC_READ_SEARCH, or is root): a tool may make itself non-dumpable
 * first and ask GRANTS with ONE_STEP, getting its values in one round trip.
 * Without it (vaultd runs as the agent's own user) GRANTS and CONFIRM stay
 * two steps, the peer going non-dumpable in between. */
#define VS_INDEX_F_ONE_STEP 0x1u
/* vaultd renders a tool's files in the round of its grant when the request
 * that grants says WITH_FILES: the shim sends no RENDER_FILE of its own. */
#define VS_INDEX_F_WITH_FILES 0x2u
#define VS_INDEX_FLAGS 0x3u

#define VS_INDEX_TOOL_INTERPRETER 0x1u /* has a script: matches only with it */
#define VS_INDEX_TOOL_MEDIATED 0x2u    /* runs through vault-exec */
#define VS_INDEX_TOOL_APPROVE 0x4u     /* needs a human approval */
#define VS_INDEX_TOOL_MASK 0x8u        /* output masked */
#define VS_INDEX_TOOL_FLAGS 0xfu

struct vs_index_tool {
    uint64_t exe_dev, exe_ino;
    uint64_t script_dev, script_ino; /* 0/0 for a plain tool */
    uint32_t flags;
    uint32_t name;                   /* the policy's tool name (string offset) */
    uint32_t env_first, env_count;   /* into REFS */
    uint32_t file_first, file_count; /* into REFS */
};

struct vs_index_devino {
    uint64_t dev, ino;
};

/* A validated index, in memory the caller owns (the mapping or a buffer).
 * Filled by vs_index_map or vs_index_from_memory; read-only afterwards, so
 * any number of threads may look up at once. */
struct vs_index {
    const uint8_t *base;
    size_t len;
    bool mapped;             /* base came from mmap: vs_index_unmap unmaps it */
    bool builtins_in_names;  /* NAMES holds every built-in name: skip the list */
    bool builtins_first;     /* ...confirmed where the writer puts them, in one compare */
    uint64_t generation;
    uint32_t flags; /* VS_INDEX_F_* */
    const char *strings;
    uint32_t strings_len;
    const struct vs_index_slot *names, *paths, *granted;
    uint32_t n_names, n_paths, n_granted; /* slots */
    const struct vs_index_glob *globs;
    uint32_t n_globs;
    const struct vs_index_tool *tools;
    uint32_t n_tools;
    const uint32_t *refs;
    uint32_t n_refs;
    const struct vs_index_devino *interp;
    uint32_t n_interp;
    /* bit (len & 63) set when some entry has that length: most misses stop
     * here without hashing. All ones when the table is large. */
    uint64_t names_len_mask, paths_len_mask, granted_len_mask;
};

/* Opens path (O_RDONLY|O_CLOEXEC|O_NOFOLLOW; a symlink is VS_EPERM), checks
 * it is a regular file not writable by group or other (VS_EPERM), at most
 * VS_INDEX_MAX_BYTES (VS_ETOOBIG), maps it read-only, closes the fd and
 * validates (VS_ECORRUPT). VS_ENOENT when missing, VS_EIO otherwise. On
 * failure idx is zeroed and nothing stays mapped. */
int vs_index_map(const char *path, struct vs_index *idx);

/* The same, but a file of at most cap bytes is read into buf (8-byte
 * aligned, e.g. a static array in the shim) instead of mapped: a pread
 * costs a fraction of mmap's set-up and TLB work (measured in
 * test_index). A larger file is mapped. buf must outlive idx. */
int vs_index_load(const char *path, void *buf, size_t cap, struct vs_index *idx);

/* Validates data and fills idx to read it in place (data must outlive idx,
 * be 8-byte aligned and stay unchanged). 0 or VS_ECORRUPT/VS_ETOOBIG. */
int vs_index_from_memory(const void *data, size_t len, struct vs_index *idx);

/* Structural validation only; see rule 3. 0 or VS_ECORRUPT/VS_ETOOBIG. */
int vs_index_validate(const void *data, size_t len);

/* Unmaps a mapped index; zeroes idx. NULL and zeroed idx are fine. */
void vs_index_unmap(struct vs_index *idx);

/* name[0..len) is protected: in NAMES, matched by a GLOB, or on the built-in
 * list. idx may be NULL (no index: the built-in list only). name need not
 * be NUL-terminated. */
bool vs_index_env_protected(const struct vs_index *idx, const char *name, size_t len);
/* The same for an environ entry "NAME=value" (no '=': the whole entry). */
bool vs_index_entry_protected(const struct vs_index *idx, const char *entry);
/* Some available tool may be granted name[0..len). */
bool vs_index_env_granted_anywhere(const struct vs_index *idx, const char *name, size_t len);
/* abs_path is a managed credential file (exact, canonical match). */
bool vs_index_path_managed(const struct vs_index *idx, const char *abs_path);
bool vs_index_path_managed_n(const struct vs_index *idx, const char *path, size_t len);

/* The tool for an executable (and script, when the process runs one): an
 * interpreter tool matches only with its script and wins over a plain tool
 * on the same executable. NULL when none. */
const struct vs_index_tool *vs_index_find_tool(const struct vs_index *idx, uint64_t dev,
                                               uint64_t ino, bool has_script,
                                               uint64_t script_dev, uint64_t script_ino);
/* The executable runs some tool's script: the shim must look at argv[1]. */
bool vs_index_is_interpreter(const struct vs_index *idx, uint64_t dev, uint64_t ino);

/* A tool's strings; NULL when i is out of range. */
const char *vs_index_tool_name(const struct vs_index *idx, const struct vs_index_tool *t);
const char *vs_index_tool_env(const struct vs_index *idx, const struct vs_index_tool *t, size_t i);
const char *vs_index_tool_file(const struct vs_index *idx, const struct vs_index_tool *t, size_t i);

/* The hash of every table (the writer uses it too): word-at-a-time
 * multiplicative, see index.c. Part of the format: changing it changes
 * VS_INDEX_VERSION. */
uint32_t vs_index_hash(const char *s, size_t len);

/* The built-in list of well-known credential variables (see index.c for
 * the choice), sorted: protected even when no index is published. */
size_t vs_index_builtin_count(void);
const char *vs_index_builtin_name(size_t i);
bool vs_index_builtin_protected(const char *name, size_t len);

#endif
