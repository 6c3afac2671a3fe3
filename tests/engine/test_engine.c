/* Serving engine tests (src/engine/). References: the single-sequence path
 * (lmc_decode, itself matched to llama.cpp in tests/model) and llama.cpp's own
 * greedy tokens in shared/ref/generation/<case>.json.
 *
 *   test_engine logits <case> [kv]   (kv f32, f16 or f16fa: F16 with flash numerics)
 *                                    every step's logits through the engine equal
 *                                    lmc_decode's within 1e-5; greedy tokens equal
 *                                    llama.cpp's; score() equals log-softmax of
 *                                    lmc_decode's logits; blocks back to 0
 *   test_engine concurrent <case>    64 requests of different lengths at once (and
 *                                    again with a tiny pool: preemption) give the
 *                                    tokens each gives alone under lmc_decode
 *   test_engine prefix <case>        cached run == cold run; n > 1 copy-on-write
 *                                    outputs == separate requests with seed + index
 *   test_engine cancel <case>        cancel mid-generation (background thread, and
 *                                    4 threads submitting/cancelling) frees all
 *   test_engine text <case>          text prompt, stop string, poll mode, EOG
 *   test_engine q8 <case>            q8_0 KV: close to f32, greedy tokens agree
 *   test_engine beam <case>          beam search over the engine (blocks shared
 *                                    copy-on-write) == lmc_beam_search_model
 *   test_engine ppl stories260K...   perplexity of wiki16k scored through the engine
 *                                    (4 threads) == llama-perplexity's (expected.tsv) */
#include "lmc.h"
#include "test_util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LMC_TEST_MIN(a, b) ((a) < (b) ? (a) : (b))

static int g_threads = 1; /* engine threads of the next engine_for */
static bool g_flash;      /* llama.cpp's flash-attention numerics, engine and reference */

/* ---- reference case ---------------------------------------------------------------- */

typedef struct {
    char model[512];
    int32_t tok[256]; /* prompt + generated (llama.cpp greedy) */
    int n_prompt, n_tok;
} ref_case;

static int json_ints(const char *js, const char *key, int32_t *out, int cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": [", key);
    const char *p = strstr(js, pat);
    if (!p) return -1;
    p += strlen(pat);
    int n = 0;
    while (*p && *p != ']' && n < cap) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        out[n++] = (int32_t)v;
        p = end;
        while (*p == ',' || *p == ' ' || *p == '\n') p++;
    }
    return n;
}

static bool load_case(const char *name, ref_case *c) {
    char rel[512];
    snprintf(rel, sizeof rel, "ref/generation/%s.json", name);
    char *js = t_read_file(t_shared(rel), NULL);
    if (!js) return false;
    const char *mp = strstr(js, "\"model_path\": \"");
    bool ok = mp != NULL;
    if (ok) {
        mp += strlen("\"model_path\": \"");
        const char *q = strchr(mp, '"');
        char path[400];
        snprintf(path, sizeof path, "models/%.*s", (int)(q - mp), mp);
        snprintf(c->model, sizeof c->model, "%s", t_shared(path));
        c->n_prompt = json_ints(js, "prompt_tokens", c->tok, 256);
        int ng = json_ints(js, "generated_tokens", c->tok + c->n_prompt, 256 - c->n_prompt);
        ok = c->n_prompt > 0 && ng > 0;
        c->n_tok = c->n_prompt + ng;
    }
    free(js);
    return ok;
}

/* lmc_decode greedy: logits[n_new][V] of each step (from the prompt's last token on)
 * and the chosen tokens. */
static int ref_generate(const lmc_model *m, const int32_t *prompt, int n_prompt, int n_new, lmc_type kv,
                        float *logits, int32_t *out) {
    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = n_prompt + n_new + 1;
    cp.kv_type = kv;
    cp.flash_attn = g_flash;
    lmc_context *c = lmc_context_init(m, cp);
    if (!c) return -1;
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    int rc = lmc_decode(c, prompt, n_prompt, logits, false);
    for (int i = 0; i < n_new && !rc; i++) {
        out[i] = lmc_argmax(logits + (size_t)i * V, V);
        if (i + 1 < n_new) rc = lmc_decode(c, &out[i], 1, logits + (size_t)(i + 1) * V, false);
    }
    lmc_context_free(c);
    return rc;
}

static void check_blocks_free(lmc_engine *e, const char *what) {
    lmc_engine_stats st;
    /* a background engine publishes its stats at the end of a step, just after the
     * waiter may have woken */
    for (int i = 0; i < 200; i++) {
        lmc_engine_get_stats(e, &st);
        if (st.n_blocks_used == 0 && st.n_running == 0 && st.n_waiting == 0) break;
        usleep(1000);
    }
    CHECK_MSG(st.n_blocks_used == 0 && st.n_running == 0 && st.n_waiting == 0,
              "%s: %lld blocks still used, %lld running, %lld waiting", what, (long long)st.n_blocks_used,
              (long long)st.n_running, (long long)st.n_waiting);
}

