/* quantize_model.c — quantize a GGUF model file (`lmc quantize`).
 *
 * Mirrors llama.cpp's llama-quantize without an importance matrix: which tensors are
 * quantized, the per-tensor type choice of the K-quant mixes (more bits for attn_v,
 * ffn_down and the output), the fallback for rows that do not fit a block, and the
 * metadata it writes (general.file_type, general.quantization_version). The tensors'
 * bytes come from the *_ref quantizers, so files match llama-quantize's. Deliberate
 * differences: the legacy 32-block types fall back to F16 where llama-quantize stops
 * with "no tensor type fallback", requantizing needs no flag (it warns), and the
 * 70B / Falcon special cases are not applied. */
#include "quants.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* llama.cpp's llama_ftype values, written as general.file_type. */
typedef struct {
    const char *name;
    int ftype;
    lmc_type base;
} mix_info;

static const mix_info k_mixes[] = {
    {"F32", 0, LMC_TYPE_F32},        {"F16", 1, LMC_TYPE_F16},        {"BF16", 32, LMC_TYPE_BF16},
    {"Q4_0", 2, LMC_TYPE_Q4_0},      {"Q4_1", 3, LMC_TYPE_Q4_1},      {"Q8_0", 7, LMC_TYPE_Q8_0},
    {"Q5_0", 8, LMC_TYPE_Q5_0},      {"Q5_1", 9, LMC_TYPE_Q5_1},      {"Q2_K", 10, LMC_TYPE_Q2_K},
    {"Q2_K_S", 21, LMC_TYPE_Q2_K},   {"Q3_K_S", 11, LMC_TYPE_Q3_K},   {"Q3_K_M", 12, LMC_TYPE_Q3_K},
    {"Q3_K", 12, LMC_TYPE_Q3_K},     {"Q3_K_L", 13, LMC_TYPE_Q3_K},   {"Q4_K_S", 14, LMC_TYPE_Q4_K},
    {"Q4_K_M", 15, LMC_TYPE_Q4_K},   {"Q4_K", 15, LMC_TYPE_Q4_K},     {"Q5_K_S", 16, LMC_TYPE_Q5_K},
    {"Q5_K_M", 17, LMC_TYPE_Q5_K},   {"Q5_K", 17, LMC_TYPE_Q5_K},     {"Q6_K", 18, LMC_TYPE_Q6_K},
};

enum { FT_Q2_K = 10, FT_Q2_K_S = 21, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13,
       FT_Q4_K_S = 14, FT_Q4_K_M = 15, FT_Q5_K_S = 16, FT_Q5_K_M = 17 };

typedef enum { C_TOKEN_EMBD, C_ATTN_Q, C_ATTN_V, C_ATTN_K, C_ATTN_QKV, C_ATTN_KV_B, C_ATTN_OUTPUT,
               C_FFN_UP, C_FFN_GATE, C_FFN_DOWN, C_OUTPUT, C_OTHER } category;

static category get_category(const char *name) {
    if (strcmp(name, "output.weight") == 0) return C_OUTPUT;
    if (strcmp(name, "token_embd.weight") == 0 || strcmp(name, "per_layer_token_embd.weight") == 0)
        return C_TOKEN_EMBD;
    if (strstr(name, "attn_qkv.weight")) return C_ATTN_QKV;
    if (strstr(name, "attn_kv_b.weight")) return C_ATTN_KV_B;
    if (strstr(name, "attn_v.weight")) return C_ATTN_V;
    if (strstr(name, "attn_k.weight")) return C_ATTN_K;
    if (strstr(name, "attn_q.weight")) return C_ATTN_Q;
    if (strstr(name, "attn_output.weight")) return C_ATTN_OUTPUT;
    if (strstr(name, "ffn_up")) return C_FFN_UP;
    if (strstr(name, "ffn_gate")) return C_FFN_GATE;
    if (strstr(name, "ffn_down")) return C_FFN_DOWN;
    return C_OTHER;
}

