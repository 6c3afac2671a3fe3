/* gguf_write.c — build a GGUF v3 file in memory and write it atomically.
 *
 * The writer keeps every metadata value already serialised (u32 type tag + payload, the
 * exact bytes that follow the key in the file), so replacing, copying from an open file
 * and nested arrays all share one path, and writing is a straight copy. Tensors keep a
 * pointer to their data (copied when asked) and get their offsets at write time:
 *
 *   header | kv | tensor infos | zero padding to the alignment
 *   tensor 0 data | zero padding to the alignment | tensor 1 data | padding | ...
 *
 * Every tensor's data is padded to the alignment, the last one too, as llama.cpp and the
 * gguf Python package do. The file goes to PATH.tmp, is fsynced, then renamed over PATH. */
#include "lmc-impl.h"
#include "gguf-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GGUF_VERSION 3
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_ALIGNMENT_KEY "general.alignment"
/* llama.cpp refuses tensor names of GGML_MAX_NAME (64) bytes or more; so do we, so that
 * every file lmc writes is one llama.cpp can read. */
#define GGUF_MAX_TENSOR_NAME 63
#define GGUF_MAX_NESTING 8 /* the reader's limit on arrays inside arrays */

/* A growable byte buffer. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} buf;

typedef struct {
    char *key;
    buf val; /* u32 type + payload */
} wkv;

typedef struct {
    char *name;
    lmc_type type;
    int n_dims;
    int64_t ne[LMC_MAX_DIMS];
    const void *data;
    size_t n_bytes;
    void *owned; /* the copy, when the caller asked for one */
} wtensor;

struct lmc_gguf_writer {
    uint32_t alignment;
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *tensors;
    size_t n_tensors, cap_tensors;
};

/* ---- byte buffer ----------------------------------------------------------------- */

static bool buf_reserve(buf *b, size_t extra) {
    if (extra <= b->cap - b->len) return true;
    size_t need;
    if (__builtin_add_overflow(b->len, extra, &need)) return false;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static bool buf_put(buf *b, const void *src, size_t n) {
    if (!buf_reserve(b, n)) return false;
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
    return true;
}

/* GGUF is little-endian; so is every machine lmc builds for (x86-64, aarch64). */
static bool buf_u32(buf *b, uint32_t v) { return buf_put(b, &v, 4); }
static bool buf_u64(buf *b, uint64_t v) { return buf_put(b, &v, 8); }
static bool buf_str(buf *b, const char *s, uint64_t len) {
    return buf_u64(b, len) && buf_put(b, s, (size_t)len);
}

static void buf_free(buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- init / free ------------------------------------------------------------------- */

lmc_gguf_writer *lmc_gguf_writer_init(void) {
    lmc_gguf_writer *w = calloc(1, sizeof *w);
    if (!w) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory creating a GGUF writer");
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    return w;
}

void lmc_gguf_writer_free(lmc_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        buf_free(&w->kv[i].val);
    }
    free(w->kv);
    for (size_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].owned);
    }
    free(w->tensors);
    free(w);
}

/* ---- metadata ---------------------------------------------------------------------- */

