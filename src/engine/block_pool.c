/* block_pool.c — the paged KV cache: one pool of fixed-size blocks (S positions of
 * every layer's K and V rows), reference counted so that sequences can share them,
 * and the prefix cache: a full block is registered under a hash chained over its
 * parent block's hash and its own token ids, so a later sequence with the same
 * prefix finds the same chain of blocks. Unused registered blocks keep their
 * contents in an LRU list and are evicted (oldest first) only when no plain free
 * block is left. Rows are stored as F32 or F16, head-major inside a block (one KV
 * head's S rows together, as attention reads them), or as Q8_0 (one row per position,
 * quantized whole). */
#include "engine-impl.h"

#include <stdlib.h>

size_t lmc_block_pool_bytes_per_token(lmc_type type, int n_layer, int64_t Ckv) {
    return 2 * (size_t)n_layer * lmc_type_row_bytes(type, Ckv);
}

int lmc_block_pool_init(lmc_block_pool *p, int32_t n_blocks, int32_t S, int n_layer, int64_t Ckv, int64_t head_dim,
                        lmc_type type) {
    memset(p, 0, sizeof *p);
    if (type != LMC_TYPE_F32 && type != LMC_TYPE_F16 && type != LMC_TYPE_Q8_0)
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "engine: KV type %s is not supported (use f32, f16 or q8_0)",
                             lmc_type_name(type) ? lmc_type_name(type) : "?");
    if (type == LMC_TYPE_Q8_0 && Ckv % 32 != 0)
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "engine: q8_0 KV needs a K/V row width that is a multiple of 32 (got %lld)",
                             (long long)Ckv);
    if (head_dim <= 0 || Ckv % head_dim)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "engine: K/V rows of %lld are not whole heads of %lld",
                             (long long)Ckv, (long long)head_dim);
    if (n_blocks <= 0 || S <= 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "engine: bad pool size (%d blocks of %d)", n_blocks, S);
    p->S = S;
    p->n_blocks = n_blocks;
    p->type = type;
    p->n_layer = n_layer;
    p->Ckv = Ckv;
    p->head_dim = type == LMC_TYPE_Q8_0 ? Ckv : head_dim; /* Q8_0 rows stay whole: one "head" */
    p->row_bytes = lmc_type_row_bytes(type, Ckv);
    p->n_buckets = 16;
    while (p->n_buckets < 2 * n_blocks) p->n_buckets *= 2;
    uint64_t total;
    if (!lmc_mul_ok((uint64_t)n_layer * (uint64_t)n_blocks * (uint64_t)S, p->row_bytes, &total) ||
        total > ((uint64_t)1 << 40))
        return lmc_set_error(LMC_ERR_LIMIT, "engine: KV pool of %d blocks is too large", n_blocks);
    p->b = calloc((size_t)n_blocks, sizeof *p->b);
    p->buckets = malloc((size_t)p->n_buckets * sizeof *p->buckets);
    /* zeroed on huge pages (attention reads a few KiB here and there all over the pool);
     * every page touched now, so the pool is resident from the start, as llama.cpp clears
     * its KV buffer, and a server's RSS does not creep up for minutes as blocks are first
     * used (a growing RSS means a leak) */
    p->k = lmc_alloc_huge(total, true);
    p->v = lmc_alloc_huge(total, true);
    if (!p->b || !p->buckets || !p->k || !p->v) {
        lmc_block_pool_free(p);
        return lmc_set_error(LMC_ERR_NOMEM, "engine: cannot allocate a KV pool of 2 x %.1f MiB",
                             (double)total / 1048576.0);
    }
    for (int32_t i = 0; i < p->n_buckets; i++) p->buckets[i] = -1;
    /* free list in ascending order: block 0 is handed out first */
    for (int32_t i = 0; i < n_blocks; i++) {
        p->b[i].prev = -1;
        p->b[i].next = i + 1 < n_blocks ? i + 1 : -1;
        p->b[i].ht_next = -1;
    }
    p->free_head = 0;
    p->n_free_plain = n_blocks;
    p->lru_head = p->lru_tail = -1;
    return LMC_OK;
}