static bool is_attn_v(category c) { return c == C_ATTN_V || c == C_ATTN_QKV || c == C_ATTN_KV_B; }

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Tensors llama-quantize never quantizes (small, precision-critical or not matrices). */
static bool allows_quantization(const lmc_tensor_info *t) {
    static const char *never[] = {
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
        "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
        "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
        "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
        "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
        "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.",
        "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    };
    int dims = t->n_dims;
    while (dims > 1 && t->ne[dims - 1] == 1) dims--; /* ggml_n_dims ignores trailing 1s */
    if (dims < 2 || !ends_with(t->name, "weight")) return false;
    if (strcmp(t->name, "position_embd.weight") == 0 || strcmp(t->name, "token_types.weight") == 0) return false;
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strstr(t->name, never[i])) return false;
    return true;
}

typedef struct {
    int ftype;
    int n_layer, n_expert, n_gqa;
    int n_attention_wv, i_attention_wv, i_ffn_down, n_ffn_down;
    bool tied_embeddings;
    const lmc_quantize_params *p;
    int n_fallback;
} qstate;

static void logf_(const qstate *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const qstate *s, const char *fmt, ...) {
    if (!s->p->log) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->p->log(s->p->log_user, line);
}

static bool use_more_bits(int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

/* The K-quant mixes: more bits where quantization hurts most. */
static lmc_type mix_type(qstate *s, lmc_type t, const lmc_tensor_info *ti, category c) {
    const int ft = s->ftype;
    if (c == C_OUTPUT || (s->tied_embeddings && c == C_TOKEN_EMBD)) {
        if (ti->ne[0] % lmc_type_block_size(t) != 0) return LMC_TYPE_Q8_0;
        return t == LMC_TYPE_Q8_0 ? t : LMC_TYPE_Q6_K;
    }
    if (is_attn_v(c)) {
        if (ft == FT_Q2_K) t = s->n_gqa >= 4 ? LMC_TYPE_Q4_K : LMC_TYPE_Q3_K;
        else if (ft == FT_Q2_K_S && s->n_gqa >= 4) t = LMC_TYPE_Q4_K;
        else if (ft == FT_Q3_K_M) t = s->i_attention_wv < 2 ? LMC_TYPE_Q5_K : LMC_TYPE_Q4_K;
        else if (ft == FT_Q3_K_L) t = LMC_TYPE_Q5_K;
        else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(s->i_attention_wv, s->n_attention_wv))
            t = LMC_TYPE_Q6_K;
        else if (ft == FT_Q4_K_S && s->i_attention_wv < 4) t = LMC_TYPE_Q5_K;
        if (s->n_expert == 8) t = LMC_TYPE_Q8_0;
        s->i_attention_wv++;
    } else if (c == C_ATTN_K) {
        if (s->n_expert == 8) t = LMC_TYPE_Q8_0;
    } else if (c == C_FFN_DOWN) {
        int i_layer = s->i_ffn_down, n_layer = s->n_ffn_down;
        if (s->n_expert > 1) {
            /* experts of one layer are not consecutive in some files: use the name */
            if (sscanf(ti->name, "blk.%d.", &i_layer) != 1) i_layer = s->i_ffn_down;
        }
        if (ft == FT_Q2_K) t = LMC_TYPE_Q3_K;
        else if (ft == FT_Q2_K_S) { if (i_layer < n_layer / 8) t = LMC_TYPE_Q4_K; }
        else if (ft == FT_Q3_K_M) t = i_layer < n_layer / 16 ? LMC_TYPE_Q5_K : LMC_TYPE_Q4_K;
        else if (ft == FT_Q3_K_L) t = LMC_TYPE_Q5_K;
        else if (ft == FT_Q4_K_M) { if (use_more_bits(i_layer, n_layer)) t = LMC_TYPE_Q6_K; }
        else if (ft == FT_Q5_K_M && use_more_bits(i_layer, n_layer)) t = LMC_TYPE_Q6_K;
        else if (ft == FT_Q4_K_S && i_layer < n_layer / 8) t = LMC_TYPE_Q5_K;
        s->i_ffn_down++;
    } else if (c == C_ATTN_OUTPUT) {
        if (s->n_expert == 8) {
            if (ft == FT_Q2_K || ft == FT_Q3_K_S || ft == FT_Q3_K_M || ft == FT_Q4_K_S || ft == FT_Q4_K_M)
                t = LMC_TYPE_Q5_K;
        } else {
            if (ft == FT_Q2_K) t = LMC_TYPE_Q3_K;
            else if (ft == FT_Q3_K_M) t = LMC_TYPE_Q4_K;
            else if (ft == FT_Q3_K_L) t = LMC_TYPE_Q5_K;
        }
    }
    return t;
}