static size_t scalar_size(lmc_gguf_type t) {
    switch (t) {
    case LMC_GGUF_UINT8: case LMC_GGUF_INT8: case LMC_GGUF_BOOL: return 1;
    case LMC_GGUF_UINT16: case LMC_GGUF_INT16: return 2;
    case LMC_GGUF_UINT32: case LMC_GGUF_INT32: case LMC_GGUF_FLOAT32: return 4;
    case LMC_GGUF_UINT64: case LMC_GGUF_INT64: case LMC_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static int64_t find_kv(const lmc_gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0) return (int64_t)i;
    return -1;
}

static int check_key(const lmc_gguf_writer *w, const char *key) {
    if (!w) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: no writer given");
    if (!key || !*key) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: metadata key is empty");
    return LMC_OK;
}

/* general.alignment decides where tensor data goes, so it must be a valid alignment:
 * a uint32 power of two. val is the serialised value (type + payload). */
static int check_alignment_value(const buf *val, uint32_t *out) {
    uint32_t type, a = 0;
    memcpy(&type, val->p, 4);
    if (type == LMC_GGUF_UINT32) memcpy(&a, val->p + 4, 4);
    if (type != LMC_GGUF_UINT32 || a == 0 || (a & (a - 1)) != 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: %s must be a uint32 power of two",
                             GGUF_ALIGNMENT_KEY);
    *out = a;
    return LMC_OK;
}

/* Stores key = val, taking ownership of val (freed on failure). Replaces an existing
 * value in place, so the key keeps its position. */
static int put_kv(lmc_gguf_writer *w, const char *key, buf *val) {
    int rc = check_key(w, key);
    if (rc) {
        buf_free(val);
        return rc;
    }
    if (strcmp(key, GGUF_ALIGNMENT_KEY) == 0) {
        uint32_t a = 0;
        if ((rc = check_alignment_value(val, &a)) != LMC_OK) {
            buf_free(val);
            return rc;
        }
        w->alignment = a;
    }
    int64_t i = find_kv(w, key);
    if (i >= 0) {
        buf_free(&w->kv[i].val);
        w->kv[i].val = *val;
        return LMC_OK;
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 16;
        wkv *kv = realloc(w->kv, cap * sizeof *kv);
        if (!kv) {
            buf_free(val);
            return lmc_set_error(LMC_ERR_NOMEM, "GGUF writer: out of memory adding key '%s'", key);
        }
        w->kv = kv;
        w->cap_kv = cap;
    }
    char *k = strdup(key);
    if (!k) {
        buf_free(val);
        return lmc_set_error(LMC_ERR_NOMEM, "GGUF writer: out of memory adding key '%s'", key);
    }
    w->kv[w->n_kv].key = k;
    w->kv[w->n_kv].val = *val;
    w->n_kv++;
    return LMC_OK;
}

static int nomem(buf *b, const char *key) {
    buf_free(b);
    return lmc_set_error(LMC_ERR_NOMEM, "GGUF writer: out of memory for the value of '%s'",
                         key ? key : "(null)");
}

static int set_scalar(lmc_gguf_writer *w, const char *key, lmc_gguf_type t, const void *v) {
    buf b = {0};
    if (!buf_u32(&b, (uint32_t)t) || !buf_put(&b, v, scalar_size(t))) return nomem(&b, key);
    return put_kv(w, key, &b);
}

int lmc_gguf_writer_set_u8(lmc_gguf_writer *w, const char *key, uint8_t v) { return set_scalar(w, key, LMC_GGUF_UINT8, &v); }
int lmc_gguf_writer_set_i8(lmc_gguf_writer *w, const char *key, int8_t v) { return set_scalar(w, key, LMC_GGUF_INT8, &v); }
int lmc_gguf_writer_set_u16(lmc_gguf_writer *w, const char *key, uint16_t v) { return set_scalar(w, key, LMC_GGUF_UINT16, &v); }
int lmc_gguf_writer_set_i16(lmc_gguf_writer *w, const char *key, int16_t v) { return set_scalar(w, key, LMC_GGUF_INT16, &v); }
int lmc_gguf_writer_set_u32(lmc_gguf_writer *w, const char *key, uint32_t v) { return set_scalar(w, key, LMC_GGUF_UINT32, &v); }
int lmc_gguf_writer_set_i32(lmc_gguf_writer *w, const char *key, int32_t v) { return set_scalar(w, key, LMC_GGUF_INT32, &v); }
int lmc_gguf_writer_set_u64(lmc_gguf_writer *w, const char *key, uint64_t v) { return set_scalar(w, key, LMC_GGUF_UINT64, &v); }
int lmc_gguf_writer_set_i64(lmc_gguf_writer *w, const char *key, int64_t v) { return set_scalar(w, key, LMC_GGUF_INT64, &v); }
int lmc_gguf_writer_set_f32(lmc_gguf_writer *w, const char *key, float v) { return set_scalar(w, key, LMC_GGUF_FLOAT32, &v); }
int lmc_gguf_writer_set_f64(lmc_gguf_writer *w, const char *key, double v) { return set_scalar(w, key, LMC_GGUF_FLOAT64, &v); }

int lmc_gguf_writer_set_bool(lmc_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    return set_scalar(w, key, LMC_GGUF_BOOL, &b);
}

int lmc_gguf_writer_set_str(lmc_gguf_writer *w, const char *key, const char *v) {
    if (!v) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: NULL string for key '%s'", key ? key : "(null)");
    buf b = {0};
    if (!buf_u32(&b, LMC_GGUF_STRING) || !buf_str(&b, v, strlen(v))) return nomem(&b, key);
    return put_kv(w, key, &b);
}

int lmc_gguf_writer_set_array(lmc_gguf_writer *w, const char *key, lmc_gguf_type elem_type, const void *data,
                              uint64_t n) {
    const char *k = key ? key : "(null)";
    size_t es = scalar_size(elem_type);
    if (!es)
        return lmc_set_error(LMC_ERR_INVALID_ARG,
                             "GGUF writer: key '%s': array element type %s is not a number or bool (use "
                             "lmc_gguf_writer_set_array_str for strings, set_value for nested arrays)",
                             k, lmc_gguf_type_name(elem_type));
    uint64_t nbytes;
    if (!lmc_mul_ok(n, es, &nbytes) || nbytes > SIZE_MAX / 2)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: key '%s': array of %llu elements is too large", k,
                             (unsigned long long)n);
    if (n && !data) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: key '%s': array data is NULL", k);
    if (elem_type == LMC_GGUF_BOOL) {
        const uint8_t *p = data;
        for (uint64_t i = 0; i < n; i++)
            if (p[i] > 1)
                return lmc_set_error(LMC_ERR_INVALID_ARG,
                                     "GGUF writer: key '%s': bool array element %llu is %u, not 0 or 1", k,
                                     (unsigned long long)i, p[i]);
    }
    buf b = {0};
    if (!buf_u32(&b, LMC_GGUF_ARRAY) || !buf_u32(&b, (uint32_t)elem_type) || !buf_u64(&b, n) ||
        !buf_put(&b, data, (size_t)nbytes))
        return nomem(&b, key);
    return put_kv(w, key, &b);
}

