/* cli.h — shared helpers of the lmc command-line tool (not part of the library). */
#ifndef LMC_CLI_H
#define LMC_CLI_H

#include "lmc.h"

#include <stdio.h>

/* Exit codes of every command. */
enum { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;
} cli_command;

/* Print "lmc: error: ..." (one line) to stderr. Returns CLI_ERR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "lmc CMD: ... (see 'lmc CMD --help')" to stderr. Returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the library's last error as one line. Returns CLI_ERR. */
int cli_lib_error(void);

/* True when argv[i] is "-h" or "--help". */
int cli_is_help(const char *arg);

/* Option values. Each returns 0 and stores the value, or prints a usage error and
 * returns CLI_USAGE. *i is advanced past the value. */
int cli_value(const char *cmd, int argc, char **argv, int *i, const char **out);
int cli_int(const char *cmd, int argc, char **argv, int *i, long long min, long long max, long long *out);
int cli_float(const char *cmd, int argc, char **argv, int *i, double min, double max, double *out);

/* Human-readable byte count ("1.50 MiB") into buf. */
const char *cli_bytes(double bytes, char *buf, size_t cap);

/* A progress bar on stderr for long work: redrawn in place on a terminal, a line per
 * 10% otherwise. cli_progress_update has the lmc_progress_fn signature. */
typedef struct cli_progress {
    const char *label;
    int bytes;         /* units are bytes (shown as MiB, with a rate) */
    int tty;
    double t0, last;   /* start time, last redraw (seconds) */
    int last_decile;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label, int bytes);
void cli_progress_update(void *p, uint64_t done, uint64_t total);
void cli_progress_done(cli_progress *p);
double cli_now(void); /* monotonic seconds */
/* threads when -t is not given: one per CPU core this process may run on (its CPU affinity,
 * so taskset and container limits count; SMT siblings are halved), 1..1024 */
int cli_default_threads(void);
#define CLI_THREADS_HELP "one per CPU core available"

/* mean and sample standard deviation (0 for n = 1) of x[n], n >= 1 */
void cli_mean_sd(const double *x, int n, double *mean, double *sd);

/* Commands (one file each: cmd_<name>.c). */
int cmd_info(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_flops(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_bleu(int argc, char **argv);
int cmd_ngram(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench_engine(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_bench_train(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_convert(int argc, char **argv);

#endif /* LMC_CLI_H */
