/* cli_sampling.c — sampling, stop-string and beam-search options of `lmc run`
 * (see cli_sampling.h). Option names and meanings follow llama.cpp's CLI. */
#include "cli_sampling.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *CLI_SAMPLING_OPTIONS_HELP =
    "sampling (with --temp > 0; applied in llama.cpp's order: logit bias, penalties,\n"
    "top-k, top-p, min-p, temperature, then a seeded draw):\n"
    "  --top-k N        keep the N most likely tokens; 0 = off, 1 = greedy (default 40)\n"
    "  --top-p P        keep the most likely tokens up to mass P, 0 < P <= 1; 1 = off (default 0.95)\n"
    "  --min-p P        keep tokens with p >= P * p(most likely), 0 <= P <= 1; 0 = off (default 0.05)\n"
    "  --min-keep N     top-p and min-p keep at least N tokens (default 0)\n"
    "  --repeat-penalty R     divide positive / multiply negative logits of recent tokens by R > 0;\n"
    "                   1 = off (default 1); also applies with --temp 0\n"
    "  --repeat-last-n N      tokens the penalties look back at, prompt included;\n"
    "                   -1 = all, 0 = off (default 64)\n"
    "  --presence-penalty F   subtract F from the logit of every recent token (default 0)\n"
    "  --frequency-penalty F  subtract F x (its count) from the logit of recent tokens (default 0)\n"
    "  --logit-bias ID=B      add B to token ID's logit (B = -inf bans it); repeatable\n"
    "stopping:\n"
    "  --stop STR       stop when the text contains STR (not printed; found even when split\n"
    "                   across tokens); repeatable\n"
    "beam search (deterministic; not with --temp > 0 or the sampling options):\n"
    "  --beam B         keep B hypotheses; score = log-prob / length^ALPHA\n"
    "  --length-penalty ALPHA length exponent (default 1; 0 = plain log-prob)\n"
    "  --n-best K       print the K best hypotheses with their scores (default 1)\n"
    "output:\n";

void cli_sampling_defaults(cli_sampling_opts *so) {
    memset(so, 0, sizeof *so);
    so->sp = lmc_sampler_default_params();
    so->length_penalty = 1.0;
    so->n_best = 1;
}

/* "ID=BIAS" (BIAS may be -inf) */
static int parse_bias(const char *cmd, const char *v, lmc_logit_bias *out) {
    char *end;
    errno = 0;
    long id = strtol(v, &end, 10);
    if (errno || end == v || *end != '=' || id < 0 || id > INT32_MAX)
        return cli_usage_error(cmd, "--logit-bias needs ID=BIAS with a token id >= 0, got '%s'", v);
    const char *b = end + 1;
    double bias = strtod(b, &end);
    if (end == b || *end || isnan(bias) || bias == INFINITY)
        return cli_usage_error(cmd, "--logit-bias needs ID=BIAS with BIAS a number or -inf, got '%s'", v);
    out->token = (int32_t)id;
    out->bias = (float)bias;
    return 0;
}

