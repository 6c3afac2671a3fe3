/* beam_model.c — beam search with a model: lmc_beam_search driven by lmc_decode.
 *
 * The context's KV cache holds one sequence (see "Model" in lmc.h), so beams cannot
 * each own KV rows in it yet. How they share it:
 *   - the prompt's rows are computed once and never copied: every beam reads them
 *     in place, at positions [0, n_base);
 *   - each generated token's K/V row (all layers) is saved once, in a tree of nodes
 *     (node = one token of one beam, pointing to its parent node), right after the
 *     decode that computed it;
 *   - before a beam's next token is decoded, the cache gets that beam's rows back:
 *     only the rows below the point where it branched off from the sequence the
 *     cache holds are copied (usually none or one), then exactly one token is
 *     decoded. So every step costs one decoded token per beam, as with per-beam KV
 *     sequences, plus a few row copies (no re-decoding).
 * The rows are read and written through the model area's internal KV layout
 * (model-impl.h: lmc_kv_cache_k/v, row_bytes); kv_row_get/put below are the only
 * places that know it. When the context gains multi-sequence KV (serving-engine
 * issue), this becomes a per-beam sequence copy.
 *
 * B = beams, T = max new tokens, V = vocabulary size, R = bytes of one position's
 * K and V rows over all layers. */
#include "../model/model-impl.h"
#include "sampling-impl.h"

#include <stdlib.h>
#include <string.h>

/* Position pos's K and V rows of every layer <-> dst/src[R]. */
static void kv_row_get(const lmc_context *c, int64_t pos, uint8_t *dst) {
    const lmc_kv_cache *kv = &c->kv;
    for (int l = 0; l < kv->n_layer; l++) {
        memcpy(dst, (const uint8_t *)lmc_kv_cache_k(kv, l) + (size_t)pos * kv->row_bytes, kv->row_bytes);
        dst += kv->row_bytes;
        memcpy(dst, (const uint8_t *)lmc_kv_cache_v(kv, l) + (size_t)pos * kv->row_bytes, kv->row_bytes);
        dst += kv->row_bytes;
    }
}

static void kv_row_put(lmc_context *c, int64_t pos, const uint8_t *src) {
    const lmc_kv_cache *kv = &c->kv;
    for (int l = 0; l < kv->n_layer; l++) {
        memcpy((uint8_t *)lmc_kv_cache_k(kv, l) + (size_t)pos * kv->row_bytes, src, kv->row_bytes);
        src += kv->row_bytes;
        memcpy((uint8_t *)lmc_kv_cache_v(kv, l) + (size_t)pos * kv->row_bytes, src, kv->row_bytes);
        src += kv->row_bytes;
    }
}

typedef struct {
    int32_t parent; /* node of the previous token, -1 = the prompt */
    int32_t depth;  /* generated tokens up to and including this one (>= 1) */
} node;

typedef struct {
    lmc_context *ctx;
    const int32_t *prompt;
    int64_t n_prompt;
    int64_t n_base;      /* cache length after the prompt */
    int32_t n_vocab;
    size_t R;            /* bytes per saved row */
    node *nodes;         /* the token tree */
    uint8_t *rows;       /* [n_nodes][R] */
    int32_t n_nodes, cap;
    int32_t *leaf;       /* [B] node of each live beam's last token */
    int32_t *nleaf;      /* [B] scratch */
    int32_t cached;      /* node whose chain the cache holds past n_base (-1: none) */
} model_scorer;

static int32_t depth_of(const model_scorer *m, int32_t n) { return n < 0 ? 0 : m->nodes[n].depth; }

/* Makes the cache hold beam node `want`'s rows (positions n_base .. n_base+depth-1)
 * by copying the rows below its branch point from the node tree. */
static void restore(model_scorer *m, int32_t want) {
    int32_t a = want, b = m->cached;
    while (depth_of(m, b) > depth_of(m, a)) b = m->nodes[b].parent;
    /* a's rows deeper than b's chain must be written; walk both up to their meeting */
    int32_t stop = a;
    while (depth_of(m, stop) > depth_of(m, b)) stop = m->nodes[stop].parent;
    while (stop != b) {
        stop = m->nodes[stop].parent;
        b = m->nodes[b].parent;
    }
    for (int32_t n = want; n != stop; n = m->nodes[n].parent)
        kv_row_put(m->ctx, m->n_base + m->nodes[n].depth - 1, m->rows + (size_t)n * m->R);
    m->cached = want;
}

