/* cli_sampling.h — the sampling, stop and beam-search options of `lmc run`
 * (--top-k ... --stop, --beam), kept apart from cmd_run.c so that it only needs a
 * few calls: parse, set up, emit each token, finish, free. */
#ifndef LMC_CLI_SAMPLING_H
#define LMC_CLI_SAMPLING_H

#include "cli_gen.h"

#define CLI_MAX_BIAS 1024
#define CLI_MAX_STOPS 64

typedef struct cli_sampling_opts {
    lmc_sampler_params sp;     /* temp and seed come from cli_gen_opts at setup   */
    bool sampling_set;         /* a filter (top-k, top-p, min-p, min-keep) given   */
    bool penalty_set;          /* a penalty or a logit bias given                  */
    /* fixed arrays (pointing into argv), so that a usage error leaks nothing */
    lmc_logit_bias bias[CLI_MAX_BIAS]; /* --logit-bias ID=BIAS, repeatable        */
    size_t n_bias;
    const char *stops[CLI_MAX_STOPS];  /* --stop STR, repeatable                  */
    size_t n_stops;
    long long n_beams;         /* --beam B; 0 = no beam search                     */
    double length_penalty;     /* --length-penalty ALPHA                           */
    long long n_best;          /* --n-best K                                       */
    bool beam_opts_set;
    lmc_stop *stop;            /* the stop-string matcher while generating         */
} cli_sampling_opts;

extern const char *CLI_SAMPLING_OPTIONS_HELP;

void cli_sampling_defaults(cli_sampling_opts *so);
/* Consumes argv[*i] (and its value) if it is one of these options; 0 and *matched,
 * or a usage error code. */
int cli_sampling_option(const char *cmd, int argc, char **argv, int *i, cli_sampling_opts *so, bool *matched);
/* Checks the options against each other and against -n/--temp/--seed, builds the
 * sampler chain (replacing s->sampler) and feeds it the prompt (the penalty window
 * includes the prompt, as in llama.cpp). CLI_OK, CLI_USAGE or CLI_ERR. */
int cli_sampling_setup(const char *cmd, cli_sampling_opts *so, const cli_gen_opts *o, cli_session *s,
                       const int32_t *prompt, int64_t n_prompt);
/* Prints the text of tok unless it completes a stop string (returns false: stop);
 * text that may begin a stop string waits for the next token. */
bool cli_sampling_emit(cli_sampling_opts *so, cli_session *s, int32_t tok, FILE *f);
/* Prints text still held back (generation ended without a stop string). */
void cli_sampling_finish(cli_sampling_opts *so, cli_session *s, FILE *f);
/* --beam: runs beam search from the prompt and prints the best hypothesis (or, with
 * --n-best K > 1, K hypotheses with their scores). CLI_OK or CLI_ERR. */
int cli_sampling_beam_run(cli_sampling_opts *so, cli_session *s, const int32_t *prompt, int64_t n_prompt,
                          long long n_predict, bool ids, bool ignore_eos);
void cli_sampling_free(cli_sampling_opts *so);

#endif /* LMC_CLI_SAMPLING_H */
