/* Sliding-window attention: which layers look back only a fixed number of tokens.
 *
 * GGUF, as llama.cpp writes and reads it:
 *   <arch>.attention.sliding_window          W, the window in tokens (absent/0: none)
 *   <arch>.attention.sliding_window_pattern  either a period P (layer il is windowed
 *                                            unless il % P == P-1, so every P-th layer is
 *                                            full, as Gemma 2/3 and Cohere 2 do), or an
 *                                            array with one bool/int per layer (1 =
 *                                            windowed). Absent: every layer windowed
 *                                            (Mistral-style). */
#include "model-impl.h"

#include <stdio.h>
#include <stdlib.h>

int32_t lmc_model_layer_window(const lmc_model *m, int il)
{
    if (!m || !m->swa || il < 0 || il >= m->hp.n_layer || !m->swa[il]) return 0;
    return m->hp.n_swa;
}

int lmc_model_read_swa(lmc_model *m, const char *arch, const char *path)
{
    char key[256];
    lmc_model_hparams *hp = &m->hp;
    hp->n_swa = 0;
    hp->n_swa_layers = 0;
    snprintf(key, sizeof key, "%s.attention.sliding_window", arch);
    int64_t w = 0;
    int rc = lmc_gguf_get_int(m->gguf, key, &w);
    if (rc == LMC_ERR_NOT_FOUND) return LMC_OK;
    if (rc != LMC_OK || w < 0 || w > (1 << 30))
        return lmc_set_error(LMC_ERR_FORMAT, "%s: metadata '%s' must be an integer in [0, 2^30]", path, key);
    if (w == 0) return LMC_OK;

    m->swa = malloc((size_t)hp->n_layer);
    if (!m->swa) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    for (int il = 0; il < hp->n_layer; il++) m->swa[il] = 1;

    snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", arch);
    const lmc_gguf_value *v = lmc_gguf_get(m->gguf, key);
    if (v && lmc_gguf_value_type(v) == LMC_GGUF_ARRAY) {
        const lmc_gguf_type t = lmc_gguf_array_type(v);
        if (t == LMC_GGUF_STRING || t == LMC_GGUF_ARRAY || t == LMC_GGUF_FLOAT32 || t == LMC_GGUF_FLOAT64)
            return lmc_set_error(LMC_ERR_FORMAT, "%s: '%s' must be a period or one bool/integer per layer", path, key);
        if (lmc_gguf_array_len(v) != (uint64_t)hp->n_layer)
            return lmc_set_error(LMC_ERR_FORMAT, "%s: '%s' has %llu entries for %d layers", path, key,
                                 (unsigned long long)lmc_gguf_array_len(v), hp->n_layer);
        for (int il = 0; il < hp->n_layer; il++) m->swa[il] = lmc_gguf_array_int(v, (uint64_t)il) != 0;
    } else if (v) {
        int64_t period = 0;
        if (lmc_gguf_value_int(v, &period) != LMC_OK || period < 0 || period > hp->n_layer + 1)
            return lmc_set_error(LMC_ERR_FORMAT, "%s: '%s' must be a period in [0, n_layer] or a per-layer array", path, key);
        /* llama.cpp's set_swa_pattern: period 0 = all windowed; else the last layer
         * of every period attends to everything */
        if (period > 0)
            for (int il = 0; il < hp->n_layer; il++) m->swa[il] = (il % period) < (period - 1);
    }
    hp->n_swa = (int32_t)w;
    for (int il = 0; il < hp->n_layer; il++) hp->n_swa_layers += m->swa[il];
    return LMC_OK;
}
