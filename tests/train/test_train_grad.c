/* Every layer's backward against central finite differences, in double precision, on
 * the same source the float training path runs (src/train/train_ops.inc instantiated
 * for double). For a layer y = f(inputs) the scalar L = sum(y * R), R random, has
 * dL/dy = R: backward(R) must give dL/dinput, and (L(x + h e_j) - L(x - h e_j)) / 2h
 * must agree for every input element j checked.
 *
 * usage: test_train_grad LAYER   (linear rmsnorm layernorm rope attention swiglu gelu
 *                                 embedding xent) */
#include "lmc.h"
#include "test_util.h"
#include "train-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXIN 4

typedef struct {
    const char *name;
    int n_in;
    double *in[MAXIN];
    int64_t size[MAXIN];
    const char *in_name[MAXIN];
    int64_t out_size;
    double (*loss)(void *ctx);                  /* L = sum(y * R) from the current inputs */
    void (*grad)(void *ctx, double *g[MAXIN]);  /* analytic dL/dinput, accumulated into zeroed g */
} gcase;

static uint64_t g_seed = 0x1234567;
static double rnd(void) { /* uniform in [-1, 1) */
    g_seed = g_seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_seed >> 11) / (double)(1ULL << 52) - 1.0;
}
static double *vec(int64_t n, double scale) {
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = rnd() * scale;
    return v;
}
static double dotR(const double *y, const double *R, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += y[i] * R[i];
    return s;
}

/* Checks up to max_checks elements of every input. */
static void run(gcase *c, void *ctx, int max_checks) {
    double *g[MAXIN] = {0};
    for (int i = 0; i < c->n_in; i++) g[i] = calloc((size_t)c->size[i], sizeof(double));
    c->grad(ctx, g);
    double worst = 0;
    int n_checked = 0;
    for (int i = 0; i < c->n_in; i++) {
        const int64_t n = c->size[i];
        for (int k = 0; k < max_checks && k < n; k++) {
            const int64_t j = n <= max_checks ? k : (int64_t)((rnd() + 1) * 0.5 * (double)n) % n;
            const double x0 = c->in[i][j], h = 1e-5 * (fabs(x0) > 1 ? fabs(x0) : 1);
            c->in[i][j] = x0 + h;
            const double lp = c->loss(ctx);
            c->in[i][j] = x0 - h;
            const double lm = c->loss(ctx);
            c->in[i][j] = x0;
            const double fd = (lp - lm) / (2 * h), an = g[i][j];
            const double err = fabs(fd - an) / fmax(1e-4, fabs(fd) + fabs(an));
            if (err > worst) worst = err;
            n_checked++;
            CHECK_MSG(err < 1e-6, "%s: d/d%s[%lld]: analytic %.10g, finite difference %.10g\n", c->name,
                      c->in_name[i], (long long)j, an, fd);
        }
    }
    printf("%s: %d partial derivatives checked, worst relative error %.2e\n", c->name, n_checked, worst);
    for (int i = 0; i < c->n_in; i++) free(g[i]);
}

/* ---- the layers ---------------------------------------------------------------------- */

enum { N = 6, C = 8, O = 5, B = 2, T = 5, H = 4, HKV = 2, D = 6, V = 11 };

typedef struct {
    double *x, *w, *b, *R, *y, *t1, *t2, *t3;
    int32_t ids[N], pos[N], tgt[N];
} ctx_t;

/* linear: inputs X[N][C], W[O][C], b[O] */
static double linear_loss(void *p) {
    ctx_t *c = p;
    lmc_tr_linear_fwd_f64(c->y, c->x, c->w, c->b, N, C, O);
    return dotR(c->y, c->R, N * O);
}
static void linear_grad(void *p, double *g[]) {
    ctx_t *c = p;
    lmc_tr_linear_bwd_f64(g[0], g[1], g[2], c->R, c->x, c->w, N, C, O);
}

