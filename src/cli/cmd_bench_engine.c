/* cmd_bench_engine.c — `lmc bench-engine`: benchmarks of the serving engine
 * (src/engine/): aggregate generation speed at several concurrency levels (the
 * method of llama.cpp's llama-batched-bench), time to first token behind a shared
 * system prompt with and without the prefix cache, and the perplexity cost of the
 * KV cache type (scored through the engine). */
#include "cli.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *HELP =
    "usage: lmc bench-engine -m MODEL [--throughput] [--ttft] [--ppl FILE] [options]\n"
    "\n"
    "Benchmarks of the serving engine (paged KV cache, prefix cache, continuous\n"
    "batching). Each section is run when asked; with none, --throughput and --ttft.\n"
    "\n"
    "  --throughput     for each B in -npl: B sequences, each with its own prompt of\n"
    "                   -npp random tokens, run together; then -ntg decode steps of all\n"
    "                   B at once. Reports prompt processing (S_PP t/s) and aggregate\n"
    "                   generation speed (S_TG = B * ntg / T_TG), as llama-batched-bench\n"
    "                   does, so the columns compare with:\n"
    "                     llama-batched-bench -m MODEL -c C -npp 128 -ntg 128 -npl 1,4,16,64 -t T\n"
    "  --ttft           time to first token of a request behind a shared system prompt of\n"
    "                   --prefix tokens (+ 16 own tokens): cold (empty cache) vs cached\n"
    "                   (the system prompt's blocks come from the prefix cache)\n"
    "  --ppl FILE       perplexity of a text file scored through the engine (4 requests\n"
    "                   at a time), llama-perplexity's method: chunks of -c tokens, the\n"
    "                   first replaced by BOS, the second half of each scored given the\n"
    "                   tokens before it; compare --kv-type f16 and q8_0\n"
    "\n"
    "options:\n"
    "  -m MODEL         GGUF model (default: the cached default model)\n"
    "  -t N             threads (default: " CLI_THREADS_HELP ")\n"
    "  -npp N           prompt tokens per sequence for --throughput (default 128)\n"
    "  -ntg N           generated tokens per sequence for --throughput (default 128)\n"
    "  -npl LIST        concurrency levels for --throughput (default 1,4,16,64)\n"
    "  -r N             --throughput: runs per level, reported as mean ± sd (default 1,\n"
    "                   llama-batched-bench's single run; one stream varies the most)\n"
    "  --prefix N       shared system prompt tokens for --ttft (default 1000)\n"
    "  -c N             context of one sequence (default: what the test needs; --ppl: 512)\n"
    "  -b N             max tokens per forward step (default 512)\n"
    "  --kv-type T      f32, f16 (default) or q8_0\n"
    "  --kv-mem MIB     KV pool size in MiB (default: what the test needs)\n"
    "  --chunks N       --ppl: score only the first N chunks\n"
    "\n"
    "examples:\n"
    "  lmc bench-engine -m SmolLM2-135M-Instruct.Q4_1.gguf --throughput -npl 1,4,16,64 -t 2\n"
    "  lmc bench-engine -m model.gguf --ttft --prefix 1000\n"
    "  lmc bench-engine -m model.gguf --ppl wiki.txt --kv-type q8_0\n";

typedef struct {
    int64_t n_gen;
    bool first, done;
    char error[160]; /* the engine's message when the request ended in an error */
} prog;

static void on_ev(const lmc_engine_event *ev, void *user) {
    prog *p = user;
    if (ev->token >= 0) {
        p->n_gen++;
        p->first = true;
    }
    if (ev->finish != LMC_FINISH_NONE) p->done = true;
    if (ev->finish == LMC_FINISH_ERROR)
        snprintf(p->error, sizeof p->error, "%s", ev->error ? ev->error : "request failed");
}

/* a request that ended without the tokens the benchmark waits for: its error, else why */
static int prog_failed(const prog *p) {
    return cli_error("engine request failed: %s", p->error[0] ? p->error : "it ended before its first token");
}

