/* model.c — open a GGUF model: read the hyperparameters from its metadata (never a
 * hard-coded shape) and bind every tensor, checking its shape against them. Errors name
 * the file, the key or tensor, and what was expected. */
#include "model-impl.h"
#include "../tensor/quants.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_HEAD_DIM 1024 /* bounds of the stack buffers in layers.c */
#define MAX_ROT 1024

typedef struct {
    lmc_model *m;
    const char *path;
    const char *arch;       /* metadata prefix */
    void **owned;           /* F32 copies of 1-D tensors stored in other types */
    int n_owned, cap_owned;
} loader;

const char *lmc_arch_name(lmc_arch a) {
    switch (a) {
    case LMC_ARCH_LLAMA: return "llama";
    case LMC_ARCH_QWEN2: return "qwen2";
    case LMC_ARCH_GPT2: return "gpt2";
    }
    return "?";
}

/* ---- metadata -------------------------------------------------------------------- */

static int get_int(loader *L, const char *suffix, bool required, int64_t def, int64_t lo, int64_t hi, int32_t *out) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", L->arch, suffix);
    int64_t v;
    int rc = lmc_gguf_get_int(L->m->gguf, key, &v);
    if (rc == LMC_ERR_NOT_FOUND) {
        if (required) return lmc_set_error(LMC_ERR_FORMAT, "%s: missing metadata key '%s'", L->path, key);
        v = def;
    } else if (rc != LMC_OK) {
        return lmc_set_error(LMC_ERR_FORMAT, "%s: metadata key '%s' must be one integer (per-layer arrays are not supported)",
                             L->path, key);
    }
    if (v < lo || v > hi)
        return lmc_set_error(LMC_ERR_FORMAT, "%s: metadata '%s' = %lld is out of range [%lld, %lld]", L->path, key,
                             (long long)v, (long long)lo, (long long)hi);
    *out = (int32_t)v;
    return LMC_OK;
}

static int get_float(loader *L, const char *suffix, bool required, double def, float *out) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", L->arch, suffix);
    double v;
    int rc = lmc_gguf_get_float(L->m->gguf, key, &v);
    if (rc == LMC_ERR_NOT_FOUND) {
        if (required) return lmc_set_error(LMC_ERR_FORMAT, "%s: missing metadata key '%s'", L->path, key);
        v = def;
    } else if (rc != LMC_OK) {
        return lmc_set_error(LMC_ERR_FORMAT, "%s: metadata key '%s' must be a number", L->path, key);
    }
    if (!(v >= 0.0) || v > 1e30) return lmc_set_error(LMC_ERR_FORMAT, "%s: metadata '%s' = %g is invalid", L->path, key, v);
    *out = (float)v;
    return LMC_OK;
}

static bool str_is(lmc_str s, const char *lit) { return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0; }