static int model_step(void *user, int32_t step, int32_t n, const int32_t *parent, const int32_t *token,
                      float *logits) {
    model_scorer *m = user;
    if (step == 0) {
        int rc = lmc_decode(m->ctx, m->prompt, m->n_prompt, logits, false);
        m->n_base = lmc_context_n_past(m->ctx);
        m->cached = -1;
        return rc;
    }
    if (m->n_nodes + n > m->cap) {
        int32_t nc = m->cap ? m->cap : 64;
        while (nc < m->n_nodes + n) nc *= 2;
        node *nn = realloc(m->nodes, (size_t)nc * sizeof *nn);
        if (nn) m->nodes = nn;
        uint8_t *nr = nn ? realloc(m->rows, (size_t)nc * m->R) : NULL;
        if (!nr)
            return lmc_set_error(LMC_ERR_NOMEM, "beam search: out of memory for %d saved KV rows of %zu bytes", nc, m->R);
        m->rows = nr;
        m->cap = nc;
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t par = step == 1 ? -1 : m->leaf[parent[i]];
        /* the cache holds a chain of depth step-1 (n_past = n_base + step - 1): put
         * the parent's rows there, then decode the new token after them */
        restore(m, par);
        int rc = lmc_context_truncate(m->ctx, m->n_base + step - 1);
        if (rc == LMC_OK) rc = lmc_decode(m->ctx, &token[i], 1, logits + (size_t)i * (size_t)m->n_vocab, false);
        if (rc != LMC_OK) return rc;
        const int32_t id = m->n_nodes++;
        m->nodes[id] = (node){par, step};
        kv_row_get(m->ctx, m->n_base + step - 1, m->rows + (size_t)id * m->R);
        m->cached = id;
        m->nleaf[i] = id;
    }
    /* keep n_past = n_base + step for the next step's first truncate */
    memcpy(m->leaf, m->nleaf, (size_t)n * sizeof *m->leaf);
    return LMC_OK;
}

int lmc_beam_search_model(lmc_context *c, const int32_t *prompt, int64_t n_prompt, const lmc_beam_params *p,
                          lmc_beam_result *out) {
    if (!c || !p || !out || (!prompt && n_prompt > 0) || n_prompt < 1)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: need a context, a prompt of >= 1 token and parameters");
    out->hyps = NULL;
    out->n_hyps = 0;
    const int32_t V = lmc_model_get_hparams(lmc_context_model(c))->n_vocab;
    int rc = lmc_beam_check(p, V);
    if (rc != LMC_OK) return rc;
    const int64_t n_past0 = lmc_context_n_past(c);
    const int64_t room = lmc_context_n_ctx(c) - n_past0 - n_prompt;
    if (room < 1)
        return lmc_set_error(LMC_ERR_LIMIT, "beam search: the prompt of %lld tokens leaves no room in the context of %lld",
                             (long long)n_prompt, (long long)lmc_context_n_ctx(c));
    lmc_beam_params q = *p;
    /* a hypothesis's last token is never decoded, so room + 1 tokens would fit */
    if (q.max_tokens > room) q.max_tokens = (int32_t)room;
    model_scorer m = {0};
    m.ctx = c;
    m.prompt = prompt;
    m.n_prompt = n_prompt;
    m.n_vocab = V;
    m.R = (size_t)c->kv.n_layer * 2 * c->kv.row_bytes;
    m.cached = -1;
    m.leaf = malloc((size_t)q.n_beams * sizeof *m.leaf);
    m.nleaf = malloc((size_t)q.n_beams * sizeof *m.nleaf);
    if (!m.leaf || !m.nleaf)
        rc = lmc_set_error(LMC_ERR_NOMEM, "beam search: out of memory");
    else
        rc = lmc_beam_search(&q, V, model_step, &m, out);
    free(m.leaf);
    free(m.nleaf);
    free(m.nodes);
    free(m.rows);
    /* leave the prompt in the cache, as a caller of lmc_decode would expect */
    if (lmc_context_n_past(c) > n_past0 + n_prompt) lmc_context_truncate(c, n_past0 + n_prompt);
    return rc;
}