static double rms_loss(void *p) {
    ctx_t *c = p;
    lmc_tr_rmsnorm_fwd_f64(c->y, c->t1, c->x, c->w, N, C, 1e-5);
    return dotR(c->y, c->R, N * C);
}
static void rms_grad(void *p, double *g[]) {
    ctx_t *c = p;
    lmc_tr_rmsnorm_fwd_f64(c->y, c->t1, c->x, c->w, N, C, 1e-5);
    lmc_tr_rmsnorm_bwd_f64(g[0], g[1], c->R, c->x, c->w, c->t1, N, C);
}

static double ln_loss(void *p) {
    ctx_t *c = p;
    lmc_tr_layernorm_fwd_f64(c->y, c->t1, c->t2, c->x, c->w, c->b, N, C, 1e-5);
    return dotR(c->y, c->R, N * C);
}
static void ln_grad(void *p, double *g[]) {
    ctx_t *c = p;
    lmc_tr_layernorm_fwd_f64(c->y, c->t1, c->t2, c->x, c->w, c->b, N, C, 1e-5);
    lmc_tr_layernorm_bwd_f64(g[0], g[1], g[2], c->R, c->x, c->w, c->t1, c->t2, N, C);
}

/* rope on x[N][H*D] (n_rot = D, llama layout) */
static double rope_loss(void *p) {
    ctx_t *c = p;
    memcpy(c->y, c->x, sizeof(double) * N * H * D);
    lmc_tr_rope_fwd_f64(c->y, c->pos, N, H, D, D, 10000.0);
    return dotR(c->y, c->R, N * H * D);
}
static void rope_grad(void *p, double *g[]) {
    ctx_t *c = p;
    memcpy(g[0], c->R, sizeof(double) * N * H * D);
    lmc_tr_rope_bwd_f64(g[0], c->pos, N, H, D, D, 10000.0);
}

/* attention: q = x [B*T][H*D], k = w [B*T][HKV*D], v = b [B*T][HKV*D] */
static double attn_loss(void *p) {
    ctx_t *c = p;
    lmc_tr_attn_fwd_f64(c->y, c->t1, c->x, c->w, c->b, B, T, H, HKV, D);
    return dotR(c->y, c->R, B * T * H * D);
}
static void attn_grad(void *p, double *g[]) {
    ctx_t *c = p;
    lmc_tr_attn_fwd_f64(c->y, c->t1, c->x, c->w, c->b, B, T, H, HKV, D);
    lmc_tr_attn_bwd_f64(g[0], g[1], g[2], c->R, c->t1, c->x, c->w, c->b, B, T, H, HKV, D, c->t2);
}

static double swiglu_loss(void *p) {
    ctx_t *c = p;
    lmc_tr_swiglu_fwd_f64(c->y, c->x, c->w, N * C);
    return dotR(c->y, c->R, N * C);
}
static void swiglu_grad(void *p, double *g[]) {
    ctx_t *c = p;
    lmc_tr_swiglu_bwd_f64(g[0], g[1], c->R, c->x, c->w, N * C);
}

static double gelu_loss(void *p) {
    ctx_t *c = p;
    lmc_tr_gelu_fwd_f64(c->y, c->x, N * C);
    return dotR(c->y, c->R, N * C);
}
static void gelu_grad(void *p, double *g[]) {
    ctx_t *c = p;
    lmc_tr_gelu_bwd_f64(g[0], c->R, c->x, N * C);
}

/* token embedding E = x [V][C], positions Pos = w [T][C] */
static double embed_loss(void *p) {
    ctx_t *c = p;
    lmc_tr_embed_fwd_f64(c->y, c->x, c->w, c->ids, c->pos, N, C);
    return dotR(c->y, c->R, N * C);
}
static void embed_grad(void *p, double *g[]) {
    ctx_t *c = p;
    lmc_tr_embed_bwd_f64(g[0], g[1], c->R, c->ids, c->pos, N, C);
}