static int read_hparams(loader *L) {
    lmc_model_hparams *hp = &L->m->hp;
    lmc_str a;
    if (lmc_gguf_get_str(L->m->gguf, "general.architecture", &a) != LMC_OK)
        return lmc_set_error(LMC_ERR_FORMAT, "%s: missing metadata key 'general.architecture' (is this a model file?)", L->path);
    if (str_is(a, "llama"))
        hp->arch = LMC_ARCH_LLAMA;
    else if (str_is(a, "qwen2"))
        hp->arch = LMC_ARCH_QWEN2;
    else if (str_is(a, "gpt2"))
        hp->arch = LMC_ARCH_GPT2;
    else
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: architecture '%.*s' is not supported (lmc runs llama, qwen2 and gpt2)",
                             L->path, (int)LMC_MIN(a.len, 64), a.ptr);
    L->arch = lmc_arch_name(hp->arch);

    int rc;
    if ((rc = get_int(L, "context_length", true, 0, 1, 1 << 24, &hp->n_ctx_train)) ||
        (rc = get_int(L, "embedding_length", true, 0, 1, 1 << 20, &hp->n_embd)) ||
        (rc = get_int(L, "block_count", true, 0, 1, 4096, &hp->n_layer)) ||
        (rc = get_int(L, "feed_forward_length", true, 0, 1, 1 << 22, &hp->n_ff)) ||
        (rc = get_int(L, "attention.head_count", true, 0, 1, 4096, &hp->n_head)) ||
        (rc = get_int(L, "attention.head_count_kv", false, hp->n_head, 1, 4096, &hp->n_head_kv)) ||
        (rc = get_int(L, "expert_count", false, 0, 0, 4096, &hp->n_expert)) ||
        (rc = get_int(L, "expert_used_count", false, 0, 0, 4096, &hp->n_expert_used)))
        return rc;
    if (hp->n_head % hp->n_head_kv)
        return lmc_set_error(LMC_ERR_FORMAT, "%s: %d attention heads are not a multiple of %d KV heads", L->path,
                             hp->n_head, hp->n_head_kv);
    int32_t def_hd = hp->n_embd / hp->n_head, vlen;
    if ((rc = get_int(L, "attention.key_length", false, def_hd, 1, MAX_HEAD_DIM, &hp->head_dim)) ||
        (rc = get_int(L, "attention.value_length", false, hp->head_dim, 1, MAX_HEAD_DIM, &vlen)))
        return rc;
    if (vlen != hp->head_dim)
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: key length %d != value length %d is not supported", L->path,
                             hp->head_dim, vlen);
    if ((int64_t)hp->head_dim * hp->n_head != hp->n_embd && hp->arch == LMC_ARCH_GPT2)
        return lmc_set_error(LMC_ERR_FORMAT, "%s: gpt2 needs n_embd (%d) = heads (%d) x head size (%d)", L->path,
                             hp->n_embd, hp->n_head, hp->head_dim);
    if (hp->n_expert > 0) {
        if (hp->arch != LMC_ARCH_LLAMA)
            return lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: experts are supported for llama only", L->path);
        if (hp->n_expert_used < 1 || hp->n_expert_used > hp->n_expert)
            return lmc_set_error(LMC_ERR_FORMAT, "%s: expert_used_count %d must be in [1, expert_count %d]", L->path,
                                 hp->n_expert_used, hp->n_expert);
    } else {
        hp->n_expert_used = 0;
    }

    if (hp->arch == LMC_ARCH_GPT2) {
        hp->rope_type = LMC_ROPE_NONE;
        hp->n_rot = 0;
        hp->rope_freq_base = 10000.0f;
        hp->rope_freq_scale = 1.0f;
        return get_float(L, "attention.layer_norm_epsilon", true, 0, &hp->norm_eps);
    }
    hp->rope_type = hp->arch == LMC_ARCH_QWEN2 ? LMC_ROPE_NEOX : LMC_ROPE_NORM;
    if ((rc = get_int(L, "rope.dimension_count", false, hp->head_dim, 2, MAX_ROT, &hp->n_rot)) ||
        (rc = get_float(L, "rope.freq_base", false, 10000.0, &hp->rope_freq_base)) ||
        (rc = get_float(L, "attention.layer_norm_rms_epsilon", true, 0, &hp->norm_eps)))
        return rc;
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return lmc_set_error(LMC_ERR_FORMAT, "%s: rope.dimension_count %d must be even and <= head size %d", L->path,
                             hp->n_rot, hp->head_dim);
    if (hp->rope_freq_base <= 0.0f) return lmc_set_error(LMC_ERR_FORMAT, "%s: rope.freq_base must be > 0", L->path);
    /* RoPE scaling: none or linear (positions divided by the factor) */
    hp->rope_freq_scale = 1.0f;
    char key[256];
    lmc_str st;
    snprintf(key, sizeof key, "%s.rope.scaling.type", L->arch);
    bool linear = false;
    if (lmc_gguf_get_str(L->m->gguf, key, &st) == LMC_OK) {
        if (str_is(st, "linear"))
            linear = true;
        else if (!str_is(st, "none"))
            return lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: RoPE scaling '%.*s' is not supported (none, linear)", L->path,
                                 (int)LMC_MIN(st.len, 32), st.ptr);
    }
    float factor = 0.0f;
    if ((rc = get_float(L, linear ? "rope.scaling.factor" : "rope.scale_linear", false, 0.0, &factor))) return rc;
    if (factor > 0.0f && factor != 1.0f) hp->rope_freq_scale = 1.0f / factor;
    return LMC_OK;
}

/* ---- tensors ---------------------------------------------------------------------- */