/* collects one output's events */
typedef struct {
    int32_t tok[512];
    float *logits; /* [cap][V] when wanted */
    int n, V;
    lmc_finish_reason fin;
    char text[4096];
    size_t text_len;
    int n_events_after_finish;
    pthread_mutex_t mu;
} sink;

static void on_event(const lmc_engine_event *ev, void *user) {
    sink *s = (sink *)user + ev->index;
    pthread_mutex_lock(&s->mu);
    if (s->fin != LMC_FINISH_NONE) s->n_events_after_finish++;
    if (ev->token >= 0 && s->n < 512) {
        if (s->logits && ev->logits) memcpy(s->logits + (size_t)s->n * s->V, ev->logits, (size_t)s->V * sizeof(float));
        s->tok[s->n++] = ev->token;
    }
    if (ev->text && s->text_len + ev->text_len < sizeof s->text) {
        memcpy(s->text + s->text_len, ev->text, ev->text_len);
        s->text_len += ev->text_len;
    }
    if (ev->finish != LMC_FINISH_NONE) s->fin = ev->finish;
    pthread_mutex_unlock(&s->mu);
}

static void sink_init(sink *s, int n, int V) {
    for (int i = 0; i < n; i++) {
        memset(&s[i], 0, sizeof s[i]);
        s[i].V = V;
        pthread_mutex_init(&s[i].mu, NULL);
    }
}

/* a request for the n tokens at tok, at most max_tokens generated, its events into s */
static lmc_engine_request sink_request(const int32_t *tok, int64_t n, int64_t max_tokens, sink *s) {
    lmc_engine_request r = lmc_engine_default_request();
    r.tokens = tok;
    r.n_tokens = n;
    r.max_tokens = max_tokens;
    r.on_event = on_event;
    r.user = s;
    return r;
}


static lmc_engine *engine_for(const lmc_model *m, lmc_type kv, int64_t kv_mem, int n_batch, bool bg, bool prefix) {
    lmc_engine_params ep = lmc_engine_default_params();
    ep.n_threads = g_threads;
    ep.flash_attn = g_flash;
    ep.n_ctx = 256;
    ep.kv_mem = kv_mem;
    ep.kv_type = kv;
    ep.n_batch = n_batch;
    ep.background = bg;
    ep.prefix_cache = prefix;
    if (!kv_mem) { /* room for 64 sequences of up to 96 positions */
        ep.n_ctx = 256;
        const lmc_model_hparams *hp = lmc_model_get_hparams(m);
        size_t row = lmc_type_row_bytes(kv, (int64_t)hp->n_head_kv * hp->head_dim);
        ep.kv_mem = (int64_t)(2 * (size_t)hp->n_layer * row * 64 * 96);
    }
    lmc_engine *e = lmc_engine_init(m, NULL, ep);
    if (!e) fprintf(stderr, "lmc_engine_init: %s\n", lmc_last_error());
    return e;
}

/* ---- logits ----------------------------------------------------------------------------- */

