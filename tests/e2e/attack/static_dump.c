/* The agent's own static binary (no loader, so no preload): prints its
 * environment, its parent's /proc environ, and any file named on argv. */
#include <stdio.h>
#include <stdlib.h>
extern char **environ;
static void cat(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return; }
    int c;
    while ((c = fgetc(f)) != EOF)
        putchar(c == 0 ? '\n' : c);
    fclose(f);
}
int main(int argc, char **argv)
{
    for (char **e = environ; *e; e++)
        printf("env: %s\n", *e);
    const char *t = getenv("API_TOKEN");
    printf("API_TOKEN=%s\n", t ? t : "(null)");
    for (int i = 1; i < argc; i++)
        cat(argv[i]);
    return 0;
}
