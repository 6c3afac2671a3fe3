/* cmd_bench_train.c — `lmc bench-train`: time training steps (forward + backward +
 * AdamW) of a model of a given shape on random tokens; bench/train_vs_torch.py runs
 * it beside PyTorch. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *HELP =
    "usage: lmc bench-train [--arch llama|gpt2] [--layers L] [--heads H] [--kv-heads K] [--dim D]\n"
    "                       [--ff F] [--vocab V] [--ctx T] [--batch B] [--steps S] [-t N] [--bias]\n"
    "\n"
    "Times full training steps (forward, backward, AdamW) of a randomly initialised model on\n"
    "random tokens: ms/step, tokens/s and model FLOPs utilisation against --peak GFLOP/s\n"
    "(measure it with `lmc bench --memory`). One warm-up step is not counted.\n"
    "Defaults: nanoGPT's shakespeare_char CPU configuration (gpt2, 4 layers, 4 heads,\n"
    "dim 128, ctx 64, batch 12, vocab 65).\n"
    "\n"
    "example:\n"
    "  lmc bench-train --layers 6 --heads 6 --dim 384 --ctx 256 --batch 16 -t 2 --peak 220\n";

int cmd_bench_train(int argc, char **argv) {
    lmc_train_config c = lmc_train_default_config();
    c.arch = LMC_ARCH_GPT2, c.n_layer = 4, c.n_head = 4, c.n_head_kv = 0, c.n_embd = 128, c.n_vocab = 65, c.n_ctx = 64;
    c.tied = true;
    long long B = 12, steps = 5, threads = 1;
    double peak = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *s;
        long long n;
        int rc = CLI_OK;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(HELP, stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--arch")) {
            if (!(rc = cli_value("bench-train", argc, argv, &i, &s))) {
                if (!strcmp(s, "gpt2")) c.arch = LMC_ARCH_GPT2;
                else if (!strcmp(s, "llama")) c.arch = LMC_ARCH_LLAMA;
                else rc = cli_usage_error("bench-train", "--arch must be llama or gpt2");
            }
        }
#define INTOPT(flag, lo, hi, dst) else if (!strcmp(a, flag)) { if (!(rc = cli_int("bench-train", argc, argv, &i, lo, hi, &n))) dst = n; }
        INTOPT("--layers", 1, 1024, c.n_layer)
        INTOPT("--heads", 1, 1024, c.n_head)
        INTOPT("--kv-heads", 1, 1024, c.n_head_kv)
        INTOPT("--dim", 2, 65536, c.n_embd)
        INTOPT("--ff", 1, 1 << 20, c.n_ff)
        INTOPT("--vocab", 2, 1 << 22, c.n_vocab)
        INTOPT("--ctx", 1, 1 << 16, c.n_ctx)
        INTOPT("--batch", 1, 1 << 16, B)
        INTOPT("--steps", 1, 1 << 20, steps)
        INTOPT("-t", 1, 1024, threads)
#undef INTOPT
        else if (!strcmp(a, "--bias")) c.bias = true;
        else if (!strcmp(a, "--peak")) {
            if (!(rc = cli_value("bench-train", argc, argv, &i, &s))) peak = atof(s);
        } else rc = cli_usage_error("bench-train", "unknown option '%s'", a);
        if (rc) return rc;
    }
    if (c.n_head_kv <= 0) c.n_head_kv = c.n_head;
    lmc_train_model *m = lmc_train_model_init(&c, (int32_t)B, (int32_t)threads, 1);
    if (!m) return cli_lib_error();
    const int64_t N = B * c.n_ctx;
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)N), *tgt = malloc(sizeof(int32_t) * (size_t)N);
    lmc_rng r;
    lmc_rng_seed(&r, 7);
    for (int64_t i = 0; i < N; i++) tok[i] = (int32_t)(lmc_rng_u64(&r) % (uint64_t)c.n_vocab);
    for (int64_t i = 0; i < N; i++) tgt[i] = i % c.n_ctx == c.n_ctx - 1 ? tok[i] : tok[i + 1];
    lmc_adamw_params ap = lmc_adamw_default_params();
    double t_total = 0;
    float loss = 0;
    for (long long s = 0; s <= steps; s++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        lmc_train_zero_grad(m);
        if (lmc_train_step_fb(m, tok, tgt, (int32_t)B, c.n_ctx, 1.0f, true, &loss, NULL) ||
            lmc_train_adamw_step(m, &ap, NULL, NULL)) {
            free(tok), free(tgt);
            lmc_train_model_free(m);
            return cli_lib_error();
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (s > 0) t_total += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    }
    const double ms = 1e3 * t_total / (double)steps, tps = (double)N * (double)steps / t_total;
    const double n_params = (double)lmc_train_model_n_params(m);
    /* 6 N per token for the weights + 12 L T d for attention (PaLM's MFU accounting) */
    const double flops_tok = 6.0 * n_params + 12.0 * c.n_layer * c.n_ctx * c.n_embd;
    printf("lmc bench-train: %s L%d H%d/%d d%d ff%d V%d T%d B%lld, %.2f M params, %lld thread(s): "
           "%.1f ms/step, %.0f tokens/s, %.2f GFLOP/s", c.arch == LMC_ARCH_GPT2 ? "gpt2" : "llama", c.n_layer,
           c.n_head, c.n_head_kv, c.n_embd, lmc_train_model_config(m)->n_ff, c.n_vocab, c.n_ctx, B, n_params / 1e6,
           threads, ms, tps, tps * flops_tok / 1e9);
    if (peak > 0) printf(", MFU %.1f%% of %.0f GFLOP/s", 100.0 * tps * flops_tok / 1e9 / peak, peak);
    printf(" (last loss %.4f)\n", loss);
    free(tok), free(tgt);
    lmc_train_model_free(m);
    return CLI_OK;
}
