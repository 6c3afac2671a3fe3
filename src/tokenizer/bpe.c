/* bpe.c — byte-level BPE (tokenizer.ggml.model = "gpt2").
 *
 * Text is cut into words by the pre-tokenizer (pretok.c). Each byte of a word
 * starts as one symbol (its character in GPT-2's byte alphabet); then the
 * adjacent pair with the lowest merge rank is merged, leftmost first, until no
 * pair has a rank: the same order as Hugging Face and llama.cpp. Symbols are
 * ids, and merges are a hash of (left id, right id) -> (rank, merged id), so a
 * merge is one lookup, never a string compare. A priority queue keeps a word of
 * n bytes at O(n log n), and a per-call cache makes a repeated word one lookup.
 *
 * Strings named by merges that are not tokens get "virtual" ids >= n_tokens, so
 * even a vocab whose merges pass through non-tokens is tokenized exactly as the
 * string-based reference does.
 */
#include "vocab-impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- building ------------------------------------------------------------ */

typedef struct intern {
    char *arena;
    size_t arena_len, arena_cap;
    uint32_t *off, *len;
    int32_t n, cap;
    int32_t *slot;
    uint32_t mask;
} intern;

static int32_t intern_find(const intern *t, const char *s, size_t n) {
    if (!t->slot) return -1;
    uint32_t i = (uint32_t)tok_hash(s, n) & t->mask;
    for (;;) {
        int32_t e = t->slot[i];
        if (!e) return -1;
        e--;
        if (t->len[e] == n && memcmp(t->arena + t->off[e], s, n) == 0) return e;
        i = (i + 1) & t->mask;
    }
}

