/* wcache.c — per-call cache of tokenized pieces (words for BPE, chunks for
 * SentencePiece): the same bytes always give the same ids, and natural text
 * repeats its words, so most pieces cost one hash lookup. Lives for one
 * lmc_tokenize call, so the vocab stays read-only and thread-safe. */
#include "vocab-impl.h"

#include <stdlib.h>
#include <string.h>

int wcache_init(wcache *c, size_t text_len) {
    memset(c, 0, sizeof *c);
    if (text_len < 256) return LMC_OK; /* a short text repeats little */
    uint32_t cap = 4096; /* grows with the number of distinct words */
    c->slot = calloc(cap, sizeof *c->slot);
    if (!c->slot) return LMC_ERR_NOMEM;
    c->mask = cap - 1;
    return LMC_OK;
}

void wcache_free(wcache *c) {
    free(c->slot);
    free(c->hash);
    free(c->woff);
    free(c->wlen);
    free(c->ioff);
    free(c->ilen);
    free(c->bytes);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

bool wcache_get(const wcache *c, uint64_t h, const char *w, size_t n, const int32_t **ids, uint32_t *k) {
    if (!c->slot) return false;
    uint32_t hi = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & c->mask; c->slot[i] != 0; i = (i + 1) & c->mask) {
        if ((uint32_t)(c->slot[i] >> 32) != hi) continue;
        uint32_t e = (uint32_t)c->slot[i] - 1;
        if (c->wlen[e] == n && memcmp(c->bytes + c->woff[e], w, n) == 0) {
            *ids = c->ilen[e] ? c->ids + c->ioff[e] : NULL;
            *k = c->ilen[e];
            return true;
        }
    }
    return false;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elt) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elt);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

int wcache_put(wcache *c, uint64_t h, const char *w, size_t n, const int32_t *ids, size_t k) {
    if (!c->slot) return LMC_OK;
    if (c->nbytes + n > UINT32_MAX || c->nids + k > UINT32_MAX) return LMC_OK; /* full: stop caching */
    if ((c->n + 1) * 2 > c->mask + 1) {
        uint32_t cap = (c->mask + 1) * 2;
        uint64_t *slot = calloc(cap, sizeof *slot);
        if (!slot) return LMC_ERR_NOMEM;
        for (uint32_t e = 0; e < c->n; e++) {
            uint32_t i = (uint32_t)c->hash[e] & (cap - 1);
            while (slot[i]) i = (i + 1) & (cap - 1);
            slot[i] = (c->hash[e] & 0xFFFFFFFF00000000ull) | (e + 1);
        }
        free(c->slot);
        c->slot = slot;
        c->mask = cap - 1;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? (size_t)c->cap * 2 : 1024;
        uint64_t *hh = realloc(c->hash, cap * sizeof *hh);
        if (!hh) return LMC_ERR_NOMEM;
        c->hash = hh;
        uint32_t **arr[4] = {&c->woff, &c->wlen, &c->ioff, &c->ilen};
        for (int a = 0; a < 4; a++) {
            uint32_t *q = realloc(*arr[a], cap * sizeof *q);
            if (!q) return LMC_ERR_NOMEM;
            *arr[a] = q;
        }
        c->cap = (uint32_t)cap;
    }
    if (!grow((void **)&c->bytes, &c->cbytes, c->nbytes + n, 1) ||
        !grow((void **)&c->ids, &c->cids, c->nids + k, sizeof *c->ids))
        return LMC_ERR_NOMEM;
    memcpy(c->bytes + c->nbytes, w, n);
    if (k) memcpy(c->ids + c->nids, ids, k * sizeof *ids);
    uint32_t e = c->n++;
    c->hash[e] = h;
    c->woff[e] = (uint32_t)c->nbytes;
    c->wlen[e] = (uint32_t)n;
    c->ioff[e] = (uint32_t)c->nids;
    c->ilen[e] = (uint32_t)k;
    c->nbytes += n;
    c->nids += k;
    uint32_t i = (uint32_t)h & c->mask;
    while (c->slot[i]) i = (i + 1) & c->mask;
    c->slot[i] = (h & 0xFFFFFFFF00000000ull) | (e + 1);
    return LMC_OK;
}
