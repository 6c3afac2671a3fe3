/* Sliding-window attention against a naive reference written here.
 *
 * Models: stories260K (llama, 5 layers, GQA 8/4, head size 8, F32) copied with lmc's
 * GGUF writer, plus <arch>.attention.sliding_window (and a pattern). Reference: a
 * plain double-precision llama forward in this file, with an explicit band mask,
 * recomputed from scratch for every position. Checked for lmc_decode (prompt in
 * chunks that straddle the window, then token by token) and for the engine
 * (lmc_engine_score through 16-token KV blocks; greedy generation 4x the window long
 * with the block count bounded, i.e. blocks outside the window are freed).
 * With window 0 the reference must equal lmc's ordinary forward, which itself
 * matches llama.cpp: that validates the reference. */
#include "lmc.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_TOK 60
#define N_PROMPT 37

static const char *g_src;

/* ---- the reference -------------------------------------------------------------- */

typedef struct {
    int n_layer, C, H, Hkv, D, F, V, n_rot;
    double eps, base;
    const float *tok, *out_norm, *out;
    const float *an[8], *wq[8], *wk[8], *wv[8], *wo[8], *fn[8], *wg[8], *wu[8], *wd[8];
} ref_model;

static const float *T(const lmc_gguf *g, const char *fmt, int il) {
    char name[96];
    snprintf(name, sizeof name, fmt, il);
    const lmc_tensor_info *t = lmc_gguf_find_tensor(g, name);
    if (!t || t->type != LMC_TYPE_F32) {
        fprintf(stderr, "missing F32 tensor %s\n", name);
        exit(1);
    }
    return t->data;
}

static void ref_load(ref_model *r, const lmc_gguf *g) {
    int64_t v;
    double f;
    lmc_gguf_get_int(g, "llama.block_count", &v), r->n_layer = (int)v;
    lmc_gguf_get_int(g, "llama.embedding_length", &v), r->C = (int)v;
    lmc_gguf_get_int(g, "llama.attention.head_count", &v), r->H = (int)v;
    lmc_gguf_get_int(g, "llama.attention.head_count_kv", &v), r->Hkv = (int)v;
    lmc_gguf_get_int(g, "llama.feed_forward_length", &v), r->F = (int)v;
    lmc_gguf_get_int(g, "llama.rope.dimension_count", &v), r->n_rot = (int)v;
    lmc_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &f), r->eps = f;
    r->base = lmc_gguf_get_float(g, "llama.rope.freq_base", &f) == LMC_OK ? f : 10000.0;
    r->D = r->C / r->H;
    r->tok = T(g, "token_embd.weight", 0);
    r->V = (int)lmc_gguf_find_tensor(g, "token_embd.weight")->ne[1];
    r->out_norm = T(g, "output_norm.weight", 0);
    r->out = T(g, "output.weight", 0);
    for (int l = 0; l < r->n_layer; l++) {
        r->an[l] = T(g, "blk.%d.attn_norm.weight", l);
        r->wq[l] = T(g, "blk.%d.attn_q.weight", l);
        r->wk[l] = T(g, "blk.%d.attn_k.weight", l);
        r->wv[l] = T(g, "blk.%d.attn_v.weight", l);
        r->wo[l] = T(g, "blk.%d.attn_output.weight", l);
        r->fn[l] = T(g, "blk.%d.ffn_norm.weight", l);
        r->wg[l] = T(g, "blk.%d.ffn_gate.weight", l);
        r->wu[l] = T(g, "blk.%d.ffn_up.weight", l);
        r->wd[l] = T(g, "blk.%d.ffn_down.weight", l);
    }
}

static void mv(double *y, const float *W, const double *x, int n_in, int n_out) {
    for (int o = 0; o < n_out; o++) {
        double s = 0;
        for (int i = 0; i < n_in; i++) s += (double)W[(size_t)o * n_in + i] * x[i];
        y[o] = s;
    }
}

static void rmsnorm(double *y, const double *x, const float *w, int n, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    const double k = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * k * w[i];
}