int cli_sampling_option(const char *cmd, int argc, char **argv, int *i, cli_sampling_opts *so, bool *matched) {
    const char *a = argv[*i], *s;
    long long n;
    double d;
    int rc = 0;
    *matched = true;
    lmc_sampler_params *p = &so->sp;
    if (!strcmp(a, "--top-k")) {
        if (!(rc = cli_int(cmd, argc, argv, i, 0, INT32_MAX, &n))) p->top_k = (int32_t)n, so->sampling_set = true;
    } else if (!strcmp(a, "--top-p")) {
        if (!(rc = cli_float(cmd, argc, argv, i, 0.0, 1.0, &d))) {
            if (d <= 0.0) return cli_usage_error(cmd, "--top-p must be in (0, 1] (1 = off), got %g", d);
            p->top_p = (float)d, so->sampling_set = true;
        }
    } else if (!strcmp(a, "--min-p")) {
        if (!(rc = cli_float(cmd, argc, argv, i, 0.0, 1.0, &d))) p->min_p = (float)d, so->sampling_set = true;
    } else if (!strcmp(a, "--min-keep")) {
        if (!(rc = cli_int(cmd, argc, argv, i, 0, INT32_MAX, &n))) p->min_keep = (int32_t)n, so->sampling_set = true;
    } else if (!strcmp(a, "--repeat-penalty")) {
        if (!(rc = cli_float(cmd, argc, argv, i, 0.0, 1e6, &d))) {
            if (d <= 0.0) return cli_usage_error(cmd, "--repeat-penalty must be > 0 (1 = off), got %g", d);
            p->repeat_penalty = (float)d, so->penalty_set = true;
        }
    } else if (!strcmp(a, "--repeat-last-n")) {
        if (!(rc = cli_int(cmd, argc, argv, i, -1, INT32_MAX, &n))) p->repeat_last_n = (int32_t)n, so->penalty_set = true;
    } else if (!strcmp(a, "--presence-penalty")) {
        if (!(rc = cli_float(cmd, argc, argv, i, -1e6, 1e6, &d))) p->presence_penalty = (float)d, so->penalty_set = true;
    } else if (!strcmp(a, "--frequency-penalty")) {
        if (!(rc = cli_float(cmd, argc, argv, i, -1e6, 1e6, &d))) p->frequency_penalty = (float)d, so->penalty_set = true;
    } else if (!strcmp(a, "--logit-bias")) {
        if (!(rc = cli_value(cmd, argc, argv, i, &s))) {
            if (so->n_bias == CLI_MAX_BIAS) return cli_usage_error(cmd, "at most %d --logit-bias options", CLI_MAX_BIAS);
            if ((rc = parse_bias(cmd, s, &so->bias[so->n_bias]))) return rc;
            so->n_bias++;
            so->penalty_set = true;
        }
    } else if (!strcmp(a, "--stop")) {
        if (!(rc = cli_value(cmd, argc, argv, i, &s))) {
            if (!*s) return cli_usage_error(cmd, "--stop needs a non-empty string");
            if (so->n_stops == CLI_MAX_STOPS) return cli_usage_error(cmd, "at most %d --stop options", CLI_MAX_STOPS);
            so->stops[so->n_stops++] = s;
        }
    } else if (!strcmp(a, "--beam") || !strcmp(a, "--beams")) {
        rc = cli_int(cmd, argc, argv, i, 1, 1024, &so->n_beams);
    } else if (!strcmp(a, "--length-penalty")) {
        if (!(rc = cli_float(cmd, argc, argv, i, -100.0, 100.0, &so->length_penalty))) so->beam_opts_set = true;
    } else if (!strcmp(a, "--n-best")) {
        if (!(rc = cli_int(cmd, argc, argv, i, 1, 1024, &so->n_best))) so->beam_opts_set = true;
    } else {
        *matched = false;
    }
    return rc;
}

int cli_sampling_setup(const char *cmd, cli_sampling_opts *so, const cli_gen_opts *o, cli_session *s,
                       const int32_t *prompt, int64_t n_prompt) {
    if (so->n_beams) {
        if (o->temp > 0.0 || so->sampling_set || so->penalty_set)
            return cli_usage_error(cmd, "--beam is deterministic and cannot be combined with sampling options "
                                        "(--temp > 0, --top-k, --top-p, --min-p, penalties, --logit-bias)");
        if (so->n_best > so->n_beams)
            return cli_usage_error(cmd, "--n-best %lld is more than the %lld beams", so->n_best, so->n_beams);
        return CLI_OK;
    }
    if (so->beam_opts_set) return cli_usage_error(cmd, "--length-penalty and --n-best need --beam B");
    if (o->temp == 0.0 && so->sampling_set)
        fprintf(stderr, "lmc %s: note: --top-k/--top-p/--min-p have no effect with --temp 0 (greedy)\n", cmd);
    for (size_t k = 0; k < so->n_bias; k++)
        if (so->bias[k].token >= s->n_vocab)
            return cli_usage_error(cmd, "--logit-bias: token %d is outside the vocabulary (0..%d)", so->bias[k].token,
                                   s->n_vocab - 1);
    if (so->n_stops) {
        so->stop = lmc_stop_init(so->stops, so->n_stops, 0);
        if (!so->stop) return cli_lib_error();
    }
    if (o->temp > 0.0 || so->penalty_set) {
        so->sp.temp = (float)o->temp;
        so->sp.seed = o->seed_set ? (uint64_t)o->seed : LMC_SEED_RANDOM;
        so->sp.logit_bias = so->bias;
        so->sp.n_logit_bias = so->n_bias;
        lmc_sampler *ch = lmc_sampler_chain_from_params(&so->sp, s->n_vocab);
        if (!ch) return cli_lib_error();
        lmc_sampler_free(s->sampler);
        s->sampler = ch;
        for (int64_t k = 0; k < n_prompt; k++) lmc_sampler_accept(ch, prompt[k]);
        if (o->temp > 0.0 && !o->seed_set)
            fprintf(stderr, "lmc %s: seed %llu (repeat this run with --seed)\n", cmd,
                    (unsigned long long)lmc_sampler_seed(ch));
    }
    return CLI_OK;
}

