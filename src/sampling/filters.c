/* filters.c — samplers that reshape or shrink the candidate set: temperature,
 * top-k, top-p (nucleus) and min-p.
 *
 * Definitions, and where they follow llama.cpp (b10573, src/llama-sampler.cpp):
 *   temperature  logit / T (Ackley et al. 1985). T = 0 keeps only the argmax, as
 *                llama.cpp's temp sampler does; we break ties by the lower id.
 *   top-k        keep the k largest logits (Fan et al. 2018). k = 0 is off (llama.cpp:
 *                k <= 0 is off; we reject k < 0). Ties at the cut keep the lower ids
 *                (llama.cpp leaves them to std::partial_sort).
 *   top-p        keep the smallest prefix of the tokens sorted by probability whose
 *                mass reaches p (Holtzman et al. 2019), and at least min_keep;
 *                p = 1 is off. Same test as llama.cpp: cumsum >= p. A nucleus of
 *                more than 256 tokens is found by logit buckets in O(n) and left
 *                unsorted (llama.cpp sorts the whole vocabulary then).
 *   min-p        keep tokens with p_i >= p * p_max (Nguyen et al. 2024), tested as
 *                logit_i >= logit_max + log(p) like llama.cpp, at least min_keep;
 *                p = 0 is off. Kept tokens stay in their order.
 * Probabilities are those of the candidates still in the set, so the order of the
 * chain matters; llama.cpp's default applies temperature last (see params.c). */
#include "sampling-impl.h"

#include <math.h>
#include <stdlib.h>

/* ---- temperature --------------------------------------------------------------- */

typedef struct {
    float temp;
} temp_ctx;

static const char *temp_name(const lmc_sampler *s) {
    LMC_UNUSED(s);
    return "temp";
}

static int temp_apply(lmc_sampler *s, lmc_candidates *c) {
    const temp_ctx *t = s->ctx;
    if (c->size == 0) return LMC_OK;
    if (t->temp == 0.0f) {
        size_t best = 0;
        for (size_t i = 1; i < c->size; i++)
            if (lmc_tok_better(&c->data[i], &c->data[best])) best = i;
        c->data[0] = c->data[best];
        c->size = 1;
        c->sorted = true;
        return LMC_OK;
    }
    /* dividing by a positive number keeps the order */
    for (size_t i = 0; i < c->size; i++) c->data[i].logit /= t->temp;
    return LMC_OK;
}

static void free_ctx(lmc_sampler *s) { free(s->ctx); }

static const lmc_sampler_i TEMP_I = {temp_name, NULL, temp_apply, NULL, free_ctx};

/* Allocates ctx of size n, copies init into it and wraps it. */
static lmc_sampler *make(const lmc_sampler_i *iface, const void *init, size_t n) {
    void *ctx = malloc(n);
    if (!ctx) return lmc_set_error_null(LMC_ERR_NOMEM, "sampling: out of memory");
    for (size_t i = 0; i < n; i++) ((char *)ctx)[i] = ((const char *)init)[i];
    lmc_sampler *s = lmc_sampler_init(iface, ctx);
    if (!s) free(ctx);
    return s;
}

lmc_sampler *lmc_sampler_init_temp(float temp) {
    if (!(temp >= 0.0f) || isinf(temp))
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "temperature must be a finite number >= 0 (0 = greedy), got %g",
                                  (double)temp);
    temp_ctx t = {temp};
    return make(&TEMP_I, &t, sizeof t);
}

/* ---- top-k --------------------------------------------------------------------- */

typedef struct {
    int32_t k;
} top_k_ctx;

static const char *top_k_name(const lmc_sampler *s) {
    LMC_UNUSED(s);
    return "top-k";
}

static int top_k_apply(lmc_sampler *s, lmc_candidates *c) {
    const top_k_ctx *t = s->ctx;
    if (t->k <= 0 || c->size == 0) return LMC_OK;
    size_t k = (size_t)t->k < c->size ? (size_t)t->k : c->size;
    lmc_candidates_sort(c, k);
    c->size = k;
    c->sorted = true; /* the first k are in order */
    return LMC_OK;
}

static const lmc_sampler_i TOP_K_I = {top_k_name, NULL, top_k_apply, NULL, free_ctx};

lmc_sampler *lmc_sampler_init_top_k(int32_t k) {
    if (k < 0) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "top-k must be >= 0 (0 = off), got %d", k);
    top_k_ctx t = {k};
    return make(&TOP_K_I, &t, sizeof t);
}

/* ---- top-p --------------------------------------------------------------------- */

typedef struct {
    float p;
    size_t min_keep;
} top_p_ctx;

static const char *top_p_name(const lmc_sampler *s) {
    LMC_UNUSED(s);
    return "top-p";
}

/* Bucket of a logit below the maximum: TOP_P_NB buckets of equal width over
 * TOP_P_SPAN nats (probability ratios down to e^-32), the rest in the last. A
 * token in a lower bucket always has a larger logit than one in a higher bucket. */
#define TOP_P_NB 1024
#define TOP_P_SPAN 32.0f

static inline int top_p_bucket(float max_l, float l) {
    const float b = (max_l - l) * (TOP_P_NB / TOP_P_SPAN);
    return b < (float)(TOP_P_NB - 1) ? (int)b : TOP_P_NB - 1; /* -inf lands in the last */
}