static uint64_t g_state = 0x9e3779b97f4a7c15ull;
static int32_t rand_tok(int32_t V) {
    g_state ^= g_state << 13;
    g_state ^= g_state >> 7;
    g_state ^= g_state << 17;
    return (int32_t)(100 + g_state % (uint64_t)(V > 200 ? V - 200 : 1));
}

static lmc_engine *make_engine(const lmc_model *m, const lmc_vocab *v, int n_threads, int n_ctx, int n_batch,
                               lmc_type kv, long long kv_mib, int64_t pool_tokens, int n_seq) {
    lmc_engine_params ep = lmc_engine_default_params();
    ep.n_threads = n_threads;
    ep.n_ctx = n_ctx;
    ep.n_batch = n_batch;
    ep.kv_type = kv;
    ep.background = false;
    ep.n_seq_max = n_seq > 0 ? n_seq : 64;
    const lmc_model_hparams *hp = lmc_model_get_hparams(m);
    const size_t bpt = 2 * (size_t)hp->n_layer * lmc_type_row_bytes(kv, (int64_t)hp->n_head_kv * hp->head_dim);
    ep.kv_mem = kv_mib > 0 ? kv_mib * 1048576LL : (int64_t)(bpt * (size_t)(pool_tokens + 16 * (n_seq + 1)));
    lmc_engine *e = lmc_engine_init(m, v, ep);
    if (!e) cli_lib_error();
    return e;
}

/* One run of B sequences: prompt rate and aggregate generation rate (tokens/s). */
static int throughput_once(const lmc_model *m, int nt, int n_batch, lmc_type kv, long long kv_mib, int npp, int ntg,
                           int B, double *t_pp, double *t_tg, int64_t *gen_out) {
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    lmc_engine *e = make_engine(m, NULL, nt, npp + ntg + 2, n_batch, kv, kv_mib, (int64_t)B * (npp + ntg + 2), B);
    if (!e) return CLI_ERR;
    prog *p = calloc((size_t)B, sizeof *p);
    int32_t *prompt = malloc((size_t)npp * sizeof *prompt);
    if (!p || !prompt) {
        free(p), free(prompt), lmc_engine_free(e);
        return cli_error("out of memory");
    }
    int rc = CLI_OK;
    for (int i = 0; i < B && !rc; i++) {
        for (int j = 0; j < npp; j++) prompt[j] = rand_tok(V);
        lmc_engine_request r = lmc_engine_default_request();
        r.tokens = prompt;
        r.n_tokens = npp;
        r.max_tokens = ntg + 1; /* the first token comes with the prompt step */
        r.ignore_eog = true;
        r.on_event = on_ev;
        r.user = &p[i];
        if (lmc_engine_submit(e, &r) < 0) rc = cli_lib_error();
    }
    const double t0 = cli_now();
    while (!rc) { /* prompt processing: until every sequence has its first token */
        int all = 1;
        for (int i = 0; i < B && !rc; i++) {
            if (!p[i].first && p[i].done) rc = prog_failed(&p[i]); /* else this would wait forever */
            all &= p[i].first;
        }
        if (all || rc) break;
        if (lmc_engine_step(e) < 0) rc = cli_lib_error();
    }
    const double t1 = cli_now();
    if (!rc && lmc_engine_run(e) < 0) rc = cli_lib_error();
    const double t2 = cli_now();
    for (int i = 0; i < B && !rc; i++)
        if (p[i].error[0]) rc = prog_failed(&p[i]);
    int64_t gen = 0;
    for (int i = 0; i < B; i++) gen += p[i].n_gen - 1;
    *t_pp = t1 - t0, *t_tg = t2 - t1, *gen_out = gen;
    free(p), free(prompt);
    lmc_engine_free(e);
    return rc;
}

