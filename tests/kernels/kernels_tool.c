/* kernels_tool.c — helper for test_kernels_gguf.py: runs lmc's row converters on files
 * so the script can compare them with the gguf Python package.
 *   kernels_tool dequant MODEL.gguf OUT.f32      every tensor, in file order, as f32
 *   kernels_tool quant TYPE IN.f32 ROWLEN OUT    quantize rows of ROWLEN floats */
#include "lmc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "kernels_tool: %s: %s\n", what, lmc_last_error());
    return 1;
}

static int dequant(const char *path, const char *out) {
    lmc_gguf *g = lmc_gguf_open(path);
    if (!g) return fail(path);
    FILE *f = fopen(out, "wb");
    if (!f) return fail(out);
    int rc = 0;
    for (int64_t i = 0; i < lmc_gguf_n_tensors(g) && rc == 0; i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
        float *buf = malloc((size_t)t->n_elements * sizeof(float));
        if (!buf) return fail("malloc");
        /* row by row, as a caller would use it */
        int64_t rows = t->n_elements / t->ne[0];
        size_t rb = lmc_type_row_bytes(t->type, t->ne[0]);
        for (int64_t r = 0; r < rows && rc == 0; r++)
            if (lmc_dequantize_row(t->type, (const char *)t->data + r * rb, buf + r * t->ne[0], t->ne[0]) != 0) {
                fprintf(stderr, "kernels_tool: %s: tensor %s: %s\n", path, t->name, lmc_last_error());
                rc = 1;
            }
        if (rc == 0 && fwrite(buf, sizeof(float), (size_t)t->n_elements, f) != (size_t)t->n_elements) rc = 1;
        free(buf);
    }
    if (fclose(f) != 0) rc = 1;
    lmc_gguf_close(g);
    return rc;
}

static int quant(const char *type, const char *in, long long rowlen, const char *out) {
    int t = lmc_type_from_name(type);
    if (t < 0 || rowlen <= 0) return fail("bad type or row length");
    FILE *f = fopen(in, "rb");
    if (!f) return fail(in);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    int64_t n = sz / 4, rows = n / rowlen;
    float *x = malloc((size_t)sz + 4);
    if (!x || fread(x, 4, (size_t)n, f) != (size_t)n) return fail("read");
    fclose(f);
    size_t rb = lmc_type_row_bytes((lmc_type)t, rowlen);
    char *y = malloc(rb * (size_t)rows + 1);
    for (int64_t r = 0; r < rows; r++)
        if (lmc_quantize_row((lmc_type)t, x + r * rowlen, y + r * rb, rowlen) != 0) return fail("quantize");
    FILE *o = fopen(out, "wb");
    if (!o || fwrite(y, 1, rb * (size_t)rows, o) != rb * (size_t)rows || fclose(o) != 0) return fail(out);
    free(x);
    free(y);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "dequant") == 0) return dequant(argv[2], argv[3]);
    if (argc == 6 && strcmp(argv[1], "quant") == 0) return quant(argv[2], argv[3], atoll(argv[4]), argv[5]);
    fprintf(stderr, "usage: kernels_tool dequant MODEL.gguf OUT.f32 | quant TYPE IN.f32 ROWLEN OUT\n");
    return 2;
}
