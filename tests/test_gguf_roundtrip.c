/* test_gguf_roundtrip.c — lmc's GGUF writer: write -> read -> identical.
 *
 * Every metadata type (edge values, empty strings and arrays), nested arrays copied from
 * a file built byte by byte here, tensors of many types and shapes at several alignments;
 * the file read back must hold the same keys in the same order, the same values bit for
 * bit, the same tensor bytes at aligned offsets, and zeros in every padding byte. Also
 * the writer's input checks, its atomic replace, and a whole-model copy that must come
 * out byte-identical to a file written by llama.cpp's converter. (The independent check
 * against the gguf package's reader is tests/gguf/test_gguf_compat.py.) */
#include "test_util.h"
#include "gguf/gguf_bytes.h"
#include "lmc.h"

#include <float.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

enum { T_U8 = 0, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 };

static char g_dir[256];

static void path_in(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", g_dir, name); }

static bool str_eq(lmc_str s, const char *c) { return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0; }

/* Reads the whole file (for padding checks and byte comparisons). */
static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

/* ---- a source file with nested arrays (the writer copies them with set_value) ---------- */

static void build_nested_source(const char *path) {
    gb b = {0};
    gb_header(&b, 3, 0, 5);
    /* [[1, 2], [], [3]] of int32 */
    gb_key(&b, "nested.i32", T_ARR);
    gb_u32(&b, T_ARR);
    gb_u64(&b, 3);
    gb_u32(&b, T_I32); gb_u64(&b, 2); gb_u32(&b, 1); gb_u32(&b, 2);
    gb_u32(&b, T_I32); gb_u64(&b, 0);
    gb_u32(&b, T_I32); gb_u64(&b, 1); gb_u32(&b, 3);
    /* [["a", ""], []] of strings */
    gb_key(&b, "nested.str", T_ARR);
    gb_u32(&b, T_ARR);
    gb_u64(&b, 2);
    gb_u32(&b, T_STR); gb_u64(&b, 2); gb_str(&b, "a"); gb_str(&b, "");
    gb_u32(&b, T_STR); gb_u64(&b, 0);
    /* [[[2.5]]] three deep, float64 */
    gb_key(&b, "nested.deep", T_ARR);
    gb_u32(&b, T_ARR); gb_u64(&b, 1);
    gb_u32(&b, T_ARR); gb_u64(&b, 1);
    gb_u32(&b, T_F64); gb_u64(&b, 1); gb_f64(&b, 2.5);
    /* an empty array of arrays */
    gb_key(&b, "nested.empty", T_ARR);
    gb_u32(&b, T_ARR); gb_u64(&b, 0);
    /* a float32 NaN with a payload: copied bit for bit */
    gb_key(&b, "nan.payload", T_F32);
    gb_u32(&b, 0x7fc01234u);
    CHECK(gb_write(&b, path) == 0);
    gb_free(&b);
}

/* ---- what is written ---------------------------------------------------------------------- */

typedef struct {
    const char *name;
    lmc_type type;
    int n_dims;
    int64_t ne[4];
} tensor_spec;

static const tensor_spec g_tensors[] = {
    {"tok_embd.weight", LMC_TYPE_F32, 2, {8, 3, 1, 1}},
    {"f16", LMC_TYPE_F16, 1, {5, 1, 1, 1}},
    {"bf16.3d", LMC_TYPE_BF16, 3, {3, 2, 2, 1}},
    {"q4_0", LMC_TYPE_Q4_0, 2, {64, 2, 1, 1}},
    {"q4_1", LMC_TYPE_Q4_1, 1, {32, 1, 1, 1}},
    {"q8_0.4d", LMC_TYPE_Q8_0, 4, {32, 1, 2, 1}},
    {"q4_k", LMC_TYPE_Q4_K, 2, {256, 2, 1, 1}},
    {"q6_k", LMC_TYPE_Q6_K, 1, {256, 1, 1, 1}},
    {"iq4_xs", LMC_TYPE_IQ4_XS, 1, {256, 1, 1, 1}},
    {"i8", LMC_TYPE_I8, 1, {7, 1, 1, 1}},
    {"i16", LMC_TYPE_I16, 1, {3, 1, 1, 1}},
    {"i32", LMC_TYPE_I32, 1, {5, 1, 1, 1}},
    {"i64", LMC_TYPE_I64, 1, {2, 1, 1, 1}},
    {"f64", LMC_TYPE_F64, 1, {3, 1, 1, 1}},
    {"empty", LMC_TYPE_F32, 2, {0, 4, 1, 1}},
    {"mxfp4", LMC_TYPE_MXFP4, 1, {64, 1, 1, 1}},
};
#define N_TENSORS (int)(sizeof g_tensors / sizeof g_tensors[0])

static size_t tensor_bytes(const tensor_spec *t) {
    size_t n = lmc_type_row_bytes(t->type, t->ne[0]);
    for (int d = 1; d < t->n_dims; d++) n *= (size_t)t->ne[d];
    return n;
}

static uint8_t *tensor_data(int i, size_t n) {
    uint8_t *p = malloc(n + 1);
    for (size_t k = 0; k < n; k++) p[k] = (uint8_t)(k * 31 + (size_t)i * 7 + 1);
    return p;
}

static const uint8_t U8S[] = {0, 1, 255};
static const int8_t I8S[] = {-128, 0, 127};
static const uint16_t U16S[] = {0, 65535};
static const int16_t I16S[] = {-32768, 32767};
static const uint32_t U32S[] = {0, 4294967295u, 7};
static const int32_t I32S[] = {INT32_MIN, -1, INT32_MAX};
static const uint64_t U64S[] = {0, UINT64_MAX, 1ull << 63};
static const int64_t I64S[] = {INT64_MIN, INT64_MAX, -5};
static const float F32S[] = {0.0f, -0.0f, 1.5f, FLT_MAX, FLT_MIN, 1e-45f, INFINITY};
static const double F64S[] = {-0.0, 1.0 / 3.0, DBL_MAX, 5e-324, -INFINITY};
static const uint8_t BOOLS[] = {1, 0, 1, 1};
static const char *const STRS[] = {"", "a", "héllo ✓", "<|endoftext|>", ""};

static char *g_long; /* a 100 000-byte string */

static int fill_writer(lmc_gguf_writer *w, const lmc_gguf *nested) {
    int rc = 0;
    rc |= lmc_gguf_writer_set_str(w, "general.architecture", "llama");
    rc |= lmc_gguf_writer_set_u8(w, "s.u8", 255);
    rc |= lmc_gguf_writer_set_i8(w, "s.i8", -128);
    rc |= lmc_gguf_writer_set_u16(w, "s.u16", 65535);
    rc |= lmc_gguf_writer_set_i16(w, "s.i16", -32768);
    rc |= lmc_gguf_writer_set_u32(w, "s.u32", 4294967295u);
    rc |= lmc_gguf_writer_set_i32(w, "s.i32", INT32_MIN);
    rc |= lmc_gguf_writer_set_u64(w, "s.u64", UINT64_MAX);
    rc |= lmc_gguf_writer_set_i64(w, "s.i64", INT64_MIN);
    rc |= lmc_gguf_writer_set_f32(w, "s.f32", -1.25f);
    rc |= lmc_gguf_writer_set_f64(w, "s.f64", 1.0 / 3.0);
    rc |= lmc_gguf_writer_set_bool(w, "s.true", true);
    rc |= lmc_gguf_writer_set_bool(w, "s.false", false);
    rc |= lmc_gguf_writer_set_str(w, "s.empty", "");
    rc |= lmc_gguf_writer_set_str(w, "s.utf8", "héllo ✓ 日本");
    rc |= lmc_gguf_writer_set_str(w, "s.long", g_long);
    rc |= lmc_gguf_writer_set_array(w, "a.u8", LMC_GGUF_UINT8, U8S, 3);
    rc |= lmc_gguf_writer_set_array(w, "a.i8", LMC_GGUF_INT8, I8S, 3);
    rc |= lmc_gguf_writer_set_array(w, "a.u16", LMC_GGUF_UINT16, U16S, 2);
    rc |= lmc_gguf_writer_set_array(w, "a.i16", LMC_GGUF_INT16, I16S, 2);
    rc |= lmc_gguf_writer_set_array(w, "a.u32", LMC_GGUF_UINT32, U32S, 3);
    rc |= lmc_gguf_writer_set_array(w, "a.i32", LMC_GGUF_INT32, I32S, 3);
    rc |= lmc_gguf_writer_set_array(w, "a.u64", LMC_GGUF_UINT64, U64S, 3);
    rc |= lmc_gguf_writer_set_array(w, "a.i64", LMC_GGUF_INT64, I64S, 3);
    rc |= lmc_gguf_writer_set_array(w, "a.f32", LMC_GGUF_FLOAT32, F32S, 7);
    rc |= lmc_gguf_writer_set_array(w, "a.f64", LMC_GGUF_FLOAT64, F64S, 5);
    rc |= lmc_gguf_writer_set_array(w, "a.bool", LMC_GGUF_BOOL, BOOLS, 4);
    rc |= lmc_gguf_writer_set_array(w, "a.empty", LMC_GGUF_FLOAT32, NULL, 0);
    rc |= lmc_gguf_writer_set_array_str(w, "a.str", STRS, 5);
    rc |= lmc_gguf_writer_set_array_str(w, "a.str.empty", NULL, 0);
    for (int64_t i = 0; i < lmc_gguf_n_kv(nested); i++)
        rc |= lmc_gguf_writer_set_value(w, lmc_gguf_kv_key(nested, i), lmc_gguf_kv_value(nested, i));
    /* Replacing keeps the key's place; removing drops it. */
    rc |= lmc_gguf_writer_set_str(w, "s.replaced", "first");
    rc |= lmc_gguf_writer_set_u32(w, "s.removed", 1);
    rc |= lmc_gguf_writer_set_u16(w, "s.replaced", 77);
    rc |= lmc_gguf_writer_remove(w, "s.removed");
    for (int i = 0; i < N_TENSORS; i++) {
        size_t n = tensor_bytes(&g_tensors[i]);
        uint8_t *data = tensor_data(i, n);
        rc |= lmc_gguf_writer_add_tensor(w, g_tensors[i].name, g_tensors[i].type, g_tensors[i].n_dims,
                                         g_tensors[i].ne, n ? data : NULL, n, true);
        free(data); /* copied */
    }
    return rc;
}

#define CHECK_KEY(g, i, key, type)                                                        \
    do {                                                                                  \
        CHECK_STR(lmc_gguf_kv_key(g, i), key);                                            \
        CHECK_EQ_INT(lmc_gguf_value_type(lmc_gguf_kv_value(g, i)), type);                 \
    } while (0)

static void check_array_bytes(const lmc_gguf *g, const char *key, lmc_gguf_type et, const void *want, size_t n,
                              size_t es) {
    const lmc_gguf_value *v = lmc_gguf_get(g, key);
    CHECK_MSG(v != NULL, "%s missing", key);
    if (!v) return;
    CHECK_EQ_INT(lmc_gguf_array_type(v), et);
    CHECK_EQ_INT(lmc_gguf_array_len(v), n);
    CHECK_MSG(n == 0 || memcmp(lmc_gguf_array_data(v), want, n * es) == 0, "%s: bytes differ", key);
}

static void check_read_back(const char *path, uint32_t alignment) {
    lmc_gguf *g = lmc_gguf_open(path);
    CHECK_MSG(g != NULL, "%s: %s", path, lmc_last_error());
    if (!g) return;
    CHECK_EQ_INT(lmc_gguf_version(g), 3);
    CHECK_EQ_INT(lmc_gguf_alignment(g), alignment);
    CHECK_EQ_INT(lmc_gguf_data_offset(g) % alignment, 0);

    /* Keys in the order they were first set; general.alignment first when given. */
    int64_t i = 0;
    if (alignment != 32) {
        CHECK_KEY(g, i, "general.alignment", LMC_GGUF_UINT32);
        i++;
    }
    static const char *order[] = {"general.architecture", "s.u8", "s.i8", "s.u16", "s.i16", "s.u32", "s.i32",
                                  "s.u64", "s.i64", "s.f32", "s.f64", "s.true", "s.false", "s.empty", "s.utf8",
                                  "s.long", "a.u8", "a.i8", "a.u16", "a.i16", "a.u32", "a.i32", "a.u64", "a.i64",
                                  "a.f32", "a.f64", "a.bool", "a.empty", "a.str", "a.str.empty", "nested.i32",
                                  "nested.str", "nested.deep", "nested.empty", "nan.payload", "s.replaced"};
    int n_order = (int)(sizeof order / sizeof order[0]);
    CHECK_EQ_INT(lmc_gguf_n_kv(g), i + n_order);
    for (int k = 0; k < n_order && i + k < lmc_gguf_n_kv(g); k++) CHECK_STR(lmc_gguf_kv_key(g, i + k), order[k]);
    CHECK(lmc_gguf_find_key(g, "s.removed") < 0);

    int64_t iv;
    uint64_t uv;
    double dv;
    bool bv;
    lmc_str sv;
    CHECK(lmc_gguf_get_str(g, "general.architecture", &sv) == LMC_OK && str_eq(sv, "llama"));
    CHECK(lmc_gguf_get_int(g, "s.u8", &iv) == LMC_OK && iv == 255);
    CHECK_EQ_INT(lmc_gguf_value_type(lmc_gguf_get(g, "s.u8")), LMC_GGUF_UINT8);
    CHECK(lmc_gguf_get_int(g, "s.i8", &iv) == LMC_OK && iv == -128);
    CHECK_EQ_INT(lmc_gguf_value_type(lmc_gguf_get(g, "s.i8")), LMC_GGUF_INT8);
    CHECK(lmc_gguf_get_int(g, "s.u16", &iv) == LMC_OK && iv == 65535);
    CHECK(lmc_gguf_get_int(g, "s.i16", &iv) == LMC_OK && iv == -32768);
    CHECK(lmc_gguf_get_int(g, "s.u32", &iv) == LMC_OK && iv == 4294967295ll);
    CHECK(lmc_gguf_get_int(g, "s.i32", &iv) == LMC_OK && iv == INT32_MIN);
    CHECK(lmc_gguf_value_uint(lmc_gguf_get(g, "s.u64"), &uv) == LMC_OK && uv == UINT64_MAX);
    CHECK(lmc_gguf_get_int(g, "s.u64", &iv) == LMC_ERR_TYPE); /* does not fit int64 */
    CHECK(lmc_gguf_get_int(g, "s.i64", &iv) == LMC_OK && iv == INT64_MIN);
    CHECK(lmc_gguf_get_float(g, "s.f32", &dv) == LMC_OK && dv == -1.25);
    CHECK_EQ_INT(lmc_gguf_value_type(lmc_gguf_get(g, "s.f32")), LMC_GGUF_FLOAT32);
    CHECK(lmc_gguf_get_float(g, "s.f64", &dv) == LMC_OK && dv == 1.0 / 3.0);
    CHECK(lmc_gguf_get_bool(g, "s.true", &bv) == LMC_OK && bv);
    CHECK(lmc_gguf_get_bool(g, "s.false", &bv) == LMC_OK && !bv);
    CHECK(lmc_gguf_get_str(g, "s.empty", &sv) == LMC_OK && sv.len == 0);
    CHECK(lmc_gguf_get_str(g, "s.utf8", &sv) == LMC_OK && str_eq(sv, "héllo ✓ 日本"));
    CHECK(lmc_gguf_get_str(g, "s.long", &sv) == LMC_OK && str_eq(sv, g_long));
    CHECK(lmc_gguf_get_int(g, "s.replaced", &iv) == LMC_OK && iv == 77);
    CHECK_EQ_INT(lmc_gguf_value_type(lmc_gguf_get(g, "s.replaced")), LMC_GGUF_UINT16);

    check_array_bytes(g, "a.u8", LMC_GGUF_UINT8, U8S, 3, 1);
    check_array_bytes(g, "a.i8", LMC_GGUF_INT8, I8S, 3, 1);
    check_array_bytes(g, "a.u16", LMC_GGUF_UINT16, U16S, 2, 2);
    check_array_bytes(g, "a.i16", LMC_GGUF_INT16, I16S, 2, 2);
    check_array_bytes(g, "a.u32", LMC_GGUF_UINT32, U32S, 3, 4);
    check_array_bytes(g, "a.i32", LMC_GGUF_INT32, I32S, 3, 4);
    check_array_bytes(g, "a.u64", LMC_GGUF_UINT64, U64S, 3, 8);
    check_array_bytes(g, "a.i64", LMC_GGUF_INT64, I64S, 3, 8);
    check_array_bytes(g, "a.f32", LMC_GGUF_FLOAT32, F32S, 7, 4);
    check_array_bytes(g, "a.f64", LMC_GGUF_FLOAT64, F64S, 5, 8);
    check_array_bytes(g, "a.bool", LMC_GGUF_BOOL, BOOLS, 4, 1);
    check_array_bytes(g, "a.empty", LMC_GGUF_FLOAT32, NULL, 0, 4);
    CHECK_EQ_INT(lmc_gguf_array_int(lmc_gguf_get(g, "a.i32"), 0), INT32_MIN);
    CHECK(lmc_gguf_array_float(lmc_gguf_get(g, "a.f32"), 2) == 1.5);
    const lmc_gguf_value *v = lmc_gguf_get(g, "a.str");
    CHECK(v && lmc_gguf_array_type(v) == LMC_GGUF_STRING && lmc_gguf_array_len(v) == 5);
    for (uint64_t j = 0; v && j < 5; j++) CHECK(str_eq(lmc_gguf_array_str(v, j), STRS[j]));
    v = lmc_gguf_get(g, "a.str.empty");
    CHECK(v && lmc_gguf_array_type(v) == LMC_GGUF_STRING && lmc_gguf_array_len(v) == 0);

    /* nested arrays */
    v = lmc_gguf_get(g, "nested.i32");
    CHECK(v && lmc_gguf_array_type(v) == LMC_GGUF_ARRAY && lmc_gguf_array_len(v) == 3);
    if (v) {
        const lmc_gguf_value *a0 = lmc_gguf_array_item(v, 0), *a1 = lmc_gguf_array_item(v, 1),
                             *a2 = lmc_gguf_array_item(v, 2);
        CHECK(a0 && lmc_gguf_array_type(a0) == LMC_GGUF_INT32 && lmc_gguf_array_len(a0) == 2 &&
              lmc_gguf_array_int(a0, 0) == 1 && lmc_gguf_array_int(a0, 1) == 2);
        CHECK(a1 && lmc_gguf_array_type(a1) == LMC_GGUF_INT32 && lmc_gguf_array_len(a1) == 0);
        CHECK(a2 && lmc_gguf_array_len(a2) == 1 && lmc_gguf_array_int(a2, 0) == 3);
    }
    v = lmc_gguf_get(g, "nested.str");
    CHECK(v && lmc_gguf_array_len(v) == 2);
    if (v) {
        const lmc_gguf_value *s0 = lmc_gguf_array_item(v, 0), *s1 = lmc_gguf_array_item(v, 1);
        CHECK(s0 && lmc_gguf_array_type(s0) == LMC_GGUF_STRING && lmc_gguf_array_len(s0) == 2 &&
              str_eq(lmc_gguf_array_str(s0, 0), "a") && str_eq(lmc_gguf_array_str(s0, 1), ""));
        CHECK(s1 && lmc_gguf_array_type(s1) == LMC_GGUF_STRING && lmc_gguf_array_len(s1) == 0);
    }
    v = lmc_gguf_get(g, "nested.deep");
    const lmc_gguf_value *d1 = lmc_gguf_array_item(v, 0), *d2 = lmc_gguf_array_item(d1, 0);
    CHECK(d2 && lmc_gguf_array_type(d2) == LMC_GGUF_FLOAT64 && lmc_gguf_array_float(d2, 0) == 2.5);
    v = lmc_gguf_get(g, "nested.empty");
    CHECK(v && lmc_gguf_array_type(v) == LMC_GGUF_ARRAY && lmc_gguf_array_len(v) == 0);
    v = lmc_gguf_get(g, "nan.payload");
    uint32_t bits = 0;
    if (v && lmc_gguf_value_float(v, &dv) == LMC_OK) {
        CHECK(isnan(dv));
    }
    /* bit-exact: find the payload's bytes in the file */
    size_t fn;
    uint8_t *file = slurp(path, &fn);
    const uint8_t key[] = "nan.payload";
    uint8_t *at = file ? memmem(file, fn, key, sizeof key - 1) : NULL;
    if (at) memcpy(&bits, at + sizeof key - 1 + 4, 4);
    CHECK_MSG(bits == 0x7fc01234u, "NaN payload 0x%08x", bits);

    /* tensors: same order, metadata and bytes; aligned; zero padding between */
    CHECK_EQ_INT(lmc_gguf_n_tensors(g), N_TENSORS);
    uint64_t data = lmc_gguf_data_offset(g), pos = data;
    for (int k = 0; k < N_TENSORS && k < lmc_gguf_n_tensors(g); k++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, k);
        const tensor_spec *s = &g_tensors[k];
        size_t n = tensor_bytes(s);
        CHECK_STR(t->name, s->name);
        CHECK_EQ_INT(t->type, s->type);
        CHECK_EQ_INT(t->n_dims, s->n_dims);
        for (int d = 0; d < 4; d++) CHECK_EQ_INT(t->ne[d], s->ne[d]);
        CHECK_EQ_INT(t->n_bytes, n);
        CHECK_EQ_INT(t->offset % alignment, 0);
        uint8_t *want = tensor_data(k, n);
        CHECK_MSG(n == 0 || memcmp(t->data, want, n) == 0, "tensor %s: bytes differ", s->name);
        free(want);
        CHECK(lmc_gguf_find_tensor(g, s->name) == t);
        uint64_t start = data + t->offset;
        for (uint64_t p = pos; file && p < start && p < fn; p++)
            if (file[p] != 0) {
                CHECK_MSG(0, "padding byte %llu before %s is %u", (unsigned long long)p, s->name, file[p]);
                break;
            }
        if (start + n > pos) pos = start + n;
    }
    for (uint64_t p = pos; file && p < fn; p++)
        if (file[p] != 0) {
            CHECK_MSG(0, "trailing padding byte %llu is %u", (unsigned long long)p, file[p]);
            break;
        }
    CHECK_EQ_INT(fn % alignment, 0);
    free(file);
    lmc_gguf_close(g);
}

