/* Hugging Face folder -> GGUF: config.json, model.safetensors (or the shards named by
 * model.safetensors.index.json), tokenizer.json and tokenizer_config.json become one
 * GGUF with llama.cpp's tensor names and keys (llama, qwen2 and gpt2). */
#include "lmc-impl.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HF_MAX_SHARDS 256

typedef struct hf_src {
    lmc_safetensors *st[HF_MAX_SHARDS];
    int n;
} hf_src;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

/* Parsed JSON of DIR/NAME; NULL with the error set (missing is LMC_ERR_NOT_FOUND). */
static cJSON *load_json(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = read_text(path);
    if (!s) return lmc_set_error_null(LMC_ERR_NOT_FOUND, "%s: cannot read", path);
    cJSON *j = cJSON_Parse(s);
    free(s);
    if (!j) return lmc_set_error_null(LMC_ERR_FORMAT, "%s: malformed JSON", path);
    return j;
}

static int src_open(hf_src *s, const char *dir)
{
    char path[4096];
    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    char *txt = read_text(path);
    if (!txt) {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        s->st[0] = lmc_safetensors_open(path);
        if (!s->st[0]) return LMC_ERR_IO;
        s->n = 1;
        return LMC_OK;
    }
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    const cJSON *wm = j ? cJSON_GetObjectItemCaseSensitive(j, "weight_map") : NULL;
    if (!cJSON_IsObject(wm)) {
        cJSON_Delete(j);
        return lmc_set_error(LMC_ERR_FORMAT, "%s: no weight_map object", path);
    }
    /* Distinct shard names, in first-seen order. */
    const char *names[HF_MAX_SHARDS];
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, wm) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/')) {
            cJSON_Delete(j);
            return lmc_set_error(LMC_ERR_FORMAT, "%s: weight_map value for '%s' is not a file name",
                                 path, e->string ? e->string : "?");
        }
        int k = 0;
        while (k < n && strcmp(names[k], e->valuestring) != 0) k++;
        if (k == n) {
            if (n == HF_MAX_SHARDS) {
                cJSON_Delete(j);
                return lmc_set_error(LMC_ERR_LIMIT, "%s: more than %d shards", path, HF_MAX_SHARDS);
            }
            names[n++] = e->valuestring;
        }
    }
    for (int k = 0; k < n; k++) {
        char sp[4096];
        snprintf(sp, sizeof sp, "%s/%s", dir, names[k]);
        s->st[k] = lmc_safetensors_open(sp);
        if (!s->st[k]) { cJSON_Delete(j); return LMC_ERR_IO; }
        s->n = k + 1;
    }
    cJSON_Delete(j);
    if (n == 0) return lmc_set_error(LMC_ERR_FORMAT, "%s: empty weight_map", path);
    return LMC_OK;
}

static void src_close(hf_src *s)
{
    for (int k = 0; k < s->n; k++) lmc_safetensors_close(s->st[k]);
    s->n = 0;
}

static const lmc_st_tensor *src_find(const hf_src *s, const char *name)
{
    for (int k = 0; k < s->n; k++) {
        const lmc_st_tensor *t = lmc_safetensors_find(s->st[k], name);
        if (t) return t;
    }
    return NULL;
}

/* Tensor as n floats (F32/F16/BF16 sources); caller frees. */
static float *tensor_f32(const lmc_st_tensor *t, int64_t *n_out)
{
    int64_t n = 1;
    for (int d = 0; d < t->n_dims; d++) n *= t->shape[d];
    lmc_type ty;
    if (!strcmp(t->dtype, "F32")) ty = LMC_TYPE_F32;
    else if (!strcmp(t->dtype, "F16")) ty = LMC_TYPE_F16;
    else if (!strcmp(t->dtype, "BF16")) ty = LMC_TYPE_BF16;
    else return lmc_set_error_null(LMC_ERR_UNSUPPORTED, "tensor %s: dtype %s (want F32, F16 or BF16)",
                                   t->name, t->dtype);
    float *f = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!f) return lmc_set_error_null(LMC_ERR_NOMEM, "tensor %s: out of memory", t->name);
    if (ty == LMC_TYPE_F32) memcpy(f, t->data, (size_t)n * sizeof(float));
    else if (lmc_dequantize_row(ty, t->data, f, n) != LMC_OK) { free(f); return NULL; }
    *n_out = n;
    return f;
}

