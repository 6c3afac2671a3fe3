/* cmd_run.c — `lmc run`: continue a prompt with a model, streaming the new text to
 * stdout (never the prompt itself) and the speeds to stderr. */
#include "cli_gen.h"
#include "cli_sampling.h"

#include <stdlib.h>
#include <string.h>

static const char *RUN_HELP_HEAD =
    "usage: lmc run -m MODEL (-p TEXT | -f FILE) [options]\n"
    "\n"
    "Generates the continuation of a prompt and prints it to stdout as it is produced\n"
    "(the prompt itself is not printed); speeds go to stderr. Generation stops after -n\n"
    "tokens or at an end-of-generation token. When the context fills, the last half of\n"
    "it is kept, evaluated again and generation goes on (--no-shift: stop instead).\n"
    "\n"
    "options:\n"
    "  -p TEXT          the prompt (UTF-8); special-token text such as <|im_start|> is\n"
    "                   read as the special token, as llama.cpp's CLI does\n"
    "  -f FILE          read the prompt from FILE ('-' = stdin)\n";
static const char *RUN_HELP_TAIL =
    "  --ids            print the generated token ids (space-separated) instead of text\n"
    "  --ignore-eos     do not stop at end-of-generation tokens\n"
    "  --no-shift       stop when the context is full instead of keeping its last half\n"
    "\n"
    "example:\n"
    "  lmc run -m ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf -p \"The capital of France is\" -n 32\n";

typedef struct {
    cli_session *s;
    bool ids, ignore_eos, no_shift;
    cli_sampling_opts *so; /* --top-k ... --stop, --beam (cli_sampling.c) */
    int64_t n_out;
} run_state;

static bool on_token(int32_t tok, void *user) {
    run_state *r = user;
    if (!r->ignore_eos && lmc_vocab_is_eog(r->s->vocab, tok)) return false;
    if (r->ids)
        printf(r->n_out ? " %d" : "%d", tok);
    else
        if (!cli_sampling_emit(r->so, r->s, tok, stdout)) return false; /* a stop string */
    r->n_out++;
    fflush(stdout);
    return true;
}

int cmd_run(int argc, char **argv) {
    const char *cmd = "run";
    cli_gen_opts o;
    cli_gen_defaults(&o, 128);
    run_state r = {0};
    cli_sampling_opts so;
    cli_sampling_defaults(&so);
    r.so = &so;
    for (int i = 1; i < argc; i++) {
        bool matched;
        int rc;
        if (cli_is_help(argv[i])) {
            printf("%s%s%s%s", RUN_HELP_HEAD, CLI_GEN_OPTIONS_HELP, CLI_SAMPLING_OPTIONS_HELP, RUN_HELP_TAIL);
            return CLI_OK;
        }
        if ((rc = cli_gen_option(cmd, argc, argv, &i, &o, &matched))) return rc;
        if (matched) continue;
        if ((rc = cli_sampling_option(cmd, argc, argv, &i, &so, &matched))) return rc;
        if (matched) continue;
        if (!strcmp(argv[i], "--ids"))
            r.ids = true;
        else if (!strcmp(argv[i], "--ignore-eos"))
            r.ignore_eos = true;
        else if (!strcmp(argv[i], "--no-shift"))
            r.no_shift = true;
        else
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
    }
    if (!o.model) return cli_usage_error(cmd, "no model given (-m FILE)");
    if (!o.prompt == !o.prompt_file) return cli_usage_error(cmd, "give the prompt with exactly one of -p TEXT or -f FILE");

    char *text = NULL;
    size_t len;
    if (o.prompt_file) {
        text = cli_read_file(!strcmp(o.prompt_file, "-") ? "/dev/stdin" : o.prompt_file, &len);
        if (!text) return CLI_ERR;
    } else {
        len = strlen(o.prompt);
    }
    const char *prompt = text ? text : o.prompt;
    size_t bad;
    if (!cli_utf8_valid(prompt, len, &bad)) {
        free(text);
        return cli_error("the prompt is not valid UTF-8 (byte 0x%02X at offset %zu)", (unsigned char)prompt[bad], bad);
    }

    cli_session s;
    if (cli_session_open(&o, &s)) {
        free(text);
        return CLI_ERR;
    }
    r.s = &s;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    int rc = cli_tokenize(&s, prompt, len, true, true, &ids, &n_ids);
    free(text);
    const int64_t n_ctx = lmc_context_n_ctx(s.ctx);
    if (rc == CLI_OK && n_ids == 0) rc = cli_error("the prompt is empty (and the model adds no BOS token)");
    if (rc == CLI_OK && n_ids > n_ctx)
        rc = cli_error("the prompt is %lld tokens, longer than the context of %lld tokens (use a larger -c)",
                       (long long)n_ids, (long long)n_ctx);
    if (rc == CLI_OK) rc = cli_sampling_setup(cmd, &so, &o, &s, ids, n_ids);
    if (rc == CLI_OK && so.n_beams) {
        rc = cli_sampling_beam_run(&so, &s, ids, n_ids, o.n_predict, r.ids, r.ignore_eos);
    } else if (rc == CLI_OK) {
        lmc_gen_stats st;
        if (!r.no_shift) lmc_context_set_shift(s.ctx, n_ctx / 2);
        if (lmc_generate(s.ctx, ids, n_ids, o.n_predict, cli_pick, &s, on_token, &r, &st) != LMC_OK) {
            rc = cli_lib_error();
        } else {
            cli_sampling_finish(&so, &s, stdout);
            if (r.ids || r.n_out) putchar('\n');
            fflush(stdout);
            if (st.ctx_full) fprintf(stderr, "lmc: stopped: the context of %lld tokens is full\n", (long long)n_ctx);
            if (st.n_shifts)
                fprintf(stderr, "lmc: the context of %lld tokens filled %lld time(s); its last %lld tokens were kept\n",
                        (long long)n_ctx, (long long)st.n_shifts, (long long)(n_ctx / 2));
            cli_print_speed(&st);
        }
    }
    free(ids);
    cli_sampling_free(&so);
    cli_session_close(&s);
    return rc;
}