int lmc_gguf_writer_set_array_str(lmc_gguf_writer *w, const char *key, const char *const *strs, uint64_t n) {
    const char *k = key ? key : "(null)";
    if (n && !strs) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: key '%s': string array is NULL", k);
    for (uint64_t i = 0; i < n; i++)
        if (!strs[i])
            return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: key '%s': string %llu is NULL", k,
                                 (unsigned long long)i);
    buf b = {0};
    if (!buf_u32(&b, LMC_GGUF_ARRAY) || !buf_u32(&b, LMC_GGUF_STRING) || !buf_u64(&b, n)) return nomem(&b, key);
    for (uint64_t i = 0; i < n; i++)
        if (!buf_str(&b, strs[i], strlen(strs[i]))) return nomem(&b, key);
    return put_kv(w, key, &b);
}

/* Appends the payload of v (without its type tag, which the caller wrote). */
static bool put_value(buf *b, const lmc_gguf_value *v, int depth) {
    lmc_gguf_type t = lmc_gguf_value_type(v);
    size_t es = scalar_size(t);
    if (es) return buf_put(b, lmc_gguf_value_scalar_bytes(v), es);
    if (t == LMC_GGUF_STRING) {
        lmc_str s;
        lmc_gguf_value_str(v, &s);
        return buf_str(b, s.ptr, s.len);
    }
    if (t != LMC_GGUF_ARRAY || depth >= GGUF_MAX_NESTING) return false;
    lmc_gguf_type et = lmc_gguf_array_type(v);
    uint64_t n = lmc_gguf_array_len(v);
    if (!buf_u32(b, (uint32_t)et) || !buf_u64(b, n)) return false;
    es = scalar_size(et);
    if (es) return buf_put(b, lmc_gguf_array_data(v), (size_t)(n * es)); /* n*es fits: it is in the file */
    for (uint64_t j = 0; j < n; j++) {
        if (et == LMC_GGUF_STRING) {
            lmc_str s = lmc_gguf_array_str(v, j);
            if (!buf_str(b, s.ptr, s.len)) return false;
        } else {
            const lmc_gguf_value *item = lmc_gguf_array_item(v, j);
            if (!item || !put_value(b, item, depth + 1)) return false;
        }
    }
    return true;
}