static void shape_str(char *buf, size_t cap, int n, const int64_t *ne) {
    int k = snprintf(buf, cap, "[");
    for (int i = 0; i < n && k < (int)cap; i++) k += snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)ne[i]);
    if (k < (int)cap) snprintf(buf + k, cap - k, "]");
}

/* Finds a tensor and checks it has exactly the dims ne[0..n) (trailing dims 1). */
static int find_checked(loader *L, const char *name, int n, const int64_t *ne, bool required, const lmc_tensor_info **out) {
    *out = NULL;
    const lmc_tensor_info *t = lmc_gguf_find_tensor(L->m->gguf, name);
    if (!t) {
        if (required) return lmc_set_error(LMC_ERR_NOT_FOUND, "%s: missing tensor '%s'", L->path, name);
        return LMC_OK;
    }
    bool ok = true;
    for (int i = 0; i < LMC_MAX_DIMS; i++) ok = ok && t->ne[i] == (i < n ? ne[i] : 1);
    if (!ok) {
        char want[96], got[96];
        shape_str(want, sizeof want, n, ne);
        shape_str(got, sizeof got, t->n_dims, t->ne);
        return lmc_set_error(LMC_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", L->path, name, got, want);
    }
    if (lmc_type_row_bytes(t->type, t->ne[0]) == 0)
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which lmc cannot use for rows of %lld",
                             L->path, name, lmc_type_name(t->type) ? lmc_type_name(t->type) : "(unknown)",
                             (long long)t->ne[0]);
    *out = t;
    return LMC_OK;
}

static int bind_weight(loader *L, lmc_weight *w, const char *name, int64_t n_in, int64_t n_out, int64_t n_mat, bool required) {
    memset(w, 0, sizeof *w);
    const int64_t ne[3] = {n_in, n_out, n_mat};
    const lmc_tensor_info *t;
    int rc = find_checked(L, name, n_mat > 1 ? 3 : 2, ne, required, &t);
    if (rc || !t) return rc;
    w->type = t->type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->n_mat = n_mat;
    w->row_bytes = lmc_type_row_bytes(t->type, n_in);
    w->mat_bytes = w->row_bytes * (size_t)n_out;
    w->data = t->data;
    return LMC_OK;
}

/* Hands p (malloc'd or aligned_alloc'd) to the model, freed with it; frees p and fails
 * when it is NULL or the list cannot grow. */
static int own(loader *L, void *p) {
    if (p && L->n_owned == L->cap_owned) {
        int cap = L->cap_owned ? 2 * L->cap_owned : 64;
        void **o = realloc(L->owned, (size_t)cap * sizeof *o);
        if (!o) {
            free(p);
            p = NULL;
        } else {
            L->owned = o;
            L->cap_owned = cap;
        }
    }
    if (!p) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    L->owned[L->n_owned++] = p;
    return LMC_OK;
}

/* 1-D tensors (norms, biases) are used as floats: F32 points into the file, other types
 * are converted once. */
static int bind_vec(loader *L, const float **out, const char *name, int64_t n, bool required) {
    *out = NULL;
    const lmc_tensor_info *t;
    int rc = find_checked(L, name, 1, &n, required, &t);
    if (rc || !t) return rc;
    if (t->type == LMC_TYPE_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
        *out = t->data;
        return LMC_OK;
    }
    float *f = malloc((size_t)n * sizeof(float));
    if ((rc = own(L, f))) return rc;
    rc = lmc_dequantize_row(t->type, t->data, f, n);
    if (rc) return lmc_set_error(rc, "%s: tensor '%s': cannot convert %s to F32: %s", L->path, name,
                                 lmc_type_name(t->type), lmc_last_error());
    *out = f;
    return LMC_OK;
}

#define TNAME(buf, fmt, i) (snprintf(buf, sizeof buf, fmt, i), buf)

