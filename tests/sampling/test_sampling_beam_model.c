/* test_sampling_beam_model.c — beam search with a real model (stories260K):
 *   - one beam reproduces llama.cpp's greedy tokens (ref/generation, F32 KV cache);
 *   - with 4 beams, each n-best hypothesis's log-probability equals the one
 *     recomputed by teacher forcing the whole sequence in a fresh context (a
 *     different code path: one prefill instead of the beams' truncate-and-decode);
 *   - the n-best list is sorted, the cache holds just the prompt afterwards, and a
 *     second search on the same context gives the same result. */
#include "lmc.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>

static int read_ints(const cJSON *j, const char *key, int32_t *out, int cap) {
    const cJSON *a = cJSON_GetObjectItem(j, key);
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) if (n < cap) out[n++] = (int32_t)e->valuedouble;
    return n;
}

/* Sum of log p(tokens[i] | prompt, tokens[<i]) by one teacher-forced prefill. */
static double teacher_logprob(const lmc_model *m, const int32_t *prompt, int np, const int32_t *toks, int nt) {
    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = np + nt + 8;
    cp.kv_type = LMC_TYPE_F32;
    lmc_context *c = lmc_context_init(m, cp);
    const int V = lmc_model_get_hparams(m)->n_vocab;
    int32_t seq[256];
    memcpy(seq, prompt, (size_t)np * sizeof *seq);
    memcpy(seq + np, toks, (size_t)nt * sizeof *seq);
    float *lg = malloc((size_t)(np + nt) * (size_t)V * sizeof *lg);
    double sum = NAN;
    if (c && lg && lmc_decode(c, seq, np + nt, lg, true) == LMC_OK) {
        sum = 0;
        for (int i = 0; i < nt; i++) {
            const float *row = lg + (size_t)(np - 1 + i) * (size_t)V;
            double mx = -INFINITY, se = 0;
            for (int v = 0; v < V; v++) mx = row[v] > mx ? row[v] : mx;
            for (int v = 0; v < V; v++) se += exp(row[v] - mx);
            sum += row[toks[i]] - mx - log(se);
        }
    }
    free(lg);
    lmc_context_free(c);
    return sum;
}

