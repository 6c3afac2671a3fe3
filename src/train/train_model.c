/* train_model.c — a llama or gpt2 transformer that can learn: parameters, gradients,
 * AdamW moments and activations laid out from one size table and allocated once;
 * forward + backward over a batch of token sequences; AdamW with decoupled weight
 * decay, warmup + cosine schedule, clipping by global norm.
 *
 * The math per layer is train_ops.inc (checked against finite differences); the
 * conventions are those of lmc's inference forward (src/model) and of llama.cpp for
 * the same GGUF tensors, so a trained model saved as GGUF runs in `lmc run`:
 * llama = RMSNorm pre-norm, RoPE on pairs (2i, 2i+1), GQA, SwiGLU; gpt2 = LayerNorm
 * with biases, learned positions, GELU (tanh form), tied head. */
#include "train-impl.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's own thread count (the library is linked with its pthreads build) */
void openblas_set_num_threads(int num_threads);

#define MAX_TENSORS 1024
#define LMC_TRAIN_MAX_THREADS 256

typedef struct {
    char name[64];
    int64_t ne[2];   /* ne[0] = row length; ne[1] = rows (1 for vectors) */
    size_t off;      /* float offset in params / grads / m / v */
    bool decay;      /* weight decay applies (matrices and embeddings) */
} tr_tensor;

typedef struct {
    float *attn_norm, *attn_norm_b, *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
    float *ffn_norm, *ffn_norm_b, *w_gate, *w_up, *b_up, *w_down, *b_down;
} tr_layer_p;

typedef struct {
    /* saved for backward, per layer ([N] = B*T rows) */
    float *x_in, *h1, *mean1, *rstd1, *q, *k, *v, *P, *att, *x_mid, *h2, *mean2, *rstd2, *f1, *f2, *act;
} tr_layer_a;

struct lmc_train_model {
    lmc_train_config cfg;
    int32_t max_B, n_threads;
    int n_tensors;
    tr_tensor t[MAX_TENSORS];
    size_t n_params;
    float *params, *grads, *m, *v;
    /* parameter pointers into params (and the same offsets into grads) */
    float *tok_embd, *pos_embd, *out_norm, *out_norm_b, *output;
    tr_layer_p *L;
    /* activations */
    tr_layer_a *A;
    float *x_final, *hf, *meanf, *rstdf, *logits, *dlogits;
    float *dx, *dh, *dq, *dk, *dv, *datt, *df1, *df2, *dact;
    int32_t *pos;
    float *act_mem;
    size_t act_floats;
    /* the step runs as n_threads slices of the batch (whole sequences each), every
     * slice a full forward + backward with single-threaded BLAS: no barrier inside the
     * step, and the slices' gradients are summed in a fixed order (deterministic for a
     * given thread count). Slice i > 0 accumulates into tgrads[i - 1]. */
    lmc_threadpool *tp;
    float **tgrads;
    float *scratch_all; /* [n_threads][2 * T * T + 16] */
    float *gemm_ws;     /* [n_threads][gemm_ws_n]: each slice's GEMM workspace (lmc_tr_gemm_ws) */
    size_t gemm_ws_n;
    float *dtmp;        /* [N][C]: a residual branch's gradient through its dropout mask */
    float drop_p;       /* dropout probability (0: none); only in steps with backward */
    uint64_t drop_seed;
    int64_t micro;      /* backward passes since the last optimizer step (dropout masks) */
    int64_t step;      /* AdamW steps taken */
    int32_t last_B, last_T;
};

lmc_train_config lmc_train_default_config(void) {
    lmc_train_config c = {.arch = LMC_ARCH_LLAMA, .n_layer = 2, .n_head = 4, .n_head_kv = 4, .n_embd = 64, .n_ff = 0,
                          .n_vocab = 256, .n_ctx = 64, .bias = false, .tied = true, .norm_eps = 1e-5f,
                          .rope_base = 10000.0f};
    return c;
}

