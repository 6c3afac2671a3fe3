/* cmd_flops.c — `lmc flops`: training compute, time and cost; compute-optimal sizes. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *FLOPS_HELP =
    "usage: lmc flops --params N --tokens D [--layers L --ctx T --dim W] [hardware]\n"
    "       lmc flops --model MODEL.gguf --tokens D [hardware]\n"
    "       lmc flops --budget C [--tokens-per-param R]\n"
    "\n"
    "Training compute of a transformer: about 6*N*D FLOPs for N parameters and D tokens\n"
    "(2 forward + 4 backward per parameter per token), plus an attention term\n"
    "6*layers*ctx*dim*D shown separately when the shape is known. With --budget, the\n"
    "compute-optimal N and D by Chinchilla's approach 1 (both grow as C^0.5, about 20\n"
    "tokens per parameter). Numbers take e-notation or a K/M/B/T suffix (7B, 300e9).\n"
    "\n"
    "options:\n"
    "  --params N           parameters\n"
    "  --tokens D           training tokens\n"
    "  --model FILE         take N (and layers, ctx, dim) from a GGUF model\n"
    "  --layers L, --ctx T, --dim W   shape, for the attention term\n"
    "  --budget C           compute budget in FLOPs\n"
    "  --tokens-per-param R tokens per parameter for --budget (default 20)\n"
    "hardware (for wall time and cost):\n"
    "  --peak-flops F       peak FLOP/s of the hardware (e.g. 312e12 for an A100 in BF16)\n"
    "  --mfu U              model FLOPs utilisation, 0..1 (default 0.4)\n"
    "  --price-per-hour P   price of that hardware per hour\n"
    "\n"
    "examples:\n"
    "  lmc flops --params 174.6e9 --tokens 300e9          # GPT-3: 3.14e+23 FLOPs, 3637 PF-days\n"
    "  lmc flops --params 7B --tokens 2T --peak-flops 8*312e12 --mfu 0.5 --price-per-hour 16\n"
    "  lmc flops --budget 1e21\n";

/* "1.5e9", "7B", "300G", "8*312e12" -> double */
static int parse_num(const char *opt, const char *s, double *out) {
    double v = 1;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (errno || end == p) return cli_usage_error("flops", "option '%s' needs a number, got '%s'", opt, s);
        switch (*end) {
        case 'k': case 'K': x *= 1e3; end++; break;
        case 'M': x *= 1e6; end++; break;
        case 'B': case 'G': x *= 1e9; end++; break;
        case 'T': x *= 1e12; end++; break;
        case 'P': x *= 1e15; end++; break;
        default: break;
        }
        v *= x;
        if (*end == '*') {
            p = end + 1;
            continue;
        }
        if (*end) return cli_usage_error("flops", "option '%s' needs a number, got '%s'", opt, s);
        break;
    }
    if (!isfinite(v) || v < 0) return cli_usage_error("flops", "option '%s' must be a non-negative number", opt);
    *out = v;
    return 0;
}

static const char *human_time(double s, char *buf, size_t cap) {
    if (s < 120) snprintf(buf, cap, "%.3g s", s);
    else if (s < 7200) snprintf(buf, cap, "%.3g min", s / 60);
    else if (s < 172800) snprintf(buf, cap, "%.3g h", s / 3600);
    else if (s < 3 * 31557600.0) snprintf(buf, cap, "%.3g days", s / 86400);
    else snprintf(buf, cap, "%.3g years", s / 31557600.0);
    return buf;
}

