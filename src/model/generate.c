/* generate.c — the generation loop: evaluate the prompt, then choose a token from the
 * last logits, hand it to the caller, and run it, until n_predict tokens, the caller
 * says stop, or the context is full (or, with lmc_context_set_shift, crop the context
 * and go on). Choosing is pluggable (lmc_pick_fn); the default
 * is greedy with ties going to the lowest id, as llama.cpp's greedy sampler does. */
#include "model-impl.h"

#include <stdlib.h>
#include <time.h>

int32_t lmc_argmax(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i; /* strict: the first of equal values wins */
    return (int32_t)best;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int lmc_generate(lmc_context *c, const int32_t *prompt, int64_t n_prompt, int64_t n_predict, lmc_pick_fn pick,
                 void *pick_user, lmc_token_fn on_token, void *user, lmc_gen_stats *stats) {
    lmc_gen_stats st = {.pending = -1};
    if (stats) *stats = st;
    if (!c || n_prompt < 1 || !prompt || n_predict < 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_generate: need a context, at least one prompt token and n_predict >= 0");
    const int32_t V = c->model->hp.n_vocab;
    float *logits = malloc((size_t)V * sizeof(float));
    if (!logits) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");

    /* the tokens in the cache, in order, for a context shift; only when this call fills
     * the cache from empty (earlier tokens are not known here: then a full context stops) */
    const int64_t n_ctx = c->kv.n_ctx;
    const int64_t keep = c->n_past > 0 ? 0 : c->shift_keep < n_ctx - 1 ? c->shift_keep : n_ctx - 1;
    int32_t *win = keep > 0 ? malloc((size_t)n_ctx * sizeof(int32_t)) : NULL;
    if (keep > 0 && !win) {
        free(logits);
        return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    if (win && n_prompt <= n_ctx) memcpy(win, prompt, (size_t)n_prompt * sizeof(int32_t));

    double t0 = now_ms();
    int rc = lmc_decode(c, prompt, n_prompt, logits, false);
    st.t_prompt_ms = now_ms() - t0;
    if (rc) goto done;
    st.n_prompt = n_prompt;
    for (;;) {
        if (st.n_gen == n_predict) break;
        const int32_t tok = pick ? pick(logits, V, pick_user) : lmc_argmax(logits, V);
        if (tok < 0 || tok >= V) {
            rc = lmc_set_error(LMC_ERR_INVALID_ARG, "the sampler chose token %d, outside [0, %d)", tok, V);
            break;
        }
        st.n_gen++;
        st.pending = tok;
        if (on_token && !on_token(tok, user)) break;
        if (st.n_gen == n_predict) break;
        if (c->n_past >= n_ctx && keep > 0) {
            /* shift: the last keep - 1 cached tokens and tok, recomputed from position 0 */
            memmove(win, win + n_ctx - (keep - 1), (size_t)(keep - 1) * sizeof(int32_t));
            win[keep - 1] = tok;
            lmc_context_reset(c);
            t0 = now_ms();
            rc = lmc_decode(c, win, keep, logits, false);
            st.t_gen_ms += now_ms() - t0;
            if (rc) break;
            st.n_shifts++;
            st.n_decoded++;
            st.pending = -1;
            continue;
        }
        if (c->n_past >= n_ctx) {
            st.ctx_full = true;
            break;
        }
        t0 = now_ms();
        rc = lmc_decode(c, &tok, 1, logits, false);
        st.t_gen_ms += now_ms() - t0;
        if (rc) break;
        if (win) win[c->n_past - 1] = tok;
        st.n_decoded++;
        st.pending = -1;
    }
done:
    free(logits);
    free(win);
    if (stats) *stats = st;
    return rc;
}
