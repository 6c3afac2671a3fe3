/* ngram_query.c — using a model: back-off probabilities, perplexity, sampling, and
 * the accessors. */
#include "ngram-impl.h"
#include "../metrics/metrics-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lmc_ngram_free(lmc_ngram_lm *lm) {
    if (!lm) return;
    ng_vocab_free(&lm->vocab);
    for (int n = 0; n < lm->order; n++) ng_table_free(&lm->t[n]);
    free(lm);
}

int lmc_ngram_order(const lmc_ngram_lm *lm) {
    return lm ? lm->order : 0;
}
int64_t lmc_ngram_n_entries(const lmc_ngram_lm *lm, int n) {
    return lm && n >= 1 && n <= lm->order ? (int64_t)lm->t[n - 1].n_entries : 0;
}
int32_t lmc_ngram_vocab_size(const lmc_ngram_lm *lm) {
    return lm ? lm->vocab.n : 0;
}
const char *lmc_ngram_word(const lmc_ngram_lm *lm, int32_t id) {
    return lm && id >= 0 && id < lm->vocab.n ? lm->vocab.words[id] : NULL;
}
int32_t lmc_ngram_word_id(const lmc_ngram_lm *lm, const char *word, size_t len) {
    return lm && word ? ng_vocab_find(&lm->vocab, word, len) : -1;
}
int32_t lmc_ngram_bos(const lmc_ngram_lm *lm) {
    (void)lm;
    return NG_BOS;
}
int32_t lmc_ngram_eos(const lmc_ngram_lm *lm) {
    (void)lm;
    return NG_EOS;
}
int32_t lmc_ngram_unk(const lmc_ngram_lm *lm) {
    return lm ? lm->unk : -1;
}

double lmc_ngram_logprob(const lmc_ngram_lm *lm, const int32_t *context, int n_ctx, int32_t word) {
    if (!lm || word < 0 || word >= lm->vocab.n) return NG_LOG_ZERO;
    int L = n_ctx < lm->order - 1 ? n_ctx : lm->order - 1;
    if (L < 0) L = 0;
    int32_t key[LMC_NGRAM_MAX_ORDER];
    if (L == 0 || !context) L = 0, context = key, n_ctx = 0;
    const int32_t *h = context + n_ctx - L; /* the last L words */
    double bow = 0.0;
    for (; L >= 0; L--, h++) {
        if (L) memmove(key, h, (size_t)L * sizeof *key);
        key[L] = word;
        int64_t e = ng_table_find(&lm->t[L], key);
        if (e >= 0) {
            double p = lm->t[L].prob[e];
            return p <= NG_LOG_ZERO ? NG_LOG_ZERO : p + bow;
        }
        if (L > 0) { /* back off: the weight of the context h[0..L) */
            int64_t c = ng_table_find(&lm->t[L - 1], h);
            if (c >= 0) bow += lm->t[L - 1].bow[c];
        }
    }
    return NG_LOG_ZERO; /* not even a unigram: a word the model cannot produce */
}

static void ppl_update(lmc_ngram_ppl *a) {
    double denom = (double)(a->words - a->oovs + a->sentences);
    a->ppl = denom > 0 ? pow(10.0, -a->logprob / denom) : 0.0;
    double d1 = (double)(a->words - a->oovs);
    a->ppl1 = d1 > 0 ? pow(10.0, -a->logprob / d1) : 0.0;
}

