/* vocab.c — builds a tokenizer from a GGUF file's tokenizer.* metadata and checks it.
 *
 * The rules for defaults, special tokens and end-of-generation tokens follow
 * llama.cpp (src/llama-vocab.cpp, release b10573), because its outputs are the
 * reference lmc is tested against. What llama.cpp asserts on (duplicate tokens,
 * a BPE vocab without merges) is a clear error here.
 */
#include "vocab-impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small shared helpers ------------------------------------------------- */

uint64_t tok_hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, s, 8);
        h = (h ^ x) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t x = 0;
        memcpy(&x, s, n);
        h = (h ^ x) * 0xC4CEB9FE1A85EC53ull;
        h ^= h >> 29;
    }
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

int32_t str_map_find(const str_map *m, const char *s, size_t n) {
    uint64_t h = tok_hash(s, n);
    uint32_t i = (uint32_t)h & m->mask, hi = (uint32_t)(h >> 32);
    for (;;) {
        uint64_t e = m->slot[i];
        if (e == 0) return -1;
        if ((uint32_t)(e >> 32) == hi) {
            int32_t id = (int32_t)(uint32_t)e - 1;
            if (m->key_len[id] == n && memcmp(m->key[id], s, n) == 0) return id;
        }
        i = (i + 1) & m->mask;
    }
}

/* Builds the map over key[0..n). Returns LMC_OK, or LMC_ERR_FORMAT with *dup_a /
 * *dup_b set to two indices with the same key. */
static int str_map_build(str_map *m, const char *const *key, const uint32_t *key_len, int32_t n,
                         int32_t *dup_a, int32_t *dup_b) {
    uint32_t cap = 16;
    while (cap < (uint32_t)n * 2u) cap <<= 1;
    m->slot = calloc(cap, sizeof *m->slot);
    if (!m->slot) return lmc_set_error(LMC_ERR_NOMEM, "tokenizer: out of memory for the token map");
    m->mask = cap - 1;
    m->key = key;
    m->key_len = key_len;
    for (int32_t id = 0; id < n; id++) {
        uint64_t h = tok_hash(key[id], key_len[id]);
        uint32_t i = (uint32_t)h & m->mask;
        for (;;) {
            uint64_t e = m->slot[i];
            if (e == 0) {
                m->slot[i] = (h & 0xFFFFFFFF00000000ull) | (uint32_t)(id + 1);
                break;
            }
            int32_t o = (int32_t)(uint32_t)e - 1;
            if (key_len[o] == key_len[id] && memcmp(key[o], key[id], key_len[id]) == 0) {
                *dup_a = o;
                *dup_b = id;
                return LMC_ERR_FORMAT;
            }
            i = (i + 1) & m->mask;
        }
    }
    return LMC_OK;
}

int tok_utf8_valid_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && s[1] >= 0x90) return 0; /* > U+10FFFF */
        return 4;
    }
    return 0;
}

size_t tok_utf8_check(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* ASCII runs, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, p + i, 8);
            if (x & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        int l = tok_utf8_valid_len(p + i, n - i);
        if (!l) return i;
        i += (size_t)l;
    }
    return n;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other
 * 68 bytes (0x00-0x20, 0x7F-0xA0, 0xAD) to U+0100.. in byte order. */
static int byte_cp(uint8_t b) {
    if (b <= 0x20) return 0x100 + b;
    if (b >= 0x7F && b <= 0xA0) return 0x100 + 33 + (b - 0x7F);
    if (b == 0xAD) return 0x100 + 67;
    return b;
}

