/* Every layer's backward against central finite differences, in double precision, on
 * the same source the float training path runs (src/train/train_ops.inc instantiated
 * for double). For a layer y = f(inputs) the scalar L = sum(y * R), R random, has
 * dL/dy = R: backward(R) must give dL/dinput, and (L(x + h e_j) - L(x - h e_j)) / 2h
 * must agree for every input element j checked.
 *
 * usage: test_train_grad LAYER   (linear rmsnorm layernorm rope attention attention_dropout
 *                                 dropout swiglu gelu embedding xent) */
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
static const lmc_tr_drop *g_drop; /* attention_dropout: a fixed mask (same key every call) */
static double attn_loss(void *p) {
    ctx_t *c = p;
    lmc_tr_attn_fwd_f64(c->y, c->t1, c->x, c->w, c->b, B, T, H, HKV, D, g_drop, c->t3);
    return dotR(c->y, c->R, B * T * H * D);
}
static void attn_grad(void *p, double *g[]) {
    ctx_t *c = p;
    lmc_tr_attn_fwd_f64(c->y, c->t1, c->x, c->w, c->b, B, T, H, HKV, D, g_drop, c->t3);
    lmc_tr_attn_bwd_f64(g[0], g[1], g[2], c->R, c->t1, c->x, c->w, c->b, B, T, H, HKV, D, g_drop, c->t2);
}

/* dropout on a vector: y = x * mask / (1 - p) */
static double drop_loss(void *p) {
    ctx_t *c = p;
    memcpy(c->y, c->x, sizeof(double) * N * C);
    lmc_tr_dropout_f64(c->y, N * C, 7, g_drop);
    return dotR(c->y, c->R, N * C);
}
static void drop_grad(void *p, double *g[]) {
    ctx_t *c = p;
    memcpy(g[0], c->R, sizeof(double) * N * C);
    lmc_tr_dropout_f64(g[0], N * C, 7, g_drop);
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

/* The whole model with dropout, in float through the public API: the directional
 * derivative of the loss along a random direction (central differences, the same masks
 * in every evaluation: set_step resets the micro-batch counter the masks derive from)
 * against the gradient. Checks the wiring (every mask in backward is the forward's). */
static int model_dropout(lmc_arch arch) {
    lmc_train_config c = lmc_train_default_config();
    c.arch = arch, c.n_layer = 2, c.n_head = 2, c.n_head_kv = arch == LMC_ARCH_GPT2 ? 2 : 1, c.n_embd = 16;
    c.n_vocab = 23, c.n_ctx = 8, c.bias = arch == LMC_ARCH_GPT2, c.dropout = 0.25f;
    const int B = 3, T = 8;
    lmc_train_model *m = lmc_train_model_init(&c, B, 2, 11);
    CHECK(m != NULL);
    if (!m) return 1;
    int32_t tok[24], tgt[24];
    for (int i = 0; i < B * T; i++) tok[i] = (i * 7 + 2) % 23, tgt[i] = (i * 5 + 3) % 23;
    size_t n;
    float *w = lmc_train_model_state(m, LMC_TRAIN_PARAMS, &n), *g = lmc_train_model_state(m, LMC_TRAIN_GRADS, &n);
    double *dir = malloc(n * sizeof(double)), gd = 0;
    float loss, lp, lm;
    lmc_train_zero_grad(m);
    lmc_train_model_set_step(m, 5);
    CHECK(lmc_train_step_fb(m, tok, tgt, B, T, 1.0f, true, &loss, NULL) == LMC_OK);
    for (size_t i = 0; i < n; i++) dir[i] = rnd(), gd += dir[i] * g[i];
    const double eps = 2e-3;
    for (size_t i = 0; i < n; i++) w[i] += (float)(eps * dir[i]);
    lmc_train_model_set_step(m, 5);
    lmc_train_step_fb(m, tok, tgt, B, T, 1.0f, true, &lp, NULL);
    for (size_t i = 0; i < n; i++) w[i] -= (float)(2 * eps * dir[i]);
    lmc_train_model_set_step(m, 5);
    lmc_train_step_fb(m, tok, tgt, B, T, 1.0f, true, &lm, NULL);
    const double fd = ((double)lp - (double)lm) / (2 * eps), rel = fabs(fd - gd) / fabs(gd);
    /* and the masks matter: another step's masks give another loss */
    float other;
    lmc_train_model_set_step(m, 6);
    lmc_train_step_fb(m, tok, tgt, B, T, 1.0f, true, &other, NULL);
    printf("%s with dropout 0.25: directional derivative %.6g, finite difference %.6g (relative %.2g); loss %.6f, "
           "with the next step's masks %.6f\n", arch == LMC_ARCH_GPT2 ? "gpt2" : "llama", gd, fd, rel, loss, other);
    CHECK(rel < 1e-2);
    CHECK(fabs(other - loss) > 1e-4);
    free(dir);
    lmc_train_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    const char *layer = argc > 1 ? argv[1] : "";
    if (!strcmp(layer, "model_dropout")) {
        model_dropout(LMC_ARCH_GPT2);
        model_dropout(LMC_ARCH_LLAMA);
        return t_done(layer);
    }
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
    } else if (!strcmp(layer, "attention_dropout") || !strcmp(layer, "dropout")) {
        static const lmc_tr_drop d = {.p = 0.3f, .key = 0x5eed, .b0 = 3};
        g_drop = &d;
        int kept = 0;
        for (int i = 0; i < 1000; i++) kept += lmc_tr_keep(&d, i);
        printf("mask keeps %d of 1000 (p = 0.3)\n", kept);
        CHECK(kept > 640 && kept < 760);
        if (!strcmp(layer, "dropout"))
            g = (gcase){"dropout (p 0.3)", 1, {c.x}, {N * C}, {"x"}, N * C, drop_loss, drop_grad};
        else
            g = (gcase){"attention with dropout on the probabilities (p 0.3)", 3, {c.x, c.w, c.b},
                        {B * T * H * D, B * T * HKV * D, B * T * HKV * D}, {"q", "k", "v"}, B * T * H * D, attn_loss,
                        attn_grad};
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
