/* test_ctx_shift.c — lmc_generate with a context shift (lmc_context_set_shift): when the
 * context fills, the last n_keep tokens are evaluated again from position 0 and
 * generation goes on. Checked against the definition: every chosen token is the argmax
 * of a fresh context's logits for the window the shift rule gives at that step. */
#include "lmc.h"
#include "test_util.h"

#include <stdlib.h>

int main(void) {
    lmc_model *m = lmc_model_load(t_shared("models/stories260K.gguf"));
    CHECK_MSG(m != NULL, "%s", lmc_last_error());
    if (!m) return t_done("test_ctx_shift");
    const int n_ctx = 16, keep = 6, n_gen = 40, n_prompt = 4;
    const int32_t V = lmc_model_get_hparams(m)->n_vocab;
    lmc_context_params p = lmc_context_default_params();
    p.n_ctx = n_ctx;
    p.kv_type = LMC_TYPE_F32;
    lmc_context *c = lmc_context_init(m, p), *ref = lmc_context_init(m, p);
    CHECK_MSG(c && ref, "%s", lmc_last_error());
    const int32_t prompt[4] = {1, 403, 407, 261};
    t_token_list out = {malloc(sizeof(int32_t) * n_gen), 0};

    /* without a shift: stops with the context full */
    lmc_gen_stats st;
    CHECK_EQ_INT(lmc_generate(c, prompt, n_prompt, n_gen, NULL, NULL, t_collect_token, &out, &st), LMC_OK);
    CHECK(st.ctx_full);
    CHECK_EQ_INT(st.n_shifts, 0);
    CHECK_EQ_INT(out.n, n_ctx - n_prompt + 1);

    /* with one */
    CHECK(lmc_context_set_shift(c, -1) != LMC_OK);
    CHECK_EQ_INT(lmc_context_set_shift(c, keep), LMC_OK);
    lmc_context_reset(c);
    out.n = 0;
    CHECK_EQ_INT(lmc_generate(c, prompt, n_prompt, n_gen, NULL, NULL, t_collect_token, &out, &st), LMC_OK);
    CHECK(!st.ctx_full);
    CHECK_EQ_INT(out.n, n_gen);
    CHECK_MSG(st.n_shifts >= 3, "%lld shifts", (long long)st.n_shifts);

    /* the definition, step by step on a fresh context */
    int32_t win[64];
    int n_win = n_prompt;
    for (int i = 0; i < n_prompt; i++) win[i] = prompt[i];
    float *logits = malloc(sizeof(float) * (size_t)V);
    int64_t shifts = 0;
    for (int k = 0; k < n_gen; k++) {
        lmc_context_reset(ref);
        CHECK_EQ_INT(lmc_decode(ref, win, n_win, logits, false), LMC_OK);
        const int32_t tok = lmc_argmax(logits, V);
        CHECK_MSG(tok == out.tokens[k], "step %d: generated %d, fresh window gives %d", k, out.tokens[k], tok);
        if (n_win >= n_ctx) { /* full: the last keep - 1 tokens and tok */
            for (int i = 0; i < keep - 1; i++) win[i] = win[n_win - (keep - 1) + i];
            win[keep - 1] = tok;
            n_win = keep;
            shifts++;
        } else {
            win[n_win++] = tok;
        }
    }
    CHECK_EQ_INT(st.n_shifts, shifts);
    printf("%d tokens through a %d-token context: %lld shifts, each token the argmax of its window\n", n_gen, n_ctx,
           (long long)shifts);
    free(logits);
    free(out.tokens);
    lmc_context_free(c);
    lmc_context_free(ref);
    lmc_model_free(m);
    return t_done("test_ctx_shift");
}
