/* gguf_read.c — mmap a GGUF file and validate every byte of its header before use.
 *
 * Layout (GGUF v2/v3, all integers little-endian):
 *   magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv x      { string key | u32 value_type | value }
 *   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 type | u64 offset }
 *   padding to general.alignment (default 32)
 *   tensor data; each tensor at data_start + offset, offset a multiple of the alignment
 * where string = u64 length + bytes (no NUL) and an array value = u32 elem_type | u64 n | elements.
 * GGUF v1 used u32 for counts and lengths; it is refused with a message that says so.
 *
 * Every read goes through a cursor that knows the end of the mapping, so a hostile file
 * can at worst produce an error naming the byte offset where it went wrong. */
#include "lmc-impl.h"
#include "gguf-impl.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ARRAY_DEPTH 8

struct lmc_gguf_value {
    lmc_gguf_type type;
    lmc_gguf_type arr_type;         /* arrays only                                 */
    uint64_t n;                     /* arrays: element count; strings: byte length */
    const uint8_t *p;               /* scalar bytes, string bytes or first element */
    uint64_t *str_off;              /* string arrays: offset of element j from p   */
    struct lmc_gguf_value *items;   /* arrays of arrays: the n inner arrays        */
};

typedef struct {
    char *key;
    lmc_gguf_value value;
} gguf_kv;

/* Open-addressing index from name to position, for O(1) lookups and duplicate checks
 * (a hostile file may hold millions of names). Slots hold index + 1; 0 is empty. */
typedef struct {
    uint64_t mask;
    int64_t *slots;
} name_index;

struct lmc_gguf {
    name_index kv_index, tensor_index;
    char *path;
    const uint8_t *map;
    uint64_t size;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv;
    gguf_kv *kv;
    int64_t n_tensors;
    lmc_tensor_info *tensors;
    char **tensor_names;
};

typedef struct {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
    const char *path;
    int err;
} cursor;

static const char *g_gguf_type_names[LMC_GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

const char *lmc_gguf_type_name(lmc_gguf_type t) {
    if ((unsigned)t >= LMC_GGUF_TYPE_COUNT) return "unknown";
    return g_gguf_type_names[t];
}

/* Size in bytes of a fixed-size value type, 0 for string/array/unknown. */
static size_t scalar_size(lmc_gguf_type t) {
    switch (t) {
    case LMC_GGUF_UINT8: case LMC_GGUF_INT8: case LMC_GGUF_BOOL: return 1;
    case LMC_GGUF_UINT16: case LMC_GGUF_INT16: return 2;
    case LMC_GGUF_UINT32: case LMC_GGUF_INT32: case LMC_GGUF_FLOAT32: return 4;
    case LMC_GGUF_UINT64: case LMC_GGUF_INT64: case LMC_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static bool fail(cursor *c, uint64_t at, const char *what) {
    if (!c->err)
        c->err = lmc_set_error(LMC_ERR_FORMAT, "%s: %s at byte %llu", c->path, what,
                               (unsigned long long)at);
    return false;
}

static bool need(cursor *c, uint64_t n, const char *what) {
    if (c->err) return false;
    if (n > c->size - c->pos) {
        char msg[256];
        snprintf(msg, sizeof msg, "file truncated: %s needs %llu bytes, %llu left", what,
                 (unsigned long long)n, (unsigned long long)(c->size - c->pos));
        return fail(c, c->pos, msg);
    }
    return true;
}

static bool rd_u32(cursor *c, uint32_t *v, const char *what) {
    if (!need(c, 4, what)) return false;
    memcpy(v, c->base + c->pos, 4);
    c->pos += 4;
    return true;
}

static bool rd_u64(cursor *c, uint64_t *v, const char *what) {
    if (!need(c, 8, what)) return false;
    memcpy(v, c->base + c->pos, 8);
    c->pos += 8;
    return true;
}

/* Reads a length-prefixed string; *p points into the mapping. */
static bool rd_str(cursor *c, const uint8_t **p, uint64_t *len, const char *what) {
    uint64_t at = c->pos;
    if (!rd_u64(c, len, what)) return false;
    if (*len > c->size - c->pos) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s has length %llu but only %llu bytes remain", what,
                 (unsigned long long)*len, (unsigned long long)(c->size - c->pos));
        return fail(c, at, msg);
    }
    *p = c->base + c->pos;
    c->pos += *len;
    return true;
}

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static bool index_init(name_index *ix, uint64_t n) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    ix->slots = calloc(cap, sizeof *ix->slots);
    ix->mask = cap - 1;
    return ix->slots != NULL;
}