/* A type whose block fits the row length. */
static lmc_type fallback_type(qstate *s, const lmc_tensor_info *ti, lmc_type t) {
    int64_t ncols = ti->ne[0];
    if (ncols % lmc_type_block_size(t) == 0) return t;
    lmc_type f;
    switch (t) {
    case LMC_TYPE_Q2_K:
    case LMC_TYPE_Q3_K: f = LMC_TYPE_Q4_0; break;
    case LMC_TYPE_Q4_K: f = LMC_TYPE_Q5_0; break;
    case LMC_TYPE_Q5_K: f = LMC_TYPE_Q5_1; break;
    case LMC_TYPE_Q6_K: f = LMC_TYPE_Q8_0; break;
    default: f = LMC_TYPE_F16; break;
    }
    if (ncols % lmc_type_block_size(f) != 0) f = LMC_TYPE_F16;
    s->n_fallback++;
    logf_(s, "warning: %s: row length %lld is not a multiple of %lld (the %s block size): stored as %s",
          ti->name, (long long)ncols, (long long)lmc_type_block_size(t), lmc_type_name(t), lmc_type_name(f));
    return f;
}

/* ---- row conversion on the thread pool ------------------------------------------------ */

typedef struct {
    const lmc_tensor_info *src;
    lmc_type dst_type;
    char *dst;
    int64_t rows, n;
    int err;
} conv_task;

static void conv_rows(void *p, int ith, int nth) {
    conv_task *c = p;
    int64_t r0 = c->rows * ith / nth, r1 = c->rows * (ith + 1) / nth;
    size_t srb = lmc_type_row_bytes(c->src->type, c->n), drb = lmc_type_row_bytes(c->dst_type, c->n);
    float *f = malloc(sizeof(float) * (size_t)c->n);
    if (!f) {
        c->err = LMC_ERR_NOMEM;
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        const char *in = (const char *)c->src->data + (size_t)r * srb;
        if (lmc_dequantize_row(c->src->type, in, f, c->n) != LMC_OK ||
            lmc_quantize_row(c->dst_type, f, c->dst + (size_t)r * drb, c->n) != LMC_OK) {
            c->err = LMC_ERR_UNSUPPORTED;
            break;
        }
    }
    free(f);
}

static int layer_of(const char *name) {
    int l = -1;
    if (sscanf(name, "blk.%d.", &l) != 1) l = -1;
    return l;
}

static int cmp_tensor(const void *a, const void *b) {
    const lmc_tensor_info *x = *(const lmc_tensor_info *const *)a, *y = *(const lmc_tensor_info *const *)b;
    int lx = layer_of(x->name), ly = layer_of(y->name);
    if (lx != ly) return lx < ly ? -1 : 1;
    return strcmp(x->name, y->name);
}

lmc_quantize_params lmc_quantize_default_params(void) {
    lmc_quantize_params p = {.n_threads = 1, .pure = false, .log = NULL, .log_user = NULL};
    return p;
}

