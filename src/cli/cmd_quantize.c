/* cmd_quantize.c — `lmc quantize IN.gguf OUT.gguf TYPE`: write a quantized copy of a
 * model, tensor types chosen as llama.cpp's llama-quantize chooses them. */
#include "cli.h"

#include <string.h>

static const char *QUANTIZE_HELP =
    "usage: lmc quantize [options] IN.gguf OUT.gguf TYPE\n"
    "\n"
    "Writes a copy of IN with its weight matrices quantized to TYPE. The tensor types\n"
    "and bytes are those llama.cpp's llama-quantize writes (without an imatrix).\n"
    "\n"
    "TYPE is a tensor type or a K-quant mix:\n"
    "  F32 F16 BF16 Q8_0 Q5_1 Q5_0 Q4_1 Q4_0 Q6_K\n"
    "  Q5_K_M Q5_K_S Q4_K_M Q4_K_S Q3_K_L Q3_K_M Q3_K_S Q2_K   (Q5_K, Q4_K, Q3_K = _M)\n"
    "The mixes keep more bits where it matters (output, attn_v, some ffn_down); the\n"
    "legacy types still store output.weight as Q6_K, as llama-quantize does.\n"
    "Norms, biases, position embeddings and MoE routers are never quantized. A weight\n"
    "whose row length is not a multiple of the block size gets a fallback type\n"
    "(Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, others -> F16), with\n"
    "a warning naming it. Sources should be F32/F16/BF16; quantized sources are\n"
    "requantized with a warning (error adds up).\n"
    "\n"
    "options:\n"
    "  --pure           no mix: every quantized tensor gets TYPE (fallbacks still apply)\n"
    "  -t N             threads (default: " CLI_THREADS_HELP ")\n"
    "  -q, --quiet      print only warnings and errors\n"
    "\n"
    "examples:\n"
    "  lmc quantize model-f16.gguf model-q4_k_m.gguf Q4_K_M\n"
    "  lmc quantize --pure model-f32.gguf model-q8_0.gguf q8_0\n";

static void log_line(void *user, const char *line) {
    bool quiet = *(bool *)user;
    if (quiet && strncmp(line, "warning:", 8) != 0) return;
    fprintf(stderr, "%s\n", line);
}

int cmd_quantize(int argc, char **argv) {
    const char *pos[3];
    int n_pos = 0;
    bool quiet = false;
    lmc_quantize_params p = lmc_quantize_default_params();
    long long nt = cli_default_threads();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (cli_is_help(a)) {
            fputs(QUANTIZE_HELP, stdout);
            return CLI_OK;
        } else if (strcmp(a, "--pure") == 0) {
            p.pure = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) {
            if ((rc = cli_int("quantize", argc, argv, &i, 1, 256, &nt))) return rc;
        } else if (a[0] == '-' && a[1] != 0) {
            return cli_usage_error("quantize", "unknown option '%s'", a);
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        } else {
            return cli_usage_error("quantize", "too many arguments ('%s')", a);
        }
    }
    if (n_pos != 3) return cli_usage_error("quantize", "expected IN.gguf OUT.gguf TYPE");
    if (strcmp(pos[0], pos[1]) == 0) return cli_usage_error("quantize", "IN and OUT are the same file");
    p.n_threads = (int)(nt < 1 ? 1 : nt);
    p.log = log_line;
    p.log_user = &quiet;
    if (lmc_quantize_model(pos[0], pos[1], pos[2], &p) != LMC_OK) return cli_lib_error();
    return CLI_OK;
}
