/* run.c — a pretraining run: batches from token shards, AdamW steps with gradient
 * accumulation, validation, atomic checkpoints that resume exactly, NaN guard, the
 * trained model as a GGUF file lmc (and llama.cpp, for llama) loads, a loss curve.
 *
 * Batches are nanoGPT's: each sequence starts at a uniformly random offset of the
 * training tokens, drawn from a seeded generator whose state is checkpointed, so a
 * resumed run draws the same batches as one that never stopped. */
#include "train-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

lmc_train_run_params lmc_train_run_default_params(void) {
    lmc_train_run_params p = {0};
    p.config = lmc_train_default_config();
    p.opt = lmc_adamw_default_params();
    p.batch = 12, p.grad_accum = 1, p.steps = 100, p.eval_interval = 250, p.ckpt_interval = 100, p.seed = 1337;
    p.n_threads = 1;
    return p;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void draw_batch(lmc_rng *r, const int32_t *data, int64_t n, int32_t B, int32_t T, int32_t *x, int32_t *y) {
    for (int32_t b = 0; b < B; b++) {
        const int64_t i = (int64_t)(lmc_rng_u64(r) % (uint64_t)(n - T));
        memcpy(x + (int64_t)b * T, data + i, sizeof(int32_t) * (size_t)T);
        memcpy(y + (int64_t)b * T, data + i + 1, sizeof(int32_t) * (size_t)T);
    }
}

/* Mean loss over the whole validation split in windows of T tokens. */
static int eval_val(lmc_train_model *m, const int32_t *val, int64_t n_val, int32_t B, int32_t T, int32_t *x, int32_t *y,
                    double *out) {
    const int64_t n_win = (n_val - 1) / T;
    double sum = 0;
    int64_t cnt = 0;
    for (int64_t w0 = 0; w0 < n_win; w0 += B) {
        const int32_t nb = (int32_t)(n_win - w0 < B ? n_win - w0 : B);
        for (int32_t b = 0; b < nb; b++) {
            memcpy(x + (int64_t)b * T, val + (w0 + b) * T, sizeof(int32_t) * (size_t)T);
            memcpy(y + (int64_t)b * T, val + (w0 + b) * T + 1, sizeof(int32_t) * (size_t)T);
        }
        float l;
        int64_t c;
        int rc = lmc_train_step_fb(m, x, y, nb, T, 1.0f, false, &l, &c);
        if (rc) return rc;
        sum += (double)l * (double)c;
        cnt += c;
    }
    *out = cnt ? sum / (double)cnt : NAN;
    return LMC_OK;
}

/* ---- checkpoints ---------------------------------------------------------------------- */

static int set_config(lmc_gguf_writer *w, const lmc_train_config *c, const char *prefix) {
    char k[128];
    int rc = LMC_OK;
#define U(name, v)                                               \
    if (!rc) {                                                   \
        snprintf(k, sizeof k, "%s%s", prefix, name);             \
        rc = lmc_gguf_writer_set_u32(w, k, (uint32_t)(v));       \
    }
    U("arch", c->arch) U("n_layer", c->n_layer) U("n_head", c->n_head) U("n_head_kv", c->n_head_kv) U("n_embd", c->n_embd)
    U("n_ff", c->n_ff) U("n_vocab", c->n_vocab) U("n_ctx", c->n_ctx) U("bias", c->bias) U("tied", c->tied)
#undef U
    return rc;
}

static int write_ckpt(lmc_train_model *m, const char *path, const lmc_rng *rng, const float *hist, int64_t n_hist,
                      const float *val_hist, int64_t n_val_hist) {
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    if (!w) return LMC_ERR_NOMEM;
    size_t n;
    int rc = lmc_gguf_writer_set_str(w, "general.architecture", "lmc-checkpoint");
    if (!rc) rc = lmc_gguf_writer_set_u32(w, "ckpt.version", 1);
    if (!rc) rc = set_config(w, lmc_train_model_config(m), "ckpt.config.");
    if (!rc) rc = lmc_gguf_writer_set_u64(w, "ckpt.step", (uint64_t)lmc_train_model_step(m));
    if (!rc) rc = lmc_gguf_writer_set_array(w, "ckpt.rng", LMC_GGUF_UINT64, rng->s, 4);
    if (!rc) rc = lmc_gguf_writer_set_array(w, "ckpt.loss", LMC_GGUF_FLOAT32, hist, (uint64_t)n_hist);
    if (!rc) rc = lmc_gguf_writer_set_array(w, "ckpt.val_loss", LMC_GGUF_FLOAT32, val_hist, (uint64_t)n_val_hist * 2);
    static const char *names[3] = {"ckpt.params", "ckpt.adam_m", "ckpt.adam_v"};
    static const lmc_train_state which[3] = {LMC_TRAIN_PARAMS, LMC_TRAIN_ADAM_M, LMC_TRAIN_ADAM_V};
    for (int i = 0; i < 3 && !rc; i++) {
        const float *d = lmc_train_model_state(m, which[i], &n);
        int64_t ne[1] = {(int64_t)n};
        rc = lmc_gguf_writer_add_tensor(w, names[i], LMC_TYPE_F32, 1, ne, d, n * sizeof(float), false);
    }
    if (!rc) rc = lmc_gguf_writer_write(w, path); /* tmp file, fsync, rename: the old one survives a failure */
    lmc_gguf_writer_free(w);
    return rc;
}

/* ---- the trained model as GGUF ------------------------------------------------------- */

int lmc_train_model_save_gguf(lmc_train_model *m, const char *tokenizer_gguf, const char *path) {
    const lmc_train_config *c = lmc_train_model_config(m);
    const bool gpt2 = c->arch == LMC_ARCH_GPT2;
    const char *a = gpt2 ? "gpt2" : "llama";
    lmc_gguf *tg = tokenizer_gguf ? lmc_gguf_open(tokenizer_gguf) : NULL;
    if (tokenizer_gguf && !tg) return LMC_ERR_IO;
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    char k[128];
    int rc = w ? LMC_OK : LMC_ERR_NOMEM;
    if (!rc) rc = lmc_gguf_writer_set_str(w, "general.architecture", a);
    if (!rc) rc = lmc_gguf_writer_set_str(w, "general.name", "lmc-trained");
    if (!rc) rc = lmc_gguf_writer_set_u32(w, "general.file_type", 0); /* all F32 */
#define KU(suffix, v)                                            \
    if (!rc) {                                                   \
        snprintf(k, sizeof k, "%s.%s", a, suffix);               \
        rc = lmc_gguf_writer_set_u32(w, k, (uint32_t)(v));       \
    }
#define KF(suffix, v)                                            \
    if (!rc) {                                                   \
        snprintf(k, sizeof k, "%s.%s", a, suffix);               \
        rc = lmc_gguf_writer_set_f32(w, k, (float)(v));          \
    }
    KU("context_length", c->n_ctx) KU("embedding_length", c->n_embd) KU("block_count", c->n_layer)
    KU("feed_forward_length", c->n_ff) KU("attention.head_count", c->n_head) KU("attention.head_count_kv", c->n_head_kv)
    if (gpt2) {
        KF("attention.layer_norm_epsilon", c->norm_eps)
    } else {
        KF("attention.layer_norm_rms_epsilon", c->norm_eps) KU("rope.dimension_count", c->n_embd / c->n_head)
        KF("rope.freq_base", c->rope_base) KU("vocab_size", c->n_vocab)
    }
#undef KU
#undef KF
    for (int64_t i = 0; tg && !rc && i < lmc_gguf_n_kv(tg); i++)
        if (!strncmp(lmc_gguf_kv_key(tg, i), "tokenizer.", 10))
            rc = lmc_gguf_writer_set_value(w, lmc_gguf_kv_key(tg, i), lmc_gguf_kv_value(tg, i));
    const int64_t C = c->n_embd, KD = (int64_t)c->n_head_kv * (C / c->n_head), F = c->n_ff;
    float *fused = NULL, *zeros = NULL;
    if (!rc && gpt2) {
        fused = malloc(sizeof(float) * (size_t)((C + 2 * KD) * (C + 1)) * (size_t)c->n_layer);
        zeros = calloc((size_t)(F > C ? F : C) + 1, sizeof(float));
        if (!fused || !zeros) rc = LMC_ERR_NOMEM;
    }
    for (int i = 0; !rc && i < lmc_train_model_n_tensors(m); i++) {
        lmc_train_tensor t;
        lmc_train_model_tensor(m, i, &t);
        int il;
        char what[64];
        if (gpt2 && sscanf(t.name, "blk.%d.attn_%63s", &il, what) == 2 && (what[0] == 'q' || what[0] == 'k' || what[0] == 'v') &&
            what[1] == '.') {
            /* llama.cpp's gpt2 holds q, k, v as one attn_qkv (rows q | k | v) */
            if (what[0] != 'v') continue;
            const bool bias = !strcmp(what, "v.bias");
            float *dst = fused + (size_t)il * (size_t)((C + 2 * KD) * (C + 1)) + (bias ? (C + 2 * KD) * C : 0);
            const int64_t row = bias ? 1 : C;
            for (int part = 0; part < 3; part++) {
                char nm[64];
                snprintf(nm, sizeof nm, "blk.%d.attn_%c.%s", il, "qkv"[part], bias ? "bias" : "weight");
                lmc_train_tensor s;
                lmc_train_model_tensor(m, lmc_train_model_find(m, nm), &s);
                const int64_t r0 = part == 0 ? 0 : part == 1 ? C : C + KD, nr = part == 0 ? C : KD;
                memcpy(dst + r0 * row, s.data, sizeof(float) * (size_t)(nr * row));
            }
            snprintf(k, sizeof k, "blk.%d.attn_qkv.%s", il, bias ? "bias" : "weight");
            int64_t ne[2] = {bias ? C + 2 * KD : C, C + 2 * KD};
            rc = lmc_gguf_writer_add_tensor(w, k, LMC_TYPE_F32, bias ? 1 : 2, ne, dst,
                                            sizeof(float) * (size_t)(ne[0] * (bias ? 1 : ne[1])), true);
            continue;
        }
        int64_t ne[2] = {t.ne[0], t.ne[1]};
        rc = lmc_gguf_writer_add_tensor(w, t.name, LMC_TYPE_F32, t.ne[1] > 1 ? 2 : 1, ne, t.data,
                                        sizeof(float) * (size_t)(t.ne[0] * t.ne[1]), true);
    }
    if (!rc && gpt2 && !c->bias) {
        /* llama.cpp's and lmc's gpt2 expect biases: a bias-free model writes zeros */
        for (int l = 0; !rc && l < c->n_layer; l++) {
            float *dst = fused + (size_t)l * (size_t)((C + 2 * KD) * (C + 1)) + (C + 2 * KD) * C;
            memset(dst, 0, sizeof(float) * (size_t)(C + 2 * KD));
            int64_t ne3[1] = {C + 2 * KD}, neC[1] = {C}, neF[1] = {F};
            snprintf(k, sizeof k, "blk.%d.attn_qkv.bias", l);
            rc = lmc_gguf_writer_add_tensor(w, k, LMC_TYPE_F32, 1, ne3, dst, sizeof(float) * (size_t)ne3[0], true);
            snprintf(k, sizeof k, "blk.%d.attn_output.bias", l);
            if (!rc) rc = lmc_gguf_writer_add_tensor(w, k, LMC_TYPE_F32, 1, neC, zeros, sizeof(float) * (size_t)C, true);
            snprintf(k, sizeof k, "blk.%d.ffn_up.bias", l);
            if (!rc) rc = lmc_gguf_writer_add_tensor(w, k, LMC_TYPE_F32, 1, neF, zeros, sizeof(float) * (size_t)F, true);
            snprintf(k, sizeof k, "blk.%d.ffn_down.bias", l);
            if (!rc) rc = lmc_gguf_writer_add_tensor(w, k, LMC_TYPE_F32, 1, neC, zeros, sizeof(float) * (size_t)C, true);
        }
    }
    if (!rc) rc = lmc_gguf_writer_write(w, path);
    if (rc == LMC_ERR_NOMEM) lmc_set_error(LMC_ERR_NOMEM, "train: out of memory writing %s", path);
    free(fused), free(zeros);
    lmc_gguf_writer_free(w);
    lmc_gguf_close(tg);
    return rc;
}

/* ---- loss curve ------------------------------------------------------------------------- */

static int write_svg(const char *path, const float *hist, int64_t n, const float *val, int64_t n_val) {
    FILE *f = fopen(path, "w");
    if (!f) return lmc_set_error(LMC_ERR_IO, "%s: cannot create", path);
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) lo = fminf(lo, hist[i]), hi = fmaxf(hi, hist[i]);
    for (int64_t i = 0; i < n_val; i++) lo = fminf(lo, val[2 * i + 1]), hi = fmaxf(hi, val[2 * i + 1]);
    if (!(hi > lo)) hi = lo + 1;
    const double W = 640, H = 400, x0 = 60, y0 = 20, pw = 560, ph = 330;
#define X(i) (x0 + pw * (double)(i) / (double)(n > 1 ? n - 1 : 1))
#define Y(v) (y0 + ph * (1.0 - ((double)(v) - lo) / (double)(hi - lo)))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", x0, y0 + ph, x0 + pw, y0 + ph);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", x0, y0, x0, y0 + ph);
    for (int t = 0; t <= 4; t++) {
        const double v = lo + (hi - lo) * t / 4.0;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", x0 - 6, Y(v) + 4, v);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">step (1 .. %lld)</text>\n", x0 + pw / 2, H - 20,
            (long long)n);
    fprintf(f, "<polyline fill=\"none\" stroke=\"#2563eb\" stroke-width=\"1\" points=\"");
    const int64_t stride = n > 2000 ? n / 2000 : 1;
    for (int64_t i = 0; i < n; i += stride) fprintf(f, "%.1f,%.1f ", X(i), Y(hist[i]));
    fprintf(f, "\"/>\n");
    if (n_val) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"#dc2626\" stroke-width=\"2\" points=\"");
        for (int64_t i = 0; i < n_val; i++) fprintf(f, "%.1f,%.1f ", X(val[2 * i] - 1), Y(val[2 * i + 1]));
        fprintf(f, "\"/>\n");
    }
    fprintf(f, "<text x=\"%.0f\" y=\"14\" fill=\"#2563eb\">training loss</text>\n", x0 + 10);
    fprintf(f, "<text x=\"%.0f\" y=\"14\" fill=\"#dc2626\">validation loss</text>\n", x0 + 130);
    fprintf(f, "</svg>\n");
