/* cmd_convert.c — `lmc convert DIR OUT.gguf`: a Hugging Face folder to one GGUF. */
#include "cli.h"

#include <string.h>

static const char *HELP =
    "usage: lmc convert DIR OUT.gguf [--type f32|f16|q8_0]\n"
    "\n"
    "Converts a Hugging Face model folder (config.json, model.safetensors or sharded\n"
    "model-*.safetensors with model.safetensors.index.json, tokenizer.json,\n"
    "tokenizer_config.json) of a llama or qwen2 model into a GGUF that lmc and llama.cpp\n"
    "load, with the tokenizer and chat template carried over.\n"
    "\n"
    "options:\n"
    "  --type T   2-D weights as f32 (default), f16 or q8_0; norms and biases stay f32\n"
    "\n"
    "example:\n"
    "  lmc convert ./TinyLlama-1.1B-Chat ./tinyllama-f16.gguf --type f16\n";

int cmd_convert(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *type = "f32";
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(HELP, stdout);
            return CLI_OK;
        }
        if (!strcmp(argv[i], "--type")) {
            if (cli_value("convert", argc, argv, &i, &type) != CLI_OK) return CLI_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("convert", "unknown option '%s'", argv[i]);
        } else if (npos < 2) {
            pos[npos++] = argv[i];
        } else {
            return cli_usage_error("convert", "unexpected argument '%s'", argv[i]);
        }
    }
    if (npos != 2) {
        fputs(HELP, stderr);
        return CLI_USAGE;
    }
    if (lmc_hf_convert(pos[0], pos[1], type) != LMC_OK) return cli_lib_error();
    fprintf(stderr, "lmc: wrote %s\n", pos[1]);
    return CLI_OK;
}
