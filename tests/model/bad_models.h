/* bad_models.h — writes damaged copies of shared/models/stories260K.gguf into the
 * working directory for the bad-input tests (test_model_bad, test_model_cli). Header
 * bytes are changed in place with the same lengths, so each file stays a valid GGUF:
 *   PREFIX_arch.gguf     general.architecture "llama" -> "mamba"
 *   PREFIX_missing.gguf  tensor blk.0.ffn_up.weight renamed
 *   PREFIX_shape.gguf    blk.2.ffn_norm.weight [64] -> [32]
 *   PREFIX_shape2.gguf   blk.1.attn_k.weight [64, 32] -> [32, 64] */
#ifndef LMC_TEST_BAD_MODELS_H
#define LMC_TEST_BAD_MODELS_H

#include "test_util.h"

#include <stdint.h>

static inline unsigned char *bad_find(unsigned char *buf, size_t len, const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (!memcmp(buf + i, s, n)) return buf + i;
    return NULL;
}

static inline void bad_write(const char *path, const unsigned char *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(buf, 1, len, f) == len);
    fclose(f);
}

/* Files are named PREFIX_arch.gguf etc., so tests running in parallel do not share them. */
static inline void make_bad_models(const char *prefix) {
    char path[256];
    const char *src = t_shared("models/stories260K.gguf");
    FILE *f = fopen(src, "rb");
    CHECK_MSG(f != NULL, "cannot open %s", src);
    if (!f) return;
    size_t g_len;
    unsigned char *g_file;
    fseek(f, 0, SEEK_END);
    g_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    g_file = malloc(g_len);
    CHECK(fread(g_file, 1, g_len, f) == g_len);
    fclose(f);
    const size_t hdr = 1 << 16; /* all names live in the header, well before the data */

    /* unknown architecture: general.architecture = "llama" -> "mamba" */
    unsigned char *copy = malloc(g_len);
    memcpy(copy, g_file, g_len);
    unsigned char *k = bad_find(copy, hdr, "general.architecture");
    CHECK(k != NULL);
    if (k) {
        unsigned char *v = k + strlen("general.architecture") + 4 + 8; /* type u32, len u64 */
        CHECK(memcmp(v, "llama", 5) == 0);
        memcpy(v, "mamba", 5);
        snprintf(path, sizeof path, "%s_arch.gguf", prefix);
        bad_write(path, copy, g_len);
    }

    /* missing tensor: blk.0.ffn_up.weight renamed blk.0.ffn_up.wexght */
    memcpy(copy, g_file, g_len);
    k = bad_find(copy, hdr, "blk.0.ffn_up.weight");
    CHECK(k != NULL);
    if (k) {
        memcpy(k, "blk.0.ffn_up.wexght", 19);
        snprintf(path, sizeof path, "%s_missing.gguf", prefix);
        bad_write(path, copy, g_len);
    }

    /* wrong shape: blk.2.ffn_norm.weight [64] -> [32] (still inside the file) */
    memcpy(copy, g_file, g_len);
    k = bad_find(copy, hdr, "blk.2.ffn_norm.weight");
    CHECK(k != NULL);
    if (k) {
        unsigned char *p = k + strlen("blk.2.ffn_norm.weight");
        uint32_t nd;
        uint64_t ne0;
        memcpy(&nd, p, 4);
        memcpy(&ne0, p + 4, 8);
        CHECK_EQ_INT(nd, 1);
        CHECK_EQ_INT(ne0, 64);
        ne0 = 32;
        memcpy(p + 4, &ne0, 8);
        snprintf(path, sizeof path, "%s_shape.gguf", prefix);
        bad_write(path, copy, g_len);
    }

    /* 2-D shape swapped: blk.1.attn_q.weight [64, 64] stays, attn_k [64, 32] -> [32, 64] */
    memcpy(copy, g_file, g_len);
    k = bad_find(copy, hdr, "blk.1.attn_k.weight");
    CHECK(k != NULL);
    if (k) {
        unsigned char *p = k + strlen("blk.1.attn_k.weight");
        uint64_t ne[2] = {32, 64};
        memcpy(p + 4, ne, 16);
        snprintf(path, sizeof path, "%s_shape2.gguf", prefix);
        bad_write(path, copy, g_len);
    }
    free(copy);
    free(g_file);
}

#endif