/* Finds name among names[] through the index: returns its position or -1. When
 * insert_pos >= 0 and the name is absent, records it at that position. */
static int64_t index_find(const name_index *ix, char *const *names, size_t stride, const char *name, int64_t insert_pos) {
    if (!ix->slots) return -1;
    for (uint64_t h = hash_name(name) & ix->mask;; h = (h + 1) & ix->mask) {
        int64_t s = ix->slots[h];
        if (s == 0) {
            if (insert_pos >= 0) ix->slots[h] = insert_pos + 1;
            return -1;
        }
        const char *other = *(char *const *)((const char *)names + (size_t)(s - 1) * stride);
        if (strcmp(other, name) == 0) return s - 1;
    }
}

static void value_free(lmc_gguf_value *v) {
    free(v->str_off);
    if (v->items) {
        for (uint64_t i = 0; i < v->n; i++) value_free(&v->items[i]);
        free(v->items);
    }
    v->str_off = NULL;
    v->items = NULL;
}

static bool rd_value(cursor *c, lmc_gguf_value *v, lmc_gguf_type type, int depth);

static bool rd_array(cursor *c, lmc_gguf_value *v, int depth) {
    uint64_t at = c->pos;
    uint32_t et;
    if (!rd_u32(c, &et, "array element type")) return false;
    if (et >= LMC_GGUF_TYPE_COUNT) {
        char msg[64];
        snprintf(msg, sizeof msg, "unknown array element type %u", et);
        return fail(c, at, msg);
    }
    if (depth >= GGUF_MAX_ARRAY_DEPTH) return fail(c, at, "arrays nested too deeply");
    v->arr_type = (lmc_gguf_type)et;
    at = c->pos;
    if (!rd_u64(c, &v->n, "array length")) return false;
    uint64_t left = c->size - c->pos;
    size_t es = scalar_size(v->arr_type);
    /* Each element takes at least this many bytes, which bounds the count before we
     * allocate anything for it. */
    uint64_t min_elem = es ? es : (v->arr_type == LMC_GGUF_STRING ? 8 : 12);
    if (v->n > left / min_elem) {
        char msg[160];
        snprintf(msg, sizeof msg, "array of %llu %s elements does not fit in the %llu bytes left",
                 (unsigned long long)v->n, lmc_gguf_type_name(v->arr_type),
                 (unsigned long long)left);
        return fail(c, at, msg);
    }
    v->p = c->base + c->pos;
    if (es) {
        if (v->arr_type == LMC_GGUF_BOOL) {
            for (uint64_t i = 0; i < v->n; i++)
                if (v->p[i] > 1) return fail(c, c->pos + i, "bool array element is neither 0 nor 1");
        }
        c->pos += v->n * es;
        return true;
    }
    if (v->arr_type == LMC_GGUF_STRING) {
        v->str_off = malloc((v->n ? v->n : 1) * sizeof *v->str_off);
        if (!v->str_off) return fail(c, at, "out of memory for string array");
        for (uint64_t i = 0; i < v->n; i++) {
            const uint8_t *s;
            uint64_t len;
            v->str_off[i] = (uint64_t)(c->base + c->pos - v->p);
            if (!rd_str(c, &s, &len, "array string")) return false;
        }
        return true;
    }
    /* array of arrays */
    v->items = calloc(v->n ? v->n : 1, sizeof *v->items);
    if (!v->items) return fail(c, at, "out of memory for nested array");
    for (uint64_t i = 0; i < v->n; i++)
        if (!rd_value(c, &v->items[i], LMC_GGUF_ARRAY, depth + 1)) return false;
    return true;
}