/* ---- input checks ---------------------------------------------------------------------------- */

static void check_validation(void) {
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    float f[64] = {0};
    int64_t ne2[2] = {4, 2}, ne1[1] = {16}, neg[2] = {-4, 2}, ne5[5] = {1, 1, 1, 1, 1};
    CHECK(lmc_gguf_writer_add_tensor(w, "ok", LMC_TYPE_F32, 2, ne2, f, 32, false) == LMC_OK);
    /* byte count must agree with type and shape */
    CHECK(lmc_gguf_writer_add_tensor(w, "short", LMC_TYPE_F32, 2, ne2, f, 28, false) == LMC_ERR_INVALID_ARG);
    CHECK(strstr(lmc_last_error(), "needs 32 bytes, 28 given") != NULL);
    CHECK(lmc_gguf_writer_add_tensor(w, "ok", LMC_TYPE_F32, 2, ne2, f, 32, false) == LMC_ERR_INVALID_ARG);
    CHECK(strstr(lmc_last_error(), "duplicate tensor name 'ok'") != NULL);
    CHECK(lmc_gguf_writer_add_tensor(w, "t4", (lmc_type)4, 2, ne2, f, 32, false) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_add_tensor(w, "t99", (lmc_type)99, 2, ne2, f, 32, false) == LMC_ERR_INVALID_ARG);
    CHECK(strstr(lmc_last_error(), "unknown type") != NULL);
    CHECK(lmc_gguf_writer_add_tensor(w, "d0", LMC_TYPE_F32, 0, ne2, f, 4, false) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_add_tensor(w, "d5", LMC_TYPE_F32, 5, ne5, f, 4, false) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_add_tensor(w, "neg", LMC_TYPE_F32, 2, neg, f, 32, false) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_add_tensor(w, "q", LMC_TYPE_Q4_0, 1, ne1, f, 9, false) == LMC_ERR_INVALID_ARG);
    CHECK(strstr(lmc_last_error(), "not a multiple of 32") != NULL);
    CHECK(lmc_gguf_writer_add_tensor(w, "null", LMC_TYPE_F32, 2, ne2, NULL, 32, false) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_add_tensor(w, "", LMC_TYPE_F32, 2, ne2, f, 32, false) == LMC_ERR_INVALID_ARG);
    char longname[80];
    memset(longname, 'x', 64);
    longname[64] = 0;
    CHECK(lmc_gguf_writer_add_tensor(w, longname, LMC_TYPE_F32, 2, ne2, f, 32, false) == LMC_ERR_INVALID_ARG);
    longname[63] = 0; /* 63 bytes: llama.cpp's limit, allowed */
    CHECK(lmc_gguf_writer_add_tensor(w, longname, LMC_TYPE_F32, 2, ne2, f, 32, true) == LMC_OK);
    int64_t huge[2] = {INT64_MAX, 4};
    CHECK(lmc_gguf_writer_add_tensor(w, "huge", LMC_TYPE_F32, 2, huge, f, 32, false) == LMC_ERR_INVALID_ARG);

    CHECK(lmc_gguf_writer_set_alignment(w, 0) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_set_alignment(w, 48) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_set_str(w, "general.alignment", "64") == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_set_u64(w, "general.alignment", 64) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_set_u32(w, "general.alignment", 24) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_set_u32(w, "", 1) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_set_u32(w, NULL, 1) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_set_str(w, "k", NULL) == LMC_ERR_INVALID_ARG);
    uint8_t badbool[2] = {1, 2};
    CHECK(lmc_gguf_writer_set_array(w, "b", LMC_GGUF_BOOL, badbool, 2) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_set_array(w, "s", LMC_GGUF_STRING, badbool, 2) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_set_array(w, "n", LMC_GGUF_UINT32, NULL, 2) == LMC_ERR_INVALID_ARG);
    const char *strs[2] = {"a", NULL};
    CHECK(lmc_gguf_writer_set_array_str(w, "s", strs, 2) == LMC_ERR_INVALID_ARG);
    CHECK(lmc_gguf_writer_remove(w, "absent") == LMC_ERR_NOT_FOUND);
    CHECK(lmc_gguf_writer_set_value(w, "v", NULL) == LMC_ERR_INVALID_ARG);

    /* After all those refusals the writer still holds just the two good tensors and no keys. */
    char path[300];
    path_in(path, sizeof path, "validation.gguf");
    CHECK(lmc_gguf_writer_write(w, path) == LMC_OK);
    lmc_gguf *g = lmc_gguf_open(path);
    CHECK_MSG(g != NULL, "%s", lmc_last_error());
    if (g) {
        CHECK_EQ_INT(lmc_gguf_n_kv(g), 0);
        CHECK_EQ_INT(lmc_gguf_n_tensors(g), 2);
        CHECK_EQ_INT(lmc_gguf_alignment(g), 32);
        lmc_gguf_close(g);
    }
    unlink(path);

    /* general.alignment set as a key moves the data like set_alignment; removing it
     * goes back to 32. */
    CHECK(lmc_gguf_writer_set_u32(w, "general.alignment", 128) == LMC_OK);
    CHECK(lmc_gguf_writer_write(w, path) == LMC_OK);
    g = lmc_gguf_open(path);
    CHECK(g && lmc_gguf_alignment(g) == 128 && lmc_gguf_data_offset(g) % 128 == 0 &&
          lmc_gguf_tensor(g, 1)->offset == 128);
    lmc_gguf_close(g);
    CHECK(lmc_gguf_writer_remove(w, "general.alignment") == LMC_OK);
    CHECK(lmc_gguf_writer_write(w, path) == LMC_OK);
    g = lmc_gguf_open(path);
    CHECK(g && lmc_gguf_alignment(g) == 32 && lmc_gguf_n_kv(g) == 0);
    lmc_gguf_close(g);
    unlink(path);
    lmc_gguf_writer_free(w);
    lmc_gguf_writer_free(NULL);
}

