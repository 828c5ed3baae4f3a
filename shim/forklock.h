/* A mutex that fork() handles take only once it has been used.
 *
 * A lock held by another thread at fork() stays locked for good in the
 * child, so the shim's locks are held across fork (pthread_atfork) and
 * released on both sides. But releasing writes the lock's page, and a page
 * written after fork is a copy-on-write fault in the parent and again in
 * the child before it execs: about 10 µs each for every command a shell
 * runs, for locks (system, popen, a tool's render) that most processes
 * never touch. So a lock records its first use, before its first lock; a
 * fork before that takes nothing and writes nothing. A fork racing that
 * first use may leave the child the lock as the other thread held it: the
 * child then starts it afresh (its data is as that thread left it, as it
 * would be for any fork racing a thread that holds no lock).
 *
 * Handlers: vs_forklock_prefork in the prepare handler (in lock order),
 * vs_forklock_parent and vs_forklock_child in the other two. */
#ifndef VS_SHIM_FORKLOCK_H
#define VS_SHIM_FORKLOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct vs_forklock {
    pthread_mutex_t mutex;
    atomic_bool used;       /* set for good before the first lock */
    bool held_for_fork;     /* the prepare handler took it (the forking thread's own) */
};

#define VS_FORKLOCK_INIT {PTHREAD_MUTEX_INITIALIZER, false, false}

void vs_forklock_lock(struct vs_forklock *l);
void vs_forklock_unlock(struct vs_forklock *l);

void vs_forklock_prefork(struct vs_forklock *l);
void vs_forklock_parent(struct vs_forklock *l);
void vs_forklock_child(struct vs_forklock *l);

#endif