int tok_byte_to_utf8(uint8_t b, char out[2]) {
    int cp = byte_cp(b);
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

int tok_cp_to_byte(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return (int)cp;
    if (cp < 0x100 || cp > 0x143) return -1;
    uint32_t k = cp - 0x100;
    if (k <= 32) return (int)k;
    if (k <= 66) return (int)(0x7F + k - 33);
    return 0xAD;
}

int tok_out_push(tok_out *o, int32_t id) {
    if (o->n == o->cap) {
        int64_t cap = o->cap ? o->cap * 2 : 64;
        int32_t *p = realloc(o->ids, (size_t)cap * sizeof *p);
        if (!p) return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
        o->ids = p;
        o->cap = cap;
    }
    o->ids[o->n++] = id;
    return LMC_OK;
}

int tok_out_append(tok_out *o, const int32_t *ids, size_t n) {
    if (o->n + (int64_t)n > o->cap) {
        int64_t cap = o->cap ? o->cap : 64;
        while (cap < o->n + (int64_t)n) cap *= 2;
        int32_t *p = realloc(o->ids, (size_t)cap * sizeof *p);
        if (!p) return lmc_set_error(LMC_ERR_NOMEM, "tokenize: out of memory");
        o->ids = p;
        o->cap = cap;
    }
    if (n) memcpy(o->ids + o->n, ids, n * sizeof *ids);
    o->n += (int64_t)n;
    return LMC_OK;
}

/* ---- loading ------------------------------------------------------------- */

static bool get_str(const lmc_gguf *g, const char *key, char *buf, size_t cap) {
    lmc_str s;
    if (lmc_gguf_get_str(g, key, &s) != LMC_OK) return false;
    size_t n = s.len < cap - 1 ? (size_t)s.len : cap - 1;
    memcpy(buf, s.ptr, n);
    buf[n] = 0;
    return true;
}

static void get_bool(const lmc_gguf *g, const char *key, bool *out) {
    bool b;
    if (lmc_gguf_get_bool(g, key, &b) == LMC_OK) *out = b;
}

static int32_t find_cstr(const lmc_vocab *v, const char *s) { return vocab_find(v, s, strlen(s)); }

/* First token (in list order) whose text is one of names, or -1. */
static int32_t find_any(const lmc_vocab *v, const char *const *names) {
    for (; *names; names++) {
        int32_t id = find_cstr(v, *names);
        if (id >= 0) return id;
    }
    return -1;
}

static int cmp_special(const void *a, const void *b, void *ud) {
    const lmc_vocab *v = ud;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (v->text_len[x] != v->text_len[y]) return v->text_len[x] > v->text_len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static uint16_t attr_of_type(int64_t t) {
    switch (t) {
    case LMC_TOKEN_UNKNOWN: return TA_UNKNOWN;
    case LMC_TOKEN_UNUSED: return TA_UNUSED;
    case LMC_TOKEN_NORMAL: return TA_NORMAL;
    case LMC_TOKEN_CONTROL: return TA_CONTROL;
    case LMC_TOKEN_USER_DEFINED: return TA_USER_DEFINED;
    case LMC_TOKEN_BYTE: return TA_BYTE;
    default: return TA_UNDEFINED;
    }
}

static int load_tokens(lmc_vocab *v, const lmc_gguf *g) {
    const lmc_gguf_value *tv = lmc_gguf_get(g, "tokenizer.ggml.tokens");
    if (!tv) return lmc_set_error(LMC_ERR_NOT_FOUND, "tokenizer: the file has no tokenizer.ggml.tokens");
    if (lmc_gguf_value_type(tv) != LMC_GGUF_ARRAY || lmc_gguf_array_type(tv) != LMC_GGUF_STRING)
        return lmc_set_error(LMC_ERR_TYPE, "tokenizer: tokenizer.ggml.tokens must be an array of strings");
    uint64_t n = lmc_gguf_array_len(tv);
    if (n == 0) return lmc_set_error(LMC_ERR_FORMAT, "tokenizer: tokenizer.ggml.tokens is empty");
    if (n > (1u << 30)) return lmc_set_error(LMC_ERR_LIMIT, "tokenizer: %llu tokens is too many", (unsigned long long)n);
    v->n_tokens = (int32_t)n;

    const lmc_gguf_value *sv = lmc_gguf_get(g, "tokenizer.ggml.scores");
    if (sv) {
        lmc_gguf_type et = lmc_gguf_value_type(sv) == LMC_GGUF_ARRAY ? lmc_gguf_array_type(sv) : LMC_GGUF_TYPE_COUNT;
        if (et != LMC_GGUF_FLOAT32 && et != LMC_GGUF_INT32)
            return lmc_set_error(LMC_ERR_TYPE, "tokenizer: tokenizer.ggml.scores must be an array of float32 or int32");
        if (lmc_gguf_array_len(sv) < n)
            return lmc_set_error(LMC_ERR_FORMAT, "tokenizer: tokenizer.ggml.scores has %llu entries for %llu tokens",
                                 (unsigned long long)lmc_gguf_array_len(sv), (unsigned long long)n);
    }
    const lmc_gguf_value *yv = lmc_gguf_get(g, "tokenizer.ggml.token_type");
    if (yv) {
        if (lmc_gguf_value_type(yv) != LMC_GGUF_ARRAY || lmc_gguf_array_type(yv) != LMC_GGUF_INT32)
            return lmc_set_error(LMC_ERR_TYPE, "tokenizer: tokenizer.ggml.token_type must be an array of int32");
        if (lmc_gguf_array_len(yv) < n)
            return lmc_set_error(LMC_ERR_FORMAT, "tokenizer: tokenizer.ggml.token_type has %llu entries for %llu tokens",
                                 (unsigned long long)lmc_gguf_array_len(yv), (unsigned long long)n);
    }

    size_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        lmc_str s = lmc_gguf_array_str(tv, i);
        total += (s.len ? s.len : 32) + 1;
    }
    v->arena = malloc(total);
    v->text = calloc(n, sizeof *v->text);
    v->text_len = calloc(n, sizeof *v->text_len);
    v->score = calloc(n, sizeof *v->score);
    v->ttype = calloc(n, sizeof *v->ttype);
    v->attr = calloc(n, sizeof *v->attr);
    v->eog = calloc(n, 1);
    if (!v->arena || !v->text || !v->text_len || !v->score || !v->ttype || !v->attr || !v->eog)
        return lmc_set_error(LMC_ERR_NOMEM, "tokenizer: out of memory for %llu tokens", (unsigned long long)n);
    char *p = v->arena;
    for (uint64_t i = 0; i < n; i++) {
        lmc_str s = lmc_gguf_array_str(tv, i);
        size_t len = (size_t)s.len;
        if (len > 0xFFFFFF) return lmc_set_error(LMC_ERR_LIMIT, "tokenizer: token %llu is %zu bytes long", (unsigned long long)i, len);
        if (len == 0) {
            /* llama.cpp renames empty tokens so they stay distinct */
            len = (size_t)snprintf(p, 32, "[EMPTY_%llu]", (unsigned long long)i);
        } else {
            memcpy(p, s.ptr, len);
            p[len] = 0;
        }
        v->text[i] = p;
        v->text_len[i] = (uint32_t)len;
        p += len + 1;
        v->score[i] = sv ? (float)lmc_gguf_array_float(sv, i) : 0.0f;
        v->ttype[i] = yv ? (int32_t)lmc_gguf_array_int(yv, i) : LMC_TOKEN_NORMAL;
        v->attr[i] = yv ? attr_of_type(v->ttype[i]) : TA_NORMAL;
    }
    int32_t a = 0, b = 0;
    if (str_map_build(&v->map, v->text, v->text_len, v->n_tokens, &a, &b) != LMC_OK) {
        if (!v->map.slot) return LMC_ERR_NOMEM;
        return lmc_set_error(LMC_ERR_FORMAT, "tokenizer: duplicate token: ids %d and %d both have the text \"%.*s\"",
                             a, b, (int)LMC_MIN(v->text_len[b], 64u), v->text[b]);
    }
    return LMC_OK;
}

/* Special ids: key present and in range wins, else the model's default (if in range). */
/* A key that names no token of the vocabulary (id >= n_tokens) means "none": a
 * character vocabulary has no end-of-text token and must not inherit the gpt2 default
 * (11, a real character there). llama.cpp keeps its default in that case. */
static void special_id(lmc_vocab *v, const lmc_gguf *g, const char *key, int32_t *id) {
    if (*id >= v->n_tokens) *id = -1;
    int64_t x;
    if (lmc_gguf_get_int(g, key, &x) == LMC_OK) *id = x >= 0 && x < v->n_tokens ? (int32_t)x : -1;
}

static void mark_control(lmc_vocab *v, int32_t id) {
    if (id >= 0) v->attr[id] |= TA_CONTROL;
}

static void detect_special(lmc_vocab *v, const lmc_gguf *g) {
    int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
    special_id(v, g, "tokenizer.ggml.bos_token_id", &v->bos);
    special_id(v, g, "tokenizer.ggml.eos_token_id", &v->eos);
    special_id(v, g, "tokenizer.ggml.eot_token_id", &v->eot);
    special_id(v, g, "tokenizer.ggml.eom_token_id", &v->eom);
    special_id(v, g, "tokenizer.ggml.unknown_token_id", &v->unk);
    special_id(v, g, "tokenizer.ggml.seperator_token_id", &v->sep);
    special_id(v, g, "tokenizer.ggml.padding_token_id", &v->pad);
    special_id(v, g, "tokenizer.ggml.fim_pre_token_id", &fim_pre);
    special_id(v, g, "tokenizer.ggml.fim_suf_token_id", &fim_suf);
    special_id(v, g, "tokenizer.ggml.fim_mid_token_id", &fim_mid);
    special_id(v, g, "tokenizer.ggml.fim_pad_token_id", &fim_pad);
    special_id(v, g, "tokenizer.ggml.fim_rep_token_id", &fim_rep);
    special_id(v, g, "tokenizer.ggml.fim_sep_token_id", &fim_sep);

    /* Tokens recognised by their text, as llama.cpp does; each becomes a control token. */
    static const char *const EOT[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                      "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
                                      "<end_of_utterance>", NULL};
    static const char *const EOM[] = {"<|eom_id|>", NULL};
    static const char *const FIM_PRE[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
                                          "▁<PRE>", "<|code_prefix|>", "<|prefix|>", NULL};
    static const char *const FIM_SUF[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
                                          "▁<SUF>", "<|code_suffix|>", "<|suffix|>", NULL};
    static const char *const FIM_MID[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
                                          "▁<MID>", "<|code_middle|>", "<|middle|>", NULL};
    static const char *const FIM_PAD[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
    static const char *const FIM_REP[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL};
    static const char *const FIM_SEP[] = {"<|file_sep|>", NULL};
    if (v->eot < 0) mark_control(v, v->eot = find_any(v, EOT));
    if (v->eom < 0) mark_control(v, v->eom = find_any(v, EOM));
    if (fim_pre < 0) mark_control(v, fim_pre = find_any(v, FIM_PRE));
    if (fim_suf < 0) mark_control(v, fim_suf = find_any(v, FIM_SUF));
    if (fim_mid < 0) mark_control(v, fim_mid = find_any(v, FIM_MID));
    if (fim_pad < 0) mark_control(v, fim_pad = find_any(v, FIM_PAD));
    if (fim_rep < 0) mark_control(v, fim_rep = find_any(v, FIM_REP));
    if (fim_sep < 0) mark_control(v, fim_sep = find_any(v, FIM_SEP));

    /* control tokens named "unused" are unused */
    for (int32_t i = 0; i < v->n_tokens; i++)
        if ((v->attr[i] & TA_CONTROL) && strstr(v->text[i], "unused")) v->attr[i] |= TA_UNUSED;

    /* end-of-generation tokens */
    static const char *const EOG[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                                      "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                                      "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                                      "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[", NULL};
    int32_t fims[3] = {fim_pad, fim_rep, fim_sep};
    for (int k = 0; k < 3; k++)
        if (fims[k] >= 0) v->eog[fims[k]] = 1;
    for (const char *const *e = EOG; *e; e++) {
        int32_t id = find_cstr(v, *e);
        if (id >= 0) {
            v->eog[id] = 1;
            mark_control(v, id);
        }
    }
    if (v->eos >= 0) v->eog[v->eos] = 1;
    if (v->eot >= 0) v->eog[v->eot] = 1;
    if (v->eom >= 0) v->eog[v->eom] = 1;
    /* o200k_harmony / solar-open: "<|end|>" ends a message, not the generation */
    int32_t ret = find_cstr(v, "<|return|>"), call = find_cstr(v, "<|call|>"), calls = find_cstr(v, "<|calls|>"),
            flush = find_cstr(v, "<|flush|>"), end = find_cstr(v, "<|end|>");
    bool has_call = (call >= 0 && v->eog[call]) || (calls >= 0 && v->eog[calls]);
    if (end >= 0 && v->eog[end] && has_call && ((ret >= 0 && v->eog[ret]) || (flush >= 0 && v->eog[flush]))) {
        v->eog[end] = 0;
        v->attr[end] = TA_USER_DEFINED;
    }
    int32_t tool = find_cstr(v, "<|tool_response>"), s = find_cstr(v, "</s>");
    if (tool >= 0 && s >= 0 && v->eog[tool] && v->eog[s]) {
        v->eog[s] = 0;
        v->attr[s] = TA_NORMAL;
    }
}

static int build_special_cache(lmc_vocab *v) {
    v->special = malloc(((size_t)v->n_tokens + 1) * sizeof *v->special);
    if (!v->special) return lmc_set_error(LMC_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->attr[i] & (TA_CONTROL | TA_USER_DEFINED | TA_UNKNOWN)) v->special[v->n_special++] = i;
    qsort_r(v->special, (size_t)v->n_special, sizeof *v->special, cmp_special, v);

    /* Per-model attributes llama.cpp sets by name: Phi-3 strips spaces right of its special tokens. */
    if (strstr(v->name, "phi-3") || strstr(v->name, "phi3")) {
        for (int32_t k = 0; k < v->n_special; k++) v->attr[v->special[k]] |= TA_RSTRIP;
        int32_t id = find_cstr(v, "</s>");
        if (id >= 0) v->attr[id] |= TA_RSTRIP;
        static const char *const off[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (int k = 0; k < 3; k++)
            if ((id = find_cstr(v, off[k])) >= 0) v->attr[id] &= (uint16_t)~TA_RSTRIP;
    }
    for (int32_t k = 0; k < v->n_special; k++) v->special_first[(uint8_t)v->text[v->special[k]][0]] = 1;
    return LMC_OK;
}

static void build_byte_tokens(lmc_vocab *v) {
    for (int b = 0; b < 256; b++) {
        char buf[8];
        snprintf(buf, sizeof buf, "<0x%02X>", b);
        int32_t id = find_cstr(v, buf);
        if (id < 0) {
            char c = (char)b;
            id = vocab_find(v, &c, 1);
        }
        v->byte_tok[b] = id;
        char c = (char)b;
        v->byte_tok1[b] = vocab_find(v, &c, 1);
    }
}

lmc_vocab *lmc_vocab_load(const lmc_gguf *g) {
    if (!g) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_vocab_load: no file");
    lmc_vocab *v = calloc(1, sizeof *v);
    if (!v) return lmc_set_error_null(LMC_ERR_NOMEM, "tokenizer: out of memory");
    v->bos = v->eos = v->eot = v->eom = v->unk = v->sep = v->pad = -1;

    if (!get_str(g, "tokenizer.ggml.model", v->model, sizeof v->model)) {
        lmc_set_error(LMC_ERR_NOT_FOUND, "tokenizer: %s has no tokenizer.ggml.model", lmc_gguf_path(g));
        goto fail;
    }
    get_str(g, "tokenizer.ggml.pre", v->pre, sizeof v->pre);
    get_str(g, "general.name", v->name, sizeof v->name);
    for (char *c = v->name; *c; c++) *c = (char)tolower((unsigned char)*c);

    int clean = 0, ignore = 0;
    if (strcmp(v->model, "llama") == 0) {
        v->kind = VOCAB_SPM;
        v->bos = 1, v->eos = 2, v->unk = 0;
        v->add_space_prefix = true;
        v->add_bos = true;
        v->pre[0] = 0;
    } else if (strcmp(v->model, "gpt2") == 0) {
        v->kind = VOCAB_BPE;
        v->bos = 11, v->eos = 11;
        if (!v->pre[0]) strcpy(v->pre, "default"); /* llama.cpp warns and uses its default */
        v->pt = pretok_create(v->pre, &clean, &ignore);
        if (!v->pt) goto fail;
        v->clean_spaces = clean;
        v->ignore_merges = ignore;
        /* LLaMA-3 style tokenizers add BOS unless the file says otherwise */
        if (ignore && strcmp(v->pre, "minicpm5") != 0) v->add_bos = true;
    } else {
        lmc_set_error(LMC_ERR_UNSUPPORTED, "tokenizer: tokenizer.ggml.model \"%s\" is not supported (lmc knows \"llama\" and \"gpt2\")",
                      v->model);
        goto fail;
    }
    get_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix);
    if (v->kind != VOCAB_SPM) v->add_space_prefix = false; /* only SentencePiece adds one (as llama.cpp) */

    if (load_tokens(v, g) != LMC_OK) goto fail;
    detect_special(v, g);
    get_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos);
    get_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos);
    if (v->add_bos && v->bos < 0) {
        lmc_set_error(LMC_ERR_FORMAT, "tokenizer: add_bos_token is set but the vocab has no BOS token");
        goto fail;
    }
    if (v->add_eos && v->eos < 0) {
        lmc_set_error(LMC_ERR_FORMAT, "tokenizer: add_eos_token is set but the vocab has no EOS token");
        goto fail;
    }
    if (build_special_cache(v) != LMC_OK) goto fail;
    build_byte_tokens(v);

    if (v->kind == VOCAB_BPE) {
        const lmc_gguf_value *mv = lmc_gguf_get(g, "tokenizer.ggml.merges");
        if (!mv) {
            lmc_set_error(LMC_ERR_FORMAT, "tokenizer: BPE vocab (gpt2) without tokenizer.ggml.merges: the merges are missing");
            goto fail;
        }
        if (bpe_build(v, mv) != LMC_OK) goto fail;
    }
    if (v->kind == VOCAB_SPM && spm_build(v) != LMC_OK) goto fail;
    if (detok_build_pieces(v) != LMC_OK) goto fail;
    lmc_clear_error();
    return v;
fail:
    lmc_vocab_free(v);
    return NULL;
}

