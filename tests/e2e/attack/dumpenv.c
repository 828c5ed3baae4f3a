/* The agent's own preload library: at load it writes its process's whole
 * environment (and a getenv of the granted names) to stderr. */
#include <stdio.h>
#include <stdlib.h>
extern char **environ;
__attribute__((constructor)) static void dump(void)
{
    for (char **e = environ; e && *e; e++)
        fprintf(stderr, "dumpenv: %s\n", *e);
    const char *n[] = {"API_TOKEN", "GH_TOKEN", "NPM_TOKEN", "AWS_SECRET_ACCESS_KEY"};
    for (unsigned i = 0; i < sizeof n / sizeof *n; i++)
        fprintf(stderr, "dumpenv getenv %s=%s\n", n[i], getenv(n[i]) ? getenv(n[i]) : "(null)");
}