static int bench_throughput(const lmc_model *m, int nt, int n_batch, lmc_type kv, long long kv_mib, int npp, int ntg,
                            const int *npl, int n_npl, int reps) {
    if (reps > 1)
        printf("\n(each row: the mean of %d runs, a fresh engine each; ± the standard deviation of the rates)\n",
               reps);
    printf("\n|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |\n"
           "|-------|--------|------|--------|----------|----------|----------|----------|\n");
    for (int k = 0; k < n_npl; k++) {
        const int B = npl[k];
        double tpp[64], ttg[64], spp[64], stg[64];
        for (int r = 0; r < reps; r++) {
            int64_t gen = 0;
            int rc = throughput_once(m, nt, n_batch, kv, kv_mib, npp, ntg, B, &tpp[r], &ttg[r], &gen);
            if (rc) return rc;
            spp[r] = (double)B * npp / tpp[r];
            stg[r] = (double)gen / ttg[r];
        }
        double mtpp, mttg, mspp, sspp, mstg, sstg, dummy;
        cli_mean_sd(tpp, reps, &mtpp, &dummy);
        cli_mean_sd(ttg, reps, &mttg, &dummy);
        cli_mean_sd(spp, reps, &mspp, &sspp);
        cli_mean_sd(stg, reps, &mstg, &sstg);
        printf("| %5d | %6d | %4d | %6d | %8.3f | %8.2f", npp, ntg, B, B * (npp + ntg), mtpp, mspp);
        if (reps > 1) printf(" ± %.2f", sspp);
        printf(" | %8.3f | %8.2f", mttg, mstg);
        if (reps > 1) printf(" ± %.2f", sstg);
        printf(" |\n");
        fflush(stdout);
    }
    return CLI_OK;
}

static int bench_ttft(const lmc_model *m, int nt, int n_batch, lmc_type kv, long long kv_mib, int n_prefix) {
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    const int n_own = 16;
    lmc_engine *e = make_engine(m, NULL, nt, n_prefix + n_own + 8, n_batch, kv, kv_mib, 3 * (int64_t)(n_prefix + n_own + 8), 4);
    if (!e) return CLI_ERR;
    int32_t *tok = malloc((size_t)(n_prefix + n_own) * sizeof *tok);
    int rc = tok ? CLI_OK : cli_error("out of memory");
    for (int j = 0; j < n_prefix && !rc; j++) tok[j] = rand_tok(V);
    double ttft[3];
    for (int run = 0; run < 3 && !rc; run++) { /* cold, cached, cached with another suffix */
        for (int j = 0; j < n_own; j++) tok[n_prefix + j] = rand_tok(V);
        prog p = {0};
        lmc_engine_request r = lmc_engine_default_request();
        r.tokens = tok;
        r.n_tokens = n_prefix + n_own;
        r.max_tokens = 1;
        r.on_event = on_ev;
        r.user = &p;
        const double t0 = cli_now();
        if (lmc_engine_submit(e, &r) < 0) rc = cli_lib_error();
        while (!rc && !p.first) {
            if (p.done) rc = prog_failed(&p); /* else this would wait forever */
            else if (lmc_engine_step(e) < 0) rc = cli_lib_error();
        }
        ttft[run] = (cli_now() - t0) * 1e3;
        if (!rc && lmc_engine_run(e) < 0) rc = cli_lib_error();
    }
    if (!rc) {
        lmc_engine_stats st;
        lmc_engine_get_stats(e, &st);
        printf("\ntime to first token behind a shared %d-token system prompt (+%d own tokens):\n"
               "  cold    %9.2f ms\n  cached  %9.2f ms  (%.1f%% of cold)\n  cached  %9.2f ms  (another suffix)\n"
               "  prefix-cache hits: %lld prompt tokens; KV %zu bytes/token\n",
               n_prefix, n_own, ttft[0], ttft[1], 100.0 * ttft[1] / ttft[0], ttft[2], (long long)st.n_cached_tokens,
               st.kv_bytes_per_token);
    }
    free(tok);
    lmc_engine_free(e);
    return rc;
}

typedef struct {
    lmc_engine *e;
    const int32_t *tok;
    int64_t n_chunks, chunk;
    int64_t next;
    pthread_mutex_t mu;
    double nll;
    int64_t n;
    int rc;
    int32_t bos;
} ppl_job;

/* llama-perplexity's method: chunk c is tokens [c*n, (c+1)*n) with its first token
 * replaced by BOS; the logits at positions n/2 .. n-2 score tokens n/2+1 .. n-1. */