static int intern_rehash(intern *t, uint32_t cap) {
    int32_t *slot = calloc(cap, sizeof *slot);
    if (!slot) return LMC_ERR_NOMEM;
    for (int32_t e = 0; e < t->n; e++) {
        uint32_t i = (uint32_t)tok_hash(t->arena + t->off[e], t->len[e]) & (cap - 1);
        while (slot[i]) i = (i + 1) & (cap - 1);
        slot[i] = e + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->mask = cap - 1;
    return LMC_OK;
}

/* Id of s: a token, or a virtual id (created on first use). */
static int32_t sym_id(lmc_vocab *v, intern *t, const char *s, size_t n) {
    int32_t id = vocab_find(v, s, n);
    if (id >= 0) return id;
    id = intern_find(t, s, n);
    if (id >= 0) return v->n_tokens + id;
    if (!t->slot || (uint32_t)(t->n + 1) * 2 > t->mask + 1)
        if (intern_rehash(t, t->slot ? (t->mask + 1) * 2 : 1024) != LMC_OK) return -1;
    if (t->n == t->cap) {
        int32_t cap = t->cap ? t->cap * 2 : 256;
        uint32_t *o = realloc(t->off, (size_t)cap * sizeof *o);
        if (!o) return -1;
        t->off = o;
        uint32_t *l = realloc(t->len, (size_t)cap * sizeof *l);
        if (!l) return -1;
        t->len = l;
        t->cap = cap;
    }
    if (t->arena_len + n + 1 > t->arena_cap) {
        size_t cap = (t->arena_cap ? t->arena_cap * 2 : 4096) + n + 1;
        char *a = realloc(t->arena, cap);
        if (!a) return -1;
        t->arena = a;
        t->arena_cap = cap;
    }
    memcpy(t->arena + t->arena_len, s, n);
    t->arena[t->arena_len + n] = 0;
    t->off[t->n] = (uint32_t)t->arena_len;
    t->len[t->n] = (uint32_t)n;
    t->arena_len += n + 1;
    uint32_t i = (uint32_t)tok_hash(s, n) & t->mask;
    while (t->slot[i]) i = (i + 1) & t->mask;
    t->slot[i] = t->n + 1;
    return v->n_tokens + t->n++;
}

static void intern_free(intern *t) {
    free(t->arena);
    free(t->off);
    free(t->len);
    free(t->slot);
}

int bpe_build(lmc_vocab *v, const lmc_gguf_value *mv) {
    if (lmc_gguf_value_type(mv) != LMC_GGUF_ARRAY || lmc_gguf_array_type(mv) != LMC_GGUF_STRING)
        return lmc_set_error(LMC_ERR_TYPE, "tokenizer: tokenizer.ggml.merges must be an array of strings");
    uint64_t nm = lmc_gguf_array_len(mv);
    if (nm > (1u << 28)) return lmc_set_error(LMC_ERR_LIMIT, "tokenizer: %llu merges is too many", (unsigned long long)nm);
    intern t = {0};
    int rc = LMC_OK;
    char *buf = NULL;
    size_t buf_cap = 0;

    for (int b = 0; b < 256; b++) {
        char e[2];
        int n = tok_byte_to_utf8((uint8_t)b, e);
        if ((v->byte_sym[b] = sym_id(v, &t, e, (size_t)n)) < 0) goto nomem;
    }
    uint32_t cap = 16;
    while (cap < nm * 2 + 2) cap <<= 1;
    pair_map *m = &v->merges;
    m->e = calloc(cap, sizeof *m->e);
    if (!m->e) goto nomem;
    m->mask = cap - 1;

    for (uint64_t i = 0; i < nm; i++) {
        lmc_str s = lmc_gguf_array_str(mv, i);
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', (size_t)s.len - 1) : NULL;
        if (!sp || sp + 1 == s.ptr + s.len) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "tokenizer: merge %llu (\"%.*s\") is not two symbols separated by a space",
                               (unsigned long long)i, (int)LMC_MIN(s.len, 64u), s.ptr);
            goto done;
        }
        size_t nl = (size_t)(sp - s.ptr), nr = (size_t)s.len - nl - 1;
        if (nl + nr > buf_cap) {
            buf_cap = (nl + nr) * 2;
            char *nb = realloc(buf, buf_cap);
            if (!nb) goto nomem;
            buf = nb;
        }
        memcpy(buf, s.ptr, nl);
        memcpy(buf + nl, sp + 1, nr);
        int32_t l = sym_id(v, &t, s.ptr, nl), r = sym_id(v, &t, sp + 1, nr), res = sym_id(v, &t, buf, nl + nr);
        if (l < 0 || r < 0 || res < 0) goto nomem;
        uint64_t k = (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1;
        uint32_t h = (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & m->mask;
        while (m->e[h].key && m->e[h].key != k) h = (h + 1) & m->mask;
        if (m->e[h].key) continue; /* a repeated pair keeps its first (lowest) rank */
        m->e[h] = (pair_entry){k, (int32_t)i, res};
    }

    /* Texts of virtual symbols follow the tokens' in v->text. */
    v->n_virtual = t.n;
    if (t.n) {
        const char **text = realloc((void *)v->text, ((size_t)v->n_tokens + (size_t)t.n) * sizeof *text);
        if (!text) goto nomem;
        v->text = text;
        uint32_t *tl = realloc(v->text_len, ((size_t)v->n_tokens + (size_t)t.n) * sizeof *tl);
        if (!tl) goto nomem;
        v->text_len = tl;
        v->map.key = v->text;
        v->map.key_len = v->text_len;
        v->virtual_arena = t.arena;
        t.arena = NULL;
        for (int32_t e = 0; e < t.n; e++) {
            v->text[v->n_tokens + e] = v->virtual_arena + t.off[e];
            v->text_len[v->n_tokens + e] = t.len[e];
        }
    }
    goto done;
nomem:
    rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer: out of memory while reading merges");
done:
    free(buf);
    intern_free(&t);
    return rc;
}

/* ---- tokenizing ---------------------------------------------------------- */

typedef struct bigram {
    int32_t rank, left, right, lid, rid;
} bigram;

struct bpe_session {
    const lmc_vocab *v;
    int32_t *sym, *prev, *next;
    size_t cap;
    bigram *heap;
    size_t nheap, heap_cap;
    char *enc;
    size_t enc_cap;
    tok_out tmp;
    wcache wc;
    tok_out *out;
};

bpe_session *bpe_session_init(const lmc_vocab *v, size_t text_len) {
    bpe_session *s = calloc(1, sizeof *s);
    if (!s) return lmc_set_error_null(LMC_ERR_NOMEM, "tokenize: out of memory");
    s->v = v;
    if (wcache_init(&s->wc, text_len) != LMC_OK) {
        free(s);
        return lmc_set_error_null(LMC_ERR_NOMEM, "tokenize: out of memory");
    }
    return s;
}

void bpe_session_free(bpe_session *s) {
    if (!s) return;
    free(s->sym);
    free(s->prev);
    free(s->next);
    free(s->heap);
    free(s->enc);
    free(s->tmp.ids);
    wcache_free(&s->wc);
    free(s);
}

static bool heap_less(const bigram *a, const bigram *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int heap_push(bpe_session *s, bigram g) {
    if (s->nheap == s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
        bigram *h = realloc(s->heap, cap * sizeof *h);
        if (!h) return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
        s->heap = h;
        s->heap_cap = cap;
    }
    size_t i = s->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&g, &s->heap[p])) break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = g;
    return LMC_OK;
}

