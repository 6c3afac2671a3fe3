/* request.c — parsing and validating OpenAI request bodies into plain structs. No
 * model is needed here (bounds that depend on the context are checked later), so the
 * fuzz target (fuzz/fuzz_server.c) exercises exactly this file. */
#include "server-impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 character at p (n bytes left), 0 if invalid. */
size_t srv_utf8_char(const unsigned char *p, size_t n) {
    size_t len = p[0] < 0x80 ? 1 : (p[0] >> 5) == 6 ? 2 : (p[0] >> 4) == 14 ? 3 : (p[0] >> 3) == 30 ? 4 : 0;
    if (!len || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    uint32_t cp = len == 1 ? p[0] : len == 2 ? (p[0] & 31u) << 6 | (p[1] & 63u)
                : len == 3 ? (p[0] & 15u) << 12 | (p[1] & 63u) << 6 | (p[2] & 63u)
                           : (p[0] & 7u) << 18 | (p[1] & 63u) << 12 | (p[2] & 63u) << 6 | (p[3] & 63u);
    if ((len == 2 && cp < 0x80) || (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

bool srv_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = srv_utf8_char(p + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

static int fail(char *err, size_t cap, const char **param, const char *p, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t cap, const char **param, const char *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    if (param) *param = p;
    return LMC_ERR_INVALID_ARG;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static bool in_list(const char *name, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(name, *list)) return true;
    return false;
}

/* A number field within [lo, hi]; absent or null leaves *out. */
static int get_num(const cJSON *o, const char *key, double lo, double hi, double *out, char *err, size_t cap,
                   const char **param) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return LMC_OK;
    if (!cJSON_IsNumber(v)) return fail(err, cap, param, key, "'%s' must be a number", key);
    double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi) return fail(err, cap, param, key, "'%s' must be in [%g, %g]", key, lo, hi);
    *out = d;
    return LMC_OK;
}

static int get_int(const cJSON *o, const char *key, double lo, double hi, int64_t *out, char *err, size_t cap,
                   const char **param) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return LMC_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return fail(err, cap, param, key, "'%s' must be an integer", key);
    double d = v->valuedouble;
    if (d < lo || d > hi) return fail(err, cap, param, key, "'%s' must be in [%.0f, %.0f]", key, lo, hi);
    *out = (int64_t)d;
    return LMC_OK;
}

static int get_bool(const cJSON *o, const char *key, bool *out, char *err, size_t cap, const char **param) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return LMC_OK;
    if (!cJSON_IsBool(v)) return fail(err, cap, param, key, "'%s' must be a boolean", key);
    *out = cJSON_IsTrue(v);
    return LMC_OK;
}

/* An array of token ids (each in [0, 2^31)), at most max entries. */
static int get_tokens(const cJSON *a, size_t max, int32_t **out, int64_t *n, char *err, size_t cap,
                      const char **param, const char *key) {
    int cnt = cJSON_GetArraySize(a);
    if ((size_t)cnt > max) return fail(err, cap, param, key, "'%s' has more than %zu tokens", key, max);
    int32_t *t = malloc(sizeof *t * (size_t)(cnt ? cnt : 1));
    if (!t) return fail(err, cap, param, key, "out of memory");
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
        if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) || x->valuedouble < 0 ||
            x->valuedouble > 2147483647.0) {
            free(t);
            return fail(err, cap, param, key, "'%s' must hold non-negative integer token ids", key);
        }
        t[i++] = (int32_t)x->valuedouble;
    }
    *out = t;
    *n = i;
    return LMC_OK;
}

static const char *const GEN_COMMON[] = {
    "model", "stream", "stream_options", "n", "max_tokens", "temperature", "top_p", "top_k", "min_p", "stop", "seed",
    "presence_penalty", "frequency_penalty", "repeat_penalty", "logit_bias", "user", "logprobs", "top_logprobs",
    /* accepted and ignored: they do not change what a local model does */
    "metadata", "store", "service_tier", "parallel_tool_calls", "tool_choice", "response_format", NULL};
