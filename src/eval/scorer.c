/* scorer.c — the harness's one door to the model: log-likelihood of a continuation
 * and greedy generation, on a single lmc_context.
 *
 * Prefix sharing: the tokens in the cache are remembered; a request that starts with
 * the same tokens (the choices of one item, or the shots of consecutive items) keeps
 * them and only runs what differs (lmc_context_truncate). This is the interface the
 * serving engine's batched score API will later sit behind. */
#include "eval-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_LOGIT_ROWS 64 /* rows of logits fetched per lmc_decode call */

int eval_scorer_init(eval_scorer *s, const lmc_model *m, const lmc_vocab *v, int64_t n_ctx, int32_t n_batch,
                     int32_t n_threads, lmc_type kv_type, bool flash_attn, bool share_prefix) {
    memset(s, 0, sizeof *s);
    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = (int32_t)n_ctx;
    if (n_batch > 0) cp.n_batch = n_batch;
    cp.n_threads = n_threads > 0 ? n_threads : 1;
    cp.kv_type = kv_type;
    cp.flash_attn = flash_attn;
    s->ctx = lmc_context_init(m, cp);
    if (!s->ctx) return LMC_ERR_INVALID_ARG;
    s->model = m;
    s->vocab = v;
    s->n_vocab = lmc_model_get_hparams(m)->n_vocab;
    s->n_ctx = lmc_context_n_ctx(s->ctx);
    s->share_prefix = share_prefix;
    s->cached = malloc((size_t)s->n_ctx * sizeof(int32_t));
    s->one_step = flash_attn;
    s->logit_rows = flash_attn ? s->n_ctx : EVAL_LOGIT_ROWS;
    s->logits = malloc((size_t)s->logit_rows * (size_t)s->n_vocab * sizeof(float));
    if (!s->cached || !s->logits) {
        eval_scorer_free(s);
        return lmc_set_error(LMC_ERR_NOMEM, "eval: out of memory for the scorer");
    }
    return LMC_OK;
}

void eval_scorer_free(eval_scorer *s) {
    if (!s) return;
    lmc_context_free(s->ctx);
    free(s->cached);
    free(s->logits);
    memset(s, 0, sizeof *s);
}

int eval_tokenize(const eval_scorer *s, const char *text, bool add_bos, int32_t **ids, int64_t *n) {
    return lmc_tokenize(s->vocab, text, strlen(text), add_bos, false, ids, n);
}

/* Keeps the longest cached prefix of seq[0..n) that is at most max_keep long, so the
 * caller runs only the rest. Returns the kept length. */
static int64_t reuse_prefix(eval_scorer *s, const int32_t *seq, int64_t n, int64_t max_keep) {
    int64_t p = 0;
    if (s->share_prefix)
        while (p < s->n_cached && p < n && p < max_keep && s->cached[p] == seq[p]) p++;
    if (p == 0) lmc_context_reset(s->ctx);
    else lmc_context_truncate(s->ctx, p);
    s->n_cached = p;
    return p;
}

static int run(eval_scorer *s, const int32_t *toks, int64_t n, float *logits) {
    int rc = lmc_decode(s->ctx, toks, n, logits, logits != NULL);
    if (rc) {
        s->n_cached = 0;
        lmc_context_reset(s->ctx);
        return rc;
    }
    memcpy(s->cached + s->n_cached, toks, (size_t)n * sizeof(int32_t));
    s->n_cached += n;
    s->n_tokens += n;
    return LMC_OK;
}

int eval_score(eval_scorer *s, const int32_t *ctx, int64_t n_ctx, const int32_t *cont, int64_t n_cont,
               double *logprob, bool *greedy, double *tok_logprobs) {
    if (n_ctx < 1 || n_cont < 1)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "eval: scoring needs >= 1 context and continuation token");
    if (n_cont + 1 > s->n_ctx)
        return lmc_set_error(LMC_ERR_LIMIT, "eval: a continuation of %lld tokens does not fit a context of %lld",
                             (long long)n_cont, (long long)s->n_ctx);
    /* As lm-evaluation-harness: (context + continuation)[-(n_ctx + 1):][:-1], so a long
     * context loses its oldest tokens. */
    int64_t skip = n_ctx + n_cont - 1 > s->n_ctx ? n_ctx + n_cont - 1 - s->n_ctx : 0;
    int64_t nc = n_ctx - skip, L = nc + n_cont; /* seq = ctx[skip..] + cont, length L */
    int32_t *seq = malloc((size_t)L * sizeof(int32_t));
    if (!seq) return lmc_set_error(LMC_ERR_NOMEM, "eval: out of memory");
    memcpy(seq, ctx + skip, (size_t)nc * sizeof(int32_t));
    memcpy(seq + nc, cont, (size_t)n_cont * sizeof(int32_t));

    const int64_t first = nc - 1; /* logits of position first score cont[0] */
    int64_t pos = reuse_prefix(s, seq, L - 1, first);
    int rc = LMC_OK;
    int64_t r0 = 0; /* logits row of position pos */
    if (s->one_step) {
        r0 = first - pos;
    } else {
        if (pos < first) rc = run(s, seq + pos, first - pos, NULL);
        pos = first;
    }
    double lp = 0;
    bool all_greedy = true;
    const int64_t V = s->n_vocab;
    while (!rc && pos + r0 < L - 1) {
        int64_t k = s->one_step ? L - 1 - pos : LMC_MIN(EVAL_LOGIT_ROWS, L - 1 - pos);
        rc = run(s, seq + pos, k, s->logits);
        pos += r0;
        k -= r0;
        for (int64_t r = 0; !rc && r < k; r++) {
            /* log_softmax(row)[tok] = row[tok] - max - log(sum exp(row - max)) */
            const float *row = s->logits + (r0 + r) * V;
            int32_t tok = seq[pos + r + 1];
            int32_t am = lmc_argmax(row, V);
            double mx = row[am], sum = 0;
            for (int64_t j = 0; j < V; j++) sum += exp((double)row[j] - mx);
            double l = (double)row[tok] - mx - log(sum);
            if (tok_logprobs) tok_logprobs[pos + r - first] = l;
            lp += l;
            if (am != tok) all_greedy = false;
        }
        pos += k;
        r0 = 0;
    }
    free(seq);
    if (rc) return rc;
    *logprob = lp;
    if (greedy) *greedy = all_greedy;
    return LMC_OK;
}