static int add_tensor(lmc_train_model *m, const char *name, int64_t ne0, int64_t ne1, bool decay, size_t *off) {
    if (m->n_tensors >= MAX_TENSORS) return lmc_set_error(LMC_ERR_LIMIT, "train: too many tensors");
    tr_tensor *t = &m->t[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->off = *off;
    t->decay = decay;
    *off += (size_t)(ne0 * ne1);
    return LMC_OK;
}

/* The size table: every parameter tensor's name, shape and offset, in one order. */
static int layout(lmc_train_model *m) {
    const lmc_train_config *c = &m->cfg;
    const int64_t C = c->n_embd, D = C / c->n_head, KD = (int64_t)c->n_head_kv * D, F = c->n_ff, V = c->n_vocab;
    const bool gpt2 = c->arch == LMC_ARCH_GPT2, bias = c->bias;
    size_t off = 0;
    char nm[64];
    int rc = add_tensor(m, "token_embd.weight", C, V, true, &off);
    if (!rc && gpt2) rc = add_tensor(m, "position_embd.weight", C, c->n_ctx, true, &off);
    for (int l = 0; !rc && l < c->n_layer; l++) {
#define T(suffix, a, b, decay)                                   \
    if (!rc) {                                                   \
        snprintf(nm, sizeof nm, "blk.%d." suffix, l);            \
        rc = add_tensor(m, nm, a, b, decay, &off);               \
    }
        T("attn_norm.weight", C, 1, false);
        if (gpt2) T("attn_norm.bias", C, 1, false);
        T("attn_q.weight", C, C, true);
        if (bias) T("attn_q.bias", C, 1, false);
        T("attn_k.weight", C, KD, true);
        if (bias) T("attn_k.bias", KD, 1, false);
        T("attn_v.weight", C, KD, true);
        if (bias) T("attn_v.bias", KD, 1, false);
        T("attn_output.weight", C, C, true);
        if (bias) T("attn_output.bias", C, 1, false);
        T("ffn_norm.weight", C, 1, false);
        if (gpt2) T("ffn_norm.bias", C, 1, false);
        if (!gpt2) T("ffn_gate.weight", C, F, true);
        T("ffn_up.weight", C, F, true);
        if (bias) T("ffn_up.bias", F, 1, false);
        T("ffn_down.weight", F, C, true);
        if (bias) T("ffn_down.bias", C, 1, false);
#undef T
    }
    if (!rc) rc = add_tensor(m, "output_norm.weight", C, 1, false, &off);
    if (!rc && gpt2) rc = add_tensor(m, "output_norm.bias", C, 1, false, &off);
    if (!rc && !c->tied) rc = add_tensor(m, "output.weight", C, V, true, &off);
    m->n_params = off;
    return rc;
}

static float *P(lmc_train_model *m, const char *fmt, int l) {
    char nm[64];
    snprintf(nm, sizeof nm, fmt, l);
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->t[i].name, nm)) return m->params + m->t[i].off;
    return NULL;
}


/* normal(0, std) from the seeded generator (Box-Muller) */
static float gauss(lmc_rng *r) {
    double u1 = lmc_rng_uniform(r), u2 = lmc_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

lmc_train_model *lmc_train_model_init(const lmc_train_config *cfg, int32_t max_batch, int32_t n_threads, uint64_t seed) {
    if (!cfg) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "train: no config");
    const lmc_train_config *c = cfg;
    if (c->arch != LMC_ARCH_LLAMA && c->arch != LMC_ARCH_GPT2)
        return lmc_set_error_null(LMC_ERR_UNSUPPORTED, "train: architecture %s cannot be trained (llama, gpt2)",
                                  lmc_arch_name(c->arch));
    if (c->n_layer < 1 || c->n_head < 1 || c->n_embd < 1 || c->n_vocab < 2 || c->n_ctx < 1 || max_batch < 1 ||
        c->n_embd % c->n_head || c->n_head_kv < 1 || c->n_head % c->n_head_kv || (c->n_embd / c->n_head) % 2)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG,
                                  "train: bad shape (layers %d, heads %d / %d KV, dim %d: dim must be a multiple of heads "
                                  "with an even head size, heads a multiple of KV heads; vocab %d, context %d, batch %d)",
                                  c->n_layer, c->n_head, c->n_head_kv, c->n_embd, c->n_vocab, c->n_ctx, max_batch);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "train: dropout %g must be in [0, 1)", c->dropout);
    if (c->arch == LMC_ARCH_GPT2 && c->n_head_kv != c->n_head)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "train: gpt2 has no grouped-query attention (--kv-heads = --heads)");
    lmc_train_model *m = calloc(1, sizeof *m);
    if (!m) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    m->cfg = *c;
    if (m->cfg.n_ff <= 0) m->cfg.n_ff = 4 * c->n_embd;
    m->max_B = max_batch;
    m->n_threads = n_threads > 0 ? LMC_MIN(n_threads, LMC_TRAIN_MAX_THREADS) : 1;
    if (layout(m)) {
        free(m);
        return NULL;
    }
    const lmc_train_config *k = &m->cfg;
    const int64_t C = k->n_embd, H = k->n_head, D = C / H, HD = C, KD = k->n_head_kv * D, F = k->n_ff, V = k->n_vocab;
    const int64_t N = (int64_t)max_batch * k->n_ctx, T = k->n_ctx;
    /* the big arrays every step streams through on huge pages, zeroed (lmc_alloc_huge):
     * bench-train's 10.75M-parameter gpt2 at 2 threads, alternating, 4115/4011/3967 ->
     * 4216/4143/4038 tokens/s with the same losses */
#define FLOATS_HUGE(n) ((float *)lmc_alloc_huge((uint64_t)(n) * sizeof(float), true))
    m->params = FLOATS_HUGE(m->n_params);
    m->grads = FLOATS_HUGE(m->n_params);
    m->m = FLOATS_HUGE(m->n_params);
    m->v = FLOATS_HUGE(m->n_params);
    m->L = calloc((size_t)k->n_layer, sizeof *m->L);
    m->A = calloc((size_t)k->n_layer, sizeof *m->A);
    /* activations: one allocation from the same kind of table */
    const int64_t per_layer = N * C /*x_in*/ + N * C /*h1*/ + 2 * N + N * HD + 2 * N * KD + (int64_t)max_batch * H * T * T +
                              N * HD /*att*/ + N * C /*x_mid*/ + N * C /*h2*/ + 2 * N + 3 * N * F;
    const int64_t global = 2 * N * C + 2 * N + 2 * N * V + N * C * 2 + N * HD * 2 + 2 * N * KD + 3 * N * F + N * C;
    m->act_floats = (size_t)(per_layer * k->n_layer + global);
    m->act_mem = FLOATS_HUGE(m->act_floats);
    m->pos = calloc((size_t)N, sizeof(int32_t));
    if (!m->params || !m->grads || !m->m || !m->v || !m->L || !m->A || !m->act_mem || !m->pos) {
        lmc_train_model_free(m);
        return lmc_set_error_null(LMC_ERR_NOMEM, "train: cannot allocate %zu parameters and %zu activation floats",
                                  m->n_params, m->act_floats);
    }
    float *a = m->act_mem;