static int64_t meta_int(const lmc_gguf *g, const char *arch, const char *suffix, int64_t def) {
    char key[256];
    int64_t v;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return lmc_gguf_get_int(g, key, &v) == LMC_OK ? v : def;
}

int lmc_quantize_model(const char *in_path, const char *out_path, const char *type,
                       const lmc_quantize_params *params) {
    lmc_quantize_params defaults = lmc_quantize_default_params();
    const lmc_quantize_params *p = params ? params : &defaults;
    if (!in_path || !out_path || !type) return lmc_set_error(LMC_ERR_INVALID_ARG, "quantize: missing argument");
    const mix_info *mix = NULL;
    for (size_t i = 0; i < sizeof k_mixes / sizeof k_mixes[0]; i++)
        if (strcasecmp(k_mixes[i].name, type) == 0) mix = &k_mixes[i];
    if (!mix)
        return lmc_set_error(LMC_ERR_INVALID_ARG,
                             "quantize: unknown type '%s' (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K "
                             "Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K)", type);

    lmc_gguf *g = lmc_gguf_open(in_path);
    if (!g) return lmc_last_error()[0] ? LMC_ERR_IO : lmc_set_error(LMC_ERR_IO, "quantize: cannot open %s", in_path);

    qstate s = {.ftype = mix->ftype, .p = p, .tied_embeddings = true};
    lmc_str arch_s = {0};
    char arch[64] = "llama";
    if (lmc_gguf_get_str(g, "general.architecture", &arch_s) == LMC_OK && arch_s.len < sizeof arch) {
        memcpy(arch, arch_s.ptr, arch_s.len);
        arch[arch_s.len] = 0;
    }
    s.n_layer = (int)meta_int(g, arch, "block_count", 0);
    s.n_expert = (int)meta_int(g, arch, "expert_count", 0);
    int64_t n_head = meta_int(g, arch, "attention.head_count", 0);
    int64_t n_head_kv = meta_int(g, arch, "attention.head_count_kv", n_head);
    s.n_gqa = n_head_kv > 0 ? (int)(n_head / n_head_kv) : 1;
    s.n_ffn_down = s.n_layer;
    int64_t nt = lmc_gguf_n_tensors(g);
    for (int64_t i = 0; i < nt; i++) {
        category c = get_category(lmc_gguf_tensor(g, i)->name);
        if (is_attn_v(c)) s.n_attention_wv++;
        if (c == C_OUTPUT) s.tied_embeddings = false;
    }

    int rc = LMC_OK;
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    lmc_threadpool *tp = p->n_threads > 1 ? lmc_threadpool_init(p->n_threads) : NULL;
    void **owned = calloc((size_t)nt + 1, sizeof *owned);
    const lmc_tensor_info **order = calloc((size_t)nt + 1, sizeof *order);
    if (!w || !owned || !order || (p->n_threads > 1 && !tp)) {
        rc = lmc_set_error(LMC_ERR_NOMEM, "quantize: out of memory");
        goto done;
    }

    /* metadata: everything from the source, then the two keys llama-quantize sets,
     * moved to the end as it does */
    for (int64_t i = 0; i < lmc_gguf_n_kv(g) && rc == LMC_OK; i++)
        rc = lmc_gguf_writer_set_value(w, lmc_gguf_kv_key(g, i), lmc_gguf_kv_value(g, i));
    lmc_gguf_writer_remove(w, "general.quantization_version");
    lmc_gguf_writer_remove(w, "general.file_type");
    if (rc == LMC_OK) rc = lmc_gguf_writer_set_u32(w, "general.quantization_version", 2);
    if (rc == LMC_OK) rc = lmc_gguf_writer_set_u32(w, "general.file_type", (uint32_t)mix->ftype);
    if (rc == LMC_OK && lmc_gguf_alignment(g) != 32)
        rc = lmc_gguf_writer_set_alignment(w, (uint32_t)lmc_gguf_alignment(g));
    if (rc != LMC_OK) goto done;

    /* llama-quantize's order (which the mix counters depend on): by layer, tensors
     * outside layers first, then by name */
    for (int64_t i = 0; i < nt; i++) order[i] = lmc_gguf_tensor(g, i);
    qsort(order, (size_t)nt, sizeof *order, cmp_tensor);

    const bool base_quantized = lmc_type_block_size(mix->base) > 1;
    size_t bytes_in = 0, bytes_out = 0;
    for (int64_t i = 0; i < nt && rc == LMC_OK; i++) {
        const lmc_tensor_info *ti = order[i];
        lmc_type t = ti->type;
        if (allows_quantization(ti)) {
            t = mix->base;
            if (base_quantized) {
                if (!p->pure) t = mix_type(&s, t, ti, get_category(ti->name));
                t = fallback_type(&s, ti, t);
            }
        }
        bytes_in += ti->n_bytes;
        if (t == ti->type) {
            rc = lmc_gguf_writer_add_tensor(w, ti->name, t, ti->n_dims, ti->ne, ti->data, ti->n_bytes, false);
            bytes_out += ti->n_bytes;
            logf_(&s, "%-36s %-6s kept", ti->name, lmc_type_name(t));
            continue;
        }
        if (!lmc_get_type_traits(ti->type)) {
            rc = lmc_set_error(LMC_ERR_UNSUPPORTED, "quantize: %s: cannot read tensor type %s", ti->name,
                               lmc_type_name(ti->type) ? lmc_type_name(ti->type) : "?");
            break;
        }
        if (ti->type != LMC_TYPE_F32 && ti->type != LMC_TYPE_F16 && ti->type != LMC_TYPE_BF16)
            logf_(&s, "warning: %s: requantizing %s -> %s loses accuracy (quantize from F32/F16/BF16 if you can)",
                  ti->name, lmc_type_name(ti->type), lmc_type_name(t));
        int64_t n = ti->ne[0], rows = ti->n_elements / n;
        size_t out_bytes = lmc_type_row_bytes(t, n) * (size_t)rows;
        char *buf = malloc(out_bytes ? out_bytes : 1);
        if (!buf) {
            rc = lmc_set_error(LMC_ERR_NOMEM, "quantize: %s: cannot allocate %zu bytes", ti->name, out_bytes);
            break;
        }
        owned[i] = buf;
        conv_task c = {.src = ti, .dst_type = t, .dst = buf, .rows = rows, .n = n};
        lmc_threadpool_run(tp, conv_rows, &c);
        if (c.err) {
            rc = lmc_set_error(c.err, "quantize: %s: converting %s -> %s failed", ti->name,
                               lmc_type_name(ti->type), lmc_type_name(t));
            break;
        }
        rc = lmc_gguf_writer_add_tensor(w, ti->name, t, ti->n_dims, ti->ne, buf, out_bytes, false);
        bytes_out += out_bytes;
        logf_(&s, "%-36s %-6s -> %-6s", ti->name, lmc_type_name(ti->type), lmc_type_name(t));
    }
    if (rc == LMC_OK) rc = lmc_gguf_writer_write(w, out_path);
    if (rc == LMC_OK) {
        logf_(&s, "%s: %.2f MiB -> %.2f MiB (%s)", out_path, bytes_in / 1048576.0, bytes_out / 1048576.0, mix->name);
        if (s.n_fallback)
            logf_(&s, "warning: %d tensor(s) needed a fallback type (row length not a multiple of the block size)",
                  s.n_fallback);
    }
done:
    if (owned)
        for (int64_t i = 0; i < nt; i++) free(owned[i]);
    free(owned);
    free(order);
    lmc_threadpool_free(tp);
    lmc_gguf_writer_free(w);
    lmc_gguf_close(g);
    return rc;
}
