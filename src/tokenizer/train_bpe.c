/* train_bpe.c — training a byte-level BPE tokenizer (GPT-2 style) on text files.
 *
 * The procedure is Hugging Face `tokenizers`' BpeTrainer with a ByteLevel
 * pre-tokenizer, so both give the same merges for the same corpus and settings:
 *   - each file is read line by line (the '\n' stays on its line) and every line is
 *     split by the pre-tokenizer's regexes (GPT-2's by default) into words;
 *   - words are sequences of byte symbols; the initial alphabet is all 256 bytes,
 *     numbered in the order of the code points GPT-2's byte-to-unicode map gives them,
 *     after the special tokens;
 *   - repeatedly, the most frequent adjacent pair (counted over words weighted by
 *     their frequency) becomes a new symbol, ties going to the pair with the smaller
 *     (left id, right id); merges stop at the vocabulary size, or when the best pair
 *     occurs fewer than min_frequency times.
 * The result is written as a vocab-only GGUF (tokenizer.ggml.model "gpt2") that
 * lmc_vocab_load reads like any other byte-level BPE vocabulary. */
#include "vocab-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a string -> count table of words ----------------------------------------- */

typedef struct {
    uint64_t *hash;
    uint32_t *off, *len; /* into bytes */
    int64_t *count;
    uint32_t *slot;      /* entry + 1, 0 = empty */
    uint32_t mask, n, cap;
    char *bytes;
    size_t nbytes, cbytes;
} word_table;

