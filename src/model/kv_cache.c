/* kv_cache.c — the plain KV cache: per layer one K and one V array of n_ctx rows,
 * stored as F32 or F16. Row p holds the keys/values of the token at position p.
 * (Paging and sharing come with the serving engine.) */
#include "model-impl.h"

#include <stdlib.h>

int lmc_kv_cache_init(lmc_kv_cache *c, int n_layer, int64_t n_ctx, int64_t n_embd_kv, lmc_type type) {
    memset(c, 0, sizeof *c);
    if (type != LMC_TYPE_F32 && type != LMC_TYPE_F16)
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "KV cache type %s is not supported (use f32 or f16)",
                             lmc_type_name(type) ? lmc_type_name(type) : "?");
    if (n_layer <= 0 || n_ctx <= 0 || n_embd_kv <= 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "KV cache: bad size (%d layers, %lld positions, %lld wide)",
                             n_layer, (long long)n_ctx, (long long)n_embd_kv);
    c->type = type;
    c->n_layer = n_layer;
    c->n_ctx = n_ctx;
    c->n_embd_kv = n_embd_kv;
    c->row_bytes = (size_t)n_embd_kv * (type == LMC_TYPE_F32 ? 4 : 2);
    uint64_t total;
    if (!lmc_mul_ok((uint64_t)n_layer * (uint64_t)n_ctx, c->row_bytes, &total) || total > ((uint64_t)1 << 40))
        return lmc_set_error(LMC_ERR_LIMIT, "KV cache of %lld positions is too large", (long long)n_ctx);
    /* zeroed, so that rows never written read zeros, not garbage; on huge pages, resident
     * from the start as llama.cpp's cleared KV buffer is: decoding reads every row of
     * every layer, and on 4 KiB pages that costs a TLB miss each few rows (lmc run at
     * 3175 tokens of context: prompt 471-485 -> 528-541 t/s, generation 122-123 ->
     * 138-141 t/s, alternating) */
    c->k = lmc_alloc_huge(total, true);
    c->v = lmc_alloc_huge(total, true);
    if (!c->k || !c->v) {
        lmc_kv_cache_free(c);
        return lmc_set_error(LMC_ERR_NOMEM, "KV cache: cannot allocate 2 x %.1f MiB", (double)total / 1048576.0);
    }
    return LMC_OK;
}

void lmc_kv_cache_free(lmc_kv_cache *c) {
    if (!c) return;
    free(c->k);
    free(c->v);
    c->k = c->v = NULL;
}

static void store_rows(const lmc_kv_cache *c, uint8_t *dst, const float *src, int64_t T) {
    int64_t n = T * c->n_embd_kv;
    if (c->type == LMC_TYPE_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else {
        lmc_f32_to_f16_row((uint16_t *)dst, src, n);
    }
}

void lmc_kv_cache_store(lmc_kv_cache *c, int layer, int64_t pos0, int64_t T, const float *k, const float *v) {
    size_t off = ((size_t)layer * (size_t)c->n_ctx + (size_t)pos0) * c->row_bytes;
    store_rows(c, (uint8_t *)c->k + off, k, T);
    store_rows(c, (uint8_t *)c->v + off, v, T);
}

const void *lmc_kv_cache_k(const lmc_kv_cache *c, int layer) {
    return (const uint8_t *)c->k + (size_t)layer * (size_t)c->n_ctx * c->row_bytes;
}

const void *lmc_kv_cache_v(const lmc_kv_cache *c, int layer) {
    return (const uint8_t *)c->v + (size_t)layer * (size_t)c->n_ctx * c->row_bytes;
}