static const char *const GEN_CHAT[] = {"messages", "tools", "max_completion_tokens", "chat_template_kwargs", NULL};
static const char *const GEN_COMPL[] = {"prompt", "echo", "suffix", "best_of", NULL};

static int parse_messages(const cJSON *msgs, const srv_limits *lim, srv_gen_request *r, char *err, size_t cap,
                          const char **param) {
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return fail(err, cap, param, "messages", "'messages' must be a non-empty array");
    const cJSON *m;
    size_t total = 0;
    cJSON_ArrayForEach(m, msgs) {
        if (!cJSON_IsObject(m)) return fail(err, cap, param, "messages", "each message must be an object");
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role) ||
            !in_list(role->valuestring, (const char *const[]){"system", "user", "assistant", "tool", "developer", NULL}))
            return fail(err, cap, param, "messages",
                        "each message needs a 'role' of system, user, assistant, tool or developer");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsString(c)) {
            total += strlen(c->valuestring);
        } else if (cJSON_IsArray(c)) {
            /* content parts: only text parts can be rendered */
            const cJSON *part;
            cJSON_ArrayForEach(part, c) {
                const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
                const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
                if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") || !cJSON_IsString(text))
                    return fail(err, cap, param, "messages", "only text content parts are supported");
                total += strlen(text->valuestring);
            }
        } else if (!(c == NULL || cJSON_IsNull(c)) || !cJSON_GetObjectItemCaseSensitive(m, "tool_calls")) {
            return fail(err, cap, param, "messages", "a message's 'content' must be a string or an array of text parts");
        }
    }
    if (total > lim->max_prompt)
        return fail(err, cap, param, "messages", "the messages are longer than %zu bytes", lim->max_prompt);
    /* Text parts are joined so templates that expect strings see strings. */
    cJSON *copy = cJSON_Duplicate(msgs, 1);
    if (!copy) return fail(err, cap, param, "messages", "out of memory");
    cJSON *mm;
    cJSON_ArrayForEach(mm, copy) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(mm, "content");
        if (cJSON_IsArray(c)) {
            size_t n = 1;
            const cJSON *part;
            cJSON_ArrayForEach(part, c) n += strlen(cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring);
            char *joined = malloc(n);
            if (!joined) {
                cJSON_Delete(copy);
                return fail(err, cap, param, "messages", "out of memory");
            }
            joined[0] = 0;
            cJSON_ArrayForEach(part, c) strcat(joined, cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring);
            cJSON_ReplaceItemInObjectCaseSensitive(mm, "content", cJSON_CreateString(joined));
            free(joined);
        } else if (!c || cJSON_IsNull(c)) {
            cJSON_DeleteItemFromObjectCaseSensitive(mm, "content");
            cJSON_AddStringToObject(mm, "content", "");
        }
    }
    r->messages_json = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    if (!r->messages_json) return fail(err, cap, param, "messages", "out of memory");
    return LMC_OK;
}

int srv_parse_gen(srv_kind kind, const char *body, size_t len, const srv_limits *lim, srv_gen_request *r,
                  char *err, size_t cap, const char **param) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->n = 1;
    r->max_tokens = -1;
    r->logprobs = -1;
    r->sp = lmc_sampler_default_params();
    /* OpenAI's defaults: temperature 1, top_p 1, no top-k / min-p, no penalties */
    r->sp.temp = 1.0f;
    r->sp.top_k = 0;
    r->sp.top_p = 1.0f;
    r->sp.min_p = 0.0f;
    r->sp.repeat_penalty = 1.0f;
    r->sp.seed = LMC_SEED_RANDOM;
    if (param) *param = NULL;
    if (!srv_utf8_valid(body, len)) return fail(err, cap, param, NULL, "the body is not valid UTF-8");
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j) return fail(err, cap, param, NULL, "the body is not valid JSON");
    int rc = LMC_OK;