/* HF keeps each head's rotary halves apart ([re0..re_{d/2-1}, im0..]); llama.cpp's rope
 * wants them interleaved, so rows are permuted as convert_hf_to_gguf.py's permute(). */
static void permute_rows(float *w, int64_t rows, int64_t cols, int n_head)
{
    int64_t hd = rows / n_head;
    float *tmp = malloc((size_t)(rows * cols) * sizeof(float));
    if (!tmp) return;
    memcpy(tmp, w, (size_t)(rows * cols) * sizeof(float));
    for (int h = 0; h < n_head; h++)
        for (int64_t i = 0; i < hd / 2; i++)
            for (int j = 0; j < 2; j++)
                memcpy(w + (h * hd + i * 2 + j) * cols, tmp + (h * hd + j * (hd / 2) + i) * cols,
                       (size_t)cols * sizeof(float));
    free(tmp);
}

typedef struct conv {
    lmc_gguf_writer *w;
    hf_src src;
    lmc_type wtype;
    bool qwen2, gpt2;
    int n_head, n_head_kv;
    bool transpose; /* next put(): the source is [in][out] (GPT-2's Conv1D) */
} conv;

/* Copies HF tensor `hf` to GGUF `gg`; perm_heads > 0 permutes rows for rope. */
static int put(conv *c, const char *hf, const char *gg, int perm_heads, bool required)
{
    const lmc_st_tensor *t = src_find(&c->src, hf);
    if (!t) return required ? lmc_set_error(LMC_ERR_NOT_FOUND, "tensor %s missing", hf) : 1;
    if (t->n_dims < 1 || t->n_dims > 2)
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "tensor %s: %d dimensions", hf, t->n_dims);
    int64_t n = 0;
    float *f = tensor_f32(t, &n);
    if (!f) return LMC_ERR_FORMAT;
    int64_t ne[2] = {t->shape[t->n_dims - 1], t->n_dims == 2 ? t->shape[0] : 1};
    if (c->transpose && t->n_dims == 2) { /* [in][out] -> [out][in] rows */
        float *tr = malloc((size_t)n * sizeof(float));
        if (!tr) { free(f); return lmc_set_error(LMC_ERR_NOMEM, "out of memory"); }
        for (int64_t i = 0; i < ne[1]; i++)
            for (int64_t o = 0; o < ne[0]; o++) tr[o * ne[1] + i] = f[i * ne[0] + o];
        free(f);
        f = tr;
        const int64_t t0 = ne[0];
        ne[0] = ne[1], ne[1] = t0;
    }
    if (perm_heads > 0) {
        if ((t->n_dims == 2 ? ne[1] : ne[0]) % (2 * perm_heads)) {
            free(f);
            return lmc_set_error(LMC_ERR_FORMAT, "tensor %s: %lld rows not divisible into %d heads",
                                 hf, (long long)ne[1], perm_heads);
        }
        if (t->n_dims == 2) permute_rows(f, ne[1], ne[0], perm_heads);
        else permute_rows(f, ne[0], 1, perm_heads);
    }
    /* Norms, biases and anything 1-D stay F32, as llama.cpp's converter keeps them. */
    lmc_type ty = t->n_dims == 2 ? c->wtype : LMC_TYPE_F32;
    if (ne[0] % lmc_type_block_size(ty)) ty = LMC_TYPE_F16;
    int rc;
    if (ty == LMC_TYPE_F32) {
        rc = lmc_gguf_writer_add_tensor(c->w, gg, ty, t->n_dims, ne, f, (size_t)n * 4, true);
    } else {
        size_t rb = lmc_type_row_bytes(ty, ne[0]);
        uint8_t *q = malloc(rb * (size_t)ne[1]);
        if (!q) { free(f); return lmc_set_error(LMC_ERR_NOMEM, "out of memory"); }
        rc = LMC_OK;
        for (int64_t r = 0; r < ne[1] && rc == LMC_OK; r++)
            rc = lmc_quantize_row(ty, f + r * ne[0], q + (size_t)r * rb, ne[0]);
        if (rc == LMC_OK)
            rc = lmc_gguf_writer_add_tensor(c->w, gg, ty, t->n_dims, ne, q, rb * (size_t)ne[1], true);
        free(q);
    }
    free(f);
    return rc;
}