int cmd_flops(int argc, char **argv) {
    lmc_flops_params p = {0};
    double budget = 0, tpp = 20;
    const char *model = NULL;
    p.mfu = 0.4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int rc = 0;
        double *dst = NULL;
        if (cli_is_help(a)) {
            fputs(FLOPS_HELP, stdout);
            return CLI_OK;
        }
        if (strcmp(a, "--params") == 0) dst = &p.n_params;
        else if (strcmp(a, "--tokens") == 0) dst = &p.n_tokens;
        else if (strcmp(a, "--layers") == 0) dst = &p.n_layer;
        else if (strcmp(a, "--ctx") == 0 || strcmp(a, "-c") == 0) dst = &p.n_ctx;
        else if (strcmp(a, "--dim") == 0) dst = &p.d_model;
        else if (strcmp(a, "--peak-flops") == 0) dst = &p.peak_flops;
        else if (strcmp(a, "--mfu") == 0) dst = &p.mfu;
        else if (strcmp(a, "--price-per-hour") == 0) dst = &p.price_per_hour;
        else if (strcmp(a, "--budget") == 0) dst = &budget;
        else if (strcmp(a, "--tokens-per-param") == 0) dst = &tpp;
        else if (strcmp(a, "--model") == 0 || strcmp(a, "-m") == 0) {
            rc = cli_value("flops", argc, argv, &i, &model);
            if (rc) return rc;
            continue;
        } else {
            return cli_usage_error("flops", a[0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", a);
        }
        if ((rc = cli_value("flops", argc, argv, &i, &v)) || (rc = parse_num(a, v, dst))) return rc;
    }
    if (p.mfu > 1) return cli_usage_error("flops", "--mfu is a fraction between 0 and 1, got %g", p.mfu);

    if (budget > 0) {
        double n, d;
        if (lmc_flops_chinchilla(budget, tpp, &n, &d) != LMC_OK) return cli_lib_error();
        printf("compute budget:      %.2e FLOPs (%.3g PF-days)\n", budget, budget / 8.64e19);
        printf("compute-optimal N:   %.2e parameters\n", n);
        printf("compute-optimal D:   %.2e tokens (%.3g tokens per parameter; Chinchilla approach 1, N and D ~ C^0.5)\n",
               d, tpp);
        return CLI_OK;
    }
    if (model) {
        lmc_gguf *g = lmc_gguf_open_model(model);
        if (!g) return cli_lib_error();
        double n = 0;
        for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) n += (double)lmc_gguf_tensor(g, i)->n_elements;
        lmc_str arch;
        char key[256];
        int64_t v;
        if (lmc_gguf_get_str(g, "general.architecture", &arch) == LMC_OK) {
            snprintf(key, sizeof key, "%.*s.block_count", (int)arch.len, arch.ptr);
            if (!p.n_layer && lmc_gguf_get_int(g, key, &v) == LMC_OK) p.n_layer = (double)v;
            snprintf(key, sizeof key, "%.*s.context_length", (int)arch.len, arch.ptr);
            if (!p.n_ctx && lmc_gguf_get_int(g, key, &v) == LMC_OK) p.n_ctx = (double)v;
            snprintf(key, sizeof key, "%.*s.embedding_length", (int)arch.len, arch.ptr);
            if (!p.d_model && lmc_gguf_get_int(g, key, &v) == LMC_OK) p.d_model = (double)v;
        }
        lmc_gguf_close(g);
        if (!p.n_params) p.n_params = n;
    }
    if (!p.n_params) return cli_usage_error("flops", "give --params N, --model FILE or --budget C");
    if (!p.n_tokens) return cli_usage_error("flops", "give --tokens D (training tokens)");
    lmc_flops_result r;
    if (lmc_flops_training(&p, &r) != LMC_OK) return cli_lib_error();
    printf("parameters N:        %.2e\n", p.n_params);
    printf("tokens D:            %.2e (%.3g tokens per parameter)\n", p.n_tokens, p.n_tokens / p.n_params);
    printf("6*N*D:               %.2e FLOPs\n", r.dense);
    if (r.attention > 0)
        printf("attention term:      %.2e FLOPs (6*layers*ctx*dim*D: %.0f x %.0f x %.0f; %.1f%% of total)\n",
               r.attention, p.n_layer, p.n_ctx, p.d_model, 100 * r.attention / r.total);
    printf("training compute:    %.2e FLOPs = %.3g PF-days\n", r.total, r.pf_days);
    if (r.seconds > 0) {
        char t[64];
        printf("wall time:           %s at %.2e FLOP/s peak and %.0f%% MFU\n", human_time(r.seconds, t, sizeof t),
               p.peak_flops, 100 * p.mfu);
        if (r.cost > 0) printf("cost:                %.3g at %g per hour\n", r.cost, p.price_per_hour);
    }
    return CLI_OK;
}
