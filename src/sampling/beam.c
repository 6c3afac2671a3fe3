/* beam.c — beam search over any next-token scorer (lmc_beam_step_fn).
 *
 * B = number of beams, V = vocabulary size, t = tokens generated so far.
 * Each step: every live beam's logits row [V] -> log-softmax; each beam proposes its
 * B + n_eog best tokens; all proposals are ranked by the beam's log-prob sum plus
 * the token's log-prob; walking that ranking, an end token among the first B
 * proposals finishes a hypothesis, any other proposal becomes a live beam until B
 * are live. The rules (a proposal rank limit for end tokens, keeping the B best
 * finished hypotheses, and stopping once the best live beam's current score cannot
 * beat the worst of B finished ones) are those of Hugging Face transformers'
 * BeamSearchScorer with early_stopping=False; the score is
 *     sum of log-probs / (generated length, end token included)^alpha.
 * llama.cpp b10573 has no beam search, so there is nothing of it to follow here.
 *
 * The scorer is told, per step, which beam of the previous step each new beam
 * extends (parent) and with which token, so a model-backed scorer can keep one KV
 * sequence per beam and only reorder it; see lmc_beam_step_fn in lmc.h. */
#include "sampling-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

lmc_beam_params lmc_beam_default_params(void) {
    return (lmc_beam_params){.n_beams = 4, .max_tokens = 128, .length_penalty = 1.0f, .n_best = 1,
                             .eog = NULL, .n_eog = 0};
}

typedef struct {
    int32_t beam;  /* index of the live beam it extends */
    int32_t token;
    double sum;    /* the extension's log-prob sum */
} proposal;

static int cmp_prop(const void *pa, const void *pb) {
    const proposal *a = pa, *b = pb;
    if (a->sum != b->sum) return a->sum > b->sum ? -1 : 1;
    if (a->beam != b->beam) return a->beam < b->beam ? -1 : 1; /* deterministic ties */
    return a->token < b->token ? -1 : a->token > b->token;
}

static int cmp_hyp(const void *pa, const void *pb) {
    const lmc_beam_hyp *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->n_tokens < b->n_tokens ? -1 : a->n_tokens > b->n_tokens;
}

static bool is_eog(const lmc_beam_params *p, int32_t tok) {
    for (size_t i = 0; i < p->n_eog; i++)
        if (p->eog[i] == tok) return true;
    return false;
}

static double score_of(double sum, int32_t len, float alpha) {
    return alpha == 0.0f ? sum : sum / pow((double)len, (double)alpha);
}

typedef struct {
    lmc_beam_hyp *h; /* up to cap, unsorted */
    int32_t n, cap;
} hyp_set;

/* Adds a hypothesis; with cap of them kept, the worst one is dropped. */
static int hyp_add(hyp_set *s, const int32_t *tokens, int32_t n, double sum, float alpha, bool finished) {
    const double sc = score_of(sum, n, alpha);
    int32_t slot = s->n;
    if (s->n == s->cap) {
        slot = 0;
        for (int32_t i = 1; i < s->n; i++)
            if (cmp_hyp(&s->h[i], &s->h[slot]) > 0) slot = i;
        lmc_beam_hyp cand = {NULL, n, sum, sc, finished};
        if (cmp_hyp(&cand, &s->h[slot]) >= 0) return LMC_OK; /* not better than the worst kept */
        free(s->h[slot].tokens);
    } else {
        s->n++;
    }
    int32_t *t = malloc((size_t)(n ? n : 1) * sizeof *t);
    if (!t) {
        s->h[slot] = (lmc_beam_hyp){0};
        return lmc_set_error(LMC_ERR_NOMEM, "beam search: out of memory");
    }
    memcpy(t, tokens, (size_t)n * sizeof *t);
    s->h[slot] = (lmc_beam_hyp){t, n, sum, sc, finished};
    return LMC_OK;
}