#define TRY(x)                      \
    do {                            \
        if ((rc = (x)) != LMC_OK) { \
            goto done;              \
        }                           \
    } while (0)
    if (!cJSON_IsObject(j)) TRY(fail(err, cap, param, NULL, "the body must be a JSON object"));
    const cJSON *f;
    cJSON_ArrayForEach(f, j) {
        if (!f->string || !(in_list(f->string, GEN_COMMON) || in_list(f->string, kind == SRV_CHAT ? GEN_CHAT : GEN_COMPL)))
        {
            static _Thread_local char name[64]; /* f->string dies with the JSON tree */
            snprintf(name, sizeof name, "%s", f->string ? f->string : "");
            TRY(fail(err, cap, param, name, "unknown field '%s'", name));
        }
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    if (model && !cJSON_IsNull(model)) {
        if (!cJSON_IsString(model)) TRY(fail(err, cap, param, "model", "'model' must be a string"));
        r->model = dup_str(model->valuestring);
    }
    if (kind == SRV_CHAT) {
        TRY(parse_messages(cJSON_GetObjectItemCaseSensitive(j, "messages"), lim, r, err, cap, param));
        const cJSON *tools = cJSON_GetObjectItemCaseSensitive(j, "tools");
        if (tools && !cJSON_IsNull(tools)) {
            if (!cJSON_IsArray(tools)) TRY(fail(err, cap, param, "tools", "'tools' must be an array"));
            r->tools_json = cJSON_PrintUnformatted(tools);
        }
    } else {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
        if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 && cJSON_IsString(cJSON_GetArrayItem(p, 0)))
            p = cJSON_GetArrayItem(p, 0); /* ["text"]: one prompt */
        if (cJSON_IsString(p)) {
            if (strlen(p->valuestring) > lim->max_prompt)
                TRY(fail(err, cap, param, "prompt", "'prompt' is longer than %zu bytes", lim->max_prompt));
            r->prompt = dup_str(p->valuestring);
        } else if (cJSON_IsArray(p) && cJSON_GetArraySize(p) > 0) {
            TRY(get_tokens(p, lim->max_prompt, &r->prompt_tokens, &r->n_prompt_tokens, err, cap, param, "prompt"));
        } else {
            TRY(fail(err, cap, param, "prompt", "'prompt' must be a string or a non-empty array of token ids "
                                                "(one prompt per request)"));
        }
        TRY(get_bool(j, "echo", &r->echo, err, cap, param));
        int64_t best_of = 1;
        TRY(get_int(j, "best_of", 1, 1, &best_of, err, cap, param));
        const cJSON *suffix = cJSON_GetObjectItemCaseSensitive(j, "suffix");
        if (suffix && !cJSON_IsNull(suffix)) TRY(fail(err, cap, param, "suffix", "'suffix' is not supported"));
    }
    TRY(get_bool(j, "stream", &r->stream, err, cap, param));
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(j, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so)) TRY(fail(err, cap, param, "stream_options", "'stream_options' must be an object"));
        TRY(get_bool(so, "include_usage", &r->include_usage, err, cap, param));
    }
    int64_t n = 1;
    TRY(get_int(j, "n", 1, lim->max_n, &n, err, cap, param));
    r->n = (int)n;
    TRY(get_int(j, "max_tokens", 0, (double)lim->max_tokens, &r->max_tokens, err, cap, param));
    if (kind == SRV_CHAT)
        TRY(get_int(j, "max_completion_tokens", 0, (double)lim->max_tokens, &r->max_tokens, err, cap, param));
    double d = r->sp.temp;
    TRY(get_num(j, "temperature", 0, 2, &d, err, cap, param));
    r->sp.temp = (float)d;
    d = r->sp.top_p;
    TRY(get_num(j, "top_p", 0, 1, &d, err, cap, param));
    if (d <= 0) TRY(fail(err, cap, param, "top_p", "'top_p' must be in (0, 1]"));
    r->sp.top_p = (float)d;
    d = r->sp.min_p;
    TRY(get_num(j, "min_p", 0, 1, &d, err, cap, param));
    r->sp.min_p = (float)d;
    int64_t k = 0;
    TRY(get_int(j, "top_k", 0, 1e6, &k, err, cap, param));
    r->sp.top_k = (int32_t)k;
    d = 0;
    TRY(get_num(j, "presence_penalty", -2, 2, &d, err, cap, param));
    r->sp.presence_penalty = (float)d;
    d = 0;
    TRY(get_num(j, "frequency_penalty", -2, 2, &d, err, cap, param));
    r->sp.frequency_penalty = (float)d;
    d = 1;
    TRY(get_num(j, "repeat_penalty", 0.01, 10, &d, err, cap, param));
    r->sp.repeat_penalty = (float)d;
    r->sp.repeat_last_n = (r->sp.presence_penalty != 0 || r->sp.frequency_penalty != 0 || d != 1) ? -1 : 0;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
    if (seed && !cJSON_IsNull(seed)) {
        if (!cJSON_IsNumber(seed) || seed->valuedouble != floor(seed->valuedouble) || fabs(seed->valuedouble) > 9.007e15)
            TRY(fail(err, cap, param, "seed", "'seed' must be an integer"));
        r->sp.seed = (uint64_t)(int64_t)seed->valuedouble;
        if (r->sp.seed == LMC_SEED_RANDOM) r->sp.seed = 0;
    }
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(j, "stop");
    if (cJSON_IsString(stop)) {
        if (stop->valuestring[0]) r->stop[r->n_stop++] = dup_str(stop->valuestring);
    } else if (cJSON_IsArray(stop)) {
        if (cJSON_GetArraySize(stop) > lim->max_stop || cJSON_GetArraySize(stop) > SRV_MAX_STOP)
            TRY(fail(err, cap, param, "stop", "at most %d stop strings", lim->max_stop));
        const cJSON *s;
        cJSON_ArrayForEach(s, stop) {
            if (!cJSON_IsString(s)) TRY(fail(err, cap, param, "stop", "'stop' must hold strings"));
            if (strlen(s->valuestring) > 256) TRY(fail(err, cap, param, "stop", "stop strings are at most 256 bytes"));
            if (s->valuestring[0]) r->stop[r->n_stop++] = dup_str(s->valuestring);
        }
    } else if (stop && !cJSON_IsNull(stop)) {
        TRY(fail(err, cap, param, "stop", "'stop' must be a string or an array of strings"));
    }
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(j, "logit_bias");
    if (lb && !cJSON_IsNull(lb)) {
        if (!cJSON_IsObject(lb)) TRY(fail(err, cap, param, "logit_bias", "'logit_bias' must be an object"));
        int cnt = cJSON_GetArraySize(lb);
        if (cnt > 1024) TRY(fail(err, cap, param, "logit_bias", "at most 1024 logit_bias entries"));
        r->bias = calloc((size_t)(cnt ? cnt : 1), sizeof *r->bias);
        if (!r->bias) TRY(fail(err, cap, param, "logit_bias", "out of memory"));
        const cJSON *e;
        cJSON_ArrayForEach(e, lb) {
            char *end;
            long id = strtol(e->string, &end, 10);
            if (!e->string[0] || *end || id < 0 || id > 2147483647L || !cJSON_IsNumber(e) ||
                e->valuedouble < -100 || e->valuedouble > 100)
                TRY(fail(err, cap, param, "logit_bias", "'logit_bias' maps token ids to numbers in [-100, 100]"));
            r->bias[r->sp.n_logit_bias].token = (int32_t)id;
            r->bias[r->sp.n_logit_bias].bias = e->valuedouble <= -100 ? -INFINITY : (float)e->valuedouble;
            r->sp.n_logit_bias++;
        }
        r->sp.logit_bias = r->bias;
    }
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(j, "logprobs");
    if (kind == SRV_CHAT) {
        bool want = false;
        TRY(get_bool(j, "logprobs", &want, err, cap, param));
        int64_t top = 0;
        TRY(get_int(j, "top_logprobs", 0, 20, &top, err, cap, param));
        if (cJSON_GetObjectItemCaseSensitive(j, "top_logprobs") && !want &&
            !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "top_logprobs")))
            TRY(fail(err, cap, param, "top_logprobs", "'top_logprobs' needs 'logprobs': true"));
        r->logprobs = want ? (int)top : -1;
    } else if (lp && !cJSON_IsNull(lp)) {
        int64_t top = 0;
        TRY(get_int(j, "logprobs", 0, 5, &top, err, cap, param));
        r->logprobs = (int)top;
    }
    if (r->stream && r->echo) TRY(fail(err, cap, param, "echo", "'echo' is not supported with 'stream'"));
    if (r->echo && r->logprobs >= 0 && r->n > 1)
        TRY(fail(err, cap, param, "echo", "'echo' with 'logprobs' needs n = 1"));
