/* ngram_count.c — counting every n-gram (orders 1..N) of sentences padded as
 * <s> w1 ... wk </s>. */
#include "ngram-impl.h"
#include "../metrics/metrics-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lmc_ngram_counts *lmc_ngram_counts_init(int order) {
    if (order < 1 || order > LMC_NGRAM_MAX_ORDER)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "n-gram order %d is not in 1..%d", order, LMC_NGRAM_MAX_ORDER);
    lmc_ngram_counts *c = calloc(1, sizeof *c);
    if (!c) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    c->order = order;
    if (ng_vocab_init(&c->vocab)) {
        free(c);
        return NULL;
    }
    for (int n = 0; n < order; n++) {
        if (ng_table_init(&c->t[n], n + 1, true)) {
            lmc_ngram_counts_free(c);
            return NULL;
        }
    }
    return c;
}

void lmc_ngram_counts_free(lmc_ngram_counts *c) {
    if (!c) return;
    ng_vocab_free(&c->vocab);
    for (int n = 0; n < c->order; n++) ng_table_free(&c->t[n]);
    free(c->buf);
    free(c);
}

int64_t lmc_ngram_counts_sentences(const lmc_ngram_counts *c) {
    return c ? c->sentences : 0;
}
int64_t lmc_ngram_counts_tokens(const lmc_ngram_counts *c) {
    return c ? c->tokens : 0;
}

static bool is_word(const ng_word *w, const char *s) {
    return w->len == strlen(s) && memcmp(w->p, s, w->len) == 0;
}

int lmc_ngram_counts_add(lmc_ngram_counts *c, const char *text, size_t len) {
    if (!c || (!text && len)) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_ngram_counts_add: NULL argument");
    if (memchr(text, '\n', len)) return lmc_set_error(LMC_ERR_INVALID_ARG, "a sentence must not contain a line break");
    if (c->tok) { /* model tokens: count the token words instead */
        char *words;
        size_t wl;
        int rc = ng_token_words(c->tok, text, len, &words, &wl);
        if (rc) return rc;
        const lmc_vocab *v = c->tok;
        c->tok = NULL;
        rc = lmc_ngram_counts_add(c, words, wl);
        c->tok = v;
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
    /* sentence markers already in the text are accepted at the ends only */
    size_t first = 0, last = k;
    if (last > first && is_word(&w[first], "<s>")) first++;
    if (last > first && is_word(&w[last - 1], "</s>")) last--;
    int rc = LMC_OK;
    for (size_t i = first; i < last; i++)
        if (is_word(&w[i], "<s>") || is_word(&w[i], "</s>")) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "'%s' inside a sentence (word %zu)", is_word(&w[i], "<s>") ? "<s>" : "</s>",
                               i + 1);
            break;
        }
    size_t L = last - first + 2;
    if (rc == LMC_OK && last > first) {
        if (L > c->buf_cap) {
            int32_t *nb = realloc(c->buf, L * sizeof *nb);
            if (!nb) rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
            else c->buf = nb, c->buf_cap = L;
        }
        int32_t *ids = c->buf;
        if (rc == LMC_OK) {
            ids[0] = NG_BOS;
            ids[L - 1] = NG_EOS;
            for (size_t i = first; i < last && rc == LMC_OK; i++) {
                int32_t id = ng_vocab_add(&c->vocab, w[i].p, w[i].len);
                if (id < 0) rc = LMC_ERR_NOMEM;
                ids[i - first + 1] = id;
            }
        }
        for (size_t i = 0; i < L && rc == LMC_OK; i++) {
            for (int n = 1; n <= c->order && i + (size_t)n <= L; n++) {
                int64_t e = ng_table_insert(&c->t[n - 1], ids + i);
                if (e < 0) {
                    rc = LMC_ERR_NOMEM;
                    break;
                }
                c->t[n - 1].count[e]++;
            }
        }
        if (rc == LMC_OK) {
            c->sentences++;
            c->tokens += (int64_t)(L - 1);
        }
    }
    if (w != stack) free(w);
    return rc;
}

typedef struct file_ctx {
    lmc_ngram_counts *c;
    const char *path;
} file_ctx;

static int add_line(void *user, const char *line, size_t len, int64_t lineno) {
    file_ctx *fc = user;
    size_t ok = lmc_txt_utf8_valid_prefix(line, len);
    if (ok != len)
        return lmc_set_error(LMC_ERR_FORMAT, "%s:%lld: invalid UTF-8 at byte %zu", fc->path, (long long)lineno, ok + 1);
    int rc = lmc_ngram_counts_add(fc->c, line, len);
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lmc_last_error());
        return lmc_set_error(rc, "%s:%lld: %s", fc->path, (long long)lineno, msg);
    }
    return LMC_OK;
}

int lmc_ngram_counts_add_file(lmc_ngram_counts *c, const char *path) {
    if (!c || !path) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_ngram_counts_add_file: NULL argument");
    file_ctx fc = {c, path};
    return ng_read_lines(path, add_line, &fc);
}
