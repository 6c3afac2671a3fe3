/* cli_gen.c — shared parts of `lmc run` and `lmc chat` (see cli_gen.h). */
#include "cli_gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_CTX 4096 /* default -c: the model's context, at most this */

const char *CLI_GEN_OPTIONS_HELP =
    "  -m FILE          the model (GGUF; llama, qwen2 or gpt2 architecture)\n"
    "  -n N             tokens to generate, N >= 0\n"
    "  --temp T         temperature; 0 = greedy (ties go to the lowest id) (default 0)\n"
    "  --seed S         random seed for --temp > 0 (default: from the clock)\n"
    "  -t N             threads (default: " CLI_THREADS_HELP ")\n"
    "  -c N             context size in tokens (default: the model's, at most 4096)\n"
    "  -b N             tokens per forward step while reading the prompt (default 512)\n"
    "  --kv-type T      KV cache type: f16 (default) or f32\n";

void cli_gen_defaults(cli_gen_opts *o, long long n_predict) {
    memset(o, 0, sizeof *o);
    o->n_predict = n_predict;
    o->temp = 0.0;
    o->n_threads = cli_default_threads();
    o->n_batch = 512;
    o->kv_type = LMC_TYPE_F16;
}

int cli_gen_option(const char *cmd, int argc, char **argv, int *i, cli_gen_opts *o, bool *matched) {
    const char *a = argv[*i];
    const char *s;
    int rc = 0;
    *matched = true;
    if (!strcmp(a, "-m") || !strcmp(a, "--model"))
        rc = cli_value(cmd, argc, argv, i, &o->model);
    else if (!strcmp(a, "-p") || !strcmp(a, "--prompt"))
        rc = cli_value(cmd, argc, argv, i, &o->prompt);
    else if (!strcmp(a, "-f") || !strcmp(a, "--file"))
        rc = cli_value(cmd, argc, argv, i, &o->prompt_file);
    else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict"))
        rc = cli_int(cmd, argc, argv, i, 0, 1LL << 30, &o->n_predict);
    else if (!strcmp(a, "--temp"))
        rc = cli_float(cmd, argc, argv, i, 0.0, 100.0, &o->temp);
    else if (!strcmp(a, "--seed")) {
        long long v;
        rc = cli_int(cmd, argc, argv, i, 0, 0x7fffffffffffffffLL, &v);
        o->seed = (unsigned long long)v;
        o->seed_set = true;
    } else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
        rc = cli_int(cmd, argc, argv, i, 1, 1024, &o->n_threads);
    else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size"))
        rc = cli_int(cmd, argc, argv, i, 1, 1 << 24, &o->n_ctx);
    else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size"))
        rc = cli_int(cmd, argc, argv, i, 1, 1 << 20, &o->n_batch);
    else if (!strcmp(a, "--kv-type")) {
        if (!(rc = cli_value(cmd, argc, argv, i, &s))) {
            if (!strcmp(s, "f16") || !strcmp(s, "F16"))
                o->kv_type = LMC_TYPE_F16;
            else if (!strcmp(s, "f32") || !strcmp(s, "F32"))
                o->kv_type = LMC_TYPE_F32;
            else
                rc = cli_usage_error(cmd, "--kv-type must be f16 or f32, got '%s'", s);
        }
    } else
        *matched = false;
    return rc;
}