static int cfg_int(const cJSON *cfg, const char *k, int64_t *out, bool required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, k);
    if (!cJSON_IsNumber(v)) {
        if (required) return lmc_set_error(LMC_ERR_FORMAT, "config.json: '%s' missing or not a number", k);
        return 1;
    }
    if (v->valuedouble < 0 || v->valuedouble > 1e12 || v->valuedouble != (double)(int64_t)v->valuedouble)
        return lmc_set_error(LMC_ERR_FORMAT, "config.json: '%s' = %g is not a count", k, v->valuedouble);
    *out = (int64_t)v->valuedouble;
    return LMC_OK;
}

/* Bytes of the GPT-2 byte-to-unicode map are what tokenizer.json stores for byte-level BPE,
 * the same text llama.cpp's gpt2 vocab keeps, so tokens and merges copy as they are. */
static int put_tokenizer(conv *c, const char *dir, int64_t n_vocab_model)
{
    cJSON *tj = load_json(dir, "tokenizer.json");
    if (!tj) return LMC_ERR_NOT_FOUND;
    cJSON *tc = load_json(dir, "tokenizer_config.json"); /* optional */
    int rc = LMC_OK;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(tj, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(tj, "added_tokens");
    bool byte_fallback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"));
    char **toks = NULL;
    int32_t *ttype = NULL;
    float *scores = NULL;
    char **mstr = NULL;
    int64_t n_tok = 0, n_merge = 0, n = 0;
    char **padnames = NULL;
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE") || !cJSON_IsObject(vocab)) {
        rc = lmc_set_error(LMC_ERR_UNSUPPORTED, "%s/tokenizer.json: only model.type \"BPE\" with a vocab object", dir);
        goto done;
    }
    /* Size = largest id + 1 over vocab and added tokens, at least the model's rows. */
    n = n_vocab_model;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= 1 << 24) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s/tokenizer.json: bad id for token '%s'", dir, e->string);
            goto done;
        }
        if ((int64_t)e->valuedouble + 1 > n) n = (int64_t)e->valuedouble + 1;
    }
    cJSON_ArrayForEach(e, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 1 << 24 && (int64_t)id->valuedouble + 1 > n)
            n = (int64_t)id->valuedouble + 1;
    }
    n_tok = n;
    toks = calloc((size_t)n, sizeof *toks);
    ttype = calloc((size_t)n, sizeof *ttype);
    scores = calloc((size_t)n, sizeof *scores);
    if (!toks || !ttype || !scores) { rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory"); goto done; }
    cJSON_ArrayForEach(e, vocab) {
        int64_t id = (int64_t)e->valuedouble;
        toks[id] = e->string;
        ttype[id] = 1; /* normal */
        scores[id] = -(float)id; /* SentencePiece-style merge priority: earlier ids win */
        if (byte_fallback && strlen(e->string) == 6 && !strncmp(e->string, "<0x", 3)) ttype[id] = 6;
    }
    cJSON_ArrayForEach(e, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(ct) || id->valuedouble < 0 || id->valuedouble >= (double)n) continue;
        int64_t i = (int64_t)id->valuedouble;
        toks[i] = ct->valuestring;
        ttype[i] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "special")) ? 3 : 4;
    }
    char pad[64];
    padnames = calloc((size_t)n, sizeof *padnames);
    if (!padnames) { rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory"); goto done; }
    for (int64_t i = 0; i < n; i++)
        if (!toks[i]) { /* ids the model has but the tokenizer does not name */
            snprintf(pad, sizeof pad, "[PAD%lld]", (long long)i);
            padnames[i] = strdup(pad);
            toks[i] = padnames[i];
            ttype[i] = 5; /* unused */
        }
    if (byte_fallback) {
        lmc_gguf_writer_set_str(c->w, "tokenizer.ggml.model", "llama");
        lmc_gguf_writer_set_str(c->w, "tokenizer.ggml.pre", "default");
        lmc_gguf_writer_set_array(c->w, "tokenizer.ggml.scores", LMC_GGUF_FLOAT32, scores, (uint64_t)n);
    } else {
        lmc_gguf_writer_set_str(c->w, "tokenizer.ggml.model", "gpt2");
        lmc_gguf_writer_set_str(c->w, "tokenizer.ggml.pre", c->qwen2 ? "qwen2" : "gpt-2");
        (void)c->gpt2;
        int64_t nm = cJSON_GetArraySize(merges);
        mstr = calloc((size_t)(nm ? nm : 1), sizeof *mstr);
        if (!mstr) { rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory"); goto free_pad; }
        cJSON_ArrayForEach(e, merges) {
            if (cJSON_IsString(e)) {
                mstr[n_merge++] = strdup(e->valuestring);
            } else if (cJSON_GetArraySize(e) == 2 && cJSON_IsString(cJSON_GetArrayItem(e, 0)) &&
                       cJSON_IsString(cJSON_GetArrayItem(e, 1))) { /* newer ["a","b"] form */
                const char *a = cJSON_GetArrayItem(e, 0)->valuestring, *b = cJSON_GetArrayItem(e, 1)->valuestring;
                char *m = malloc(strlen(a) + strlen(b) + 2);
                if (m) sprintf(m, "%s %s", a, b);
                mstr[n_merge++] = m;
            } else {
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s/tokenizer.json: merge %lld malformed", dir, (long long)n_merge);
                goto free_pad;
            }
            if (!mstr[n_merge - 1]) { rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory"); goto free_pad; }
        }
        rc = lmc_gguf_writer_set_array_str(c->w, "tokenizer.ggml.merges", (const char *const *)mstr, (uint64_t)n_merge);
    }
    if (rc == LMC_OK) rc = lmc_gguf_writer_set_array_str(c->w, "tokenizer.ggml.tokens", (const char *const *)toks, (uint64_t)n);
    if (rc == LMC_OK) rc = lmc_gguf_writer_set_array(c->w, "tokenizer.ggml.token_type", LMC_GGUF_INT32, ttype, (uint64_t)n);
    /* Special ids and the chat template from tokenizer_config.json. */
    if (rc == LMC_OK && tc) {
        static const char *const keys[][2] = {{"bos_token", "tokenizer.ggml.bos_token_id"},
                                              {"eos_token", "tokenizer.ggml.eos_token_id"},
                                              {"unk_token", "tokenizer.ggml.unknown_token_id"},
                                              {"pad_token", "tokenizer.ggml.padding_token_id"}};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(tc, keys[k][0]);
            if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
            if (!cJSON_IsString(v)) continue;
            for (int64_t i = 0; i < n; i++)
                if (!strcmp(toks[i], v->valuestring)) {
                    lmc_gguf_writer_set_u32(c->w, keys[k][1], (uint32_t)i);
                    break;
                }
        }
        const cJSON *ab = cJSON_GetObjectItemCaseSensitive(tc, "add_bos_token");
        if (cJSON_IsBool(ab)) lmc_gguf_writer_set_bool(c->w, "tokenizer.ggml.add_bos_token", cJSON_IsTrue(ab));
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(tc, "chat_template");
        if (cJSON_IsString(ct)) rc = lmc_gguf_writer_set_str(c->w, "tokenizer.chat_template", ct->valuestring);
    }
free_pad:
done:
    for (int64_t i = 0; padnames && i < n; i++) free(padnames[i]);
    free(padnames);
    for (int64_t i = 0; i < n_merge; i++) free(mstr[i]);
    free(mstr);
    free(toks);
    free(ttype);
    free(scores);
    (void)n_tok;
    cJSON_Delete(tc);
    cJSON_Delete(tj);
    return rc;
}

/* GPT2LMHeadModel: Conv1D weights are stored [in][out] and are transposed; tensor names
 * may carry a "transformer." prefix (save_pretrained) or not (older checkpoints). */
static int put_gpt2(conv *c, const char *hf, const char *gg, bool transpose, bool required)
{
    char full[300];
    snprintf(full, sizeof full, "transformer.%s", hf);
    const char *name = src_find(&c->src, full) ? full : hf;
    c->transpose = transpose;
    int rc = put(c, name, gg, 0, required);
    c->transpose = false;
    return rc;
}

static int convert_gpt2(conv *c, const cJSON *cfg, const char *dir)
{
    int64_t n_embd, n_layer, n_head, n_ctx, n_vocab, n_ff = 0;
    int rc;
    if ((rc = cfg_int(cfg, "n_embd", &n_embd, true)) < 0 || (rc = cfg_int(cfg, "n_layer", &n_layer, true)) < 0 ||
        (rc = cfg_int(cfg, "n_head", &n_head, true)) < 0 || (rc = cfg_int(cfg, "n_positions", &n_ctx, true)) < 0 ||
        (rc = cfg_int(cfg, "vocab_size", &n_vocab, true)) < 0 || (rc = cfg_int(cfg, "n_inner", &n_ff, false)) < 0)
        return rc;
    if (n_ff == 0) n_ff = 4 * n_embd; /* n_inner null or absent */
    if (n_head < 1 || n_embd % n_head || n_layer < 1 || n_layer > 4096 || n_vocab > (1 << 24) || n_embd > (1 << 20) ||
        n_ff > (1 << 24) || n_ctx < 1 || n_ctx > (1 << 24))
        return lmc_set_error(LMC_ERR_FORMAT, "%s/config.json: inconsistent heads/sizes", dir);
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(cfg, "activation_function");
    if (cJSON_IsString(act) && strcmp(act->valuestring, "gelu_new") && strcmp(act->valuestring, "gelu_pytorch_tanh"))
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "%s/config.json: activation_function %s (lmc's gpt2 uses the tanh GELU)",
                             dir, act->valuestring);
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(cfg, "layer_norm_epsilon");
    c->n_head = c->n_head_kv = (int)n_head;
    lmc_gguf_writer_set_str(c->w, "general.architecture", "gpt2");
    lmc_gguf_writer_set_u32(c->w, "general.file_type", c->wtype == LMC_TYPE_F32 ? 0 : c->wtype == LMC_TYPE_F16 ? 1 : 7);
    lmc_gguf_writer_set_u32(c->w, "gpt2.context_length", (uint32_t)n_ctx);
    lmc_gguf_writer_set_u32(c->w, "gpt2.embedding_length", (uint32_t)n_embd);
    lmc_gguf_writer_set_u32(c->w, "gpt2.block_count", (uint32_t)n_layer);
    lmc_gguf_writer_set_u32(c->w, "gpt2.feed_forward_length", (uint32_t)n_ff);
    lmc_gguf_writer_set_u32(c->w, "gpt2.attention.head_count", (uint32_t)n_head);
    lmc_gguf_writer_set_f32(c->w, "gpt2.attention.layer_norm_epsilon", cJSON_IsNumber(eps) ? (float)eps->valuedouble : 1e-5f);
    if ((rc = put_gpt2(c, "wte.weight", "token_embd.weight", false, true)) < 0 ||
        (rc = put_gpt2(c, "wpe.weight", "position_embd.weight", false, true)) < 0 ||
        (rc = put_gpt2(c, "ln_f.weight", "output_norm.weight", false, true)) < 0 ||
        (rc = put_gpt2(c, "ln_f.bias", "output_norm.bias", false, true)) < 0)
        return rc;
    for (int64_t l = 0; l < n_layer; l++) {
        static const struct { const char *hf, *gg; bool tr; } map[] = {
            {"ln_1.weight", "attn_norm.weight", false},      {"ln_1.bias", "attn_norm.bias", false},
            {"attn.c_attn.weight", "attn_qkv.weight", true}, {"attn.c_attn.bias", "attn_qkv.bias", false},
            {"attn.c_proj.weight", "attn_output.weight", true}, {"attn.c_proj.bias", "attn_output.bias", false},
            {"ln_2.weight", "ffn_norm.weight", false},       {"ln_2.bias", "ffn_norm.bias", false},
            {"mlp.c_fc.weight", "ffn_up.weight", true},      {"mlp.c_fc.bias", "ffn_up.bias", false},
            {"mlp.c_proj.weight", "ffn_down.weight", true},  {"mlp.c_proj.bias", "ffn_down.bias", false},
        };
        for (size_t m = 0; m < sizeof map / sizeof map[0]; m++) {
            char hn[256], gn[256];
            snprintf(hn, sizeof hn, "h.%lld.%s", (long long)l, map[m].hf);
            snprintf(gn, sizeof gn, "blk.%lld.%s", (long long)l, map[m].gg);
            if ((rc = put_gpt2(c, hn, gn, map[m].tr, true)) < 0) return rc;
        }
    }
    /* the head is tied to wte (GPT2LMHeadModel); an untied lm_head is kept */
    rc = put(c, "lm_head.weight", "output.weight", 0, false);
    if (rc < 0) return rc;
    rc = put_tokenizer(c, dir, n_vocab);
    if (rc == LMC_ERR_NOT_FOUND) rc = LMC_OK;
    return rc;
}

