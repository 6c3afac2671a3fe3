/* forward.c — the forward graphs: llama (also SmolLM2, TinyLlama, Mistral-style and
 * llama-MoE), qwen2 (llama + Q/K/V biases + NEOX RoPE, selected by the hyperparameters
 * and the biases present) and gpt2. One step runs T tokens, T = 1 for decode and up to
 * n_batch for a prompt; the code is the same. Shapes: see model-impl.h. */
#include "model-impl.h"

#include <math.h>

int lmc_embed_tokens(lmc_context *c, const int32_t *tokens, int64_t T) {
    const lmc_model *m = c->model;
    const int64_t C = m->hp.n_embd;
    for (int64_t t = 0; t < T; t++) {
        int rc = lmc_model_embed_row(m, tokens[t], c->x + t * C);
        if (rc) return rc;
        if (m->pos_embd.data) {
            const uint8_t *row = (const uint8_t *)m->pos_embd.data + (size_t)c->pos[t] * m->pos_embd.row_bytes;
            if ((rc = lmc_dequantize_row(m->pos_embd.type, row, c->xb, C))) return rc;
            lmc_residual_forward(c->x + t * C, c->xb, C);
        }
    }
    return LMC_OK;
}

/* prompts split the row-wise steps over the pool (lmc_layer_rows) from this many tokens */
#define ROWS_MIN 32

/* Attention of the T tokens in c->q / c->k / c->v (RoPE applied): store K, V in the
 * cache at pos0.. (unless already stored), attend, and project: c->xb2[T][C] = attn . Wo^T + bo. */
static int attention_block(lmc_context *c, int il, const lmc_layer *L, int64_t T, bool stored) {
    const lmc_model_hparams *hp = &c->model->hp;
    const int64_t pos0 = c->n_past;
    if (!stored) lmc_kv_cache_store(&c->kv, il, pos0, T, c->k, c->v);
    lmc_attn_args a = {
        .out = c->att, .probs = NULL, .q = c->q,
        .kc = lmc_kv_cache_k(&c->kv, il), .vc = lmc_kv_cache_v(&c->kv, il), .kv_type = c->kv.type,
        .T = T, .pos0 = pos0, .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .D = hp->head_dim,
        .window = lmc_model_layer_window(c->model, il),
        .flash = c->params.flash_attn && c->kv.type == LMC_TYPE_F16,
        .scale = 1.0f / sqrtf((float)hp->head_dim),
        .scratch = c->scratch, .scratch_stride = lmc_attn_scratch_floats(c->kv.n_ctx, hp->head_dim),
    };
    lmc_attention_forward(c->tp, &a);
    return lmc_linear(c->tp, &L->wo, L->bo, c->att, T, c->xb2);
}

/* llama / qwen2 block: x += attn(rmsnorm(x)); x += ffn(rmsnorm(x)) */
static int llama_layer(lmc_context *c, int il, int64_t T) {
    const lmc_model *m = c->model;
    const lmc_model_hparams *hp = &m->hp;
    const lmc_layer *L = &m->layers[il];
    int rc;

    lmc_layer_rows(c, L, il, LMC_ROWS_ATTN_NORM, T, ROWS_MIN);
    if ((rc = lmc_qkv_forward(c->tp, L, c->xb, T, c->q, c->k, c->v))) return rc;
    lmc_layer_rows(c, L, il, LMC_ROWS_ROPE_STORE, T, ROWS_MIN);
    if ((rc = attention_block(c, il, L, T, true))) return rc;
    lmc_layer_rows(c, L, il, LMC_ROWS_MID, T, ROWS_MIN);
    if (hp->n_expert > 0) {
        if ((rc = lmc_moe_forward(c, L, c->xb, c->xb2, T))) return rc;
    } else {
        if ((rc = lmc_gate_up_forward(c->tp, L, c->xb, T, c->hb, c->hb2))) return rc;
        lmc_layer_rows(c, L, il, LMC_ROWS_SWIGLU, T, ROWS_MIN);
        if ((rc = lmc_linear(c->tp, &L->ffn_down, L->ffn_down_b, c->hb, T, c->xb2))) return rc;
    }
    lmc_layer_rows(c, L, il, LMC_ROWS_RESIDUAL, T, ROWS_MIN);
    return LMC_OK;
}

