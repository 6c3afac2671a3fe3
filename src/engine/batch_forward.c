/* batch_forward.c — one forward step over the tokens of many sequences at once.
 * Every token of the step (prompt chunks and decode tokens of all sequences) is one
 * row of the activations, so each weight matrix is read once per step for the whole
 * batch; only attention is per sequence: its new K/V rows go into its blocks, and
 * its keys/values are gathered from its block table into contiguous rows that the
 * model area's attention (lmc_attention_forward) reads, the same code lmc_decode
 * runs, so one sequence alone gives lmc_decode's numbers. The layer functions are
 * the model area's (model-impl.h). Shapes: engine-impl.h, model-impl.h. */
#include "engine-impl.h"

#include <math.h>
#include <stdlib.h>

int lmc_batch_forward_init(lmc_batch_forward *f, const lmc_model *m, lmc_block_pool *pool, int64_t B,
                           int64_t n_out_cap, int64_t n_ctx, int n_threads) {
    memset(f, 0, sizeof *f);
    const lmc_model_hparams *hp = &m->hp;
    f->m = m;
    f->pool = pool;
    f->B = B;
    f->n_out_cap = n_out_cap;
    f->n_ctx = n_ctx;
    const int64_t C = hp->n_embd, HD = (int64_t)hp->n_head * hp->head_dim, Ckv = (int64_t)hp->n_head_kv * hp->head_dim,
                  F = hp->n_ff, E = hp->n_expert, Eu = hp->n_expert_used, V = hp->n_vocab;
    lmc_context *c = &f->shell;
    c->model = m;
    c->n_ubatch = B;
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
        {(void **)&c->scratch, n_threads * lmc_attn_scratch_floats(n_ctx, hp->head_dim)}, {(void **)&c->pos, B},
        {(void **)&c->rope_cs, hp->rope_type != LMC_ROPE_NONE ? B * hp->n_rot : 0},
        {(void **)&f->kg, n_threads * n_ctx * Ckv}, {(void **)&f->vg, n_threads * n_ctx * Ckv},
        {(void **)&f->row0, 2 * B}, {(void **)&f->small, B},
        {(void **)&f->logits, n_out_cap * V}, {(void **)&f->hidden, B * C}, {(void **)&f->seq_of, B},
    };
    const int n = (int)(sizeof t / sizeof t[0]);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += (uint64_t)((t[i].n + 15) & ~(int64_t)15);
    float *block = aligned_alloc(64, (size_t)total * 4 + 64);
    if (!block)
        return lmc_set_error(LMC_ERR_NOMEM, "engine: cannot allocate %.1f MiB of activations", total * 4 / 1048576.0);
    f->mem = block;
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        *t[i].p = t[i].n ? (void *)(block + off) : NULL;
        off += (uint64_t)((t[i].n + 15) & ~(int64_t)15);
    }
    c->block = NULL; /* owned through f->mem */
    f->seg_cap = n_ctx / pool->S + 2;
    if (!(f->seg = calloc((size_t)(n_threads > 1 ? n_threads : 1) * (size_t)f->seg_cap, sizeof *f->seg))) {
        lmc_batch_forward_free(f);
        return LMC_ERR_NOMEM;
    }
    if (n_threads > 1) {
        f->tp = lmc_threadpool_init(n_threads);
        if (!f->tp) {
            lmc_batch_forward_free(f);
            return LMC_ERR_NOMEM;
        }
    }
    c->tp = f->tp;
    c->params.n_threads = n_threads;
    return LMC_OK;
}

void lmc_batch_forward_free(lmc_batch_forward *f) {
    if (!f) return;
    lmc_threadpool_free(f->tp);
    free(f->seg);
    free(f->mem);
    memset(f, 0, sizeof *f);
}


/* Attention of one sequence of the step (its rows start at r0), tp NULL: on this
 * thread. F32 and F16 pools are read in place, block by block through the sequence's
 * table (seg: room for the runs). A Q8_0 pool is gathered into kg/vg as F32 rows
 * first. A layer with a sliding window W needs only positions pos0-W+1 .. on: those
 * are read (gathered with the positions shifted, which leaves every query's keys the
 * same). Either way the numbers are those of one contiguous cache. */