static bool rd_value(cursor *c, lmc_gguf_value *v, lmc_gguf_type type, int depth) {
    v->type = type;
    size_t es = scalar_size(type);
    if (es) {
        if (!need(c, es, lmc_gguf_type_name(type))) return false;
        v->p = c->base + c->pos;
        if (type == LMC_GGUF_BOOL && v->p[0] > 1) return fail(c, c->pos, "bool value is neither 0 nor 1");
        c->pos += es;
        return true;
    }
    if (type == LMC_GGUF_STRING) return rd_str(c, &v->p, &v->n, "string value");
    if (type == LMC_GGUF_ARRAY) return rd_array(c, v, depth);
    return fail(c, c->pos, "unknown value type");
}

static char *dup_name(cursor *c, const uint8_t *p, uint64_t len, uint64_t at, const char *what) {
    if (memchr(p, 0, len)) {
        char msg[64];
        snprintf(msg, sizeof msg, "%s contains a NUL byte", what);
        fail(c, at, msg);
        return NULL;
    }
    char *s = malloc(len + 1);
    if (!s) {
        fail(c, at, "out of memory");
        return NULL;
    }
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static int cmp_tensor_offset(const void *a, const void *b) {
    const lmc_tensor_info *x = *(const lmc_tensor_info *const *)a;
    const lmc_tensor_info *y = *(const lmc_tensor_info *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static bool parse(lmc_gguf *g, cursor *c) {
    if (c->size < 4 || memcmp(c->base, GGUF_MAGIC, 4) != 0) {
        if (c->size < 4) return fail(c, 0, "file too small to be GGUF (no magic)");
        char msg[96];
        snprintf(msg, sizeof msg, "not a GGUF file: magic is %02x %02x %02x %02x, expected \"GGUF\"",
                 c->base[0], c->base[1], c->base[2], c->base[3]);
        return fail(c, 0, msg);
    }
    c->pos = 4;
    if (!rd_u32(c, &g->version, "version")) return false;
    if (g->version == 1) {
        c->err = lmc_set_error(LMC_ERR_UNSUPPORTED,
                               "%s: GGUF version 1 is not supported (it predates 64-bit counts); "
                               "convert the model to GGUF v3 with a current converter", c->path);
        return false;
    }
    if (g->version != 2 && g->version != 3) {
        c->err = lmc_set_error(LMC_ERR_UNSUPPORTED,
                               "%s: unknown GGUF version %u at byte 4 (lmc reads versions 2 and 3)",
                               c->path, g->version);
        return false;
    }
    uint64_t n_tensors, n_kv;
    uint64_t at = c->pos;
    if (!rd_u64(c, &n_tensors, "tensor count")) return false;
    /* A tensor info takes at least 8 (name length) + 4 + 8 + 4 + 8 bytes. */
    if (n_tensors > (c->size - c->pos) / 32) {
        char msg[128];
        snprintf(msg, sizeof msg, "tensor count %llu is impossible for a file of %llu bytes",
                 (unsigned long long)n_tensors, (unsigned long long)c->size);
        return fail(c, at, msg);
    }
    at = c->pos;
    if (!rd_u64(c, &n_kv, "metadata count")) return false;
    /* A key/value takes at least 8 (key length) + 4 (type) + 1 bytes. */
    if (n_kv > (c->size - c->pos) / 13) {
        char msg[128];
        snprintf(msg, sizeof msg, "metadata count %llu is impossible for a file of %llu bytes",
                 (unsigned long long)n_kv, (unsigned long long)c->size);
        return fail(c, at, msg);
    }

    g->kv = calloc(n_kv ? n_kv : 1, sizeof *g->kv);
    if (!g->kv || !index_init(&g->kv_index, n_kv)) return fail(c, at, "out of memory");
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < n_kv; i++) {
        const uint8_t *kp;
        uint64_t klen, kat = c->pos;
        uint32_t vt;
        if (!rd_str(c, &kp, &klen, "metadata key")) return false;
        char *key = dup_name(c, kp, klen, kat, "metadata key");
        if (!key) return false;
        g->kv[i].key = key;
        g->n_kv = (int64_t)i + 1;
        if (index_find(&g->kv_index, &g->kv[0].key, sizeof *g->kv, key, (int64_t)i) >= 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "duplicate metadata key '%.200s'", key);
            return fail(c, kat, msg);
        }
        uint64_t vat = c->pos;
        if (!rd_u32(c, &vt, "metadata value type")) return false;
        if (vt >= LMC_GGUF_TYPE_COUNT) {
            char msg[300];
            snprintf(msg, sizeof msg, "unknown value type %u for key '%.200s'", vt, key);
            return fail(c, vat, msg);
        }
        if (!rd_value(c, &g->kv[i].value, (lmc_gguf_type)vt, 0)) return false;
        if (strcmp(key, "general.alignment") == 0) {
            uint64_t a;
            if (g->kv[i].value.type != LMC_GGUF_UINT32 || lmc_gguf_value_uint(&g->kv[i].value, &a) != LMC_OK ||
                a == 0 || (a & (a - 1)) != 0)
                return fail(c, vat, "general.alignment must be a uint32 power of two");
            g->alignment = a;
        }
    }

    g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
    g->tensor_names = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensor_names);
    if (!g->tensors || !g->tensor_names || !index_init(&g->tensor_index, n_tensors))
        return fail(c, c->pos, "out of memory");
    for (uint64_t i = 0; i < n_tensors; i++) {
        lmc_tensor_info *t = &g->tensors[i];
        const uint8_t *np;
        uint64_t nlen, tat = c->pos;
        if (!rd_str(c, &np, &nlen, "tensor name")) return false;
        char *name = dup_name(c, np, nlen, tat, "tensor name");
        if (!name) return false;
        g->tensor_names[i] = name;
        t->name = name;
        g->n_tensors = (int64_t)i + 1;
        uint32_t n_dims, type;
        uint64_t dat = c->pos;
        if (!rd_u32(c, &n_dims, "tensor dimension count")) return false;
        if (n_dims == 0 || n_dims > LMC_MAX_DIMS) {
            char msg[300];
            snprintf(msg, sizeof msg, "tensor '%.200s' has %u dimensions (1 to %d allowed)", name, n_dims,
                     LMC_MAX_DIMS);
            return fail(c, dat, msg);
        }
        t->n_dims = (int)n_dims;
        /* nel_nz ignores zero dimensions: a tensor with a zero dimension holds nothing,
         * but its other dimensions still go into row sizes and strides, so they must
         * not overflow either. */
        uint64_t nel = 1, nel_nz = 1;
        for (int d = 0; d < LMC_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < n_dims; d++) {
            uint64_t ne, eat = c->pos;
            if (!rd_u64(c, &ne, "tensor dimension")) return false;
            if (ne > INT64_MAX || !lmc_mul_ok(nel, ne, &nel) || nel > INT64_MAX ||
                !lmc_mul_ok(nel_nz, ne ? ne : 1, &nel_nz) || nel_nz > INT64_MAX) {
                char msg[300];
                snprintf(msg, sizeof msg, "tensor '%.200s' has an absurd shape (element count overflows)", name);
                return fail(c, eat, msg);
            }
            t->ne[d] = (int64_t)ne;
        }
        t->n_elements = (int64_t)nel;
        uint64_t tyat = c->pos;
        if (!rd_u32(c, &type, "tensor type")) return false;
        if (type >= LMC_TYPE_COUNT || !lmc_type_name((lmc_type)type)) {
            char msg[300];
            snprintf(msg, sizeof msg, "tensor '%.200s' has unknown type %u", name, type);
            return fail(c, tyat, msg);
        }
        t->type = (lmc_type)type;
        int64_t bs = lmc_type_block_size(t->type);
        if (t->ne[0] % bs != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "tensor '%.200s' of type %s has row length %lld, not a multiple of %lld",
                     name, lmc_type_name(t->type), (long long)t->ne[0], (long long)bs);
            return fail(c, tyat, msg);
        }
        uint64_t nbytes;
        uint64_t nbytes_nz;
        if (!lmc_mul_ok(nel / (uint64_t)bs, lmc_type_block_bytes(t->type), &nbytes) || nbytes > SIZE_MAX ||
            !lmc_mul_ok(nel_nz / (uint64_t)bs, lmc_type_block_bytes(t->type), &nbytes_nz) || nbytes_nz > SIZE_MAX) {
            char msg[300];
            snprintf(msg, sizeof msg, "tensor '%.200s' is too large", name);
            return fail(c, tyat, msg);
        }
        t->n_bytes = (size_t)nbytes;
        uint64_t oat = c->pos;
        if (!rd_u64(c, &t->offset, "tensor offset")) return false;
        if (t->offset % g->alignment != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "tensor '%.200s' offset %llu is not a multiple of the alignment %llu", name,
                     (unsigned long long)t->offset, (unsigned long long)g->alignment);
            return fail(c, oat, msg);
        }
        if (index_find(&g->tensor_index, g->tensor_names, sizeof *g->tensor_names, name, (int64_t)i) >= 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "duplicate tensor name '%.200s'", name);
            return fail(c, tat, msg);
        }
    }

    /* Data section starts at the next multiple of the alignment. */
    uint64_t data = c->pos;
    uint64_t rem = data % g->alignment;
    if (rem && !lmc_add_ok(data, g->alignment - rem, &data)) return fail(c, c->pos, "data offset overflows");
    g->data_offset = data;
    if (n_tensors > 0 && data > c->size) return fail(c, c->pos, "file truncated before the tensor data section");
    uint64_t data_size = data <= c->size ? c->size - data : 0;

    for (uint64_t i = 0; i < n_tensors; i++) {
        lmc_tensor_info *t = &g->tensors[i];
        if (t->offset > data_size || t->n_bytes > data_size - t->offset) {
            char msg[300];
            snprintf(msg, sizeof msg,
                     "tensor '%.200s' extends past the end of the file (data bytes %llu..%llu, file has %llu)",
                     t->name, (unsigned long long)t->offset, (unsigned long long)(t->offset + t->n_bytes),
                     (unsigned long long)data_size);
            return fail(c, data + (t->offset < data_size ? t->offset : data_size), msg);
        }
        t->data = c->base + data + t->offset;
    }
    /* Tensors may not overlap: sort by offset and compare each tensor with the one
     * reaching furthest among those before it (a neighbour test alone misses an overlap
     * hidden behind an empty tensor that sits inside a bigger one). Empty tensors
     * overlap nothing. */
    if (n_tensors > 1) {
        lmc_tensor_info **order = malloc(n_tensors * sizeof *order);
        if (!order) return fail(c, data, "out of memory");
        for (uint64_t i = 0; i < n_tensors; i++) order[i] = &g->tensors[i];
        qsort(order, n_tensors, sizeof *order, cmp_tensor_offset);
        const lmc_tensor_info *far = NULL; /* the non-empty tensor ending last so far */
        for (uint64_t i = 0; i < n_tensors; i++) {
            const lmc_tensor_info *b = order[i];
            if (b->n_bytes == 0) continue;
            if (far && far->offset + far->n_bytes > b->offset) {
                char msg[400];
                snprintf(msg, sizeof msg, "tensors '%.150s' and '%.150s' overlap", far->name, b->name);
                free(order);
                return fail(c, data + b->offset, msg);
            }
            if (!far || b->offset + b->n_bytes > far->offset + far->n_bytes) far = b;
        }
        free(order);
    }
    return true;
}