/* ---- atomic write ---------------------------------------------------------------------------- */

static void check_atomic(void) {
    char path[300], tmp[310];
    path_in(path, sizeof path, "atomic.gguf");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    lmc_gguf_writer *a = lmc_gguf_writer_init(), *b = lmc_gguf_writer_init();
    lmc_gguf_writer_set_str(a, "which", "a");
    lmc_gguf_writer_set_str(b, "which", "b");
    CHECK(lmc_gguf_writer_write(a, path) == LMC_OK);
    CHECK(access(tmp, F_OK) != 0); /* the temporary is gone after success */
    CHECK(lmc_gguf_writer_write(b, path) == LMC_OK); /* replaces */
    lmc_gguf *g = lmc_gguf_open(path);
    lmc_str s = {0};
    CHECK(g && lmc_gguf_get_str(g, "which", &s) == LMC_OK && str_eq(s, "b"));
    lmc_gguf_close(g);

    /* A folder that does not exist: an I/O error naming the file, nothing created. */
    char bad[320];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.gguf", g_dir);
    CHECK(lmc_gguf_writer_write(a, bad) == LMC_ERR_IO);
    CHECK(strstr(lmc_last_error(), "x.gguf.tmp") != NULL);
    /* The target is a folder: the rename fails, the temporary is removed and the folder kept. */
    char sub[300], subtmp[310];
    path_in(sub, sizeof sub, "a-folder");
    snprintf(subtmp, sizeof subtmp, "%s.tmp", sub);
    mkdir(sub, 0755);
    CHECK(lmc_gguf_writer_write(a, sub) == LMC_ERR_IO);
    CHECK(strstr(lmc_last_error(), "cannot rename") != NULL);
    CHECK(access(subtmp, F_OK) != 0);
    struct stat st;
    CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    rmdir(sub);
    unlink(path);
    lmc_gguf_writer_free(a);
    lmc_gguf_writer_free(b);
}

