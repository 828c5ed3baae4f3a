#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define VS_DETAIL_MAX 512

static _Thread_local char detail[VS_DETAIL_MAX];
static _Thread_local int detail_code;

const char *vs_strerror(int code)
{
    switch (code) {
    case VS_OK: return "success";
    case VS_EINVAL: return "invalid argument";
    case VS_ENOMEM: return "out of memory";
    case VS_EIO: return "input/output error";
    case VS_ENOENT: return "not found";
    case VS_EEXIST: return "already exists";
    case VS_EPERM: return "not permitted";
    case VS_ECRYPTO: return "authentication failed (wrong key or tampered data)";
    case VS_ECORRUPT: return "corrupt file";
    case VS_EROLLBACK: return "store is older than the audit log records (rollback)";
    case VS_ETOOBIG: return "too large";
    case VS_ENOSPC: return "no space left on device";
    case VS_EAUDIT: return "audit log cannot be written";
    case VS_ELOCKED: return "vault is locked";
    case VS_EPROTO: return "protocol error";
    case VS_EPOLICY: return "refused by policy";
    case VS_EDENIED: return "caller refused";
    default: return "unknown error";
    }
}

/* Formats into a local buffer first: callers may pass vs_last_error() as an
 * argument to wrap the previous detail, which lives in `detail` itself. */
__attribute__((format(printf, 2, 0))) static void record(int code, const char *fmt, va_list ap)
{
    char line[VS_DETAIL_MAX];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        line[0] = '\0';
    memcpy(detail, line, sizeof detail);
    detail_code = code;
}

int vs_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(code, fmt, ap);
    va_end(ap);
    return code;
}

int vs_fail_errno(int code, const char *fmt, ...)
{
    int saved = errno;
    if (saved == ENOSPC || saved == EDQUOT)
        code = VS_ENOSPC;
    else if (saved == ENOMEM)
        code = VS_ENOMEM;
    va_list ap;
    va_start(ap, fmt);
    record(code, fmt, ap);
    va_end(ap);
    size_t used = strnlen(detail, sizeof detail);
    if (used + 1 < sizeof detail)
        (void)snprintf(detail + used, sizeof detail - used, ": %s", strerror(saved));
    errno = saved;
    return code;
}

const char *vs_last_error(int code)
{
    if (detail[0] != '\0' && detail_code == code)
        return detail;
    return vs_strerror(code);
}

void vs_clear_error(void)
{
    detail[0] = '\0';
    detail_code = 0;
}