static void attend_seq(lmc_batch_forward *f, lmc_threadpool *tp, int il, const lmc_batch_seq *q, int64_t r0,
                       float *kg, float *vg, lmc_kv_seg *seg, float *scratch) {
    const lmc_model_hparams *hp = &f->m->hp;
    lmc_context *c = &f->shell;
    lmc_block_pool *pool = f->pool;
    const int64_t HD = (int64_t)hp->n_head * hp->head_dim;
    const int64_t N = q->pos0 + q->T;
    const int64_t W = lmc_model_layer_window(f->m, il);
    const int64_t g0 = W > 0 ? LMC_MAX((int64_t)0, q->pos0 - W + 1) : 0;
    const lmc_type gt = lmc_block_gather_type(pool);
    const bool flash = f->flash_attn && gt == LMC_TYPE_F16;
    if (gt == pool->type && !flash) {
        lmc_attn_args a = {
            .out = c->att + r0 * HD, .q = c->q + r0 * HD, .seg = seg,
            .n_seg = lmc_block_segments(pool, il, q->table, g0, N, seg), .kv_type = gt,
            .T = q->T, .pos0 = q->pos0, .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .D = hp->head_dim,
            .window = W, .scale = 1.0f / sqrtf((float)hp->head_dim),
            .scratch = scratch, .scratch_stride = lmc_attn_scratch_floats(f->n_ctx, hp->head_dim),
        };
        lmc_attention_forward(tp, &a);
        return;
    }
    lmc_block_gather(pool, il, q->table, g0, N, kg, vg);
    lmc_attn_args a = {
        .out = c->att + r0 * HD, .probs = NULL, .q = c->q + r0 * HD,
        .kc = kg, .vc = vg, .kv_type = gt,
        .T = q->T, .pos0 = q->pos0 - g0, .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .D = hp->head_dim,
        .window = W, .flash = flash,
        .scale = 1.0f / sqrtf((float)hp->head_dim),
        .scratch = scratch, .scratch_stride = lmc_attn_scratch_floats(f->n_ctx, hp->head_dim),
    };
    lmc_attention_forward(tp, &a);
}

/* stores sequence q's K/V rows of this step (its rows of c->k, c->v from r0) in its blocks */
static void store_seq(lmc_batch_forward *f, int il, const lmc_batch_seq *q, int64_t r0) {
    lmc_context *c = &f->shell;
    const int64_t Ckv = (int64_t)f->m->hp.n_head_kv * f->m->hp.head_dim;
    const int32_t S = f->pool->S;
    for (int64_t t = 0; t < q->T; t++) {
        const int64_t pos = q->pos0 + t;
        lmc_block_store(f->pool, il, q->table[pos / S], (int32_t)(pos % S), c->k + (r0 + t) * Ckv,
                        c->v + (r0 + t) * Ckv);
    }
}

/* the short sequences of a step (decode tokens), spread over the pool's threads: one
 * dispatch per layer instead of one per sequence; each thread takes the next sequence
 * as it finishes one (their cost varies with their length and with memory), stores its
 * rows (its own blocks: shared prefix blocks are never written) and attends */
typedef struct {
    lmc_batch_forward *f;
    int il, n;
    const lmc_batch_seq *s;
    const int64_t *r0;
    const bool *small; /* [n] in this group */
    int next;          /* the next sequence to take (atomic) */
} small_task;

static void small_attn_task(void *arg, int ith, int nth) {
    small_task *t = arg;
    lmc_batch_forward *f = t->f;
    const int64_t Ckv = (int64_t)f->m->hp.n_head_kv * f->m->hp.head_dim;
    const int64_t stride = lmc_attn_scratch_floats(f->n_ctx, f->m->hp.head_dim);
    (void)nth;
    for (int i; (i = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED)) < t->n;) {
        if (!t->small[i]) continue;
        store_seq(f, t->il, &t->s[i], t->r0[i]);
        attend_seq(f, NULL, t->il, &t->s[i], t->r0[i], f->kg + (size_t)ith * f->n_ctx * Ckv,
                   f->vg + (size_t)ith * f->n_ctx * Ckv, f->seg + ith * f->seg_cap, f->shell.scratch + ith * stride);
    }
}

/* Stores the step's K/V rows in each sequence's blocks, attends, and projects:
 * xb2[B][C] = att . Wo^T + bo for the whole batch. */