#define TAKE(ptr, n) (ptr = a, a += (n))
    for (int l = 0; l < k->n_layer; l++) {
        tr_layer_a *A = &m->A[l];
        TAKE(A->x_in, N * C), TAKE(A->h1, N * C), TAKE(A->mean1, N), TAKE(A->rstd1, N), TAKE(A->q, N * HD);
        TAKE(A->k, N * KD), TAKE(A->v, N * KD), TAKE(A->P, (int64_t)max_batch * H * T * T), TAKE(A->att, N * HD);
        TAKE(A->x_mid, N * C), TAKE(A->h2, N * C), TAKE(A->mean2, N), TAKE(A->rstd2, N), TAKE(A->f1, N * F);
        TAKE(A->f2, N * F), TAKE(A->act, N * F);
    }
    TAKE(m->x_final, N * C), TAKE(m->hf, N * C), TAKE(m->meanf, N), TAKE(m->rstdf, N), TAKE(m->logits, N * V);
    TAKE(m->dlogits, N * V), TAKE(m->dx, N * C), TAKE(m->dh, N * C), TAKE(m->dq, N * HD), TAKE(m->datt, N * HD);
    TAKE(m->dk, N * KD), TAKE(m->dv, N * KD), TAKE(m->df1, N * F), TAKE(m->df2, N * F), TAKE(m->dact, N * F);
    TAKE(m->dtmp, N * C);
#undef TAKE
    m->tp = lmc_threadpool_init(m->n_threads);
    m->scratch_all = calloc((size_t)m->n_threads * (size_t)(2 * T * T + 16), sizeof(float));
    /* the most rows of C a slice's GEMM has: its tokens, or a weight's rows (dW) */
    m->gemm_ws_n = lmc_sgemm_ws_floats(LMC_MAX(LMC_MAX(N, F), LMC_MAX(V, LMC_MAX(C, HD))));
    m->gemm_ws = FLOATS_HUGE((size_t)m->n_threads * m->gemm_ws_n);
    m->drop_p = k->dropout;
    m->drop_seed = seed;
    m->tgrads = calloc((size_t)m->n_threads, sizeof *m->tgrads);
    bool ok = m->tp && m->scratch_all && m->gemm_ws && m->tgrads;
    for (int i = 1; ok && i < m->n_threads; i++) ok = (m->tgrads[i - 1] = FLOATS_HUGE(m->n_params)) != NULL;
#undef FLOATS_HUGE
    if (!ok) {
        lmc_train_model_free(m);
        return lmc_set_error_null(LMC_ERR_NOMEM, "train: cannot allocate the per-thread buffers of %d threads",
                                  (int)n_threads);
    }
    m->tok_embd = P(m, "token_embd.weight", 0);
    m->pos_embd = P(m, "position_embd.weight", 0);
    m->out_norm = P(m, "output_norm.weight", 0);
    m->out_norm_b = P(m, "output_norm.bias", 0);
    m->output = k->tied ? m->tok_embd : P(m, "output.weight", 0);
    for (int l = 0; l < k->n_layer; l++) {
        tr_layer_p *L = &m->L[l];
        L->attn_norm = P(m, "blk.%d.attn_norm.weight", l), L->attn_norm_b = P(m, "blk.%d.attn_norm.bias", l);
        L->wq = P(m, "blk.%d.attn_q.weight", l), L->bq = P(m, "blk.%d.attn_q.bias", l);
        L->wk = P(m, "blk.%d.attn_k.weight", l), L->bk = P(m, "blk.%d.attn_k.bias", l);
        L->wv = P(m, "blk.%d.attn_v.weight", l), L->bv = P(m, "blk.%d.attn_v.bias", l);
        L->wo = P(m, "blk.%d.attn_output.weight", l), L->bo = P(m, "blk.%d.attn_output.bias", l);
        L->ffn_norm = P(m, "blk.%d.ffn_norm.weight", l), L->ffn_norm_b = P(m, "blk.%d.ffn_norm.bias", l);
        L->w_gate = P(m, "blk.%d.ffn_gate.weight", l), L->w_up = P(m, "blk.%d.ffn_up.weight", l);
        L->b_up = P(m, "blk.%d.ffn_up.bias", l), L->w_down = P(m, "blk.%d.ffn_down.weight", l);
        L->b_down = P(m, "blk.%d.ffn_down.bias", l);
    }
    /* GPT-2 initialisation (nanoGPT): N(0, 0.02), residual projections scaled by
     * 1/sqrt(2 n_layer), biases 0, norm weights 1 */
    lmc_rng r;
    lmc_rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        tr_tensor *t = &m->t[i];
        float *p = m->params + t->off;
        const int64_t n = t->ne[0] * t->ne[1];
        if (strstr(t->name, "_norm.weight")) {
            for (int64_t j = 0; j < n; j++) p[j] = 1.0f;
        } else if (t->decay) {
            const bool proj = strstr(t->name, "attn_output.weight") || strstr(t->name, "ffn_down.weight");
            const float sd = proj ? 0.02f / sqrtf(2.0f * (float)k->n_layer) : 0.02f;
            for (int64_t j = 0; j < n; j++) p[j] = sd * gauss(&r);
        }
    }
    return m;
}