int main(void) {
    char *js = t_read_file(t_shared("ref/generation/stories260K.once-upon-a-time.json"), NULL);
    lmc_model *m = lmc_model_load(t_shared("models/stories260K.gguf"));
    CHECK_MSG(js && m, "need the shared model and reference (%s)", lmc_last_error());
    if (!js || !m) return t_done("test_sampling_beam_model");
    cJSON *j = cJSON_Parse(js);
    int32_t prompt[64], ref[128];
    const int np = read_ints(j, "prompt_tokens", prompt, 64), nref = read_ints(j, "generated_tokens", ref, 128);
    float margins[128];
    {
        const cJSON *a = cJSON_GetObjectItem(j, "argmax_margins"), *e;
        int k = 0;
        cJSON_ArrayForEach(e, a) if (k < 128) margins[k++] = (float)e->valuedouble;
    }
    cJSON_Delete(j);
    free(js);

    lmc_context_params cp = lmc_context_default_params();
    cp.n_ctx = np + nref + 8;
    cp.kv_type = LMC_TYPE_F32;
    lmc_context *c = lmc_context_init(m, cp);
    CHECK(c != NULL);

    /* B = 1: llama.cpp's greedy tokens, up to the first near tie */
    lmc_beam_params p = lmc_beam_default_params();
    p.n_beams = 1;
    p.n_best = 1;
    p.max_tokens = nref;
    p.length_penalty = 0;
    lmc_beam_result r;
    CHECK(lmc_beam_search_model(c, prompt, np, &p, &r) == LMC_OK);
    CHECK(r.n_hyps == 1 && r.hyps[0].n_tokens == nref);
    int same = 0;
    while (r.n_hyps && same < r.hyps[0].n_tokens && same < nref && r.hyps[0].tokens[same] == ref[same]) same++;
    int first_tie = 0;
    while (first_tie < nref && margins[first_tie] >= 5e-2f) first_tie++;
    CHECK_MSG(same >= first_tie, "B=1 agrees with llama.cpp's greedy tokens for %d of %d (first near tie at %d)", same,
              nref, first_tie);
    printf("B=1: %d of %d tokens equal llama.cpp's greedy tokens\n", same, nref);
    const double greedy_lp = r.n_hyps ? r.hyps[0].logprob : NAN;
    CHECK_EQ_INT(lmc_context_n_past(c), np);
    lmc_beam_result_free(&r);

    /* B = 4: n-best scores are the recomputed log-probabilities */
    const int32_t eos = 2;
    const float alphas[2] = {0.0f, 1.0f};
    for (int a = 0; a < 2; a++) {
        lmc_context_reset(c);
        p.n_beams = 4;
        p.n_best = 4;
        p.max_tokens = 24;
        p.length_penalty = alphas[a];
        p.eog = &eos;
        p.n_eog = 1;
        CHECK(lmc_beam_search_model(c, prompt, np, &p, &r) == LMC_OK);
        CHECK(r.n_hyps >= 1);
        CHECK_EQ_INT(lmc_context_n_past(c), np);
        for (int h = 0; h < r.n_hyps; h++) {
            const lmc_beam_hyp *y = &r.hyps[h];
            double lp = teacher_logprob(m, prompt, np, y->tokens, y->n_tokens);
            CHECK_NEAR(y->logprob, lp, 2e-3);
            CHECK_NEAR(y->score, y->logprob / pow(y->n_tokens, alphas[a]), 1e-9);
            if (h) CHECK(r.hyps[h - 1].score >= y->score);
            printf("alpha %.0f #%d score %.4f logprob %.4f (teacher forcing %.4f) %d tokens%s\n", (double)alphas[a], h,
                   y->score, y->logprob, lp, y->n_tokens, y->finished ? " (ended)" : "");
        }
        /* the same search again on the same context: same answer */
        lmc_beam_result r2;
        lmc_context_reset(c);
        CHECK(lmc_beam_search_model(c, prompt, np, &p, &r2) == LMC_OK);
        int eq = r2.n_hyps == r.n_hyps;
        for (int h = 0; eq && h < r.n_hyps; h++)
            eq = r2.hyps[h].n_tokens == r.hyps[h].n_tokens &&
                 !memcmp(r2.hyps[h].tokens, r.hyps[h].tokens, (size_t)r.hyps[h].n_tokens * sizeof(int32_t));
        CHECK(eq);
        lmc_beam_result_free(&r2);
        if (a == 0) {
            /* over the same 24 tokens the beam's best is at least as likely as greedy */
            lmc_beam_params g = p;
            g.n_beams = g.n_best = 1;
            g.n_eog = 0;
            lmc_beam_params b4 = p;
            b4.n_eog = 0;
            lmc_beam_result rg, rb;
            lmc_context_reset(c);
            CHECK(lmc_beam_search_model(c, prompt, np, &g, &rg) == LMC_OK);
            lmc_context_reset(c);
            CHECK(lmc_beam_search_model(c, prompt, np, &b4, &rb) == LMC_OK);
            if (rg.n_hyps && rb.n_hyps) {
                printf("24 tokens: greedy log-prob %.4f, 4 beams %.4f\n", rg.hyps[0].logprob, rb.hyps[0].logprob);
                CHECK(rb.hyps[0].logprob >= rg.hyps[0].logprob - 1e-6);
            }
            lmc_beam_result_free(&rg);
            lmc_beam_result_free(&rb);
        }
        lmc_beam_result_free(&r);
    }
    (void)greedy_lp;

    /* no room in the context */
    lmc_context_reset(c);
    int32_t longp[128];
    for (int i = 0; i < (int)cp.n_ctx; i++) longp[i] = prompt[i % np];
    CHECK(lmc_beam_search_model(c, longp, cp.n_ctx, &p, &r) == LMC_ERR_LIMIT);
    lmc_context_free(c);
    lmc_model_free(m);
    return t_done("test_sampling_beam_model");
}