int lmc_ngram_score(const lmc_ngram_lm *lm, const char *text, size_t len, lmc_ngram_ppl *acc) {
    if (!lm || !acc || (!text && len)) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_ngram_score: NULL argument");
    if (lm->tok) { /* model tokens: score the token words */
        char *words;
        size_t wl;
        int rc = ng_token_words(lm->tok, text, len, &words, &wl);
        if (rc) return rc;
        lmc_ngram_lm plain = *lm;
        plain.tok = NULL;
        rc = lmc_ngram_score(&plain, words, wl, acc);
        free(words);
        return rc;
    }
    ng_word stack[256], *w = stack;
    size_t k = ng_split(text, len, stack, 256);
    if (k > 256) {
        w = malloc(k * sizeof *w);
        if (!w) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        ng_split(text, len, w, k);
    }
    size_t first = 0, last = k;
    if (last > first && w[first].len == 3 && memcmp(w[first].p, "<s>", 3) == 0) first++;
    if (last > first && w[last - 1].len == 4 && memcmp(w[last - 1].p, "</s>", 4) == 0) last--;
    if (last == first) { /* empty sentence: nothing scored */
        if (w != stack) free(w);
        return LMC_OK;
    }
    int32_t ctx[LMC_NGRAM_MAX_ORDER];
    int n_ctx = 1, keep = lm->order - 1;
    ctx[0] = NG_BOS;
    for (size_t i = first; i <= last; i++) {
        int32_t id = i == last ? NG_EOS : ng_vocab_find(&lm->vocab, w[i].p, w[i].len);
        if (i < last) acc->words++;
        if (id < 0 || id == NG_BOS) id = lm->unk;
        if (id < 0) { /* OOV: not scored; the context starts afresh */
            acc->oovs++;
            n_ctx = 0;
            continue;
        }
        acc->logprob += lmc_ngram_logprob(lm, ctx, n_ctx, id);
        if (keep > 0) {
            if (n_ctx == keep) memmove(ctx, ctx + 1, (size_t)(keep - 1) * sizeof *ctx), n_ctx--;
            ctx[n_ctx++] = id;
        }
    }
    acc->sentences++;
    ppl_update(acc);
    if (w != stack) free(w);
    return LMC_OK;
}

typedef struct ppl_ctx {
    const lmc_ngram_lm *lm;
    lmc_ngram_ppl *out;
    const char *path;
} ppl_ctx;

static int ppl_line(void *user, const char *line, size_t len, int64_t lineno) {
    ppl_ctx *pc = user;
    size_t ok = lmc_txt_utf8_valid_prefix(line, len);
    if (ok != len)
        return lmc_set_error(LMC_ERR_FORMAT, "%s:%lld: invalid UTF-8 at byte %zu", pc->path, (long long)lineno, ok + 1);
    int rc = lmc_ngram_score(pc->lm, line, len, pc->out);
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lmc_last_error());
        return lmc_set_error(rc, "%s:%lld: %s", pc->path, (long long)lineno, msg);
    }
    return LMC_OK;
}

int lmc_ngram_perplexity_file(const lmc_ngram_lm *lm, const char *path, lmc_ngram_ppl *out) {
    if (!lm || !path || !out) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_ngram_perplexity_file: NULL argument");
    memset(out, 0, sizeof *out);
    ppl_ctx pc = {lm, out, path};
    int rc = ng_read_lines(path, ppl_line, &pc);
    if (rc == LMC_OK && out->sentences == 0)
        rc = lmc_set_error(LMC_ERR_INVALID_ARG, "%s: no sentences to score (empty file)", path);
    return rc;
}

int32_t lmc_ngram_sample(const lmc_ngram_lm *lm, const int32_t *context, int n_ctx, struct lmc_rng *rng) {
    if (!lm || !rng || (n_ctx > 0 && !context))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_ngram_sample: NULL argument");
    /* two passes over the vocabulary: the total (close to 1), then the draw */
    double total = 0.0;
    for (int32_t w = 1; w < lm->vocab.n; w++) total += pow(10.0, lmc_ngram_logprob(lm, context, n_ctx, w));
    if (!(total > 0)) return lmc_set_error(LMC_ERR_INTERNAL, "the model gives no word any probability here");
    double r = lmc_rng_uniform(rng) * total, acc = 0.0;
    int32_t last = NG_EOS;
    for (int32_t w = 1; w < lm->vocab.n; w++) {
        double p = pow(10.0, lmc_ngram_logprob(lm, context, n_ctx, w));
        if (p <= 0) continue;
        acc += p;
        last = w;
        if (r < acc) return w;
    }
    return last; /* rounding at the very end */
}
