/* flops.c — training compute estimates and compute-optimal model sizes.
 *
 * Training compute per token is about 6 N (2 N forward, 4 N backward) for a model of
 * N parameters (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", sec. 2.1),
 * plus an attention term of 6 * n_layer * n_ctx * d_model per token (the same paper's
 * 2 n_layer n_ctx d_attn forward cost, times three for training), shown separately.
 * Compute-optimal sizing follows Chinchilla's approach 1 (Hoffmann et al. 2022): N and D
 * both grow as C^0.5, at about 20 training tokens per parameter. */
#include "lmc-impl.h"

#include <math.h>

int lmc_flops_training(const lmc_flops_params *p, lmc_flops_result *r) {
    if (!p || !r) return lmc_set_error(LMC_ERR_INVALID_ARG, "flops: missing argument");
    if (!(p->n_params > 0) || !(p->n_tokens > 0) || !isfinite(p->n_params) || !isfinite(p->n_tokens))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "flops: parameters and tokens must be positive numbers");
    if (p->n_layer < 0 || p->n_ctx < 0 || p->d_model < 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "flops: layers, context and width cannot be negative");
    r->dense = 6.0 * p->n_params * p->n_tokens;
    r->attention = 6.0 * p->n_layer * p->n_ctx * p->d_model * p->n_tokens;
    r->total = r->dense + r->attention;
    r->pf_days = r->total / (1e15 * 86400.0);
    r->seconds = 0;
    r->cost = 0;
    if (p->peak_flops > 0 && p->mfu > 0) {
        r->seconds = r->total / (p->peak_flops * p->mfu);
        if (p->price_per_hour > 0) r->cost = r->seconds / 3600.0 * p->price_per_hour;
    }
    return LMC_OK;
}

int lmc_flops_chinchilla(double budget, double tokens_per_param, double *n_params, double *n_tokens) {
    if (!(budget > 0) || !isfinite(budget))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "flops: the compute budget must be a positive number");
    if (!(tokens_per_param > 0)) tokens_per_param = 20.0;
    /* C = 6 N D with D = r N  =>  N = sqrt(C / (6 r)), D = r N. */
    *n_params = sqrt(budget / (6.0 * tokens_per_param));
    *n_tokens = tokens_per_param * *n_params;
    return LMC_OK;
}
