/* test_threadpool.c — the thread pool's waits when threads are late or the CPUs are
 * oversubscribed: every share of every run executes exactly once and its writes are
 * seen by the caller when lmc_threadpool_run returns, on the spinning, yielding and
 * sleeping paths alike; a run whose caller waited long for a worker switches the pool
 * to its contended waits (threadpool.c). Basic runs: test_kernels_matmul. */
#include "test_util.h"
#include "lmc.h"
#include "threadpool.h"

#include <pthread.h>
#include <time.h>

typedef struct {
    int run;          /* the run being executed                 */
    int seen[8];      /* each share writes the run it executed  */
    int hits[8];      /* and counts its calls                   */
    int sleep_share;  /* this share sleeps sleep_us (-1: none)  */
    int sleep_us;
} job;

static void sleep_us(int us) {
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};
    nanosleep(&ts, NULL);
}

static void task(void *p, int ith, int nth) {
    job *j = p;
    (void)nth;
    if (ith == j->sleep_share) sleep_us(j->sleep_us);
    j->seen[ith] = j->run; /* plain stores: the pool's hand-back must publish them */
    j->hits[ith]++;
}

/* runs on one pool, each checked as it returns; the number of failures */
static int drive(lmc_threadpool *tp, int n_threads, int runs, int sleep_every) {
    job j = {.sleep_share = -1};
    int bad = 0;
    for (int r = 1; r <= runs; r++) {
        j.run = r;
        j.sleep_share = sleep_every && r % sleep_every == 0 ? r % n_threads : -1;
        j.sleep_us = 300;
        lmc_threadpool_run(tp, task, &j);
        for (int i = 0; i < n_threads; i++) bad += j.seen[i] != r;
    }
    for (int i = 0; i < n_threads; i++) bad += j.hits[i] != runs;
    return bad;
}

static void test_contended_switch(void) {
    lmc_threadpool *tp = lmc_threadpool_init(2);
    CHECK(tp != NULL);
    if (!tp) return;
    job j = {.run = 1, .sleep_share = -1};
    lmc_threadpool_run(tp, task, &j);
    /* a worker 2 ms late: the caller waits past the spin and sleeps */
    j.run = 2, j.sleep_share = 1, j.sleep_us = 2000;
    lmc_threadpool_run(tp, task, &j);
    CHECK_MSG(lmc_threadpool_contended(tp) > 0, "a 2 ms wait did not switch the pool to contended waits");
    CHECK_EQ_INT(j.seen[0], 2);
    CHECK_EQ_INT(j.seen[1], 2);
    /* and runs go on correctly in that mode, late shares included */
    CHECK_EQ_INT(drive(tp, 2, 2000, 97), 0);
    lmc_threadpool_free(tp);
    CHECK_EQ_INT(lmc_threadpool_contended(NULL), 0);
}

/* several pools driven at once: more threads than this machine has CPUs */
typedef struct {
    int n_threads, runs, bad;
} driver;

static void *drive_thread(void *p) {
    driver *d = p;
    lmc_threadpool *tp = lmc_threadpool_init(d->n_threads);
    if (!tp) {
        d->bad = -1;
        return NULL;
    }
    d->bad = drive(tp, d->n_threads, d->runs, 211);
    lmc_threadpool_free(tp);
    return NULL;
}

static void test_oversubscribed(void) {
    enum { N = 4 };
    driver d[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        d[i] = (driver){.n_threads = 2 + i % 3, .runs = 3000};
        CHECK_EQ_INT(pthread_create(&th[i], NULL, drive_thread, &d[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(d[i].bad == 0, "pool %d (%d threads): %d bad shares", i, d[i].n_threads, d[i].bad);
    }
}

int main(void) {
    test_contended_switch();
    test_oversubscribed();
    return t_done("test_threadpool");
}
