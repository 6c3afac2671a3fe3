/* ngram_tokens.c — n-gram models over a GGUF model's tokens: each sentence becomes the
 * texts of its tokens, so the word machinery (counts, ARPA, perplexity) works
 * unchanged and the ARPA file stays readable ("▁the", "Ġthe"). */
#include "ngram-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool usable_word(const char *s) {
    if (!s || !*s || strcmp(s, "<s>") == 0 || strcmp(s, "</s>") == 0) return false;
    for (; *s; s++)
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f') return false;
    return true;
}

int ng_token_words(const lmc_vocab *v, const char *text, size_t len, char **out, size_t *out_len) {
    int32_t *ids = NULL;
    int64_t n = 0;
    int rc = lmc_tokenize(v, text, len, false, false, &ids, &n);
    if (rc) return rc;
    size_t cap = 64, k = 0;
    char *o = malloc(cap);
    if (!o) {
        free(ids);
        return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        const char *t = lmc_vocab_token_text(v, ids[i]);
        char alt[32];
        if (!usable_word(t)) {
            snprintf(alt, sizeof alt, "<id:%d>", (int)ids[i]);
            t = alt;
        }
        size_t tl = strlen(t);
        if (k + tl + 2 > cap) {
            while (k + tl + 2 > cap) cap *= 2;
            char *q = realloc(o, cap);
            if (!q) {
                free(o);
                free(ids);
                return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
            }
            o = q;
        }
        if (k) o[k++] = ' ';
        memcpy(o + k, t, tl);
        k += tl;
    }
    o[k] = 0;
    free(ids);
    *out = o;
    *out_len = k;
    return LMC_OK;
}

int lmc_ngram_counts_set_tokenizer(lmc_ngram_counts *c, const lmc_vocab *v) {
    if (!c) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_ngram_counts_set_tokenizer: no counts");
    c->tok = v;
    return LMC_OK;
}

int lmc_ngram_set_tokenizer(lmc_ngram_lm *lm, const lmc_vocab *v) {
    if (!lm) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_ngram_set_tokenizer: no model");
    lm->tok = v;
    return LMC_OK;
}