lmc_gguf *lmc_gguf_open(const char *path) {
    if (!path) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "no model path given");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lmc_set_error_null(LMC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return lmc_set_error_null(LMC_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return lmc_set_error_null(LMC_ERR_IO, "%s: is a directory, not a GGUF file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return lmc_set_error_null(LMC_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return lmc_set_error_null(LMC_ERR_FORMAT, "%s: file is empty, not a GGUF file", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return lmc_set_error_null(LMC_ERR_IO, "%s: cannot mmap: %s", path, strerror(e));

    lmc_gguf *g = calloc(1, sizeof *g);
    char *p = strdup(path);
    if (!g || !p) {
        free(g);
        free(p);
        munmap(map, (size_t)st.st_size);
        return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory opening %s", path);
    }
    g->path = p;
    g->map = map;
    g->size = (uint64_t)st.st_size;
    cursor c = {.base = map, .size = g->size, .pos = 0, .path = path, .err = 0};
    if (!parse(g, &c)) {
        lmc_gguf_close(g);
        return NULL;
    }
    return g;
}

void lmc_gguf_close(lmc_gguf *g) {
    if (!g) return;
    for (int64_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        value_free(&g->kv[i].value);
    }
    free(g->kv);
    for (int64_t i = 0; i < g->n_tensors; i++) free(g->tensor_names[i]);
    free(g->tensor_names);
    free(g->tensors);
    free(g->kv_index.slots);
    free(g->tensor_index.slots);
    if (g->map) munmap((void *)g->map, g->size);
    free(g->path);
    free(g);
}

uint32_t lmc_gguf_version(const lmc_gguf *g) { return g->version; }
uint64_t lmc_gguf_alignment(const lmc_gguf *g) { return g->alignment; }
uint64_t lmc_gguf_file_size(const lmc_gguf *g) { return g->size; }
uint64_t lmc_gguf_data_offset(const lmc_gguf *g) { return g->data_offset; }
const char *lmc_gguf_path(const lmc_gguf *g) { return g->path; }

int64_t lmc_gguf_n_kv(const lmc_gguf *g) { return g->n_kv; }

const char *lmc_gguf_kv_key(const lmc_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_kv) ? g->kv[i].key : NULL;
}

const lmc_gguf_value *lmc_gguf_kv_value(const lmc_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_kv) ? &g->kv[i].value : NULL;
}

