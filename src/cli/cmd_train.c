/* cmd_train.c — `lmc train`: pretraining from token shards (lmc data prepare). */
#include "cli.h"
#include "cli_gen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *HELP =
    "usage: lmc train --data DIR --out MODEL.gguf [model] [optimisation] [run]\n"
    "       lmc train --config FILE [options]        (FILE: one `key = value` per line, keys as the\n"
    "                                                 options without dashes; options override it)\n"
    "\n"
    "Trains a transformer from scratch (or from --init) on prepared token shards and writes\n"
    "MODEL.gguf (runs in lmc run/chat/eval; llama also in llama.cpp), MODEL.gguf.ckpt (the\n"
    "checkpoint, written atomically every --ckpt-interval steps) and MODEL.gguf.loss.svg.\n"
    "\n"
    "model:\n"
    "  --arch llama|gpt2    (default gpt2)      --layers L (4)   --heads H (4)   --kv-heads K (= H)\n"
    "  --dim D (128)        --ff F (4 D)        --ctx T (64)     --bias          --untied\n"
    "  --init MODEL.gguf    continue from an F32/F16 model (its shape wins)\n"
    "optimisation (AdamW):\n"
    "  --lr LR (1e-3)       --min-lr (lr/10)    --warmup W (0)   --weight-decay (0.1)\n"
    "  --beta1 (0.9)        --beta2 (0.99)      --clip G (1.0)   --dropout P (0)\n"
    "run:\n"
    "  --batch B (12 sequences)  --grad-accum A (1)  --steps S (1000)  --seed (1337)  -t N (1)\n"
    "  --eval-interval K (250: validation loss on the whole validation split)\n"
    "  --ckpt-interval K (100)   --resume CKPT       --peak GFLOPS (for the MFU column)\n"
    "\n"
    "example (nanoGPT's shakespeare_char):\n"
    "  lmc data prepare --tokenizer char --out sh ../shared/data/tinyshakespeare/input.txt\n"
    "  lmc train --data sh --out sh.gguf --arch gpt2 --layers 4 --heads 4 --dim 128 --ctx 64 --batch 12 \\\n"
    "      --steps 2000 --lr 1e-3 --min-lr 1e-4 --warmup 100 --beta2 0.99 --weight-decay 0.1 --clip 1.0\n"
    "  lmc run -m sh.gguf -p \"ROMEO:\" --temp 0.8 -n 200\n";

typedef struct {
    cli_progress bar;
    double peak, flops_per_token;
    char label[160];
} prog_state;

static void progress(void *u, const lmc_train_progress *p) {
    prog_state *s = u;
    char *label = s->label;
    const double mfu = s->peak > 0 ? 100.0 * p->tokens_per_s * s->flops_per_token / (s->peak * 1e9) : NAN;
    if (!isnan(p->val_loss)) {
        fprintf(stderr, "\rstep %lld: train loss %.4f, val loss %.4f%*s\n", (long long)p->step, p->loss, p->val_loss, 30, "");
    }
    snprintf(label, sizeof s->label, "loss %.4f lr %.2e %6.0f tok/s%s", p->loss, p->lr, p->tokens_per_s,
             isnan(mfu) ? "" : " MFU");
    if (!isnan(mfu)) snprintf(label + strlen(label), sizeof s->label - strlen(label), " %.1f%%", mfu);
    s->bar.label = label;
    cli_progress_update(&s->bar, (uint64_t)p->step, (uint64_t)p->steps);
}

