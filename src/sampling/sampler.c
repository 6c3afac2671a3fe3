/* sampler.c — the sampler interface, the candidate set it works on, and the chain.
 *
 * The design follows llama.cpp's (src/llama-sampler.cpp at b10573): a sampler is a
 * small vtable + context; a chain applies samplers in order to a candidate array
 * that filters shrink; the last sampler selects a token; every kept token is
 * "accepted" by every sampler so that stateful ones (penalties) see the history. */
#include "sampling-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- candidates ---------------------------------------------------------------- */

void lmc_candidates_from_logits(lmc_candidates *c, const float *logits, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float l = logits[i];
        /* a NaN would break every comparison below; treat it as impossible */
        c->data[i] = (lmc_token_data){(int32_t)i, isnan(l) ? -INFINITY : l, 0.0f};
    }
    c->size = n;
    c->sorted = false;
    c->selected = -1;
}

static int cmp_tok(const void *pa, const void *pb) {
    const lmc_token_data *a = pa, *b = pb;
    return lmc_tok_better(a, b) ? -1 : lmc_tok_better(b, a) ? 1 : 0;
}

static inline void swap_tok(lmc_token_data *a, lmc_token_data *b) {
    lmc_token_data t = *a;
    *a = *b;
    *b = t;
}

/* Heap of the k best seen so far, worst at the root (h[0]). */
static void sift_down(lmc_token_data *h, size_t k, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < k && lmc_tok_better(&h[w], &h[l])) w = l;
        if (r < k && lmc_tok_better(&h[w], &h[r])) w = r;
        if (w == i) return;
        swap_tok(&h[i], &h[w]);
        i = w;
    }
}

/* Moves the k best of a[0..n) to a[0..k) in no particular order: one pass with a
 * k-heap finds the k-th best (most candidates fail the first comparison), one
 * partition pass moves the k to the front. O(n + k log k log n) instead of sorting
 * the vocabulary. The order is total (ids are distinct), so exactly k elements are
 * at least as good as the k-th. Returns false when out of memory. */
static bool select_top(lmc_token_data *a, size_t n, size_t k) {
    lmc_token_data stack_heap[256];
    lmc_token_data *h = k <= 256 ? stack_heap : malloc(k * sizeof *h);
    if (!h) return false;
    memcpy(h, a, k * sizeof *h);
    for (size_t i = k / 2; i-- > 0;) sift_down(h, k, i);
    for (size_t i = k; i < n; i++)
        if (lmc_tok_better(&a[i], &h[0])) {
            h[0] = a[i];
            sift_down(h, k, 0);
        }
    const lmc_token_data kth = h[0];
    if (h != stack_heap) free(h);
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (!lmc_tok_better(&kth, &a[i])) swap_tok(&a[i], &a[j++]);
    return true;
}

void lmc_candidates_sort(lmc_candidates *c, size_t k) {
    if (c->sorted) return;
    if (k > c->size) k = c->size;
    if (k == 0) return;
    if (!(k < c->size && k * 4 < c->size && select_top(c->data, c->size, k))) k = c->size;
    qsort(c->data, k, sizeof *c->data, cmp_tok);
    if (k == c->size) c->sorted = true;
}

int lmc_candidates_softmax(lmc_candidates *c) {
    if (c->size == 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "sampling: no candidate tokens left");
    float max_l = -INFINITY;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit > max_l) max_l = c->data[i].logit;
    if (!(max_l > -INFINITY) || isinf(max_l))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "sampling: every candidate logit is %s",
                             isinf(max_l) && max_l > 0 ? "+inf or -inf" : "-inf or NaN");
    double sum = 0;
    for (size_t i = 0; i < c->size; i++) {
        float p = expf(c->data[i].logit - max_l);
        c->data[i].p = p;
        sum += p;
    }
    for (size_t i = 0; i < c->size; i++) c->data[i].p = (float)(c->data[i].p / sum);
    return LMC_OK;
}

/* ---- the interface ------------------------------------------------------------- */

