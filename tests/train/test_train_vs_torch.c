/* The whole training step against PyTorch (fixture written by make_fixture.py with
 * torch 1.13, committed): same weights and batch -> logits, loss and every
 * parameter's gradient; then the losses of 10 AdamW steps (warmup + cosine, weight
 * decay on matrices, clipping). Prints the max differences.
 *
 * usage: test_train_vs_torch FIXTURE.bin */
#include "lmc.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[96];
    uint64_t n;
    float *data;
} rec;

static rec g_recs[512];
static int g_n;

static const rec *find(const char *name) {
    for (int i = 0; i < g_n; i++)
        if (!strcmp(g_recs[i].name, name)) return &g_recs[i];
    return NULL;
}

static double max_rel(const float *a, const float *b, uint64_t n, double *max_abs) {
    double ma = 0, scale = 0;
    for (uint64_t i = 0; i < n; i++) {
        ma = fmax(ma, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    *max_abs = ma;
    return ma / fmax(scale, 1e-30);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    size_t len = 0;
    char *buf = t_read_file(argv[1], &len);
    CHECK(buf != NULL);
    if (!buf) return t_done("train_vs_torch");
    CHECK(len > 16 && memcmp(buf, "LMCTRFX\0", 8) == 0);
    uint32_t ver, jl;
    memcpy(&ver, buf + 8, 4);
    memcpy(&jl, buf + 12, 4);
    CHECK(ver == 1);
    cJSON *j = cJSON_ParseWithLength(buf + 16, jl);
    CHECK(j != NULL);
    for (size_t off = 16 + jl; off + 12 <= len && g_n < 512;) {
        uint32_t nl;
        memcpy(&nl, buf + off, 4);
        rec *r = &g_recs[g_n++];
        snprintf(r->name, sizeof r->name, "%.*s", (int)nl, buf + off + 4);
        memcpy(&r->n, buf + off + 4 + nl, 8);
        /* fixture floats are little-endian f32 at any byte offset: copy them aligned */
        r->data = malloc(r->n * sizeof(float) + 1);
        CHECK(r->data != NULL);
        if (!r->data) break;
        memcpy(r->data, buf + off + 12 + nl, r->n * sizeof(float));
        off += 12 + nl + r->n * 4;
    }
    cJSON *cfg = cJSON_GetObjectItem(j, "config"), *opt = cJSON_GetObjectItem(j, "optimizer");
#define I(o, k) (cJSON_GetObjectItem(o, k)->valueint)
#define D(o, k) (cJSON_GetObjectItem(o, k)->valuedouble)
    lmc_train_config c = lmc_train_default_config();
    const char *arch = cJSON_GetObjectItem(cfg, "arch")->valuestring;
    c.arch = !strcmp(arch, "gpt2") ? LMC_ARCH_GPT2 : LMC_ARCH_LLAMA;
    c.n_layer = I(cfg, "n_layer"), c.n_head = I(cfg, "n_head"), c.n_head_kv = I(cfg, "n_head_kv");
    c.n_embd = I(cfg, "n_embd"), c.n_ff = I(cfg, "n_ff"), c.n_vocab = I(cfg, "n_vocab"), c.n_ctx = I(cfg, "n_ctx");
    c.bias = cJSON_IsTrue(cJSON_GetObjectItem(cfg, "bias")), c.tied = cJSON_IsTrue(cJSON_GetObjectItem(cfg, "tied"));
    c.norm_eps = (float)D(cfg, "norm_eps"), c.rope_base = (float)D(cfg, "rope_base");
    const int B = I(cfg, "batch"), T = c.n_ctx;
    int32_t *tok = malloc(sizeof(int32_t) * B * T), *tgt = malloc(sizeof(int32_t) * B * T);
    for (int i = 0; i < B * T; i++) {
        tok[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tokens"), i)->valueint;
        tgt[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "targets"), i)->valueint;
    }

    /* argv[2]: threads; the batch is then split into per-thread slices whose gradients
     * are summed, so the same tolerances must hold */
    const int threads = argc > 2 ? atoi(argv[2]) : 1;
    lmc_train_model *m = lmc_train_model_init(&c, B, threads, 1);
    CHECK(m != NULL);
    if (!m) return t_done("train_vs_torch");
    /* every lmc tensor has a torch twin and vice versa */
    int n_param_recs = 0;
    for (int i = 0; i < g_n; i++) n_param_recs += !strncmp(g_recs[i].name, "param:", 6);
    CHECK_EQ_INT(n_param_recs, lmc_train_model_n_tensors(m));
    for (int i = 0; i < lmc_train_model_n_tensors(m); i++) {
        lmc_train_tensor t;
        lmc_train_model_tensor(m, i, &t);
        char nm[128];
        snprintf(nm, sizeof nm, "param:%s", t.name);
        const rec *r = find(nm);
        CHECK_MSG(r && r->n == (uint64_t)(t.ne[0] * t.ne[1]), "%s missing or wrong size\n", nm);
        if (r) memcpy(t.data, r->data, r->n * sizeof(float));
    }

    float loss = 0;
    int64_t cnt = 0;
    lmc_train_zero_grad(m);
    CHECK(lmc_train_step_fb(m, tok, tgt, B, T, 1.0f, true, &loss, &cnt) == LMC_OK);
    const double ref_loss = D(j, "loss");
    double mabs;
    const rec *lr_ = find("logits");
    const double lrel = max_rel(lmc_train_logits(m), lr_->data, lr_->n, &mabs);
    printf("%s: logits max |diff| %.3g (relative to max |logit| %.3g); loss lmc %.7f torch %.7f\n", arch, mabs, lrel, loss,
           ref_loss);
    CHECK(lrel < 1e-5);
    CHECK(fabs(loss - ref_loss) < 1e-5 * fabs(ref_loss));
    double worst = 0, gmax = 0;
    const char *worst_name = "";
    for (int i = 0; i < g_n; i++)
        if (!strncmp(g_recs[i].name, "grad:", 5))
            for (uint64_t k = 0; k < g_recs[i].n; k++) gmax = fmax(gmax, fabs(g_recs[i].data[k]));
    for (int i = 0; i < lmc_train_model_n_tensors(m); i++) {
        lmc_train_tensor t;
        lmc_train_model_tensor(m, i, &t);
        char nm[128];
        snprintf(nm, sizeof nm, "grad:%s", t.name);
        const rec *r = find(nm);
        if (!r) continue;
        double rel = max_rel(t.grad, r->data, r->n, &mabs);
        /* gradients that are zero in exact arithmetic (a key bias shifts every score of a
         * query equally) are float noise on both sides: measure them against 1e-3 of
         * the largest gradient of the model */
        double scale = 0;
        for (uint64_t k = 0; k < r->n; k++) scale = fmax(scale, fabs(r->data[k]));
        if (scale < 1e-3 * gmax) rel = mabs / (1e-3 * gmax);
        if (rel > worst) worst = rel, worst_name = t.name;
        CHECK_MSG(rel < 1e-4, "%s: gradient max |diff| %.3g = %.3g of its largest element\n", t.name, mabs, rel);
    }
    printf("%s: %d parameter gradients, worst max|diff|/max|grad| %.3g (%s), %d thread(s)\n", arch,
           lmc_train_model_n_tensors(m), worst, worst_name, threads);
    /* deterministic: the same step again gives the same bits (loss and every gradient) */
    {
        size_t ng = 0;
        const float *g = lmc_train_model_state(m, LMC_TRAIN_GRADS, &ng);
        float *g1 = malloc(ng * sizeof(float)), loss2 = 0;
        memcpy(g1, g, ng * sizeof(float));
        lmc_train_zero_grad(m);
        CHECK(lmc_train_step_fb(m, tok, tgt, B, T, 1.0f, true, &loss2, &cnt) == LMC_OK);
        CHECK_MSG(memcmp(&loss, &loss2, sizeof loss) == 0 && memcmp(g1, g, ng * sizeof(float)) == 0,
                  "a repeated step differs (%d threads)\n", threads);
        free(g1);
    }

    lmc_adamw_params ap = lmc_adamw_default_params();
    ap.lr = (float)D(opt, "lr"), ap.min_lr = (float)D(opt, "min_lr"), ap.beta1 = (float)D(opt, "beta1");
    ap.beta2 = (float)D(opt, "beta2"), ap.eps = (float)D(opt, "eps"), ap.weight_decay = (float)D(opt, "weight_decay");
    ap.warmup = I(opt, "warmup"), ap.total_steps = I(opt, "total_steps"), ap.clip = (float)D(opt, "clip");
    /* back to the initial weights (the forward above changed nothing but gradients) */
    cJSON *sl = cJSON_GetObjectItem(j, "step_losses");
    double worst_step = 0;
    for (int s = 0; s < cJSON_GetArraySize(sl); s++) {
        lmc_train_zero_grad(m);
        CHECK(lmc_train_step_fb(m, tok, tgt, B, T, 1.0f, true, &loss, &cnt) == LMC_OK);
        const double ref = cJSON_GetArrayItem(sl, s)->valuedouble, rel = fabs(loss - ref) / fabs(ref);
        worst_step = fmax(worst_step, rel);
        printf("  step %2d  loss lmc %.6f  torch %.6f  rel %.2e\n", s, loss, ref, rel);
        CHECK(rel < 1e-3);
        CHECK(lmc_train_adamw_step(m, &ap, NULL, NULL) == LMC_OK);
    }
    printf("%s: 10 AdamW steps, worst relative loss difference %.3g\n", arch, worst_step);
    lmc_train_model_free(m);
    cJSON_Delete(j);
    for (int i = 0; i < g_n; i++) free(g_recs[i].data);
    free(tok), free(tgt), free(buf);
    return t_done("train_vs_torch");
}
