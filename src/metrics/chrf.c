/* chrf.c — chrF and chrF++ as sacreBLEU 2.x computes them: character n-grams of the
 * segment without whitespace (code points, not bytes), optional word n-grams after
 * splitting punctuation off word ends, statistics summed over the corpus with the best
 * reference per segment, and the F-beta of the averaged precision and recall over the
 * orders that have n-grams on both sides (effective order). */
#include "metrics-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lmc_chrf_params lmc_chrf_default_params(void) {
    lmc_chrf_params p = {6, 0, 2, false, false, false};
    return p;
}

static int check_params(const lmc_chrf_params *p) {
    if (!p) return lmc_set_error(LMC_ERR_INVALID_ARG, "chrF: no parameters");
    if (p->char_order < 0 || p->char_order > LMC_CHRF_MAX_ORDER || p->word_order < 0 ||
        p->word_order > LMC_CHRF_MAX_ORDER || p->char_order + p->word_order == 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "chrF: orders must be in 0..%d and not both 0 (char %d, word %d)",
                             LMC_CHRF_MAX_ORDER, p->char_order, p->word_order);
    if (p->beta < 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "chrF: beta %d < 0", p->beta);
    return LMC_OK;
}

typedef struct gram {
    uint32_t v[LMC_CHRF_MAX_ORDER];
    int32_t n;     /* slot: char orders first, then word orders */
    int32_t count;
} gram;

static int gram_cmp(const void *a, const void *b) {
    const gram *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    return memcmp(x->v, y->v, sizeof x->v);
}

typedef struct glist {
    gram *g;
    size_t n, cap;
} glist;

static int glist_add(glist *l, int slot, const uint32_t *v, int k) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        gram *q = realloc(l->g, nc * sizeof *q);
        if (!q) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        l->g = q;
        l->cap = nc;
    }
    gram *g = &l->g[l->n++];
    memset(g, 0, sizeof *g);
    memcpy(g->v, v, (size_t)k * sizeof *v);
    g->n = slot;
    g->count = 1;
    return LMC_OK;
}

static void glist_count(glist *l) {
    if (l->n > 1) qsort(l->g, l->n, sizeof(gram), gram_cmp);
    size_t m = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (m && gram_cmp(&l->g[m - 1], &l->g[i]) == 0) l->g[m - 1].count += l->g[i].count;
        else l->g[m++] = l->g[i];
    }
    l->n = m;
}

/* Word ids: distinct words of the whole call (open addressing on an FNV-1a hash). */
typedef struct words {
    char **w;       /* id -> word          */
    int32_t *slot;  /* hash slot -> id + 1 */
    size_t n, cap, n_slots;
} words;

static uint64_t fnv(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int32_t word_id(words *ws, const char *s, size_t len) {
    if ((ws->n + 1) * 2 > ws->n_slots) {
        size_t ns = ws->n_slots ? ws->n_slots * 2 : 1024;
        int32_t *sl = calloc(ns, sizeof *sl);
        if (!sl) return -1;
        for (size_t i = 0; i < ws->n; i++) {
            size_t j = fnv(ws->w[i], strlen(ws->w[i])) & (ns - 1);
            while (sl[j]) j = (j + 1) & (ns - 1);
            sl[j] = (int32_t)i + 1;
        }
        free(ws->slot);
        ws->slot = sl;
        ws->n_slots = ns;
    }
    size_t j = fnv(s, len) & (ws->n_slots - 1);
    for (; ws->slot[j]; j = (j + 1) & (ws->n_slots - 1)) {
        const char *w = ws->w[ws->slot[j] - 1];
        if (strlen(w) == len && memcmp(w, s, len) == 0) return ws->slot[j] - 1;
    }
    if (ws->n == ws->cap) {
        size_t nc = ws->cap ? ws->cap * 2 : 256;
        char **q = realloc(ws->w, nc * sizeof *q);
        if (!q) return -1;
        ws->w = q;
        ws->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c) return -1;
    memcpy(c, s, len);
    c[len] = 0;
    ws->w[ws->n] = c;
    ws->slot[j] = (int32_t)ws->n + 1;
    return (int32_t)ws->n++;
}

static bool is_punct(char c) {
    return c && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) != NULL;
}

