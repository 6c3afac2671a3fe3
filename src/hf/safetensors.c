/* safetensors.c — reader for Hugging Face .safetensors files.
 *
 * Format: u64 little-endian N, then N bytes of a JSON object
 *   {"__metadata__": {str: str}, "NAME": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
 * then the data buffer; offsets are relative to the buffer start. The file is mapped
 * read-only and every header claim is checked before a tensor is handed out: known dtype,
 * shape product x element size == e - b (overflow-checked), e within the file, tensors
 * neither overlapping nor leaving holes (as the safetensors library requires), unique names. */
#include "lmc-impl.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#define ST_MAX_HEADER (100u << 20) /* the safetensors library's limit */

struct lmc_safetensors {
    void *map;
    size_t size;
    const uint8_t *data; /* buffer start */
    uint64_t data_size;
    lmc_st_tensor *t;
    int64_t n;
    char **meta_keys, **meta_vals;
    int64_t n_meta;
    char *path;
};

static const struct {
    const char *name;
    int size;
} DTYPES[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
              {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};

int lmc_safetensors_dtype_size(const char *dtype) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].name, dtype) == 0) return DTYPES[i].size;
    return -1;
}

void lmc_safetensors_close(lmc_safetensors *st) {
    if (!st) return;
    for (int64_t i = 0; i < st->n; i++) free((char *)st->t[i].name);
    free(st->t);
    for (int64_t i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_vals[i]);
    }
    free(st->meta_keys);
    free(st->meta_vals);
    if (st->map) munmap(st->map, st->size);
    free(st->path);
    free(st);
}

static int cmp_offset(const void *a, const void *b) {
    const lmc_st_tensor *x = *(const lmc_st_tensor *const *)a, *y = *(const lmc_st_tensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->n_bytes < y->n_bytes ? -1 : x->n_bytes > y->n_bytes;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const lmc_st_tensor *const *)a)->name, (*(const lmc_st_tensor *const *)b)->name);
}