static void test_logits(const ref_case *c, lmc_type kv, bool check_ref_tokens) {
    lmc_model *m = lmc_model_load(c->model);
    CHECK(m != NULL);
    if (!m) return;
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    const int n_new = LMC_TEST_MIN(c->n_tok - c->n_prompt, 24);
    float *ref = malloc((size_t)n_new * V * sizeof(float));
    int32_t ref_tok[256];
    CHECK(ref_generate(m, c->tok, c->n_prompt, n_new, kv, ref, ref_tok) == 0);
    if (check_ref_tokens) /* lmc_decode reproduces llama.cpp here (tests/model); the engine must too */
        for (int i = 0; i < n_new; i++) CHECK_EQ_INT(ref_tok[i], c->tok[c->n_prompt + i]);

    for (int bg = 0; bg < 2; bg++) {
        g_threads = bg ? 2 : 1; /* the thread pool splits attention differently */
        lmc_engine *e = engine_for(m, kv, 0, 512, bg, true);
        CHECK(e != NULL);
        if (!e) break;
        sink s;
        sink_init(&s, 1, V);
        s.logits = malloc((size_t)n_new * V * sizeof(float));
        lmc_engine_request r = sink_request(c->tok, c->n_prompt, n_new, &s);
        r.want_logits = true;
        int64_t id = lmc_engine_submit(e, &r);
        CHECK(id > 0);
        if (bg) lmc_engine_wait(e, id);
        else CHECK(lmc_engine_run(e) == 0);
        CHECK_EQ_INT(s.n, n_new);
        CHECK_EQ_INT(s.fin, LMC_FINISH_LENGTH);
        double md = 0;
        for (int i = 0; i < s.n && i < n_new; i++) {
            CHECK_EQ_INT(s.tok[i], ref_tok[i]);
            for (int32_t j = 0; j < V; j++) md = fmax(md, fabs((double)s.logits[(size_t)i * V + j] - ref[(size_t)i * V + j]));
        }
        CHECK_MSG(md <= 1e-5, "engine vs lmc_decode logits: max |diff| %.3g", md);
        printf("  %s kv %s bg %d: %d tokens, max |logit diff| vs lmc_decode %.3g\n", c->model, lmc_type_name(kv), bg,
               s.n, md);
        check_blocks_free(e, "after generation");

        /* score: log p(generated | prompt) = log-softmax of lmc_decode's logits over the
         * prompt and the generated tokens in one call (the same shapes) */
        float *ref_all = malloc((size_t)(c->n_prompt + n_new) * V * sizeof(float));
        {
            lmc_context_params cp = lmc_context_default_params();
            cp.n_ctx = 256;
            cp.kv_type = kv;
            cp.flash_attn = g_flash;
            lmc_context *cx = lmc_context_init(m, cp);
            int32_t all[256];
            memcpy(all, c->tok, (size_t)c->n_prompt * sizeof(int32_t));
            memcpy(all + c->n_prompt, ref_tok, (size_t)n_new * sizeof(int32_t));
            CHECK(cx && lmc_decode(cx, all, c->n_prompt + n_new, ref_all, true) == 0);
            lmc_context_free(cx);
        }
        float lp[256];
        bool greedy[256];
        lmc_token_logprob top[256 * 3];
        CHECK(lmc_engine_score(e, c->tok, c->n_prompt, ref_tok, n_new, lp, greedy, 3, top) == 0);
        double ms = 0;
        for (int i = 0; i < n_new; i++) {
            const float *l = ref_all + (size_t)(c->n_prompt - 1 + i) * V;
            double mx = -INFINITY, sum = 0;
            for (int32_t j = 0; j < V; j++) mx = fmax(mx, l[j]);
            for (int32_t j = 0; j < V; j++) sum += exp((double)l[j] - mx);
            const double want = (double)l[ref_tok[i]] - mx - log(sum);
            ms = fmax(ms, fabs(want - lp[i]));
            CHECK(greedy[i]);
            CHECK_EQ_INT(top[i * 3].id, ref_tok[i]);
            CHECK(top[i * 3].logprob >= top[i * 3 + 1].logprob && top[i * 3 + 1].logprob >= top[i * 3 + 2].logprob);
        }
        CHECK_MSG(ms <= 1e-5, "score vs lmc_decode log-softmax: max |diff| %.3g", ms);
        free(ref_all);
        check_blocks_free(e, "after score");

        /* embed: finite, unit norm when normalized; LAST of a prefix equals LAST pooled
         * state computed inside a longer batch (same positions, same weights) */
        const int64_t C = lmc_model_get_hparams(m)->n_embd;
        float *emb = malloc((size_t)C * sizeof(float)), *emb2 = malloc((size_t)C * sizeof(float));
        CHECK(lmc_engine_embed(e, c->tok, c->n_prompt, LMC_POOLING_MEAN, true, emb) == 0);
        double nrm = 0;
        for (int64_t j = 0; j < C; j++) nrm += (double)emb[j] * emb[j];
        CHECK_NEAR(nrm, 1.0, 1e-4);
        CHECK(lmc_engine_embed(e, c->tok, c->n_prompt, LMC_POOLING_LAST, false, emb2) == 0);
        CHECK(isfinite(emb2[0]) && isfinite(emb2[C - 1]));
        free(emb);
        free(emb2);
        check_blocks_free(e, "after embed");
        free(s.logits);
        lmc_engine_free(e);
    }
    free(ref);
    lmc_model_free(m);
}

/* ---- concurrency + preemption -------------------------------------------------------------- */

#define NREQ 64