/* All n-grams of one (preprocessed) segment into l, counted. */
static int extract(const lmc_chrf_params *p, const char *s, size_t len, words *ws, glist *l) {
    l->n = 0;
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    if (!cps) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = lmc_txt_decode(s, &i);
        if (p->whitespace || !lmc_txt_isspace(cp)) cps[m++] = cp;
    }
    int rc = LMC_OK;
    for (int k = 1; k <= p->char_order && !rc; k++)
        for (size_t i = 0; i + (size_t)k <= m && !rc; i++) rc = glist_add(l, k - 1, cps + i, k);
    free(cps);
    if (rc || p->word_order == 0) {
        if (!rc) glist_count(l);
        return rc;
    }
    /* words, with one punctuation character split off the end (else the start) */
    lmc_txt_span *sp = NULL;
    size_t ns = 0, cap = 0;
    rc = lmc_txt_split(s, len, &sp, &ns, &cap);
    uint32_t *ids = malloc((2 * ns + 1) * sizeof *ids);
    size_t nw = 0;
    if (!rc && !ids) rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < ns && !rc; i++) {
        const char *w = s + sp[i].off;
        size_t wl = sp[i].len, j = 0;
        lmc_txt_decode(w, &j);
        int32_t a, b = 0;
        if (j == wl) a = word_id(ws, w, wl); /* one code point */
        else if (is_punct(w[wl - 1])) a = word_id(ws, w, wl - 1), b = word_id(ws, w + wl - 1, 1);
        else if (is_punct(w[0])) a = word_id(ws, w, 1), b = word_id(ws, w + 1, wl - 1);
        else a = word_id(ws, w, wl);
        bool two = j != wl && (is_punct(w[wl - 1]) || is_punct(w[0]));
        if (a < 0 || b < 0) {
            rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
            break;
        }
        ids[nw++] = (uint32_t)a;
        if (two) ids[nw++] = (uint32_t)b;
    }
    for (int k = 1; k <= p->word_order && !rc; k++)
        for (size_t i = 0; i + (size_t)k <= nw && !rc; i++) rc = glist_add(l, p->char_order + k - 1, ids + i, k);
    free(ids);
    free(sp);
    if (!rc) glist_count(l);
    return rc;
}

/* [hyp, ref, match] per slot for one hypothesis/reference pair. */
static void match_stats(const lmc_chrf_params *p, const glist *h, const glist *r, int64_t *st) {
    int order = p->char_order + p->word_order;
    int64_t hyp[2 * LMC_CHRF_MAX_ORDER] = {0}, ref[2 * LMC_CHRF_MAX_ORDER] = {0}, mat[2 * LMC_CHRF_MAX_ORDER] = {0};
    for (size_t i = 0; i < r->n; i++) ref[r->g[i].n] += r->g[i].count;
    size_t j = 0;
    for (size_t i = 0; i < h->n; i++) {
        const gram *g = &h->g[i];
        hyp[g->n] += g->count;
        while (j < r->n && gram_cmp(&r->g[j], g) < 0) j++;
        if (j < r->n && gram_cmp(&r->g[j], g) == 0) mat[g->n] += g->count < r->g[j].count ? g->count : r->g[j].count;
    }
    for (int s = 0; s < order; s++) {
        st[3 * s] = ref[s] ? hyp[s] : 0; /* sacreBLEU: no reference n-grams -> no hypothesis count */
        st[3 * s + 1] = ref[s];
        st[3 * s + 2] = mat[s];
    }
}

static double f_score(const lmc_chrf_params *p, const int64_t *st) {
    const double eps = 1e-16;
    int order = p->char_order + p->word_order, eff = 0;
    double factor = (double)p->beta * p->beta, score = 0.0, avg_p = 0.0, avg_r = 0.0;
    for (int i = 0; i < order; i++) {
        double nh = (double)st[3 * i], nr = (double)st[3 * i + 1], nm = (double)st[3 * i + 2];
        double prec = nh > 0 ? nm / nh : eps, rec = nr > 0 ? nm / nr : eps;
        double denom = factor * prec + rec;
        score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
        if (nh > 0 && nr > 0) {
            avg_p += prec;
            avg_r += rec;
            eff++;
        }
    }
    if (p->eps_smoothing) return 100 * score / order;
    if (eff == 0) avg_p = avg_r = 0.0;
    else avg_p /= eff, avg_r /= eff;
    if (avg_p + avg_r != 0.0) return 100 * ((1 + factor) * avg_p * avg_r / (factor * avg_p + avg_r));
    return 0.0;
}

static int prep(const lmc_chrf_params *p, const char *s, char **owned, const char **out, size_t *len) {
    *len = strlen(s);
    size_t ok = lmc_txt_utf8_valid_prefix(s, *len);
    if (ok != *len) return lmc_set_error(LMC_ERR_FORMAT, "invalid UTF-8 at byte %zu", ok + 1);
    *out = s;
    if (p->lowercase) {
        int rc = lmc_txt_lower(s, *len, owned, len);
        if (rc) return rc;
        *out = *owned;
    }
    return LMC_OK;
}

