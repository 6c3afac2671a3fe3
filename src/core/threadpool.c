/* threadpool.c — worker threads created once and reused for every parallel op.
 *
 * lmc_threadpool_run publishes (fn, arg) under a new generation number; workers spin
 * briefly on the generation (ops come back to back during decoding, and a futex wake
 * costs more than a short spin), yielding the CPU now and then once the wait is not
 * short, then sleep on a condition variable. The caller runs share 0 itself and waits
 * for the workers the same way: spin, then sleep. */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define SPIN_NS 100000 /* how long to spin before sleeping (0.1 ms) */
/* Oversubscription: with more runnable threads than CPUs (two lmc processes, a test suite
 * run in parallel), the thread being waited for may be queued behind the spinner on the
 * same CPU. Two `lmc bench -t 2` at once on 2 CPUs made 25 tokens/s each instead of ~200
 * with one thread. When the caller's wait for its workers lasts over CONTENDED_NS (alone,
 * it lasts a few microseconds), the next CONTENDED_RUNS runs' waiters yield the CPU now
 * and then after YIELD_NS of spinning: 120-140 tokens/s each. Yielding always cost one
 * process alone ~4 %: a decode's short waits would pay for the system calls. */
#define CONTENDED_NS 50000
#define CONTENDED_RUNS 1000
#define YIELD_NS 2000

typedef struct worker {
    lmc_threadpool *tp;
    int ith;
    pthread_t thread;
} worker;

struct lmc_threadpool {
    int n_threads;
    worker *workers;        /* n_threads - 1 of them (the caller is thread 0) */
    int n_started;

    pthread_mutex_t mu;     /* guards sleeping on cv_work / cv_done          */
    pthread_cond_t cv_work;
    pthread_cond_t cv_done;
    pthread_mutex_t run_mu; /* one run at a time                             */

    uint64_t gen;           /* job generation (atomic)                        */
    int pending;            /* workers still busy with this generation (atomic) */
    int stop;               /* set on free (atomic)                           */
    int contended;          /* runs left whose waits yield early (atomic)     */
    lmc_task_fn fn;
    void *arg;

    void *scratch;
    size_t scratch_cap;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *p) {
    worker *w = p;
    lmc_threadpool *tp = w->tp;
    uint64_t seen = 0;
    for (;;) {
        uint64_t g = __atomic_load_n(&tp->gen, __ATOMIC_ACQUIRE);
        if (g == seen && !__atomic_load_n(&tp->stop, __ATOMIC_ACQUIRE)) {
            uint64_t t0 = now_ns();
            for (int k = 0;; k++) {
                cpu_relax();
                g = __atomic_load_n(&tp->gen, __ATOMIC_ACQUIRE);
                if (g != seen || __atomic_load_n(&tp->stop, __ATOMIC_ACQUIRE)) break;
                if ((k & 63) == 63) {
                    const uint64_t dt = now_ns() - t0;
                    if (dt > SPIN_NS) break;
                    if (dt > YIELD_NS && __atomic_load_n(&tp->contended, __ATOMIC_RELAXED) > 0) sched_yield();
                }
            }
        }
        if (g == seen) {
            pthread_mutex_lock(&tp->mu);
            while ((g = __atomic_load_n(&tp->gen, __ATOMIC_ACQUIRE)) == seen &&
                   !__atomic_load_n(&tp->stop, __ATOMIC_ACQUIRE))
                pthread_cond_wait(&tp->cv_work, &tp->mu);
            pthread_mutex_unlock(&tp->mu);
        }
        if (__atomic_load_n(&tp->stop, __ATOMIC_ACQUIRE)) return NULL;
        seen = g;
        tp->fn(tp->arg, w->ith, tp->n_threads);
        if (__atomic_sub_fetch(&tp->pending, 1, __ATOMIC_ACQ_REL) == 0) {
            pthread_mutex_lock(&tp->mu);
            pthread_cond_signal(&tp->cv_done);
            pthread_mutex_unlock(&tp->mu);
        }
    }
}

