/* sampling-impl.h — internals shared by the files of src/sampling/ (not installed). */
#ifndef LMC_SAMPLING_IMPL_H
#define LMC_SAMPLING_IMPL_H

#include "lmc-impl.h"

struct lmc_sampler {
    lmc_sampler_i iface; /* copied, so callers may pass a temporary */
    void *ctx;
    /* lmc_sampler_sample's working set: cap entries, reused across steps */
    lmc_token_data *buf;
    size_t cap;
    lmc_candidates last;
};

/* The seed a dist sampler resolved; LMC_SEED_RANDOM for other samplers. */
uint64_t lmc_sampler_dist_seed(const lmc_sampler *s);
bool lmc_sampler_is_chain(const lmc_sampler *s);
/* Validates beam parameters (LMC_OK or LMC_ERR_INVALID_ARG with a message). */
int lmc_beam_check(const lmc_beam_params *p, int32_t n_vocab);

/* Ordering of candidates: larger logit first, ties broken by lower id. */
static inline bool lmc_tok_better(const lmc_token_data *a, const lmc_token_data *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* greedy's error when no candidate is left to take (the greedy sampler in select.c and
 * lmc_sampler_sample's greedy shortcut in sampler.c say the same) */
#define LMC_MSG_NO_FINITE_LOGIT "sampling: every candidate logit is -inf or NaN (all tokens banned, or the model gave NaN)"

/* true for the greedy sampler (select.c) */
bool lmc_sampler_is_greedy(const lmc_sampler *s);

#endif /* LMC_SAMPLING_IMPL_H */