void lmc_train_model_free(lmc_train_model *m) {
    if (!m) return;
    free(m->params), free(m->grads), free(m->m), free(m->v), free(m->L), free(m->A), free(m->act_mem), free(m->pos);
    if (m->tgrads)
        for (int i = 1; i < m->n_threads; i++) free(m->tgrads[i - 1]);
    free(m->tgrads);
    free(m->scratch_all);
    free(m->gemm_ws);
    lmc_threadpool_free(m->tp);
    free(m);
}

const lmc_train_config *lmc_train_model_config(const lmc_train_model *m) { return &m->cfg; }
int64_t lmc_train_model_n_params(const lmc_train_model *m) { return (int64_t)m->n_params; }
int lmc_train_model_n_tensors(const lmc_train_model *m) { return m->n_tensors; }

int lmc_train_model_tensor(lmc_train_model *m, int i, lmc_train_tensor *out) {
    if (!m || i < 0 || i >= m->n_tensors) return lmc_set_error(LMC_ERR_INVALID_ARG, "train: no tensor %d", i);
    const tr_tensor *t = &m->t[i];
    out->name = t->name;
    out->ne[0] = t->ne[0];
    out->ne[1] = t->ne[1];
    out->data = m->params + t->off;
    out->grad = m->grads + t->off;
    out->decay = t->decay;
    return LMC_OK;
}

int lmc_train_model_find(const lmc_train_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->t[i].name, name)) return i;
    return -1;
}

float *lmc_train_model_state(lmc_train_model *m, lmc_train_state which, size_t *n) {
    if (n) *n = m->n_params;
    switch (which) {
    case LMC_TRAIN_PARAMS: return m->params;
    case LMC_TRAIN_GRADS: return m->grads;
    case LMC_TRAIN_ADAM_M: return m->m;
    case LMC_TRAIN_ADAM_V: return m->v;
    }
    return NULL;
}

int64_t lmc_train_model_step(const lmc_train_model *m) { return m->step; }
void lmc_train_model_set_step(lmc_train_model *m, int64_t step) {
    m->step = step;
    m->micro = 0;
}

int lmc_train_model_set_dropout(lmc_train_model *m, float p, uint64_t seed) {
    if (!(p >= 0.0f && p < 1.0f)) return lmc_set_error(LMC_ERR_INVALID_ARG, "train: dropout %g must be in [0, 1)", p);
    m->drop_p = p;
    m->drop_seed = seed;
    return LMC_OK;
}
void lmc_train_zero_grad(lmc_train_model *m) { memset(m->grads, 0, m->n_params * sizeof(float)); }
const float *lmc_train_logits(const lmc_train_model *m) { return m->logits; }

/* ---- forward + backward ------------------------------------------------------------ */

/* One slice of the batch: sequences [b0, b1), rows [r0, r0 + n) of every activation
 * buffer; gradients accumulate into G (m->grads or a thread's own buffer). */
typedef struct fb_job {
    lmc_train_model *m;
    const int32_t *tokens, *targets;
    int32_t B, T;
    float grad_scale;
    bool backward;
    int nth;               /* slices (<= threads, <= B) */
    int64_t cnt_total;     /* counted targets in the whole batch */
    float loss[LMC_TRAIN_MAX_THREADS];
    int64_t cnt[LMC_TRAIN_MAX_THREADS];
} fb_job;

#define GRAD(p) ((p) ? G + ((p) - m->params) : NULL)

/* The gradient reaching a residual branch's output: dx itself, or dx through the branch's
 * dropout mask (in tmp) when dropout is on. */
static const float *branch_grad(float *tmp, const float *dx, int64_t n, int64_t idx0, bool drop, lmc_tr_drop d) {
    if (!drop) return dx;
    memcpy(tmp, dx, (size_t)n * sizeof(float));
    lmc_tr_dropout_f32(tmp, n, idx0, &d);
    return tmp;
}