static int bind_layer(loader *L, int il) {
    const lmc_model_hparams *hp = &L->m->hp;
    lmc_layer *l = &L->m->layers[il];
    const int64_t C = hp->n_embd, HD = (int64_t)hp->n_head * hp->head_dim, Ckv = (int64_t)hp->n_head_kv * hp->head_dim,
                  F = hp->n_ff, E = hp->n_expert;
    const bool gpt2 = hp->arch == LMC_ARCH_GPT2;
    char n[128];
    int rc;
    if ((rc = bind_vec(L, &l->attn_norm, TNAME(n, "blk.%d.attn_norm.weight", il), C, true)) ||
        (rc = bind_vec(L, &l->attn_norm_b, TNAME(n, "blk.%d.attn_norm.bias", il), C, gpt2)) ||
        (rc = bind_vec(L, &l->ffn_norm, TNAME(n, "blk.%d.ffn_norm.weight", il), C, true)) ||
        (rc = bind_vec(L, &l->ffn_norm_b, TNAME(n, "blk.%d.ffn_norm.bias", il), C, gpt2)) ||
        (rc = bind_weight(L, &l->wo, TNAME(n, "blk.%d.attn_output.weight", il), HD, C, 1, true)) ||
        (rc = bind_vec(L, &l->bo, TNAME(n, "blk.%d.attn_output.bias", il), C, gpt2)))
        return rc;
    if (gpt2) {
        if ((rc = bind_weight(L, &l->wqkv, TNAME(n, "blk.%d.attn_qkv.weight", il), C, HD + 2 * Ckv, 1, true)) ||
            (rc = bind_vec(L, &l->bqkv, TNAME(n, "blk.%d.attn_qkv.bias", il), HD + 2 * Ckv, true)))
            return rc;
    } else {
        if ((rc = bind_weight(L, &l->wq, TNAME(n, "blk.%d.attn_q.weight", il), C, HD, 1, true)) ||
            (rc = bind_weight(L, &l->wk, TNAME(n, "blk.%d.attn_k.weight", il), C, Ckv, 1, true)) ||
            (rc = bind_weight(L, &l->wv, TNAME(n, "blk.%d.attn_v.weight", il), C, Ckv, 1, true)) ||
            (rc = bind_vec(L, &l->bq, TNAME(n, "blk.%d.attn_q.bias", il), HD, false)) ||
            (rc = bind_vec(L, &l->bk, TNAME(n, "blk.%d.attn_k.bias", il), Ckv, false)) ||
            (rc = bind_vec(L, &l->bv, TNAME(n, "blk.%d.attn_v.bias", il), Ckv, false)))
            return rc;
    }
    if (E > 0) { /* mixture of experts: a router and E SwiGLU experts */
        if ((rc = bind_weight(L, &l->ffn_gate_inp, TNAME(n, "blk.%d.ffn_gate_inp.weight", il), C, E, 1, true)) ||
            (rc = bind_weight(L, &l->ffn_gate_exps, TNAME(n, "blk.%d.ffn_gate_exps.weight", il), C, F, E, true)) ||
            (rc = bind_weight(L, &l->ffn_up_exps, TNAME(n, "blk.%d.ffn_up_exps.weight", il), C, F, E, true)) ||
            (rc = bind_weight(L, &l->ffn_down_exps, TNAME(n, "blk.%d.ffn_down_exps.weight", il), F, C, E, true)))
            return rc;
        return LMC_OK;
    }
    if ((rc = bind_weight(L, &l->ffn_up, TNAME(n, "blk.%d.ffn_up.weight", il), C, F, 1, true)) ||
        (rc = bind_weight(L, &l->ffn_down, TNAME(n, "blk.%d.ffn_down.weight", il), F, C, 1, true)) ||
        (rc = bind_weight(L, &l->ffn_gate, TNAME(n, "blk.%d.ffn_gate.weight", il), C, F, 1, !gpt2)) ||
        (rc = bind_vec(L, &l->ffn_up_b, TNAME(n, "blk.%d.ffn_up.bias", il), F, gpt2)) ||
        (rc = bind_vec(L, &l->ffn_down_b, TNAME(n, "blk.%d.ffn_down.bias", il), C, gpt2)) ||
        (rc = bind_vec(L, &l->ffn_gate_b, TNAME(n, "blk.%d.ffn_gate.bias", il), F, false)))
        return rc;
    return LMC_OK;
}

