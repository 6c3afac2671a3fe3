/* main.c — `lmc <command> [options]`: finds the command and hands it argv. */
#include "cli.h"

#include <string.h>

/* One row per command, in the order `lmc --help` lists them. */
static const cli_command g_commands[] = {
    {"info", cmd_info, "show a GGUF model's metadata, tensors and memory needs"},
    {"flops", cmd_flops, "training compute, time and cost; compute-optimal model size"},
    {"pull", cmd_pull, "download a GGUF model (URL or hf://OWNER/REPO/FILE) into the cache"},
    {"run", cmd_run, "generate the continuation of a prompt (greedy or sampled)"},
    {"serve", cmd_serve, "OpenAI-compatible HTTP server (chat, completions, embeddings) and web chat"},
    {"chat", cmd_chat, "multi-turn chat with an instruction-tuned model (its chat template)"},
    {"tokenize", cmd_tokenize, "split text into a model's tokens (ids and pieces)"},
    {"detokenize", cmd_detokenize, "turn token ids back into text"},
    {"tokenizer", cmd_tokenizer, "train a byte-level BPE tokenizer on text files (lmc tokenizer train)"},
    {"bleu", cmd_bleu, "BLEU and chrF of a system output against references (sacreBLEU-compatible)"},
    {"ngram", cmd_ngram, "n-gram language models: train (ARPA), perplexity, generate"},
    {"template", cmd_template, "render a chat template for a conversation (as transformers does)"},
    {"convert", cmd_convert, "convert a Hugging Face folder (llama, qwen2) to GGUF"},
    {"quantize", cmd_quantize, "write a quantized copy of a model (Q4_K_M, Q8_0, ... as llama-quantize)"},
    {"perplexity", cmd_perplexity, "perplexity of a text file (llama-perplexity's method, or a sliding window)"},
    {"eval", cmd_eval, "score a model on a benchmark task described by a spec file (tasks/)"},
    {"bench", cmd_bench, "measure memory bandwidth, FLOP/s and kernel speed per weight type"},
    {"data", cmd_data, "prepare token shards from text for training (lmc data prepare)"},
    {"train", cmd_train, "pretrain a llama or gpt2 model from scratch; checkpoints, resume, loss curve"},
    {"bench-train", cmd_bench_train, "training speed: ms/step, tokens/s and MFU of a model shape (fwd+bwd+AdamW)"},
    {"bench-engine", cmd_bench_engine, "serving engine: throughput at 1..64 streams, cached TTFT, KV-type perplexity"},
};

static void usage(FILE *f) {
    fprintf(f,
            "lmc %s — the large-language-model lifecycle in C\n"
            "\n"
            "usage: lmc <command> [options]\n"
            "       lmc <command> --help     options of one command\n"
            "       lmc --version\n"
            "\n"
            "commands:\n",
            lmc_version());
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        fprintf(f, "  %-12s %s\n", g_commands[i].name, g_commands[i].summary);
    fprintf(f,
            "\n"
            "Model flags follow llama.cpp: -m model, -p prompt, -f file, -n tokens to generate,\n"
            "-c context, -b batch, -t threads, --temp, --top-k, --top-p, --seed.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (cli_is_help(cmd) || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
        printf("lmc %s\n", lmc_version());
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        if (strcmp(cmd, g_commands[i].name) == 0) return g_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "lmc: unknown command '%s' (see 'lmc --help')\n", cmd);
    return CLI_USAGE;
}
