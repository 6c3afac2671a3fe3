/* test_sampling_beam.c — beam search on crafted scorers: B = 1 equals greedy; a
 * case where greedy misses the likelier sequence and beam search finds it; the
 * n-best list is sorted and every score equals the log-probability recomputed from
 * the scorer; with a beam wider than the search space the best hypothesis equals a
 * brute-force enumeration of every sequence (for several length penalties); bad
 * parameters and scorer errors. */
#include "lmc.h"
#include "test_util.h"

#include <math.h>

#define MAXB 512
#define MAXT 16

/* A scorer whose logits are a fixed pseudo-random function of the whole prefix. */
typedef struct {
    int32_t V;
    int32_t pre[MAXB][MAXT], npre[MAXB]; /* each live beam's prefix, as the protocol says */
    int32_t tmp[MAXB][MAXT], ntmp[MAXB];
    int calls, fail_at;
    float eog_boost;
} scorer;

static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static void logits_of(const scorer *s, const int32_t *pre, int32_t n, float *out) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t i = 0; i < n; i++) h = mix(h ^ (uint64_t)(pre[i] + 1));
    for (int32_t v = 0; v < s->V; v++) {
        uint64_t x = mix(h + (uint64_t)v * 0x9e3779b97f4a7c15ull);
        out[v] = (float)((double)(x >> 11) * 0x1.0p-53 * 4.0);
    }
    out[0] += s->eog_boost * (float)n; /* token 0 ends: likelier as the text grows */
}

static int step_fn(void *user, int32_t step, int32_t n, const int32_t *parent, const int32_t *token, float *logits) {
    scorer *s = user;
    if (++s->calls == s->fail_at) return LMC_ERR_INTERNAL;
    for (int32_t i = 0; i < n; i++) {
        if (step == 0) {
            if (parent[i] != -1 || token[i] != -1) return LMC_ERR_INTERNAL;
            s->ntmp[i] = 0;
        } else {
            memcpy(s->tmp[i], s->pre[parent[i]], (size_t)s->npre[parent[i]] * sizeof(int32_t));
            s->ntmp[i] = s->npre[parent[i]];
            s->tmp[i][s->ntmp[i]++] = token[i];
        }
    }
    for (int32_t i = 0; i < n; i++) {
        memcpy(s->pre[i], s->tmp[i], (size_t)s->ntmp[i] * sizeof(int32_t));
        s->npre[i] = s->ntmp[i];
        logits_of(s, s->pre[i], s->npre[i], logits + (size_t)i * (size_t)s->V);
    }
    return LMC_OK;
}

/* log-softmax of the scorer's row for a prefix, at token tok (independent code) */
static double logprob(const scorer *s, const int32_t *pre, int32_t n, int32_t tok) {
    float l[64];
    logits_of(s, pre, n, l);
    double mx = -INFINITY, se = 0;
    for (int v = 0; v < s->V; v++) mx = l[v] > mx ? l[v] : mx;
    for (int v = 0; v < s->V; v++) se += exp(l[v] - mx);
    return l[tok] - mx - log(se);
}

static double seq_logprob(const scorer *s, const int32_t *t, int32_t n) {
    double sum = 0;
    for (int32_t i = 0; i < n; i++) sum += logprob(s, t, i, t[i]);
    return sum;
}

static void test_greedy_equal(void) {
    const int32_t eog = 0;
    for (int trial = 0; trial < 20; trial++) {
        scorer s = {0};
        s.V = 5 + trial % 7;
        s.eog_boost = 0.15f * (float)(trial % 3);
        lmc_beam_params p = lmc_beam_default_params();
        p.n_beams = 1;
        p.n_best = 1;
        p.max_tokens = 12;
        p.eog = &eog;
        p.n_eog = 1;
        lmc_beam_result r;
        s.V += 0;
        CHECK(lmc_beam_search(&p, s.V, step_fn, &s, &r) == LMC_OK);
        /* greedy: argmax each step (lowest id on ties) until the end token */
        int32_t g[MAXT];
        int32_t n = 0;
        while (n < p.max_tokens) {
            float l[64];
            logits_of(&s, g, n, l);
            int32_t best = 0;
            for (int32_t v = 1; v < s.V; v++)
                if (l[v] > l[best]) best = v;
            g[n++] = best;
            if (best == eog) break;
        }
        int ok = r.n_hyps == 1 && r.hyps[0].n_tokens == n;
        for (int32_t i = 0; ok && i < n; i++) ok = r.hyps[0].tokens[i] == g[i];
        CHECK_MSG(ok, "trial %d: B=1 differs from greedy (len %d vs %d)", trial, r.n_hyps ? r.hyps[0].n_tokens : -1, n);
        lmc_beam_result_free(&r);
    }
}