static void *ppl_worker(void *arg) {
    ppl_job *j = arg;
    const int64_t n = j->chunk, first = n / 2, n_score = n - 1 - first;
    float *lp = malloc((size_t)n_score * sizeof *lp);
    int32_t *t = malloc((size_t)n * sizeof *t);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        const int64_t c = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (c >= j->n_chunks || !lp || !t) break;
        memcpy(t, j->tok + c * n, (size_t)n * sizeof *t);
        if (j->bos >= 0) t[0] = j->bos;
        int rc = lmc_engine_score(j->e, t, first + 1, t + first + 1, n_score, lp, NULL, 0, NULL);
        double s = 0;
        for (int64_t i = 0; i < n_score; i++) s -= lp[i];
        pthread_mutex_lock(&j->mu);
        if (rc) j->rc = rc;
        j->nll += s;
        j->n += n_score;
        pthread_mutex_unlock(&j->mu);
    }
    free(lp);
    free(t);
    return NULL;
}

static int bench_ppl(const lmc_model *m, const char *path, int nt, int n_ctx, int n_batch, lmc_type kv,
                     long long kv_mib, long long max_chunks) {
    lmc_vocab *v = lmc_vocab_load(lmc_model_gguf(m));
    if (!v) return cli_lib_error();
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) return cli_error("cannot read %s", path);
    fclose(f);
    text[len] = 0;
    int32_t *tok;
    int64_t n_tok;
    if (lmc_tokenize(v, text, (size_t)len, true, false, &tok, &n_tok)) return cli_lib_error();
    free(text);
    ppl_job j = {.tok = tok, .chunk = n_ctx, .n_chunks = n_tok / n_ctx,
                 .bos = lmc_vocab_add_bos(v) ? lmc_vocab_bos(v) : -1};
    if (max_chunks > 0 && j.n_chunks > max_chunks) j.n_chunks = max_chunks;
    enum { NW = 4 }; /* a few requests at once, batched by the engine */
    lmc_engine_params ep = lmc_engine_default_params();
    ep.n_threads = nt;
    ep.n_ctx = n_ctx;
    ep.n_batch = n_batch;
    ep.kv_type = kv;
    ep.prefix_cache = false;
    const lmc_model_hparams *hp = lmc_model_get_hparams(m);
    const size_t bpt = 2 * (size_t)hp->n_layer * lmc_type_row_bytes(kv, (int64_t)hp->n_head_kv * hp->head_dim);
    ep.kv_mem = kv_mib > 0 ? kv_mib * 1048576LL : (int64_t)(bpt * (size_t)(NW * (n_ctx + 16)));
    j.e = lmc_engine_init(m, v, ep);
    if (!j.e) return cli_lib_error();
    pthread_mutex_init(&j.mu, NULL);
    const double t0 = cli_now();
    pthread_t th[NW];
    for (int i = 0; i < NW; i++) pthread_create(&th[i], NULL, ppl_worker, &j);
    for (int i = 0; i < NW; i++) pthread_join(th[i], NULL);
    const double t1 = cli_now();
    if (j.rc) return cli_lib_error();
    lmc_engine_stats st;
    lmc_engine_get_stats(j.e, &st);
    printf("perplexity (kv %s, %lld chunks of %d, llama-perplexity method): %.4f  (%lld tokens, %.1f s, KV %zu bytes/token)\n",
           lmc_type_name(kv), (long long)j.n_chunks, n_ctx, exp(j.nll / (double)j.n), (long long)j.n, t1 - t0,
           st.kv_bytes_per_token);
    lmc_engine_free(j.e);
    free(tok);
    lmc_vocab_free(v);
    return CLI_OK;
}

