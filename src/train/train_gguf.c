/* train_gguf.c — a training model from a GGUF file (to continue training it): the
 * inference loader validates the file, then every weight is converted to F32 into
 * the training layout. What inference runs but training cannot (quantized weights,
 * mixtures of experts, qwen2's biased NEOX attention) is refused with the reason. */
#include "train-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy_rows(const lmc_gguf *g, const char *name, int64_t row0, int64_t n_rows, int64_t row_len, float *dst,
                     const char *path) {
    const lmc_tensor_info *t = lmc_gguf_find_tensor(g, name);
    if (!t) return lmc_set_error(LMC_ERR_NOT_FOUND, "%s: no tensor %s", path, name);
    if (t->ne[0] != row_len || row0 + n_rows > t->n_elements / row_len)
        return lmc_set_error(LMC_ERR_FORMAT, "%s: %s has rows of %lld, expected %lld", path, name, (long long)t->ne[0],
                             (long long)row_len);
    const size_t rb = lmc_type_row_bytes(t->type, row_len);
    for (int64_t r = 0; r < n_rows; r++) {
        int rc = lmc_dequantize_row(t->type, (const uint8_t *)t->data + (size_t)(row0 + r) * rb, dst + r * row_len, row_len);
        if (rc) return rc;
    }
    return LMC_OK;
}

lmc_train_model *lmc_train_model_from_gguf(const char *path, int32_t max_batch, int32_t n_ctx, int32_t n_threads) {
    lmc_model *im = lmc_model_load(path);
    if (!im) return NULL;
    const lmc_model_hparams *hp = lmc_model_get_hparams(im);
    const lmc_gguf *g = lmc_model_gguf(im);
    lmc_train_model *m = NULL;
    if (hp->arch != LMC_ARCH_LLAMA && hp->arch != LMC_ARCH_GPT2) {
        lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: %s models cannot be trained yet (llama and gpt2 can)", path,
                      lmc_arch_name(hp->arch));
        goto done;
    }
    if (hp->n_expert > 0) {
        lmc_set_error(LMC_ERR_UNSUPPORTED,
                      "%s: mixture-of-experts layers (%d experts) run in inference only; training them is not supported yet",
                      path, hp->n_expert);
        goto done;
    }
    for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
        if (t->type != LMC_TYPE_F32 && t->type != LMC_TYPE_F16 && t->type != LMC_TYPE_BF16) {
            lmc_set_error(LMC_ERR_UNSUPPORTED,
                          "%s: %s is %s: quantized weights cannot be trained; start from an F32, F16 or BF16 model",
                          path, t->name, lmc_type_name(t->type));
            goto done;
        }
    }
    if ((hp->arch == LMC_ARCH_LLAMA && (hp->n_rot != hp->head_dim || hp->rope_freq_scale != 1.0f)) || hp->n_swa > 0) {
        lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: partial or scaled RoPE and sliding windows are not supported in training",
                      path);
        goto done;
    }
    const bool gpt2 = hp->arch == LMC_ARCH_GPT2;
    if (!gpt2 && lmc_gguf_find_tensor(g, "blk.0.attn_q.bias")) {
        lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: llama models with attention biases cannot be trained yet", path);
        goto done;
    }
    lmc_train_config c = lmc_train_default_config();
    c.arch = hp->arch, c.n_layer = hp->n_layer, c.n_head = hp->n_head, c.n_head_kv = hp->n_head_kv;
    c.n_embd = hp->n_embd, c.n_ff = hp->n_ff, c.n_vocab = hp->n_vocab, c.norm_eps = hp->norm_eps;
    c.rope_base = hp->rope_freq_base, c.tied = hp->tied_output, c.bias = gpt2;
    c.n_ctx = gpt2 ? hp->n_ctx_train : (n_ctx > 0 ? n_ctx : hp->n_ctx_train);
    if (gpt2 && n_ctx > 0 && n_ctx != hp->n_ctx_train) {
        lmc_set_error(LMC_ERR_INVALID_ARG, "%s: gpt2 has %d learned positions; train it with that context", path,
                      hp->n_ctx_train);
        goto done;
    }
    if (hp->head_dim * hp->n_head != hp->n_embd) {
        lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: head size %d x %d heads != dim %d is not supported in training", path,
                      hp->head_dim, hp->n_head, hp->n_embd);
        goto done;
    }
    if (lmc_gguf_find_tensor(g, "output.bias")) {
        lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: an output bias is not supported in training", path);
        goto done;
    }
    m = lmc_train_model_init(&c, max_batch, n_threads, 0);
    if (!m) goto done;
    const int64_t C = c.n_embd, KD = (int64_t)c.n_head_kv * (C / c.n_head);
    int rc = LMC_OK;
    for (int i = 0; !rc && i < lmc_train_model_n_tensors(m); i++) {
        lmc_train_tensor t;
        lmc_train_model_tensor(m, i, &t);
        const int64_t rows = t.ne[1], len = t.ne[0];
        int il = -1;
        char what[64] = "";
        if (gpt2 && sscanf(t.name, "blk.%d.attn_%63[a-z_.]", &il, what) == 2 &&
            (!strncmp(what, "q.", 2) || !strncmp(what, "k.", 2) || !strncmp(what, "v.", 2))) {
            /* gpt2 GGUF files hold q, k and v as one attn_qkv tensor: rows q | k | v */
            const bool bias = strstr(what, "bias") != NULL;
            const int64_t r0 = what[0] == 'q' ? 0 : what[0] == 'k' ? C : C + KD;
            char src[64];
            snprintf(src, sizeof src, "blk.%d.attn_qkv.%s", il, bias ? "bias" : "weight");
            if (bias) {
                float *tmp = malloc(sizeof(float) * (size_t)(C + 2 * KD));
                rc = tmp ? copy_rows(g, src, 0, 1, C + 2 * KD, tmp, path) : LMC_ERR_NOMEM;
                if (!rc) memcpy(t.data, tmp + r0, sizeof(float) * (size_t)len);
                free(tmp);
            } else {
                rc = copy_rows(g, src, r0, rows, len, t.data, path);
            }
            continue;
        }
        if (!strcmp(t.name, "position_embd.weight") || lmc_gguf_find_tensor(g, t.name))
            rc = copy_rows(g, t.name, 0, rows, len, t.data, path);
        else
            rc = lmc_set_error(LMC_ERR_NOT_FOUND, "%s: no tensor %s", path, t.name);
    }
    if (rc) {
        lmc_train_model_free(m);
        m = NULL;
    }
done:
    lmc_model_free(im);
    return m;
}