static void rope(double *x, int n_heads, int D, int n_rot, int pos, double base) {
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < n_rot / 2; i++) {
            const double th = pos * pow(base, -2.0 * i / n_rot), c = cos(th), s = sin(th);
            double *p = x + h * D + 2 * i;
            const double a = p[0], b = p[1];
            p[0] = a * c - b * s;
            p[1] = a * s + b * c;
        }
}

/* Logits of the last of toks[0..n) with every layer's own window (win[l], 0 = full):
 * a key at position j is visible to the query at i iff i - win < j <= i. */
static void ref_forward(const ref_model *r, const int32_t *toks, int n, const int *win, double *logits) {
    const int C = r->C, H = r->H, Hkv = r->Hkv, D = r->D, F = r->F;
    double *x = calloc((size_t)n * C, sizeof *x), *xn = malloc(sizeof(double) * C);
    double *q = malloc(sizeof(double) * (size_t)n * C), *k = malloc(sizeof(double) * (size_t)n * Hkv * D);
    double *v = malloc(sizeof(double) * (size_t)n * Hkv * D), *att = malloc(sizeof(double) * C);
    double *o = malloc(sizeof(double) * C), *g = malloc(sizeof(double) * F), *u = malloc(sizeof(double) * F);
    double *sc = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++) x[(size_t)i * C + c] = r->tok[(size_t)toks[i] * C + c];
    for (int l = 0; l < r->n_layer; l++) {
        for (int i = 0; i < n; i++) {
            rmsnorm(xn, x + (size_t)i * C, r->an[l], C, r->eps);
            mv(q + (size_t)i * C, r->wq[l], xn, C, C);
            mv(k + (size_t)i * Hkv * D, r->wk[l], xn, C, Hkv * D);
            mv(v + (size_t)i * Hkv * D, r->wv[l], xn, C, Hkv * D);
            rope(q + (size_t)i * C, H, D, r->n_rot, i, r->base);
            rope(k + (size_t)i * Hkv * D, Hkv, D, r->n_rot, i, r->base);
        }
        for (int i = 0; i < n; i++) {
            for (int h = 0; h < H; h++) {
                const int kh = h / (H / Hkv);
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < n; j++) {
                    const bool visible = j <= i && (win[l] <= 0 || i - j < win[l]); /* the band */
                    if (!visible) {
                        sc[j] = -INFINITY;
                        continue;
                    }
                    double s = 0;
                    for (int d = 0; d < D; d++) s += q[(size_t)i * C + h * D + d] * k[((size_t)j * Hkv + kh) * D + d];
                    sc[j] = s / sqrt((double)D);
                    if (sc[j] > mx) mx = sc[j];
                }
                for (int j = 0; j < n; j++) sum += sc[j] == -INFINITY ? 0 : exp(sc[j] - mx);
                for (int d = 0; d < D; d++) {
                    double a = 0;
                    for (int j = 0; j < n; j++)
                        if (sc[j] != -INFINITY) a += exp(sc[j] - mx) / sum * v[((size_t)j * Hkv + kh) * D + d];
                    att[h * D + d] = a;
                }
            }
            mv(o, r->wo[l], att, C, C);
            for (int c = 0; c < C; c++) q[(size_t)i * C + c] = o[c]; /* q row i is done: reuse as output */
        }
        for (int i = 0; i < n; i++) {
            double *xi = x + (size_t)i * C;
            for (int c = 0; c < C; c++) xi[c] += q[(size_t)i * C + c];
            rmsnorm(xn, xi, r->fn[l], C, r->eps);
            mv(g, r->wg[l], xn, C, F);
            mv(u, r->wu[l], xn, C, F);
            for (int f = 0; f < F; f++) g[f] = g[f] / (1.0 + exp(-g[f])) * u[f];
            mv(o, r->wd[l], g, F, C);
            for (int c = 0; c < C; c++) xi[c] += o[c];
        }
    }
    rmsnorm(xn, x + (size_t)(n - 1) * C, r->out_norm, C, r->eps);
    mv(logits, r->out, xn, C, r->V);
    free(x), free(xn), free(q), free(k), free(v), free(att), free(o), free(g), free(u), free(sc);
}

