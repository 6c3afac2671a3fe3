/* bench.c — machine measurements for `lmc bench`: memory bandwidth (STREAM-like triad
 * and a read-only sum) and the FP32 FMA peak, split over a thread pool. These are the
 * ceilings the matrix-vector (bandwidth) and matrix-matrix (FLOP/s) kernels are
 * compared against. */
#include "quants.h"
#include "kernels_simd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool g_cpu_time = false;

void lmc_bench_use_cpu_time(bool on) { g_cpu_time = on; }

double lmc_bench_now(int n_threads) {
    struct timespec ts;
    clock_gettime(g_cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    double t = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    return g_cpu_time && n_threads > 1 ? t / n_threads : t;
}

/* per-thread clock for the FMA loop (each thread times itself) */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(g_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    float *a, *b, *c;
    size_t n;
    float s;
    int op; /* 0 = init, 1 = triad, 2 = read */
    double sums[64];
    double fma_seconds, flops[64];
} bw_task;

/* Software prefetch 4 KiB ahead, as the generation kernels do (kernels_legacy.h): on
 * machines whose hardware prefetchers stay close, plain loops measure memory latency, not
 * the bandwidth the kernels reach. */
static inline void pf(const void *p) { __builtin_prefetch((const char *)p + 4096, 0, 3); }

static void bw_run(void *p, int ith, int nth) {
    bw_task *t = p;
    size_t i0 = t->n * (size_t)ith / (size_t)nth, i1 = t->n * (size_t)(ith + 1) / (size_t)nth;
    if (t->op == 0) {
        /* first touch by the thread that will use the pages */
        for (size_t i = i0; i < i1; i++) {
            t->a[i] = 0.0f;
            if (t->b) t->b[i] = 1.0f;
            if (t->c) t->c[i] = 2.0f;
        }
    } else if (t->op == 1) {
        float *a = t->a;
        const float *b = t->b, *c = t->c;
        const float s = t->s;
        for (size_t i = i0; i < i1; i++) {
            if ((i & 15) == 0) pf(b + i), pf(c + i); /* once per 64-byte line */
            a[i] = b[i] + s * c[i];
        }
    } else {
        /* integer sums of 8-byte words, 8 independent chains: a float sum would be bound
         * by the FP add latency (~10 GB/s on one core), not by memory */
        const char *a = (const char *)t->a;
        uint64_t s[8] = {0};
        size_t i = i0 * sizeof(float), e = i1 * sizeof(float);
        for (; i + 64 <= e; i += 64) {
            pf(a + i);
            for (int k = 0; k < 8; k++) {
                uint64_t v;
                memcpy(&v, a + i + 8 * k, 8);
                s[k] += v;
            }
        }
        uint64_t tot = 0;
        for (int k = 0; k < 8; k++) tot += s[k];
        t->sums[ith & 63] = (double)tot;
    }
}

static double bench_bw(lmc_threadpool *tp, size_t bytes, int reps, bool triad) {
    bw_task t = {0};
    t.n = bytes / sizeof(float);
    t.s = 3.0f;
    t.a = aligned_alloc(64, (t.n * sizeof(float) + 63) & ~(size_t)63);
    if (triad) {
        t.b = aligned_alloc(64, (t.n * sizeof(float) + 63) & ~(size_t)63);
        t.c = aligned_alloc(64, (t.n * sizeof(float) + 63) & ~(size_t)63);
    }
    double best = 0;
    if (t.a && (!triad || (t.b && t.c))) {
        t.op = 0;
        lmc_threadpool_run(tp, bw_run, &t);
        t.op = triad ? 1 : 2;
        for (int r = 0; r < (reps < 1 ? 1 : reps); r++) {
            int nth = lmc_threadpool_n_threads(tp);
            double t0 = lmc_bench_now(nth);
            lmc_threadpool_run(tp, bw_run, &t);
            double dt = lmc_bench_now(nth) - t0;
            double moved = (double)t.n * sizeof(float) * (triad ? 3 : 1);
            if (dt > 0 && moved / dt > best) best = moved / dt;
        }
    }
    free(t.a), free(t.b), free(t.c);
    return best / 1e9;
}

double lmc_bench_triad_gbs(lmc_threadpool *tp, size_t bytes, int reps) {
    return bench_bw(tp, bytes, reps, true);
}

double lmc_bench_read_gbs(lmc_threadpool *tp, size_t bytes, int reps) {
    return bench_bw(tp, bytes, reps, false);
}

/* Best rate over chunks of ~0.2 GFLOP (other work on the machine only ever lowers it). */
static void fma_run(void *p, int ith, int nth) {
    bw_task *t = p;
    (void)nth;
    float sink = 0;
    double best = 0;
    const int64_t chunk = 1 << 20;
    double start = now_s();
    while (now_s() - start < t->fma_seconds) {
        double t0 = now_s(), flops = 0;
#ifndef LMC_SCALAR_ONLY
        const char *isa = lmc_kernels_isa();
        if (strcmp(isa, "avx512") == 0) flops = lmc_fma_burn_avx512(chunk, &sink);
        else if (strcmp(isa, "avx2") == 0) flops = lmc_fma_burn_avx2(chunk, &sink);
        else
#endif
        {
            float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
            for (int64_t i = 0; i < chunk; i++)
                for (int k = 0; k < 8; k++) a[k] = a[k] * 0.999999f + 1e-7f;
            for (int k = 0; k < 8; k++) sink += a[k];
            flops = (double)chunk * 16;
        }
        double dt = now_s() - t0;
        if (dt > 0 && flops / dt > best) best = flops / dt;
    }
    t->flops[ith & 63] = best;
    t->sums[ith & 63] = sink;
}

double lmc_bench_fma_gflops(lmc_threadpool *tp, double seconds) {
    bw_task t = {0};
    t.fma_seconds = seconds > 0 ? seconds : 0.2;
    lmc_threadpool_run(tp, fma_run, &t);
    double total = 0;
    for (int i = 0; i < lmc_threadpool_n_threads(tp) && i < 64; i++) total += t.flops[i];
    return total / 1e9;
}

void *lmc_bench_repack(lmc_type t, const void *W, int64_t n_out, int64_t n_in) {
    if (!W || !lmc_r8_available(t) || !lmc_r8_fits(t, n_out, n_in)) return NULL;
    void *P = aligned_alloc(64, (lmc_r8_bytes(t, n_out, n_in) + 63) & ~(size_t)63);
    if (P) lmc_r8_pack(t, W, n_out, n_in, P);
    return P;
}

int lmc_bench_matmul_repacked(lmc_threadpool *tp, lmc_type t, const void *P, int64_t n_out, int64_t n_in,
                              const float *X, int64_t n_tok, float *Y) {
    return lmc_matmul_r8(tp, t, P, n_out, n_in, X, n_tok, Y);
}