static int attention_block(lmc_batch_forward *f, int il, const lmc_layer *L, lmc_batch_seq *s, int n, int64_t Ttot) {
    lmc_context *c = &f->shell;
    const int nth = f->tp ? lmc_threadpool_n_threads(f->tp) : 1;
    int64_t r0 = 0;
    bool any_small = false;
    int n_short = 0;
    for (int i = 0; i < n; i++) n_short += s[i].T < 4;
    for (int i = 0; i < n; i++) {
        f->row0[i] = r0;
        /* a prompt chunk splits its (token, head) rows over every thread; a few decode
         * tokens go whole to one thread when there are enough such sequences to keep
         * every thread busy (else their heads are split too: one stream's attention) */
        f->small[i] = nth > 1 && s[i].T < 4 && n_short >= nth;
        any_small |= f->small[i];
        if (!f->small[i]) store_seq(f, il, &s[i], r0);
        r0 += s[i].T;
    }
    for (int i = 0; i < n; i++)
        if (!f->small[i]) attend_seq(f, f->tp, il, &s[i], f->row0[i], f->kg, f->vg, f->seg, c->scratch);
    if (any_small) {
        small_task t = {.f = f, .il = il, .n = n, .s = s, .r0 = f->row0, .small = f->small};
        lmc_threadpool_run(f->tp, small_attn_task, &t);
    }
    return lmc_linear(f->tp, &L->wo, L->bo, c->att, Ttot, c->xb2);
}

static int llama_layer(lmc_batch_forward *f, int il, lmc_batch_seq *s, int n, int64_t T) {
    const lmc_model *m = f->m;
    const lmc_model_hparams *hp = &m->hp;
    const lmc_layer *L = &m->layers[il];
    lmc_context *c = &f->shell;
    int rc;

    /* row-wise steps split over the threads when every thread gets rows */
    const int64_t min_rows = 2 * (int64_t)(f->tp ? lmc_threadpool_n_threads(f->tp) : 1);
    lmc_layer_rows(c, L, il, LMC_ROWS_ATTN_NORM, T, min_rows);
    if ((rc = lmc_qkv_forward(f->tp, L, c->xb, T, c->q, c->k, c->v))) return rc;
    lmc_layer_rows(c, L, il, LMC_ROWS_ROPE, T, min_rows);
    if ((rc = attention_block(f, il, L, s, n, T))) return rc;
    lmc_layer_rows(c, L, il, LMC_ROWS_MID, T, min_rows);
    if (hp->n_expert > 0) {
        if ((rc = lmc_moe_forward(c, L, c->xb, c->xb2, T))) return rc;
    } else {
        if ((rc = lmc_gate_up_forward(f->tp, L, c->xb, T, c->hb, c->hb2))) return rc;
        lmc_layer_rows(c, L, il, LMC_ROWS_SWIGLU, T, min_rows);
        if ((rc = lmc_linear(f->tp, &L->ffn_down, L->ffn_down_b, c->hb, T, c->xb2))) return rc;
    }
    lmc_layer_rows(c, L, il, LMC_ROWS_RESIDUAL, T, min_rows);
    return LMC_OK;
}

static int gpt2_layer(lmc_batch_forward *f, int il, lmc_batch_seq *s, int n, int64_t T) {
    const lmc_model_hparams *hp = &f->m->hp;
    const lmc_layer *L = &f->m->layers[il];
    lmc_context *c = &f->shell;
    const int64_t C = hp->n_embd, F = hp->n_ff, HD = (int64_t)hp->n_head * hp->head_dim,
                  Ckv = (int64_t)hp->n_head_kv * hp->head_dim, W = HD + 2 * Ckv;
    int rc;

    lmc_layernorm_forward(c->xb, NULL, NULL, c->x, L->attn_norm, L->attn_norm_b, T, C, hp->norm_eps);
    if ((rc = lmc_linear(f->tp, &L->wqkv, L->bqkv, c->xb, T, c->qkv))) return rc;
    for (int64_t t = 0; t < T; t++) { /* qkv[t] = [q | k | v] */
        memcpy(c->q + t * HD, c->qkv + t * W, (size_t)HD * sizeof(float));
        memcpy(c->k + t * Ckv, c->qkv + t * W + HD, (size_t)Ckv * sizeof(float));
        memcpy(c->v + t * Ckv, c->qkv + t * W + HD + Ckv, (size_t)Ckv * sizeof(float));
    }
    if ((rc = attention_block(f, il, L, s, n, T))) return rc;
    lmc_residual_forward(c->x, c->xb2, T * C);

    lmc_layernorm_forward(c->xb, NULL, NULL, c->x, L->ffn_norm, L->ffn_norm_b, T, C, hp->norm_eps);
    if ((rc = lmc_linear(f->tp, &L->ffn_up, L->ffn_up_b, c->xb, T, c->hb))) return rc;
    lmc_gelu_forward(c->hb, c->hb, T * F);
    if ((rc = lmc_linear(f->tp, &L->ffn_down, L->ffn_down_b, c->hb, T, c->xb2))) return rc;
    lmc_residual_forward(c->x, c->xb2, T * C);
    return LMC_OK;
}