static int apply(lmc_train_run_params *p, const char *key, const char *val, bool *dropout_bad) {
    char *e = NULL;
    const double d = val ? strtod(val, &e) : 0;
    const bool num = val && e && !*e;
#define NUM(k, dst)                                                                   \
    if (!strcmp(key, k)) {                                                            \
        if (!num) return cli_usage_error("train", "%s needs a number, got '%s'", k, val ? val : ""); \
        dst = d;                                                                      \
        return CLI_OK;                                                                \
    }
    if (!strcmp(key, "arch")) {
        if (!val || (strcmp(val, "gpt2") && strcmp(val, "llama"))) return cli_usage_error("train", "arch must be llama or gpt2");
        p->config.arch = !strcmp(val, "gpt2") ? LMC_ARCH_GPT2 : LMC_ARCH_LLAMA;
        return CLI_OK;
    }
    if (!strcmp(key, "data")) return (p->data_dir = val) ? CLI_OK : CLI_USAGE;
    if (!strcmp(key, "out")) return (p->out_path = val) ? CLI_OK : CLI_USAGE;
    if (!strcmp(key, "init")) return (p->init_path = val) ? CLI_OK : CLI_USAGE;
    if (!strcmp(key, "resume")) return (p->resume_path = val) ? CLI_OK : CLI_USAGE;
    NUM("layers", p->config.n_layer) NUM("heads", p->config.n_head) NUM("kv-heads", p->config.n_head_kv)
    NUM("dim", p->config.n_embd) NUM("ff", p->config.n_ff) NUM("ctx", p->config.n_ctx) NUM("lr", p->opt.lr)
    NUM("min-lr", p->opt.min_lr) NUM("warmup", p->opt.warmup) NUM("weight-decay", p->opt.weight_decay)
    NUM("beta1", p->opt.beta1) NUM("beta2", p->opt.beta2) NUM("clip", p->opt.clip) NUM("batch", p->batch)
    NUM("grad-accum", p->grad_accum) NUM("steps", p->steps) NUM("seed", p->seed) NUM("eval-interval", p->eval_interval)
    NUM("ckpt-interval", p->ckpt_interval)
    if (!strcmp(key, "dropout")) {
        if (!num) return cli_usage_error("train", "dropout needs a number");
        *dropout_bad = !(d >= 0 && d < 1);
        p->config.dropout = (float)d;
        return CLI_OK;
    }
#undef NUM
    return cli_usage_error("train", "unknown option '%s'", key);
}

