/* select.c — the samplers that end a chain by choosing one token: greedy (argmax)
 * and dist (a draw from the softmax of what is left).
 *
 * llama.cpp conventions kept: greedy takes the first maximum (we define "first" as
 * the lowest id, whatever the order of the set, so it agrees with the reference
 * outputs in ../shared/ref); dist draws exactly one uniform number per step, even
 * when one candidate is left, so the RNG stream does not depend on the filters.
 * Differences: our uniform comes from xoshiro256** (lmc_rng), not std::mt19937, so
 * the same seed picks different tokens than llama.cpp does. */
#include "sampling-impl.h"

#include <math.h>
#include <stdlib.h>

/* ---- greedy -------------------------------------------------------------------- */

static const char *greedy_name(const lmc_sampler *s) {
    LMC_UNUSED(s);
    return "greedy";
}

static int greedy_apply(lmc_sampler *s, lmc_candidates *c) {
    LMC_UNUSED(s);
    if (c->size == 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "sampling: no candidate tokens left");
    size_t best = 0;
    for (size_t i = 1; i < c->size; i++)
        if (lmc_tok_better(&c->data[i], &c->data[best])) best = i;
    if (c->data[best].logit == -INFINITY)
        return lmc_set_error(LMC_ERR_INVALID_ARG, LMC_MSG_NO_FINITE_LOGIT);
    c->selected = (int64_t)best;
    return LMC_OK;
}

static const lmc_sampler_i GREEDY_I = {greedy_name, NULL, greedy_apply, NULL, NULL};

lmc_sampler *lmc_sampler_init_greedy(void) { return lmc_sampler_init(&GREEDY_I, NULL); }

bool lmc_sampler_is_greedy(const lmc_sampler *s) { return s && s->iface.apply == greedy_apply; }

/* ---- dist ---------------------------------------------------------------------- */

typedef struct {
    uint64_t seed;      /* as given (maybe LMC_SEED_RANDOM) */
    uint64_t seed_cur;  /* as used */
    lmc_rng rng;
} dist_ctx;

static const char *dist_name(const lmc_sampler *s) {
    LMC_UNUSED(s);
    return "dist";
}

static int dist_apply(lmc_sampler *s, lmc_candidates *c) {
    dist_ctx *d = s->ctx;
    const double u = lmc_rng_uniform(&d->rng); /* one draw per step, always */
    int rc = lmc_candidates_softmax(c);
    if (rc != LMC_OK) return rc;
    /* inverse CDF: the first token whose cumulative mass exceeds u; the strict '>'
     * means a token of probability 0 is never chosen */
    double cum = 0;
    int64_t last_pos = -1;
    for (size_t i = 0; i < c->size; i++) {
        if (c->data[i].p <= 0.0f) continue;
        cum += c->data[i].p;
        last_pos = (int64_t)i;
        if (cum > u) {
            c->selected = (int64_t)i;
            return LMC_OK;
        }
    }
    c->selected = last_pos; /* rounding left the sum just under u */
    return LMC_OK;
}

static void dist_reset(lmc_sampler *s) {
    dist_ctx *d = s->ctx;
    d->seed_cur = d->seed == LMC_SEED_RANDOM ? lmc_rng_random_seed() : d->seed;
    lmc_rng_seed(&d->rng, d->seed_cur);
}

static void dist_free(lmc_sampler *s) { free(s->ctx); }

static const lmc_sampler_i DIST_I = {dist_name, NULL, dist_apply, dist_reset, dist_free};

lmc_sampler *lmc_sampler_init_dist(uint64_t seed) {
    dist_ctx *d = calloc(1, sizeof *d);
    if (!d) return lmc_set_error_null(LMC_ERR_NOMEM, "sampling: out of memory");
    d->seed = seed;
    lmc_sampler *s = lmc_sampler_init(&DIST_I, d);
    if (!s) {
        free(d);
        return NULL;
    }
    dist_reset(s);
    return s;
}

uint64_t lmc_sampler_dist_seed(const lmc_sampler *s) {
    if (!s || s->iface.apply != dist_apply) return LMC_SEED_RANDOM;
    return ((const dist_ctx *)s->ctx)->seed_cur;
}