int lmc_gguf_writer_set_value(lmc_gguf_writer *w, const char *key, const lmc_gguf_value *v) {
    if (!v) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: NULL value for key '%s'", key ? key : "(null)");
    lmc_gguf_type t = lmc_gguf_value_type(v);
    if ((unsigned)t >= LMC_GGUF_TYPE_COUNT)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: key '%s': value of unknown type %d",
                             key ? key : "(null)", (int)t);
    buf b = {0};
    if (!buf_u32(&b, (uint32_t)t) || !put_value(&b, v, 0)) return nomem(&b, key);
    return put_kv(w, key, &b);
}

int lmc_gguf_writer_remove(lmc_gguf_writer *w, const char *key) {
    int rc = check_key(w, key);
    if (rc) return rc;
    int64_t i = find_kv(w, key);
    if (i < 0) return LMC_ERR_NOT_FOUND; /* like the getters: no message for an absent key */
    free(w->kv[i].key);
    buf_free(&w->kv[i].val);
    memmove(&w->kv[i], &w->kv[i + 1], (w->n_kv - (size_t)i - 1) * sizeof *w->kv);
    w->n_kv--;
    if (strcmp(key, GGUF_ALIGNMENT_KEY) == 0) w->alignment = GGUF_DEFAULT_ALIGNMENT;
    return LMC_OK;
}

int lmc_gguf_writer_set_alignment(lmc_gguf_writer *w, uint32_t alignment) {
    if (!w) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: no writer given");
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: alignment %u is not a power of two", alignment);
    /* Keep general.alignment in step: written when not the default, or when the
     * caller had already set it. */
    if (alignment != GGUF_DEFAULT_ALIGNMENT || find_kv(w, GGUF_ALIGNMENT_KEY) >= 0)
        return lmc_gguf_writer_set_u32(w, GGUF_ALIGNMENT_KEY, alignment);
    w->alignment = alignment;
    return LMC_OK;
}

/* ---- tensors ----------------------------------------------------------------------- */

int lmc_gguf_writer_add_tensor(lmc_gguf_writer *w, const char *name, lmc_type type, int n_dims, const int64_t *ne,
                               const void *data, size_t n_bytes, bool copy) {
    if (!w) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: no writer given");
    if (!name || !*name) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: tensor name is empty");
    if (strlen(name) > GGUF_MAX_TENSOR_NAME)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: tensor name '%.80s...' is longer than %d bytes",
                             name, GGUF_MAX_TENSOR_NAME);
    if (!lmc_type_name(type))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: tensor '%s' has unknown type %d", name, (int)type);
    if (n_dims < 1 || n_dims > LMC_MAX_DIMS || !ne)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: tensor '%s' has %d dimensions (1 to %d allowed)", name,
                             n_dims, LMC_MAX_DIMS);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: duplicate tensor name '%s'", name);
    uint64_t rows = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 0)
            return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: tensor '%s' has negative dimension %d (%lld)",
                                 name, d, (long long)ne[d]);
        if (d > 0 && !lmc_mul_ok(rows, (uint64_t)ne[d], &rows))
            return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: tensor '%s' is too large", name);
    }
    int64_t bs = lmc_type_block_size(type);
    if (ne[0] % bs != 0)
        return lmc_set_error(LMC_ERR_INVALID_ARG,
                             "GGUF writer: tensor '%s' of type %s has row length %lld, not a multiple of %lld", name,
                             lmc_type_name(type), (long long)ne[0], (long long)bs);
    /* Row bytes as lmc_type_row_bytes counts them, but checked for overflow first. */
    uint64_t row, want, nel;
    if (!lmc_mul_ok((uint64_t)(ne[0] / bs), lmc_type_block_bytes(type), &row) || row > SIZE_MAX / 2 ||
        !lmc_mul_ok(row, rows, &want) || want > SIZE_MAX || !lmc_mul_ok((uint64_t)ne[0], rows, &nel) ||
        nel > INT64_MAX)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: tensor '%s' is too large", name);
    if (want != n_bytes)
        return lmc_set_error(LMC_ERR_INVALID_ARG,
                             "GGUF writer: tensor '%s' (%s, %lld x %llu) needs %llu bytes, %zu given", name,
                             lmc_type_name(type), (long long)ne[0], (unsigned long long)rows,
                             (unsigned long long)want, n_bytes);
    if (n_bytes && !data) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: tensor '%s' data is NULL", name);
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 16;
        wtensor *t = realloc(w->tensors, cap * sizeof *t);
        if (!t) return lmc_set_error(LMC_ERR_NOMEM, "GGUF writer: out of memory adding tensor '%s'", name);
        w->tensors = t;
        w->cap_tensors = cap;
    }
    wtensor t = {.type = type, .n_dims = n_dims, .data = data, .n_bytes = n_bytes};
    for (int d = 0; d < LMC_MAX_DIMS; d++) t.ne[d] = d < n_dims ? ne[d] : 1;
    t.name = strdup(name);
    if (copy && n_bytes) {
        t.owned = malloc(n_bytes);
        if (t.owned) memcpy(t.owned, data, n_bytes);
        t.data = t.owned;
    }
    if (!t.name || (copy && n_bytes && !t.owned)) {
        free(t.name);
        free(t.owned);
        return lmc_set_error(LMC_ERR_NOMEM, "GGUF writer: out of memory copying tensor '%s' (%zu bytes)", name,
                             n_bytes);
    }
    w->tensors[w->n_tensors++] = t;
    return LMC_OK;
}

