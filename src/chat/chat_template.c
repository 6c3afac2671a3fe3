/* chat_template.c — the public chat-template API: parse once (lex + parse into the
 * template's own arena), render many times (a fresh arena per render holds the JSON
 * inputs and every value made, freed in one go). */
#include "jinja.h"
#include "jinja_json.h"
#include "lmc-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lmc_chat_template {
    jarena arena; /* AST, tokens, normalised source */
    char *src;
    const jnode *root;
    char *preset_json; /* variables from the model (bos_token, ...) as a JSON object, or NULL */
};

lmc_chat_template *lmc_chat_template_init(const char *src, size_t len) {
    if (!src) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "chat template: no source");
    lmc_chat_template *t = calloc(1, sizeof *t);
    if (!t) return lmc_set_error_null(LMC_ERR_NOMEM, "chat template: out of memory");
    t->src = malloc(len + 1);
    if (!t->src) {
        free(t);
        return lmc_set_error_null(LMC_ERR_NOMEM, "chat template: out of memory");
    }
    memcpy(t->src, src, len);
    t->src[len] = 0;
    char err[512] = "";
    jtokens toks;
    if (!jinja_lex(src, len, &t->arena, &toks, err, sizeof err) ||
        !(t->root = jinja_parse(&toks, &t->arena, err, sizeof err))) {
        lmc_chat_template_free(t);
        return lmc_set_error_null(LMC_ERR_FORMAT, "chat template: %s", err);
    }
    return t;
}

void lmc_chat_template_free(lmc_chat_template *t) {
    if (!t) return;
    jarena_free(&t->arena);
    free(t->src);
    free(t->preset_json);
    free(t);
}

const char *lmc_chat_template_source(const lmc_chat_template *t) { return t ? t->src : NULL; }

lmc_chat_params lmc_chat_default_params(void) {
    lmc_chat_params p = {0};
    return p;
}

/* Appends "name": "text of token id" to a JSON object being built in b. */
static void preset_token(const lmc_gguf *g, jbuf *b, const char *var, const char *id_key) {
    int64_t id;
    const lmc_gguf_value *toks = lmc_gguf_get(g, "tokenizer.ggml.tokens");
    if (!toks || lmc_gguf_get_int(g, id_key, &id) != LMC_OK || id < 0 || (uint64_t)id >= lmc_gguf_array_len(toks))
        return;
    lmc_str s = lmc_gguf_array_str(toks, (uint64_t)id);
    jjson_opts o = {.indent = -1};
    const char *why;
    jbuf_puts(b, b->n > 1 ? ", " : "");
    jv_write_json(b, jv_str(var, strlen(var)), &o, 0, &why);
    jbuf_puts(b, ": ");
    jv_write_json(b, jv_str(s.ptr, s.len), &o, 0, &why);
}

lmc_chat_template *lmc_chat_template_from_gguf(const lmc_gguf *g, const char *name) {
    if (!g) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "chat template: no model");
    char key[256];
    if (name) snprintf(key, sizeof key, "tokenizer.chat_template.%s", name);
    else snprintf(key, sizeof key, "tokenizer.chat_template");
    lmc_str s;
    if (lmc_gguf_get_str(g, key, &s) != LMC_OK)
        return lmc_set_error_null(LMC_ERR_NOT_FOUND, "chat template: the model has no '%s'", key);
    lmc_chat_template *t = lmc_chat_template_init(s.ptr, s.len);
    if (!t) return NULL;
    jbuf b = {0};
    jbuf_putc(&b, '{');
    preset_token(g, &b, "bos_token", "tokenizer.ggml.bos_token_id");
    preset_token(g, &b, "eos_token", "tokenizer.ggml.eos_token_id");
    preset_token(g, &b, "unk_token", "tokenizer.ggml.unknown_token_id");
    preset_token(g, &b, "pad_token", "tokenizer.ggml.padding_token_id");
    jbuf_putc(&b, '}');
    if (b.overflow) {
        jbuf_free(&b);
        lmc_chat_template_free(t);
        return lmc_set_error_null(LMC_ERR_NOMEM, "chat template: out of memory");
    }
    t->preset_json = b.p;
    return t;
}