lmc_sampler *lmc_sampler_init(const lmc_sampler_i *iface, void *ctx) {
    if (!iface || !iface->name || !iface->apply)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_sampler_init: the name and apply slots are required");
    lmc_sampler *s = calloc(1, sizeof *s);
    if (!s) return lmc_set_error_null(LMC_ERR_NOMEM, "lmc_sampler_init: out of memory");
    s->iface = *iface;
    s->ctx = ctx;
    s->last.selected = -1;
    return s;
}

void *lmc_sampler_ctx(const lmc_sampler *s) { return s ? s->ctx : NULL; }

void lmc_sampler_free(lmc_sampler *s) {
    if (!s) return;
    if (s->iface.free) s->iface.free(s);
    free(s->buf);
    free(s);
}

const char *lmc_sampler_name(const lmc_sampler *s) { return s ? s->iface.name(s) : "(null)"; }

int lmc_sampler_apply(lmc_sampler *s, lmc_candidates *c) {
    if (!s || !c) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_sampler_apply: NULL argument");
    return s->iface.apply(s, c);
}

void lmc_sampler_accept(lmc_sampler *s, int32_t token) {
    if (s && s->iface.accept) s->iface.accept(s, token);
}

void lmc_sampler_reset(lmc_sampler *s) {
    if (s && s->iface.reset) s->iface.reset(s);
}

static bool plain_greedy(const lmc_sampler *s);

/* A greedy sampler alone takes the first maximum of the logits (NaN as -inf, as the
 * candidates treat it) without building the candidate list: that list is most of the
 * time of a greedy step when many sequences sample at once. */