static void fb_slice_run(fb_job *j, int ith) {
    lmc_train_model *m = j->m;
    const lmc_train_config *k = &m->cfg;
    const int32_t T = j->T;
    const int64_t b0 = (int64_t)j->B * ith / j->nth, b1 = (int64_t)j->B * (ith + 1) / j->nth;
    const int64_t N = (b1 - b0) * T, r0 = b0 * T, C = k->n_embd, H = k->n_head, Hkv = k->n_head_kv, D = C / H;
    const int64_t KD = Hkv * D, F = k->n_ff, V = k->n_vocab, Pof = b0 * H * T * T;
    const bool gpt2 = k->arch == LMC_ARCH_GPT2;
    const int32_t *tokens = j->tokens + r0, *targets = j->targets ? j->targets + r0 : NULL, *pos = m->pos + r0;
    float *G = ith == 0 ? m->grads : m->tgrads[ith - 1];
    float *scratch = m->scratch_all + (size_t)ith * (size_t)(2 * k->n_ctx * (int64_t)k->n_ctx + 16);
    /* dropout sites: 0 embeddings (layer n_layer), 1 attention probabilities, 2 attention
     * output, 3 MLP output (nanoGPT's places); only when training (backward) */
    const bool drop = j->backward && m->drop_p > 0;
    const uint64_t drop_base = lmc_tr_mix64(m->drop_seed ^ lmc_tr_mix64(((uint64_t)m->step << 16) + (uint64_t)m->micro));
#define DROP(layer, site) \
    ((lmc_tr_drop){.p = m->drop_p, .key = lmc_tr_mix64(drop_base + (uint64_t)(layer) * 8 + (site)), .b0 = b0})
    /* row-sliced views of the shared buffers */
#define R(ptr, width) ((ptr) + r0 * (width))

    /* forward */
    lmc_tr_embed_fwd_f32(R(m->A[0].x_in, C), m->tok_embd, gpt2 ? m->pos_embd : NULL, tokens, pos, N, C);
    if (drop) lmc_tr_dropout_f32(R(m->A[0].x_in, C), N * C, r0 * C, &DROP(k->n_layer, 0));
    for (int l = 0; l < k->n_layer; l++) {
        tr_layer_p *L = &m->L[l];
        tr_layer_a *A = &m->A[l];
        float *x_in = R(A->x_in, C), *h1 = R(A->h1, C), *q = R(A->q, C), *kk = R(A->k, KD), *v = R(A->v, KD);
        float *att = R(A->att, C), *x_mid = R(A->x_mid, C), *h2 = R(A->h2, C), *f1 = R(A->f1, F), *f2 = R(A->f2, F);
        float *act = R(A->act, F);
        if (gpt2)
            lmc_tr_layernorm_fwd_f32(h1, R(A->mean1, 1), R(A->rstd1, 1), x_in, L->attn_norm, L->attn_norm_b, N, C,
                                     k->norm_eps);
        else
            lmc_tr_rmsnorm_fwd_f32(h1, R(A->rstd1, 1), x_in, L->attn_norm, N, C, k->norm_eps);
        lmc_tr_linear_fwd_f32(q, h1, L->wq, L->bq, N, C, C);
        lmc_tr_linear_fwd_f32(kk, h1, L->wk, L->bk, N, C, KD);
        lmc_tr_linear_fwd_f32(v, h1, L->wv, L->bv, N, C, KD);
        if (!gpt2) {
            lmc_tr_rope_fwd_f32(q, pos, N, (int)H, (int)D, (int)D, k->rope_base);
            lmc_tr_rope_fwd_f32(kk, pos, N, (int)Hkv, (int)D, (int)D, k->rope_base);
        }
        lmc_tr_attn_fwd_f32(att, A->P + Pof, q, kk, v, b1 - b0, T, (int)H, (int)Hkv, (int)D,
                            drop ? &DROP(l, 1) : NULL, scratch);
        /* x_mid = x_in + dropout(att Wo^T + bo) */
        lmc_tr_linear_fwd_f32(x_mid, att, L->wo, L->bo, N, C, C);
        if (drop) lmc_tr_dropout_f32(x_mid, N * C, r0 * C, &DROP(l, 2));
        for (int64_t i = 0; i < N * C; i++) x_mid[i] += x_in[i];
        if (gpt2)
            lmc_tr_layernorm_fwd_f32(h2, R(A->mean2, 1), R(A->rstd2, 1), x_mid, L->ffn_norm, L->ffn_norm_b, N, C,
                                     k->norm_eps);
        else
            lmc_tr_rmsnorm_fwd_f32(h2, R(A->rstd2, 1), x_mid, L->ffn_norm, N, C, k->norm_eps);
        if (gpt2) {
            /* f1 = h2 W_up^T + b_up and act = gelu(f1), both from the GEMM's tiles */
            const lmc_sgemm_epi e = {.type = LMC_EPI_GELU, .bias = L->b_up, .out2 = act, .ld2 = F};
            lmc_tr_sgemm_epi(&e, false, true, N, F, C, 1, h2, C, L->w_up, C, 0, f1, F);
        } else {
            lmc_tr_linear_fwd_f32(f1, h2, L->w_gate, NULL, N, C, F);
            lmc_tr_linear_fwd_f32(f2, h2, L->w_up, NULL, N, C, F);
            lmc_tr_swiglu_fwd_f32(act, f1, f2, N * F);
        }
        float *xo = R(l + 1 < k->n_layer ? m->A[l + 1].x_in : m->x_final, C);
        lmc_tr_linear_fwd_f32(xo, act, L->w_down, L->b_down, N, F, C);
        if (drop) lmc_tr_dropout_f32(xo, N * C, r0 * C, &DROP(l, 3));
        for (int64_t i = 0; i < N * C; i++) xo[i] += x_mid[i];
    }
    float *hf = R(m->hf, C), *x_final = R(m->x_final, C), *logits = R(m->logits, V), *dlogits = R(m->dlogits, V);
    if (gpt2)
        lmc_tr_layernorm_fwd_f32(hf, R(m->meanf, 1), R(m->rstdf, 1), x_final, m->out_norm, m->out_norm_b, N, C,
                                 k->norm_eps);
    else
        lmc_tr_rmsnorm_fwd_f32(hf, R(m->rstdf, 1), x_final, m->out_norm, N, C, k->norm_eps);
    lmc_tr_linear_fwd_f32(logits, hf, m->output, NULL, N, C, V);
    if (!targets) return;
    j->loss[ith] = lmc_tr_xent_f32(j->backward ? dlogits : NULL, logits, targets, N, V, &j->cnt[ith]);
    if (!j->backward) return;

    /* backward: gradients accumulate into G. The slice's dlogits are d(its mean)/dz;
     * rescale to d(batch mean)/dz (exactly 1 with one slice) times grad_scale. */
    if (ith > 0) memset(G, 0, m->n_params * sizeof(float));
    const float f = j->cnt[ith] == j->cnt_total ? j->grad_scale
                                                : j->grad_scale * (float)((double)j->cnt[ith] / (double)j->cnt_total);
    if (f != 1.0f)
        for (int64_t i = 0; i < N * V; i++) dlogits[i] *= f;
    float *dx = R(m->dx, C), *dh = R(m->dh, C), *dq = R(m->dq, C), *dk = R(m->dk, KD), *dv = R(m->dv, KD);
    float *datt = R(m->datt, C), *df1 = R(m->df1, F), *df2 = R(m->df2, F), *dact = R(m->dact, F);
    float *dtmp = R(m->dtmp, C);
    lmc_tr_linear_bwd_set_f32(dh, GRAD(m->output), NULL, dlogits, hf, m->output, N, C, V);
    memset(dx, 0, (size_t)(N * C) * sizeof(float));
    if (gpt2)
        lmc_tr_layernorm_bwd_f32(dx, GRAD(m->out_norm), GRAD(m->out_norm_b), dh, x_final, m->out_norm, R(m->meanf, 1),
                                 R(m->rstdf, 1), N, C);
    else
        lmc_tr_rmsnorm_bwd_f32(dx, GRAD(m->out_norm), dh, x_final, m->out_norm, R(m->rstdf, 1), N, C);
    /* dx is now d loss / d (output of the last layer) */
    for (int l = k->n_layer - 1; l >= 0; l--) {
        tr_layer_p *L = &m->L[l];
        tr_layer_a *A = &m->A[l];
        float *x_in = R(A->x_in, C), *h1 = R(A->h1, C), *q = R(A->q, C), *kk = R(A->k, KD), *v = R(A->v, KD);
        float *att = R(A->att, C), *x_mid = R(A->x_mid, C), *h2 = R(A->h2, C), *f1 = R(A->f1, F), *f2 = R(A->f2, F);
        float *act = R(A->act, F);
        /* FFN: x_out = x_mid + down(act); dx flows to x_mid unchanged (residual) */
        const float *dxo = branch_grad(dtmp, dx, N * C, r0 * C, drop, DROP(l, 3));
        /* the first contribution to each gradient buffer writes it (no clearing pass) */
        if (gpt2) {
            /* df1 = (dxo W_down) * gelu'(f1) from the GEMM's tiles (no dact pass), then
             * W_down's and b_down's gradients */
            const lmc_sgemm_epi e = {.type = LMC_EPI_GELU_BWD, .aux = f1, .ld2 = F};
            lmc_tr_sgemm_epi(&e, false, false, N, F, C, 1, dxo, C, L->w_down, F, 0, df1, F);
            lmc_tr_linear_bwd_f32(NULL, GRAD(L->w_down), GRAD(L->b_down), dxo, act, L->w_down, N, F, C);
            lmc_tr_linear_bwd_set_f32(dh, GRAD(L->w_up), GRAD(L->b_up), df1, h2, L->w_up, N, C, F);
        } else {
            lmc_tr_linear_bwd_set_f32(dact, GRAD(L->w_down), GRAD(L->b_down), dxo, act, L->w_down, N, F, C);
            lmc_tr_swiglu_bwd_f32(df1, df2, dact, f1, f2, N * F);
            lmc_tr_linear_bwd_set_f32(dh, GRAD(L->w_gate), NULL, df1, h2, L->w_gate, N, C, F);
            lmc_tr_linear_bwd_f32(dh, GRAD(L->w_up), NULL, df2, h2, L->w_up, N, C, F);
        }
        if (gpt2)
            lmc_tr_layernorm_bwd_f32(dx, GRAD(L->ffn_norm), GRAD(L->ffn_norm_b), dh, x_mid, L->ffn_norm, R(A->mean2, 1),
                                     R(A->rstd2, 1), N, C);
        else
            lmc_tr_rmsnorm_bwd_f32(dx, GRAD(L->ffn_norm), dh, x_mid, L->ffn_norm, R(A->rstd2, 1), N, C);
        /* attention: x_mid = x_in + wo(att) */
        lmc_tr_linear_bwd_set_f32(datt, GRAD(L->wo), GRAD(L->bo), branch_grad(dtmp, dx, N * C, r0 * C, drop, DROP(l, 2)), att,
                              L->wo, N, C, C);
        lmc_tr_attn_bwd_f32(dq, dk, dv, datt, A->P + Pof, q, kk, v, b1 - b0, T, (int)H, (int)Hkv, (int)D,
                            drop ? &DROP(l, 1) : NULL, scratch);
        if (!gpt2) {
            lmc_tr_rope_bwd_f32(dq, pos, N, (int)H, (int)D, (int)D, k->rope_base);
            lmc_tr_rope_bwd_f32(dk, pos, N, (int)Hkv, (int)D, (int)D, k->rope_base);
        }
        lmc_tr_linear_bwd_set_f32(dh, GRAD(L->wq), GRAD(L->bq), dq, h1, L->wq, N, C, C);
        lmc_tr_linear_bwd_f32(dh, GRAD(L->wk), GRAD(L->bk), dk, h1, L->wk, N, C, KD);
        lmc_tr_linear_bwd_f32(dh, GRAD(L->wv), GRAD(L->bv), dv, h1, L->wv, N, C, KD);
        if (gpt2)
            lmc_tr_layernorm_bwd_f32(dx, GRAD(L->attn_norm), GRAD(L->attn_norm_b), dh, x_in, L->attn_norm,
                                     R(A->mean1, 1), R(A->rstd1, 1), N, C);
        else
            lmc_tr_rmsnorm_bwd_f32(dx, GRAD(L->attn_norm), dh, x_in, L->attn_norm, R(A->rstd1, 1), N, C);
    }
    if (drop) lmc_tr_dropout_f32(dx, N * C, r0 * C, &DROP(k->n_layer, 0));
    lmc_tr_embed_bwd_f32(GRAD(m->tok_embd), gpt2 ? GRAD(m->pos_embd) : NULL, dx, tokens, pos, N, C);
#undef DROP
#undef R
}