/* ---- model variants --------------------------------------------------------------- */

/* Copies the source model, adding a window and (pattern_kind) 0: no pattern key,
 * 1: period `period`, 2: per-layer array `layers`. */
static void write_variant(const char *path, int window, int pattern_kind, int period, const uint8_t *layers) {
    lmc_gguf *g = lmc_gguf_open(g_src);
    CHECK(g != NULL);
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    for (int64_t i = 0; i < lmc_gguf_n_kv(g); i++) {
        const char *key = lmc_gguf_kv_key(g, i);
        if (strcmp(key, "general.alignment") == 0) continue;
        CHECK(lmc_gguf_writer_set_value(w, key, lmc_gguf_kv_value(g, i)) == LMC_OK);
    }
    if (window) CHECK(lmc_gguf_writer_set_u32(w, "llama.attention.sliding_window", (uint32_t)window) == LMC_OK);
    if (pattern_kind == 1) CHECK(lmc_gguf_writer_set_u32(w, "llama.attention.sliding_window_pattern", (uint32_t)period) == LMC_OK);
    if (pattern_kind == 2) {
        bool b[8];
        for (int l = 0; l < 5; l++) b[l] = layers[l];
        CHECK(lmc_gguf_writer_set_array(w, "llama.attention.sliding_window_pattern", LMC_GGUF_BOOL, b, 5) == LMC_OK);
    }
    for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
        CHECK(lmc_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes, true) == LMC_OK);
    }
    CHECK(lmc_gguf_writer_write(w, path) == LMC_OK);
    lmc_gguf_writer_free(w);
    lmc_gguf_close(g);
}

