/* oai.c — pieces of OpenAI's response shapes: the error object, finish reasons,
 * token texts and logprob entries, base64 for embeddings. */
#include "server-impl.h"

#include <stdlib.h>
#include <string.h>

static const char *error_type(int status) {
    switch (status) {
    case 400: case 404: case 405: case 413: return "invalid_request_error";
    case 401: return "authentication_error";
    case 503: return "server_busy";
    default: return "server_error";
    }
}

char *srv_error_json(int status, const char *message, const char *param, const char *code) {
    cJSON *j = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", error_type(status));
    if (param)
        cJSON_AddStringToObject(e, "param", param);
    else
        cJSON_AddNullToObject(e, "param");
    if (code)
        cJSON_AddStringToObject(e, "code", code);
    else
        cJSON_AddNullToObject(e, "code");
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

const char *srv_finish_name(lmc_finish_reason f) {
    switch (f) {
    case LMC_FINISH_LENGTH: return "length";
    case LMC_FINISH_ERROR: return "error";
    default: return "stop"; /* EOG, stop string, cancelled */
    }
}

/* The token's bytes (*raw, *n_raw) and a JSON-safe text where bytes that are not whole
 * UTF-8 characters (a piece may hold part of one) become U+FFFD. */
static char *token_text(const lmc_vocab *v, int32_t tok, unsigned char **raw, size_t *n_raw) {
    size_t cap = lmc_vocab_max_piece_len(v) + 1;
    unsigned char *buf = malloc(cap);
    char *out = malloc(cap * 3 + 1);
    if (!buf || !out) {
        free(buf);
        free(out);
        return NULL;
    }
    int n = lmc_token_to_piece(v, tok, true, (char *)buf, cap);
    size_t len = n > 0 ? (size_t)n : 0, o = 0;
    for (size_t i = 0; i < len;) {
        size_t k = buf[i] ? srv_utf8_char(buf + i, len - i) : 0;
        if (k) {
            memcpy(out + o, buf + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = 0;
    if (raw) {
        *raw = buf;
        *n_raw = len;
    } else {
        free(buf);
    }
    return out;
}

char *srv_token_text(const lmc_vocab *v, int32_t tok) { return token_text(v, tok, NULL, NULL); }

static void add_token(cJSON *o, const lmc_vocab *v, int32_t tok, float lp) {
    unsigned char *raw = NULL;
    size_t n_raw = 0;
    char *t = token_text(v, tok, &raw, &n_raw);
    cJSON_AddStringToObject(o, "token", t ? t : "");
    cJSON_AddNumberToObject(o, "logprob", lp);
    cJSON *bytes = cJSON_AddArrayToObject(o, "bytes");
    for (size_t i = 0; i < n_raw; i++) cJSON_AddItemToArray(bytes, cJSON_CreateNumber(raw[i]));
    free(t);
    free(raw);
}

cJSON *srv_token_logprob_chat(const lmc_vocab *v, int32_t tok, float lp, const lmc_token_logprob *top, int n_top) {
    cJSON *o = cJSON_CreateObject();
    add_token(o, v, tok, lp);
    cJSON *arr = cJSON_AddArrayToObject(o, "top_logprobs");
    for (int i = 0; i < n_top; i++) {
        cJSON *t = cJSON_CreateObject();
        add_token(t, v, top[i].id, top[i].logprob);
        cJSON_AddItemToArray(arr, t);
    }
    return o;
}

char *srv_base64(const unsigned char *p, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out) return NULL;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = 0;
    return out;
}
