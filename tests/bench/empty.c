/* The floor of any LD_PRELOAD shim: a preloaded library that links libc and
 * does nothing (make bench compares the shim against it). */
#include <unistd.h>

int vsbench_empty(void);
int vsbench_empty(void)
{
    return (int)getpid();
}
