/* sampling_tool.c — runs lmc's sampler chain on logits read from stdin, for the
 * Python reference test (check_sampling_ref.py). Not a test by itself.
 *
 *   sampling_tool probs [options] < input   prints "id p" for every kept token
 *   sampling_tool draws N [options] < input prints the count of each id in N draws
 *
 * input: line 1 the logits, line 2 (optional) the accepted history of token ids.
 * options: --temp T --top-k K --top-p P --min-p P --min-keep N --repeat-penalty R
 *          --repeat-last-n N --frequency-penalty F --presence-penalty F --seed S
 *          --bias ID=B (repeatable) */
#include "lmc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 100000

static float g_logits[MAXV];
static lmc_token_data g_buf[MAXV];
static long g_counts[MAXV];
static char g_line[4 << 20];

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: sampling_tool probs|draws N [options] < input\n");
        return 2;
    }
    int ai = 1;
    const char *mode = argv[ai++];
    long n_draws = 0;
    if (strcmp(mode, "draws") == 0) n_draws = atol(argv[ai++]);
    lmc_sampler_params p = lmc_sampler_default_params();
    lmc_logit_bias bias[64];
    size_t n_bias = 0;
    for (; ai + 1 < argc; ai += 2) {
        const char *o = argv[ai], *v = argv[ai + 1];
        if (!strcmp(o, "--temp")) p.temp = strtof(v, NULL);
        else if (!strcmp(o, "--top-k")) p.top_k = atoi(v);
        else if (!strcmp(o, "--top-p")) p.top_p = strtof(v, NULL);
        else if (!strcmp(o, "--min-p")) p.min_p = strtof(v, NULL);
        else if (!strcmp(o, "--min-keep")) p.min_keep = atoi(v);
        else if (!strcmp(o, "--repeat-penalty")) p.repeat_penalty = strtof(v, NULL);
        else if (!strcmp(o, "--repeat-last-n")) p.repeat_last_n = atoi(v);
        else if (!strcmp(o, "--frequency-penalty")) p.frequency_penalty = strtof(v, NULL);
        else if (!strcmp(o, "--presence-penalty")) p.presence_penalty = strtof(v, NULL);
        else if (!strcmp(o, "--seed")) p.seed = strtoull(v, NULL, 10);
        else if (!strcmp(o, "--bias") && n_bias < 64) {
            const char *eq = strchr(v, '=');
            if (!eq) return 2;
            bias[n_bias].token = atoi(v);
            bias[n_bias].bias = strtof(eq + 1, NULL);
            n_bias++;
        } else {
            fprintf(stderr, "sampling_tool: unknown option %s\n", o);
            return 2;
        }
    }
    p.logit_bias = bias;
    p.n_logit_bias = n_bias;

    int V = 0;
    if (!fgets(g_line, sizeof g_line, stdin)) return 2;
    for (char *s = g_line, *e; V < MAXV; s = e) {
        float f = strtof(s, &e);
        if (e == s) break;
        g_logits[V++] = f;
    }
    lmc_sampler *ch = lmc_sampler_chain_from_params(&p, V);
    if (!ch) {
        fprintf(stderr, "sampling_tool: %s\n", lmc_last_error());
        return 1;
    }
    if (fgets(g_line, sizeof g_line, stdin))
        for (char *s = g_line, *e;; s = e) {
            long t = strtol(s, &e, 10);
            if (e == s) break;
            lmc_sampler_accept(ch, (int32_t)t); /* the history, as a caller feeds the prompt */
        }

    lmc_candidates c = {g_buf, 0, false, -1};
    if (!strcmp(mode, "probs")) {
        lmc_candidates_from_logits(&c, g_logits, (size_t)V);
        if (lmc_sampler_apply(ch, &c) != LMC_OK) {
            fprintf(stderr, "sampling_tool: %s\n", lmc_last_error());
            return 1;
        }
        /* a greedy chain computes no probabilities: its choice has p = 1 */
        if (c.size && c.selected >= 0 && !strcmp(lmc_sampler_name(lmc_sampler_chain_get(ch, lmc_sampler_chain_n(ch) - 1)), "greedy")) {
            printf("%d 1\n", c.data[c.selected].id);
        } else {
            for (size_t i = 0; i < c.size; i++) printf("%d %.9g\n", c.data[i].id, (double)c.data[i].p);
        }
    } else {
        /* apply (not sample) so the history stays as given */
        for (long d = 0; d < n_draws; d++) {
            lmc_candidates_from_logits(&c, g_logits, (size_t)V);
            if (lmc_sampler_apply(ch, &c) != LMC_OK || c.selected < 0) {
                fprintf(stderr, "sampling_tool: %s\n", lmc_last_error());
                return 1;
            }
            g_counts[c.data[c.selected].id]++;
        }
        for (int i = 0; i < V; i++) printf("%ld%c", g_counts[i], i + 1 < V ? ' ' : '\n');
    }
    lmc_sampler_free(ch);
    return 0;
}
