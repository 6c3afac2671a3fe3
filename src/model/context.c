/* context.c — a context runs one sequence through a model: it owns the KV cache, the
 * thread pool and one allocation of activation buffers sized for n_batch tokens, and
 * splits longer inputs into steps of that size. */
#include "model-impl.h"

#include <stdlib.h>

lmc_context_params lmc_context_default_params(void) {
    lmc_context_params p = {.n_ctx = 0, .n_batch = 512, .n_threads = 1, .kv_type = LMC_TYPE_F16};
    return p;
}

/* Carves the activation buffers out of one allocation (size table -> one malloc). */
static int alloc_buffers(lmc_context *c) {
    const lmc_model_hparams *hp = &c->model->hp;
    const int64_t B = c->n_ubatch, C = hp->n_embd, HD = (int64_t)hp->n_head * hp->head_dim,
                  Ckv = (int64_t)hp->n_head_kv * hp->head_dim, F = hp->n_ff, E = hp->n_expert,
                  Eu = hp->n_expert_used, nth = c->params.n_threads;
    struct {
        void **p;
        int64_t n; /* 4-byte elements */
    } t[] = {
        {(void **)&c->x, B * C},          {(void **)&c->xb, B * C},      {(void **)&c->xb2, B * C},
        {(void **)&c->q, B * HD},         {(void **)&c->k, B * Ckv},     {(void **)&c->v, B * Ckv},
        {(void **)&c->qkv, hp->arch == LMC_ARCH_GPT2 ? B * (HD + 2 * Ckv) : 0},
        {(void **)&c->att, B * HD},       {(void **)&c->hb, B * F},      {(void **)&c->hb2, B * F},
        {(void **)&c->router, B * E},     {(void **)&c->sel, B * Eu},    {(void **)&c->selw, B * Eu},
        {(void **)&c->xe, E ? B * C : 0}, {(void **)&c->ye, E ? B * Eu * C : 0}, {(void **)&c->rows, E ? B : 0},
        {(void **)&c->scratch, nth * lmc_attn_scratch_floats(c->kv.n_ctx, hp->head_dim)}, {(void **)&c->pos, B},
        {(void **)&c->rope_cs, hp->rope_type != LMC_ROPE_NONE ? B * hp->n_rot : 0},
    };
    const int n = (int)(sizeof t / sizeof t[0]);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += (uint64_t)((t[i].n + 15) & ~(int64_t)15); /* 64-byte aligned slices */
    float *block = aligned_alloc(64, (size_t)total * 4 + 64);
    if (!block) return lmc_set_error(LMC_ERR_NOMEM, "context: cannot allocate %.1f MiB of activations", total * 4 / 1048576.0);
    c->block = block;
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        *t[i].p = t[i].n ? (void *)(block + off) : NULL;
        off += (uint64_t)((t[i].n + 15) & ~(int64_t)15);
    }
    return LMC_OK;
}

lmc_context *lmc_context_init(const lmc_model *m, lmc_context_params p) {
    if (!m) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_context_init: model is NULL");
    const lmc_model_hparams *hp = &m->hp;
    if (p.n_threads < 1 || p.n_threads > 1024)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "number of threads must be between 1 and 1024, got %d", p.n_threads);
    if (p.n_ctx < 0) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "context size must be >= 0, got %d", p.n_ctx);
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train;
    if (hp->arch == LMC_ARCH_GPT2 && p.n_ctx > hp->n_ctx_train)
        return lmc_set_error_null(LMC_ERR_LIMIT,
                                  "context size %d exceeds the %d positions gpt2 has embeddings for", p.n_ctx,
                                  hp->n_ctx_train);
    if (p.n_batch <= 0) p.n_batch = 512;
    lmc_context *c = calloc(1, sizeof *c);
    if (!c) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    c->model = m;
    c->params = p;
    c->n_ubatch = LMC_MIN(p.n_batch, p.n_ctx);
    if (lmc_kv_cache_init(&c->kv, hp->n_layer, p.n_ctx, (int64_t)hp->n_head_kv * hp->head_dim, p.kv_type) ||
        alloc_buffers(c)) {
        lmc_context_free(c);
        return NULL;
    }
    if (p.n_threads > 1) {
        c->tp = lmc_threadpool_init(p.n_threads);
        if (!c->tp) {
            lmc_context_free(c);
            return NULL;
        }
    }
    return c;
}

void lmc_context_free(lmc_context *c) {
    if (!c) return;
    lmc_threadpool_free(c->tp);
    lmc_kv_cache_free(&c->kv);
    free(c->block);
    free(c);
}

const lmc_model *lmc_context_model(const lmc_context *c) { return c->model; }
int64_t lmc_context_n_ctx(const lmc_context *c) { return c->kv.n_ctx; }
int64_t lmc_context_n_past(const lmc_context *c) { return c->n_past; }
void lmc_context_reset(lmc_context *c) { c->n_past = 0; }

int lmc_context_set_shift(lmc_context *c, int64_t n_keep) {
    if (!c || n_keep < 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "context shift: need a context and n_keep >= 0");
    c->shift_keep = n_keep;
    return LMC_OK;
}

int lmc_context_truncate(lmc_context *c, int64_t n_keep) {
    if (n_keep < 0 || n_keep > c->n_past)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "cannot keep %lld tokens of %lld in the cache", (long long)n_keep,
                             (long long)c->n_past);
    c->n_past = n_keep; /* rows past n_past are overwritten before they are read again */
    return LMC_OK;
}

int lmc_decode(lmc_context *c, const int32_t *tokens, int64_t n, float *logits, bool all_logits) {
    if (!c || (!tokens && n > 0) || n < 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_decode: bad arguments");
    if (n == 0) return LMC_OK;
    const int32_t V = c->model->hp.n_vocab;
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return lmc_set_error(LMC_ERR_INVALID_ARG, "token id %d at index %lld is outside the vocabulary [0, %d)",
                                 tokens[i], (long long)i, V);
    if (n > c->kv.n_ctx - c->n_past)
        return lmc_set_error(LMC_ERR_LIMIT,
                             "context full: %lld tokens do not fit (%lld of %lld positions used); use a larger -c",
                             (long long)n, (long long)c->n_past, (long long)c->kv.n_ctx);
    const int64_t start = c->n_past;
    for (int64_t i = 0; i < n; i += c->n_ubatch) {
        const int64_t T = LMC_MIN(c->n_ubatch, n - i);
        const bool last = i + T == n;
        float *out = NULL;
        if (logits && all_logits) out = logits + i * (int64_t)V;
        else if (logits && last) out = logits;
        int rc = lmc_forward_step(c, tokens + i, T, out, all_logits);
        if (rc) {
            c->n_past = start; /* leave the cache as it was */
            return rc;
        }
    }
    return LMC_OK;
}