/* cross-entropy of logits x [N][V] with two ignored positions; L is the loss itself */
static double xent_loss(void *p) {
    ctx_t *c = p;
    return lmc_tr_xent_f64(NULL, c->x, c->tgt, N, V, NULL);
}
static void xent_grad(void *p, double *g[]) {
    ctx_t *c = p;
    int64_t cnt;
    lmc_tr_xent_f64(g[0], c->x, c->tgt, N, V, &cnt);
    CHECK(cnt == N - 2);
}

int main(int argc, char **argv) {
    const char *layer = argc > 1 ? argv[1] : "";
    ctx_t c;
    const int64_t big = 4096;
    c.x = vec(big, 1), c.w = vec(big, 1), c.b = vec(big, 1), c.R = vec(big, 1);
    c.y = calloc(big, sizeof(double)), c.t1 = calloc(big, sizeof(double)), c.t2 = calloc(big, sizeof(double));
    c.t3 = calloc(big, sizeof(double));
    for (int i = 0; i < N; i++) c.ids[i] = (i * 7 + 3) % V, c.pos[i] = i % T, c.tgt[i] = (i * 5 + 1) % V;
    c.ids[4] = c.ids[1]; /* a repeated token accumulates */
    c.tgt[2] = -1, c.tgt[5] = -1;
    for (int i = 0; i < N; i++) c.pos[i] = 3 * i + 1; /* rope: positions > 0 */

    gcase g = {0};
    if (!strcmp(layer, "linear")) {
        g = (gcase){"linear", 3, {c.x, c.w, c.b}, {N * C, O * C, O}, {"X", "W", "b"}, N * O, linear_loss, linear_grad};
    } else if (!strcmp(layer, "rmsnorm")) {
        g = (gcase){"rmsnorm", 2, {c.x, c.w}, {N * C, C}, {"x", "w"}, N * C, rms_loss, rms_grad};
    } else if (!strcmp(layer, "layernorm")) {
        g = (gcase){"layernorm", 3, {c.x, c.w, c.b}, {N * C, C, C}, {"x", "w", "b"}, N * C, ln_loss, ln_grad};
    } else if (!strcmp(layer, "rope")) {
        g = (gcase){"rope", 1, {c.x}, {N * H * D}, {"x"}, N * H * D, rope_loss, rope_grad};
    } else if (!strcmp(layer, "attention")) {
        g = (gcase){"attention (causal, GQA 4/2)", 3, {c.x, c.w, c.b}, {B * T * H * D, B * T * HKV * D, B * T * HKV * D},
                    {"q", "k", "v"}, B * T * H * D, attn_loss, attn_grad};
    } else if (!strcmp(layer, "swiglu")) {
        g = (gcase){"swiglu", 2, {c.x, c.w}, {N * C, N * C}, {"gate", "up"}, N * C, swiglu_loss, swiglu_grad};
    } else if (!strcmp(layer, "gelu")) {
        g = (gcase){"gelu", 1, {c.x}, {N * C}, {"x"}, N * C, gelu_loss, gelu_grad};
    } else if (!strcmp(layer, "embedding")) {
        for (int i = 0; i < N; i++) c.pos[i] = i % T;
        g = (gcase){"embedding (token + position)", 2, {c.x, c.w}, {V * C, T * C}, {"E", "Pos"}, N * C, embed_loss,
                    embed_grad};
    } else if (!strcmp(layer, "xent")) {
        for (int i = 0; i < N * V; i++) c.x[i] *= 3;
        g = (gcase){"cross-entropy (2 of 6 positions ignored)", 1, {c.x}, {N * V}, {"logits"}, 1, xent_loss, xent_grad};
    } else {
        fprintf(stderr, "usage: test_train_grad linear|rmsnorm|layernorm|rope|attention|swiglu|gelu|embedding|xent\n");
        return 2;
    }
    run(&g, &c, 200);
    free(c.x), free(c.w), free(c.b), free(c.R), free(c.y), free(c.t1), free(c.t2), free(c.t3);
    return t_done(layer);
}
