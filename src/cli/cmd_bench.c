/* cmd_bench.c — `lmc bench`: measured speeds of this machine and of lmc's kernels.
 *   --memory   memory bandwidth (STREAM-like triad, read-only sum) and FP32 FMA peak
 *   --kernels  per weight type: matrix-vector GB/s of weights streamed and
 *              matrix-matrix GFLOP/s at a prefill-sized batch, at 1 and N threads
 * (Model-level benchmarks are added by the engine area as further sections.) */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *BENCH_HELP =
    "usage: lmc bench [--memory] [--kernels] [options]\n"
    "\n"
    "Measures this machine and lmc's kernels (nothing is written).\n"
    "\n"
    "  --memory         memory bandwidth: STREAM-like triad a = b + s*c and a read-only\n"
    "                   sum (GB/s), and the FP32 FMA peak (GFLOP/s)\n"
    "  --kernels        per weight type: matrix-vector speed (GB/s of weights streamed,\n"
    "                   compare with the read bandwidth) and matrix-matrix speed at a\n"
    "                   prefill-sized batch (GFLOP/s, compare with the FMA peak)\n"
    "  -t N             also measure with N threads (default: the number of CPUs);\n"
    "                   every measurement is made with 1 thread and with N\n"
    "  --types LIST     comma-separated weight types for --kernels (default: all)\n"
    "  --tokens N       batch size of the matrix-matrix benchmark (default 64)\n"
    "  --mib N          weight bytes of the matrix-vector benchmark, MiB (default 96;\n"
    "                   keep it well above the L3 cache)\n"
    "  --cpu-time       time by CPU time (process CPU time / threads) instead of the wall\n"
    "                   clock: steadier on a machine shared with other work\n"
    "\n"
    "With no section option, --memory and --kernels are both run.\n"
    "\n"
    "examples:\n"
    "  lmc bench --memory\n"
    "  lmc bench --kernels --types q4_0,q4_k,q8_0 -t 2\n";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t g_rng = 88172645463325252ull;
static float frand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* n_out x n_in weights of type t: 64 distinct quantized rows repeated (the speed does
 * not depend on the values, only on them being normal numbers). */
static void *make_weights(lmc_type t, int64_t n_out, int64_t n_in) {
    size_t rb = lmc_type_row_bytes(t, n_in);
    char *w = malloc(rb * (size_t)n_out);
    float *row = malloc(sizeof(float) * (size_t)n_in);
    if (!w || !row) {
        free(w), free(row);
        return NULL;
    }
    int64_t distinct = n_out < 64 ? n_out : 64;
    for (int64_t r = 0; r < distinct; r++) {
        for (int64_t i = 0; i < n_in; i++) row[i] = 0.05f * frand();
        if (lmc_quantize_row(t, row, w + (size_t)r * rb, n_in) != LMC_OK) {
            free(w), free(row);
            return NULL;
        }
    }
    for (int64_t r = distinct; r < n_out; r++) memcpy(w + (size_t)r * rb, w + (size_t)(r % distinct) * rb, rb);
    free(row);
    return w;
}

/* Best time of one matmul call, over at least 3 calls and 0.3 s. */
static double time_matmul(lmc_threadpool *tp, lmc_type t, const void *W, int64_t n_out, int64_t n_in,
                          const float *X, int64_t n_tok, float *Y) {
    if (lmc_matmul(tp, t, W, n_out, n_in, X, n_tok, Y) != LMC_OK) return -1; /* warm-up */
    double best = 1e30, start = now_s();
    int nth = lmc_threadpool_n_threads(tp);
    for (int r = 0; r < 3 || now_s() - start < 0.3; r++) {
        double t0 = lmc_bench_now(nth);
        lmc_matmul(tp, t, W, n_out, n_in, X, n_tok, Y);
        double dt = lmc_bench_now(nth) - t0;
        if (dt < best) best = dt;
        if (r > 1000) break;
    }
    return best;
}

