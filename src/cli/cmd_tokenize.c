/* cmd_tokenize.c — `lmc tokenize` (text -> token ids) and `lmc detokenize` (ids -> text). */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *TOKENIZE_HELP =
    "usage: lmc tokenize -m MODEL [options] TEXT\n"
    "       lmc tokenize -m MODEL [options] -f FILE\n"
    "\n"
    "Splits text into the model's tokens (its GGUF tokenizer: SentencePiece or byte-level BPE)\n"
    "and prints one token per line: id and piece. Only the tokenizer metadata is read.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE   GGUF model or vocab-only file\n"
    "  -p, --prompt TEXT  the text (same as giving it as the argument)\n"
    "  -f, --file FILE    read the text from FILE ('-' = standard input)\n"
    "  --ids              print only the ids, space-separated, on one line\n"
    "  --pieces           print only the pieces, one per line (escaped)\n"
    "  --no-bos           add no special tokens at all (no BOS/EOS)\n"
    "  --special          turn special-token text (\"<|im_start|>\") into its token\n"
    "  --stats            print bytes, tokens and tokenizer speed (MB/s, wall and CPU) to stderr\n"
    "  --list-pre         list the byte-level BPE pre-tokenizers lmc implements\n"
    "\n"
    "examples:\n"
    "  lmc tokenize -m ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf --ids \"Hello world\"\n"
    "  lmc tokenize -m model.gguf --special \"<|im_start|>user\"\n";

static const char *DETOKENIZE_HELP =
    "usage: lmc detokenize -m MODEL [options] ID...\n"
    "\n"
    "Turns token ids back into text (the inverse of `lmc tokenize`). Ids may be separate\n"
    "arguments or one argument (\"1 2 3\", \"[1, 2, 3]\"); with none, they are read from\n"
    "standard input, so `lmc tokenize --ids ... | lmc detokenize -m MODEL` round-trips.\n"
    "Invalid UTF-8 from stray byte tokens is printed as U+FFFD.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE   GGUF model or vocab-only file\n"
    "  --special          also print control tokens (BOS, EOS, <|im_end|>, ...)\n"
    "  -n                 no newline after the text\n";

static char *read_all(FILE *f, size_t *n) {
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    if (!b) return NULL;
    for (;;) {
        if (len == cap) {
            char *q = realloc(b, cap *= 2);
            if (!q) {
                free(b);
                return NULL;
            }
            b = q;
        }
        size_t r = fread(b + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    if (ferror(f)) {
        free(b);
        return NULL;
    }
    *n = len;
    return b;
}

static lmc_vocab *open_vocab(const char *path) {
    lmc_gguf *g = lmc_gguf_open_model(path);
    if (!g) return NULL;
    lmc_vocab *v = lmc_vocab_load(g);
    lmc_gguf_close(g);
    return v;
}

/* Prints a piece with control characters, backslash and quote escaped. */
static void print_escaped(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\\') fputs("\\\\", stdout);
        else if (c == '\'') fputs("\\'", stdout);
        else if (c < 0x20 || c == 0x7F) printf("\\x%02x", c);
        else putchar(c);
    }
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *file = NULL, *text = NULL;
    bool ids_only = false, pieces_only = false, no_bos = false, special = false, stats = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(TOKENIZE_HELP, stdout);
            return CLI_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            rc = cli_value("tokenize", argc, argv, &i, &model);
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            rc = cli_value("tokenize", argc, argv, &i, &file);
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            rc = cli_value("tokenize", argc, argv, &i, &text);
        } else if (!strcmp(a, "--ids")) {
            ids_only = true;
        } else if (!strcmp(a, "--pieces")) {
            pieces_only = true;
        } else if (!strcmp(a, "--no-bos")) {
            no_bos = true;
        } else if (!strcmp(a, "--special")) {
            special = true;
        } else if (!strcmp(a, "--stats")) {
            stats = true;
        } else if (!strcmp(a, "--list-pre")) {
            for (const char *const *p = lmc_pretokenizer_names(); *p; p++) printf("%s\n", *p);
            return CLI_OK;
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("tokenize", "unknown option '%s'", a);
        } else if (!text) {
            text = a;
        } else {
            rc = cli_usage_error("tokenize", "unexpected argument '%s' (quote the text)", a);
        }
        if (rc) return rc;
    }
    if (!model) return cli_usage_error("tokenize", "no model given (-m MODEL)");
    if (ids_only && pieces_only) return cli_usage_error("tokenize", "--ids and --pieces exclude each other");
    if (!text && !file) return cli_usage_error("tokenize", "no text given (TEXT or -f FILE)");
    if (text && file) return cli_usage_error("tokenize", "give TEXT or -f FILE, not both");

    char *buf = NULL;
    size_t len = 0;
    if (file) {
        FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
        if (!f) return cli_error("cannot open %s: %s", file, strerror(errno));
        buf = read_all(f, &len);
        if (f != stdin) fclose(f);
        if (!buf) return cli_error("cannot read %s", file);
    } else {
        len = strlen(text);
    }
    const char *t = buf ? buf : text;

    lmc_vocab *v = open_vocab(model);
    if (!v) {
        free(buf);
        return cli_lib_error();
    }
    int32_t *ids = NULL;
    int64_t n = 0;
    struct timespec t0, t1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    int rc = lmc_tokenize(v, t, len, !no_bos, special, &ids, &n);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != LMC_OK) {
        lmc_vocab_free(v);
        free(buf);
        return cli_lib_error();
    }
    if (ids_only) {
        /* formatted by hand: printf per id would dominate on big files */
        char out[1 << 16];
        size_t o = 0;
        for (int64_t i = 0; i < n; i++) {
            char d[12];
            int k = 0;
            uint32_t x = (uint32_t)ids[i]; /* ids are >= 0 */
            do d[k++] = (char)('0' + x % 10), x /= 10; while (x);
            if (i) out[o++] = ' ';
            while (k) out[o++] = d[--k];
            if (o > sizeof out - 16) fwrite(out, 1, o, stdout), o = 0;
        }
        out[o++] = '\n';
        fwrite(out, 1, o, stdout);
    } else {
        size_t cap = lmc_vocab_max_piece_len(v) + 1;
        char *piece = malloc(cap);
        for (int64_t i = 0; piece && i < n; i++) {
            int pn = lmc_token_to_piece(v, ids[i], true, piece, cap);
            if (pn < 0) pn = 0;
            if (!pieces_only) printf("%6d -> '", ids[i]);
            print_escaped(piece, (size_t)pn);
            fputs(pieces_only ? "\n" : "'\n", stdout);
        }
        if (n == 0) putchar('\n');
        free(piece);
    }
    if (stats) {
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        double c = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
        fprintf(stderr, "tokenize: %zu bytes -> %lld tokens in %.4f s = %.2f MB/s (cpu %.4f s = %.2f MB/s) (%s, pre %s)\n",
                len, (long long)n, s, s > 0 ? (double)len / 1e6 / s : 0.0, c, c > 0 ? (double)len / 1e6 / c : 0.0,
                lmc_vocab_model(v), *lmc_vocab_pre(v) ? lmc_vocab_pre(v) : "-");
    }
    free(ids);
    lmc_vocab_free(v);
    free(buf);
    return CLI_OK;
}

