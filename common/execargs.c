/* vault-exec's command-line grammar; see execargs.h. */
#include "execargs.h"

#include <string.h>

long vs_execargs_target(size_t argc, char *const argv[], const char **agent)
{
    size_t i = 1;
    if (agent != NULL)
        *agent = NULL;
    if (argv == NULL || argc < 3)
        return -1;
    if (strcmp(argv[i], "--agent") == 0) {
        if (argc < 5 || argv[i + 1][0] == '\0')
            return -1;
        if (agent != NULL)
            *agent = argv[i + 1];
        i += 2;
    }
    if (strcmp(argv[i], "--") != 0 || i + 1 >= argc || argv[i + 1][0] == '\0')
        return -1;
    return (long)(i + 1);
}