static double hyp_worst(const hyp_set *s) {
    double w = INFINITY;
    for (int32_t i = 0; i < s->n; i++)
        if (s->h[i].score < w) w = s->h[i].score;
    return w;
}

/* The m best tokens of one log-prob row, into out (sorted best first); returns how
 * many (tokens of probability 0 are never proposed). */
static int32_t best_tokens(const double *lp, int32_t V, int32_t m, int32_t *out) {
    int32_t n = 0;
    for (int32_t v = 0; v < V; v++) {
        if (lp[v] == -INFINITY) continue;
        if (n == m && lp[v] <= lp[out[n - 1]]) continue;
        int32_t j = n < m ? n++ : m - 1;
        while (j > 0 && lp[out[j - 1]] < lp[v]) { /* strict: ties keep the lower id first */
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    return n;
}

int lmc_beam_check(const lmc_beam_params *p, int32_t n_vocab) {
    if (!p) return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: NULL parameters");
    const int32_t B = p->n_beams;
    if (B < 1 || B > 1024) return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: beams must be 1..1024, got %d", B);
    if (p->max_tokens < 1)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: max tokens must be >= 1, got %d", p->max_tokens);
    if (p->n_best < 1 || p->n_best > B)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: n-best must be between 1 and the beam count %d, got %d",
                             B, p->n_best);
    if (!isfinite(p->length_penalty))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: length penalty must be a finite number");
    if (n_vocab < 1) return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: n_vocab must be >= 1");
    if (p->n_eog && !p->eog) return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: NULL end-token array");
    return LMC_OK;
}

int lmc_beam_search(const lmc_beam_params *p, int32_t n_vocab, lmc_beam_step_fn step, void *user,
                    lmc_beam_result *out) {
    if (!out) return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: NULL result");
    out->hyps = NULL;
    out->n_hyps = 0;
    int rc = lmc_beam_check(p, n_vocab);
    if (rc != LMC_OK) return rc;
    if (!step) return lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: NULL scorer");
    const int32_t B = p->n_beams, V = n_vocab, T = p->max_tokens;

    const int32_t M = (int32_t)LMC_MIN((int64_t)V, (int64_t)B + (int64_t)p->n_eog); /* proposals per beam */
    float *logits = malloc((size_t)B * (size_t)V * sizeof *logits);          /* [B][V] */
    double *lp = malloc((size_t)V * sizeof *lp);                              /* [V] */
    int32_t *best = malloc((size_t)M * sizeof *best);                         /* [M] */
    proposal *props = malloc((size_t)B * (size_t)M * sizeof *props);          /* [B*M] */
    int32_t *toks = malloc((size_t)B * (size_t)T * sizeof *toks);             /* [B][T] live histories */
    int32_t *ntoks = malloc((size_t)B * (size_t)T * sizeof *ntoks);           /* [B][T] next histories */
    double *sums = malloc((size_t)B * sizeof *sums), *nsums = malloc((size_t)B * sizeof *nsums);
    int32_t *parent = malloc((size_t)B * sizeof *parent), *token = malloc((size_t)B * sizeof *token);
    int32_t *scratch = malloc((size_t)T * sizeof *scratch);                   /* [T] a finished history */
    hyp_set hs = {calloc((size_t)B, sizeof(lmc_beam_hyp)), 0, B};
    if (!logits || !lp || !best || !props || !toks || !ntoks || !sums || !nsums || !parent || !token || !scratch || !hs.h) {
        rc = lmc_set_error(LMC_ERR_NOMEM, "beam search: out of memory for %d beams x %d tokens", B, V);
        goto done;
    }

    int32_t n_live = 1;
    parent[0] = -1;
    token[0] = -1;
    sums[0] = 0;
    rc = step(user, 0, 1, parent, token, logits);
    for (int32_t t = 0; rc == LMC_OK; t++) {
        /* rank every live beam's proposals */
        int32_t n_props = 0;
        for (int32_t b = 0; b < n_live; b++) {
            const float *row = logits + (size_t)b * (size_t)V;
            double mx = -INFINITY, se = 0;
            for (int32_t v = 0; v < V; v++)
                if (row[v] > mx) mx = row[v];
            if (!(mx > -INFINITY) || isinf(mx)) {
                rc = lmc_set_error(LMC_ERR_INVALID_ARG, "beam search: beam %d has no finite logit at step %d", b, t);
                goto done;
            }
            for (int32_t v = 0; v < V; v++) se += exp((double)row[v] - mx);
            const double lse = mx + log(se);
            for (int32_t v = 0; v < V; v++) lp[v] = isnan(row[v]) ? -INFINITY : (double)row[v] - lse;
            int32_t nb = best_tokens(lp, V, M, best);
            for (int32_t j = 0; j < nb; j++) props[n_props++] = (proposal){b, best[j], sums[b] + lp[best[j]]};
        }
        qsort(props, (size_t)n_props, sizeof *props, cmp_prop);

        /* walk the ranking: finish end tokens, keep B live beams */
        int32_t n_next = 0;
        for (int32_t r = 0; r < n_props && n_next < B; r++) {
            const proposal *pr = &props[r];
            const int32_t *hist = toks + (size_t)pr->beam * (size_t)T;
            if (is_eog(p, pr->token)) {
                if (r >= B) continue; /* an end token ranked below the beam width waits */
                memcpy(scratch, hist, (size_t)t * sizeof *scratch);
                scratch[t] = pr->token;
                rc = hyp_add(&hs, scratch, t + 1, pr->sum, p->length_penalty, true);
                if (rc != LMC_OK) goto done;
                continue;
            }
            int32_t *dst = ntoks + (size_t)n_next * (size_t)T;
            memcpy(dst, hist, (size_t)t * sizeof *dst);
            dst[t] = pr->token;
            nsums[n_next] = pr->sum;
            parent[n_next] = pr->beam;
            token[n_next] = pr->token;
            n_next++;
        }
        /* the new live beams replace the old */
        int32_t *sw = toks;
        toks = ntoks;
        ntoks = sw;
        double *sd = sums;
        sums = nsums;
        nsums = sd;
        n_live = n_next;
        const int32_t len = t + 1;
        if (n_live == 0) break;
        if (len >= T) { /* out of budget: live beams end as they are */
            for (int32_t b = 0; b < n_live && rc == LMC_OK; b++)
                rc = hyp_add(&hs, toks + (size_t)b * (size_t)T, len, sums[b], p->length_penalty, false);
            break;
        }
        if (hs.n == B) { /* can the best live beam still beat the worst finished one? */
            double best_live = -INFINITY;
            for (int32_t b = 0; b < n_live; b++)
                if (sums[b] > best_live) best_live = sums[b];
            if (score_of(best_live, len, p->length_penalty) <= hyp_worst(&hs)) break;
        }
        rc = step(user, len, n_live, parent, token, logits);
    }

done:
    if (rc == LMC_OK) {
        qsort(hs.h, (size_t)hs.n, sizeof *hs.h, cmp_hyp);
        for (int32_t i = p->n_best; i < hs.n; i++) free(hs.h[i].tokens);
        out->hyps = hs.h;
        out->n_hyps = LMC_MIN(hs.n, p->n_best);
    } else if (hs.h) {
        for (int32_t i = 0; i < hs.n; i++) free(hs.h[i].tokens);
        free(hs.h);
    }
    free(logits);
    free(lp);
    free(best);
    free(props);
    free(toks);
    free(ntoks);
    free(sums);
    free(nsums);
    free(parent);
    free(token);
    free(scratch);
    return rc;
}

void lmc_beam_result_free(lmc_beam_result *r) {
    if (!r) return;
    for (int32_t i = 0; i < r->n_hyps; i++) free(r->hyps[i].tokens);
    free(r->hyps);
    r->hyps = NULL;
    r->n_hyps = 0;
}
