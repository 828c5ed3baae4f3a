/* Error convention for every vaultshim module.
 *
 * Functions return 0 (or a count) on success and a negative VS_E* code on
 * failure. A module that knows more than the code says (which file, which
 * line, which name) records one line of detail with vs_fail(); the program's
 * edge (vaultctl's main, vaultd's request handler) prints vs_last_error().
 * Nothing deep inside a module prints or exits.
 *
 * The detail buffer is thread-local. It must never hold a secret value:
 * callers pass names, paths and numbers only. */
#ifndef VS_ERROR_H
#define VS_ERROR_H

enum vs_err {
    VS_OK = 0,
    VS_EINVAL = -1,     /* malformed input: a name, an option, a field */
    VS_ENOMEM = -2,
    VS_EIO = -3,        /* a system call failed; detail names it and errno */
    VS_ENOENT = -4,     /* no such secret, file or entry */
    VS_EEXIST = -5,
    VS_EPERM = -6,      /* unsafe owner or mode, or not allowed */
    VS_ECRYPTO = -7,    /* authentication failed: wrong key or tampered data */
    VS_ECORRUPT = -8,   /* structurally broken file */
    VS_EROLLBACK = -9,  /* store older than the audit log records */
    VS_ETOOBIG = -10,   /* a length over its cap */
    VS_ENOSPC = -11,    /* disk full */
    VS_EAUDIT = -12,    /* the audit log cannot be written: fail closed */
    VS_ELOCKED = -13,   /* the vault is locked */
    VS_EPROTO = -14,    /* malformed or unknown wire message */
    VS_EPOLICY = -15,   /* policy refused the request, or the policy is bad */
    VS_EDENIED = -16,   /* a peer check refused the caller */
};

/* A fixed phrase for each code; never NULL. */
const char *vs_strerror(int code);

/* Records a printf-style detail line for the calling thread and returns
 * code, so a module can write `return vs_fail(VS_ENOENT, "%s: no such
 * secret", name);`. The detail is truncated, never overflowed. */
int vs_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like vs_fail, appending ": strerror(errno)" and mapping ENOSPC/EDQUOT to
 * VS_ENOSPC and ENOMEM to VS_ENOMEM. */
int vs_fail_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The detail recorded by the last vs_fail on this thread, or the phrase for
 * code when there is none (or it belongs to another code). */
const char *vs_last_error(int code);

/* Forgets the detail, so a later vs_last_error shows only new failures. */
void vs_clear_error(void);

#endif