/* gpt2 block: x += attn(layernorm(x)); x += mlp(layernorm(x)), fused QKV, GELU MLP */
static int gpt2_layer(lmc_context *c, int il, int64_t T) {
    const lmc_model_hparams *hp = &c->model->hp;
    const lmc_layer *L = &c->model->layers[il];
    const int64_t C = hp->n_embd, F = hp->n_ff, HD = (int64_t)hp->n_head * hp->head_dim,
                  Ckv = (int64_t)hp->n_head_kv * hp->head_dim, W = HD + 2 * Ckv;
    int rc;

    lmc_layernorm_forward(c->xb, NULL, NULL, c->x, L->attn_norm, L->attn_norm_b, T, C, hp->norm_eps);
    if ((rc = lmc_linear(c->tp, &L->wqkv, L->bqkv, c->xb, T, c->qkv))) return rc;
    for (int64_t t = 0; t < T; t++) { /* qkv[t] = [q | k | v] */
        memcpy(c->q + t * HD, c->qkv + t * W, (size_t)HD * sizeof(float));
        memcpy(c->k + t * Ckv, c->qkv + t * W + HD, (size_t)Ckv * sizeof(float));
        memcpy(c->v + t * Ckv, c->qkv + t * W + HD + Ckv, (size_t)Ckv * sizeof(float));
    }
    if ((rc = attention_block(c, il, L, T, false))) return rc;
    lmc_residual_forward(c->x, c->xb2, T * C);

    lmc_layernorm_forward(c->xb, NULL, NULL, c->x, L->ffn_norm, L->ffn_norm_b, T, C, hp->norm_eps);
    if ((rc = lmc_linear(c->tp, &L->ffn_up, L->ffn_up_b, c->xb, T, c->hb))) return rc;
    lmc_gelu_forward(c->hb, c->hb, T * F);
    if ((rc = lmc_linear(c->tp, &L->ffn_down, L->ffn_down_b, c->hb, T, c->xb2))) return rc;
    lmc_residual_forward(c->x, c->xb2, T * C);
    return LMC_OK;
}

int lmc_forward_step(lmc_context *c, const int32_t *tokens, int64_t T, float *logits, bool all_logits) {
    const lmc_model *m = c->model;
    const lmc_model_hparams *hp = &m->hp;
    const int64_t C = hp->n_embd;
    for (int64_t t = 0; t < T; t++) c->pos[t] = (int32_t)(c->n_past + t);
    lmc_layer_rope_angles(c, T);
    int rc = lmc_embed_tokens(c, tokens, T);
    for (int il = 0; il < hp->n_layer && !rc; il++)
        rc = hp->arch == LMC_ARCH_GPT2 ? gpt2_layer(c, il, T) : llama_layer(c, il, T);
    if (rc) return rc;

    if (logits) { /* only the rows asked for go through the output head */
        const int64_t r0 = all_logits ? 0 : T - 1, nr = all_logits ? T : 1;
        const float *xr = c->x + r0 * C;
        if (hp->arch == LMC_ARCH_GPT2)
            lmc_layernorm_forward(c->xb, NULL, NULL, xr, m->output_norm, m->output_norm_b, nr, C, hp->norm_eps);
        else
            lmc_rmsnorm_forward(c->xb, NULL, xr, m->output_norm, nr, C, hp->norm_eps);
        if ((rc = lmc_linear(c->tp, &m->output, m->output_b, c->xb, nr, logits))) return rc;
    }
    c->n_past += T;
    return LMC_OK;
}