static void fb_slice(void *arg, int ith, int nth_pool) {
    (void)nth_pool;
    fb_job *j = arg;
    if (ith >= j->nth) return;
    /* this slice's GEMMs use its part of the model's workspace, lent for the slice only */
    lmc_tr_gemm_ws(j->m->gemm_ws + (size_t)ith * j->m->gemm_ws_n, j->m->gemm_ws_n);
    fb_slice_run(j, ith);
    lmc_tr_gemm_ws(NULL, 0);
}
#undef GRAD

/* grads += tgrads[0] + tgrads[1] + ... over this thread's share of the parameters */
static void reduce_grads(void *arg, int ith, int nth) {
    fb_job *j = arg;
    lmc_train_model *m = j->m;
    const size_t a = m->n_params * (size_t)ith / (size_t)nth, b = m->n_params * (size_t)(ith + 1) / (size_t)nth;
    for (int t = 1; t < j->nth; t++) {
        const float *g = m->tgrads[t - 1];
        for (size_t i = a; i < b; i++) m->grads[i] += g[i];
    }
}

int lmc_train_step_fb(lmc_train_model *m, const int32_t *tokens, const int32_t *targets, int32_t B, int32_t T,
                      float grad_scale, bool backward, float *loss_out, int64_t *n_counted) {
    const lmc_train_config *k = &m->cfg;
    if (B < 1 || B > m->max_B || T < 1 || T > k->n_ctx)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "train: batch %d x %d exceeds the model's %d x %d", B, T, m->max_B,
                             k->n_ctx);
    const int64_t N = (int64_t)B * T, V = k->n_vocab;
    int64_t cnt = 0;
    for (int64_t n = 0; n < N; n++) {
        if (tokens[n] < 0 || tokens[n] >= V || (targets && targets[n] >= V))
            return lmc_set_error(LMC_ERR_INVALID_ARG, "train: token id %d outside the vocabulary of %lld at position %lld",
                                 targets && targets[n] >= V ? targets[n] : tokens[n], (long long)V, (long long)n);
        m->pos[n] = (int32_t)(n % T);
        if (targets) cnt += targets[n] >= 0;
    }
    m->last_B = B, m->last_T = T;
    fb_job j = {.m = m, .tokens = tokens, .targets = targets, .B = B, .T = T, .grad_scale = grad_scale,
                .backward = backward, .nth = LMC_MIN(m->n_threads, B), .cnt_total = cnt};
    /* slices run BLAS on one thread each; a single slice may use OpenBLAS's threads */
    openblas_set_num_threads(j.nth > 1 ? 1 : m->n_threads);
    if (j.nth > 1) lmc_threadpool_run(m->tp, fb_slice, &j);
    else fb_slice(&j, 0, 1);
    if (!targets) return LMC_OK;
    float loss = j.loss[0];
    if (j.nth > 1) { /* mean over the batch from the slices' means */
        double s = 0;
        for (int i = 0; i < j.nth; i++) s += (double)j.loss[i] * (double)j.cnt[i];
        loss = cnt ? (float)(s / (double)cnt) : 0.0f;
    }
    if (loss_out) *loss_out = loss;
    if (n_counted) *n_counted = cnt;
    if (backward && j.nth > 1) lmc_threadpool_run(m->tp, reduce_grads, &j);
    if (backward) m->micro++;
    return LMC_OK;
}