static int32_t sample_greedy(lmc_sampler *s, const float *logits, int32_t n_vocab) {
    /* the maximum 8 lanes at a time (the compiler makes this vector max; NaN never wins a
     * comparison), then its first place: two quick passes instead of one serial one */
    float m8[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int32_t i = 0;
    for (; i + 8 <= n_vocab; i += 8)
        for (int k = 0; k < 8; k++) m8[k] = logits[i + k] > m8[k] ? logits[i + k] : m8[k];
    float lb = -INFINITY;
    for (int k = 0; k < 8; k++) lb = m8[k] > lb ? m8[k] : lb;
    for (; i < n_vocab; i++) lb = logits[i] > lb ? logits[i] : lb;
    int32_t best = 0;
    while (best < n_vocab && !(logits[best] == lb)) best++;
    if (lb == -INFINITY)
        return lmc_set_error(LMC_ERR_INVALID_ARG, LMC_MSG_NO_FINITE_LOGIT);
    s->buf[0] = (lmc_token_data){best, lb, 0.0f};
    s->last = (lmc_candidates){.data = s->buf, .size = 1, .sorted = true, .selected = 0};
    lmc_sampler_accept(s, best);
    return best;
}

int32_t lmc_sampler_sample(lmc_sampler *s, const float *logits, int32_t n_vocab) {
    if (!s || !logits || n_vocab <= 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_sampler_sample: need a sampler and n_vocab > 0 logits");
    if ((size_t)n_vocab > s->cap) {
        lmc_token_data *nb = realloc(s->buf, (size_t)n_vocab * sizeof *nb);
        if (!nb) return lmc_set_error(LMC_ERR_NOMEM, "lmc_sampler_sample: out of memory for %d candidates", n_vocab);
        s->buf = nb;
        s->cap = (size_t)n_vocab;
    }
    if (plain_greedy(s)) return sample_greedy(s, logits, n_vocab);
    s->last.data = s->buf;
    lmc_candidates_from_logits(&s->last, logits, (size_t)n_vocab);
    int rc = s->iface.apply(s, &s->last);
    if (rc != LMC_OK) return rc;
    if (s->last.selected < 0 || (size_t)s->last.selected >= s->last.size)
        return lmc_set_error(LMC_ERR_INVALID_ARG,
                             "sampling: sampler '%s' chose no token (end a chain with greedy or dist)",
                             lmc_sampler_name(s));
    int32_t tok = s->last.data[s->last.selected].id;
    lmc_sampler_accept(s, tok);
    return tok;
}

const lmc_candidates *lmc_sampler_last(const lmc_sampler *s) { return s && s->last.data ? &s->last : NULL; }

/* ---- the chain ----------------------------------------------------------------- */

typedef struct {
    lmc_sampler **items;
    int n, cap;
} chain_ctx;

static const char *chain_name(const lmc_sampler *s) {
    LMC_UNUSED(s);
    return "chain";
}

static void chain_accept(lmc_sampler *s, int32_t token) {
    chain_ctx *c = s->ctx;
    for (int i = 0; i < c->n; i++) lmc_sampler_accept(c->items[i], token);
}

static int chain_apply(lmc_sampler *s, lmc_candidates *cand) {
    chain_ctx *c = s->ctx;
    for (int i = 0; i < c->n; i++) {
        int rc = lmc_sampler_apply(c->items[i], cand);
        if (rc != LMC_OK) return rc;
    }
    return LMC_OK;
}

/* greedy, or a chain of greedy alone */
static bool plain_greedy(const lmc_sampler *s) {
    if (s->iface.apply == chain_apply) {
        const chain_ctx *c = s->ctx;
        return c->n == 1 && lmc_sampler_is_greedy(c->items[0]);
    }
    return lmc_sampler_is_greedy(s);
}

static void chain_reset(lmc_sampler *s) {
    chain_ctx *c = s->ctx;
    for (int i = 0; i < c->n; i++) lmc_sampler_reset(c->items[i]);
}

static void chain_free(lmc_sampler *s) {
    chain_ctx *c = s->ctx;
    for (int i = 0; i < c->n; i++) lmc_sampler_free(c->items[i]);
    free(c->items);
    free(c);
}

static const lmc_sampler_i CHAIN_I = {chain_name, chain_accept, chain_apply, chain_reset, chain_free};

bool lmc_sampler_is_chain(const lmc_sampler *s) { return s && s->iface.apply == chain_apply; }

lmc_sampler *lmc_sampler_chain_init(void) {
    chain_ctx *c = calloc(1, sizeof *c);
    if (!c) return lmc_set_error_null(LMC_ERR_NOMEM, "lmc_sampler_chain_init: out of memory");
    lmc_sampler *s = lmc_sampler_init(&CHAIN_I, c);
    if (!s) free(c);
    return s;
}

int lmc_sampler_chain_add(lmc_sampler *chain, lmc_sampler *s) {
    if (!lmc_sampler_is_chain(chain) || !s) {
        lmc_sampler_free(s);
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_sampler_chain_add: need a chain and a sampler");
    }
    chain_ctx *c = chain->ctx;
    if (c->n == c->cap) {
        int nc = c->cap ? c->cap * 2 : 8;
        lmc_sampler **ni = realloc(c->items, (size_t)nc * sizeof *ni);
        if (!ni) {
            lmc_sampler_free(s);
            return lmc_set_error(LMC_ERR_NOMEM, "lmc_sampler_chain_add: out of memory");
        }
        c->items = ni;
        c->cap = nc;
    }
    c->items[c->n++] = s;
    return LMC_OK;
}

int lmc_sampler_chain_n(const lmc_sampler *chain) {
    return lmc_sampler_is_chain(chain) ? ((const chain_ctx *)chain->ctx)->n : 0;
}

lmc_sampler *lmc_sampler_chain_get(const lmc_sampler *chain, int i) {
    if (!lmc_sampler_is_chain(chain)) return NULL;
    const chain_ctx *c = chain->ctx;
    return i >= 0 && i < c->n ? c->items[i] : NULL;
}

uint64_t lmc_sampler_seed(const lmc_sampler *s) {
    if (!s) return LMC_SEED_RANDOM;
    if (!lmc_sampler_is_chain(s)) return lmc_sampler_dist_seed(s);
    const chain_ctx *c = s->ctx;
    for (int i = 0; i < c->n; i++) {
        uint64_t seed = lmc_sampler_seed(c->items[i]);
        if (seed != LMC_SEED_RANDOM) return seed;
    }
    return LMC_SEED_RANDOM;
}