static const lmc_type ALL_TYPES[] = {LMC_TYPE_F32,  LMC_TYPE_F16,  LMC_TYPE_BF16, LMC_TYPE_Q8_0,
                                     LMC_TYPE_Q6_K, LMC_TYPE_Q5_0, LMC_TYPE_Q5_1, LMC_TYPE_Q5_K,
                                     LMC_TYPE_Q4_0, LMC_TYPE_Q4_1, LMC_TYPE_Q4_K, LMC_TYPE_Q3_K,
                                     LMC_TYPE_Q2_K};

static int bench_memory(lmc_threadpool **pools, const int *nths, int n_pools) {
    printf("memory and compute ceilings (kernels: %s)\n", lmc_kernels_isa());
    printf("%-8s %12s %12s %14s\n", "threads", "triad GB/s", "read GB/s", "FMA GFLOP/s");
    for (int p = 0; p < n_pools; p++) {
        double triad = lmc_bench_triad_gbs(pools[p], (size_t)128 << 20, 8);
        double rd = lmc_bench_read_gbs(pools[p], (size_t)256 << 20, 8);
        double fma = lmc_bench_fma_gflops(pools[p], 0.5);
        printf("%-8d %12.1f %12.1f %14.1f\n", nths[p], triad, rd, fma);
    }
    printf("(triad counts 3 x 4 bytes per element: 2 reads + 1 write; arrays of 128 MiB)\n");
    return CLI_OK;
}

static int bench_kernels(lmc_threadpool **pools, const int *nths, int n_pools, const lmc_type *types,
                         int n_types, int64_t n_tok, double mib) {
    const int64_t n_in = 4096;
    double read_bw[8] = {0}, peak[8] = {0};
    for (int p = 0; p < n_pools; p++) {
        read_bw[p] = lmc_bench_read_gbs(pools[p], (size_t)256 << 20, 5);
        peak[p] = lmc_bench_fma_gflops(pools[p], 0.3);
    }
    printf("kernels: %s; matrix-vector: %lld-wide rows, ~%.0f MiB of weights; matrix-matrix: "
           "4096 x 1024 weights x %lld tokens\n",
           lmc_kernels_isa(), (long long)n_in, mib, (long long)n_tok);
    printf("%-6s %6s", "type", "bits");
    for (int p = 0; p < n_pools; p++) printf("  mv GB/s t%d (%%rd)", nths[p]);
    for (int p = 0; p < n_pools; p++) printf("  mm GFLOP/s t%d (%%pk)", nths[p]);
    printf("\n");
    float *X = malloc(sizeof(float) * (size_t)(n_in * n_tok));
    float *Y = malloc(sizeof(float) * (size_t)(4096 * (n_tok > 1 ? n_tok : 1) + 1 + 65536));
    if (!X || !Y) return cli_error("out of memory");
    for (int64_t i = 0; i < n_in * n_tok; i++) X[i] = frand();
    for (int k = 0; k < n_types; k++) {
        lmc_type t = types[k];
        size_t rb = lmc_type_row_bytes(t, n_in);
        double bits = 8.0 * (double)rb / (double)n_in;
        int64_t n_out_mv = (int64_t)(mib * 1048576.0 / (double)rb);
        void *Wmv = make_weights(t, n_out_mv, n_in);
        float *Ymv = malloc(sizeof(float) * (size_t)n_out_mv);
        void *Wmm = make_weights(t, 1024, n_in);
        if (!Wmv || !Wmm || !Ymv) {
            free(Wmv), free(Wmm), free(Ymv);
            return cli_error("cannot make %s weights: %s", lmc_type_name(t), lmc_last_error());
        }
        printf("%-6s %6.2f", lmc_type_name(t), bits);
        fflush(stdout);
        for (int p = 0; p < n_pools; p++) {
            double dt = time_matmul(pools[p], t, Wmv, n_out_mv, n_in, X, 1, Ymv);
            double gbs = (double)rb * (double)n_out_mv / dt / 1e9;
            printf("  %9.1f (%3.0f%%)  ", gbs, 100.0 * gbs / read_bw[p]);
            fflush(stdout);
        }
        for (int p = 0; p < n_pools; p++) {
            double dt = time_matmul(pools[p], t, Wmm, 1024, n_in, X, n_tok, Y);
            double gf = 2.0 * (double)n_in * 1024.0 * (double)n_tok / dt / 1e9;
            printf("  %11.1f (%3.0f%%)  ", gf, 100.0 * gf / peak[p]);
            fflush(stdout);
        }
        printf("\n");
        free(Wmv), free(Wmm), free(Ymv);
    }
    printf("reference: read bandwidth");
    for (int p = 0; p < n_pools; p++) printf(" t%d %.1f GB/s", nths[p], read_bw[p]);
    printf("; FMA peak");
    for (int p = 0; p < n_pools; p++) printf(" t%d %.1f GFLOP/s", nths[p], peak[p]);
    printf("\n");
    free(X), free(Y);
    return CLI_OK;
}