/* ---- writing ----------------------------------------------------------------------- */

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Writes all n bytes, retrying short writes and EINTR. */
static bool write_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n > (1u << 30) ? (1u << 30) : n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        b += k;
        n -= (size_t)k;
    }
    return true;
}

static const uint8_t g_zeros[4096];

static bool write_zeros(int fd, uint64_t n) {
    while (n) {
        size_t k = n > sizeof g_zeros ? sizeof g_zeros : (size_t)n;
        if (!write_all(fd, g_zeros, k)) return false;
        n -= k;
    }
    return true;
}

/* Makes the rename itself durable: fsync the folder that holds the file. */
static void fsync_dir_of(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some filesystems refuse fsync on folders */
        close(fd);
    }
    free(copy);
}

int lmc_gguf_writer_write(lmc_gguf_writer *w, const char *path) {
    if (!w) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: no writer given");
    if (!path || !*path) return lmc_set_error(LMC_ERR_INVALID_ARG, "GGUF writer: no output path given");

    /* Everything before the tensor data is built in memory; it is small next to the data. */
    buf h = {0};
    bool ok = buf_put(&h, "GGUF", 4) && buf_u32(&h, GGUF_VERSION) && buf_u64(&h, w->n_tensors) &&
              buf_u64(&h, w->n_kv);
    for (size_t i = 0; ok && i < w->n_kv; i++)
        ok = buf_str(&h, w->kv[i].key, strlen(w->kv[i].key)) && buf_put(&h, w->kv[i].val.p, w->kv[i].val.len);
    uint64_t off = 0;
    for (size_t i = 0; ok && i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        ok = buf_str(&h, t->name, strlen(t->name)) && buf_u32(&h, (uint32_t)t->n_dims);
        for (int d = 0; ok && d < t->n_dims; d++) ok = buf_u64(&h, (uint64_t)t->ne[d]);
        ok = ok && buf_u32(&h, (uint32_t)t->type) && buf_u64(&h, off);
        off = align_up(off + t->n_bytes, w->alignment);
    }
    if (!ok) {
        buf_free(&h);
        return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory building the GGUF header", path);
    }
    uint64_t header_pad = align_up(h.len, w->alignment) - h.len;

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        buf_free(&h);
        return lmc_set_error(LMC_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = lmc_set_error(LMC_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        buf_free(&h);
        free(tmp);
        return rc;
    }
    ok = write_all(fd, h.p, h.len) && write_zeros(fd, header_pad);
    buf_free(&h);
    for (size_t i = 0; ok && i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        ok = write_all(fd, t->data, t->n_bytes) && write_zeros(fd, align_up(t->n_bytes, w->alignment) - t->n_bytes);
    }
    const char *step = "cannot write";
    if (ok && fsync(fd) != 0) {
        ok = false;
        step = "cannot fsync";
    }
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
        step = "cannot close";
    }
    if (ok && rename(tmp, path) != 0) {
        e = errno;
        int rc = lmc_set_error(LMC_ERR_IO, "%s: cannot rename %s over it: %s", path, tmp, strerror(e));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    if (!ok) {
        int rc = lmc_set_error(LMC_ERR_IO, "%s: %s: %s", tmp, step, strerror(e));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    fsync_dir_of(path);
    return LMC_OK;
}
