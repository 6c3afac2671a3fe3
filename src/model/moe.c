/* moe.c — mixture-of-experts feed-forward (Mixtral-style, llama architecture): a router
 * picks the Eu best of E SwiGLU experts per token, and their outputs are mixed with the
 * router probabilities renormalized over the chosen experts. Tokens are grouped per
 * expert so that each expert runs one matrix product per step. Shapes: model-impl.h. */
#include "model-impl.h"

#include <math.h>

/* Indices of the k largest of p[n], largest first (ties: lower index first). */
static void top_k(const float *p, int n, int k, int32_t *idx) {
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            bool taken = false;
            for (int q = 0; q < j; q++) taken = taken || idx[q] == i;
            if (!taken && (best < 0 || p[i] > p[best])) best = i;
        }
        idx[j] = best;
    }
}

int lmc_moe_forward(lmc_context *c, const lmc_layer *L, const float *x, float *out, int64_t T) {
    const lmc_model_hparams *hp = &c->model->hp;
    const int E = hp->n_expert, Eu = hp->n_expert_used;
    const int64_t C = hp->n_embd, F = hp->n_ff;
    int rc;

    /* router: probs[T][E] = softmax(x . Wr^T); chosen sel[T][Eu] with weights selw */
    if ((rc = lmc_weight_matmul(c->tp, &L->ffn_gate_inp, 0, x, T, c->router))) return rc;
    for (int64_t t = 0; t < T; t++) {
        float *p = c->router + t * E, *w = c->selw + t * Eu;
        int32_t *s = c->sel + t * Eu;
        lmc_softmax_forward(p, E);
        top_k(p, E, Eu, s);
        double sum = 0.0;
        for (int j = 0; j < Eu; j++) sum += (double)(w[j] = p[s[j]]);
        float fs = (float)sum;
        if (fs < 6.103515625e-5f) fs = 6.103515625e-5f; /* as llama.cpp: avoid dividing by ~0 */
        for (int j = 0; j < Eu; j++) w[j] /= fs;
    }

    /* each expert on the tokens that chose it: ye[t][slot] = w * down(silu(gate x) * up x) */
    for (int e = 0; e < E; e++) {
        int64_t n = 0;
        for (int64_t t = 0; t < T; t++)
            for (int j = 0; j < Eu; j++)
                if (c->sel[t * Eu + j] == e) {
                    c->rows[n] = (int32_t)(t * Eu + j);
                    memcpy(c->xe + n * C, x + t * C, (size_t)C * sizeof(float));
                    n++;
                }
        if (n == 0) continue;
        if ((rc = lmc_weight_matmul(c->tp, &L->ffn_gate_exps, e, c->xe, n, c->hb)) ||
            (rc = lmc_weight_matmul(c->tp, &L->ffn_up_exps, e, c->xe, n, c->hb2)))
            return rc;
        lmc_swiglu_forward(c->hb, c->hb, c->hb2, n * F);
        /* down projection straight into xe (its inputs were consumed), then scatter */
        if ((rc = lmc_weight_matmul(c->tp, &L->ffn_down_exps, e, c->hb, n, c->xe))) return rc;
        for (int64_t r = 0; r < n; r++) {
            const int64_t slot = c->rows[r];
            const float w = c->selw[slot];
            float *y = c->ye + slot * C;
            for (int64_t i = 0; i < C; i++) y[i] = c->xe[r * C + i] * w;
        }
    }
    /* sum the slots in order (slot 0 = most probable expert), as llama.cpp adds them */
    for (int64_t t = 0; t < T; t++) {
        float *o = out + t * C;
        memcpy(o, c->ye + t * Eu * C, (size_t)C * sizeof(float));
        for (int j = 1; j < Eu; j++) lmc_residual_forward(o, c->ye + (t * Eu + j) * C, C);
    }
    return LMC_OK;
}
