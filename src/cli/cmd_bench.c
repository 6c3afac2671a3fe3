/* cmd_bench.c — `lmc bench`: measured speeds of this machine and of lmc's kernels.
 *   --memory   memory bandwidth (STREAM-like triad, read-only sum) and FP32 FMA peak
 *   --kernels  per weight type: matrix-vector GB/s of weights streamed and
 *              matrix-matrix GFLOP/s at a prefill-sized batch, at 1 and N threads
 * (Model-level benchmarks are added by the engine area as further sections.) */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *BENCH_HELP =
    "usage: lmc bench -m MODEL [-p 512] [-n 128] [-t 1,2] [-r 5] [--kv-type f16|f32]\n"
    "                 [-fa auto|on|off] [--json] [--bw GB/s | --memory]\n"
    "       lmc bench [--memory] [--kernels] [options]\n"
    "\n"
    "With -m: prompt processing (pp: one batch of p random tokens into an empty\n"
    "context) and generation (tg: n single-token decodes) in tokens/s, mean +- sd over\n"
    "r repetitions after one warm-up run, load and tokenization excluded: the method of\n"
    "llama.cpp's llama-bench, so the numbers compare. tg rows also give the weight\n"
    "bytes read per second (GB/s) and its fraction of the bandwidth given by --bw or\n"
    "measured (read-only sum, at the same thread count) with --memory. Peak RSS is\n"
    "reported. -t takes a comma-separated list (default: " CLI_THREADS_HELP "); -p 0 or\n"
    "-n 0 skips that test; --json prints one JSON object instead of the table.\n"
    "-fa: attention path. auto (default): the flash-attention kernel (tiled, as\n"
    "llama.cpp -fa on) for pp, the standard one for tg, each lmc's faster there;\n"
    "llama-bench's own default is auto, which turns flash attention on for both.\n"
    "\n"
    "Without -m: measures this machine and lmc's kernels (nothing is written).\n"
    "\n"
    "  --memory         memory bandwidth: STREAM-like triad a = b + s*c and a read-only\n"
    "                   sum (GB/s), and the FP32 FMA peak (GFLOP/s)\n"
    "  --kernels        per weight type: matrix-vector speed (GB/s of weights streamed,\n"
    "                   compare with the read bandwidth) and matrix-matrix speed at a\n"
    "                   prefill-sized batch (GFLOP/s, compare with the FMA peak); a\n"
    "                   type the loader repacks on this CPU gets a second row, \"r8\"\n"
    "  -t N             also measure with N threads (default: " CLI_THREADS_HELP ");\n"
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
    "  lmc bench -m model.gguf -t 1,2\n"
    "  lmc bench -m model.gguf -p 0 -n 64 --memory --json\n"
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

/* one matmul through the file-layout kernels, or the repacked ones when packed */
static int matmul_once(lmc_threadpool *tp, lmc_type t, const void *W, bool packed, int64_t n_out, int64_t n_in,
                       const float *X, int64_t n_tok, float *Y) {
    return packed ? lmc_bench_matmul_repacked(tp, t, W, n_out, n_in, X, n_tok, Y)
                  : lmc_matmul(tp, t, W, n_out, n_in, X, n_tok, Y);
}