typedef struct gen_state {
    lmc_stop *stop;
    const lmc_vocab *vocab;
    char *text;
    size_t len, cap;
    int rc;
    bool stopped;
} gen_state;

static void append(gen_state *g, const char *p, size_t n) {
    if (g->rc || !n) return;
    if (g->len + n + 1 > g->cap) {
        size_t cap = (g->len + n + 1) * 2;
        char *t = realloc(g->text, cap);
        if (!t) {
            g->rc = lmc_set_error(LMC_ERR_NOMEM, "eval: out of memory");
            return;
        }
        g->text = t;
        g->cap = cap;
    }
    memcpy(g->text + g->len, p, n);
    g->len += n;
    g->text[g->len] = 0;
}

static bool on_token(int32_t tok, void *user) {
    gen_state *g = user;
    char piece[512];
    int n = lmc_token_to_piece(g->vocab, tok, false, piece, sizeof piece);
    if (n < 0) n = 0;
    const char *out;
    size_t out_len;
    lmc_stop_reason r = lmc_stop_push(g->stop, tok, piece, (size_t)n, &out, &out_len);
    append(g, out, out_len);
    if (r != LMC_STOP_NONE) {
        if (r != LMC_STOP_STRING) {
            lmc_stop_flush(g->stop, &out, &out_len);
            append(g, out, out_len);
        }
        g->stopped = true;
        return false;
    }
    return g->rc == LMC_OK;
}

int eval_generate(eval_scorer *s, const int32_t *prompt, int64_t n_prompt, const char *const *stop,
                  size_t n_stop, int64_t max_tokens, char **text) {
    *text = NULL;
    if (n_prompt < 1) return lmc_set_error(LMC_ERR_INVALID_ARG, "eval: empty prompt");
    if (n_prompt + max_tokens > s->n_ctx) { /* keep the newest tokens of the prompt */
        int64_t cut = n_prompt + max_tokens - s->n_ctx;
        if (cut >= n_prompt) return lmc_set_error(LMC_ERR_LIMIT, "eval: max_tokens %lld does not fit the context",
                                                  (long long)max_tokens);
        prompt += cut;
        n_prompt -= cut;
    }
    gen_state g = {.vocab = s->vocab};
    g.stop = lmc_stop_init(stop, n_stop, max_tokens);
    if (!g.stop) return LMC_ERR_INVALID_ARG;
    for (int32_t t = 0; t < s->n_vocab; t++)
        if (lmc_vocab_is_eog(s->vocab, t)) lmc_stop_add_eog(g.stop, t);
    append(&g, "", 0);
    int64_t keep = reuse_prefix(s, prompt, n_prompt, n_prompt - 1);
    memcpy(s->cached + keep, prompt + keep, (size_t)(n_prompt - keep) * sizeof(int32_t));
    lmc_gen_stats st;
    int rc = lmc_generate(s->ctx, prompt + keep, n_prompt - keep, max_tokens, NULL, NULL, on_token, &g, &st);
    /* The cache now holds the prompt and generated tokens we do not track: keep only
     * the prompt part as reusable. */
    s->n_tokens += st.n_prompt + st.n_decoded;
    s->n_cached = n_prompt;
    lmc_context_truncate(s->ctx, n_prompt);
    if (!rc && !g.stopped) {
        const char *out;
        size_t out_len;
        lmc_stop_flush(g.stop, &out, &out_len);
        append(&g, out, out_len);
    }
    lmc_stop_free(g.stop);
    if (!rc) rc = g.rc;
    if (rc) {
        free(g.text);
        s->n_cached = 0;
        lmc_context_reset(s->ctx);
        return rc;
    }
    if (!g.text) g.text = calloc(1, 1);
    *text = g.text;
    return LMC_OK;
}