static double max_diff_logits(const float *a, const double *b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* ---- one configuration ------------------------------------------------------------ */

/* `lmc run --ids` on the windowed model file against greedy decoding of the naive
 * reference (prompt tokenized with lmc's tokenizer, BOS added as run does). */
static void check_cli_run(const char *label, const char *path, const ref_model *r, const int *win) {
    const char *bin = getenv("LMC_BIN");
    if (!bin) {
        printf("%-10s LMC_BIN not set: lmc run not checked\n", label);
        return;
    }
    enum { N_GEN = 40 };
    const char *prompt = "Once upon a time, there was a little girl named Lily. She";
    lmc_gguf *g = lmc_gguf_open(path);
    lmc_vocab *v = g ? lmc_vocab_load(g) : NULL;
    CHECK(v != NULL);
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    CHECK(v && lmc_tokenize(v, prompt, strlen(prompt), true, true, &ids, &n_ids) == LMC_OK);
    lmc_vocab_free(v);
    lmc_gguf_close(g);
    if (!ids) return;
    int32_t seq[256];
    int n = (int)n_ids;
    memcpy(seq, ids, sizeof(int32_t) * (size_t)n);
    free(ids);
    double *lg = malloc(sizeof(double) * (size_t)r->V);
    for (int k = 0; k < N_GEN; k++) {
        ref_forward(r, seq, n, win, lg);
        int best = 0;
        for (int t = 1; t < r->V; t++)
            if (lg[t] > lg[best]) best = t;
        seq[n++] = best;
    }
    free(lg);

    char cmd[1024], out[4096] = {0};
    snprintf(cmd, sizeof cmd, "'%s' run -m '%s' -p '%s' -n %d --ids --ignore-eos --kv-type f32 -b 5 2>/dev/null",
             bin, path, prompt, N_GEN);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    if (!f) return;
    size_t got = fread(out, 1, sizeof out - 1, f);
    CHECK(pclose(f) == 0);
    out[got] = 0;
    int n_same = 0, n_out = 0;
    char *p = out, *end;
    for (long id; (id = strtol(p, &end, 10)), end != p; p = end, n_out++)
        if (n_out < N_GEN && n_same == n_out && id == seq[n_ids + n_out]) n_same++;
    printf("%-10s lmc run --ids: %d tokens, first %d equal to the naive reference's greedy tokens\n", label, n_out,
           n_same);
    CHECK(n_out == N_GEN);
    CHECK(n_same == N_GEN);
}

static void run_case(const char *label, int window, int pattern_kind, int period, const uint8_t *layers) {
    char path[256];
    snprintf(path, sizeof path, "swa_%s.gguf", label);
    write_variant(path, window, pattern_kind, period, layers);
    lmc_model *m = lmc_model_load(path);
    CHECK_MSG(m != NULL, "%s\n", lmc_last_error());
    if (!m) return;
    const lmc_model_hparams *hp = lmc_model_get_hparams(m);
    int win[8];
    int n_win = 0;
    for (int l = 0; l < hp->n_layer; l++) {
        bool on = window > 0;
        if (pattern_kind == 1 && period > 0) on = on && (l % period) < period - 1;
        if (pattern_kind == 2) on = on && layers[l];
        win[l] = on ? window : 0;
        n_win += on;
    }
    CHECK(hp->n_swa == window);
    CHECK(hp->n_swa_layers == (window ? n_win : 0));

    ref_model r;
    ref_load(&r, lmc_model_gguf(m));
    const int V = r.V;
    int32_t toks[N_TOK];
    uint32_t s = 12345;
    toks[0] = 1; /* BOS */
    for (int i = 1; i < N_TOK; i++) s = s * 1103515245u + 12345u, toks[i] = 3 + (int32_t)((s >> 8) % (uint32_t)(V - 3));

    double *ref = malloc(sizeof(double) * (size_t)N_TOK * V);
    for (int i = 0; i < N_TOK; i++) ref_forward(&r, toks, i + 1, win, ref + (size_t)i * V);

    /* lmc_decode: the prompt in chunks of 7 (chunk boundaries fall inside and outside
     * windows), then one token at a time; F32 cache */
    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = 128;
    cp.n_batch = 7;
    cp.kv_type = LMC_TYPE_F32;
    lmc_context *c = lmc_context_init(m, cp);
    CHECK(c != NULL);
    float *lg = malloc(sizeof(float) * (size_t)N_TOK * V);
    CHECK(lmc_decode(c, toks, N_PROMPT, lg, true) == LMC_OK);
    for (int i = N_PROMPT; i < N_TOK; i++) CHECK(lmc_decode(c, toks + i, 1, lg + (size_t)i * V, false) == LMC_OK);
    double md = 0;
    for (int i = 0; i < N_TOK; i++) md = fmax(md, max_diff_logits(lg + (size_t)i * V, ref + (size_t)i * V, V));
    printf("%-10s window %4d, %d of 5 layers: lmc_decode vs naive max |logit diff| %.2e\n", label, window, n_win, md);
    CHECK(md < 2e-4);
    lmc_context_free(c);

    /* the engine: log-probs of every token after the first, through 16-token blocks */
    lmc_engine_params ep = lmc_engine_default_params();
    ep.n_ctx = 256;
    ep.kv_type = LMC_TYPE_F32;
    ep.background = false;
    ep.n_batch = 24;
    lmc_engine *e = lmc_engine_init(m, NULL, ep);
    CHECK(e != NULL);
    if (e) {
        float lp[N_TOK];
        CHECK(lmc_engine_score(e, toks, 1, toks + 1, N_TOK - 1, lp, NULL, 0, NULL) == LMC_OK);
        double me = 0;
        for (int i = 0; i + 1 < N_TOK; i++) {
            const double *z = ref + (size_t)i * V;
            double mx = -INFINITY, sum = 0;
            for (int t = 0; t < V; t++) mx = fmax(mx, z[t]);
            for (int t = 0; t < V; t++) sum += exp(z[t] - mx);
            me = fmax(me, fabs((double)lp[i] - (z[toks[i + 1]] - mx - log(sum))));
        }
        printf("%-10s engine score vs naive max |logprob diff| %.2e\n", label, me);
        CHECK(me < 2e-4);

        if (window > 0 && window < 64) check_cli_run(label, path, &r, win);

        /* generation 4x the window long (window > 0): blocks stay bounded */
        if (window > 0 && n_win == hp->n_layer && window < 64) {
            lmc_engine_request rq = lmc_engine_default_request();
            rq.tokens = toks;
            rq.n_tokens = 8;
            rq.max_tokens = 4 * window + 16;
            rq.ignore_eog = true;
            int64_t id = lmc_engine_submit(e, &rq);
            CHECK(id >= 0);
            int64_t peak = 0, steps = 0;
            lmc_engine_stats st;
            while (lmc_engine_step(e) > 0) {
                lmc_engine_get_stats(e, &st);
                if (st.n_blocks_used > peak) peak = st.n_blocks_used;
                steps++;
            }
            lmc_engine_event ev;
            int64_t n_gen = 0;
            while (lmc_engine_poll(e, id, &ev, 0) == 1)
                if (ev.token >= 0) n_gen++;
            lmc_engine_release(e, id);
            const int64_t bound = (window + 15) / 16 + 2; /* the window's blocks + the one being filled */
            printf("%-10s generated %lld tokens (%lld positions): peak KV blocks %lld (bound %lld, %lld without freeing)\n",
                   label, (long long)n_gen, (long long)(8 + n_gen), (long long)peak, (long long)bound,
                   (long long)((8 + n_gen + 15) / 16));
            CHECK(n_gen == rq.max_tokens);
            CHECK(peak <= bound);
            lmc_engine_get_stats(e, &st);
            CHECK(st.n_blocks_used == 0);
        }
        lmc_engine_free(e);
    }
    free(lg);
    free(ref);
    lmc_model_free(m);
    remove(path);
}

int main(void) {
    static char src[1024];
    snprintf(src, sizeof src, "%s", t_shared("models/stories260K.gguf"));
    g_src = src;
    const uint8_t mixed[5] = {1, 0, 1, 1, 0};
    run_case("full", 0, 0, 0, NULL);     /* validates the reference itself */
    run_case("w1", 1, 0, 0, NULL);       /* only the token itself */
    run_case("w5", 5, 0, 0, NULL);       /* inside one block, shorter than a prompt chunk */
    run_case("w16", 16, 0, 0, NULL);     /* exactly one block */
    run_case("w17", 17, 0, 0, NULL);     /* one past a block boundary */
    run_case("w20p2", 20, 1, 2, NULL);   /* period 2: odd layers full (Gemma 2 style) */
    run_case("w9arr", 9, 2, 0, mixed);   /* per-layer array */
    run_case("w1000", 1000, 0, 0, NULL); /* longer than everything: same as full */

    /* bad metadata: a clear error */
    lmc_gguf *g = lmc_gguf_open(src);
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    for (int64_t i = 0; i < lmc_gguf_n_kv(g); i++)
        lmc_gguf_writer_set_value(w, lmc_gguf_kv_key(g, i), lmc_gguf_kv_value(g, i));
    lmc_gguf_writer_set_u32(w, "llama.attention.sliding_window", 8);
    bool three[3] = {1, 0, 1};
    lmc_gguf_writer_set_array(w, "llama.attention.sliding_window_pattern", LMC_GGUF_BOOL, three, 3);
    for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
        lmc_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes, true);
    }
    CHECK(lmc_gguf_writer_write(w, "swa_bad.gguf") == LMC_OK);
    lmc_gguf_writer_free(w);
    lmc_gguf_close(g);
    lmc_model *bad = lmc_model_load("swa_bad.gguf");
    CHECK(bad == NULL);
    if (!bad) {
        printf("bad pattern: %s\n", lmc_last_error());
        CHECK(strstr(lmc_last_error(), "3 entries for 5 layers") != NULL);
    }
    lmc_model_free(bad);
    remove("swa_bad.gguf");
    return t_done("test_swa");
}
