/* types.c — names and storage sizes of the GGUF/GGML tensor types.
 * The kernels (to_float, from_float, dot) live in their own table in the kernels area;
 * this one is what the file format needs to validate tensor extents. */
#include "lmc-impl.h"

#include <strings.h>

typedef struct {
    const char *name;
    int64_t block_size;  /* elements per block */
    size_t block_bytes;  /* bytes per block    */
} type_size;

static const type_size g_types[LMC_TYPE_COUNT] = {
    [LMC_TYPE_F32] = {"F32", 1, 4},
    [LMC_TYPE_F16] = {"F16", 1, 2},
    [LMC_TYPE_Q4_0] = {"Q4_0", 32, 18},
    [LMC_TYPE_Q4_1] = {"Q4_1", 32, 20},
    [LMC_TYPE_Q5_0] = {"Q5_0", 32, 22},
    [LMC_TYPE_Q5_1] = {"Q5_1", 32, 24},
    [LMC_TYPE_Q8_0] = {"Q8_0", 32, 34},
    [LMC_TYPE_Q8_1] = {"Q8_1", 32, 36},
    [LMC_TYPE_Q2_K] = {"Q2_K", 256, 84},
    [LMC_TYPE_Q3_K] = {"Q3_K", 256, 110},
    [LMC_TYPE_Q4_K] = {"Q4_K", 256, 144},
    [LMC_TYPE_Q5_K] = {"Q5_K", 256, 176},
    [LMC_TYPE_Q6_K] = {"Q6_K", 256, 210},
    [LMC_TYPE_Q8_K] = {"Q8_K", 256, 292},
    [LMC_TYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66},
    [LMC_TYPE_IQ2_XS] = {"IQ2_XS", 256, 74},
    [LMC_TYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98},
    [LMC_TYPE_IQ1_S] = {"IQ1_S", 256, 50},
    [LMC_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18},
    [LMC_TYPE_IQ3_S] = {"IQ3_S", 256, 110},
    [LMC_TYPE_IQ2_S] = {"IQ2_S", 256, 82},
    [LMC_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136},
    [LMC_TYPE_I8] = {"I8", 1, 1},
    [LMC_TYPE_I16] = {"I16", 1, 2},
    [LMC_TYPE_I32] = {"I32", 1, 4},
    [LMC_TYPE_I64] = {"I64", 1, 8},
    [LMC_TYPE_F64] = {"F64", 1, 8},
    [LMC_TYPE_IQ1_M] = {"IQ1_M", 256, 56},
    [LMC_TYPE_BF16] = {"BF16", 1, 2},
    [LMC_TYPE_TQ1_0] = {"TQ1_0", 256, 54},
    [LMC_TYPE_TQ2_0] = {"TQ2_0", 256, 66},
    [LMC_TYPE_MXFP4] = {"MXFP4", 32, 17},
};

static const type_size *lookup(lmc_type t) {
    if ((unsigned)t >= LMC_TYPE_COUNT || g_types[t].name == NULL) return NULL;
    return &g_types[t];
}

const char *lmc_type_name(lmc_type t) {
    const type_size *s = lookup(t);
    return s ? s->name : NULL;
}

int lmc_type_from_name(const char *name) {
    if (!name) return -1;
    for (int t = 0; t < LMC_TYPE_COUNT; t++)
        if (g_types[t].name && strcasecmp(g_types[t].name, name) == 0) return t;
    return -1;
}

int64_t lmc_type_block_size(lmc_type t) {
    const type_size *s = lookup(t);
    return s ? s->block_size : 0;
}

size_t lmc_type_block_bytes(lmc_type t) {
    const type_size *s = lookup(t);
    return s ? s->block_bytes : 0;
}

size_t lmc_type_row_bytes(lmc_type t, int64_t n) {
    const type_size *s = lookup(t);
    if (!s || n < 0 || n % s->block_size != 0) return 0;
    size_t bytes;
    if (__builtin_mul_overflow((size_t)(n / s->block_size), s->block_bytes, &bytes)) return 0; /* too large */
    return bytes;
}