static uint64_t fnv(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

static int wt_grow(word_table *t) {
    uint32_t cap = t->cap ? t->cap * 2 : 4096;
    uint64_t *h = realloc(t->hash, cap * sizeof *h);
    if (h) t->hash = h;
    uint32_t *o = realloc(t->off, cap * sizeof *o);
    if (o) t->off = o;
    uint32_t *l = realloc(t->len, cap * sizeof *l);
    if (l) t->len = l;
    int64_t *c = realloc(t->count, cap * sizeof *c);
    if (c) t->count = c;
    uint32_t *slot = calloc((size_t)cap * 2, sizeof *slot);
    if (!h || !o || !l || !c || !slot) {
        free(slot);
        return lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
    }
    free(t->slot);
    t->slot = slot;
    t->mask = cap * 2 - 1;
    t->cap = cap;
    for (uint32_t e = 0; e < t->n; e++) {
        uint32_t i = (uint32_t)t->hash[e] & t->mask;
        while (t->slot[i]) i = (i + 1) & t->mask;
        t->slot[i] = e + 1;
    }
    return LMC_OK;
}

static int wt_add(word_table *t, const char *w, size_t n) {
    if (n == 0) return LMC_OK;
    if (n > UINT32_MAX) return lmc_set_error(LMC_ERR_LIMIT, "tokenizer training: a word of %zu bytes", n);
    uint64_t h = fnv(w, n);
    if (t->cap) {
        for (uint32_t i = (uint32_t)h & t->mask; t->slot[i]; i = (i + 1) & t->mask) {
            uint32_t e = t->slot[i] - 1;
            if (t->hash[e] == h && t->len[e] == n && memcmp(t->bytes + t->off[e], w, n) == 0) {
                t->count[e]++;
                return LMC_OK;
            }
        }
    }
    if (t->n >= t->cap) { /* the slot table is twice as large: load <= 1/2 */
        int rc = wt_grow(t);
        if (rc) return rc;
    }
    if (t->nbytes + n > t->cbytes) {
        size_t c = (t->cbytes + n) * 2;
        char *b = realloc(t->bytes, c);
        if (!b) return lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
        t->bytes = b;
        t->cbytes = c;
    }
    if (t->nbytes > UINT32_MAX - n) return lmc_set_error(LMC_ERR_LIMIT, "tokenizer training: more than 4 GiB of distinct words");
    uint32_t e = t->n++;
    memcpy(t->bytes + t->nbytes, w, n);
    t->hash[e] = h;
    t->off[e] = (uint32_t)t->nbytes;
    t->len[e] = (uint32_t)n;
    t->count[e] = 1;
    t->nbytes += n;
    uint32_t i = (uint32_t)h & t->mask;
    while (t->slot[i]) i = (i + 1) & t->mask;
    t->slot[i] = e + 1;
    return LMC_OK;
}

static void wt_free(word_table *t) {
    free(t->hash), free(t->off), free(t->len), free(t->count), free(t->slot), free(t->bytes);
    memset(t, 0, sizeof *t);
}

static int add_word_cb(const char *w, size_t n, void *ud) { return wt_add(ud, w, n); }

/* ---- pair counts, where each pair occurs, and a lazy max-heap ----------------------- */

typedef struct {
    uint64_t key;    /* (a << 32 | b) + 1, 0 = empty slot */
    int64_t count;   /* weighted occurrences now           */
    uint32_t *where; /* words that contained it (may be stale or repeated) */
    uint32_t n_where, cap_where;
} bpe_pair;

typedef struct {
    bpe_pair *e;
    uint32_t mask, n;
} bpe_pair_table;

typedef struct {
    int64_t count;
    uint64_t key;
} bpe_heap_item;

typedef struct {
    bpe_heap_item *h;
    size_t n, cap;
} bpe_pair_heap;

static uint64_t pair_key(int32_t a, int32_t b) { return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1; }

static int pt_init(bpe_pair_table *p, size_t min_entries) {
    uint32_t cap = 1024;
    while (cap < min_entries * 2) cap <<= 1;
    p->e = calloc(cap, sizeof *p->e);
    p->mask = cap - 1;
    p->n = 0;
    if (!p->e) return lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
    return LMC_OK;
}

static uint32_t pt_slot(const bpe_pair_table *p, uint64_t k) {
    uint32_t i = (uint32_t)((k * 0x9E3779B97F4A7C15ULL) >> 32) & p->mask;
    while (p->e[i].key && p->e[i].key != k) i = (i + 1) & p->mask;
    return i;
}

/* The entry of a pair, inserted if new; NULL when out of memory. */
static bpe_pair *pt_get(bpe_pair_table *p, uint64_t k) {
    uint32_t i = pt_slot(p, k);
    if (p->e[i].key) return &p->e[i];
    if ((p->n + 1) * 2 > p->mask + 1) { /* keep the load under 1/2 */
        bpe_pair_table q;
        if (pt_init(&q, (size_t)p->mask + 1)) return NULL;
        for (uint32_t j = 0; j <= p->mask; j++)
            if (p->e[j].key) q.e[pt_slot(&q, p->e[j].key)] = p->e[j];
        q.n = p->n;
        free(p->e);
        *p = q;
        i = pt_slot(p, k);
    }
    p->e[i].key = k;
    p->n++;
    return &p->e[i];
}

static int pe_note_word(bpe_pair *e, uint32_t w) {
    if (e->n_where && e->where[e->n_where - 1] == w) return LMC_OK;
    if (e->n_where == e->cap_where) {
        uint32_t cap = e->cap_where ? e->cap_where * 2 : 4;
        uint32_t *nw = realloc(e->where, cap * sizeof *nw);
        if (!nw) return lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
        e->where = nw;
        e->cap_where = cap;
    }
    e->where[e->n_where++] = w;
    return LMC_OK;
}

static void pt_free(bpe_pair_table *p) {
    for (uint32_t j = 0; p->e && j <= p->mask; j++) free(p->e[j].where);
    free(p->e);
    memset(p, 0, sizeof *p);
}

/* heap order: larger count first, then the smaller pair (as Hugging Face's trainer) */
static bool heap_before(bpe_heap_item x, bpe_heap_item y) { return x.count != y.count ? x.count > y.count : x.key < y.key; }

static int heap_push(bpe_pair_heap *q, int64_t count, uint64_t key) {
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        bpe_heap_item *h = realloc(q->h, cap * sizeof *h);
        if (!h) return lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
        q->h = h;
        q->cap = cap;
    }
    size_t i = q->n++;
    q->h[i] = (bpe_heap_item){count, key};
    while (i > 0 && heap_before(q->h[i], q->h[(i - 1) / 2])) {
        bpe_heap_item t = q->h[i];
        q->h[i] = q->h[(i - 1) / 2];
        q->h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return LMC_OK;
}

static bpe_heap_item heap_pop(bpe_pair_heap *q) {
    bpe_heap_item top = q->h[0];
    q->h[0] = q->h[--q->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->n && heap_before(q->h[l], q->h[m])) m = l;
        if (r < q->n && heap_before(q->h[r], q->h[m])) m = r;
        if (m == i) break;
        bpe_heap_item t = q->h[i];
        q->h[i] = q->h[m];
        q->h[m] = t;
        i = m;
    }
    return top;
}

