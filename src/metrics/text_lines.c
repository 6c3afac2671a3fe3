/* text_lines.c — a UTF-8 text file as lines (what sacreBLEU and n-gram tools read). */
#include "metrics-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lmc_text_lines_read(const char *path, lmc_text_lines *out) {
    memset(out, 0, sizeof *out);
    if (!path) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_text_lines_read: no path");
    FILE *f = fopen(path, "rb");
    if (!f) return lmc_set_error(LMC_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (cap - len < 4096) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return lmc_set_error(LMC_ERR_IO, "%s: read error", path);
    }
    buf[len] = 0;

    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += buf[i] == '\n';
    if (len > 0 && buf[len - 1] != '\n') n++;
    char **lines = malloc((n ? n : 1) * sizeof *lines);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    if (!lines || !lens) {
        free(lines);
        free(lens);
        free(buf);
        return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t k = 0, st = 0;
    while (st < len) {
        char *nl = memchr(buf + st, '\n', len - st);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t e = end;
        if (e > st && buf[e - 1] == '\r') e--;
        buf[e] = 0;
        size_t ok = lmc_txt_utf8_valid_prefix(buf + st, e - st);
        if (ok != e - st) {
            free(lines);
            free(lens);
            free(buf);
            return lmc_set_error(LMC_ERR_FORMAT, "%s:%zu: invalid UTF-8 at byte %zu of the line", path, k + 1,
                                 ok + 1);
        }
        lines[k] = buf + st;
        lens[k] = e - st;
        k++;
        st = end + 1;
    }
    out->lines = lines;
    out->lens = lens;
    out->n = k;
    out->buf_ = buf;
    return LMC_OK;
}

void lmc_text_lines_free(lmc_text_lines *t) {
    if (!t) return;
    free(t->lines);
    free(t->lens);
    free(t->buf_);
    memset(t, 0, sizeof *t);
}