int lmc_hf_convert(const char *dir, const char *out_path, const char *type)
{
    conv c;
    memset(&c, 0, sizeof c);
    if (!type || !strcmp(type, "f32") || !strcmp(type, "F32")) c.wtype = LMC_TYPE_F32;
    else if (!strcmp(type, "f16") || !strcmp(type, "F16")) c.wtype = LMC_TYPE_F16;
    else if (!strcmp(type, "q8_0") || !strcmp(type, "Q8_0")) c.wtype = LMC_TYPE_Q8_0;
    else return lmc_set_error(LMC_ERR_INVALID_ARG, "convert: type '%s' (want f32, f16 or q8_0)", type);
    cJSON *cfg = load_json(dir, "config.json");
    if (!cfg) return LMC_ERR_NOT_FOUND;
    int rc = LMC_OK;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(cfg, "model_type");
    if (!cJSON_IsString(mt) || (strcmp(mt->valuestring, "llama") && strcmp(mt->valuestring, "qwen2") &&
                                strcmp(mt->valuestring, "gpt2"))) {
        rc = lmc_set_error(LMC_ERR_UNSUPPORTED, "%s/config.json: model_type %s (llama, qwen2 and gpt2 convert)", dir,
                           cJSON_IsString(mt) ? mt->valuestring : "missing");
        cJSON_Delete(cfg);
        return rc;
    }
    if (!strcmp(mt->valuestring, "gpt2")) {
        c.gpt2 = true;
        c.w = lmc_gguf_writer_init();
        if (!c.w) { cJSON_Delete(cfg); return LMC_ERR_NOMEM; }
        rc = src_open(&c.src, dir);
        if (rc == LMC_OK) rc = convert_gpt2(&c, cfg, dir);
        if (rc >= 0) rc = lmc_gguf_writer_write(c.w, out_path);
        src_close(&c.src);
        lmc_gguf_writer_free(c.w);
        cJSON_Delete(cfg);
        return rc < 0 ? rc : LMC_OK;
    }
    c.qwen2 = !strcmp(mt->valuestring, "qwen2");
    const char *arch = c.qwen2 ? "qwen2" : "llama";
    int64_t n_embd, n_layer, n_ff, n_head, n_head_kv, n_ctx = 2048, n_vocab;
    if ((rc = cfg_int(cfg, "hidden_size", &n_embd, true)) < 0 || (rc = cfg_int(cfg, "num_hidden_layers", &n_layer, true)) < 0 ||
        (rc = cfg_int(cfg, "intermediate_size", &n_ff, true)) < 0 ||
        (rc = cfg_int(cfg, "num_attention_heads", &n_head, true)) < 0 || (rc = cfg_int(cfg, "vocab_size", &n_vocab, true)) < 0) {
        cJSON_Delete(cfg);
        return rc;
    }
    n_head_kv = n_head;
    if ((rc = cfg_int(cfg, "num_key_value_heads", &n_head_kv, false)) < 0 ||
        (rc = cfg_int(cfg, "max_position_embeddings", &n_ctx, false)) < 0) {
        cJSON_Delete(cfg);
        return rc;
    }
    if (n_head < 1 || n_head_kv < 1 || n_head % n_head_kv || n_embd % n_head || n_layer < 1 || n_layer > 4096 ||
        n_vocab > (1 << 24) || n_embd > (1 << 20) || n_ff > (1 << 24) || n_ctx > (1 << 30)) {
        cJSON_Delete(cfg);
        return lmc_set_error(LMC_ERR_FORMAT, "%s/config.json: inconsistent heads/sizes", dir);
    }
    c.n_head = (int)n_head;
    c.n_head_kv = (int)n_head_kv;
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(cfg, "rms_norm_eps");
    const cJSON *theta = cJSON_GetObjectItemCaseSensitive(cfg, "rope_theta");
    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(cfg, "tie_word_embeddings");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(cfg, "rope_scaling");
    if (cJSON_IsObject(rs)) {
        cJSON_Delete(cfg);
        return lmc_set_error(LMC_ERR_UNSUPPORTED, "%s/config.json: rope_scaling is not supported yet", dir);
    }
    c.w = lmc_gguf_writer_init();
    if (!c.w) { cJSON_Delete(cfg); return LMC_ERR_NOMEM; }
    if ((rc = src_open(&c.src, dir)) != LMC_OK) goto out;
    char k[128];
#define KEY(s) (snprintf(k, sizeof k, "%s." s, arch), k)
    lmc_gguf_writer_set_str(c.w, "general.architecture", arch);
    lmc_gguf_writer_set_u32(c.w, "general.file_type", c.wtype == LMC_TYPE_F32 ? 0 : c.wtype == LMC_TYPE_F16 ? 1 : 7);
    lmc_gguf_writer_set_u32(c.w, KEY("context_length"), (uint32_t)n_ctx);
    lmc_gguf_writer_set_u32(c.w, KEY("embedding_length"), (uint32_t)n_embd);
    lmc_gguf_writer_set_u32(c.w, KEY("block_count"), (uint32_t)n_layer);
    lmc_gguf_writer_set_u32(c.w, KEY("feed_forward_length"), (uint32_t)n_ff);
    lmc_gguf_writer_set_u32(c.w, KEY("attention.head_count"), (uint32_t)n_head);
    lmc_gguf_writer_set_u32(c.w, KEY("attention.head_count_kv"), (uint32_t)n_head_kv);
    lmc_gguf_writer_set_u32(c.w, KEY("rope.dimension_count"), (uint32_t)(n_embd / n_head));
    lmc_gguf_writer_set_u32(c.w, KEY("vocab_size"), (uint32_t)n_vocab);
    lmc_gguf_writer_set_f32(c.w, KEY("attention.layer_norm_rms_epsilon"),
                            cJSON_IsNumber(eps) ? (float)eps->valuedouble : 1e-6f);
    lmc_gguf_writer_set_f32(c.w, KEY("rope.freq_base"), cJSON_IsNumber(theta) ? (float)theta->valuedouble : 10000.0f);
#undef KEY
    int pq = c.qwen2 ? 0 : c.n_head, pk = c.qwen2 ? 0 : c.n_head_kv;
    if ((rc = put(&c, "model.embed_tokens.weight", "token_embd.weight", 0, true)) < 0) goto out;
    if ((rc = put(&c, "model.norm.weight", "output_norm.weight", 0, true)) < 0) goto out;
    /* Tied embeddings: no output.weight, llama.cpp then reads token_embd (as lmc does). */
    rc = put(&c, "lm_head.weight", "output.weight", 0, false);
    (void)tie;
    if (rc < 0) goto out;
    for (int64_t l = 0; l < n_layer; l++) {
        static const struct { const char *hf, *gg; int perm; bool req; } map[] = {
            {"input_layernorm.weight", "attn_norm.weight", 0, true},
            {"self_attn.q_proj.weight", "attn_q.weight", 1, true},
            {"self_attn.k_proj.weight", "attn_k.weight", 2, true},
            {"self_attn.v_proj.weight", "attn_v.weight", 0, true},
            {"self_attn.o_proj.weight", "attn_output.weight", 0, true},
            {"self_attn.q_proj.bias", "attn_q.bias", 1, false},
            {"self_attn.k_proj.bias", "attn_k.bias", 2, false},
            {"self_attn.v_proj.bias", "attn_v.bias", 0, false},
            {"post_attention_layernorm.weight", "ffn_norm.weight", 0, true},
            {"mlp.gate_proj.weight", "ffn_gate.weight", 0, true},
            {"mlp.up_proj.weight", "ffn_up.weight", 0, true},
            {"mlp.down_proj.weight", "ffn_down.weight", 0, true},
        };
        for (size_t m = 0; m < sizeof map / sizeof map[0]; m++) {
            char hn[256], gn[256];
            snprintf(hn, sizeof hn, "model.layers.%lld.%s", (long long)l, map[m].hf);
            snprintf(gn, sizeof gn, "blk.%lld.%s", (long long)l, map[m].gg);
            /* A 1-D bias permutes like a one-column matrix. */
            int perm = map[m].perm == 1 ? pq : map[m].perm == 2 ? pk : 0;
            if ((rc = put(&c, hn, gn, perm, map[m].req)) < 0) goto out;
        }
    }
    rc = put_tokenizer(&c, dir, n_vocab);
    if (rc == LMC_ERR_NOT_FOUND) rc = LMC_OK; /* weights-only folders convert too (no tokenizer keys) */
    if (rc < 0) goto out;
    rc = lmc_gguf_writer_write(c.w, out_path);
out:
    src_close(&c.src);
    lmc_gguf_writer_free(c.w);
    cJSON_Delete(cfg);
    return rc < 0 ? rc : LMC_OK;
}