/* Adds sign * count(w) for every adjacent pair of word w (and notes w for each). */
static int count_word_pairs(bpe_pair_table *pt, const int32_t *s, uint32_t n, uint32_t w, int64_t c) {
    for (uint32_t i = 0; i + 1 < n; i++) {
        bpe_pair *e = pt_get(pt, pair_key(s[i], s[i + 1]));
        if (!e) return LMC_ERR_NOMEM;
        e->count += c;
        if (c > 0 && pe_note_word(e, w)) return LMC_ERR_NOMEM;
    }
    return LMC_OK;
}

/* ---- training -------------------------------------------------------------------- */

lmc_bpe_train_params lmc_bpe_train_default_params(void) {
    lmc_bpe_train_params p = {.vocab_size = 8192, .min_frequency = 2, .pre = "gpt-2"};
    return p;
}

/* The UTF-8 of a symbol in GPT-2's byte-level alphabet: each byte mapped. */
static char *mapped(const uint8_t *b, size_t n) {
    char *s = malloc(n * 2 + 1);
    if (!s) return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += (size_t)tok_byte_to_utf8(b[i], s + m);
    s[m] = 0;
    return s;
}

static uint32_t first_cp(const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) return u[0];
    return ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F); /* the map only makes 1-2 byte characters */
}

