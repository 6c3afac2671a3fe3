/* perplexity.c — perplexity of a text, as llama.cpp's llama-perplexity computes it
 * (chunks, second half scored) or with a sliding window (every token scored once).
 *
 * T = tokens of the text (BOS first), C = n_ctx, S = stride. */
#include "eval-impl.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

lmc_ppl_params lmc_ppl_default_params(void) {
    lmc_ppl_params p = {.n_ctx = 512, .n_batch = 512, .n_threads = 1, .kv_type = LMC_TYPE_F16};
    return p;
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t count_words(const char *s, size_t n) {
    int64_t w = 0;
    bool in = false;
    for (size_t i = 0; i < n; i++) {
        bool sp = isspace((unsigned char)s[i]) != 0;
        if (!sp && !in) w++;
        in = !sp;
    }
    return w;
}

int lmc_perplexity(const lmc_model *m, const lmc_vocab *v, const char *text, size_t len, const lmc_ppl_params *pp,
                   lmc_ppl_result *out) {
    if (!m || !v || !text || !out) return lmc_set_error(LMC_ERR_INVALID_ARG, "perplexity: missing argument");
    lmc_ppl_params p = pp ? *pp : lmc_ppl_default_params();
    memset(out, 0, sizeof *out);
    const int64_t C = p.n_ctx;
    if (C < 4) return lmc_set_error(LMC_ERR_INVALID_ARG, "perplexity: context %lld is too small (>= 4)", (long long)C);
    if (p.stride < 0 || p.stride > C)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "perplexity: stride %d must be in 1..%lld", p.stride, (long long)C);
    double t0 = seconds_now();

    int32_t *tok = NULL;
    int64_t T = 0;
    int rc = lmc_tokenize(v, text, len, true, false, &tok, &T);
    if (rc) return rc;
    out->n_tokens = T;
    out->n_bytes = (int64_t)len;
    out->n_words = count_words(text, len);

    eval_scorer s;
    rc = eval_scorer_init(&s, m, v, C, p.n_batch, p.n_threads, p.kv_type, p.flash_attn, false);
    if (rc) {
        free(tok);
        return rc;
    }
    double *lp = malloc((size_t)C * sizeof(double));
    int32_t *chunk = malloc((size_t)C * sizeof(int32_t));
    if (!lp || !chunk) rc = lmc_set_error(LMC_ERR_NOMEM, "perplexity: out of memory");
    double nll = 0, nll2 = 0;
    int64_t count = 0;
    const int32_t bos = lmc_vocab_bos(v);

    if (!rc && p.stride == 0) {
        /* llama.cpp: chunk i = T[i*C, (i+1)*C) with its first token set to BOS; the
         * logits at positions C/2 .. C-2 score the tokens at C/2+1 .. C-1. */
        int64_t n_chunks = T / C;
        if (p.max_chunks > 0 && n_chunks > p.max_chunks) n_chunks = p.max_chunks;
        if (n_chunks < 1)
            rc = lmc_set_error(LMC_ERR_INVALID_ARG, "perplexity: the text has %lld tokens, fewer than one chunk of %lld",
                               (long long)T, (long long)C);
        const int64_t first = C / 2;
        for (int64_t i = 0; !rc && i < n_chunks; i++) {
            memcpy(chunk, tok + i * C, (size_t)C * sizeof(int32_t));
            if (bos >= 0 && lmc_vocab_add_bos(v)) chunk[0] = bos;
            double sum;
            rc = eval_score(&s, chunk, first + 1, chunk + first + 1, C - 1 - first, &sum, NULL, lp);
            for (int64_t j = 0; !rc && j < C - 1 - first; j++) {
                nll -= lp[j];
                nll2 += lp[j] * lp[j];
                count++;
            }
            out->n_chunks = i + 1;
            if (!rc && p.on_chunk) p.on_chunk(p.user, i, n_chunks, exp(nll / (double)count));
        }
    } else if (!rc) {
        /* Sliding window (Hugging Face's recipe): windows [b, b+C) for b = 0, S, 2S, ...;
         * each scores the tokens after the previous window's end. */
        int64_t prev_end = 1; /* T[0] (BOS) is never scored */
        int64_t n_win = T <= C ? 1 : 1 + (T - C + p.stride - 1) / p.stride;
        if (p.max_chunks > 0 && n_win > p.max_chunks) n_win = p.max_chunks;
        if (T < 2) rc = lmc_set_error(LMC_ERR_INVALID_ARG, "perplexity: the text has fewer than 2 tokens");
        for (int64_t w = 0; !rc && w < n_win && prev_end < T; w++) {
            int64_t b = w * p.stride, e = LMC_MIN(b + C, T);
            int64_t n_score = e - prev_end, n_ctx_tok = prev_end - b;
            double sum;
            rc = eval_score(&s, tok + b, n_ctx_tok, tok + prev_end, n_score, &sum, NULL, lp);
            for (int64_t j = 0; !rc && j < n_score; j++) {
                nll -= lp[j];
                nll2 += lp[j] * lp[j];
                count++;
            }
            prev_end = e;
            out->n_chunks = w + 1;
            if (!rc && p.on_chunk) p.on_chunk(p.user, w, n_win, exp(nll / (double)count));
        }
        out->covers_text = !rc && prev_end == T;
    }
    if (!rc && count > 0) {
        double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
        out->nll_sum = nll;
        out->n_scored = count;
        out->ppl = exp(mean);
        out->ppl_err = count > 1 && var > 0 ? out->ppl * sqrt(var / (double)(count - 1)) : 0;
        if (out->covers_text) {
            out->word_ppl = out->n_words ? exp(nll / (double)out->n_words) : 0;
            out->byte_ppl = out->n_bytes ? exp(nll / (double)out->n_bytes) : 0;
            out->bits_per_byte = out->n_bytes ? nll / (double)out->n_bytes / log(2.0) : 0;
        }
    }
    out->seconds = seconds_now() - t0;
    free(lp);
    free(chunk);
    free(tok);
    eval_scorer_free(&s);
    return rc;
}