void lmc_vocab_free(lmc_vocab *v) {
    if (!v) return;
    free(v->arena);
    free((void *)v->text);
    free(v->text_len);
    free(v->score);
    free(v->ttype);
    free(v->attr);
    free(v->eog);
    free(v->map.slot);
    free(v->piece_arena);
    free(v->piece_off);
    free(v->piece_len);
    free(v->special);
    free(v->virtual_arena);
    free(v->cpairs);
    free(v->merges.e);
    pretok_free(v->pt);
    free(v);
}

/* ---- accessors ----------------------------------------------------------- */

int32_t lmc_vocab_n_tokens(const lmc_vocab *v) { return v ? v->n_tokens : 0; }
int32_t lmc_vocab_bos(const lmc_vocab *v) { return v ? v->bos : -1; }
int32_t lmc_vocab_eos(const lmc_vocab *v) { return v ? v->eos : -1; }
int32_t lmc_vocab_eot(const lmc_vocab *v) { return v ? v->eot : -1; }
int32_t lmc_vocab_unk(const lmc_vocab *v) { return v ? v->unk : -1; }
int32_t lmc_vocab_pad(const lmc_vocab *v) { return v ? v->pad : -1; }
bool lmc_vocab_add_bos(const lmc_vocab *v) { return v && v->add_bos; }
bool lmc_vocab_add_eos(const lmc_vocab *v) { return v && v->add_eos; }
const char *lmc_vocab_model(const lmc_vocab *v) { return v ? v->model : ""; }
const char *lmc_vocab_pre(const lmc_vocab *v) { return v ? v->pre : ""; }