/* ---- copying a real model ------------------------------------------------------------------- */

/* llama.cpp's converter and lmc lay files out the same way (keys, tensor infos, padding
 * to the alignment after the header and after every tensor), so copying every key and
 * tensor of a converted model must give back the very same bytes. */
static void check_model_copy(const char *model) {
    lmc_gguf *src = lmc_gguf_open(model);
    CHECK_MSG(src != NULL, "%s: %s", model, lmc_last_error());
    if (!src) return;
    lmc_gguf_writer *w = lmc_gguf_writer_init();
    for (int64_t i = 0; i < lmc_gguf_n_kv(src); i++)
        CHECK(lmc_gguf_writer_set_value(w, lmc_gguf_kv_key(src, i), lmc_gguf_kv_value(src, i)) == LMC_OK);
    for (int64_t i = 0; i < lmc_gguf_n_tensors(src); i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(src, i);
        CHECK(lmc_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes, false) ==
              LMC_OK);
    }
    char path[300];
    path_in(path, sizeof path, "copy.gguf");
    CHECK(lmc_gguf_writer_write(w, path) == LMC_OK);
    lmc_gguf_writer_free(w);
    lmc_gguf_close(src);
    size_t n1, n2;
    uint8_t *a = slurp(model, &n1), *b = slurp(path, &n2);
    size_t first = 0;
    while (a && b && first < n1 && first < n2 && a[first] == b[first]) first++;
    CHECK_MSG(a && b && n1 == n2 && first == n1, "%s: copy differs (sizes %zu vs %zu, first difference at byte %zu)",
              model, n1, n2, first);
    free(a);
    free(b);
    unlink(path);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/lmc-gguf-rt-XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);
    g_long = malloc(100001);
    for (int i = 0; i < 100000; i++) g_long[i] = (char)('a' + i % 26);
    g_long[100000] = 0;

    char src_path[300];
    path_in(src_path, sizeof src_path, "nested-src.gguf");
    build_nested_source(src_path);
    lmc_gguf *nested = lmc_gguf_open(src_path);
    CHECK_MSG(nested != NULL, "nested source: %s", lmc_last_error());
    if (!nested) return t_done("test_gguf_roundtrip");

    static const uint32_t aligns[] = {32, 1, 8, 64, 256, 4096};
    for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++) {
        lmc_gguf_writer *w = lmc_gguf_writer_init();
        CHECK(w != NULL);
        if (aligns[a] != 32) CHECK(lmc_gguf_writer_set_alignment(w, aligns[a]) == LMC_OK);
        CHECK_MSG(fill_writer(w, nested) == LMC_OK, "filling the writer: %s", lmc_last_error());
        char path[300];
        snprintf(path, sizeof path, "%s/rt-%u.gguf", g_dir, aligns[a]);
        CHECK_MSG(lmc_gguf_writer_write(w, path) == LMC_OK, "%s", lmc_last_error());
        /* writing twice gives the same file */
        char path2[310];
        snprintf(path2, sizeof path2, "%s.again", path);
        CHECK(lmc_gguf_writer_write(w, path2) == LMC_OK);
        lmc_gguf_writer_free(w);
        check_read_back(path, aligns[a]);
        size_t n1, n2;
        uint8_t *f1 = slurp(path, &n1), *f2 = slurp(path2, &n2);
        CHECK(f1 && f2 && n1 == n2 && memcmp(f1, f2, n1) == 0);
        free(f1);
        free(f2);
        unlink(path);
        unlink(path2);
    }
    lmc_gguf_close(nested);
    unlink(src_path);

    check_validation();
    check_atomic();
    check_model_copy(t_shared("models/stories260K.gguf"));
    check_model_copy(t_shared("models/synthetic/synth-llama-Q4_K_M.gguf"));
    check_model_copy(t_shared("models/random/llama-2-tiny-random-Q8_0.gguf"));
    rmdir(g_dir);
    free(g_long);
    return t_done("test_gguf_roundtrip");
}