static int bind_all(loader *L) {
    lmc_model *m = L->m;
    lmc_model_hparams *hp = &m->hp;
    const lmc_tensor_info *te = lmc_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!te) return lmc_set_error(LMC_ERR_NOT_FOUND, "%s: missing tensor 'token_embd.weight'", L->path);
    if (te->n_dims != 2 || te->ne[1] < 1 || te->ne[1] > (1 << 24))
        return lmc_set_error(LMC_ERR_FORMAT, "%s: tensor 'token_embd.weight' must be 2-D [n_embd, n_vocab]", L->path);
    hp->n_vocab = (int32_t)te->ne[1];
    int32_t vs;
    int rc = get_int(L, "vocab_size", false, hp->n_vocab, 1, 1 << 24, &vs);
    if (rc) return rc;
    if (vs != hp->n_vocab)
        return lmc_set_error(LMC_ERR_FORMAT, "%s: %s.vocab_size = %d but token_embd.weight has %d rows", L->path, L->arch,
                             vs, hp->n_vocab);
    const int64_t C = hp->n_embd, V = hp->n_vocab;
    if ((rc = bind_weight(L, &m->tok_embd, "token_embd.weight", C, V, 1, true)) ||
        (rc = bind_weight(L, &m->output, "output.weight", C, V, 1, false)) ||
        (rc = bind_vec(L, &m->output_b, "output.bias", V, false)) ||
        (rc = bind_vec(L, &m->output_norm, "output_norm.weight", C, true)) ||
        (rc = bind_vec(L, &m->output_norm_b, "output_norm.bias", C, hp->arch == LMC_ARCH_GPT2)))
        return rc;
    hp->tied_output = m->output.data == NULL;
    if (hp->tied_output) m->output = m->tok_embd;
    if (hp->arch == LMC_ARCH_GPT2 &&
        (rc = bind_weight(L, &m->pos_embd, "position_embd.weight", C, hp->n_ctx_train, 1, true)))
        return rc;
    if (hp->rope_type != LMC_ROPE_NONE && (rc = bind_vec(L, &m->rope_freqs, "rope_freqs.weight", hp->n_rot / 2, false)))
        return rc;
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    for (int il = 0; il < hp->n_layer; il++)
        if ((rc = bind_layer(L, il))) return rc;
    for (int64_t i = 0; i < lmc_gguf_n_tensors(m->gguf); i++) m->n_params += lmc_gguf_tensor(m->gguf, i)->n_elements;
    return LMC_OK;
}

/* Q8_0 and Q4_1 matrices interleaved 8 rows at a time where this CPU has the kernel for it
 * (repack.c). The packed copy replaces the file's pages in memory: they are dropped
 * after packing (a clean file mapping; re-read on access, e.g. embedding rows of a
 * tied output), so the resident size stays that of the file. */
static bool packable(const lmc_weight *w) {
    return w->data && w->n_mat == 1 && lmc_r8_available(w->type) && lmc_r8_fits(w->type, w->n_out, w->n_in);
}

static size_t packed_bytes(const lmc_weight *w) { return (lmc_r8_bytes(w->type, w->n_out, w->n_in) + 63) & ~(size_t)63; }

/* Drops the file pages wholly inside [p, p + n) from this process (they stay in the page
 * cache, and come back if read). Huge pages are refused for them first: the kernel maps
 * the page cache's 2 MiB folios whole, so reading a norm weight next to a packed matrix
 * would map 2 MiB of it again (measured: 56 MiB of a Q8_0 SmolLM2 file back in memory
 * after the first forward). */
static void drop_file_pages(const void *p, size_t n) {
    const long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0) return;
    const uintptr_t b = ((uintptr_t)p + (uintptr_t)pg - 1) & ~(uintptr_t)(pg - 1);
    const uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)(pg - 1);
    if (e <= b) return;
#ifdef MADV_NOHUGEPAGE
    madvise((void *)b, e - b, MADV_NOHUGEPAGE);
#endif
    madvise((void *)b, e - b, MADV_DONTNEED);
}

/* packs w into arena + *used (room counted by pack_all), 1024 rows at a time, each slice's
 * file pages dropped once it is packed: a large matrix (the 28 MiB output of SmolLM2) is
 * then never in memory twice (peak RSS of `lmc run -c 64` on the Q4_1: 136.0 -> 117.9 MiB) */