static bigram heap_pop(bpe_session *s) {
    bigram top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0, n = s->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_less(&s->heap[c + 1], &s->heap[c])) c++;
        if (!heap_less(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

static int try_pair(bpe_session *s, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return LMC_OK;
    int32_t rank, res;
    if (!pair_find(&s->v->merges, s->sym[l], s->sym[r], &rank, &res)) return LMC_OK;
    bigram g = {rank, l, r, s->sym[l], s->sym[r]};
    return heap_push(s, g);
}

/* Emits symbol id: a token, or (virtual) the 1-byte tokens of its text's bytes. */
static int emit(const lmc_vocab *v, int32_t id, tok_out *out) {
    if (id < v->n_tokens) return tok_out_push(out, id);
    const unsigned char *t = (const unsigned char *)v->text[id];
    for (uint32_t k = 0; k < v->text_len[id]; k++)
        if (v->byte_tok1[t[k]] >= 0 && tok_out_push(out, v->byte_tok1[t[k]]) != LMC_OK) return LMC_ERR_NOMEM;
    return LMC_OK;
}

static int bpe_word(bpe_session *s, const unsigned char *w, size_t n, tok_out *out) {
    const lmc_vocab *v = s->v;
    if (v->ignore_merges) {
        /* a word that is a token as a whole is taken as is (LLaMA 3) */
        if (n * 2 > s->enc_cap) {
            char *e = realloc(s->enc, n * 2);
            if (!e) return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
            s->enc = e;
            s->enc_cap = n * 2;
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++) m += (size_t)tok_byte_to_utf8(w[i], s->enc + m);
        int32_t id = vocab_find(v, s->enc, m);
        if (id >= 0) return tok_out_push(out, id);
    }
    if (n > s->cap) {
        size_t cap = n < 64 ? 64 : n;
        int32_t *a = realloc(s->sym, cap * sizeof *a), *b, *c;
        if (!a) goto nomem;
        s->sym = a;
        if (!(b = realloc(s->prev, cap * sizeof *b))) goto nomem;
        s->prev = b;
        if (!(c = realloc(s->next, cap * sizeof *c))) goto nomem;
        s->next = c;
        s->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        s->sym[i] = v->byte_sym[w[i]];
        s->prev[i] = (int32_t)i - 1;
        s->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    s->nheap = 0;
    for (size_t i = 1; i < n; i++)
        if (try_pair(s, (int32_t)i - 1, (int32_t)i) != LMC_OK) return LMC_ERR_NOMEM;
    while (s->nheap) {
        bigram g = heap_pop(s);
        if (s->sym[g.left] != g.lid || s->sym[g.right] != g.rid) continue; /* stale */
        int32_t rank = 0, res = -1;
        pair_find(&v->merges, g.lid, g.rid, &rank, &res);
        s->sym[g.left] = res;
        s->sym[g.right] = -1;
        int32_t nx = s->next[g.right];
        s->next[g.left] = nx;
        if (nx >= 0) s->prev[nx] = g.left;
        if (try_pair(s, s->prev[g.left], g.left) != LMC_OK || try_pair(s, g.left, nx) != LMC_OK) return LMC_ERR_NOMEM;
    }
    for (int32_t i = 0; i >= 0; i = s->next[i])
        if (emit(v, s->sym[i], out) != LMC_OK) return LMC_ERR_NOMEM;
    return LMC_OK;
nomem:
    return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
}

static int on_word(const char *w, size_t n, void *ud) {
    bpe_session *s = ud;
    tok_out *out = s->out;
    if (!s->wc.slot || n > WCACHE_MAX_LEN) return bpe_word(s, (const unsigned char *)w, n, out);
    uint64_t h = tok_hash(w, n);
    const int32_t *ids;
    uint32_t k;
    if (wcache_get(&s->wc, h, w, n, &ids, &k)) return tok_out_append(out, ids, k);
    int64_t start = out->n;
    int rc = bpe_word(s, (const unsigned char *)w, n, out);
    if (rc) return rc;
    if (wcache_put(&s->wc, h, w, n, out->n > start ? out->ids + start : NULL, (size_t)(out->n - start)) != LMC_OK)
        return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
    return LMC_OK;
}

int bpe_tokenize(bpe_session *s, const char *text, size_t len, tok_out *out) {
    s->out = out;
    return pretok_split(s->v->pt, text, len, on_word, s);
}
