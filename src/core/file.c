/* file.c — reading a whole file, for the areas that load text corpora at once. */
#include "lmc-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lmc_read_file(const char *path, char **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return lmc_set_error(LMC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t k = fread(b + n, 1, cap - 1 - n, f);
        n += k;
        if (k == 0) break;
        if (n == cap - 1) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    const int err = ferror(f);
    fclose(f);
    if (!b) return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", path);
    if (err) {
        free(b);
        return lmc_set_error(LMC_ERR_IO, "%s: read error", path);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return LMC_OK;
}
