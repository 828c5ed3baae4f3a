/* vs_once: see once.h. States: 0 idle, 1 running, 2 running with
 * waiters, 3 done. */
#include "once.h"

#include "rawsys.h"

#include <linux/futex.h>
#include <stddef.h>

#define ONCE_IDLE 0
#define ONCE_RUNNING 1
#define ONCE_WAITED 2
#define ONCE_DONE 3

void vs_once(atomic_int *state, void (*fn)(void))
{
    int s = atomic_load_explicit(state, memory_order_acquire);
    if (s == ONCE_DONE)
        return;
    s = ONCE_IDLE;
    if (atomic_compare_exchange_strong(state, &s, ONCE_RUNNING)) {
        fn();
        if (atomic_exchange(state, ONCE_DONE) == ONCE_WAITED)
            (void)vs_sys(SYS_futex, state, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL);
        return;
    }
    int errno_saved = errno;
    while ((s = atomic_load(state)) != ONCE_DONE) {
        if (s == ONCE_RUNNING && !atomic_compare_exchange_strong(state, &s, ONCE_WAITED))
            continue; /* it changed under us: look again */
        /* Returns at once (EAGAIN) if the state is no longer WAITED. */
        (void)vs_sys(SYS_futex, state, FUTEX_WAIT_PRIVATE, ONCE_WAITED, NULL);
    }
    errno = errno_saved;
}