#undef TRY
done:
    cJSON_Delete(j);
    if (rc != LMC_OK) srv_gen_request_free(r);
    return rc;
}

void srv_gen_request_free(srv_gen_request *r) {
    free(r->model);
    free(r->messages_json);
    free(r->tools_json);
    free(r->prompt);
    free(r->prompt_tokens);
    free(r->bias);
    for (int i = 0; i < r->n_stop; i++) free(r->stop[i]);
    memset(r, 0, sizeof *r);
}

int srv_parse_embed(const char *body, size_t len, const srv_limits *lim, srv_embed_request *r, char *err,
                    size_t cap, const char **param) {
    memset(r, 0, sizeof *r);
    if (param) *param = NULL;
    if (!srv_utf8_valid(body, len)) return fail(err, cap, param, NULL, "the body is not valid UTF-8");
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j) return fail(err, cap, param, NULL, "the body is not valid JSON");
    int rc = LMC_OK;
    const cJSON *f;
    if (!cJSON_IsObject(j)) {
        rc = fail(err, cap, param, NULL, "the body must be a JSON object");
        goto done;
    }
    cJSON_ArrayForEach(f, j) {
        if (!in_list(f->string, (const char *const[]){"input", "model", "encoding_format", "user", "dimensions", NULL})) {
            static _Thread_local char name[64];
            snprintf(name, sizeof name, "%s", f->string);
            rc = fail(err, cap, param, name, "unknown field '%s'", name);
            goto done;
        }
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "encoding_format");
    if (fmt && !cJSON_IsNull(fmt)) {
        if (!cJSON_IsString(fmt) || (strcmp(fmt->valuestring, "float") && strcmp(fmt->valuestring, "base64"))) {
            rc = fail(err, cap, param, "encoding_format", "'encoding_format' must be \"float\" or \"base64\"");
            goto done;
        }
        r->base64 = !strcmp(fmt->valuestring, "base64");
    }
    if (cJSON_GetObjectItemCaseSensitive(j, "dimensions")) {
        rc = fail(err, cap, param, "dimensions", "'dimensions' is not supported (the model's width is used)");
        goto done;
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "input");
    if (cJSON_IsString(in)) {
        r->texts = calloc(1, sizeof *r->texts);
        if (!r->texts || strlen(in->valuestring) > lim->max_prompt || !in->valuestring[0]) {
            rc = fail(err, cap, param, "input", "'input' must be a non-empty string of at most %zu bytes", lim->max_prompt);
            goto done;
        }
        r->texts[0] = dup_str(in->valuestring);
        r->n_inputs = 1;
    } else if (cJSON_IsArray(in) && cJSON_GetArraySize(in) > 0 && cJSON_GetArraySize(in) <= 256) {
        int cnt = cJSON_GetArraySize(in);
        const cJSON *first = cJSON_GetArrayItem(in, 0);
        if (cJSON_IsNumber(first)) { /* one token list */
            r->tokens = calloc(1, sizeof *r->tokens);
            r->n_tokens = calloc(1, sizeof *r->n_tokens);
            if (!r->tokens || !r->n_tokens) {
                rc = fail(err, cap, param, "input", "out of memory");
                goto done;
            }
            r->n_inputs = 1;
            rc = get_tokens(in, lim->max_prompt, &r->tokens[0], &r->n_tokens[0], err, cap, param, "input");
            goto done;
        }
        bool strings = cJSON_IsString(first);
        if (strings)
            r->texts = calloc((size_t)cnt, sizeof *r->texts);
        else {
            r->tokens = calloc((size_t)cnt, sizeof *r->tokens);
            r->n_tokens = calloc((size_t)cnt, sizeof *r->n_tokens);
        }
        if ((strings && !r->texts) || (!strings && (!r->tokens || !r->n_tokens))) {
            rc = fail(err, cap, param, "input", "out of memory");
            goto done;
        }
        const cJSON *x;
        size_t total = 0;
        cJSON_ArrayForEach(x, in) {
            if (strings) {
                if (!cJSON_IsString(x) || !x->valuestring[0]) {
                    rc = fail(err, cap, param, "input", "'input' must be a string, an array of non-empty strings, "
                                                        "or token ids");
                    goto done;
                }
                total += strlen(x->valuestring);
                r->texts[r->n_inputs++] = dup_str(x->valuestring);
            } else {
                if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) == 0) {
                    rc = fail(err, cap, param, "input", "'input' must be a string, an array of non-empty strings, "
                                                        "or token ids");
                    goto done;
                }
                rc = get_tokens(x, lim->max_prompt, &r->tokens[r->n_inputs], &r->n_tokens[r->n_inputs], err, cap,
                                param, "input");
                if (rc) goto done;
                total += (size_t)r->n_tokens[r->n_inputs];
                r->n_inputs++;
            }
            if (total > lim->max_prompt * 4) {
                rc = fail(err, cap, param, "input", "'input' is too long");
                goto done;
            }
        }
    } else {
        rc = fail(err, cap, param, "input", "'input' must be a string, an array of 1..256 strings, or token ids");
    }