int64_t lmc_gguf_find_key(const lmc_gguf *g, const char *key) {
    if (g->n_kv == 0) return -1;
    return index_find(&g->kv_index, &g->kv[0].key, sizeof *g->kv, key, -1);
}

const lmc_gguf_value *lmc_gguf_get(const lmc_gguf *g, const char *key) {
    return lmc_gguf_kv_value(g, lmc_gguf_find_key(g, key));
}

lmc_gguf_type lmc_gguf_value_type(const lmc_gguf_value *v) { return v->type; }

const void *lmc_gguf_value_scalar_bytes(const lmc_gguf_value *v) {
    return (v && scalar_size(v->type)) ? v->p : NULL;
}

/* Reads a scalar of type t at p as either a signed, an unsigned or a float value. */
typedef struct {
    int kind; /* 0 signed, 1 unsigned, 2 float, 3 bool */
    int64_t i;
    uint64_t u;
    double f;
} num;

static bool read_num(lmc_gguf_type t, const uint8_t *p, num *n) {
    switch (t) {
    case LMC_GGUF_UINT8: n->kind = 1; n->u = p[0]; return true;
    case LMC_GGUF_INT8: n->kind = 0; n->i = (int8_t)p[0]; return true;
    case LMC_GGUF_UINT16: { uint16_t x; memcpy(&x, p, 2); n->kind = 1; n->u = x; return true; }
    case LMC_GGUF_INT16: { int16_t x; memcpy(&x, p, 2); n->kind = 0; n->i = x; return true; }
    case LMC_GGUF_UINT32: { uint32_t x; memcpy(&x, p, 4); n->kind = 1; n->u = x; return true; }
    case LMC_GGUF_INT32: { int32_t x; memcpy(&x, p, 4); n->kind = 0; n->i = x; return true; }
    case LMC_GGUF_UINT64: { uint64_t x; memcpy(&x, p, 8); n->kind = 1; n->u = x; return true; }
    case LMC_GGUF_INT64: { int64_t x; memcpy(&x, p, 8); n->kind = 0; n->i = x; return true; }
    case LMC_GGUF_FLOAT32: { float x; memcpy(&x, p, 4); n->kind = 2; n->f = x; return true; }
    case LMC_GGUF_FLOAT64: { double x; memcpy(&x, p, 8); n->kind = 2; n->f = x; return true; }
    case LMC_GGUF_BOOL: n->kind = 3; n->u = p[0]; return true;
    default: return false;
    }
}