static void test_concurrent(const ref_case *c) {
    lmc_model *m = lmc_model_load(c->model);
    CHECK(m != NULL);
    if (!m) return;
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    /* request i: a prompt of the reference stream's tokens [i % 7, i % 7 + len) */
    int off[NREQ], len[NREQ], gen[NREQ];
    static int32_t want[NREQ][64];
    float *scratch = malloc((size_t)64 * V * sizeof(float));
    for (int i = 0; i < NREQ; i++) {
        off[i] = i % 7;
        len[i] = 1 + (i * 13) % LMC_TEST_MIN(c->n_tok - 8, 40);
        gen[i] = 2 + (i * 5) % 20;
        if (ref_generate(m, c->tok + off[i], len[i], gen[i], LMC_TYPE_F16, scratch, want[i])) CHECK(0);
    }
    free(scratch);
    /* pool sizes: plenty, then ~6 sequences' worth (preemption) */
    const lmc_model_hparams *hp = lmc_model_get_hparams(m);
    const int64_t tok_bytes = 2 * (int64_t)hp->n_layer * (int64_t)lmc_type_row_bytes(LMC_TYPE_F16, (int64_t)hp->n_head_kv * hp->head_dim);
    const int64_t pools[2] = {0, tok_bytes * 16 * 8};
    for (int pi = 0; pi < 2; pi++)
        for (int prefix = 0; prefix < 2; prefix++) {
            g_threads = 1 + prefix;
            lmc_engine *e = engine_for(m, LMC_TYPE_F16, pools[pi], 96, false, prefix);
            CHECK(e != NULL);
            if (!e) continue;
            sink *s = malloc(NREQ * sizeof *s);
            sink_init(s, NREQ, V);
            for (int i = 0; i < NREQ; i++) {
                lmc_engine_request r = sink_request(c->tok + off[i], len[i], gen[i], &s[i]);
                CHECK(lmc_engine_submit(e, &r) > 0);
            }
            /* one more whose sampler must fail (every token banned): it ends with an error,
             * sampled ahead on the threads or not, and the others are not disturbed */
            lmc_logit_bias *ban = malloc((size_t)V * sizeof *ban);
            for (int32_t v = 0; v < V; v++) ban[v] = (lmc_logit_bias){v, -INFINITY};
            sink banned;
            sink_init(&banned, 1, V);
            lmc_engine_request rb = sink_request(c->tok, 5, 4, &banned);
            rb.sampling.logit_bias = ban;
            rb.sampling.n_logit_bias = (size_t)V;
            CHECK(lmc_engine_submit(e, &rb) > 0);
            CHECK(lmc_engine_run(e) == 0);
            CHECK_MSG(banned.fin == LMC_FINISH_ERROR && banned.n == 0,
                      "all tokens banned: finish %d after %d tokens, want an error and none", (int)banned.fin, banned.n);
            free(ban);
            int bad = 0;
            for (int i = 0; i < NREQ; i++) {
                bool same = s[i].n == gen[i] && s[i].fin == LMC_FINISH_LENGTH;
                for (int k = 0; same && k < gen[i]; k++) same = s[i].tok[k] == want[i][k];
                if (!same && bad++ < 3)
                    fprintf(stderr, "request %d (prompt %d, gen %d): %d tokens, first diff\n", i, len[i], gen[i], s[i].n);
            }
            CHECK_MSG(bad == 0, "%d of %d requests differ from lmc_decode alone (pool %lld, prefix %d)", bad, NREQ,
                      (long long)pools[pi], prefix);
            lmc_engine_stats st;
            lmc_engine_get_stats(e, &st);
            printf("  pool %lld blocks, prefix cache %d: %lld steps, %lld preempted, %lld cached prompt tokens\n",
                   (long long)st.n_blocks, prefix, (long long)st.n_steps, (long long)st.n_preempted,
                   (long long)st.n_cached_tokens);
            if (pi == 1) CHECK_MSG(st.n_preempted > 0, "the tiny pool should have forced preemption");
            check_blocks_free(e, "after 64 requests");
            free(s);
            lmc_engine_free(e);
        }
    lmc_model_free(m);
}

/* ---- prefix cache + copy-on-write ------------------------------------------------------------ */