int cli_session_open(const cli_gen_opts *o, cli_session *s) {
    memset(s, 0, sizeof *s);
    s->model = lmc_model_load(o->model);
    if (!s->model) return cli_lib_error();
    const lmc_model_hparams *hp = lmc_model_get_hparams(s->model);
    s->n_vocab = hp->n_vocab;
    s->vocab = lmc_vocab_load(lmc_model_gguf(s->model));
    if (!s->vocab) {
        cli_lib_error();
        cli_session_close(s);
        return CLI_ERR;
    }
    if (lmc_vocab_n_tokens(s->vocab) > hp->n_vocab) {
        cli_error("the tokenizer has %d tokens but the model only %d logits", lmc_vocab_n_tokens(s->vocab), hp->n_vocab);
        cli_session_close(s);
        return CLI_ERR;
    }
    s->detok = lmc_detok_init(s->vocab, false);
    if (!s->detok) {
        cli_lib_error();
        cli_session_close(s);
        return CLI_ERR;
    }
    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = (int32_t)(o->n_ctx ? o->n_ctx : (hp->n_ctx_train < DEFAULT_MAX_CTX ? hp->n_ctx_train : DEFAULT_MAX_CTX));
    cp.n_batch = (int32_t)o->n_batch;
    cp.n_threads = (int32_t)o->n_threads;
    cp.kv_type = o->kv_type;
    s->ctx = lmc_context_init(s->model, cp);
    if (!s->ctx) {
        cli_lib_error();
        cli_session_close(s);
        return CLI_ERR;
    }
    if (o->temp > 0.0) {
        /* sampling: llama.cpp's default chain (top-k 40, top-p 0.95, min-p 0.05, temp) */
        lmc_sampler_params sp = lmc_sampler_default_params();
        sp.temp = (float)o->temp;
        sp.seed = o->seed_set ? (uint64_t)o->seed : LMC_SEED_RANDOM;
        s->sampler = lmc_sampler_chain_from_params(&sp, hp->n_vocab);
        if (!s->sampler) {
            cli_lib_error();
            cli_session_close(s);
            return CLI_ERR;
        }
    }
    return CLI_OK;
}

void cli_session_close(cli_session *s) {
    lmc_sampler_free(s->sampler);
    lmc_detok_free(s->detok);
    lmc_context_free(s->ctx);
    lmc_vocab_free(s->vocab);
    lmc_model_free(s->model);
    memset(s, 0, sizeof *s);
}

int32_t cli_pick(const float *logits, int32_t n_vocab, void *user) {
    cli_session *s = user;
    if (!s->sampler) return lmc_argmax(logits, n_vocab);
    return lmc_sampler_sample(s->sampler, logits, n_vocab);
}

char *cli_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    bool err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        cli_error("cannot read '%s'", path);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

bool cli_utf8_valid(const char *str, size_t n, size_t *bad) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0; /* no overlong forms */
            if (c == 0xED) hi = 0x9F; /* no surrogates     */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F; /* <= U+10FFFF       */
        } else {
            *bad = i;
            return false;
        }
        if (i + need >= n) { /* truncated sequence */
            *bad = i;
            return false;
        }
        for (size_t k = 1; k <= need; k++) {
            unsigned b = s[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
                *bad = i;
                return false;
            }
        }
        i += need + 1;
    }
    return true;
}

int cli_tokenize(const cli_session *s, const char *text, size_t len, bool add_special, bool parse_special,
                 int32_t **ids, int64_t *n) {
    size_t bad;
    if (!cli_utf8_valid(text, len, &bad))
        return cli_error("the prompt is not valid UTF-8 (byte 0x%02X at offset %zu)", (unsigned char)text[bad], bad);
    if (lmc_tokenize(s->vocab, text, len, add_special, parse_special, ids, n) != LMC_OK) return cli_lib_error();
    return CLI_OK;
}

void cli_print_piece(cli_session *s, FILE *f, int32_t tok) {
    const char *text;
    size_t len;
    if (lmc_detok_push(s->detok, tok, &text, &len) == LMC_OK && len) fwrite(text, 1, len, f);
}

void cli_print_flush(cli_session *s, FILE *f) {
    const char *text;
    size_t len;
    if (lmc_detok_flush(s->detok, &text, &len) == LMC_OK && len) fwrite(text, 1, len, f);
    lmc_detok_reset(s->detok);
}

void cli_print_speed(const lmc_gen_stats *st) {
    fprintf(stderr, "\nlmc: prompt %lld tokens in %.1f ms (%.1f tok/s); generation %lld tokens in %.1f ms (%.1f tok/s)\n",
            (long long)st->n_prompt, st->t_prompt_ms, st->t_prompt_ms > 0 ? st->n_prompt * 1e3 / st->t_prompt_ms : 0.0,
            (long long)st->n_decoded, st->t_gen_ms, st->t_gen_ms > 0 ? st->n_decoded * 1e3 / st->t_gen_ms : 0.0);
}