int lmc_gguf_value_int(const lmc_gguf_value *v, int64_t *out) {
    num n;
    if (!v || !read_num(v->type, v->p, &n)) return LMC_ERR_TYPE;
    if (n.kind == 0) { *out = n.i; return LMC_OK; }
    if (n.kind == 1 && n.u <= INT64_MAX) { *out = (int64_t)n.u; return LMC_OK; }
    return LMC_ERR_TYPE;
}

int lmc_gguf_value_uint(const lmc_gguf_value *v, uint64_t *out) {
    num n;
    if (!v || !read_num(v->type, v->p, &n)) return LMC_ERR_TYPE;
    if (n.kind == 1) { *out = n.u; return LMC_OK; }
    if (n.kind == 0 && n.i >= 0) { *out = (uint64_t)n.i; return LMC_OK; }
    return LMC_ERR_TYPE;
}

int lmc_gguf_value_float(const lmc_gguf_value *v, double *out) {
    num n;
    if (!v || !read_num(v->type, v->p, &n) || n.kind == 3) return LMC_ERR_TYPE;
    *out = n.kind == 0 ? (double)n.i : n.kind == 1 ? (double)n.u : n.f;
    return LMC_OK;
}

int lmc_gguf_value_bool(const lmc_gguf_value *v, bool *out) {
    if (!v || v->type != LMC_GGUF_BOOL) return LMC_ERR_TYPE;
    *out = v->p[0] != 0;
    return LMC_OK;
}

