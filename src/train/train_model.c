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
    float *dx, *dh, *dq, *dk, *dv, *datt, *df1, *df2, *dact, *scratch;
    int32_t *pos;
    float *act_mem;
    size_t act_floats;
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

static float *grad_of(const lmc_train_model *m, const float *p) { return p ? m->grads + (p - m->params) : NULL; }

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
    if (c->arch == LMC_ARCH_GPT2 && c->n_head_kv != c->n_head)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "train: gpt2 has no grouped-query attention (--kv-heads = --heads)");
    lmc_train_model *m = calloc(1, sizeof *m);
    if (!m) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    m->cfg = *c;
    if (m->cfg.n_ff <= 0) m->cfg.n_ff = 4 * c->n_embd;
    m->max_B = max_batch;
    m->n_threads = n_threads > 0 ? n_threads : 1;
    if (layout(m)) {
        free(m);
        return NULL;
    }
    const lmc_train_config *k = &m->cfg;
    const int64_t C = k->n_embd, H = k->n_head, D = C / H, HD = C, KD = k->n_head_kv * D, F = k->n_ff, V = k->n_vocab;
    const int64_t N = (int64_t)max_batch * k->n_ctx, T = k->n_ctx;
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    m->m = calloc(m->n_params, sizeof(float));
    m->v = calloc(m->n_params, sizeof(float));
    m->L = calloc((size_t)k->n_layer, sizeof *m->L);
    m->A = calloc((size_t)k->n_layer, sizeof *m->A);
    /* activations: one allocation from the same kind of table */
    const int64_t per_layer = N * C /*x_in*/ + N * C /*h1*/ + 2 * N + N * HD + 2 * N * KD + (int64_t)max_batch * H * T * T +
                              N * HD /*att*/ + N * C /*x_mid*/ + N * C /*h2*/ + 2 * N + 3 * N * F;
    const int64_t global = 2 * N * C + 2 * N + 2 * N * V + N * C * 2 + N * HD * 2 + 2 * N * KD + 3 * N * F + T * T + 16;
    m->act_floats = (size_t)(per_layer * k->n_layer + global);
    m->act_mem = calloc(m->act_floats, sizeof(float));
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
    TAKE(m->scratch, T * T + 16);
#undef TAKE
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
void lmc_train_model_set_step(lmc_train_model *m, int64_t step) { m->step = step; }
void lmc_train_zero_grad(lmc_train_model *m) { memset(m->grads, 0, m->n_params * sizeof(float)); }
const float *lmc_train_logits(const lmc_train_model *m) { return m->logits; }

/* ---- forward + backward ------------------------------------------------------------ */