done:
    cJSON_Delete(j);
    if (rc != LMC_OK) srv_embed_request_free(r);
    return rc;
}

void srv_embed_request_free(srv_embed_request *r) {
    for (int i = 0; i < r->n_inputs; i++) {
        if (r->texts) free(r->texts[i]);
        if (r->tokens) free(r->tokens[i]);
    }
    free(r->texts);
    free(r->tokens);
    free(r->n_tokens);
    memset(r, 0, sizeof *r);
}

int srv_parse_tokenize(const char *body, size_t len, const srv_limits *lim, srv_tok_request *r, char *err,
                       size_t cap) {
    memset(r, 0, sizeof *r);
    if (!srv_utf8_valid(body, len)) return fail(err, cap, NULL, NULL, "the body is not valid UTF-8");
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j) return fail(err, cap, NULL, NULL, "the body is not valid JSON");
    int rc = LMC_OK;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "content");
    if (!cJSON_IsObject(j) || !cJSON_IsString(c)) {
        rc = fail(err, cap, NULL, NULL, "the body must be {\"content\": string}");
    } else if (strlen(c->valuestring) > lim->max_prompt) {
        rc = fail(err, cap, NULL, NULL, "'content' is longer than %zu bytes", lim->max_prompt);
    } else {
        r->content = dup_str(c->valuestring);
        rc = get_bool(j, "add_special", &r->add_special, err, cap, NULL);
        if (!rc) rc = get_bool(j, "with_pieces", &r->with_pieces, err, cap, NULL);
    }
    cJSON_Delete(j);
    if (rc) srv_tok_request_free(r);
    return rc;
}

int srv_parse_detokenize(const char *body, size_t len, const srv_limits *lim, srv_tok_request *r, char *err,
                         size_t cap) {
    memset(r, 0, sizeof *r);
    if (!srv_utf8_valid(body, len)) return fail(err, cap, NULL, NULL, "the body is not valid UTF-8");
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j) return fail(err, cap, NULL, NULL, "the body is not valid JSON");
    int rc;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "tokens");
    if (!cJSON_IsObject(j) || !cJSON_IsArray(t))
        rc = fail(err, cap, NULL, NULL, "the body must be {\"tokens\": [int]}");
    else
        rc = get_tokens(t, lim->max_prompt, &r->tokens, &r->n_tokens, err, cap, NULL, "tokens");
    cJSON_Delete(j);
    if (rc) srv_tok_request_free(r);
    return rc;
}

void srv_tok_request_free(srv_tok_request *r) {
    free(r->content);
    free(r->tokens);
    memset(r, 0, sizeof *r);
}