int lmc_gguf_value_str(const lmc_gguf_value *v, lmc_str *out) {
    if (!v || v->type != LMC_GGUF_STRING) return LMC_ERR_TYPE;
    out->ptr = (const char *)v->p;
    out->len = v->n;
    return LMC_OK;
}

lmc_gguf_type lmc_gguf_array_type(const lmc_gguf_value *v) {
    return (v && v->type == LMC_GGUF_ARRAY) ? v->arr_type : LMC_GGUF_TYPE_COUNT;
}

uint64_t lmc_gguf_array_len(const lmc_gguf_value *v) {
    return (v && v->type == LMC_GGUF_ARRAY) ? v->n : 0;
}

const lmc_gguf_value *lmc_gguf_array_item(const lmc_gguf_value *v, uint64_t j) {
    if (!v || v->type != LMC_GGUF_ARRAY || !v->items || j >= v->n) return NULL;
    return &v->items[j];
}

lmc_str lmc_gguf_array_str(const lmc_gguf_value *v, uint64_t j) {
    lmc_str s = {"", 0};
    if (!v || v->type != LMC_GGUF_ARRAY || v->arr_type != LMC_GGUF_STRING || j >= v->n) return s;
    const uint8_t *p = v->p + v->str_off[j];
    memcpy(&s.len, p, 8);
    s.ptr = (const char *)p + 8;
    return s;
}