int lmc_train_step_fb(lmc_train_model *m, const int32_t *tokens, const int32_t *targets, int32_t B, int32_t T,
                      float grad_scale, bool backward, float *loss_out, int64_t *n_counted) {
    const lmc_train_config *k = &m->cfg;
    if (B < 1 || B > m->max_B || T < 1 || T > k->n_ctx)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "train: batch %d x %d exceeds the model's %d x %d", B, T, m->max_B,
                             k->n_ctx);
    const int64_t N = (int64_t)B * T, C = k->n_embd, H = k->n_head, Hkv = k->n_head_kv, D = C / H, KD = Hkv * D;
    const int64_t F = k->n_ff, V = k->n_vocab;
    const bool gpt2 = k->arch == LMC_ARCH_GPT2;
    for (int64_t n = 0; n < N; n++) {
        if (tokens[n] < 0 || tokens[n] >= V || (targets && targets[n] >= V))
            return lmc_set_error(LMC_ERR_INVALID_ARG, "train: token id %d outside the vocabulary of %lld at position %lld",
                                 targets && targets[n] >= V ? targets[n] : tokens[n], (long long)V, (long long)n);
        m->pos[n] = (int32_t)(n % T);
    }
    openblas_set_num_threads(m->n_threads);
    m->last_B = B, m->last_T = T;

    /* forward */
    float *x = m->A[0].x_in;
    lmc_tr_embed_fwd_f32(x, m->tok_embd, gpt2 ? m->pos_embd : NULL, tokens, m->pos, N, C);
    for (int l = 0; l < k->n_layer; l++) {
        tr_layer_p *L = &m->L[l];
        tr_layer_a *A = &m->A[l];
        if (gpt2)
            lmc_tr_layernorm_fwd_f32(A->h1, A->mean1, A->rstd1, A->x_in, L->attn_norm, L->attn_norm_b, N, C, k->norm_eps);
        else
            lmc_tr_rmsnorm_fwd_f32(A->h1, A->rstd1, A->x_in, L->attn_norm, N, C, k->norm_eps);
        lmc_tr_linear_fwd_f32(A->q, A->h1, L->wq, L->bq, N, C, C);
        lmc_tr_linear_fwd_f32(A->k, A->h1, L->wk, L->bk, N, C, KD);
        lmc_tr_linear_fwd_f32(A->v, A->h1, L->wv, L->bv, N, C, KD);
        if (!gpt2) {
            lmc_tr_rope_fwd_f32(A->q, m->pos, N, (int)H, (int)D, (int)D, k->rope_base);
            lmc_tr_rope_fwd_f32(A->k, m->pos, N, (int)Hkv, (int)D, (int)D, k->rope_base);
        }
        lmc_tr_attn_fwd_f32(A->att, A->P, A->q, A->k, A->v, B, T, (int)H, (int)Hkv, (int)D);
        /* x_mid = x_in + att Wo^T + bo */
        lmc_tr_linear_fwd_f32(A->x_mid, A->att, L->wo, L->bo, N, C, C);
        for (int64_t i = 0; i < N * C; i++) A->x_mid[i] += A->x_in[i];
        if (gpt2)
            lmc_tr_layernorm_fwd_f32(A->h2, A->mean2, A->rstd2, A->x_mid, L->ffn_norm, L->ffn_norm_b, N, C, k->norm_eps);
        else
            lmc_tr_rmsnorm_fwd_f32(A->h2, A->rstd2, A->x_mid, L->ffn_norm, N, C, k->norm_eps);
        if (gpt2) {
            lmc_tr_linear_fwd_f32(A->f1, A->h2, L->w_up, L->b_up, N, C, F);
            lmc_tr_gelu_fwd_f32(A->act, A->f1, N * F);
        } else {
            lmc_tr_linear_fwd_f32(A->f1, A->h2, L->w_gate, NULL, N, C, F);
            lmc_tr_linear_fwd_f32(A->f2, A->h2, L->w_up, NULL, N, C, F);
            lmc_tr_swiglu_fwd_f32(A->act, A->f1, A->f2, N * F);
        }
        float *xo = l + 1 < k->n_layer ? m->A[l + 1].x_in : m->x_final;
        lmc_tr_linear_fwd_f32(xo, A->act, L->w_down, L->b_down, N, F, C);
        for (int64_t i = 0; i < N * C; i++) xo[i] += A->x_mid[i];
    }
    if (gpt2)
        lmc_tr_layernorm_fwd_f32(m->hf, m->meanf, m->rstdf, m->x_final, m->out_norm, m->out_norm_b, N, C, k->norm_eps);
    else
        lmc_tr_rmsnorm_fwd_f32(m->hf, m->rstdf, m->x_final, m->out_norm, N, C, k->norm_eps);
    lmc_tr_linear_fwd_f32(m->logits, m->hf, m->output, NULL, N, C, V);
    if (!targets) return LMC_OK;
    int64_t cnt = 0;
    const float loss = lmc_tr_xent_f32(backward ? m->dlogits : NULL, m->logits, targets, N, V, &cnt);
    if (loss_out) *loss_out = loss;
    if (n_counted) *n_counted = cnt;
    if (!backward) return LMC_OK;

    /* backward: gradients accumulate into m->grads */
    if (grad_scale != 1.0f)
        for (int64_t i = 0; i < N * V; i++) m->dlogits[i] *= grad_scale;
    memset(m->dh, 0, (size_t)(N * C) * sizeof(float));
    lmc_tr_linear_bwd_f32(m->dh, grad_of(m, m->output), NULL, m->dlogits, m->hf, m->output, N, C, V);
    memset(m->dx, 0, (size_t)(N * C) * sizeof(float));
    if (gpt2)
        lmc_tr_layernorm_bwd_f32(m->dx, grad_of(m, m->out_norm), grad_of(m, m->out_norm_b), m->dh, m->x_final,
                                 m->out_norm, m->meanf, m->rstdf, N, C);
    else
        lmc_tr_rmsnorm_bwd_f32(m->dx, grad_of(m, m->out_norm), m->dh, m->x_final, m->out_norm, m->rstdf, N, C);
    /* m->dx is now d loss / d (output of the last layer) */
    for (int l = k->n_layer - 1; l >= 0; l--) {
        tr_layer_p *L = &m->L[l];
        tr_layer_a *A = &m->A[l];
        /* FFN: x_out = x_mid + down(act); dx flows to x_mid unchanged (residual) */
        memset(m->dact, 0, (size_t)(N * F) * sizeof(float));
        lmc_tr_linear_bwd_f32(m->dact, grad_of(m, L->w_down), grad_of(m, L->b_down), m->dx, A->act, L->w_down, N, F, C);
        memset(m->df1, 0, (size_t)(N * F) * sizeof(float));
        memset(m->dh, 0, (size_t)(N * C) * sizeof(float));
        if (gpt2) {
            lmc_tr_gelu_bwd_f32(m->df1, m->dact, A->f1, N * F);
            lmc_tr_linear_bwd_f32(m->dh, grad_of(m, L->w_up), grad_of(m, L->b_up), m->df1, A->h2, L->w_up, N, C, F);
        } else {
            memset(m->df2, 0, (size_t)(N * F) * sizeof(float));
            lmc_tr_swiglu_bwd_f32(m->df1, m->df2, m->dact, A->f1, A->f2, N * F);
            lmc_tr_linear_bwd_f32(m->dh, grad_of(m, L->w_gate), NULL, m->df1, A->h2, L->w_gate, N, C, F);
            lmc_tr_linear_bwd_f32(m->dh, grad_of(m, L->w_up), NULL, m->df2, A->h2, L->w_up, N, C, F);
        }
        if (gpt2)
            lmc_tr_layernorm_bwd_f32(m->dx, grad_of(m, L->ffn_norm), grad_of(m, L->ffn_norm_b), m->dh, A->x_mid, L->ffn_norm,
                                     A->mean2, A->rstd2, N, C);
        else
            lmc_tr_rmsnorm_bwd_f32(m->dx, grad_of(m, L->ffn_norm), m->dh, A->x_mid, L->ffn_norm, A->rstd2, N, C);
        /* attention: x_mid = x_in + wo(att) */
        memset(m->datt, 0, (size_t)(N * C) * sizeof(float));
        lmc_tr_linear_bwd_f32(m->datt, grad_of(m, L->wo), grad_of(m, L->bo), m->dx, A->att, L->wo, N, C, C);
        memset(m->dq, 0, (size_t)(N * C) * sizeof(float));
        memset(m->dk, 0, (size_t)(N * KD) * sizeof(float));
        memset(m->dv, 0, (size_t)(N * KD) * sizeof(float));
        lmc_tr_attn_bwd_f32(m->dq, m->dk, m->dv, m->datt, A->P, A->q, A->k, A->v, B, T, (int)H, (int)Hkv, (int)D,
                            m->scratch);
        if (!gpt2) {
            lmc_tr_rope_bwd_f32(m->dq, m->pos, N, (int)H, (int)D, (int)D, k->rope_base);
            lmc_tr_rope_bwd_f32(m->dk, m->pos, N, (int)Hkv, (int)D, (int)D, k->rope_base);
        }
        memset(m->dh, 0, (size_t)(N * C) * sizeof(float));
        lmc_tr_linear_bwd_f32(m->dh, grad_of(m, L->wq), grad_of(m, L->bq), m->dq, A->h1, L->wq, N, C, C);
        lmc_tr_linear_bwd_f32(m->dh, grad_of(m, L->wk), grad_of(m, L->bk), m->dk, A->h1, L->wk, N, C, KD);
        lmc_tr_linear_bwd_f32(m->dh, grad_of(m, L->wv), grad_of(m, L->bv), m->dv, A->h1, L->wv, N, C, KD);
        if (gpt2)
            lmc_tr_layernorm_bwd_f32(m->dx, grad_of(m, L->attn_norm), grad_of(m, L->attn_norm_b), m->dh, A->x_in,
                                     L->attn_norm, A->mean1, A->rstd1, N, C);
        else
            lmc_tr_rmsnorm_bwd_f32(m->dx, grad_of(m, L->attn_norm), m->dh, A->x_in, L->attn_norm, A->rstd1, N, C);
    }
    lmc_tr_embed_bwd_f32(grad_of(m, m->tok_embd), gpt2 ? grad_of(m, m->pos_embd) : NULL, m->dx, tokens, m->pos, N, C);
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

