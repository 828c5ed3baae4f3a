/* Seams between the policy loader's files (policy.c, policy_tools.c,
 * policy_index.c). Not for callers: they use policy.h. */
#ifndef VS_POLICY_INTERNAL_H
#define VS_POLICY_INTERNAL_H

#include "policy.h"

struct config_setting_t;
struct vs_pol_ld {
    const char *src;
    const struct vs_policy_opts *opts;
    char *home; /* looked up on first use */
    struct vs_policy *p;
};
int vs_pol_err(const struct vs_pol_ld *c, const struct config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vs_pol_warn(struct vs_pol_ld *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vs_pol_detail(int rc, char *buf, size_t cap);
const char *vs_pol_key(const struct config_setting_t *s);
int vs_pol_check_keys(const struct vs_pol_ld *c, const struct config_setting_t *g, const char *what,
                      const char *const *keys, size_t nkeys);
int vs_pol_string(const struct vs_pol_ld *c, const struct config_setting_t *s, const char **out);
/* An integer setting in lo..hi, or "FILE:LINE: KEY must be ...". */
int vs_pol_int(const struct vs_pol_ld *c, const struct config_setting_t *s, long long lo, long long hi, int *out);
int vs_pol_bool(const struct vs_pol_ld *c, const struct config_setting_t *s, bool *out);
int vs_pol_string_list(const struct vs_pol_ld *c, const struct config_setting_t *s);
int vs_pol_path(struct vs_pol_ld *c, const struct config_setting_t *s, const char *in, char **out);
int vs_pol_check_secret(struct vs_pol_ld *c, const struct config_setting_t *s, const char *what,
                        const char *name);
int vs_pol_hide_files(struct vs_pol_ld *c, const struct config_setting_t *s, struct vs_policy_tool *t);
int vs_pol_tool(struct vs_pol_ld *c, const struct config_setting_t *g, struct vs_policy_tool *t);
int vs_policy_build_file_index(struct vs_policy *p, const char *src);
int vs_policy_build_tool_index(struct vs_policy *p, const char *src);
int vs_policy_build_protect(struct vs_policy *p);
int vs_pol_lifecycle(struct vs_pol_ld *c, const struct config_setting_t *root);
/* policy_audit.c: the top-level audit_sync and audit_sync_ms. */
int vs_pol_audit_sync(struct vs_pol_ld *c, const struct config_setting_t *root);

#endif