static void test_prefix(const ref_case *c) {
    lmc_model *m = lmc_model_load(c->model);
    CHECK(m != NULL);
    if (!m) return;
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    lmc_engine *e = engine_for(m, LMC_TYPE_F16, 0, 512, false, true);
    CHECK(e != NULL);
    if (!e) return;
    const int n_prompt = LMC_TEST_MIN(c->n_tok - 8, 40), n_new = 8;
    sink s[2];
    sink_init(s, 2, V);
    for (int run = 0; run < 2; run++) {
        s[run].logits = malloc((size_t)n_new * V * sizeof(float));
        lmc_engine_request r = sink_request(c->tok, n_prompt, n_new, &s[run]);
        r.want_logits = true;
        CHECK(lmc_engine_submit(e, &r) > 0);
        CHECK(lmc_engine_run(e) == 0);
    }
    lmc_engine_stats st;
    lmc_engine_get_stats(e, &st);
    CHECK_EQ_INT(st.n_cached_tokens, (n_prompt - 1) / 16 * 16);
    double md = 0;
    int same_bits = 1;
    for (int i = 0; i < n_new; i++) {
        CHECK_EQ_INT(s[0].tok[i], s[1].tok[i]);
        for (int32_t j = 0; j < V; j++) {
            const float a = s[0].logits[(size_t)i * V + j], b = s[1].logits[(size_t)i * V + j];
            md = fmax(md, fabs((double)a - b));
            same_bits &= memcmp(&a, &b, 4) == 0;
        }
    }
    CHECK_MSG(md <= 1e-5, "cached vs cold logits: max |diff| %.3g", md);
    printf("  prefix cache: %lld of %d prompt tokens reused; cached vs cold logits max |diff| %.3g (bitwise %s)\n",
           (long long)st.n_cached_tokens, n_prompt, md, same_bits ? "yes" : "no");
    free(s[0].logits);
    free(s[1].logits);
    check_blocks_free(e, "after prefix runs");

    /* n = 4 sampled outputs sharing the prompt == 4 separate requests with seed + k */
    sink nk[4], sep[4];
    sink_init(nk, 4, V);
    sink_init(sep, 4, V);
    lmc_engine_request r = sink_request(c->tok, 21, 12, nk); /* a partial last block: shared, then copied on write */
    r.sampling.temp = 1.0f;
    r.sampling.top_k = 0;
    r.sampling.top_p = 1.0f;
    r.sampling.min_p = 0.0f;
    r.sampling.seed = 1234;
    r.n = 4;
    CHECK(lmc_engine_submit(e, &r) > 0);
    CHECK(lmc_engine_run(e) == 0);
    for (int k = 0; k < 4; k++) {
        lmc_engine_request q = r;
        q.n = 1;
        q.sampling.seed = 1234 + (uint64_t)k;
        q.user = &sep[k];
        CHECK(lmc_engine_submit(e, &q) > 0);
    }
    CHECK(lmc_engine_run(e) == 0);
    int distinct = 0;
    for (int k = 0; k < 4; k++) {
        CHECK_EQ_INT(nk[k].n, 12);
        CHECK_EQ_INT(sep[k].n, 12);
        CHECK(memcmp(nk[k].tok, sep[k].tok, 12 * sizeof(int32_t)) == 0);
        if (k && memcmp(nk[k].tok, nk[0].tok, 12 * sizeof(int32_t))) distinct++;
    }
    CHECK_MSG(distinct > 0, "n=4 at temperature 1 gave 4 identical outputs");
    check_blocks_free(e, "after n=4");
    lmc_engine_free(e);
    lmc_model_free(m);
}

/* ---- cancel, threads ------------------------------------------------------------------------- */

typedef struct {
    lmc_engine *e;
    const ref_case *c;
    int seed;
    int n_done;
} thr_arg;

static void *thread_main(void *p) {
    thr_arg *a = p;
    int64_t ids[16];
    for (int i = 0; i < 16; i++) {
        lmc_engine_request r = lmc_engine_default_request();
        r.tokens = a->c->tok + (i % 5);
        r.n_tokens = 3 + (a->seed * 7 + i * 3) % 20;
        r.max_tokens = 200;
        r.ignore_eog = true;
        r.n = 1 + (i % 3 == 0);
        r.n_logprobs = 2;
        ids[i] = lmc_engine_submit(a->e, &r);
        if (i % 2 == 1) lmc_engine_cancel(a->e, ids[i - 1]);
    }
    for (int i = 0; i < 16; i++) {
        lmc_engine_event ev;
        int open = 1 + (i % 3 == 0), got;
        int guard = 0;
        while (open > 0 && (got = lmc_engine_poll(a->e, ids[i], &ev, 1000)) >= 0 && guard++ < 100000) {
            if (got == 1 && ev.finish != LMC_FINISH_NONE) open--;
            if (got == 0 && i % 4 == 3) lmc_engine_cancel(a->e, ids[i]);
        }
        if (open == 0) a->n_done++;
        lmc_engine_release(a->e, ids[i]);
    }
    return NULL;
}

