/* cmd_tokenizer.c — `lmc tokenizer train`: a byte-level BPE tokenizer from text files. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *HELP =
    "usage: lmc tokenizer train --vocab-size N [options] --out TOK.gguf CORPUS...\n"
    "\n"
    "Trains a byte-level BPE tokenizer (GPT-2 style: a regex pre-tokenizer, then merges\n"
    "over the 256 byte symbols) on the corpus files, the way Hugging Face tokenizers'\n"
    "BpeTrainer does, and writes a vocab-only GGUF that `lmc tokenize -m TOK.gguf` and\n"
    "`lmc data prepare --tokenizer TOK.gguf` use. Files are read line by line (UTF-8).\n"
    "\n"
    "options:\n"
    "  --vocab-size N       tokens in all: specials + 256 bytes + merges (default 8192)\n"
    "  --min-frequency K    stop merging when the best pair occurs fewer than K times (default 2)\n"
    "  --special TOKEN      a special token (repeatable; default <|endoftext|>; the first one\n"
    "                       is the BOS/EOS token); --no-special for none\n"
    "  --pre NAME           pre-tokenizer (default gpt-2; see `lmc tokenize --list-pre`)\n"
    "  --out FILE           the GGUF to write (atomically)\n"
    "\n"
    "example:\n"
    "  lmc tokenizer train --vocab-size 8000 --out shakespeare.gguf ../shared/data/tinyshakespeare/input.txt\n"
    "  lmc tokenize -m shakespeare.gguf --ids \"To be, or not to be\"\n";

static void progress(void *bar, int64_t done, int64_t total) { cli_progress_update(bar, (uint64_t)done, (uint64_t)total); }

int cmd_tokenizer(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "train") != 0)
        return cli_usage_error("tokenizer", "unknown subcommand '%s' (lmc tokenizer train ...)", argv[1]);
    argc--, argv++;
    lmc_bpe_train_params p = lmc_bpe_train_default_params();
    const char *out = NULL;
    const char **files = calloc((size_t)argc, sizeof *files);
    const char **special = calloc((size_t)argc + 1, sizeof *special);
    int n_files = 0, n_special = 0, rc = CLI_OK;
    bool no_special = false;
    if (!files || !special) {
        free(files), free(special);
        return cli_error("out of memory");
    }
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i], *s;
        long long n;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(HELP, stdout);
            free(files), free(special);
            return CLI_OK;
        } else if (!strcmp(a, "--vocab-size")) {
            if (!(rc = cli_int("tokenizer", argc, argv, &i, 257, 1 << 22, &n))) p.vocab_size = (int32_t)n;
        } else if (!strcmp(a, "--min-frequency")) {
            if (!(rc = cli_int("tokenizer", argc, argv, &i, 0, 1LL << 40, &n))) p.min_frequency = (int32_t)n;
        } else if (!strcmp(a, "--special")) {
            if (!(rc = cli_value("tokenizer", argc, argv, &i, &s))) special[n_special++] = s;
        } else if (!strcmp(a, "--no-special")) {
            no_special = true;
        } else if (!strcmp(a, "--pre")) {
            rc = cli_value("tokenizer", argc, argv, &i, &p.pre);
        } else if (!strcmp(a, "--out") || !strcmp(a, "-o")) {
            rc = cli_value("tokenizer", argc, argv, &i, &out);
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("tokenizer", "unknown option '%s'", a);
        } else {
            files[n_files++] = a;
        }
    }
    if (!rc && !out) rc = cli_usage_error("tokenizer", "--out FILE is required");
    if (!rc && n_files == 0) rc = cli_usage_error("tokenizer", "give at least one corpus file");
    if (!rc) {
        if (!no_special && n_special == 0) special[n_special++] = "<|endoftext|>";
        if (no_special) n_special = 0;
        p.special = special;
        p.n_special = n_special;
        cli_progress bar;
        cli_progress_init(&bar, "training", 0);
        p.progress = progress;
        p.user = &bar;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int e = lmc_bpe_train(files, n_files, &p, out);
        cli_progress_done(&bar);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (e) {
            rc = cli_lib_error();
        } else {
            fprintf(stderr, "lmc: wrote %s in %.2f s\n", out,
                    (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
        }
    }
    free(files), free(special);
    return rc;
}
