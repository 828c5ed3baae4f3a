#include "timeutil.h"

#include "error.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t vs_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vs_format_time(int64_t ms, char *out, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        return vs_fail(VS_EINVAL, "time out of range");
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    if (n < 0 || (size_t)n >= cap)
        return vs_fail(VS_ETOOBIG, "time buffer too small");
    return 0;
}

static int parse_duration(const char *text, int64_t now_ms, int64_t *out_ms)
{
    int64_t amount = 0;
    const char *p = text;
    if (*p < '0' || *p > '9')
        return VS_EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (amount > 100000000)
            return VS_EINVAL;
        amount = amount * 10 + (*p - '0');
    }
    int64_t unit;
    switch (*p) {
    case 's': unit = 1000; break;
    case 'm': unit = 60 * 1000; break;
    case 'h': unit = 3600 * 1000; break;
    case 'd': unit = 86400 * 1000; break;
    default: return VS_EINVAL;
    }
    if (p[1] != '\0')
        return VS_EINVAL;
    *out_ms = now_ms - amount * unit;
    return 0;
}

int vs_parse_time(const char *text, int64_t now_ms, int64_t *out_ms)
{
    if (parse_duration(text, now_ms, out_ms) == 0)
        return 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int millis = 0, used = 0;
    int year, mon, day, hour = 0, min = 0, sec = 0;
    size_t len = strlen(text);
    if (sscanf(text, "%4d-%2d-%2d%n", &year, &mon, &day, &used) != 3 || used != 10)
        return vs_fail(VS_EINVAL, "%s: not a time (use 2026-11-01, 2026-11-01T10:00:00Z or 24h, 7d)", text);
    const char *rest = text + 10;
    if (*rest == 'T' || *rest == ' ') {
        if (sscanf(rest + 1, "%2d:%2d:%2d%n", &hour, &min, &sec, &used) != 3 || used != 8)
            return vs_fail(VS_EINVAL, "%s: bad time of day", text);
        rest += 9;
        if (*rest == '.') {
            if (sscanf(rest + 1, "%3d%n", &millis, &used) != 1 || used != 3)
                return vs_fail(VS_EINVAL, "%s: bad milliseconds", text);
            rest += 4;
        }
        if (*rest == 'Z')
            rest++;
    }
    if (*rest != '\0' || len > 24 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
        sec > 60)
        return vs_fail(VS_EINVAL, "%s: not a time (use 2026-11-01, 2026-11-01T10:00:00Z or 24h, 7d)", text);
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return vs_fail(VS_EINVAL, "%s: time out of range", text);
    *out_ms = (int64_t)t * 1000 + millis;
    return 0;
}

void vs_format_age(int64_t seconds, char *out, size_t cap)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds >= 86400)
        (void)snprintf(out, cap, "%lldd", (long long)(seconds / 86400));
    else if (seconds >= 3600)
        (void)snprintf(out, cap, "%lldh", (long long)(seconds / 3600));
    else if (seconds >= 60)
        (void)snprintf(out, cap, "%lldm", (long long)(seconds / 60));
    else
        (void)snprintf(out, cap, "%llds", (long long)seconds);
}