void lmc_block_pool_free(lmc_block_pool *p) {
    if (!p) return;
    free(p->b);
    free(p->buckets);
    free(p->k);
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* ---- hash table (buckets chained through ht_next) ------------------------------- */

static int32_t bucket_of(const lmc_block_pool *p, uint64_t h) { return (int32_t)(h & (uint64_t)(p->n_buckets - 1)); }

static void ht_remove(lmc_block_pool *p, int32_t id) {
    int32_t *link = &p->buckets[bucket_of(p, p->b[id].hash)];
    while (*link >= 0 && *link != id) link = &p->b[*link].ht_next;
    if (*link == id) *link = p->b[id].ht_next;
    p->b[id].ht_next = -1;
    p->b[id].hashed = false;
}

int32_t lmc_block_lookup(const lmc_block_pool *p, uint64_t hash) {
    for (int32_t i = p->buckets[bucket_of(p, hash)]; i >= 0; i = p->b[i].ht_next)
        if (p->b[i].hash == hash) return i;
    return -1;
}

void lmc_block_register(lmc_block_pool *p, int32_t id, uint64_t hash) {
    if (p->b[id].hashed || lmc_block_lookup(p, hash) >= 0) return;
    p->b[id].hash = hash;
    p->b[id].hashed = true;
    int32_t bk = bucket_of(p, hash);
    p->b[id].ht_next = p->buckets[bk];
    p->buckets[bk] = id;
}

/* FNV-1a style mixing of 64-bit words, finished with splitmix64's avalanche */
static uint64_t mix(uint64_t h, uint64_t x) {
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

uint64_t lmc_block_hash(uint64_t parent, const int32_t *tokens, int32_t n) {
    uint64_t h = mix(0x6c6d635f6b76ull, parent);
    for (int32_t i = 0; i < n; i++) h = mix(h, (uint64_t)(uint32_t)tokens[i]);
    return h ? h : 1; /* 0 means "no parent" */
}

/* ---- lists --------------------------------------------------------------------- */

static void lru_unlink(lmc_block_pool *p, int32_t id) {
    lmc_kv_block *b = &p->b[id];
    if (b->prev >= 0) p->b[b->prev].next = b->next;
    else p->lru_head = b->next;
    if (b->next >= 0) p->b[b->next].prev = b->prev;
    else p->lru_tail = b->prev;
    b->prev = b->next = -1;
    p->n_cached--;
}

static void lru_push_tail(lmc_block_pool *p, int32_t id) {
    lmc_kv_block *b = &p->b[id];
    b->next = -1;
    b->prev = p->lru_tail;
    if (p->lru_tail >= 0) p->b[p->lru_tail].next = id;
    else p->lru_head = id;
    p->lru_tail = id;
    p->n_cached++;
}

int32_t lmc_block_alloc(lmc_block_pool *p) {
    int32_t id;
    if (p->free_head >= 0) {
        id = p->free_head;
        p->free_head = p->b[id].next;
        p->n_free_plain--;
    } else if (p->lru_head >= 0) {
        id = p->lru_head; /* evict the least recently used cached block */
        lru_unlink(p, id);
        ht_remove(p, id);
        p->n_evicted++;
    } else {
        return -1;
    }
    p->b[id].ref = 1;
    p->b[id].prev = p->b[id].next = -1;
    return id;
}

void lmc_block_retain(lmc_block_pool *p, int32_t id) {
    if (p->b[id].ref == 0) lru_unlink(p, id); /* only cached blocks are found with ref 0 */
    p->b[id].ref++;
}

void lmc_block_release(lmc_block_pool *p, int32_t id) {
    lmc_kv_block *b = &p->b[id];
    if (--b->ref > 0) return;
    if (b->hashed) {
        lru_push_tail(p, id);
    } else {
        b->prev = -1;
        b->next = p->free_head;
        p->free_head = id;
        p->n_free_plain++;
    }
}

/* ---- storage ---------------------------------------------------------------------- */

/* where block id of layer il starts */
static size_t block_off(const lmc_block_pool *p, int layer, int32_t id) {
    return ((size_t)layer * (size_t)p->n_blocks + (size_t)id) * (size_t)p->S * p->row_bytes;
}

/* element size of a head-major (F32/F16) pool */
static size_t elt_size(const lmc_block_pool *p) { return p->type == LMC_TYPE_F32 ? 4 : 2; }

/* the start of position slot's data in a block: its row (Q8_0), or its row of head 0 */
static size_t slot_off(const lmc_block_pool *p, int32_t slot) {
    return p->type == LMC_TYPE_Q8_0 ? (size_t)slot * p->row_bytes : (size_t)slot * (size_t)p->head_dim * elt_size(p);
}

/* one position's K or V row (Ckv floats) into slot `slot` of the block starting at blk */
static void store_row(const lmc_block_pool *p, uint8_t *blk, int32_t slot, const float *src) {
    if (p->type == LMC_TYPE_Q8_0) {
        lmc_quantize_row(LMC_TYPE_Q8_0, src, blk + slot_off(p, slot), p->Ckv);
        return;
    }
    const int64_t D = p->head_dim, n_head = p->Ckv / D;
    for (int64_t h = 0; h < n_head; h++) {
        const float *x = src + h * D;
        const size_t off = (size_t)((h * p->S + slot) * D);
        if (p->type == LMC_TYPE_F32) {
            memcpy((float *)blk + off, x, (size_t)D * sizeof(float));
        } else {
            lmc_f32_to_f16_row((uint16_t *)blk + off, x, D);
        }
    }
}

void lmc_block_store(lmc_block_pool *p, int layer, int32_t id, int32_t slot, const float *k, const float *v) {
    const size_t off = block_off(p, layer, id);
    store_row(p, p->k + off, slot, k);
    store_row(p, p->v + off, slot, v);
}

void lmc_block_copy(lmc_block_pool *p, int32_t dst, int32_t src) {
    const size_t n = (size_t)p->S * p->row_bytes;
    for (int il = 0; il < p->n_layer; il++) {
        memcpy(p->k + block_off(p, il, dst), p->k + block_off(p, il, src), n);
        memcpy(p->v + block_off(p, il, dst), p->v + block_off(p, il, src), n);
    }
}

/* The table's positions [pos, n) one block at a time: run r covers [r.pos, r.pos + r.rows)
 * in block r.id (negative: dropped) from slot r.slot. false when nothing is left. */
typedef struct {
    int64_t pos, rows;
    int32_t id, slot;
} block_run;

static bool next_run(const lmc_block_pool *p, const int32_t *table, int64_t *pos, int64_t n, block_run *r) {
    if (*pos >= n) return false;
    r->pos = *pos;
    r->slot = (int32_t)(*pos % p->S);
    r->rows = LMC_MIN((int64_t)(p->S - r->slot), n - *pos);
    r->id = table[*pos / p->S];
    *pos += r->rows;
    return true;
}

int lmc_block_segments(const lmc_block_pool *p, int layer, const int32_t *table, int64_t start, int64_t n,
                       lmc_kv_seg *out) {
    int k = 0;
    block_run r;
    for (int64_t pos = start; next_run(p, table, &pos, n, &r);) {
        if (r.id < 0) continue; /* dropped blocks lie outside every layer's window: never read */
        const size_t off = block_off(p, layer, r.id) + slot_off(p, r.slot);
        out[k++] = (lmc_kv_seg){.p0 = r.pos, .n = r.rows, .k = p->k + off, .v = p->v + off,
                                .row_stride = p->head_dim, .head_stride = (int64_t)p->S * p->head_dim};
    }
    return k;
}

lmc_type lmc_block_gather_type(const lmc_block_pool *p) {
    return p->type == LMC_TYPE_Q8_0 ? LMC_TYPE_F32 : p->type;
}

void lmc_block_gather(const lmc_block_pool *p, int layer, const int32_t *table, int64_t start, int64_t n,
                      void *kout, void *vout) {
    const lmc_type gt = lmc_block_gather_type(p);
    const size_t out_row = lmc_type_row_bytes(gt, p->Ckv);
    uint8_t *ko = kout, *vo = vout;
    block_run run;
    for (int64_t pos = start; next_run(p, table, &pos, n, &run);) {
        const int32_t slot = run.slot, id = run.id;
        const int64_t rows = run.rows;
        uint8_t *kd = ko + (size_t)(run.pos - start) * out_row, *vd = vo + (size_t)(run.pos - start) * out_row;
        if (id < 0) { /* dropped: outside every layer's window, never read */
            memset(kd, 0, (size_t)rows * out_row);
            memset(vd, 0, (size_t)rows * out_row);
            continue;
        }
        const uint8_t *ks = p->k + block_off(p, layer, id), *vs = p->v + block_off(p, layer, id);
        if (p->type != LMC_TYPE_Q8_0) { /* head-major to rows: each head's D values */
            const int64_t D = p->head_dim, n_head = p->Ckv / D;
            const size_t es = elt_size(p), hb = (size_t)D * es;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t h = 0; h < n_head; h++) {
                    const size_t from = (size_t)((h * p->S + slot + r) * D) * es;
                    memcpy(kd + (size_t)r * out_row + (size_t)h * hb, ks + from, hb);
                    memcpy(vd + (size_t)r * out_row + (size_t)h * hb, vs + from, hb);
                }
        } else {
            ks += slot_off(p, slot), vs += slot_off(p, slot);
            for (int64_t r = 0; r < rows; r++) {
                lmc_dequantize_row(LMC_TYPE_Q8_0, ks + (size_t)r * p->row_bytes, (float *)(kd + (size_t)r * out_row), p->Ckv);
                lmc_dequantize_row(LMC_TYPE_Q8_0, vs + (size_t)r * p->row_bytes, (float *)(vd + (size_t)r * out_row), p->Ckv);
            }
        }
    }
}