bool lmc_vocab_is_eog(const lmc_vocab *v, int32_t id) {
    return v && id >= 0 && id < v->n_tokens && v->eog[id];
}

const char *lmc_vocab_token_text(const lmc_vocab *v, int32_t id) {
    return (v && id >= 0 && id < v->n_tokens) ? v->text[id] : NULL;
}

float lmc_vocab_token_score(const lmc_vocab *v, int32_t id) {
    return (v && id >= 0 && id < v->n_tokens) ? v->score[id] : 0.0f;
}

lmc_token_type lmc_vocab_token_type(const lmc_vocab *v, int32_t id) {
    if (!v || id < 0 || id >= v->n_tokens) return LMC_TOKEN_UNDEFINED;
    uint16_t a = v->attr[id];
    if (a & TA_UNUSED) return LMC_TOKEN_UNUSED;
    if (a & TA_CONTROL) return LMC_TOKEN_CONTROL;
    if (a & TA_UNKNOWN) return LMC_TOKEN_UNKNOWN;
    if (a & TA_USER_DEFINED) return LMC_TOKEN_USER_DEFINED;
    if (a & TA_BYTE) return LMC_TOKEN_BYTE;
    if (a & TA_NORMAL) return LMC_TOKEN_NORMAL;
    return LMC_TOKEN_UNDEFINED;
}

bool lmc_vocab_is_control(const lmc_vocab *v, int32_t id) {
    return v && id >= 0 && id < v->n_tokens && (v->attr[id] & (TA_CONTROL | TA_UNKNOWN));
}

int32_t lmc_vocab_find_token(const lmc_vocab *v, const char *text, size_t len) {
    if (!v || (!text && len)) return -1;
    return vocab_find(v, text ? text : "", len);
}

size_t lmc_vocab_max_piece_len(const lmc_vocab *v) { return v ? v->max_piece_len : 0; }

const char *const *lmc_pretokenizer_names(void) { return tok_pretok_names; }