/* Best time of one matmul call, over at least 3 calls and 0.3 s. */
static double time_matmul(lmc_threadpool *tp, lmc_type t, const void *W, bool packed, int64_t n_out, int64_t n_in,
                          const float *X, int64_t n_tok, float *Y) {
    if (matmul_once(tp, t, W, packed, n_out, n_in, X, n_tok, Y) != LMC_OK) return -1; /* warm-up */
    double best = 1e30, start = now_s();
    int nth = lmc_threadpool_n_threads(tp);
    for (int r = 0; r < 3 || now_s() - start < 0.3; r++) {
        double t0 = lmc_bench_now(nth);
        matmul_once(tp, t, W, packed, n_out, n_in, X, n_tok, Y);
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
    printf("%-9s %6s", "type", "bits");
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
        int64_t n_out_mv = (int64_t)(mib * 1048576.0 / (double)rb) & ~(int64_t)7;
        void *Wmv = make_weights(t, n_out_mv, n_in);
        float *Ymv = malloc(sizeof(float) * (size_t)n_out_mv);
        void *Wmm = make_weights(t, 1024, n_in);
        if (!Wmv || !Wmm || !Ymv) {
            free(Wmv), free(Wmm), free(Ymv);
            return cli_error("cannot make %s weights: %s", lmc_type_name(t), lmc_last_error());
        }
        /* a second row for a type the loader repacks on this CPU: the kernels a model runs */
        void *Pmv = lmc_bench_repack(t, Wmv, n_out_mv, n_in), *Pmm = Pmv ? lmc_bench_repack(t, Wmm, 1024, n_in) : NULL;
        for (int packed = 0; packed <= (Pmv && Pmm); packed++) {
            const void *mv = packed ? Pmv : Wmv, *mm = packed ? Pmm : Wmm;
            printf("%-6s%s %6.2f", lmc_type_name(t), packed ? " r8" : "   ", bits);
            fflush(stdout);
            for (int p = 0; p < n_pools; p++) {
                double dt = time_matmul(pools[p], t, mv, packed, n_out_mv, n_in, X, 1, Ymv);
                double gbs = (double)rb * (double)n_out_mv / dt / 1e9;
                printf("  %9.1f (%3.0f%%)  ", gbs, 100.0 * gbs / read_bw[p]);
                fflush(stdout);
            }
            for (int p = 0; p < n_pools; p++) {
                double dt = time_matmul(pools[p], t, mm, packed, 1024, n_in, X, n_tok, Y);
                double gf = 2.0 * (double)n_in * 1024.0 * (double)n_tok / dt / 1e9;
                printf("  %11.1f (%3.0f%%)  ", gf, 100.0 * gf / peak[p]);
                fflush(stdout);
            }
            printf("\n");
        }
        free(Wmv), free(Wmm), free(Ymv), free(Pmv), free(Pmm);
    }
    printf("reference: read bandwidth");
    for (int p = 0; p < n_pools; p++) printf(" t%d %.1f GB/s", nths[p], read_bw[p]);
    printf("; FMA peak");
    for (int p = 0; p < n_pools; p++) printf(" t%d %.1f GFLOP/s", nths[p], peak[p]);
    printf("\n");
    free(X), free(Y);
    return CLI_OK;
}

/* ---- model benchmark: the method of llama.cpp's llama-bench ----------------------
 * pp: one batch of p random tokens (BOS first when the vocabulary adds one) into an
 * empty context; tg: n single-token decodes of random tokens into an empty context.
 * Each test gets its own context (n_ctx = tokens of the test), one warm-up run
 * (pp: a full prompt; tg: one token), then r timed repetitions, each after emptying
 * the cache. Speed = tokens / seconds of each repetition; mean and sample sd. */

typedef struct bench_result {
    char test[32];
    int n_prompt, n_gen, threads, reps;
    double mean, sd;      /* tokens/s */
    double weight_gbs;    /* tg: weight bytes per token x tokens/s / 1e9 (else 0) */
    double bw_gbs;        /* bandwidth the fraction refers to (0: none)           */
    double *samples;
} bench_result;

static int bench_tokens(lmc_context *c, const lmc_vocab *v, int n_vocab, int n, bool gen, float *logits) {
    int32_t bos = v && lmc_vocab_add_bos(v) ? lmc_vocab_bos(v) : -1;
    if (gen) {
        int32_t tok = bos >= 0 ? bos : rand() % n_vocab;
        for (int i = 0; i < n; i++) {
            if (lmc_decode(c, &tok, 1, logits, false) != LMC_OK) return -1;
            tok = rand() % n_vocab;
        }
        return 0;
    }
    int32_t *toks = malloc(sizeof(int32_t) * (size_t)n);
    if (!toks) return -1;
    toks[0] = bos >= 0 ? bos : rand() % n_vocab;
    for (int i = 1; i < n; i++) toks[i] = rand() % n_vocab;
    int rc = lmc_decode(c, toks, n, logits, false);
    free(toks);
    return rc == LMC_OK ? 0 : -1;
}

/* fa (-fa): 0 off, 1 on, 2 auto: the flash-attention path (tiled, F32 q) for prompt
 * processing, where it is faster, and the standard one for generation, where lmc's
 * flash-attention decode (llama.cpp's F16 numerics) is slower */