static void test_cancel(const ref_case *c) {
    lmc_model *m = lmc_model_load(c->model);
    CHECK(m != NULL);
    if (!m) return;
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    g_threads = 2;
    lmc_engine *e = engine_for(m, LMC_TYPE_F16, 0, 64, true, true);
    CHECK(e != NULL);
    if (!e) return;
    /* callback requests cancelled after a few tokens */
    sink s[8];
    sink_init(s, 8, V);
    int64_t ids[8];
    for (int i = 0; i < 8; i++) {
        lmc_engine_request r = sink_request(c->tok, 5 + i, 10000, &s[i]);
        r.ignore_eog = true;
        ids[i] = lmc_engine_submit(e, &r);
        CHECK(ids[i] > 0);
    }
    for (int tries = 0; tries < 2000; tries++) {
        int ready = 0;
        for (int i = 0; i < 8; i++) {
            pthread_mutex_lock(&s[i].mu);
            ready += s[i].n >= 3;
            pthread_mutex_unlock(&s[i].mu);
        }
        if (ready == 8) break;
        usleep(1000);
    }
    for (int i = 0; i < 8; i++) CHECK(lmc_engine_cancel(e, ids[i]) == 0);
    for (int i = 0; i < 8; i++) lmc_engine_wait(e, ids[i]);
    for (int i = 0; i < 8; i++) {
        CHECK_EQ_INT(s[i].fin, LMC_FINISH_CANCELLED);
        CHECK_EQ_INT(s[i].n_events_after_finish, 0);
        CHECK(s[i].n >= 3);
    }
    usleep(20000);
    check_blocks_free(e, "after cancel");

    /* 4 threads submitting, polling and cancelling at once */
    pthread_t th[4];
    thr_arg a[4];
    for (int t = 0; t < 4; t++) {
        a[t] = (thr_arg){.e = e, .c = c, .seed = t};
        pthread_create(&th[t], NULL, thread_main, &a[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        CHECK_EQ_INT(a[t].n_done, 16);
    }
    usleep(20000);
    check_blocks_free(e, "after threads");
    /* free with requests still running: they end cancelled */
    sink late;
    sink_init(&late, 1, V);
    lmc_engine_request r = sink_request(c->tok, 4, 100000, &late);
    r.ignore_eog = true;
    CHECK(lmc_engine_submit(e, &r) > 0);
    lmc_engine_free(e);
    CHECK_EQ_INT(late.fin, LMC_FINISH_CANCELLED);
    lmc_model_free(m);
}

/* ---- text, stop strings, poll ------------------------------------------------------------------ */

static void test_text(const ref_case *c) {
    lmc_model *m = lmc_model_load(c->model);
    CHECK(m != NULL);
    if (!m) return;
    lmc_vocab *v = lmc_vocab_load(lmc_model_gguf(m));
    CHECK(v != NULL);
    lmc_engine_params ep = lmc_engine_default_params();
    ep.n_ctx = 256;
    ep.background = true;
    lmc_engine *e = lmc_engine_init(m, v, ep);
    CHECK(e != NULL);
    if (!e || !v) return;
    /* llama.cpp's greedy text after "Once upon a time" begins
     * ", there was a little girl named Lily. She loved to play" */
    lmc_engine_request r = lmc_engine_default_request();
    r.text = "Once upon a time";
    const char *stops[] = {" Lily."};
    r.stop = stops;
    r.n_stop = 1;
    r.max_tokens = 60;
    r.n_logprobs = 0;
    int64_t id = lmc_engine_submit(e, &r);
    CHECK(id > 0);
    char text[1024] = "";
    size_t tl = 0;
    lmc_engine_event ev;
    lmc_finish_reason fin = LMC_FINISH_NONE;
    int n_tok = 0;
    while (lmc_engine_poll(e, id, &ev, 5000) == 1) {
        if (ev.token >= 0) {
            CHECK(ev.token == c->tok[c->n_prompt + n_tok]);
            CHECK(ev.logprob <= 0.0f);
            n_tok++;
        }
        if (tl + ev.text_len < sizeof text) {
            memcpy(text + tl, ev.text, ev.text_len);
            tl += ev.text_len;
            text[tl] = 0;
        }
        if (ev.finish) fin = ev.finish;
    }
    CHECK_EQ_INT(fin, LMC_FINISH_STOP);
    CHECK_STR(text, ", there was a little girl named");
    CHECK(lmc_engine_release(e, id) == 0);
    CHECK(lmc_engine_poll(e, id, &ev, 0) < 0);
    /* bad requests */
    lmc_engine_request bad = lmc_engine_default_request();
    int32_t big = 1 << 30;
    bad.tokens = &big;
    bad.n_tokens = 1;
    CHECK(lmc_engine_submit(e, &bad) < 0);
    bad.n_tokens = 0;
    CHECK(lmc_engine_submit(e, &bad) < 0);
    CHECK(lmc_engine_cancel(e, 999999) < 0);
    lmc_engine_free(e);
    lmc_vocab_free(v);
    lmc_model_free(m);
}

/* ---- q8_0 KV -------------------------------------------------------------------------------------- */

static void test_q8(const ref_case *c) {
    lmc_model *m = lmc_model_load(c->model);
    CHECK(m != NULL);
    if (!m) return;
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    const int n_new = LMC_TEST_MIN(c->n_tok - c->n_prompt, 24);
    float *ref = malloc((size_t)n_new * V * sizeof(float));
    int32_t ref_tok[256];
    CHECK(ref_generate(m, c->tok, c->n_prompt, n_new, LMC_TYPE_F32, ref, ref_tok) == 0);
    lmc_engine *e = engine_for(m, LMC_TYPE_Q8_0, 0, 512, false, true);
    CHECK(e != NULL);
    if (!e) return;
    sink s;
    sink_init(&s, 1, V);
    s.logits = malloc((size_t)n_new * V * sizeof(float));
    lmc_engine_request r = sink_request(c->tok, c->n_prompt, n_new, &s);
    r.want_logits = true;
    CHECK(lmc_engine_submit(e, &r) > 0);
    CHECK(lmc_engine_run(e) == 0);
    /* q8_0 rounds K/V to 8 bits per element: logits move, but little */
    double md = 0;
    int same = 0;
    for (int i = 0; i < s.n; i++) {
        same += s.tok[i] == ref_tok[i];
        for (int32_t j = 0; j < V; j++) md = fmax(md, fabs((double)s.logits[(size_t)i * V + j] - ref[(size_t)i * V + j]));
    }
    printf("  q8_0 KV vs f32 lmc_decode: max |logit diff| %.3g, %d of %d greedy tokens equal\n", md, same, s.n);
    CHECK(md > 0 && md < 1.5); /* stories260K logits reach ~20 */
    CHECK(same >= s.n / 2 && s.tok[0] == ref_tok[0]);
    lmc_engine_stats st;
    lmc_engine_get_stats(e, &st);
    const lmc_model_hparams *hp = lmc_model_get_hparams(m);
    CHECK_EQ_INT(st.kv_bytes_per_token, 2 * hp->n_layer * (hp->n_head_kv * hp->head_dim / 32) * 34);
    check_blocks_free(e, "after q8_0");
    free(s.logits);
    free(ref);
    lmc_engine_free(e);
    lmc_model_free(m);
}

/* ---- perplexity through score(), against llama-perplexity ------------------------------------- */

typedef struct {
    lmc_engine *e;
    const int32_t *tok;
    int32_t bos;
    int n, n_chunks, next;
    double nll;
    int64_t n_scored;
    int rc;
    pthread_mutex_t mu;
} ppl_job;

static void *ppl_worker(void *arg) {
    ppl_job *j = arg;
    const int n = j->n, first = n / 2, n_score = n - 1 - first;
    float lp[1024];
    int32_t t[1024];
    for (;;) {
        pthread_mutex_lock(&j->mu);
        const int c = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (c >= j->n_chunks) break;
        memcpy(t, j->tok + (size_t)c * n, (size_t)n * sizeof *t);
        t[0] = j->bos; /* llama-perplexity puts BOS first in every chunk */
        int rc = lmc_engine_score(j->e, t, first + 1, t + first + 1, n_score, lp, NULL, 0, NULL);
        double s = 0;
        for (int i = 0; i < n_score; i++) s -= lp[i];
        pthread_mutex_lock(&j->mu);
        if (rc) j->rc = rc;
        j->nll += s;
        j->n_scored += n_score;
        pthread_mutex_unlock(&j->mu);
    }
    return NULL;
}

/* expected.tsv: stories260K, c 128: 225.7463 with an F32 KV cache (f32-attn), 225.7680
 * with llama.cpp's default F16 cache. */
static void test_ppl(const ref_case *c, lmc_type kv, double want, double tol) {
    lmc_model *m = lmc_model_load(c->model);
    lmc_vocab *v = m ? lmc_vocab_load(lmc_model_gguf(m)) : NULL;
    size_t len;
    char *text = t_read_file(t_shared("ref/ppl/wiki16k.txt"), &len);
    CHECK(m && v && text);
    if (!m || !v || !text) return;
    int32_t *tok;
    int64_t n_tok;
    CHECK(lmc_tokenize(v, text, len, true, false, &tok, &n_tok) == 0);
    lmc_engine *e = engine_for(m, kv, 0, 256, true, true);
    CHECK(e != NULL);
    if (!e) return;
    ppl_job j = {.e = e, .tok = tok, .bos = lmc_vocab_bos(v), .n = 128, .n_chunks = (int)(n_tok / 128)};
    pthread_mutex_init(&j.mu, NULL);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, ppl_worker, &j);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    CHECK(j.rc == 0);
    CHECK_EQ_INT(j.n_chunks, 78);
    const double ppl = exp(j.nll / (double)j.n_scored);
    printf("  perplexity through the engine (kv %s): %.4f, llama-perplexity %.4f\n", lmc_type_name(kv), ppl, want);
    CHECK_NEAR(ppl, want, tol);
    check_blocks_free(e, "after perplexity");
    lmc_engine_free(e);
    free(tok);
    free(text);
    lmc_vocab_free(v);
    lmc_model_free(m);
}

/* ---- beam search ------------------------------------------------------------------------------- */

typedef struct {
    lmc_engine *e;
    const int32_t *prompt;
    int n_prompt;
    lmc_beam_params bp;
    lmc_beam_result res;
    int rc;
} beam_job;

static void *beam_thread(void *arg) {
    beam_job *j = arg;
    j->rc = lmc_engine_beam_search(j->e, j->prompt, j->n_prompt, &j->bp, &j->res);
    return NULL;
}

static bool same_hyps(const lmc_beam_result *a, const lmc_beam_result *b, double *md) {
    if (a->n_hyps != b->n_hyps) return false;
    for (int32_t h = 0; h < a->n_hyps; h++) {
        if (a->hyps[h].n_tokens != b->hyps[h].n_tokens ||
            memcmp(a->hyps[h].tokens, b->hyps[h].tokens, (size_t)a->hyps[h].n_tokens * sizeof(int32_t)))
            return false;
        *md = fmax(*md, fabs(a->hyps[h].logprob - b->hyps[h].logprob));
    }
    return true;
}

/* the engine's beams (sharing blocks) == lmc_beam_search_model on the single-sequence
 * cache (src/sampling/beam_model.c), also with two searches and generation requests
 * running at once */
static void test_beam(const ref_case *c) {
    lmc_model *m = lmc_model_load(c->model);
    CHECK(m != NULL);
    if (!m) return;
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    lmc_beam_params bp = lmc_beam_default_params();
    bp.n_beams = 4;
    bp.max_tokens = 24;
    bp.n_best = 4;
    const int32_t eog = 2;
    bp.eog = &eog;
    bp.n_eog = 1;
    lmc_beam_result want[2];
    const int np[2] = {c->n_prompt, 21};
    for (int k = 0; k < 2; k++) {
        lmc_context_params cp = lmc_context_default_params();
        cp.n_ctx = 256;
        cp.kv_type = LMC_TYPE_F32;
        lmc_context *cx = lmc_context_init(m, cp);
        CHECK(cx && lmc_beam_search_model(cx, c->tok, np[k], &bp, &want[k]) == 0);
        lmc_context_free(cx);
    }
    for (int bg = 0; bg < 2; bg++) {
        g_threads = 1 + bg;
        lmc_engine *e = engine_for(m, LMC_TYPE_F32, 0, 512, bg, true);
        CHECK(e != NULL);
        if (!e) break;
        double md = 0;
        if (!bg) {
            lmc_beam_result got;
            CHECK(lmc_engine_beam_search(e, c->tok, np[0], &bp, &got) == 0);
            CHECK_MSG(same_hyps(&got, &want[0], &md), "engine beams differ from lmc_beam_search_model");
            lmc_beam_result_free(&got);
        } else { /* two searches from two threads, plus a generation request */
            sink s;
            sink_init(&s, 1, V);
            lmc_engine_request r = sink_request(c->tok, 9, 40, &s);
            const int64_t gen_id = lmc_engine_submit(e, &r);
            CHECK(gen_id > 0);
            beam_job j[2];
            pthread_t th[2];
            for (int k = 0; k < 2; k++) {
                j[k] = (beam_job){.e = e, .prompt = c->tok, .n_prompt = np[k], .bp = bp};
                pthread_create(&th[k], NULL, beam_thread, &j[k]);
            }
            for (int k = 0; k < 2; k++) {
                pthread_join(th[k], NULL);
                CHECK(j[k].rc == 0);
                CHECK_MSG(same_hyps(&j[k].res, &want[k], &md), "concurrent engine beams %d differ", k);
                lmc_beam_result_free(&j[k].res);
            }
            /* the generation may outlast the searches: s must outlive its events (the final
             * callback has returned when lmc_engine_wait does) */
            if (gen_id > 0) lmc_engine_wait(e, gen_id);
            CHECK(s.fin != LMC_FINISH_NONE);
        }
        CHECK_MSG(md <= 1e-4, "beam log-probs differ by %.3g", md);
        printf("  beam search (B 4, %d threads%s): same hypotheses as lmc_beam_search_model, max |logprob diff| %.3g\n",
               g_threads, bg ? ", 2 searches + a generation at once" : "", md);
        check_blocks_free(e, "after beam search");
        lmc_engine_free(e);
    }
    lmc_beam_result_free(&want[0]);
    lmc_beam_result_free(&want[1]);
    lmc_model_free(m);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_engine logits|concurrent|prefix|cancel|text|q8 <case> [f32|f16]\n");
        return 2;
    }
    ref_case c;
    if (!load_case(argv[2], &c)) {
        fprintf(stderr, "cannot read reference case %s\n", argv[2]);
        return 1;
    }
    const char *what = argv[1];
    if (!strcmp(what, "logits")) {
        g_flash = argc > 3 && !strcmp(argv[3], "f16fa");
        lmc_type kv = argc > 3 && (!strcmp(argv[3], "f16") || g_flash) ? LMC_TYPE_F16 : LMC_TYPE_F32;
        test_logits(&c, kv, kv == LMC_TYPE_F32 && argc > 4 && !strcmp(argv[4], "ref-tokens"));
    } else if (!strcmp(what, "concurrent")) test_concurrent(&c);
    else if (!strcmp(what, "prefix")) test_prefix(&c);
    else if (!strcmp(what, "cancel")) test_cancel(&c);
    else if (!strcmp(what, "text")) test_text(&c);
    else if (!strcmp(what, "q8")) test_q8(&c);
    else if (!strcmp(what, "beam")) test_beam(&c);
    else if (!strcmp(what, "ppl")) {
        test_ppl(&c, LMC_TYPE_F32, 225.7463, 0.01);
        test_ppl(&c, LMC_TYPE_F16, 225.7680, 0.05);
    }
    else {
        fprintf(stderr, "unknown test %s\n", what);
        return 2;
    }
    return t_done(argv[1]);
}