int lmc_chrf_corpus(const lmc_chrf_params *p, const char *const *hyps, size_t n,
                    const char *const *const *refs, size_t n_refs, double *score) {
    int rc = check_params(p);
    if (rc) return rc;
    if (!score || (n && (!hyps || !refs))) return lmc_set_error(LMC_ERR_INVALID_ARG, "chrF: NULL argument");
    if (n == 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "chrF: no segments to score");
    if (n_refs == 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "chrF: no references");
    int order = p->char_order + p->word_order;
    int64_t total[6 * LMC_CHRF_MAX_ORDER] = {0}, st[6 * LMC_CHRF_MAX_ORDER], best[6 * LMC_CHRF_MAX_ORDER];
    words ws = {0};
    glist h = {0}, r = {0};
    for (size_t i = 0; i < n && !rc; i++) {
        char *own = NULL;
        const char *s;
        size_t len;
        if (!hyps[i]) rc = lmc_set_error(LMC_ERR_INVALID_ARG, "chrF: hypothesis %zu is NULL", i + 1);
        if (!rc) rc = prep(p, hyps[i], &own, &s, &len);
        if (!rc) rc = extract(p, s, len, &ws, &h);
        free(own);
        double best_f = -1.0;
        int have = 0;
        for (size_t k = 0; k < n_refs && !rc; k++) {
            const char *ref = refs[k] ? refs[k][i] : NULL;
            if (!ref) continue;
            have++;
            own = NULL;
            rc = prep(p, ref, &own, &s, &len);
            if (!rc) rc = extract(p, s, len, &ws, &r);
            free(own);
            if (rc) break;
            match_stats(p, &h, &r, st);
            double f = f_score(p, st);
            if (f > best_f) {
                best_f = f;
                memcpy(best, st, sizeof(int64_t) * 3 * (size_t)order);
            }
        }
        if (!rc && !have) rc = lmc_set_error(LMC_ERR_INVALID_ARG, "chrF: segment %zu has no reference", i + 1);
        if (rc) {
            {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", lmc_last_error());
                lmc_set_error(rc, "chrF: segment %zu: %s", i + 1, msg);
            }
            break;
        }
        for (int k = 0; k < 3 * order; k++) total[k] += best[k];
    }
    for (size_t i = 0; i < ws.n; i++) free(ws.w[i]);
    free(ws.w);
    free(ws.slot);
    free(h.g);
    free(r.g);
    if (rc) return rc;
    *score = f_score(p, total);
    return LMC_OK;
}

int lmc_chrf_sentence(const lmc_chrf_params *p, const char *hyp, const char *const *refs, size_t n_refs,
                      double *score) {
    if (!refs || n_refs == 0) return lmc_set_error(LMC_ERR_INVALID_ARG, "chrF: no references");
    const char *const **cols = malloc(n_refs * sizeof *cols);
    if (!cols) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < n_refs; r++) cols[r] = &refs[r];
    int rc = lmc_chrf_corpus(p, &hyp, 1, cols, n_refs, score);
    free(cols);
    return rc;
}

int lmc_chrf_signature(const lmc_chrf_params *p, int n_refs, char *buf, size_t cap) {
    int rc = check_params(p);
    if (rc) return rc;
    char nrefs[32];
    if (n_refs < 0) snprintf(nrefs, sizeof nrefs, "var");
    else snprintf(nrefs, sizeof nrefs, "%d", n_refs);
    int n = snprintf(buf, cap, "nrefs:%s|case:%s|eff:%s|nc:%d|nw:%d|space:%s|version:%s", nrefs,
                     p->lowercase ? "lc" : "mixed", p->eps_smoothing ? "no" : "yes", p->char_order, p->word_order,
                     p->whitespace ? "yes" : "no", LMC_SACREBLEU_VERSION);
    if (n < 0 || (size_t)n >= cap) return lmc_set_error(LMC_ERR_LIMIT, "chrF signature: buffer too small");
    return n;
}

int lmc_chrf_name(const lmc_chrf_params *p, char *buf, size_t cap) {
    int rc = check_params(p);
    if (rc) return rc;
    int n = snprintf(buf, cap, "chrF%d", p->beta);
    for (int i = 0; i < p->word_order && n >= 0 && (size_t)n + 1 < cap; i++) buf[n++] = '+', buf[n] = 0;
    if (n < 0 || (size_t)n >= cap) return lmc_set_error(LMC_ERR_LIMIT, "chrF name: buffer too small");
    return n;
}