static void pack_weight(lmc_weight *w, uint8_t *arena, size_t *used) {
    if (!packable(w)) return;
    uint8_t *p = arena + *used;
    *used += packed_bytes(w);
    const int64_t slice = 1024; /* rows: whole 8-row groups */
    for (int64_t r0 = 0; r0 < w->n_out; r0 += slice) {
        const int64_t n = LMC_MIN(slice, w->n_out - r0);
        const uint8_t *src = (const uint8_t *)w->data + (size_t)r0 * w->row_bytes;
        lmc_r8_pack(w->type, src, n, w->n_in, p + lmc_r8_bytes(w->type, r0, w->n_in));
        drop_file_pages(src, (size_t)n * w->row_bytes);
    }
    w->packed = p;
    drop_file_pages(w->data, w->mat_bytes); /* the pages across slice edges */
}

/* every layer's matrices, then the output (by then the layers' file pages are gone; a
 * tied output's embedding rows are then read from the packed copy, lmc_model_embed_row) */
#define PACK_EACH(m, X)                                                                              \
    do {                                                                                             \
        for (int il_ = 0; il_ < (m)->hp.n_layer; il_++) {                                           \
            lmc_layer *l_ = &(m)->layers[il_];                                                      \
            lmc_weight *ws_[] = {&l_->wq, &l_->wk, &l_->wv, &l_->wqkv, &l_->wo, &l_->ffn_gate, &l_->ffn_up, \
                                 &l_->ffn_down};                                                      \
            for (size_t k_ = 0; k_ < sizeof ws_ / sizeof ws_[0]; k_++) X(ws_[k_]);                  \
        }                                                                                            \
        X(&(m)->output);                                                                             \
    } while (0)

/* All packed copies go into one block on 2 MiB boundaries, on huge pages where the kernel
 * allows them (MADV_HUGEPAGE; advice only): every product streams them, and on 4 KiB pages
 * each 4 KiB of weights costs a TLB miss (engine, alternating runs: one stream 395/397 ->
 * 421/425 t/s, 16 streams 1319/1380 -> 1402/1422). Untouched until packed, so the resident
 * size still grows only as the file's pages are dropped. */
static int pack_all(loader *L) {
    lmc_model *m = L->m;
    size_t total = 0, used = 0;
#define ADD(w) total += packable(w) ? packed_bytes(w) : 0
    PACK_EACH(m, ADD);
#undef ADD
    if (total == 0) return LMC_OK;
    uint8_t *arena = lmc_alloc_huge(total, false); /* written as the matrices are packed */
    if (!arena) return lmc_set_error(LMC_ERR_NOMEM, "model: cannot allocate %.1f MiB for repacked weights",
                                     (double)total / 1048576.0);
    int rc = own(L, arena);
    if (rc) return rc;
#define PACK(w) pack_weight(w, arena, &used)
    PACK_EACH(m, PACK);
#undef PACK
    return LMC_OK;
}
#undef PACK_EACH

int lmc_model_embed_row(const lmc_model *m, int32_t token, float *dst) {
    if (m->hp.tied_output && m->output.packed) {
        lmc_r8_get_row(m->output.type, m->output.packed, m->hp.n_embd, token, dst);
        return LMC_OK;
    }
    const uint8_t *row = (const uint8_t *)m->tok_embd.data + (size_t)token * m->tok_embd.row_bytes;
    return lmc_dequantize_row(m->tok_embd.type, row, dst, m->hp.n_embd);
}

lmc_model *lmc_model_load(const char *path) {
    if (!path) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_model_load: path is NULL");
    lmc_model *m = calloc(1, sizeof *m);
    if (!m) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    m->gguf = lmc_gguf_open_model(path); /* a GGUF file or a Hugging Face folder */
    if (!m->gguf) {
        free(m);
        return NULL;
    }
    loader L = {.m = m, .path = path};
    int rc = read_hparams(&L);
    if (!rc) rc = lmc_model_read_swa(m, L.arch, path);
    if (!rc) rc = bind_all(&L);
    if (!rc) rc = pack_all(&L);
    m->owned = L.owned; /* freed with the model, also on error */
    m->n_owned = L.n_owned;
    if (rc) {
        lmc_model_free(m);
        return NULL;
    }
    return m;
}

void lmc_model_free(lmc_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    free(m->swa);
    lmc_gguf_close(m->gguf);
    free(m);
}

const lmc_model_hparams *lmc_model_get_hparams(const lmc_model *m) { return &m->hp; }
int64_t lmc_model_n_params(const lmc_model *m) { return m->n_params; }
const lmc_gguf *lmc_model_gguf(const lmc_model *m) { return m->gguf; }