static int add_json_vars(jarena *a, jdict *globals, const char *json, const char *what) {
    char err[256];
    jv v;
    if (!jinja_json_parse(json, strlen(json), a, &v, err, sizeof err))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "chat template: %s: %s", what, err);
    if (v.t != JV_DICT) return lmc_set_error(LMC_ERR_INVALID_ARG, "chat template: %s must be a JSON object", what);
    for (size_t i = 0; i < v.u.d->n; i++) {
        jv k = v.u.d->k[i];
        /* names are looked up as C strings */
        char *name = jarena_strdup(a, k.u.s.p, k.u.s.n);
        if (!name || !jdict_set(a, globals, jv_str(name, k.u.s.n), v.u.d->v[i]))
            return lmc_set_error(LMC_ERR_NOMEM, "chat template: out of memory");
    }
    return LMC_OK;
}

int lmc_chat_render(const lmc_chat_template *t, const lmc_chat_params *p, char **out, size_t *out_len) {
    if (!t || !p || !out) return lmc_set_error(LMC_ERR_INVALID_ARG, "chat template: missing argument");
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!p->messages_json) return lmc_set_error(LMC_ERR_INVALID_ARG, "chat template: no messages");
    jarena a = {.cap_total = JINJA_MAX_ARENA};
    char err[2560];
    int rc = LMC_OK;
    jdict *g = jdict_new(&a, 8);
    jv messages, tools = jv_none();
    if (!g) {
        rc = lmc_set_error(LMC_ERR_NOMEM, "chat template: out of memory");
        goto done;
    }
    if (!jinja_json_parse(p->messages_json, strlen(p->messages_json), &a, &messages, err, sizeof err)) {
        rc = lmc_set_error(LMC_ERR_INVALID_ARG, "chat template: messages: %s", err);
        goto done;
    }
    if (messages.t != JV_LIST) {
        rc = lmc_set_error(LMC_ERR_INVALID_ARG, "chat template: messages must be a JSON array");
        goto done;
    }
    if (p->tools_json && !jinja_json_parse(p->tools_json, strlen(p->tools_json), &a, &tools, err, sizeof err)) {
        rc = lmc_set_error(LMC_ERR_INVALID_ARG, "chat template: tools: %s", err);
        goto done;
    }
    /* what transformers passes: messages, tools, documents, add_generation_prompt, then
     * the tokenizer's special tokens and the caller's extra variables */
    jdict_set(&a, g, jv_str("messages", 8), messages);
    jdict_set(&a, g, jv_str("tools", 5), tools);
    jdict_set(&a, g, jv_str("documents", 9), jv_none());
    jdict_set(&a, g, jv_str("add_generation_prompt", 21), jv_bool(p->add_generation_prompt));
    if (t->preset_json && (rc = add_json_vars(&a, g, t->preset_json, "model variables")) != LMC_OK) goto done;
    if (p->vars_json && (rc = add_json_vars(&a, g, p->vars_json, "variables")) != LMC_OK) goto done;
    if (a.failed) {
        rc = lmc_set_error(LMC_ERR_NOMEM, "chat template: out of memory");
        goto done;
    }
    jrender_opts o = {.now = p->now, .max_output = p->max_output};
    jbuf b = {0};
    err[0] = 0;
    if (!jinja_render(t->root, &a, g, &o, &b, err, sizeof err)) {
        bool limit = strstr(err, "too long") || strstr(err, "too deeply") || strstr(err, "memory") ||
                     strstr(err, "longer than") || strstr(err, "too large");
        rc = lmc_set_error(limit ? LMC_ERR_LIMIT : LMC_ERR_FORMAT, "chat template: %s", err);
        jbuf_free(&b);
        goto done;
    }
    if (!b.p) {
        b.p = calloc(1, 1);
        if (!b.p) {
            rc = lmc_set_error(LMC_ERR_NOMEM, "chat template: out of memory");
            goto done;
        }
    }
    *out = b.p;
    if (out_len) *out_len = b.n;
done:
    jarena_free(&a);
    return rc;
}