/* greedy takes A (p .6) and then can only reach .6 * .2; B (p .4) is followed by
 * one token of p .99: beam search with 2 beams finds B x. */
typedef struct {
    int32_t pre[4][4], npre[4];
} trap;

static int trap_step(void *user, int32_t step, int32_t n, const int32_t *parent, const int32_t *token, float *logits) {
    trap *t = user;
    int32_t np[4][4], nn[4];
    for (int32_t i = 0; i < n; i++) {
        nn[i] = step ? t->npre[parent[i]] : 0;
        if (step) memcpy(np[i], t->pre[parent[i]], (size_t)nn[i] * sizeof(int32_t));
        if (step) np[i][nn[i]++] = token[i];
    }
    for (int32_t i = 0; i < n; i++) {
        memcpy(t->pre[i], np[i], sizeof np[i]);
        t->npre[i] = nn[i];
        float *l = logits + (size_t)i * 6;
        for (int v = 0; v < 6; v++) l[v] = -INFINITY;
        if (nn[i] == 0) {
            l[1] = logf(0.6f), l[2] = logf(0.4f); /* A = 1, B = 2 */
        } else if (np[i][0] == 1) {
            for (int v = 1; v < 6; v++) l[v] = 0; /* uniform over 5 */
        } else {
            l[3] = logf(0.99f), l[4] = logf(0.01f);
        }
    }
    return LMC_OK;
}

static void test_trap(void) {
    lmc_beam_params p = lmc_beam_default_params();
    p.max_tokens = 2;
    p.length_penalty = 0;
    for (int B = 1; B <= 2; B++) {
        trap t = {0};
        p.n_beams = B;
        p.n_best = B;
        lmc_beam_result r;
        CHECK(lmc_beam_search(&p, 6, trap_step, &t, &r) == LMC_OK);
        CHECK(r.n_hyps == B && r.hyps[0].n_tokens == 2);
        if (B == 1) {
            CHECK(r.hyps[0].tokens[0] == 1 && r.hyps[0].tokens[1] == 1); /* greedy's path */
            CHECK_NEAR(r.hyps[0].logprob, log(0.6 * 0.2), 1e-6);
        } else {
            CHECK(r.hyps[0].tokens[0] == 2 && r.hyps[0].tokens[1] == 3);
            CHECK_NEAR(r.hyps[0].logprob, log(0.4 * 0.99), 1e-6);
            CHECK(!r.hyps[0].finished);
            CHECK(r.hyps[1].score <= r.hyps[0].score);
        }
        lmc_beam_result_free(&r);
    }
}

static void test_nbest_scores(void) {
    const int32_t eog[2] = {0, 3};
    const float alphas[3] = {0.0f, 1.0f, 0.6f};
    for (int trial = 0; trial < 30; trial++) {
        scorer s = {0};
        s.V = 8 + trial % 5;
        s.eog_boost = 0.3f;
        lmc_beam_params p = lmc_beam_default_params();
        p.n_beams = 2 + trial % 5;
        p.n_best = p.n_beams;
        p.max_tokens = 3 + trial % 6;
        p.length_penalty = alphas[trial % 3];
        p.eog = eog;
        p.n_eog = 1 + trial % 2;
        lmc_beam_result r;
        CHECK(lmc_beam_search(&p, s.V, step_fn, &s, &r) == LMC_OK);
        CHECK(r.n_hyps >= 1 && r.n_hyps <= p.n_best);
        for (int32_t h = 0; h < r.n_hyps; h++) {
            const lmc_beam_hyp *y = &r.hyps[h];
            double lp = seq_logprob(&s, y->tokens, y->n_tokens);
            CHECK_NEAR(y->logprob, lp, 1e-6);
            CHECK_NEAR(y->score, lp / pow(y->n_tokens, p.length_penalty), 1e-6);
            bool ends = y->n_tokens > 0 && (y->tokens[y->n_tokens - 1] == 0 || (p.n_eog > 1 && y->tokens[y->n_tokens - 1] == 3));
            CHECK(y->finished == ends);
            CHECK(y->finished || y->n_tokens == p.max_tokens);
            if (h) CHECK(r.hyps[h - 1].score >= y->score);
        }
        lmc_beam_result_free(&r);
    }
}