int lmc_bpe_train(const char *const *files, int n_files, const lmc_bpe_train_params *p, const char *out_path) {
    if (!files || n_files <= 0 || !p || !out_path)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "tokenizer training: no corpus files or no output path");
    const int n_special = p->n_special > 0 ? p->n_special : 0;
    if (p->vocab_size < n_special + 256)
        return lmc_set_error(LMC_ERR_INVALID_ARG,
                             "tokenizer training: vocab size %d is below the %d special tokens + 256 byte symbols",
                             p->vocab_size, n_special);
    int clean = 0, ignore = 0;
    pretok *pt = pretok_create(p->pre ? p->pre : "gpt-2", &clean, &ignore);
    if (!pt) return LMC_ERR_UNSUPPORTED;

    /* 1. words and their counts, line by line */
    word_table wt = {0};
    int rc = LMC_OK;
    int64_t n_bytes_total = 0;
    for (int f = 0; f < n_files && !rc; f++) {
        char *text = NULL;
        size_t len = 0;
        if ((rc = lmc_read_file(files[f], &text, &len))) break;
        size_t bad = tok_utf8_check(text, len);
        if (bad < len) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: invalid UTF-8 at byte %zu", files[f], bad);
            free(text);
            break;
        }
        n_bytes_total += (int64_t)len;
        for (size_t i = 0; i < len && !rc;) {
            const char *nl = memchr(text + i, '\n', len - i);
            size_t e = nl ? (size_t)(nl - text) + 1 : len;
            rc = pretok_split(pt, text + i, e - i, add_word_cb, &wt);
            i = e;
        }
        free(text);
        if (p->progress) p->progress(p->user, f + 1, n_files + (int64_t)p->vocab_size);
    }
    pretok_free(pt);
    if (!rc && wt.n == 0) rc = lmc_set_error(LMC_ERR_FORMAT, "tokenizer training: the corpus has no text (%lld bytes)",
                                             (long long)n_bytes_total);

    /* 2. symbols: specials, then the 256 bytes in code-point order of their mapping */
    const int32_t max_syms = p->vocab_size;
    uint8_t **sym_bytes = calloc((size_t)max_syms, sizeof *sym_bytes);
    uint32_t *sym_len = calloc((size_t)max_syms, sizeof *sym_len);
    int32_t byte_sym[256];
    int32_t *word_syms = NULL;   /* all words' symbols, concatenated */
    uint32_t *word_start = NULL; /* [n + 1] */
    char **merges = NULL;
    int32_t n_sym = n_special, n_merges = 0;
    bpe_pair_table pairs = {0};
    if (!rc && (!sym_bytes || !sym_len)) rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
    if (!rc) {
        uint32_t order[256];
        for (int b = 0; b < 256; b++) {
            char e[2];
            int k = tok_byte_to_utf8((uint8_t)b, e);
            char z[3] = {e[0], k > 1 ? e[1] : 0, 0};
            order[b] = first_cp(z) << 8 | (uint32_t)b;
        }
        /* insertion sort by code point: 256 entries */
        for (int i = 1; i < 256; i++)
            for (int j = i; j > 0 && order[j - 1] > order[j]; j--) {
                uint32_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        for (int i = 0; i < 256; i++) {
            const int b = (int)(order[i] & 0xFF);
            byte_sym[b] = n_sym;
            sym_bytes[n_sym] = malloc(1);
            if (!sym_bytes[n_sym]) {
                rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
                break;
            }
            sym_bytes[n_sym][0] = (uint8_t)b;
            sym_len[n_sym] = 1;
            n_sym++;
        }
    }
    if (!rc) {
        word_start = malloc(((size_t)wt.n + 1) * sizeof *word_start);
        word_syms = malloc((wt.nbytes ? wt.nbytes : 1) * sizeof *word_syms);
        merges = calloc((size_t)max_syms, sizeof *merges);
        if (!word_start || !word_syms || !merges) rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
    }
    if (!rc) {
        uint32_t k = 0;
        for (uint32_t w = 0; w < wt.n; w++) {
            word_start[w] = k;
            for (uint32_t i = 0; i < wt.len[w]; i++) word_syms[k++] = byte_sym[(uint8_t)wt.bytes[wt.off[w] + i]];
        }
        word_start[wt.n] = k;
        rc = pt_init(&pairs, wt.nbytes + 16);
    }
    uint32_t *wlen = NULL; /* current symbol count of each word (words shrink in place) */
    if (!rc) {
        wlen = malloc(((size_t)wt.n + 1) * sizeof *wlen);
        if (!wlen) rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
        for (uint32_t w = 0; !rc && w < wt.n; w++) wlen[w] = word_start[w + 1] - word_start[w];
    }

    /* 3. merges: pair counts are updated only in the words a merge touches, and the
     * best pair comes from a lazy max-heap (an entry whose count went stale is pushed
     * back with the current count), as Hugging Face's trainer does */
    bpe_pair_heap heap = {0};
    uint32_t *stamp = NULL; /* last merge that rewrote each word */
    if (!rc) {
        stamp = calloc((size_t)wt.n + 1, sizeof *stamp);
        if (!stamp) rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
    }
    for (uint32_t w = 0; !rc && w < wt.n; w++)
        rc = count_word_pairs(&pairs, word_syms + word_start[w], wlen[w], w, wt.count[w]);
    for (uint32_t j = 0; !rc && j <= pairs.mask; j++)
        if (pairs.e[j].key && pairs.e[j].count > 0) rc = heap_push(&heap, pairs.e[j].count, pairs.e[j].key);
    uint32_t iter = 0;
    while (!rc && n_sym < max_syms && heap.n > 0) {
        bpe_heap_item top = heap_pop(&heap);
        bpe_pair *pe = &pairs.e[pt_slot(&pairs, top.key)];
        if (pe->count != top.count) { /* stale: requeue with what it is now */
            if (pe->count > 0) rc = heap_push(&heap, pe->count, top.key);
            continue;
        }
        if (top.count <= 0 || top.count < p->min_frequency) break;
        const int32_t a = (int32_t)((top.key - 1) >> 32), b = (int32_t)((top.key - 1) & 0xFFFFFFFFu);
        const int32_t id = n_sym;
        sym_len[id] = sym_len[a] + sym_len[b];
        sym_bytes[id] = malloc(sym_len[id]);
        char *ma = mapped(sym_bytes[a], sym_len[a]), *mb = mapped(sym_bytes[b], sym_len[b]);
        if (!sym_bytes[id] || !ma || !mb) {
            free(ma), free(mb);
            rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
            break;
        }
        memcpy(sym_bytes[id], sym_bytes[a], sym_len[a]);
        memcpy(sym_bytes[id] + sym_len[a], sym_bytes[b], sym_len[b]);
        merges[n_merges] = malloc(strlen(ma) + strlen(mb) + 2);
        if (merges[n_merges]) sprintf(merges[n_merges], "%s %s", ma, mb);
        free(ma), free(mb);
        if (!merges[n_merges]) {
            rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
            break;
        }
        n_merges++;
        n_sym++;
        iter++;
        /* rewrite the words that contain the pair: their old pairs out, new pairs in;
         * the where-list is detached first because new pairs may grow the table */
        uint32_t *where = pe->where, n_where = pe->n_where;
        pe->where = NULL, pe->n_where = pe->cap_where = 0;
        for (uint32_t k = 0; !rc && k < n_where; k++) {
            const uint32_t w = where[k];
            if (stamp[w] == iter) continue;
            stamp[w] = iter;
            int32_t *s = word_syms + word_start[w];
            bool has = false;
            for (uint32_t i = 0; i + 1 < wlen[w] && !has; i++) has = s[i] == a && s[i + 1] == b;
            if (!has) continue; /* stale entry */
            if ((rc = count_word_pairs(&pairs, s, wlen[w], w, -wt.count[w]))) break;
            uint32_t j = 0;
            for (uint32_t i = 0; i < wlen[w];) {
                if (i + 1 < wlen[w] && s[i] == a && s[i + 1] == b) {
                    s[j++] = id;
                    i += 2;
                } else {
                    s[j++] = s[i++];
                }
            }
            wlen[w] = j;
            if ((rc = count_word_pairs(&pairs, s, wlen[w], w, wt.count[w]))) break;
            for (uint32_t i = 0; i + 1 < j; i++) /* pairs with the new symbol enter the heap */
                if (s[i] == id || s[i + 1] == id) {
                    bpe_pair *ne = &pairs.e[pt_slot(&pairs, pair_key(s[i], s[i + 1]))];
                    if ((rc = heap_push(&heap, ne->count, ne->key))) break;
                }
        }
        free(where);
        if (p->progress) p->progress(p->user, n_files + n_sym, n_files + (int64_t)p->vocab_size);
    }
    free(heap.h);
    free(stamp);

    /* 4. the GGUF vocabulary */
    if (!rc) {
        char **toks = calloc((size_t)n_sym, sizeof *toks);
        int32_t *types = calloc((size_t)n_sym, sizeof *types);
        if (!toks || !types) rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
        for (int32_t i = 0; !rc && i < n_sym; i++) {
            if (i < n_special) {
                toks[i] = strdup(p->special[i]);
                types[i] = 3; /* control */
            } else {
                toks[i] = mapped(sym_bytes[i], sym_len[i]);
                types[i] = 1; /* normal */
            }
            if (!toks[i]) rc = lmc_set_error(LMC_ERR_NOMEM, "tokenizer training: out of memory");
        }
        lmc_gguf_writer *w = rc ? NULL : lmc_gguf_writer_init();
        if (!rc && !w) rc = LMC_ERR_NOMEM;
        if (!rc) {
            char name[64];
            snprintf(name, sizeof name, "bpe-%d", n_sym);
            if ((rc = lmc_gguf_writer_set_str(w, "general.name", name)) ||
                (rc = lmc_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2")) ||
                (rc = lmc_gguf_writer_set_str(w, "tokenizer.ggml.pre", p->pre ? p->pre : "gpt-2")) ||
                (rc = lmc_gguf_writer_set_array_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, (uint64_t)n_sym)) ||
                (rc = lmc_gguf_writer_set_array(w, "tokenizer.ggml.token_type", LMC_GGUF_INT32, types, (uint64_t)n_sym)) ||
                (rc = lmc_gguf_writer_set_array_str(w, "tokenizer.ggml.merges", (const char *const *)merges,
                                                    (uint64_t)n_merges)) ||
                (rc = lmc_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false))) {
                /* rc says which failed */
            }
            if (!rc && n_special > 0) {
                /* the first special token ends a document (as <|endoftext|> does for GPT-2) */
                if ((rc = lmc_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 0)) ||
                    (rc = lmc_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 0))) {
                    /* rc says which failed */
                }
            }
            if (!rc) rc = lmc_gguf_writer_write(w, out_path);
        }
        lmc_gguf_writer_free(w);
        for (int32_t i = 0; toks && i < n_sym; i++) free(toks[i]);
        free(toks);
        free(types);
    }

    for (int32_t i = 0; sym_bytes && i < max_syms; i++) free(sym_bytes[i]);
    for (int32_t i = 0; merges && i < max_syms; i++) free(merges[i]);
    free(sym_bytes), free(sym_len), free(merges), free(word_syms), free(word_start), free(wlen);
    pt_free(&pairs);
    wt_free(&wt);
    return rc;
}
