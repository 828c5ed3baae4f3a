/* Locks held across fork only once used; see forklock.h. */
#include "forklock.h"

void vs_forklock_lock(struct vs_forklock *l)
{
    /* seq_cst, before the lock: a prepare handler that reads false is
     * ordered before this store, so before the lock below */
    if (!atomic_load_explicit(&l->used, memory_order_relaxed))
        atomic_store(&l->used, true);
    (void)pthread_mutex_lock(&l->mutex);
}

void vs_forklock_unlock(struct vs_forklock *l)
{
    (void)pthread_mutex_unlock(&l->mutex);
}

void vs_forklock_prefork(struct vs_forklock *l)
{
    if (!atomic_load(&l->used))
        return; /* unused so far: a thread that takes it now is the race vs_forklock_child undoes */
    (void)pthread_mutex_lock(&l->mutex);
    l->held_for_fork = true;
}

void vs_forklock_parent(struct vs_forklock *l)
{
    if (!l->held_for_fork)
        return;
    l->held_for_fork = false;
    (void)pthread_mutex_unlock(&l->mutex);
}

void vs_forklock_child(struct vs_forklock *l)
{
    if (l->held_for_fork) {
        l->held_for_fork = false;
        (void)pthread_mutex_unlock(&l->mutex);
    } else if (atomic_load_explicit(&l->used, memory_order_relaxed)) {
        /* first used while this fork ran: the thread that may hold it
         * does not exist here */
        l->mutex = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    }
}