/* Appends the ids in s ("1 2 3", "[1, 2, 3]") to *ids. */
static int parse_ids(const char *s, int32_t **ids, int64_t *n, int64_t *cap) {
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '[' || *p == ']' || *p == '\n' || *p == '\t' || *p == '\r') p++;
        if (!*p) return 0;
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno || x < INT32_MIN || x > INT32_MAX)
            return cli_usage_error("detokenize", "'%.20s' is not a token id", p);
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            int32_t *q = realloc(*ids, (size_t)*cap * sizeof *q);
            if (!q) return cli_error("out of memory");
            *ids = q;
        }
        (*ids)[(*n)++] = (int32_t)x;
        p = end;
    }
}

int cmd_detokenize(int argc, char **argv) {
    const char *model = NULL;
    bool special = false, newline = true;
    int32_t *ids = NULL;
    int64_t n = 0, cap = 0;
    bool any = false;
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(DETOKENIZE_HELP, stdout);
            free(ids);
            return CLI_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            rc = cli_value("detokenize", argc, argv, &i, &model);
        } else if (!strcmp(a, "--special")) {
            special = true;
        } else if (!strcmp(a, "-n")) {
            newline = false;
        } else if (a[0] == '-' && a[1] && (a[1] < '0' || a[1] > '9')) {
            rc = cli_usage_error("detokenize", "unknown option '%s'", a);
        } else {
            any = true;
            rc = parse_ids(a, &ids, &n, &cap);
        }
    }
    if (!rc && !model) rc = cli_usage_error("detokenize", "no model given (-m MODEL)");
    if (!rc && !any) {
        size_t len;
        char *in = read_all(stdin, &len);
        if (!in) rc = cli_error("cannot read standard input");
        else {
            char *z = realloc(in, len + 1);
            if (z) {
                z[len] = 0;
                rc = parse_ids(z, &ids, &n, &cap);
                free(z);
            } else {
                free(in);
                rc = cli_error("out of memory");
            }
        }
    }
    if (rc) {
        free(ids);
        return rc;
    }
    lmc_vocab *v = open_vocab(model);
    if (!v) {
        free(ids);
        return cli_lib_error();
    }
    char *text = NULL;
    size_t len = 0;
    if (lmc_detokenize(v, ids, n, special, &text, &len) != LMC_OK) rc = cli_lib_error();
    else {
        fwrite(text, 1, len, stdout);
        if (newline) putchar('\n');
    }
    free(text);
    free(ids);
    lmc_vocab_free(v);
    return rc;
}
