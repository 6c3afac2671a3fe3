/* cmd_info.c — `lmc info MODEL`: what is in a GGUF file and what it needs to run. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *INFO_HELP =
    "usage: lmc info [options] MODEL.gguf\n"
    "\n"
    "Shows a GGUF model: architecture and hyperparameters, tokenizer, chat template,\n"
    "every tensor (name, type, shape, bytes), parameter count and the memory needed to run.\n"
    "\n"
    "options:\n"
    "  -m FILE          the model (or give it as the argument)\n"
    "  -c N             context length for the memory estimate (default: the model's)\n"
    "  --kv-type T      KV cache type for the estimate: f16 (default) or f32\n"
    "  --json           print one JSON object instead of text (for scripts)\n"
    "  --no-tensors     leave out the tensor table\n"
    "  --all-kv         print every metadata key (long arrays are summarised)\n"
    "\n"
    "example:\n"
    "  lmc info ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf\n";

/* Hyperparameters lmc reads, under "<arch>.": label, key suffix. */
static const char *HPARAMS[][2] = {
    {"context length", "context_length"},
    {"embedding size", "embedding_length"},
    {"layers", "block_count"},
    {"feed-forward size", "feed_forward_length"},
    {"attention heads", "attention.head_count"},
    {"KV heads", "attention.head_count_kv"},
    {"key length", "attention.key_length"},
    {"value length", "attention.value_length"},
    {"RMS norm epsilon", "attention.layer_norm_rms_epsilon"},
    {"norm epsilon", "attention.layer_norm_epsilon"},
    {"RoPE dimensions", "rope.dimension_count"},
    {"RoPE base", "rope.freq_base"},
    {"RoPE scaling", "rope.scaling.type"},
    {"sliding window", "attention.sliding_window"},
    {"window pattern", "attention.sliding_window_pattern"},
    {"experts", "expert_count"},
    {"experts per token", "expert_used_count"},
    {"vocab size", "vocab_size"},
};

typedef struct {
    int64_t n_layer, n_embd, n_head, n_head_kv, n_ctx, n_vocab, head_dim, n_ff;
} shape;

static int64_t get_i(const lmc_gguf *g, const char *arch, const char *suffix, int64_t def) {
    char key[256];
    int64_t v;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return lmc_gguf_get_int(g, key, &v) == LMC_OK ? v : def;
}

/* Value as short text; arrays are summarised as "[type x n]" unless short. */
static void value_text(const lmc_gguf_value *v, char *buf, size_t cap) {
    int64_t i;
    uint64_t u;
    double f;
    bool b;
    lmc_str s;
    switch (lmc_gguf_value_type(v)) {
    case LMC_GGUF_STRING:
        lmc_gguf_value_str(v, &s);
        if (s.len > 60)
            snprintf(buf, cap, "\"%.57s...\" (%" PRIu64 " bytes)", s.ptr, s.len);
        else
            snprintf(buf, cap, "\"%.*s\"", (int)s.len, s.ptr);
        for (char *p = buf; *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
        return;
    case LMC_GGUF_BOOL:
        lmc_gguf_value_bool(v, &b);
        snprintf(buf, cap, "%s", b ? "true" : "false");
        return;
    case LMC_GGUF_FLOAT32:
    case LMC_GGUF_FLOAT64:
        lmc_gguf_value_float(v, &f);
        snprintf(buf, cap, "%g", f);
        return;
    case LMC_GGUF_ARRAY:
        snprintf(buf, cap, "[%s x %" PRIu64 "]", lmc_gguf_type_name(lmc_gguf_array_type(v)),
                 lmc_gguf_array_len(v));
        return;
    default:
        if (lmc_gguf_value_int(v, &i) == LMC_OK)
            snprintf(buf, cap, "%" PRId64, i);
        else if (lmc_gguf_value_uint(v, &u) == LMC_OK)
            snprintf(buf, cap, "%" PRIu64, u);
        else
            snprintf(buf, cap, "?");
    }
}

static cJSON *value_json(const lmc_gguf_value *v) {
    int64_t i;
    uint64_t u;
    double f;
    bool b;
    lmc_str s;
    switch (lmc_gguf_value_type(v)) {
    case LMC_GGUF_STRING: {
        lmc_gguf_value_str(v, &s);
        char *t = malloc(s.len + 1);
        if (!t) return cJSON_CreateNull();
        memcpy(t, s.ptr, s.len);
        t[s.len] = 0; /* an embedded NUL truncates the JSON string; GGUF strings are text */
        cJSON *j = cJSON_CreateString(t);
        free(t);
        return j;
    }
    case LMC_GGUF_BOOL:
        lmc_gguf_value_bool(v, &b);
        return cJSON_CreateBool(b);
    case LMC_GGUF_FLOAT32:
    case LMC_GGUF_FLOAT64:
        lmc_gguf_value_float(v, &f);
        return cJSON_CreateNumber(f);
    case LMC_GGUF_ARRAY: {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "array_of", lmc_gguf_type_name(lmc_gguf_array_type(v)));
        cJSON_AddNumberToObject(o, "length", (double)lmc_gguf_array_len(v));
        return o;
    }
    default:
        if (lmc_gguf_value_int(v, &i) == LMC_OK) return cJSON_CreateNumber((double)i);
        if (lmc_gguf_value_uint(v, &u) == LMC_OK) return cJSON_CreateNumber((double)u);
        return cJSON_CreateNull();
    }
}