static int bench_one(const lmc_model *m, const lmc_vocab *v, lmc_type kv_type, int fa, int n_tok, bool gen,
                     int threads, int reps, bench_result *r) {
    const lmc_model_hparams *hp = lmc_model_get_hparams(m);
    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = n_tok;
    cp.n_batch = n_tok; /* pp: one batch, as llama-bench (n_batch 2048, n_ubatch 512) at p <= 512 */
    cp.n_threads = threads;
    cp.kv_type = kv_type;
    cp.flash_attn = fa == 1 || (fa == 2 && !gen);
    lmc_context *c = lmc_context_init(m, cp);
    float *logits = malloc(sizeof(float) * (size_t)hp->n_vocab);
    r->samples = malloc(sizeof(double) * (size_t)reps);
    if (!c || !logits || !r->samples) {
        lmc_context_free(c), free(logits);
        return c ? cli_error("out of memory") : cli_lib_error();
    }
    snprintf(r->test, sizeof r->test, "%s%d", gen ? "tg" : "pp", n_tok);
    r->n_prompt = gen ? 0 : n_tok, r->n_gen = gen ? n_tok : 0, r->threads = threads, r->reps = reps;
    int rc = bench_tokens(c, v, hp->n_vocab, gen ? 1 : n_tok, gen, logits); /* warm-up */
    for (int i = 0; rc == 0 && i < reps; i++) {
        lmc_context_reset(c);
        double t0 = now_s();
        rc = bench_tokens(c, v, hp->n_vocab, n_tok, gen, logits);
        r->samples[i] = (double)n_tok / (now_s() - t0);
    }
    lmc_context_free(c), free(logits);
    if (rc) return cli_lib_error();
    cli_mean_sd(r->samples, reps, &r->mean, &r->sd);
    return CLI_OK;
}

/* Bytes of weights one decode step reads: every tensor, except that only one row of
 * the token embedding is read unless it doubles as the output matrix. */
static double weight_bytes_per_token(const lmc_model *m) {
    const lmc_gguf *g = lmc_model_gguf(m);
    double b = 0;
    for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
        if (strcmp(t->name, "token_embd.weight") == 0 && !lmc_model_get_hparams(m)->tied_output)
            b += (double)t->n_bytes / (double)(t->ne[1] > 0 ? t->ne[1] : 1);
        else
            b += (double)t->n_bytes;
    }
    return b;
}

/* The weight type holding the most bytes (names the model like llama-bench's "Q4_1"). */
static const char *main_type(const lmc_gguf *g, uint64_t *total) {
    double by_type[64] = {0};
    *total = 0;
    for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
        if ((int)t->type >= 0 && (int)t->type < 64) by_type[t->type] += (double)t->n_bytes;
        *total += t->n_bytes;
    }
    int best = 0;
    for (int k = 1; k < 64; k++)
        if (by_type[k] > by_type[best]) best = k;
    return lmc_type_name((lmc_type)best);
}

