/* spm.c — SentencePiece BPE (tokenizer.ggml.model = "llama").
 *
 * Spaces become "▁" (and one is put in front of the text when the vocab asks for
 * a prefix space); every UTF-8 character starts as a symbol; then the adjacent
 * pair whose concatenation is the token with the highest score is merged,
 * leftmost first on ties, until no adjacent pair forms a token. A symbol that is
 * not a token at the end comes out as byte-fallback tokens <0xXX> (or the unknown
 * token if the vocab has none). This is the order llama.cpp and SentencePiece use.
 *
 * Speed: a merged symbol is always a token, so a merge can only cross the
 * boundary between characters a and b if "ab" occurs inside some token. The text
 * is cut wherever it does not (in practice before each "▁" that follows a
 * non-space): the chunks are tokenized independently, which gives the same ids
 * with small, cache-friendly heaps, and a repeated chunk is a cache lookup.
 */
#include "vocab-impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- adjacent-character pair set ------------------------------------------ */

static size_t char_len(unsigned c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

static uint64_t pair_key(const char *a, size_t la, const char *b, size_t lb) {
    uint32_t x = 0, y = 0;
    memcpy(&x, a, la);
    memcpy(&y, b, lb);
    return (((uint64_t)x << 32) | y) + 1;
}

static uint32_t pair_slot(uint64_t k, uint32_t mask) { return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & mask; }

/* Index of a "small" character for the bitmap: ASCII, or 128 for "▁"; -1 otherwise. */
static int small_index(const char *c, size_t l) {
    if (l == 1) return (unsigned char)c[0];
    if (l == 3 && memcmp(c, "\xe2\x96\x81", 3) == 0) return 128;
    return -1;
}

static bool pair_in(const lmc_vocab *v, const char *a, size_t la, const char *b, size_t lb) {
    int x = small_index(a, la), y = small_index(b, lb);
    if (x >= 0 && y >= 0) {
        unsigned bit = (unsigned)x * 129u + (unsigned)y;
        return v->cpair_bits[bit >> 3] & (1u << (bit & 7));
    }
    uint64_t k = pair_key(a, la, b, lb);
    for (uint32_t i = pair_slot(k, v->cpairs_mask);; i = (i + 1) & v->cpairs_mask) {
        if (v->cpairs[i] == k) return true;
        if (v->cpairs[i] == 0) return false;
    }
}

static void pair_add(lmc_vocab *v, uint64_t *tab, uint32_t mask, const char *a, size_t la, const char *b, size_t lb) {
    int x = small_index(a, la), y = small_index(b, lb);
    if (x >= 0 && y >= 0) {
        unsigned bit = (unsigned)x * 129u + (unsigned)y;
        v->cpair_bits[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        return;
    }
    uint64_t k = pair_key(a, la, b, lb);
    uint32_t s = pair_slot(k, mask);
    while (tab[s] && tab[s] != k) s = (s + 1) & mask;
    tab[s] = k;
}

int spm_build(lmc_vocab *v) {
    size_t total = 0;
    for (int32_t id = 0; id < v->n_tokens; id++) total += v->text_len[id];
    /* first into a table big enough for every pair, then into one sized for the distinct ones */
    uint32_t cap = 1024;
    while (cap < total * 2 && cap < (1u << 30)) cap <<= 1;
    uint64_t *tmp = calloc(cap, sizeof *tmp);
    if (!tmp) return lmc_set_error(LMC_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t id = 0; id < v->n_tokens; id++) {
        const char *t = v->text[id];
        size_t n = v->text_len[id], i = 0;
        size_t l0 = LMC_MIN(char_len((unsigned char)t[0]), n);
        while (i + l0 < n) {
            size_t j = i + l0, l1 = LMC_MIN(char_len((unsigned char)t[j]), n - j);
            pair_add(v, tmp, cap - 1, t + i, l0, t + j, l1);
            i = j;
            l0 = l1;
        }
    }
    size_t distinct = 0;
    for (uint32_t i = 0; i < cap; i++) distinct += tmp[i] != 0;
    uint32_t cap2 = 64;
    while (cap2 < distinct * 2) cap2 <<= 1;
    v->cpairs = calloc(cap2, sizeof *v->cpairs);
    if (!v->cpairs) {
        free(tmp);
        return lmc_set_error(LMC_ERR_NOMEM, "tokenizer: out of memory");
    }
    v->cpairs_mask = cap2 - 1;
    for (uint32_t i = 0; i < cap; i++) {
        if (!tmp[i]) continue;
        uint32_t s = pair_slot(tmp[i], v->cpairs_mask);
        while (v->cpairs[s]) s = (s + 1) & v->cpairs_mask;
        v->cpairs[s] = tmp[i];
    }
    free(tmp);
    return LMC_OK;
}

/* ---- merging ----------------------------------------------------------------- */

typedef struct spm_bigram {
    float score;
    int32_t left, right;
    uint32_t size;
} spm_bigram;

typedef struct spm_state {
    const lmc_vocab *v;
    const char *s;         /* the chunk */
    uint32_t *start, *len; /* symbol byte ranges in the chunk */
    int32_t *prev, *next;
    spm_bigram *heap;
    size_t nheap, heap_cap;
    wcache wc;
} spm_state;

/* a before b in the queue: higher score first, then the leftmost */
static bool before(const spm_bigram *a, const spm_bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static int push(spm_state *st, spm_bigram g) {
    if (st->nheap == st->heap_cap) {
        size_t cap = st->heap_cap ? st->heap_cap * 2 : 256;
        spm_bigram *h = realloc(st->heap, cap * sizeof *h);
        if (!h) return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
        st->heap = h;
        st->heap_cap = cap;
    }
    size_t i = st->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&g, &st->heap[p])) break;
        st->heap[i] = st->heap[p];
        i = p;
    }
    st->heap[i] = g;
    return LMC_OK;
}

