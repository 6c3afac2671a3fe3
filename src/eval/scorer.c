/* scorer.c — the harness's one door to the model: log-likelihood of a continuation
 * and greedy generation, as requests to the serving engine (lmc_engine_*), which runs
 * here without its own thread (the harness asks one thing at a time).
 *
 * Prefix sharing is the engine's prefix cache: the choices of one item, or the shots
 * of consecutive items, find the full 16-token blocks of their shared context cached
 * and only compute what differs. Logits are those of lmc_decode for the same batch
 * shapes (the engine's tests check that bit for bit). */
#include "eval-impl.h"

#include <stdlib.h>
#include <string.h>

int eval_scorer_init(eval_scorer *s, const lmc_model *m, const lmc_vocab *v, int64_t n_ctx, int32_t n_batch,
                     int32_t n_threads, lmc_type kv_type, bool flash_attn, bool share_prefix) {
    memset(s, 0, sizeof *s);
    if (n_ctx < 2 || n_ctx > INT32_MAX)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "eval: context %lld out of range", (long long)n_ctx);
    lmc_engine_params ep = lmc_engine_default_params();
    ep.n_ctx = (int32_t)n_ctx;
    /* with flash attention the numerics depend on the batch: a whole chunk goes in one
     * forward step, as llama-perplexity runs it */
    ep.n_batch = flash_attn ? (int32_t)n_ctx : (n_batch > 0 ? n_batch : 512);
    ep.n_seq_max = 4;
    ep.n_threads = n_threads > 0 ? n_threads : 1;
    ep.kv_type = kv_type;
    ep.flash_attn = flash_attn;
    ep.prefix_cache = share_prefix;
    ep.background = false;
    s->engine = lmc_engine_init(m, v, ep);
    if (!s->engine) return LMC_ERR_INVALID_ARG;
    s->model = m;
    s->vocab = v;
    s->n_vocab = lmc_model_get_hparams(m)->n_vocab;
    s->n_ctx = n_ctx;
    s->lp = malloc((size_t)n_ctx * sizeof *s->lp);
    s->greedy = malloc((size_t)n_ctx * sizeof *s->greedy);
    if (!s->lp || !s->greedy) {
        eval_scorer_free(s);
        return lmc_set_error(LMC_ERR_NOMEM, "eval: out of memory for the scorer");
    }
    return LMC_OK;
}

void eval_scorer_free(eval_scorer *s) {
    if (!s) return;
    lmc_engine_free(s->engine);
    free(s->lp);
    free(s->greedy);
    memset(s, 0, sizeof *s);
}

int eval_tokenize(const eval_scorer *s, const char *text, bool add_bos, int32_t **ids, int64_t *n) {
    return lmc_tokenize(s->vocab, text, strlen(text), add_bos, false, ids, n);
}

/* tokens the engine actually computed since the last call (cached ones excluded) */
static int64_t computed_since(eval_scorer *s, int64_t *mark) {
    lmc_engine_stats st;
    if (lmc_engine_get_stats(s->engine, &st)) return 0;
    int64_t d = st.n_computed_tokens - *mark;
    *mark = st.n_computed_tokens;
    return d;
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
    int64_t mark = 0;
    computed_since(s, &mark);
    int rc = lmc_engine_score(s->engine, ctx + skip, n_ctx - skip, cont, n_cont, s->lp, s->greedy, 0, NULL);
    s->n_tokens += computed_since(s, &mark);
    if (rc) return rc;
    double lp = 0;
    bool all_greedy = true;
    for (int64_t i = 0; i < n_cont; i++) {
        if (tok_logprobs) tok_logprobs[i] = s->lp[i];
        lp += s->lp[i];
        all_greedy = all_greedy && s->greedy[i];
    }
    *logprob = lp;
    if (greedy) *greedy = all_greedy;
    return LMC_OK;
}

typedef struct gen_state {
    const lmc_vocab *vocab;
    char *text;
    size_t len, cap;
    int rc;
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

static void on_event(const lmc_engine_event *ev, void *user) {
    gen_state *g = user;
    if (ev->text) append(g, ev->text, ev->text_len);
    if (ev->finish == LMC_FINISH_ERROR && !g->rc)
        g->rc = lmc_set_error(LMC_ERR_INTERNAL, "eval: generation failed: %s", ev->error ? ev->error : "?");
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
    append(&g, "", 0);
    lmc_engine_request rq = lmc_engine_default_request(); /* greedy */
    rq.tokens = prompt;
    rq.n_tokens = n_prompt;
    rq.stop = stop;
    rq.n_stop = n_stop;
    rq.max_tokens = max_tokens;
    rq.on_event = on_event;
    rq.user = &g;
    int64_t mark = 0;
    computed_since(s, &mark);
    int64_t id = lmc_engine_submit(s->engine, &rq);
    int rc = id < 0 ? (int)id : lmc_engine_run(s->engine);
    s->n_tokens += computed_since(s, &mark);
    if (rc < 0 || g.rc) {
        free(g.text);
        return g.rc ? g.rc : rc;
    }
    if (!g.text) g.text = calloc(1, 1);
    *text = g.text;
    return LMC_OK;
}
