/* A run-once without pthread_once: no libc call and no system call when
 * nobody waits (pthread_once always ends in a futex wake, and its code is
 * libc pages a short-lived process otherwise never touches). */
#ifndef VS_SHIM_ONCE_H
#define VS_SHIM_ONCE_H

#include <stdatomic.h>

#define VS_ONCE_INIT 0

/* Runs fn once per process; callers that arrive while it runs wait for it
 * (futex). fn must not call vs_once on the same state. A fork while fn
 * runs in another thread would leave the child waiting forever: the
 * shim's fork prepare handler waits for the start-up to finish first. */
void vs_once(atomic_int *state, void (*fn)(void));

#endif