int cmd_train(int argc, char **argv) {
    lmc_train_run_params p = lmc_train_run_default_params();
    p.config.arch = LMC_ARCH_GPT2, p.config.n_layer = 4, p.config.n_head = 4, p.config.n_head_kv = 0;
    p.config.n_embd = 128, p.config.n_ctx = 64, p.config.n_vocab = 0, p.config.tied = true;
    p.opt.lr = 1e-3f, p.opt.min_lr = -1, p.opt.beta2 = 0.99f, p.opt.weight_decay = 0.1f, p.opt.clip = 1.0f;
    p.steps = 1000;
    double peak = 0;
    bool dropout_bad = false;
    char *cfgbuf = NULL;
    int rc = CLI_OK;
    /* the config file first, so options on the command line override it */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            size_t len;
            cfgbuf = cli_read_file(argv[i + 1], &len);
            if (!cfgbuf) return CLI_ERR;
            int line = 0;
            for (char *s = cfgbuf, *nl; s && *s; s = nl ? nl + 1 : NULL) {
                nl = strchr(s, '\n');
                if (nl) *nl = 0;
                line++;
                char *h = strchr(s, '#');
                if (h) *h = 0;
                char *eq = strchr(s, '=');
                while (*s == ' ' || *s == '\t') s++;
                if (!*s) continue;
                if (!eq) {
                    free(cfgbuf);
                    return cli_usage_error("train", "%s:%d: expected `key = value`", argv[i + 1], line);
                }
                char *k = s, *v = eq + 1;
                *eq = 0;
                for (char *t = eq - 1; t >= k && (*t == ' ' || *t == '\t' || *t == '\r'); t--) *t = 0;
                while (*v == ' ' || *v == '\t') v++;
                for (char *t = v + strlen(v) - 1; t >= v && (*t == ' ' || *t == '\t' || *t == '\r'); t--) *t = 0;
                if (!strcmp(k, "bias")) p.config.bias = !strcmp(v, "true") || !strcmp(v, "1");
                else if ((rc = apply(&p, k, v, &dropout_bad))) {
                    fprintf(stderr, "lmc train: in %s:%d\n", argv[i + 1], line);
                    free(cfgbuf);
                    return rc;
                }
            }
        }
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(HELP, stdout);
            free(cfgbuf);
            return CLI_OK;
        } else if (!strcmp(a, "--config")) i++;
        else if (!strcmp(a, "--bias")) p.config.bias = true;
        else if (!strcmp(a, "--untied")) p.config.tied = false;
        else if (!strcmp(a, "-t")) {
            long long n;
            if (!(rc = cli_int("train", argc, argv, &i, 1, 1024, &n))) p.n_threads = (int32_t)n;
        } else if (!strcmp(a, "--peak")) {
            if (!(rc = cli_value("train", argc, argv, &i, &v))) peak = atof(v);
        } else if (!strncmp(a, "--", 2)) {
            if (!(rc = cli_value("train", argc, argv, &i, &v))) rc = apply(&p, a + 2, v, &dropout_bad);
        } else rc = cli_usage_error("train", "unexpected argument '%s'", a);
    }
    if (!rc && dropout_bad) rc = cli_usage_error("train", "--dropout must be in [0, 1)");
    if (!rc && !p.data_dir) rc = cli_usage_error("train", "--data DIR is required (see lmc data prepare)");
    if (!rc && !p.out_path) rc = cli_usage_error("train", "--out MODEL.gguf is required");
    if (rc) {
        free(cfgbuf);
        return rc;
    }
    if (p.config.n_head_kv <= 0) p.config.n_head_kv = p.config.n_head;
    if (p.opt.min_lr < 0) p.opt.min_lr = p.opt.lr / 10;
    p.opt.total_steps = p.steps;
    /* 6 N per token for the weights + 12 L T d for attention */
    const double C = p.config.n_embd, F = p.config.n_ff > 0 ? p.config.n_ff : 4 * C;
    const double n_par = p.config.n_layer * (4 * C * C + (p.config.arch == LMC_ARCH_LLAMA ? 3 : 2) * C * F);
    if (peak <= 0 && isatty(2)) { /* MFU needs the FP32 peak: measured briefly for a person watching (lmc bench --memory measures longer) */
        lmc_threadpool *tp = p.n_threads > 1 ? lmc_threadpool_init(p.n_threads) : NULL;
        peak = lmc_bench_fma_gflops(tp, 0.3);
        lmc_threadpool_free(tp);
        fprintf(stderr, "lmc train: FP32 peak of %d thread(s) measured at %.0f GFLOP/s (for MFU; --peak sets it)\n",
                p.n_threads, peak);
    }
    prog_state ps = {.peak = peak, .flops_per_token = 6 * n_par + 12.0 * p.config.n_layer * p.config.n_ctx * C};
    const double tokens = (double)p.steps * p.batch * p.grad_accum * p.config.n_ctx;
    fprintf(stderr, "lmc train: %s, %d layers, %d heads, dim %d, ctx %d; %lld steps x %d x %d sequences = %.3g tokens; "
                    "6ND ~ %.3g FLOPs (non-embedding)\n", p.config.arch == LMC_ARCH_GPT2 ? "gpt2" : "llama",
            p.config.n_layer, p.config.n_head, p.config.n_embd, p.config.n_ctx, (long long)p.steps, p.batch,
            p.grad_accum, tokens, 6 * n_par * tokens);
    cli_progress_init(&ps.bar, "train", 0);
    if (getenv("OMPI_COMM_WORLD_RANK") && strcmp(getenv("OMPI_COMM_WORLD_RANK"), "0")) ps.bar.tty = 0; /* one bar */
    p.progress = progress;
    p.user = &ps;
    lmc_train_run_result r = {0};
    rc = lmc_train_run(&p, &r);
    cli_progress_done(&ps.bar);
    if (rc) {
        free(cfgbuf);
        return cli_lib_error();
    }
    if (r.rank != 0) { /* rank 0 reports and writes */
        free(r.losses);
        free(cfgbuf);
        return CLI_OK;
    }
    fprintf(stderr, "lmc train: %lld steps, final train loss %.4f, validation loss %.4f; wrote %s (+ .ckpt, .loss.svg)\n",
            (long long)r.steps, r.final_loss, r.final_val_loss, p.out_path);
    if (r.n_ranks > 1)
        fprintf(stderr, "lmc train: %d ranks; %.2f s of %.2f s in gradient all-reduce (%.1f ms per step)\n", r.n_ranks,
                r.comm_s, r.train_s, r.steps ? 1e3 * r.comm_s / (double)r.steps : 0.0);
    /* the loss of every step, for scripts: step<TAB>loss */
    char lp[4200];
    snprintf(lp, sizeof lp, "%s.losses.tsv", p.out_path);
    FILE *f = fopen(lp, "w");
    for (int64_t i = 0; f && i < r.steps; i++) fprintf(f, "%lld\t%.9g\n", (long long)i + 1, r.losses[i]);
    if (f) fclose(f);
    free(r.losses);
    free(cfgbuf);
    return CLI_OK;
}
