/* Times as the audit log writes them (RFC 3339, UTC, milliseconds) and as
 * users type them (--since 2026-11-01, 2026-11-01T10:00:00Z, 90m, 24h, 7d). */
#ifndef VS_TIMEUTIL_H
#define VS_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the epoch, from the real-time clock. */
int64_t vs_now_ms(void);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (25 bytes with the NUL). */
int vs_format_time(int64_t ms, char *out, size_t cap);

/* Parses an absolute time (date, or date and time with optional .mmm and Z)
 * or a duration before now_ms (N followed by s, m, h or d). */
int vs_parse_time(const char *text, int64_t now_ms, int64_t *out_ms);

/* "3d", "5h", "12m", "40s": a short age for listings. */
void vs_format_age(int64_t seconds, char *out, size_t cap);

#endif