static long peak_rss_kib(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

static int bench_model(const char *path, long long p, long long n, const int *ts, int n_ts, long long reps,
                       lmc_type kv_type, int fa, bool json, double bw_given, bool measure_bw) {
    lmc_model *m = lmc_model_load(path);
    if (!m) return cli_lib_error();
    const lmc_model_hparams *hp = lmc_model_get_hparams(m);
    lmc_vocab *v = lmc_vocab_load(lmc_model_gguf(m)); /* only for BOS; none is fine */
    uint64_t size = 0;
    const char *wtype = main_type(lmc_model_gguf(m), &size);
    double wbytes = weight_bytes_per_token(m);
    bench_result res[64];
    int n_res = 0, rc = CLI_OK;
    for (int k = 0; k < n_ts && rc == CLI_OK; k++) {
        for (int gen = 0; gen < 2 && rc == CLI_OK; gen++) {
            long long nt = gen ? n : p;
            if (nt <= 0 || n_res >= 64) continue;
            bench_result *r = &res[n_res];
            memset(r, 0, sizeof *r);
            rc = bench_one(m, v, kv_type, fa, (int)nt, gen, ts[k], (int)reps, r);
            if (rc != CLI_OK) { free(r->samples); break; }
            if (gen) r->weight_gbs = wbytes * r->mean / 1e9, r->bw_gbs = bw_given;
            n_res++;
            if (!json) {
                fprintf(stderr, "lmc bench: %s t%d: %.2f ± %.2f t/s\n", r->test, r->threads, r->mean, r->sd);
            }
        }
    }
    /* Peak RSS first: the bandwidth measurement's 256 MiB buffer must not count. */
    long rss = peak_rss_kib();
    for (int k = 0; k < n_ts && rc == CLI_OK && measure_bw; k++) {
        lmc_threadpool *tp = lmc_threadpool_init(ts[k]);
        if (!tp) { rc = cli_lib_error(); break; }
        double b = lmc_bench_read_gbs(tp, (size_t)256 << 20, 5);
        lmc_threadpool_free(tp);
        for (int i = 0; i < n_res; i++)
            if (res[i].threads == ts[k] && res[i].n_gen > 0) res[i].bw_gbs = b;
    }
    double kv_el = kv_type == LMC_TYPE_F32 ? 4 : 2;
    long long max_ctx = p > n ? p : n;
    double kv_bytes = 2.0 * hp->n_layer * (double)max_ctx * hp->n_head_kv * hp->head_dim * kv_el;
    char mname[96];
    snprintf(mname, sizeof mname, "%s %s", lmc_arch_name(hp->arch), wtype);
    double n_params = (double)lmc_model_n_params(m);
    if (rc == CLI_OK && json) {
        printf("{\n  \"model\": \"%s\",\n  \"model_type\": \"%s\",\n  \"model_size\": %llu,\n"
               "  \"model_n_params\": %.0f,\n  \"file_size\": %llu,\n  \"kv_type\": \"%s\",\n"
               "  \"weight_bytes_per_token\": %.0f,\n  \"kv_cache_bytes\": %.0f,\n  \"peak_rss_bytes\": %lld,\n"
               "  \"kernels\": \"%s\",\n  \"results\": [\n",
               path, mname, (unsigned long long)size, n_params,
               (unsigned long long)lmc_gguf_file_size(lmc_model_gguf(m)), lmc_type_name(kv_type), wbytes,
               kv_bytes, (long long)rss * 1024, lmc_kernels_isa());
        for (int i = 0; i < n_res; i++) {
            bench_result *r = &res[i];
            printf("    {\"test\": \"%s\", \"n_prompt\": %d, \"n_gen\": %d, \"n_threads\": %d, \"reps\": %d, "
                   "\"avg_ts\": %.6g, \"stddev_ts\": %.6g, \"samples_ts\": [",
                   r->test, r->n_prompt, r->n_gen, r->threads, r->reps, r->mean, r->sd);
            for (int k = 0; k < r->reps; k++) printf("%s%.6g", k ? ", " : "", r->samples[k]);
            printf("]");
            if (r->n_gen > 0) {
                printf(", \"weight_gbs\": %.6g", r->weight_gbs);
                if (r->bw_gbs > 0) printf(", \"bw_gbs\": %.6g, \"bw_fraction\": %.6g", r->bw_gbs, r->weight_gbs / r->bw_gbs);
            }
            printf("}%s\n", i + 1 < n_res ? "," : "");
        }
        printf("  ]\n}\n");
    } else if (rc == CLI_OK) {
        printf("| model | size | params | threads | test | t/s | weight GB/s | %% of bw |\n");
        printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (int i = 0; i < n_res; i++) {
            bench_result *r = &res[i];
            char gbs[32] = "", frac[48] = "";
            if (r->n_gen > 0) snprintf(gbs, sizeof gbs, "%.2f", r->weight_gbs);
            if (r->n_gen > 0 && r->bw_gbs > 0)
                snprintf(frac, sizeof frac, "%.0f%% of %.1f", 100.0 * r->weight_gbs / r->bw_gbs, r->bw_gbs);
            printf("| %s | %.2f MiB | %.2f M | %d | %s | %.2f ± %.2f | %s | %s |\n", mname, (double)size / 1048576.0,
                   n_params / 1e6, r->threads, r->test, r->mean, r->sd, gbs, frac);
        }
        printf("\nkernels %s, KV cache %s; weights read per generated token %.2f MiB\n", lmc_kernels_isa(),
               lmc_type_name(kv_type), wbytes / 1048576.0);
        printf("peak RSS %.1f MiB (file %.1f MiB + largest KV cache %.1f MiB + 64 MiB = %.1f MiB budget)\n",
               rss / 1024.0, (double)lmc_gguf_file_size(lmc_model_gguf(m)) / 1048576.0, kv_bytes / 1048576.0,
               ((double)lmc_gguf_file_size(lmc_model_gguf(m)) + kv_bytes) / 1048576.0 + 64);
    }
    for (int i = 0; i < n_res; i++) free(res[i].samples);
    lmc_vocab_free(v);
    lmc_model_free(m);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    bool memory = false, kernels = false, cpu_time = false;
    long long nt = cli_default_threads(), n_tok = 64;
    double mib = 96, bw = 0;
    long long n_p = 512, n_g = 128, reps = 5;
    int ts[16] = {0}, n_ts = 0;
    const char *model = NULL;
    bool json = false;
    lmc_type kv_type = LMC_TYPE_F16;
    int fa = 2; /* -fa auto */
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
            if ((rc = cli_value("bench", argc, argv, &i, &v))) return rc;
            char buf[256], *end;
            snprintf(buf, sizeof buf, "%s", v);
            n_ts = 0;
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                long x = strtol(tok, &end, 10);
                if (*end || end == tok || x < 1 || x > 256 || n_ts >= 16)
                    return cli_usage_error("bench", "bad thread count '%s' in -t (1..256, at most 16)", tok);
                ts[n_ts++] = (int)x;
            }
            if (n_ts == 0) return cli_usage_error("bench", "-t needs a thread count");
            nt = ts[n_ts - 1];
        } else if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            if ((rc = cli_value("bench", argc, argv, &i, &model))) return rc;
        } else if (strcmp(a, "-p") == 0 || strcmp(a, "--n-prompt") == 0) {
            if ((rc = cli_int("bench", argc, argv, &i, 0, 1 << 20, &n_p))) return rc;
        } else if (strcmp(a, "-n") == 0 || strcmp(a, "--n-gen") == 0) {
            if ((rc = cli_int("bench", argc, argv, &i, 0, 1 << 20, &n_g))) return rc;
        } else if (strcmp(a, "-r") == 0 || strcmp(a, "--repetitions") == 0) {
            if ((rc = cli_int("bench", argc, argv, &i, 1, 1000, &reps))) return rc;
        } else if (strcmp(a, "--bw") == 0) {
            if ((rc = cli_float("bench", argc, argv, &i, 0.001, 1e6, &bw))) return rc;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "-fa") == 0 || strcmp(a, "--flash-attn") == 0) {
            if ((rc = cli_value("bench", argc, argv, &i, &v))) return rc;
            if (strcmp(v, "on") == 0 || strcmp(v, "1") == 0) fa = 1;
            else if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0) fa = 0;
            else if (strcmp(v, "auto") == 0) fa = 2;
            else return cli_usage_error("bench", "-fa must be on, off or auto, got '%s'", v);
        } else if (strcmp(a, "--kv-type") == 0) {
            if ((rc = cli_value("bench", argc, argv, &i, &v))) return rc;
            if (strcmp(v, "f16") == 0) kv_type = LMC_TYPE_F16;
            else if (strcmp(v, "f32") == 0) kv_type = LMC_TYPE_F32;
            else return cli_usage_error("bench", "--kv-type must be f16 or f32, got '%s'", v);
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
    if (model) {
        if (kernels) return cli_usage_error("bench", "--kernels cannot be combined with -m");
        if (n_p == 0 && n_g == 0) return cli_usage_error("bench", "-p and -n are both 0: nothing to measure");
        if (n_ts == 0) ts[n_ts++] = (int)nt;
        return bench_model(model, n_p, n_g, ts, n_ts, reps, kv_type, fa, json, bw, memory && bw == 0);
    }
    if (json) return cli_usage_error("bench", "--json needs -m MODEL");
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
