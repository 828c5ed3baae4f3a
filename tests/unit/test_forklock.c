/* The shim's fork-held locks (shim/forklock.c), driven through the three
 * fork handlers by hand around real forks: an unused lock is neither taken
 * nor written, a used one is held across fork and released on both sides,
 * and a lock first taken by another thread while a fork runs (after the
 * prepare handler looked) is started afresh in the child. shim/ objects
 * are not in the unit-test libraries, so the module is compiled in. */
#include "testutil.h"

#include "../../shim/forklock.c"

#include <errno.h>
#include <sys/wait.h>

/* Forks; the child runs the child handler and exits 0 when it can then
 * take the lock (and, with unwritten, when the handler wrote nothing).
 * The parent runs the parent handler and returns the child's status. */
static int fork_and_check_child(struct vs_forklock *l, bool unwritten)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct vs_forklock before;
        memcpy(&before, l, sizeof before);
        vs_forklock_child(l);
        if (unwritten && memcmp(&before, l, sizeof before) != 0)
            _exit(2);
        alarm(10); /* a lock left held would hang the lock below */
        if (pthread_mutex_trylock(&l->mutex) != 0)
            _exit(3);
        _exit(0);
    }
    vs_forklock_parent(l);
    int status;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    assert_int_equal(w, pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void unused_lock_is_not_written(void **state)
{
    (void)state;
    struct vs_forklock l = VS_FORKLOCK_INIT;
    vs_forklock_prefork(&l);
    assert_false(l.held_for_fork);
    assert_int_equal(fork_and_check_child(&l, true), 0);
    /* and the parent can still take it */
    assert_int_equal(pthread_mutex_trylock(&l.mutex), 0);
    assert_int_equal(pthread_mutex_unlock(&l.mutex), 0);
}

static void used_lock_is_held_across_fork(void **state)
{
    (void)state;
    struct vs_forklock l = VS_FORKLOCK_INIT;
    vs_forklock_lock(&l);
    vs_forklock_unlock(&l);
    vs_forklock_prefork(&l);
    assert_true(l.held_for_fork);
    assert_int_equal(pthread_mutex_trylock(&l.mutex), EBUSY);
    assert_int_equal(fork_and_check_child(&l, false), 0);
    assert_false(l.held_for_fork);
    assert_int_equal(pthread_mutex_trylock(&l.mutex), 0); /* released in the parent */
    assert_int_equal(pthread_mutex_unlock(&l.mutex), 0);
}

struct holder {
    struct vs_forklock *l;
    pthread_barrier_t taken, release;
};

static void *hold(void *arg)
{
    struct holder *h = arg;
    vs_forklock_lock(h->l);
    (void)pthread_barrier_wait(&h->taken);
    (void)pthread_barrier_wait(&h->release);
    vs_forklock_unlock(h->l);
    return NULL;
}

/* The race: the prepare handler saw the lock unused, then another thread
 * took it for the first time before the fork. */
static void first_use_racing_fork_is_undone_in_child(void **state)
{
    (void)state;
    struct vs_forklock l = VS_FORKLOCK_INIT;
    vs_forklock_prefork(&l);
    assert_false(l.held_for_fork);
    struct holder h = {.l = &l};
    assert_int_equal(pthread_barrier_init(&h.taken, NULL, 2), 0);
    assert_int_equal(pthread_barrier_init(&h.release, NULL, 2), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold, &h), 0);
    (void)pthread_barrier_wait(&h.taken);
    assert_int_equal(fork_and_check_child(&l, false), 0);
    /* the parent's lock is still the other thread's */
    assert_int_equal(pthread_mutex_trylock(&l.mutex), EBUSY);
    (void)pthread_barrier_wait(&h.release);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(pthread_mutex_trylock(&l.mutex), 0);
    assert_int_equal(pthread_mutex_unlock(&l.mutex), 0);
    pthread_barrier_destroy(&h.taken);
    pthread_barrier_destroy(&h.release);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unused_lock_is_not_written),
        cmocka_unit_test(used_lock_is_held_across_fork),
        cmocka_unit_test(first_use_racing_fork_is_undone_in_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