int cmd_bench_engine(int argc, char **argv) {
    const char *cmd = "bench-engine", *model = NULL, *ppl = NULL;
    long long nt = cli_default_threads(), npp = 128, ntg = 128, prefix = 1000, n_ctx = 0, n_batch = 512, kv_mib = 0,
              chunks = 0, reps = 1;
    int npl[16] = {1, 4, 16, 64}, n_npl = 4;
    bool do_tp = false, do_ttft = false;
    lmc_type kv = LMC_TYPE_F16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(HELP, stdout);
            return CLI_OK;
        } else if (!strcmp(a, "-m")) rc = cli_value(cmd, argc, argv, &i, &model);
        else if (!strcmp(a, "-t")) rc = cli_int(cmd, argc, argv, &i, 1, 1024, &nt);
        else if (!strcmp(a, "-npp")) rc = cli_int(cmd, argc, argv, &i, 1, 1 << 20, &npp);
        else if (!strcmp(a, "-ntg")) rc = cli_int(cmd, argc, argv, &i, 1, 1 << 20, &ntg);
        else if (!strcmp(a, "--prefix")) rc = cli_int(cmd, argc, argv, &i, 16, 1 << 20, &prefix);
        else if (!strcmp(a, "-c")) rc = cli_int(cmd, argc, argv, &i, 16, 1 << 24, &n_ctx);
        else if (!strcmp(a, "-b")) rc = cli_int(cmd, argc, argv, &i, 1, 1 << 16, &n_batch);
        else if (!strcmp(a, "--kv-mem")) rc = cli_int(cmd, argc, argv, &i, 1, 1 << 30, &kv_mib);
        else if (!strcmp(a, "--chunks")) rc = cli_int(cmd, argc, argv, &i, 1, 1 << 30, &chunks);
        else if (!strcmp(a, "-r")) rc = cli_int(cmd, argc, argv, &i, 1, 64, &reps);
        else if (!strcmp(a, "--throughput")) do_tp = true;
        else if (!strcmp(a, "--ttft")) do_ttft = true;
        else if (!strcmp(a, "--ppl")) rc = cli_value(cmd, argc, argv, &i, &ppl);
        else if (!strcmp(a, "--kv-type")) {
            if ((rc = cli_value(cmd, argc, argv, &i, &val))) return rc;
            if (!strcmp(val, "f32")) kv = LMC_TYPE_F32;
            else if (!strcmp(val, "f16")) kv = LMC_TYPE_F16;
            else if (!strcmp(val, "q8_0")) kv = LMC_TYPE_Q8_0;
            else return cli_usage_error(cmd, "--kv-type must be f32, f16 or q8_0, got '%s'", val);
        } else if (!strcmp(a, "-npl")) {
            if ((rc = cli_value(cmd, argc, argv, &i, &val))) return rc;
            n_npl = 0;
            for (const char *p = val; *p && n_npl < 16;) {
                char *end;
                long x = strtol(p, &end, 10);
                if (end == p || x < 1 || x > 4096) return cli_usage_error(cmd, "bad -npl list '%s'", val);
                npl[n_npl++] = (int)x;
                p = *end == ',' ? end + 1 : end;
                if (*end && *end != ',') return cli_usage_error(cmd, "bad -npl list '%s'", val);
            }
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        }
        if (rc) return rc;
    }
    char def[4096];
    if (!model) {
        if (lmc_default_model_path(def, sizeof def)) return cli_usage_error(cmd, "no model: give -m MODEL");
        model = def;
    }
    if (!do_tp && !do_ttft && !ppl) do_tp = do_ttft = true;
    lmc_model *m = lmc_model_load(model);
    if (!m) return cli_lib_error();
    printf("lmc bench-engine: %s, %lld thread(s), kv %s, batch %lld\n", model, nt, lmc_type_name(kv), n_batch);
    int rc = CLI_OK;
    if (do_tp) rc = bench_throughput(m, (int)nt, (int)n_batch, kv, kv_mib, (int)npp, (int)ntg, npl, n_npl, (int)reps);
    if (!rc && do_ttft) rc = bench_ttft(m, (int)nt, (int)n_batch, kv, kv_mib, (int)prefix);
    if (!rc && ppl) rc = bench_ppl(m, ppl, (int)nt, n_ctx ? (int)n_ctx : 512, (int)n_batch, kv, kv_mib, chunks);
    lmc_model_free(m);
    return rc;
}