/* out[nr][C] = output norm of x rows */
static void out_norm(lmc_batch_forward *f, float *out, const float *x, int64_t nr) {
    const lmc_model *m = f->m;
    const lmc_model_hparams *hp = &m->hp;
    if (hp->arch == LMC_ARCH_GPT2)
        lmc_layernorm_forward(out, NULL, NULL, x, m->output_norm, m->output_norm_b, nr, hp->n_embd, hp->norm_eps);
    else
        lmc_rmsnorm_forward(out, NULL, x, m->output_norm, nr, hp->n_embd, hp->norm_eps);
}

int lmc_batch_forward_run(lmc_batch_forward *f, lmc_batch_seq *s, int n) {
    const lmc_model *m = f->m;
    const lmc_model_hparams *hp = &m->hp;
    lmc_context *c = &f->shell;
    const int64_t C = hp->n_embd;

    /* the step's rows: tokens, positions */
    int64_t T = 0;
    for (int i = 0; i < n; i++) {
        if (T + s[i].T > f->B || s[i].pos0 + s[i].T > f->n_ctx)
            return lmc_set_error(LMC_ERR_INTERNAL, "engine: step of %lld+ tokens exceeds its buffers",
                                 (long long)(T + s[i].T));
        for (int64_t t = 0; t < s[i].T; t++) {
            c->pos[T + t] = (int32_t)(s[i].pos0 + t);
            f->seq_of[T + t] = i;
        }
        T += s[i].T;
    }
    if (T == 0) return LMC_OK;
    lmc_layer_rope_angles(c, T);
    int32_t tok_local[256];
    int32_t *tok = tok_local, *tok_heap = NULL;
    if (T <= 256) tok = tok_local;
    else if (!(tok = tok_heap = malloc((size_t)T * sizeof *tok))) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    for (int i = 0, r = 0; i < n; i++)
        for (int64_t t = 0; t < s[i].T; t++) tok[r++] = s[i].tok[t];
    int rc = lmc_embed_tokens(&f->shell, tok, T);
    free(tok_heap);
    for (int il = 0; il < hp->n_layer && !rc; il++)
        rc = hp->arch == LMC_ARCH_GPT2 ? gpt2_layer(f, il, s, n, T) : llama_layer(f, il, s, n, T);
    if (rc) return rc;

    /* outputs: rows that need logits are gathered into xb2 and go through the head */
    int64_t n_lr = 0, n_hr = 0, r0 = 0;
    for (int i = 0; i < n; i++) {
        s[i].logit_row = s[i].hidden_row = -1;
        if (s[i].out_from >= 0 && s[i].out_from < s[i].pos0 + s[i].T) {
            const int64_t first = LMC_MAX(s[i].out_from, s[i].pos0);
            const int64_t k = s[i].pos0 + s[i].T - first;
            if (n_lr + k > f->n_out_cap)
                return lmc_set_error(LMC_ERR_INTERNAL, "engine: more than %lld logits rows in a step",
                                     (long long)f->n_out_cap);
            memcpy(c->xb2 + n_lr * C, c->x + (r0 + first - s[i].pos0) * C, (size_t)(k * C) * sizeof(float));
            s[i].logit_row = n_lr;
            n_lr += k;
        }
        if (s[i].hidden) {
            out_norm(f, f->hidden + n_hr * C, c->x + r0 * C, s[i].T);
            s[i].hidden_row = n_hr;
            n_hr += s[i].T;
        }
        r0 += s[i].T;
    }
    if (n_lr > 0) {
        out_norm(f, c->xb, c->xb2, n_lr);
        if ((rc = lmc_linear(f->tp, &m->output, m->output_b, c->xb, n_lr, f->logits))) return rc;
    }
    return LMC_OK;
}