#undef X
#undef Y
    return fclose(f) == 0 ? LMC_OK : lmc_set_error(LMC_ERR_IO, "%s: write failed", path);
}

/* ---- the run ------------------------------------------------------------------------------- */

int lmc_train_run(const lmc_train_run_params *p, lmc_train_run_result *res) {
    char path[4200], ckpt[4200], svg[4200], tokpath[4200];
    int32_t *train = NULL, *val = NULL, *x = NULL, *y = NULL;
    int64_t n_train = 0, n_val = 0;
    float *hist = NULL, *vhist = NULL;
    int64_t n_hist = 0, n_vhist = 0;
    lmc_train_model *m = NULL;
    /* data parallel: under mpirun every rank runs this; alone it is rank 0 of 1 */
    lmc_dist *dist = lmc_dist_init(NULL, NULL);
    if (!dist) return LMC_ERR_IO;
    const int rank = lmc_dist_rank(dist), R = lmc_dist_size(dist);
    int rc;
    snprintf(path, sizeof path, "%s/train.bin", p->data_dir);
    if ((rc = lmc_shard_read(path, &train, &n_train))) {
        lmc_dist_free(dist);
        return rc;
    }
    snprintf(path, sizeof path, "%s/val.bin", p->data_dir);
    if ((rc = lmc_shard_read(path, &val, &n_val))) goto done;
    snprintf(tokpath, sizeof tokpath, "%s/tokenizer.gguf", p->data_dir);
    snprintf(ckpt, sizeof ckpt, "%s", p->ckpt_path ? p->ckpt_path : "");
    if (!p->ckpt_path) snprintf(ckpt, sizeof ckpt, "%s.ckpt", p->out_path);
    snprintf(svg, sizeof svg, "%s.loss.svg", p->out_path);
    const int32_t B = p->batch, T = p->init_path ? 0 : p->config.n_ctx;
    if (!p->init_path && n_train <= (int64_t)p->config.n_ctx + 1) {
        rc = lmc_set_error(LMC_ERR_INVALID_ARG, "train: %lld training tokens are too few for a context of %d",
                           (long long)n_train, p->config.n_ctx);
        goto done;
    }
    {
        lmc_gguf *tg = lmc_gguf_open(tokpath);
        lmc_vocab *tv = tg ? lmc_vocab_load(tg) : NULL;
        const int32_t nv = tv ? lmc_vocab_n_tokens(tv) : 0;
        lmc_vocab_free(tv);
        lmc_gguf_close(tg);
        if (!nv) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: the prepared data has no usable tokenizer (%s)", tokpath, lmc_last_error());
            goto done;
        }
        lmc_train_config c = p->config;
        if (p->init_path) {
            m = lmc_train_model_from_gguf(p->init_path, B, p->config.n_ctx, p->n_threads);
            if (m && lmc_train_model_set_dropout(m, p->config.dropout, p->seed)) {
                lmc_train_model_free(m);
                m = NULL;
            }
        } else {
            if (c.n_vocab <= 0) c.n_vocab = nv;
            m = lmc_train_model_init(&c, B, p->n_threads, p->seed);
        }
        if (!m) {
            rc = LMC_ERR_INVALID_ARG;
            goto done;
        }
        if (lmc_train_model_config(m)->n_vocab < nv) {
            rc = lmc_set_error(LMC_ERR_INVALID_ARG, "train: the model has %d tokens but the data's tokenizer %d",
                               lmc_train_model_config(m)->n_vocab, nv);
            goto done;
        }
    }
    const int32_t Tm = T ? T : lmc_train_model_config(m)->n_ctx;
    if (n_train <= Tm + 1) {
        rc = lmc_set_error(LMC_ERR_INVALID_ARG, "train: %lld training tokens are too few for a context of %d",
                           (long long)n_train, Tm);
        goto done;
    }
    x = malloc(sizeof(int32_t) * (size_t)B * (size_t)Tm);
    y = malloc(sizeof(int32_t) * (size_t)B * (size_t)Tm);
    hist = calloc((size_t)p->steps + 1, sizeof(float));
    vhist = calloc(2 * ((size_t)p->steps / (size_t)(p->eval_interval > 0 ? p->eval_interval : 1) + 4), sizeof(float));
    if (!x || !y || !hist || !vhist) {
        rc = lmc_set_error(LMC_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    lmc_rng rng;
    lmc_rng_seed(&rng, p->seed);
    if (p->resume_path) {
        lmc_gguf *g = lmc_gguf_open(p->resume_path);
        if (!g) {
            rc = LMC_ERR_IO;
            goto done;
        }
        const lmc_train_config *c = lmc_train_model_config(m);
        const int64_t want[10] = {c->arch, c->n_layer, c->n_head, c->n_head_kv, c->n_embd, c->n_ff, c->n_vocab, c->n_ctx,
                                  c->bias, c->tied};
        static const char *keys[10] = {"arch", "n_layer", "n_head", "n_head_kv", "n_embd", "n_ff", "n_vocab", "n_ctx", "bias", "tied"};
        for (int i = 0; i < 10 && !rc; i++) {
            char k[64];
            int64_t v = -1;
            snprintf(k, sizeof k, "ckpt.config.%s", keys[i]);
            if (lmc_gguf_get_int(g, k, &v) != LMC_OK || v != want[i])
                rc = lmc_set_error(LMC_ERR_INVALID_ARG,
                                   "%s: the checkpoint is for another model (%s = %lld, this run has %lld); nothing was "
                                   "overwritten", p->resume_path, keys[i], (long long)v, (long long)want[i]);
        }
        static const char *names[3] = {"ckpt.params", "ckpt.adam_m", "ckpt.adam_v"};
        static const lmc_train_state which[3] = {LMC_TRAIN_PARAMS, LMC_TRAIN_ADAM_M, LMC_TRAIN_ADAM_V};
        for (int i = 0; i < 3 && !rc; i++) {
            size_t n;
            float *d = lmc_train_model_state(m, which[i], &n);
            const lmc_tensor_info *t = lmc_gguf_find_tensor(g, names[i]);
            if (!t || t->type != LMC_TYPE_F32 || t->n_elements != (int64_t)n)
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s: %s missing or of the wrong size", p->resume_path, names[i]);
            else
                memcpy(d, t->data, n * sizeof(float));
        }
        int64_t step = 0;
        const lmc_gguf_value *rv = lmc_gguf_get(g, "ckpt.rng"), *lv = lmc_gguf_get(g, "ckpt.loss"),
                             *vv = lmc_gguf_get(g, "ckpt.val_loss");
        if (!rc && (lmc_gguf_get_int(g, "ckpt.step", &step) || !rv || lmc_gguf_array_len(rv) != 4 || !lv || !vv ||
                    step < 0 || step > p->steps || (int64_t)lmc_gguf_array_len(lv) != step))
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: damaged checkpoint (step, rng or loss history)", p->resume_path);
        if (!rc) {
            lmc_train_model_set_step(m, step);
            for (int i = 0; i < 4; i++) rng.s[i] = (uint64_t)lmc_gguf_array_int(rv, (uint64_t)i);
            n_hist = step;
            for (int64_t i = 0; i < n_hist; i++) hist[i] = (float)lmc_gguf_array_float(lv, (uint64_t)i);
            n_vhist = (int64_t)lmc_gguf_array_len(vv) / 2;
            for (int64_t i = 0; i < 2 * n_vhist; i++) vhist[i] = (float)lmc_gguf_array_float(vv, (uint64_t)i);
        }
        lmc_gguf_close(g);
        if (rc) goto done;
    }

    const double t_start = now_s();
    double t_last = t_start;
    for (int64_t step = lmc_train_model_step(m); step < p->steps; step = lmc_train_model_step(m)) {
        lmc_train_zero_grad(m);
        double loss = 0;
        for (int32_t a = 0; a < p->grad_accum; a++) {
            /* every rank draws the global batch's R micro-batches from the same stream
             * and runs its own: R ranks x A micro-batches = one rank x (A R) */
            for (int r = 0; r < R; r++) {
                draw_batch(&rng, train, n_train, B, Tm, x, y);
                if (r != rank) continue;
                float l = 0;
                if ((rc = lmc_train_step_fb(m, x, y, B, Tm, 1.0f / (float)p->grad_accum, true, &l, NULL))) goto done;
                loss += l / p->grad_accum;
            }
        }
        if (R > 1) {
            size_t ng;
            float *g = lmc_train_model_state(m, LMC_TRAIN_GRADS, &ng);
            if ((rc = lmc_dist_allreduce_mean(dist, g, ng, 0))) goto done;
            if ((rc = lmc_dist_allreduce_sum_f64(dist, &loss, 1))) goto done;
            loss /= R;
        }
        if (!isfinite(loss)) {
            rc = lmc_set_error(LMC_ERR_INVALID_ARG,
                               "train: the loss became %g at step %lld; stopped. The last good checkpoint is %s (try a "
                               "lower --lr or --clip)", loss, (long long)step + 1, ckpt);
            goto done;
        }
        float lr = 0, norm = 0;
        if ((rc = lmc_train_adamw_step(m, &p->opt, &lr, &norm))) {
            lmc_set_error(LMC_ERR_INVALID_ARG, "train: %s at step %lld; stopped, the last good checkpoint is %s",
                          lmc_last_error(), (long long)step + 1, ckpt);
            goto done;
        }
        hist[n_hist++] = (float)loss;
        const double t_step = now_s(); /* the rate shown is the step's own: validation and checkpoints excluded */
        const int64_t done_steps = step + 1;
        double vl = NAN;
        if (rank == 0 && ((p->eval_interval > 0 && done_steps % p->eval_interval == 0) || done_steps == p->steps)) {
            if (n_val > Tm) {
                if ((rc = eval_val(m, val, n_val, B, Tm, x, y, &vl))) goto done;
                vhist[2 * n_vhist] = (float)done_steps, vhist[2 * n_vhist + 1] = (float)vl;
                n_vhist++;
            }
        }
        const double t = now_s();
        if (p->progress && rank == 0) {
            lmc_train_progress pr = {.step = done_steps, .steps = p->steps, .loss = (float)loss, .val_loss = (float)vl,
                                     .lr = lr, .grad_norm = norm,
                                     .tokens_per_s = (double)B * Tm * p->grad_accum * R / (t_step - t_last),
                                     .elapsed_s = t - t_start};
            p->progress(p->user, &pr);
        }
        /* one writer: rank 0 checkpoints (every rank can resume from it) */
        if (rank == 0 && ((p->ckpt_interval > 0 && done_steps % p->ckpt_interval == 0) || done_steps == p->steps))
            if ((rc = write_ckpt(m, ckpt, &rng, hist, n_hist, vhist, n_vhist))) goto done;
        t_last = now_s();
    }
    if (rank == 0 && (rc = lmc_train_model_save_gguf(m, tokpath, p->out_path))) goto done;
    if (rank == 0 && (rc = write_svg(svg, hist, n_hist, vhist, n_vhist))) goto done;
    if (res) {
        res->rank = rank;
        res->n_ranks = R;
        res->comm_s = lmc_dist_comm_seconds(dist);
        res->train_s = now_s() - t_start;
        res->final_loss = n_hist ? hist[n_hist - 1] : NAN;
        res->final_val_loss = n_vhist ? vhist[2 * n_vhist - 1] : NAN;
        res->steps = n_hist;
        res->losses = hist;
        hist = NULL;
    }
done:
    free(train), free(val), free(x), free(y), free(hist), free(vhist);
    lmc_train_model_free(m);
    lmc_dist_free(dist);
    return rc;
}
