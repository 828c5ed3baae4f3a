/* A tool the shim cannot enter when built -static: prints the FNV-1a 64
 * hash of getenv(argv[1]) ("none" when unset), never the value; exits
 * with argv[2] when given. Built by tests/integration/exec_mediated.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *v = argc > 1 ? getenv(argv[1]) : NULL;
    if (v == NULL) {
        puts("none");
    } else {
        uint64_t h = 1469598103934665603ull;
        for (const unsigned char *p = (const unsigned char *)v; *p != 0; p++)
            h = (h ^ *p) * 1099511628211ull;
        printf("fnv %016llx\n", (unsigned long long)h);
    }
    return argc > 2 ? atoi(argv[2]) : 0;
}
