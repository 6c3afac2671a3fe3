/* params.c — sampler parameters, their validation, and the chain `lmc run` uses.
 *
 * Order and defaults are llama.cpp's (b10573, common/common.h and
 * common/sampling.cpp): logit bias, then penalties, top-k, top-p, min-p,
 * temperature, and a draw; temperature comes after the filters, so top-p and min-p
 * see the untempered distribution. llama.cpp runs the filters even for temp <= 0
 * and then keeps only the argmax; we build a plain greedy chain instead, which
 * chooses the same token (ties: lowest id) without the sorting. */
#include "sampling-impl.h"

#include <math.h>

lmc_sampler_params lmc_sampler_default_params(void) {
    return (lmc_sampler_params){
        .seed = LMC_SEED_RANDOM,
        .temp = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .min_keep = 0,
        .repeat_last_n = 64,
        .repeat_penalty = 1.0f,
        .frequency_penalty = 0.0f,
        .presence_penalty = 0.0f,
        .logit_bias = NULL,
        .n_logit_bias = 0,
    };
}

int lmc_sampler_params_check(const lmc_sampler_params *p) {
    if (!p) return lmc_set_error(LMC_ERR_INVALID_ARG, "sampling: NULL parameters");
    if (!(p->temp >= 0.0f) || isinf(p->temp))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "temperature must be a finite number >= 0 (0 = greedy), got %g",
                             (double)p->temp);
    if (p->top_k < 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "top-k must be >= 0 (0 = off), got %d", p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "top-p must be in (0, 1] (1 = off), got %g", (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "min-p must be in [0, 1] (0 = off), got %g", (double)p->min_p);
    if (p->min_keep < 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "min-keep must be >= 0, got %d", p->min_keep);
    if (p->repeat_last_n < -1)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "repeat-last-n must be >= -1 (-1 = all, 0 = off), got %d",
                             p->repeat_last_n);
    if (!(p->repeat_penalty > 0.0f) || isinf(p->repeat_penalty))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "repeat penalty must be a finite number > 0 (1 = off), got %g",
                             (double)p->repeat_penalty);
    if (!isfinite(p->frequency_penalty) || !isfinite(p->presence_penalty))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "frequency and presence penalties must be finite numbers");
    if (p->n_logit_bias && !p->logit_bias)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "sampling: n_logit_bias > 0 but no array");
    return LMC_OK;
}

lmc_sampler *lmc_sampler_chain_from_params(const lmc_sampler_params *p, int32_t n_vocab) {
    if (lmc_sampler_params_check(p) != LMC_OK) return NULL;
    if (n_vocab <= 0) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "sampling: n_vocab must be > 0, got %d", n_vocab);
    lmc_sampler *ch = lmc_sampler_chain_init();
    if (!ch) return NULL;
    const bool greedy = p->temp == 0.0f || p->top_k == 1;
    const bool penalties = p->repeat_last_n != 0 &&
                           (p->repeat_penalty != 1.0f || p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f);
    int rc = LMC_OK;
    /* each add takes its sampler even on failure, and a NULL sampler fails the add
     * with the constructor's message already set */
#define ADD(expr)                                                                                  \
    do {                                                                                           \
        if (rc == LMC_OK) {                                                                        \
            lmc_sampler *s_ = (expr);                                                              \
            if (!s_) rc = LMC_ERR_INVALID_ARG;                                                     \
            else rc = lmc_sampler_chain_add(ch, s_);                                               \
        }                                                                                          \
    } while (0)
    if (p->n_logit_bias) ADD(lmc_sampler_init_logit_bias(n_vocab, p->logit_bias, p->n_logit_bias));
    if (penalties)
        ADD(lmc_sampler_init_penalties(n_vocab, p->repeat_last_n, p->repeat_penalty, p->frequency_penalty,
                                       p->presence_penalty));
    if (greedy) {
        ADD(lmc_sampler_init_greedy());
    } else {
        if (p->top_k > 0) ADD(lmc_sampler_init_top_k(p->top_k));
        if (p->top_p < 1.0f) ADD(lmc_sampler_init_top_p(p->top_p, (size_t)p->min_keep));
        if (p->min_p > 0.0f) ADD(lmc_sampler_init_min_p(p->min_p, (size_t)p->min_keep));
        if (p->temp != 1.0f) ADD(lmc_sampler_init_temp(p->temp));
        ADD(lmc_sampler_init_dist(p->seed));
    }
#undef ADD
    if (rc != LMC_OK) {
        lmc_sampler_free(ch);
        return NULL;
    }
    return ch;
}