int cmd_bench(int argc, char **argv) {
    bool memory = false, kernels = false, cpu_time = false;
    long long nt = sysconf(_SC_NPROCESSORS_ONLN), n_tok = 64;
    double mib = 96;
    lmc_type types[32];
    int n_types = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int rc;
        if (cli_is_help(a)) {
            fputs(BENCH_HELP, stdout);
            return CLI_OK;
        } else if (strcmp(a, "--memory") == 0) {
            memory = true;
        } else if (strcmp(a, "--kernels") == 0) {
            kernels = true;
        } else if (strcmp(a, "--cpu-time") == 0) {
            lmc_bench_use_cpu_time(true);
            cpu_time = true;
        } else if (strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) {
            if ((rc = cli_int("bench", argc, argv, &i, 1, 256, &nt))) return rc;
        } else if (strcmp(a, "--tokens") == 0) {
            if ((rc = cli_int("bench", argc, argv, &i, 1, 4096, &n_tok))) return rc;
        } else if (strcmp(a, "--mib") == 0) {
            if ((rc = cli_float("bench", argc, argv, &i, 1, 65536, &mib))) return rc;
        } else if (strcmp(a, "--types") == 0) {
            if ((rc = cli_value("bench", argc, argv, &i, &v))) return rc;
            char buf[512];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                int t = lmc_type_from_name(tok);
                bool ok = false;
                for (size_t k = 0; k < sizeof ALL_TYPES / sizeof ALL_TYPES[0]; k++) ok |= (int)ALL_TYPES[k] == t;
                if (!ok) return cli_usage_error("bench", "no kernel benchmark for type '%s'", tok);
                if (n_types < 32) types[n_types++] = (lmc_type)t;
            }
        } else {
            return cli_usage_error("bench", "unknown option '%s'", a);
        }
    }
    if (!memory && !kernels) memory = kernels = true;
    if (n_types == 0)
        for (size_t k = 0; k < sizeof ALL_TYPES / sizeof ALL_TYPES[0]; k++) types[n_types++] = ALL_TYPES[k];

    int nths[2] = {1, (int)nt};
    int n_pools = nt > 1 ? 2 : 1;
    lmc_threadpool *pools[2] = {NULL, NULL};
    for (int p = 0; p < n_pools; p++)
        if (!(pools[p] = lmc_threadpool_init(nths[p]))) return cli_lib_error();
    double load[1] = {0};
    if (cpu_time) printf("timing: CPU time (process CPU seconds / threads)\n\n");
    else if (getloadavg(load, 1) == 1 && load[0] > 0.5 * (double)sysconf(_SC_NPROCESSORS_ONLN))
        printf("note: load average %.1f on %ld CPUs: other work shares the machine, numbers are low\n"
               "(--cpu-time gives steadier numbers)\n\n",
               load[0], sysconf(_SC_NPROCESSORS_ONLN));
    int rc = CLI_OK;
    if (memory) rc = bench_memory(pools, nths, n_pools);
    if (rc == CLI_OK && kernels) {
        if (memory) printf("\n");
        rc = bench_kernels(pools, nths, n_pools, types, n_types, n_tok, mib);
    }
    for (int p = 0; p < n_pools; p++) lmc_threadpool_free(pools[p]);
    return rc;
}
