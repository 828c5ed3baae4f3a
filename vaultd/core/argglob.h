/* Argument rules: globs matched on a tool's argument vector as the kernel
 * reports it (/proc/PID/cmdline): argv[1..] for a plain tool, the arguments
 * after the script for an interpreter.
 *
 * Pattern syntax (one pattern = one rule):
 *  - tokens separated by one or more spaces; token i matches argument i;
 *  - inside a token: '*' any run of bytes within that one argument (never
 *    across an argument boundary; "**" inside a token is the same as "*"),
 *    '?' one byte, "[abc]" "[a-z]" "[!a-z]" a byte class (']' first in the
 *    class is literal; an unclosed '[' is an error), '\' makes the next byte
 *    literal (so "\ " is a space inside an argument, "\*" a star, and "\"
 *    followed by nothing is an error);
 *  - a token that is exactly "**" matches all remaining arguments (zero or
 *    more); it is allowed only as the final token;
 *  - the empty pattern "" matches an empty argument list only; "*" matches
 *    any one argument, the empty argument included.
 * Matching is iterative with one backtrack point per token: no recursion,
 * O(len(token) * len(argument)) at worst. */
#ifndef VS_ARGGLOB_H
#define VS_ARGGLOB_H

#include <stdbool.h>
#include <stddef.h>

#define VS_ARGGLOB_MAX_PATTERN 4096

struct vs_argglob;

/* Compiles pattern; on error returns VS_EINVAL (detail: "column N: why") or
 * VS_ENOMEM and leaves *out NULL. */
int vs_argglob_compile(const char *pattern, struct vs_argglob **out);
bool vs_argglob_match(const struct vs_argglob *g, int argc, char *const argv[]);
void vs_argglob_free(struct vs_argglob *g);
/* The source text, and the prebuilt reason "deny_args \"PATTERN\"". */
const char *vs_argglob_pattern(const struct vs_argglob *g);
const char *vs_argglob_deny_reason(const struct vs_argglob *g);

/* A rule list (allow_args, deny_args, approve_args). present is true when
 * the key was written, even as an empty list. */
struct vs_arglist {
    struct vs_argglob **v;
    size_t n;
    bool present;
};

/* Compiles pattern and appends it (sets present). Errors as compile. */
int vs_arglist_add(struct vs_arglist *l, const char *pattern);
void vs_arglist_free(struct vs_arglist *l);

/* The decision for one tool: a deny match wins; when allow is present (even
 * as an empty list, which then refuses everything) the arguments must match
 * one of its patterns. Either list may be NULL. Returns 0 when allowed
 * (*why = NULL) or VS_EPOLICY with *why (static or owned by a glob: do not
 * free) naming the rule: "deny_args \"auth token **\"" or
 * "no allow_args pattern matches"; vs_fail records the same text. */
int vs_args_decide(const struct vs_arglist *allow, const struct vs_arglist *deny,
                   int argc, char *const argv[], const char **why);

#endif