static int piece(const cli_session *s, int32_t tok, char *buf, size_t cap) {
    int n = lmc_token_to_piece(s->vocab, tok, false, buf, cap);
    return n > 0 ? n : 0;
}

bool cli_sampling_emit(cli_sampling_opts *so, cli_session *s, int32_t tok, FILE *f) {
    if (!so->stop) {
        cli_print_piece(s, f, tok);
        return true;
    }
    /* Whole characters only (lmc_detok), so stop strings and the terminal never see
     * half of a character that spans byte tokens. */
    const char *text = "";
    size_t n = 0;
    if (lmc_detok_push(s->detok, tok, &text, &n) != LMC_OK) n = 0;
    const char *out;
    size_t len;
    lmc_stop_reason r = lmc_stop_push(so->stop, tok, text, n, &out, &len);
    fwrite(out, 1, len, f);
    return r == LMC_STOP_NONE;
}

void cli_sampling_finish(cli_sampling_opts *so, cli_session *s, FILE *f) {
    if (so->stop) {
        const char *out;
        size_t len;
        lmc_stop_flush(so->stop, &out, &len);
        fwrite(out, 1, len, f);
    }
    cli_print_flush(s, f);
}

/* Prints a hypothesis: ids, or its text cut at the first stop string. */
static void print_hyp(cli_sampling_opts *so, const cli_session *s, const lmc_beam_hyp *h, bool ids, bool ignore_eos) {
    lmc_stop *st = so->n_stops ? lmc_stop_init(so->stops, so->n_stops, 0) : NULL;
    for (int32_t k = 0; k < h->n_tokens; k++) {
        const int32_t t = h->tokens[k];
        if (!ignore_eos && lmc_vocab_is_eog(s->vocab, t)) break;
        if (ids) {
            printf(k ? " %d" : "%d", t);
            continue;
        }
        char buf[256];
        int n = piece(s, t, buf, sizeof buf);
        if (!st) {
            fwrite(buf, 1, (size_t)n, stdout);
            continue;
        }
        const char *out;
        size_t len;
        lmc_stop_reason r = lmc_stop_push(st, t, buf, (size_t)n, &out, &len);
        fwrite(out, 1, len, stdout);
        if (r != LMC_STOP_NONE) break;
    }
    if (st) {
        const char *out;
        size_t len;
        lmc_stop_flush(st, &out, &len);
        fwrite(out, 1, len, stdout);
    }
    putchar('\n');
    lmc_stop_free(st);
}

int cli_sampling_beam_run(cli_sampling_opts *so, cli_session *s, const int32_t *prompt, int64_t n_prompt,
                          long long n_predict, bool ids, bool ignore_eos) {
    if (n_predict == 0) return CLI_OK;
    int32_t *eog = NULL;
    size_t n_eog = 0;
    if (!ignore_eos) {
        const int32_t nt = lmc_vocab_n_tokens(s->vocab);
        eog = malloc((size_t)(nt > 0 ? nt : 1) * sizeof *eog);
        if (!eog) return cli_error("out of memory");
        for (int32_t t = 0; t < nt; t++)
            if (lmc_vocab_is_eog(s->vocab, t)) eog[n_eog++] = t;
    }
    lmc_beam_params bp = lmc_beam_default_params();
    bp.n_beams = (int32_t)so->n_beams;
    bp.n_best = (int32_t)so->n_best;
    bp.length_penalty = (float)so->length_penalty;
    bp.max_tokens = (int32_t)(n_predict < INT32_MAX ? n_predict : INT32_MAX);
    bp.eog = eog;
    bp.n_eog = n_eog;
    lmc_beam_result res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = lmc_beam_search_model(s->ctx, prompt, n_prompt, &bp, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(eog);
    if (rc != LMC_OK) return cli_lib_error();
    for (int32_t h = 0; h < res.n_hyps; h++) {
        const lmc_beam_hyp *y = &res.hyps[h];
        if (res.n_hyps > 1 || so->n_best > 1)
            printf("[%d] score %.6f (log-prob %.6f, %d tokens%s)\n", h + 1, y->score, y->logprob, y->n_tokens,
                   y->finished ? ", ended" : "");
        print_hyp(so, s, y, ids, ignore_eos);
    }
    fflush(stdout);
    const double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (res.n_hyps)
        fprintf(stderr, "\nlmc: beam search: %lld beams, best score %.4f (log-prob %.4f, %d tokens), %.1f ms\n",
                so->n_beams, res.hyps[0].score, res.hyps[0].logprob, res.hyps[0].n_tokens, ms);
    lmc_beam_result_free(&res);
    return CLI_OK;
}

void cli_sampling_free(cli_sampling_opts *so) {
    lmc_stop_free(so->stop);
    so->stop = NULL;
}