static spm_bigram pop(spm_state *st) {
    spm_bigram top = st->heap[0], last = st->heap[--st->nheap];
    size_t i = 0, n = st->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(&st->heap[c + 1], &st->heap[c])) c++;
        if (!before(&st->heap[c], &last)) break;
        st->heap[i] = st->heap[c];
        i = c;
    }
    if (n) st->heap[i] = last;
    return top;
}

static int try_bigram(spm_state *st, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return LMC_OK;
    uint32_t size = st->len[l] + st->len[r];
    int32_t id = vocab_find(st->v, st->s + st->start[l], size);
    if (id < 0) return LMC_OK;
    spm_bigram g = {st->v->score[id], l, r, size};
    return push(st, g);
}

/* Tokenizes one chunk s[0..m). */
static int spm_chunk(spm_state *st, const char *s, size_t m, tok_out *out) {
    const lmc_vocab *v = st->v;
    int rc;
    st->s = s;
    st->nheap = 0;
    int32_t ns = 0;
    for (size_t off = 0; off < m;) {
        size_t l = LMC_MIN(char_len((unsigned char)s[off]), m - off);
        st->start[ns] = (uint32_t)off;
        st->len[ns] = (uint32_t)l;
        st->prev[ns] = ns - 1;
        off += l;
        st->next[ns] = off == m ? -1 : ns + 1;
        ns++;
    }
    for (int32_t i = 1; i < ns; i++)
        if ((rc = try_bigram(st, i - 1, i))) return rc;
    while (st->nheap) {
        spm_bigram g = pop(st);
        uint32_t *L = st->len;
        if (L[g.left] == 0 || L[g.right] == 0 || L[g.left] + L[g.right] != g.size) continue; /* stale */
        L[g.left] += L[g.right];
        L[g.right] = 0;
        int32_t nx = st->next[g.right];
        st->next[g.left] = nx;
        if (nx >= 0) st->prev[nx] = g.left;
        if ((rc = try_bigram(st, st->prev[g.left], g.left)) || (rc = try_bigram(st, g.left, nx))) return rc;
    }
    for (int32_t i = 0; i >= 0; i = st->next[i]) {
        int32_t id = vocab_find(v, s + st->start[i], st->len[i]);
        if (id >= 0) {
            if ((rc = tok_out_push(out, id))) return rc;
            continue;
        }
        for (uint32_t k = 0; k < st->len[i]; k++) {
            uint8_t b = (uint8_t)s[st->start[i] + k];
            int32_t t = v->byte_tok[b] >= 0 ? v->byte_tok[b] : v->unk;
            if (t < 0)
                return lmc_set_error(LMC_ERR_NOT_FOUND,
                                     "tokenize: byte 0x%02X has no token (no <0x%02X> byte-fallback token and no unknown token)",
                                     b, b);
            if ((rc = tok_out_push(out, t))) return rc;
        }
    }
    return LMC_OK;
}