/* ---- optimizer ---------------------------------------------------------------------- */

lmc_adamw_params lmc_adamw_default_params(void) {
    lmc_adamw_params p = {.lr = 1e-3f, .min_lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
                          .weight_decay = 0.1f, .warmup = 0, .total_steps = 0, .clip = 1.0f, .decay_all = false};
    return p;
}

/* linear warmup over `warmup` steps, then cosine from lr to min_lr at total_steps */
float lmc_lr_at(const lmc_adamw_params *p, int64_t step) {
    if (p->warmup > 0 && step < p->warmup) return p->lr * (float)(step + 1) / (float)p->warmup;
    if (p->total_steps <= p->warmup) return p->lr;
    if (step >= p->total_steps) return p->min_lr;
    const double r = (double)(step - p->warmup) / (double)(p->total_steps - p->warmup);
    return p->min_lr + (float)(0.5 * (1.0 + cos(3.141592653589793 * r))) * (p->lr - p->min_lr);
}

typedef struct opt_job {
    lmc_train_model *m;
    const lmc_adamw_params *p;
    float coef, lr, step_size, bc2s;
    double part[LMC_TRAIN_MAX_THREADS];
} opt_job;

/* this thread's share [a, b) of tensor t's n elements */
static void share(int64_t n, int ith, int nth, int64_t *a, int64_t *b) {
    *a = n * ith / nth;
    *b = n * (ith + 1) / nth;
}

