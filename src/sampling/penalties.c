/* penalties.c — samplers that change logits by token identity: repetition /
 * frequency / presence penalties over a window of recent tokens, and logit bias.
 *
 * Definitions (as llama.cpp b10573's penalties sampler):
 *   repetition  CTRL's penalty (Keskar et al. 2019) with the usual sign fix: a seen
 *               token's logit is divided by the penalty when positive and
 *               multiplied by it when not, so it always becomes less likely.
 *   frequency / presence   OpenAI's: logit -= count * frequency + (count > 0) * presence.
 * count is how often the token occurs among the last last_n accepted tokens (the
 * prompt included, when the caller accepts it, as llama.cpp's tools do). */
#include "sampling-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t n_vocab, last_n;
    float repeat, frequency, presence;
    int32_t *count;  /* [n_vocab] occurrences in the window */
    int32_t *ring;   /* [last_n] the window, oldest at head (last_n > 0 only) */
    int32_t head, len;
} pen_ctx;

static const char *pen_name(const lmc_sampler *s) {
    LMC_UNUSED(s);
    return "penalties";
}

static void pen_accept(lmc_sampler *s, int32_t token) {
    pen_ctx *p = s->ctx;
    if (p->last_n == 0 || token < 0 || token >= p->n_vocab) return;
    if (p->last_n > 0) {
        if (p->len == p->last_n) { /* window full: the oldest leaves */
            p->count[p->ring[p->head]]--;
            p->ring[p->head] = token;
            p->head = (p->head + 1) % p->last_n;
        } else {
            p->ring[(p->head + p->len) % p->last_n] = token;
            p->len++;
        }
    }
    p->count[token]++;
}

static int pen_apply(lmc_sampler *s, lmc_candidates *c) {
    const pen_ctx *p = s->ctx;
    if (p->last_n == 0 || (p->repeat == 1.0f && p->frequency == 0.0f && p->presence == 0.0f)) return LMC_OK;
    bool changed = false;
    for (size_t i = 0; i < c->size; i++) {
        int32_t id = c->data[i].id;
        if (id < 0 || id >= p->n_vocab || p->count[id] == 0) continue;
        const int32_t n = p->count[id];
        float l = c->data[i].logit;
        l = l <= 0 ? l * p->repeat : l / p->repeat;
        l -= (float)n * p->frequency + p->presence;
        c->data[i].logit = l;
        changed = true;
    }
    if (changed) c->sorted = false;
    return LMC_OK;
}

static void pen_reset(lmc_sampler *s) {
    pen_ctx *p = s->ctx;
    memset(p->count, 0, (size_t)p->n_vocab * sizeof *p->count);
    p->head = p->len = 0;
}

static void pen_free(lmc_sampler *s) {
    pen_ctx *p = s->ctx;
    free(p->count);
    free(p->ring);
    free(p);
}

static const lmc_sampler_i PEN_I = {pen_name, pen_accept, pen_apply, pen_reset, pen_free};

lmc_sampler *lmc_sampler_init_penalties(int32_t n_vocab, int32_t last_n, float repeat, float frequency,
                                        float presence) {
    if (n_vocab <= 0) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "penalties: n_vocab must be > 0, got %d", n_vocab);
    if (last_n < -1)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "repeat-last-n must be >= -1 (-1 = all, 0 = off), got %d", last_n);
    if (!(repeat > 0.0f) || isinf(repeat))
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "repeat penalty must be a finite number > 0 (1 = off), got %g",
                                  (double)repeat);
    if (!isfinite(frequency) || !isfinite(presence))
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "frequency and presence penalties must be finite");
    pen_ctx *p = calloc(1, sizeof *p);
    if (!p) return lmc_set_error_null(LMC_ERR_NOMEM, "penalties: out of memory");
    *p = (pen_ctx){n_vocab, last_n, repeat, frequency, presence, NULL, NULL, 0, 0};
    p->count = calloc((size_t)n_vocab, sizeof *p->count);
    if (last_n > 0) p->ring = malloc((size_t)last_n * sizeof *p->ring);
    lmc_sampler *s = NULL;
    if (p->count && (last_n <= 0 || p->ring)) s = lmc_sampler_init(&PEN_I, p);
    else lmc_set_error(LMC_ERR_NOMEM, "penalties: out of memory for %d tokens", n_vocab);
    if (!s) {
        free(p->count);
        free(p->ring);
        free(p);
    }
    return s;
}

/* ---- logit bias ---------------------------------------------------------------- */

typedef struct {
    size_t n;
    lmc_logit_bias *b;
} bias_ctx;

static const char *bias_name(const lmc_sampler *s) {
    LMC_UNUSED(s);
    return "logit-bias";
}

static int bias_apply(lmc_sampler *s, lmc_candidates *c) {
    const bias_ctx *b = s->ctx;
    for (size_t j = 0; j < b->n; j++) {
        const int32_t tok = b->b[j].token;
        /* fast path: the set is still in id order at this point of a normal chain */
        if ((size_t)tok < c->size && c->data[tok].id == tok) {
            c->data[tok].logit += b->b[j].bias;
            continue;
        }
        for (size_t i = 0; i < c->size; i++)
            if (c->data[i].id == tok) {
                c->data[i].logit += b->b[j].bias;
                break;
            }
    }
    if (b->n) c->sorted = false;
    return LMC_OK;
}

static void bias_free(lmc_sampler *s) {
    bias_ctx *b = s->ctx;
    free(b->b);
    free(b);
}

static const lmc_sampler_i BIAS_I = {bias_name, NULL, bias_apply, NULL, bias_free};

lmc_sampler *lmc_sampler_init_logit_bias(int32_t n_vocab, const lmc_logit_bias *biases, size_t n) {
    if (n && !biases) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "logit bias: NULL array");
    for (size_t j = 0; j < n; j++) {
        if (biases[j].token < 0 || biases[j].token >= n_vocab)
            return lmc_set_error_null(LMC_ERR_INVALID_ARG, "logit bias: token %d is outside the vocabulary (0..%d)",
                                      biases[j].token, n_vocab - 1);
        if (isnan(biases[j].bias) || biases[j].bias == INFINITY)
            return lmc_set_error_null(LMC_ERR_INVALID_ARG, "logit bias of token %d must be a number or -inf, got %g",
                                      biases[j].token, (double)biases[j].bias);
    }
    bias_ctx *b = calloc(1, sizeof *b);
    if (!b) return lmc_set_error_null(LMC_ERR_NOMEM, "logit bias: out of memory");
    b->n = n;
    b->b = malloc((n ? n : 1) * sizeof *b->b);
    if (!b->b) {
        free(b);
        return lmc_set_error_null(LMC_ERR_NOMEM, "logit bias: out of memory");
    }
    if (n) memcpy(b->b, biases, n * sizeof *b->b);
    lmc_sampler *s = lmc_sampler_init(&BIAS_I, b);
    if (!s) bias_free(&(lmc_sampler){.ctx = b});
    return s;
}