/* The nucleus in O(n) for a large one: sum the mass per logit bucket, take every
 * bucket before the one where the mass reaches p, and sort only that boundary
 * bucket to find the cut. The kept set is exact (the same as a full sort gives) but
 * not in order (sorted = false). Returns false when it cannot decide (rounding,
 * min_keep), so the caller sorts instead. */
static bool top_p_bucketed(lmc_candidates *c, double p, size_t min_keep) {
    float max_l = -INFINITY;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit > max_l) max_l = c->data[i].logit;
    double mass[TOP_P_NB] = {0};
    for (size_t i = 0; i < c->size; i++) mass[top_p_bucket(max_l, c->data[i].logit)] += c->data[i].p;
    double before = 0;
    int bb = 0;
    while (bb < TOP_P_NB && before + mass[bb] < p) before += mass[bb++];
    if (bb == TOP_P_NB) return false;
    /* [0, k): buckets before bb; [k, j): bucket bb */
    size_t k = 0, j;
    for (size_t i = 0; i < c->size; i++)
        if (top_p_bucket(max_l, c->data[i].logit) < bb) {
            lmc_token_data t = c->data[i];
            c->data[i] = c->data[k];
            c->data[k++] = t;
        }
    j = k;
    for (size_t i = k; i < c->size; i++)
        if (top_p_bucket(max_l, c->data[i].logit) == bb) {
            lmc_token_data t = c->data[i];
            c->data[i] = c->data[j];
            c->data[j++] = t;
        }
    lmc_candidates boundary = {c->data + k, j - k, false, -1};
    lmc_candidates_sort(&boundary, boundary.size);
    double cum = 0;
    for (size_t i = 0; i < k; i++) cum += c->data[i].p; /* the same sum as `before`, in this order */
    for (size_t i = k; i < j; i++) {
        cum += c->data[i].p;
        if (cum >= p && i + 1 >= min_keep) {
            c->size = i + 1;
            c->sorted = false;
            return true;
        }
    }
    return false;
}

static int top_p_apply(lmc_sampler *s, lmc_candidates *c) {
    const top_p_ctx *t = s->ctx;
    if (t->p >= 1.0f || c->size == 0) return LMC_OK;
    int rc = lmc_candidates_softmax(c);
    if (rc != LMC_OK) return rc;
    /* The nucleus is usually small: sort a few hundred first (llama.cpp also starts
     * with 256). When their mass falls short, find the rest by buckets, and only
     * if that cannot decide, sort 4x more at a time. */
    size_t k = c->size > 1024 ? 256 : c->size;
    lmc_candidates_sort(c, k);
    if (c->sorted) k = c->size;
    double cum = 0;
    for (size_t i = 0; i < c->size; i++) {
        if (i == k) { /* ran past the sorted part */
            if (i == 256 && top_p_bucketed(c, t->p, t->min_keep)) return LMC_OK;
            k = k * 4 < c->size ? k * 4 : c->size;
            lmc_candidates_sort(c, k);
            if (c->sorted) k = c->size;
        }
        cum += c->data[i].p;
        if (cum >= t->p && i + 1 >= t->min_keep) {
            c->size = i + 1;
            break;
        }
    }
    c->sorted = true;
    return LMC_OK;
}

static const lmc_sampler_i TOP_P_I = {top_p_name, NULL, top_p_apply, NULL, free_ctx};

lmc_sampler *lmc_sampler_init_top_p(float p, size_t min_keep) {
    if (!(p > 0.0f && p <= 1.0f))
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "top-p must be in (0, 1] (1 = off), got %g", (double)p);
    top_p_ctx t = {p, min_keep};
    return make(&TOP_P_I, &t, sizeof t);
}

/* ---- min-p --------------------------------------------------------------------- */

typedef struct {
    float p;
    size_t min_keep;
} min_p_ctx;

static const char *min_p_name(const lmc_sampler *s) {
    LMC_UNUSED(s);
    return "min-p";
}

static int min_p_apply(lmc_sampler *s, lmc_candidates *c) {
    const min_p_ctx *t = s->ctx;
    if (t->p <= 0.0f || c->size == 0) return LMC_OK;
    float max_l = -INFINITY;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit > max_l) max_l = c->data[i].logit;
    if (max_l == -INFINITY) return LMC_OK; /* nothing to compare with; dist reports it */
    const float min_l = max_l + logf(t->p);
    size_t n = 0;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit >= min_l) n++;
    if (n < t->min_keep) { /* keep the min_keep best instead */
        size_t k = t->min_keep < c->size ? t->min_keep : c->size;
        lmc_candidates_sort(c, k);
        c->size = k;
        c->sorted = true;
        return LMC_OK;
    }
    size_t w = 0; /* stable compaction keeps a sorted set sorted */
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit >= min_l) c->data[w++] = c->data[i];
    c->size = w;
    return LMC_OK;
}

static const lmc_sampler_i MIN_P_I = {min_p_name, NULL, min_p_apply, NULL, free_ctx};

lmc_sampler *lmc_sampler_init_min_p(float p, size_t min_keep) {
    if (!(p >= 0.0f && p <= 1.0f))
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "min-p must be in [0, 1] (0 = off), got %g", (double)p);
    min_p_ctx t = {p, min_keep};
    return make(&MIN_P_I, &t, sizeof t);
}