static const char *str_or(const lmc_gguf *g, const char *key, char *buf, size_t cap, const char *def) {
    lmc_str s;
    if (lmc_gguf_get_str(g, key, &s) != LMC_OK) return def;
    snprintf(buf, cap, "%.*s", (int)(s.len < cap ? s.len : cap - 1), s.ptr);
    return buf;
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL, *kv_type = "f16";
    bool json = false, tensors = true, all_kv = false;
    long long n_ctx_opt = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(INFO_HELP, stdout);
            return CLI_OK;
        } else if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            rc = cli_value("info", argc, argv, &i, &path);
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--ctx-size") == 0) {
            rc = cli_int("info", argc, argv, &i, 1, 1 << 24, &n_ctx_opt);
        } else if (strcmp(a, "--kv-type") == 0) {
            rc = cli_value("info", argc, argv, &i, &kv_type);
            if (!rc && strcmp(kv_type, "f16") != 0 && strcmp(kv_type, "f32") != 0)
                rc = cli_usage_error("info", "--kv-type must be f16 or f32, got '%s'", kv_type);
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--no-tensors") == 0) {
            tensors = false;
        } else if (strcmp(a, "--all-kv") == 0) {
            all_kv = true;
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("info", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            rc = cli_usage_error("info", "unexpected argument '%s'", a);
        }
        if (rc) return rc;
    }
    if (!path) return cli_usage_error("info", "no model given");

    lmc_gguf *g = lmc_gguf_open_model(path);
    if (!g) return cli_lib_error();

    char arch[128], buf[512], b1[32], b2[32];
    str_or(g, "general.architecture", arch, sizeof arch, "(none)");
    shape s = {0};
    s.n_layer = get_i(g, arch, "block_count", 0);
    s.n_embd = get_i(g, arch, "embedding_length", 0);
    s.n_head = get_i(g, arch, "attention.head_count", 0);
    s.n_head_kv = get_i(g, arch, "attention.head_count_kv", s.n_head);
    s.n_ctx = n_ctx_opt ? n_ctx_opt : get_i(g, arch, "context_length", 0);
    s.n_ff = get_i(g, arch, "feed_forward_length", 0);
    /* values come from the file: a hostile INT64_MIN / -1 would trap */
    s.head_dim = get_i(g, arch, "attention.key_length", s.n_head > 0 && s.n_embd > 0 ? s.n_embd / s.n_head : 0);
    const lmc_gguf_value *toks = lmc_gguf_get(g, "tokenizer.ggml.tokens");
    s.n_vocab = toks ? (int64_t)lmc_gguf_array_len(toks) : get_i(g, arch, "vocab_size", 0);

    uint64_t weight_bytes = 0, n_params = 0;
    for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
        weight_bytes += t->n_bytes;
        n_params += (uint64_t)t->n_elements;
    }
    /* KV cache: K and V per layer, per position, per KV head. */
    double kv_elt = strcmp(kv_type, "f32") == 0 ? 4 : 2;
    double kv_bytes = 2.0 * (double)s.n_layer * (double)s.n_ctx * (double)s.n_head_kv * (double)s.head_dim * kv_elt;
    /* Scratch for a 512-token batch: activations of one layer plus the logits of one row. */
    double scratch = 512.0 * ((double)s.n_embd * 6 + (double)s.n_ff * 3) * 4 + (double)s.n_vocab * 4 * 2;
    double total = (double)weight_bytes + kv_bytes + scratch;
    const lmc_gguf_value *tmpl = lmc_gguf_get(g, "tokenizer.chat_template");
    lmc_str tmpl_s = {"", 0};
    if (tmpl) lmc_gguf_value_str(tmpl, &tmpl_s);
    const lmc_gguf_value *merges = lmc_gguf_get(g, "tokenizer.ggml.merges");

    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddNumberToObject(o, "gguf_version", lmc_gguf_version(g));
        cJSON_AddNumberToObject(o, "file_bytes", (double)lmc_gguf_file_size(g));
        cJSON_AddNumberToObject(o, "alignment", (double)lmc_gguf_alignment(g));
        cJSON_AddStringToObject(o, "architecture", arch);
        cJSON_AddNumberToObject(o, "parameters", (double)n_params);
        cJSON_AddNumberToObject(o, "weight_bytes", (double)weight_bytes);
        cJSON *mem = cJSON_AddObjectToObject(o, "memory");
        cJSON_AddNumberToObject(mem, "context", (double)s.n_ctx);
        cJSON_AddStringToObject(mem, "kv_type", kv_type);
        cJSON_AddNumberToObject(mem, "kv_cache_bytes", kv_bytes);
        cJSON_AddNumberToObject(mem, "scratch_bytes", scratch);
        cJSON_AddNumberToObject(mem, "total_bytes", total);
        cJSON_AddBoolToObject(o, "chat_template", tmpl != NULL);
        cJSON *md = cJSON_AddObjectToObject(o, "metadata");
        for (int64_t i = 0; i < lmc_gguf_n_kv(g); i++)
            cJSON_AddItemToObject(md, lmc_gguf_kv_key(g, i), value_json(lmc_gguf_kv_value(g, i)));
        if (tensors) {
            cJSON *ta = cJSON_AddArrayToObject(o, "tensors");
            for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
                const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
                cJSON *tj = cJSON_CreateObject();
                cJSON_AddStringToObject(tj, "name", t->name);
                cJSON_AddStringToObject(tj, "type", lmc_type_name(t->type));
                cJSON *sh = cJSON_AddArrayToObject(tj, "shape");
                for (int d = 0; d < t->n_dims; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->ne[d]));
                cJSON_AddNumberToObject(tj, "bytes", (double)t->n_bytes);
                cJSON_AddNumberToObject(tj, "offset", (double)t->offset);
                cJSON_AddItemToArray(ta, tj);
            }
        }
        char *text = cJSON_Print(o);
        if (text) puts(text);
        free(text);
        cJSON_Delete(o);
        lmc_gguf_close(g);
        return CLI_OK;
    }

    printf("file:            %s\n", path);
    printf("format:          GGUF v%u, %s, %" PRId64 " metadata keys, %" PRId64 " tensors, alignment %" PRIu64 "\n",
           lmc_gguf_version(g), cli_bytes((double)lmc_gguf_file_size(g), b1, sizeof b1), lmc_gguf_n_kv(g),
           lmc_gguf_n_tensors(g), lmc_gguf_alignment(g));
    printf("name:            %s\n", str_or(g, "general.name", buf, sizeof buf, "(none)"));
    printf("architecture:    %s\n", arch);
    for (size_t k = 0; k < sizeof HPARAMS / sizeof HPARAMS[0]; k++) {
        char key[256];
        snprintf(key, sizeof key, "%s.%s", arch, HPARAMS[k][1]);
        const lmc_gguf_value *v = lmc_gguf_get(g, key);
        if (!v) continue;
        value_text(v, buf, sizeof buf);
        printf("  %-18s %s\n", HPARAMS[k][0], buf);
    }
    printf("tokenizer:       %s", str_or(g, "tokenizer.ggml.model", buf, sizeof buf, "(none)"));
    if (lmc_gguf_get(g, "tokenizer.ggml.pre")) printf(" (pre: %s)", str_or(g, "tokenizer.ggml.pre", buf, sizeof buf, ""));
    printf(", %" PRId64 " tokens", s.n_vocab);
    if (merges) printf(", %" PRIu64 " merges", lmc_gguf_array_len(merges));
    const char *special[][2] = {{"bos", "tokenizer.ggml.bos_token_id"}, {"eos", "tokenizer.ggml.eos_token_id"},
                                {"eot", "tokenizer.ggml.eot_token_id"}, {"unk", "tokenizer.ggml.unknown_token_id"},
                                {"pad", "tokenizer.ggml.padding_token_id"}};
    for (size_t k = 0; k < 5; k++) {
        int64_t id;
        if (lmc_gguf_get_int(g, special[k][1], &id) == LMC_OK) printf(", %s %" PRId64, special[k][0], id);
    }
    printf("\n");
    if (tmpl)
        printf("chat template:   yes (%" PRIu64 " bytes)\n", tmpl_s.len);
    else
        printf("chat template:   no\n");
    printf("parameters:      %" PRIu64 " (%.2f M)\n", n_params, (double)n_params / 1e6);
    printf("weights:         %s (%.2f bits per parameter)\n", cli_bytes((double)weight_bytes, b1, sizeof b1),
           n_params ? 8.0 * (double)weight_bytes / (double)n_params : 0.0);
    printf("memory to run:   %s = weights + KV cache %s (%s, %" PRId64 " tokens) + scratch %s\n",
           cli_bytes(total, b1, sizeof b1), cli_bytes(kv_bytes, b2, sizeof b2), kv_type, s.n_ctx,
           cli_bytes(scratch, buf, sizeof buf));

    if (all_kv) {
        printf("\nmetadata:\n");
        for (int64_t i = 0; i < lmc_gguf_n_kv(g); i++) {
            value_text(lmc_gguf_kv_value(g, i), buf, sizeof buf);
            printf("  %-44s %s\n", lmc_gguf_kv_key(g, i), buf);
        }
    }
    if (tensors) {
        printf("\n  %-40s %-6s %-22s %12s\n", "tensor", "type", "shape", "bytes");
        for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
            const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
            char sh[64] = "[";
            for (int d = 0; d < t->n_dims; d++) {
                char part[24];
                snprintf(part, sizeof part, "%s%" PRId64, d ? ", " : "", t->ne[d]);
                strncat(sh, part, sizeof sh - strlen(sh) - 2);
            }
            strcat(sh, "]");
            printf("  %-40s %-6s %-22s %12zu\n", t->name, lmc_type_name(t->type), sh, t->n_bytes);
        }
    }
    lmc_gguf_close(g);
    return CLI_OK;
}