/* Every sequence of up to T tokens (ending at the end token or at length T). */
static void brute(const scorer *s, int32_t *t, int32_t n, int32_t T, double sum, float alpha, double *best,
                  int32_t *best_t, int32_t *best_n) {
    for (int32_t v = 0; v < s->V; v++) {
        t[n] = v;
        double lp = sum + logprob(s, t, n, v);
        if (v == 0 || n + 1 == T) {
            double sc = lp / pow(n + 1, alpha);
            if (sc > *best) {
                *best = sc;
                memcpy(best_t, t, (size_t)(n + 1) * sizeof *t);
                *best_n = n + 1;
            }
        } else {
            brute(s, t, n + 1, T, lp, alpha, best, best_t, best_n);
        }
    }
}

static void test_exhaustive(void) {
    const int32_t eog = 0;
    const float alphas[4] = {0.0f, 0.5f, 1.0f, 2.0f};
    for (int trial = 0; trial < 8; trial++) {
        scorer s = {0};
        s.V = 4;
        s.eog_boost = 0.5f * (float)(trial % 2);
        lmc_beam_params p = lmc_beam_default_params();
        p.n_beams = 256; /* wider than the 4 + 12 + 36 + ... sequences */
        p.n_best = 1;
        p.max_tokens = 3;
        p.length_penalty = alphas[trial % 4];
        p.eog = &eog;
        p.n_eog = 1;
        lmc_beam_result r;
        CHECK(lmc_beam_search(&p, s.V, step_fn, &s, &r) == LMC_OK);
        int32_t t[8], bt[8], bn = 0;
        double best = -INFINITY;
        brute(&s, t, 0, 3, 0.0, p.length_penalty, &best, bt, &bn);
        int ok = r.n_hyps == 1 && r.hyps[0].n_tokens == bn;
        for (int32_t i = 0; ok && i < bn; i++) ok = r.hyps[0].tokens[i] == bt[i];
        CHECK_MSG(ok, "alpha %g: beam's best (score %g) is not the brute-force best (score %g)", (double)p.length_penalty,
                  r.n_hyps ? r.hyps[0].score : NAN, best);
        CHECK_NEAR(r.n_hyps ? r.hyps[0].score : NAN, best, 1e-9);
        lmc_beam_result_free(&r);
    }
}

static void test_bad(void) {
    scorer s = {0};
    s.V = 5;
    lmc_beam_result r;
    lmc_beam_params p = lmc_beam_default_params();
    p.n_beams = 0;
    CHECK(lmc_beam_search(&p, 5, step_fn, &s, &r) == LMC_ERR_INVALID_ARG && strstr(lmc_last_error(), "beams"));
    p = lmc_beam_default_params();
    p.n_best = 5;
    CHECK(lmc_beam_search(&p, 5, step_fn, &s, &r) == LMC_ERR_INVALID_ARG && strstr(lmc_last_error(), "n-best"));
    p = lmc_beam_default_params();
    p.max_tokens = 0;
    CHECK(lmc_beam_search(&p, 5, step_fn, &s, &r) == LMC_ERR_INVALID_ARG);
    p = lmc_beam_default_params();
    p.length_penalty = NAN;
    CHECK(lmc_beam_search(&p, 5, step_fn, &s, &r) == LMC_ERR_INVALID_ARG);
    /* the scorer's error ends the search and is returned */
    p = lmc_beam_default_params();
    p.max_tokens = 10;
    s.fail_at = 3;
    CHECK(lmc_beam_search(&p, 5, step_fn, &s, &r) == LMC_ERR_INTERNAL);
    CHECK(r.n_hyps == 0 && r.hyps == NULL);
}

int main(void) {
    test_greedy_equal();
    test_trap();
    test_nbest_scores();
    test_exhaustive();
    test_bad();
    return t_done("test_sampling_beam");
}