static void norm_task(void *arg, int ith, int nth) {
    opt_job *j = arg;
    int64_t a, b;
    share((int64_t)j->m->n_params, ith, nth, &a, &b);
    /* 8 partial sums (element i into lane (i - a) % 8), then a fixed tree: one running sum
     * is a serial chain of double adds */
    double l[8] = {0};
    const float *g = j->m->grads;
    int64_t i = a;
    for (; i + 8 <= b; i += 8)
        for (int k = 0; k < 8; k++) l[k] += (double)g[i + k] * g[i + k];
    for (int k = 0; i < b; i++, k++) l[k] += (double)g[i] * g[i];
    j->part[ith] = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

float lmc_train_grad_norm(const lmc_train_model *m) {
    opt_job j = {.m = (lmc_train_model *)m};
    const int nth = lmc_threadpool_n_threads(m->tp);
    lmc_threadpool_run(m->tp, norm_task, &j);
    double s = 0; /* partial sums added in thread order: deterministic per thread count */
    for (int i = 0; i < nth; i++) s += j.part[i];
    return (float)sqrt(s);
}

static void adamw_task(void *arg, int ith, int nth) {
    opt_job *j = arg;
    lmc_train_model *m = j->m;
    const lmc_adamw_params *p = j->p;
    const float lr = j->lr, step_size = j->step_size, bc2s = j->bc2s, coef = j->coef;
    const float b1 = p->beta1, b2 = p->beta2, eps = p->eps;
    for (int i = 0; i < m->n_tensors; i++) {
        const tr_tensor *t = &m->t[i];
        const float keep = t->decay || p->decay_all ? 1.0f - lr * p->weight_decay : 1.0f;
        float *w = m->params + t->off, *g = m->grads + t->off, *mm = m->m + t->off, *vv = m->v + t->off;
        int64_t a, b;
        share(t->ne[0] * t->ne[1], ith, nth, &a, &b);
        if (coef < 1.0f)
            for (int64_t k = a; k < b; k++) g[k] *= coef;
        for (int64_t k = a; k < b; k++) {
            w[k] *= keep;
            mm[k] += (g[k] - mm[k]) * (1.0f - b1);
            vv[k] = vv[k] * b2 + (1.0f - b2) * g[k] * g[k];
            w[k] -= step_size * mm[k] / (sqrtf(vv[k]) / bc2s + eps);
        }
    }
}

int lmc_train_adamw_step(lmc_train_model *m, const lmc_adamw_params *p, float *lr_out, float *norm_out) {
    const float norm = lmc_train_grad_norm(m);
    if (!isfinite(norm)) return lmc_set_error(LMC_ERR_INVALID_ARG, "train: the gradient is not finite (norm %g)", norm);
    if (norm_out) *norm_out = norm;
    opt_job j = {.m = m, .p = p, .coef = 1.0f};
    if (p->clip > 0) j.coef = p->clip / (norm + 1e-6f); /* as torch.nn.utils.clip_grad_norm_ */
    j.lr = lmc_lr_at(p, m->step);
    if (lr_out) *lr_out = j.lr;
    m->step++;
    m->micro = 0;
    /* torch.optim.AdamW: p *= 1 - lr wd; m, v moments; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
    const double bc1 = 1.0 - pow(p->beta1, (double)m->step), bc2 = 1.0 - pow(p->beta2, (double)m->step);
    j.step_size = (float)(j.lr / bc1);
    j.bc2s = (float)sqrt(bc2);
    lmc_threadpool_run(m->tp, adamw_task, &j);
    return LMC_OK;
}
