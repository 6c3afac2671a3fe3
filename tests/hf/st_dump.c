/* st_dump.c — test helper: prints what lmc's safetensors reader sees, one line per
 * tensor "name dtype d0,d1,.. n_bytes fnv1a64(data)" and "meta key value" lines; on a
 * rejected file prints "error: ..." and exits 1. */
#include "lmc.h"

#include <inttypes.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    lmc_safetensors *st = lmc_safetensors_open(argv[1]);
    if (!st) {
        printf("error: %s\n", lmc_last_error());
        return 1;
    }
    for (int64_t i = 0; i < lmc_safetensors_n_tensors(st); i++) {
        const lmc_st_tensor *t = lmc_safetensors_tensor(st, i);
        uint64_t h = 1469598103934665603ULL;
        for (uint64_t k = 0; k < t->n_bytes; k++) h = (h ^ ((const uint8_t *)t->data)[k]) * 1099511628211ULL;
        printf("%s %s ", t->name, t->dtype);
        for (int d = 0; d < t->n_dims; d++) printf("%s%" PRId64, d ? "," : "", t->shape[d]);
        printf(" %" PRIu64 " %016" PRIx64 "\n", t->n_bytes, h);
        if (lmc_safetensors_find(st, t->name) != t) return 3;
    }
    const char *m = lmc_safetensors_metadata(st, "format");
    if (m) printf("meta format %s\n", m);
    lmc_safetensors_close(st);
    return 0;
}
