#include "names.h"

#include <string.h>

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool vs_secret_name_valid(const char *name)
{
    if (name == NULL || !is_alnum(name[0]))
        return false;
    size_t len = strnlen(name, VS_SECRET_NAME_MAX + 1);
    if (len > VS_SECRET_NAME_MAX)
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = name[i];
        if (!is_alnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

bool vs_env_name_valid(const char *name)
{
    if (name == NULL || !(name[0] == '_' || (is_alnum(name[0]) && !(name[0] >= '0' && name[0] <= '9'))))
        return false;
    size_t len = strnlen(name, 256);
    if (len > 255)
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_alnum(name[i]) && name[i] != '_')
            return false;
    return true;
}

/* Iterative glob with one backtrack point: linear in practice, no recursion
 * for a hostile pattern to exhaust the stack with. */
bool vs_env_pattern_match(const char *pattern, const char *name)
{
    const char *star = NULL, *resume = NULL;
    while (*name != '\0') {
        if (*pattern == '*') {
            star = pattern++;
            resume = name;
        } else if (*pattern == *name) {
            pattern++;
            name++;
        } else if (star != NULL) {
            pattern = star + 1;
            name = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}