float lmc_train_grad_norm(const lmc_train_model *m) {
    double s = 0;
    for (size_t i = 0; i < m->n_params; i++) s += (double)m->grads[i] * m->grads[i];
    return (float)sqrt(s);
}

int lmc_train_adamw_step(lmc_train_model *m, const lmc_adamw_params *p, float *lr_out, float *norm_out) {
    const float norm = lmc_train_grad_norm(m);
    if (!isfinite(norm)) return lmc_set_error(LMC_ERR_INVALID_ARG, "train: the gradient is not finite (norm %g)", norm);
    if (norm_out) *norm_out = norm;
    if (p->clip > 0) { /* as torch.nn.utils.clip_grad_norm_ */
        const float coef = p->clip / (norm + 1e-6f);
        if (coef < 1.0f)
            for (size_t i = 0; i < m->n_params; i++) m->grads[i] *= coef;
    }
    const float lr = lmc_lr_at(p, m->step);
    if (lr_out) *lr_out = lr;
    m->step++;
    /* torch.optim.AdamW: p *= 1 - lr wd; m, v moments; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
    const double bc1 = 1.0 - pow(p->beta1, (double)m->step), bc2 = 1.0 - pow(p->beta2, (double)m->step);
    const float step_size = (float)(lr / bc1), bc2s = (float)sqrt(bc2);
    for (int i = 0; i < m->n_tensors; i++) {
        const tr_tensor *t = &m->t[i];
        const bool decay = t->decay || p->decay_all;
        float *w = m->params + t->off, *g = m->grads + t->off, *mm = m->m + t->off, *vv = m->v + t->off;
        const int64_t n = t->ne[0] * t->ne[1];
        for (int64_t j = 0; j < n; j++) {
            if (decay) w[j] *= 1.0f - lr * p->weight_decay;
            mm[j] += (g[j] - mm[j]) * (1.0f - p->beta1);
            vv[j] = vv[j] * p->beta2 + (1.0f - p->beta2) * g[j] * g[j];
            w[j] -= step_size * mm[j] / (sqrtf(vv[j]) / bc2s + p->eps);
        }
    }
    return LMC_OK;
}
