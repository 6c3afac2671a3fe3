/* stop.c — when generation ends: end-of-generation tokens, stop strings and a token
 * budget.
 *
 * Stop strings are matched in the decoded text, not in token ids, because a string
 * like "\nUser:" may arrive as any split into tokens ("\n", "User", ":" or "\nU",
 * "ser:"). The matcher keeps back the longest tail of the text that could still
 * grow into a stop string; everything before it can be shown at once. A match can
 * only start inside that tail (any earlier start would have been kept back), so the
 * search is over a few bytes per token, and the stop string itself is never shown.
 * (llama.cpp's tools do the same with find_partial_stop_string.) */
#include "sampling-impl.h"

#include <stdlib.h>
#include <string.h>

struct lmc_stop {
    char **strs;
    size_t *lens;
    size_t n;
    int64_t max_tokens, n_tokens;
    int32_t *eog;
    size_t n_eog, cap_eog;
    char *pend; /* text kept back: a prefix of some stop string */
    size_t pend_len, pend_cap;
    char *out;  /* what the last call released */
    size_t out_cap;
    lmc_stop_reason done;
};

const char *lmc_stop_reason_name(lmc_stop_reason r) {
    switch (r) {
    case LMC_STOP_NONE: return "none";
    case LMC_STOP_EOG: return "eog";
    case LMC_STOP_STRING: return "stop string";
    case LMC_STOP_MAX_TOKENS: return "max tokens";
    default: return "?";
    }
}

lmc_stop *lmc_stop_init(const char *const *stop_strings, size_t n_strings, int64_t max_tokens) {
    if (n_strings && !stop_strings) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "stop: NULL string array");
    for (size_t i = 0; i < n_strings; i++)
        if (!stop_strings[i] || !stop_strings[i][0])
            return lmc_set_error_null(LMC_ERR_INVALID_ARG, "stop string %zu is empty", i + 1);
    lmc_stop *s = calloc(1, sizeof *s);
    if (!s) return lmc_set_error_null(LMC_ERR_NOMEM, "stop: out of memory");
    s->max_tokens = max_tokens;
    s->strs = calloc(n_strings ? n_strings : 1, sizeof *s->strs);
    s->lens = calloc(n_strings ? n_strings : 1, sizeof *s->lens);
    if (!s->strs || !s->lens) goto oom;
    for (size_t i = 0; i < n_strings; i++) {
        s->lens[i] = strlen(stop_strings[i]);
        if (!(s->strs[i] = strdup(stop_strings[i]))) goto oom;
        s->n++;
    }
    return s;
oom:
    lmc_stop_free(s);
    return lmc_set_error_null(LMC_ERR_NOMEM, "stop: out of memory");
}

void lmc_stop_free(lmc_stop *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->strs[i]);
    free(s->strs);
    free(s->lens);
    free(s->eog);
    free(s->pend);
    free(s->out);
    free(s);
}

int lmc_stop_add_eog(lmc_stop *s, int32_t token) {
    if (!s || token < 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "stop: bad end-of-generation token %d", token);
    if (s->n_eog == s->cap_eog) {
        size_t nc = s->cap_eog ? 2 * s->cap_eog : 8;
        int32_t *ne = realloc(s->eog, nc * sizeof *ne);
        if (!ne) return lmc_set_error(LMC_ERR_NOMEM, "stop: out of memory");
        s->eog = ne;
        s->cap_eog = nc;
    }
    s->eog[s->n_eog++] = token;
    return LMC_OK;
}

static bool grow(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    char *nb = realloc(*buf, nc);
    if (!nb) return false;
    *buf = nb;
    *cap = nc;
    return true;
}

/* Moves the first n bytes of the kept-back text to the output buffer. */
static void release(lmc_stop *s, size_t n, const char **out, size_t *out_len) {
    if (n && grow(&s->out, &s->out_cap, n)) {
        memcpy(s->out, s->pend, n);
        memmove(s->pend, s->pend + n, s->pend_len - n);
        s->pend_len -= n;
    } else {
        n = 0;
    }
    *out = s->out ? s->out : "";
    *out_len = n;
}

lmc_stop_reason lmc_stop_push(lmc_stop *s, int32_t token, const char *piece, size_t len, const char **out,
                              size_t *out_len) {
    *out = "";
    *out_len = 0;
    if (s->done) return s->done;
    s->n_tokens++;
    for (size_t i = 0; i < s->n_eog; i++)
        if (s->eog[i] == token) {
            release(s, s->pend_len, out, out_len); /* what was kept back was not a stop string */
            return s->done = LMC_STOP_EOG;
        }
    if (len && (!piece || !grow(&s->pend, &s->pend_cap, s->pend_len + len))) {
        /* cannot keep text back: show it rather than lose it */
        *out = piece ? piece : "";
        *out_len = piece ? len : 0;
        return LMC_STOP_NONE;
    }
    if (len) memcpy(s->pend + s->pend_len, piece, len);
    s->pend_len += len;

    /* the earliest complete stop string, if any */
    size_t keep_from = s->pend_len;
    for (size_t p = 0; p < s->pend_len; p++) {
        const size_t rest = s->pend_len - p;
        bool partial = false;
        for (size_t k = 0; k < s->n; k++) {
            if (rest >= s->lens[k]) {
                if (memcmp(s->pend + p, s->strs[k], s->lens[k]) == 0) {
                    s->pend_len = p; /* drop the stop string and what follows */
                    release(s, p, out, out_len);
                    return s->done = LMC_STOP_STRING;
                }
            } else if (memcmp(s->pend + p, s->strs[k], rest) == 0) {
                partial = true; /* the tail could still become stop string k */
            }
        }
        if (partial && keep_from == s->pend_len) keep_from = p;
    }
    if (s->max_tokens > 0 && s->n_tokens >= s->max_tokens) {
        release(s, s->pend_len, out, out_len);
        return s->done = LMC_STOP_MAX_TOKENS;
    }
    release(s, keep_from, out, out_len);
    return LMC_STOP_NONE;
}

void lmc_stop_flush(lmc_stop *s, const char **out, size_t *out_len) {
    if (s->done == LMC_STOP_STRING) {
        *out = "";
        *out_len = 0;
        return;
    }
    release(s, s->pend_len, out, out_len);
}

int64_t lmc_stop_n_tokens(const lmc_stop *s) { return s ? s->n_tokens : 0; }