lmc_threadpool *lmc_threadpool_init(int n_threads) {
    if (n_threads < 1 || n_threads > 1024)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "threadpool: n_threads %d not in 1..1024",
                                  n_threads);
    lmc_threadpool *tp = calloc(1, sizeof *tp);
    if (!tp) return lmc_set_error_null(LMC_ERR_NOMEM, "threadpool: out of memory");
    tp->n_threads = n_threads;
    pthread_mutex_init(&tp->mu, NULL);
    pthread_mutex_init(&tp->run_mu, NULL);
    pthread_cond_init(&tp->cv_work, NULL);
    pthread_cond_init(&tp->cv_done, NULL);
    if (n_threads > 1) {
        tp->workers = calloc((size_t)n_threads - 1, sizeof *tp->workers);
        if (!tp->workers) {
            lmc_threadpool_free(tp);
            return lmc_set_error_null(LMC_ERR_NOMEM, "threadpool: out of memory");
        }
        for (int i = 0; i < n_threads - 1; i++) {
            tp->workers[i].tp = tp;
            tp->workers[i].ith = i + 1;
            if (pthread_create(&tp->workers[i].thread, NULL, worker_main, &tp->workers[i]) != 0) {
                lmc_threadpool_free(tp);
                return lmc_set_error_null(LMC_ERR_INTERNAL, "threadpool: cannot create thread %d of %d",
                                          i + 1, n_threads);
            }
            tp->n_started++;
        }
    }
    return tp;
}

void lmc_threadpool_free(lmc_threadpool *tp) {
    if (!tp) return;
    pthread_mutex_lock(&tp->mu);
    __atomic_store_n(&tp->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&tp->cv_work);
    pthread_mutex_unlock(&tp->mu);
    for (int i = 0; i < tp->n_started; i++) pthread_join(tp->workers[i].thread, NULL);
    pthread_mutex_destroy(&tp->mu);
    pthread_mutex_destroy(&tp->run_mu);
    pthread_cond_destroy(&tp->cv_work);
    pthread_cond_destroy(&tp->cv_done);
    free(tp->workers);
    free(tp->scratch);
    free(tp);
}

int lmc_threadpool_n_threads(const lmc_threadpool *tp) { return tp ? tp->n_threads : 1; }

int lmc_threadpool_contended(const lmc_threadpool *tp) {
    return tp ? __atomic_load_n(&tp->contended, __ATOMIC_RELAXED) : 0;
}

void lmc_threadpool_run(lmc_threadpool *tp, lmc_task_fn fn, void *arg) {
    if (!tp || tp->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_mutex_lock(&tp->run_mu);
    tp->fn = fn;
    tp->arg = arg;
    __atomic_store_n(&tp->pending, tp->n_threads - 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&tp->mu);
    __atomic_add_fetch(&tp->gen, 1, __ATOMIC_ACQ_REL);
    pthread_cond_broadcast(&tp->cv_work);
    pthread_mutex_unlock(&tp->mu);

    fn(arg, 0, tp->n_threads);

    const uint64_t t0 = now_ns();
    const bool contended = __atomic_load_n(&tp->contended, __ATOMIC_RELAXED) > 0;
    if (contended) __atomic_sub_fetch(&tp->contended, 1, __ATOMIC_RELAXED);
    for (int k = 0; __atomic_load_n(&tp->pending, __ATOMIC_ACQUIRE) != 0; k++) {
        cpu_relax();
        if ((k & 63) == 63) {
            const uint64_t dt = now_ns() - t0;
            if (dt > CONTENDED_NS) __atomic_store_n(&tp->contended, CONTENDED_RUNS, __ATOMIC_RELAXED);
            if (dt > SPIN_NS) break;
            if (dt > YIELD_NS && contended) sched_yield();
        }
    }
    if (__atomic_load_n(&tp->pending, __ATOMIC_ACQUIRE) != 0) {
        __atomic_store_n(&tp->contended, CONTENDED_RUNS, __ATOMIC_RELAXED);
        pthread_mutex_lock(&tp->mu);
        while (__atomic_load_n(&tp->pending, __ATOMIC_ACQUIRE) != 0)
            pthread_cond_wait(&tp->cv_done, &tp->mu);
        pthread_mutex_unlock(&tp->mu);
    }
    pthread_mutex_unlock(&tp->run_mu);
}

void *lmc_threadpool_scratch(lmc_threadpool *tp, size_t bytes) {
    if (bytes <= tp->scratch_cap) return tp->scratch;
    free(tp->scratch);
    size_t cap = (bytes + 63) & ~(size_t)63;
    tp->scratch = aligned_alloc(64, cap);
    tp->scratch_cap = tp->scratch ? cap : 0;
    return tp->scratch;
}