/* Parses and validates the header; st->map/size are set. */
static int parse(lmc_safetensors *st) {
    const char *p = st->path;
    if (st->size < 8) return lmc_set_error(LMC_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors header", p, st->size);
    const uint8_t *b = st->map;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | b[i];
    if (n > ST_MAX_HEADER) return lmc_set_error(LMC_ERR_FORMAT, "%s: header length %llu exceeds %u bytes", p, (unsigned long long)n, ST_MAX_HEADER);
    if (n > st->size - 8)
        return lmc_set_error(LMC_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", p,
                             (unsigned long long)n, st->size);
    st->data = b + 8 + n;
    st->data_size = st->size - 8 - n;
    cJSON *h = cJSON_ParseWithLength((const char *)b + 8, (size_t)n);
    if (!h || !cJSON_IsObject(h)) {
        cJSON_Delete(h);
        return lmc_set_error(LMC_ERR_FORMAT, "%s: the header is not a JSON object", p);
    }
    int count = cJSON_GetArraySize(h);
    st->t = calloc((size_t)count + 1, sizeof *st->t);
    st->meta_keys = calloc((size_t)count + 1, sizeof(char *));
    st->meta_vals = calloc((size_t)count + 1, sizeof(char *));
    if (!st->t || !st->meta_keys || !st->meta_vals) {
        cJSON_Delete(h);
        return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", p);
    }
    int rc = LMC_OK;
    bool seen_meta = false;
    cJSON *e;
    cJSON_ArrayForEach(e, h) {
        const char *name = e->string;
        if (strcmp(name, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) {
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s: __metadata__ is not an object", p);
                break;
            }
            if (seen_meta) { /* a second one would refill the table while its strings are kept */
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s: the header has __metadata__ twice", p);
                break;
            }
            seen_meta = true;
            cJSON *m;
            int k = cJSON_GetArraySize(e);
            free(st->meta_keys);
            free(st->meta_vals);
            st->meta_keys = calloc((size_t)k + 1, sizeof(char *));
            st->meta_vals = calloc((size_t)k + 1, sizeof(char *));
            if (!st->meta_keys || !st->meta_vals) {
                rc = lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", p);
                break;
            }
            cJSON_ArrayForEach(m, e) {
                if (!cJSON_IsString(m)) {
                    rc = lmc_set_error(LMC_ERR_FORMAT, "%s: __metadata__ value '%s' is not a string", p, m->string);
                    break;
                }
                st->meta_keys[st->n_meta] = strdup(m->string);
                st->meta_vals[st->n_meta] = strdup(m->valuestring);
                if (!st->meta_keys[st->n_meta] || !st->meta_vals[st->n_meta]) {
                    st->n_meta++;
                    rc = lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", p);
                    break;
                }
                st->n_meta++;
            }
            if (rc) break;
            continue;
        }
        lmc_st_tensor *t = &st->t[st->n];
        cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype"), *sh = cJSON_GetObjectItemCaseSensitive(e, "shape"),
              *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) ||
            cJSON_GetArraySize(off) != 2) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: tensor '%s' needs dtype, shape and data_offsets [begin, end]", p, name);
            break;
        }
        int es = lmc_safetensors_dtype_size(dt->valuestring);
        if (es < 0) {
            rc = lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: tensor '%s' has unknown dtype '%s'", p, name, dt->valuestring);
            break;
        }
        t->name = strdup(name);
        if (!t->name) {
            rc = lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", p);
            break;
        }
        st->n++;
        snprintf(t->dtype, sizeof t->dtype, "%s", dt->valuestring);
        t->elem_size = es;
        int nd = cJSON_GetArraySize(sh);
        if (nd > LMC_ST_MAX_DIMS) {
            rc = lmc_set_error(LMC_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d)", p, name, nd, LMC_ST_MAX_DIMS);
            break;
        }
        t->n_dims = nd;
        uint64_t elems = 1;
        cJSON *d;
        int k = 0;
        cJSON_ArrayForEach(d, sh) {
            double v = cJSON_IsNumber(d) ? d->valuedouble : -1;
            if (v < 0 || v > 9.0e15 || v != (double)(int64_t)v) {
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s: tensor '%s' has a bad shape entry", p, name);
                break;
            }
            t->shape[k++] = (int64_t)v;
            if (!lmc_mul_ok(elems, (uint64_t)v, &elems)) {
                rc = lmc_set_error(LMC_ERR_FORMAT, "%s: tensor '%s': shape overflows", p, name);
                break;
            }
        }
        if (rc) break;
        double ob = cJSON_GetArrayItem(off, 0)->valuedouble, oe = cJSON_GetArrayItem(off, 1)->valuedouble;
        /* range checks before the integer casts (a cast of an out-of-range double is UB) */
        if (!cJSON_IsNumber(cJSON_GetArrayItem(off, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(off, 1)) || !(ob >= 0) ||
            !(oe >= ob) || !(oe <= (double)st->data_size) || ob != (double)(uint64_t)ob || oe != (double)(uint64_t)oe) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: tensor '%s' has data_offsets [%.0f, %.0f] outside the %llu-byte data buffer",
                               p, name, ob, oe, (unsigned long long)st->data_size);
            break;
        }
        uint64_t want;
        if (!lmc_mul_ok(elems, (uint64_t)es, &want) || want != (uint64_t)oe - (uint64_t)ob) {
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: tensor '%s': shape and dtype give %llu bytes but data_offsets span %llu",
                               p, name, (unsigned long long)want, (unsigned long long)((uint64_t)oe - (uint64_t)ob));
            break;
        }
        t->offset = (uint64_t)ob;
        t->n_bytes = want;
        t->data = st->data + t->offset;
    }
    cJSON_Delete(h);
    if (rc) return rc;
    /* unique names; no overlaps or holes in the buffer */
    lmc_st_tensor **v = malloc(((size_t)st->n + 1) * sizeof *v);
    if (!v) return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", p);
    for (int64_t i = 0; i < st->n; i++) v[i] = &st->t[i];
    qsort(v, (size_t)st->n, sizeof *v, cmp_name);
    for (int64_t i = 1; i < st->n && !rc; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0) rc = lmc_set_error(LMC_ERR_FORMAT, "%s: tensor '%s' appears twice", p, v[i]->name);
    qsort(v, (size_t)st->n, sizeof *v, cmp_offset);
    uint64_t end = 0;
    for (int64_t i = 0; i < st->n && !rc; i++) {
        if (v[i]->offset != end)
            rc = lmc_set_error(LMC_ERR_FORMAT, "%s: tensor '%s' starts at %llu, %s the previous tensor's end %llu", p,
                               v[i]->name, (unsigned long long)v[i]->offset, v[i]->offset < end ? "before" : "after",
                               (unsigned long long)end);
        end = v[i]->offset + v[i]->n_bytes;
    }
    if (!rc && end != st->data_size)
        rc = lmc_set_error(LMC_ERR_FORMAT, "%s: tensors cover %llu of the %llu data bytes", p, (unsigned long long)end,
                           (unsigned long long)st->data_size);
    free(v);
    return rc;
}

lmc_safetensors *lmc_safetensors_open(const char *path) {
    if (!path) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "safetensors: no path");
    lmc_safetensors *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return lmc_set_error_null(LMC_ERR_NOMEM, "safetensors: out of memory");
    }
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        int err = errno;
        if (fd >= 0) close(fd);
        lmc_safetensors_close(st);
        return lmc_set_error_null(LMC_ERR_IO, "%s: %s", path, strerror(err));
    }
    st->size = (size_t)sb.st_size;
    if (st->size > 0) {
        st->map = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (st->map == MAP_FAILED) {
            int err = errno;
            st->map = NULL;
            close(fd);
            lmc_safetensors_close(st);
            return lmc_set_error_null(LMC_ERR_IO, "%s: mmap: %s", path, strerror(err));
        }
    }
    close(fd);
    if (parse(st) != LMC_OK) {
        lmc_safetensors_close(st);
        return NULL;
    }
    return st;
}

int64_t lmc_safetensors_n_tensors(const lmc_safetensors *st) { return st ? st->n : 0; }

const lmc_st_tensor *lmc_safetensors_tensor(const lmc_safetensors *st, int64_t i) {
    return st && i >= 0 && i < st->n ? &st->t[i] : NULL;
}

const lmc_st_tensor *lmc_safetensors_find(const lmc_safetensors *st, const char *name) {
    for (int64_t i = 0; st && name && i < st->n; i++)
        if (strcmp(st->t[i].name, name) == 0) return &st->t[i];
    return NULL;
}

const char *lmc_safetensors_metadata(const lmc_safetensors *st, const char *key) {
    for (int64_t i = 0; st && key && i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_vals[i];
    return NULL;
}
