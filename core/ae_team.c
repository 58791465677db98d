/*
 * ae_team.c - a trainer's worker threads: start a job on all, wait for all.
 *
 * Owns thread creation/join and the two synchronisation points of a
 * parallel section.  Does not own any maths.
 *
 * Design: a job is published by bumping an atomic generation; workers spin
 * briefly on it (a batch takes milliseconds, and the next one usually starts
 * within microseconds) and then sleep on a condition variable, so an idle
 * or oversubscribed trainer costs no CPU.  Completion is an atomic count the
 * caller waits on the same way.  The barrier inside a job is a
 * sense-reversing counter with the same spin-then-sleep policy.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "ae_team.h"

#define SPIN_LIMIT 2000 /* ~30 us of pause: covers chunk imbalance on an idle machine */

struct ae_team {
    int n;
    pthread_t *threads;
    int n_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* workers wait here for a new generation */
    pthread_cond_t done_cv;   /* the caller (and barrier waiters) wait here */
    atomic_uint generation;
    atomic_int n_done;
    atomic_bool quit;
    ae_team_fn fn;
    void *arg;
    /* barrier */
    atomic_int bar_count;
    atomic_uint bar_phase;
};

struct worker_arg {
    struct ae_team *t;
    int ith;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Wait until *word != old, spinning first, then sleeping on cv. */
static void wait_change(struct ae_team *t, atomic_uint *word, unsigned old, pthread_cond_t *cv)
{
    for (int i = 0; i < SPIN_LIMIT; i++) {
        if (atomic_load_explicit(word, memory_order_acquire) != old) return;
        cpu_relax();
    }
    pthread_mutex_lock(&t->lock);
    while (atomic_load_explicit(word, memory_order_acquire) == old) pthread_cond_wait(cv, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

static void *worker_main(void *p)
{
    struct worker_arg *wa = p;
    struct ae_team *t = wa->t;
    int ith = wa->ith;
    ae_free(wa);
    unsigned seen = 0;
    for (;;) {
        wait_change(t, &t->generation, seen, &t->wake);
        seen = atomic_load_explicit(&t->generation, memory_order_acquire);
        if (atomic_load(&t->quit)) break;
        t->fn(t->arg, ith, t->n);
        if (atomic_fetch_add_explicit(&t->n_done, 1, memory_order_acq_rel) + 1 == t->n - 1) {
            pthread_mutex_lock(&t->lock);
            pthread_cond_broadcast(&t->done_cv);
            pthread_mutex_unlock(&t->lock);
        }
    }
    return NULL;
}

enum ae_status ae_team_new(int n, struct ae_team **out, struct ae_err *err)
{
    struct ae_team *t = NULL;
    enum ae_status st = AE_OK;
    *out = NULL;
    if (n < 1) return ae_err_set(err, AE_ERR_ARG, "threads must be >= 1, got %d", n);
    t = ae_calloc(1, sizeof *t);
    if (!t) return ae_err_set(err, AE_ERR_NOMEM, "out of memory allocating a thread team");
    t->n = n;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    pthread_cond_init(&t->done_cv, NULL);
    atomic_init(&t->generation, 0);
    atomic_init(&t->n_done, 0);
    atomic_init(&t->quit, false);
    atomic_init(&t->bar_count, 0);
    atomic_init(&t->bar_phase, 0);
    if (n > 1) {
        t->threads = ae_calloc((size_t)n - 1, sizeof *t->threads);
        if (!t->threads) {
            st = ae_err_set(err, AE_ERR_NOMEM, "out of memory allocating %d threads", n - 1);
            goto fail;
        }
    }
    for (int i = 1; i < n; i++) {
        struct worker_arg *wa = ae_malloc(sizeof *wa);
        if (!wa) {
            st = ae_err_set(err, AE_ERR_NOMEM, "out of memory starting worker thread %d", i);
            goto fail;
        }
        /* The worker frees wa when it starts. */
        wa->t = t;
        wa->ith = i;
        int rc = pthread_create(&t->threads[i - 1], NULL, worker_main, wa);
        if (rc != 0) {
            ae_free(wa);
            st = ae_err_set(err, AE_ERR_NOMEM, "cannot start worker thread %d of %d", i, n);
            goto fail;
        }
        t->n_started++;
    }
    *out = t;
    return AE_OK;
fail:
    ae_team_free(t);
    return st;
}

void ae_team_free(struct ae_team *t)
{
    if (!t) return;
    if (t->n_started) {
        pthread_mutex_lock(&t->lock);
        atomic_store(&t->quit, true);
        atomic_fetch_add(&t->generation, 1);
        pthread_cond_broadcast(&t->wake);
        pthread_mutex_unlock(&t->lock);
        for (int i = 0; i < t->n_started; i++) pthread_join(t->threads[i], NULL);
    }
    pthread_cond_destroy(&t->wake);
    pthread_cond_destroy(&t->done_cv);
    pthread_mutex_destroy(&t->lock);
    ae_free(t->threads);
    ae_free(t);
}

int ae_team_size(const struct ae_team *t) { return t ? t->n : 1; }

void ae_team_run(struct ae_team *t, ae_team_fn fn, void *arg)
{
    if (t->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    t->fn = fn;
    t->arg = arg;
    atomic_store_explicit(&t->n_done, 0, memory_order_relaxed);
    pthread_mutex_lock(&t->lock);
    atomic_fetch_add_explicit(&t->generation, 1, memory_order_release);
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->lock);
    fn(arg, 0, t->n);
    for (int i = 0; i < SPIN_LIMIT; i++) {
        if (atomic_load_explicit(&t->n_done, memory_order_acquire) == t->n - 1) return;
        cpu_relax();
    }
    pthread_mutex_lock(&t->lock);
    while (atomic_load_explicit(&t->n_done, memory_order_acquire) != t->n - 1)
        pthread_cond_wait(&t->done_cv, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

void ae_team_barrier(struct ae_team *t)
{
    if (t->n == 1) return;
    unsigned phase = atomic_load_explicit(&t->bar_phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&t->bar_count, 1, memory_order_acq_rel) + 1 == t->n) {
        atomic_store_explicit(&t->bar_count, 0, memory_order_relaxed);
        pthread_mutex_lock(&t->lock);
        atomic_fetch_add_explicit(&t->bar_phase, 1, memory_order_release);
        pthread_cond_broadcast(&t->done_cv);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    wait_change(t, &t->bar_phase, phase, &t->done_cv);
}
