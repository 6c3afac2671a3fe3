/* threadpool.h — internal extras of the thread pool (src/core/threadpool.c). */
#ifndef LMC_THREADPOOL_H
#define LMC_THREADPOOL_H

#include "lmc-impl.h"

/* A scratch buffer owned by the pool, at least bytes long and 64-byte aligned, valid
 * until the next call or lmc_threadpool_free. For the thread that drives the pool
 * (a pool has one driving thread at a time). NULL on allocation failure. */
void *lmc_threadpool_scratch(lmc_threadpool *tp, size_t bytes);

/* How many more runs wait in the contended way (spinning waiters also yield the CPU;
 * threadpool.c): set when a run's caller waited long for its workers. For tests. */
int lmc_threadpool_contended(const lmc_threadpool *tp);

#endif /* LMC_THREADPOOL_H */