static int chunk_cached(spm_state *st, const char *s, size_t m, tok_out *out) {
    if (!st->wc.slot || m > WCACHE_MAX_LEN) return spm_chunk(st, s, m, out);
    uint64_t h = tok_hash(s, m);
    const int32_t *ids;
    uint32_t k;
    if (wcache_get(&st->wc, h, s, m, &ids, &k)) return tok_out_append(out, ids, k);
    int64_t start = out->n;
    int rc = spm_chunk(st, s, m, out);
    if (rc) return rc;
    if (wcache_put(&st->wc, h, s, m, out->n > start ? out->ids + start : NULL, (size_t)(out->n - start)))
        return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
    return LMC_OK;
}

int spm_tokenize(const lmc_vocab *v, const char *text, size_t len, bool prefix_space, tok_out *out) {
    return spm_tokenize_ex(v, text, len, prefix_space, false, out);
}

int spm_tokenize_ex(const lmc_vocab *v, const char *text, size_t len, bool prefix_space, bool whole, tok_out *out) {
    /* escape: ' ' -> U+2581 (3 bytes) */
    size_t spaces = prefix_space ? 1 : 0;
    for (size_t i = 0; i < len; i++) spaces += text[i] == ' ';
    size_t n = len + 2 * spaces + (prefix_space ? 1 : 0);
    if (n == 0) return LMC_OK;
    if (n > UINT32_MAX / 2) return lmc_set_error(LMC_ERR_LIMIT, "tokenize: text of %zu bytes is too long", len);
    spm_state st = {.v = v};
    char *s = malloc(n);
    st.start = malloc(n * sizeof *st.start);
    st.len = malloc(n * sizeof *st.len);
    st.prev = malloc(n * sizeof *st.prev);
    st.next = malloc(n * sizeof *st.next);
    int rc = LMC_OK;
    if (!s || !st.start || !st.len || !st.prev || !st.next || wcache_init(&st.wc, whole ? 0 : len) != LMC_OK) {
        rc = lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
        goto done;
    }
    size_t m = 0;
    if (prefix_space) memcpy(s, "\xe2\x96\x81", 3), m = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ')
            memcpy(s + m, "\xe2\x96\x81", 3), m += 3;
        else
            s[m++] = text[i];
    }
    /* cut where no token spans the character boundary */
    size_t cstart = 0, i = 0, li = LMC_MIN(char_len((unsigned char)s[0]), m);
    while (!whole && i + li < m) {
        size_t j = i + li, lj = LMC_MIN(char_len((unsigned char)s[j]), m - j);
        if (!pair_in(v, s + i, li, s + j, lj)) {
            if ((rc = chunk_cached(&st, s + cstart, j - cstart, out))) goto done;
            cstart = j;
        }
        i = j;
        li = lj;
    }
    rc = chunk_cached(&st, s + cstart, m - cstart, out);
done:
    free(s);
    free(st.start);
    free(st.len);
    free(st.prev);
    free(st.next);
    free(st.heap);
    wcache_free(&st.wc);
    return rc;
}