int64_t lmc_gguf_array_int(const lmc_gguf_value *v, uint64_t j) {
    num n;
    if (!v || v->type != LMC_GGUF_ARRAY || j >= v->n) return 0;
    size_t es = scalar_size(v->arr_type);
    if (!es || !read_num(v->arr_type, v->p + j * es, &n)) return 0;
    if (n.kind == 2) {
        /* Converting a float outside int64's range is undefined behaviour in C: such
         * (and NaN) elements read as 0, like a type mismatch. */
        if (!(n.f >= -9223372036854775808.0 && n.f < 9223372036854775808.0)) return 0;
        return (int64_t)n.f;
    }
    return n.kind == 0 ? n.i : (int64_t)n.u;
}

double lmc_gguf_array_float(const lmc_gguf_value *v, uint64_t j) {
    num n;
    if (!v || v->type != LMC_GGUF_ARRAY || j >= v->n) return 0;
    size_t es = scalar_size(v->arr_type);
    if (!es || !read_num(v->arr_type, v->p + j * es, &n)) return 0;
    return n.kind == 0 ? (double)n.i : n.kind == 2 ? n.f : (double)n.u;
}

const void *lmc_gguf_array_data(const lmc_gguf_value *v) {
    if (!v || v->type != LMC_GGUF_ARRAY || !scalar_size(v->arr_type)) return NULL;
    return v->p;
}

int lmc_gguf_get_int(const lmc_gguf *g, const char *key, int64_t *out) {
    const lmc_gguf_value *v = lmc_gguf_get(g, key);
    if (!v) return LMC_ERR_NOT_FOUND;
    if (lmc_gguf_value_int(v, out) != LMC_OK)
        return lmc_set_error(LMC_ERR_TYPE, "%s: key '%s' is %s, expected an integer", g->path, key,
                             lmc_gguf_type_name(v->type));
    return LMC_OK;
}

int lmc_gguf_get_float(const lmc_gguf *g, const char *key, double *out) {
    const lmc_gguf_value *v = lmc_gguf_get(g, key);
    if (!v) return LMC_ERR_NOT_FOUND;
    if (lmc_gguf_value_float(v, out) != LMC_OK)
        return lmc_set_error(LMC_ERR_TYPE, "%s: key '%s' is %s, expected a number", g->path, key,
                             lmc_gguf_type_name(v->type));
    return LMC_OK;
}

int lmc_gguf_get_bool(const lmc_gguf *g, const char *key, bool *out) {
    const lmc_gguf_value *v = lmc_gguf_get(g, key);
    if (!v) return LMC_ERR_NOT_FOUND;
    if (lmc_gguf_value_bool(v, out) != LMC_OK)
        return lmc_set_error(LMC_ERR_TYPE, "%s: key '%s' is %s, expected bool", g->path, key,
                             lmc_gguf_type_name(v->type));
    return LMC_OK;
}

int lmc_gguf_get_str(const lmc_gguf *g, const char *key, lmc_str *out) {
    const lmc_gguf_value *v = lmc_gguf_get(g, key);
    if (!v) return LMC_ERR_NOT_FOUND;
    if (lmc_gguf_value_str(v, out) != LMC_OK)
        return lmc_set_error(LMC_ERR_TYPE, "%s: key '%s' is %s, expected string", g->path, key,
                             lmc_gguf_type_name(v->type));
    return LMC_OK;
}

int64_t lmc_gguf_n_tensors(const lmc_gguf *g) { return g->n_tensors; }

const lmc_tensor_info *lmc_gguf_tensor(const lmc_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_tensors) ? &g->tensors[i] : NULL;
}

const lmc_tensor_info *lmc_gguf_find_tensor(const lmc_gguf *g, const char *name) {
    if (g->n_tensors == 0) return NULL;
    int64_t i = index_find(&g->tensor_index, g->tensor_names, sizeof *g->tensor_names, name, -1);
    return i >= 0 ? &g->tensors[i] : NULL;
}
