/* gguf_tool.c — test helper that exposes lmc's GGUF reader and writer to the Python
 * compatibility test (tests/gguf/test_gguf_compat.py), which checks both against the
 * `gguf` package's GGUFReader.
 *
 *   gguf_tool dump FILE        print everything lmc reads from FILE as JSON
 *   gguf_tool write SPEC OUT   write OUT with lmc's writer from a JSON spec
 *
 * JSON numbers are doubles in most parsers, so exactness is kept by text: integers in
 * the dump are plain decimal (Python reads them exactly), floats are C99 hex floats in
 * strings ("0x1.8p+0", "inf", "nan"), strings and names are hex of their bytes. In a
 * spec, integers are decimal strings and floats hex-float strings for the same reason.
 *
 * Value encoding (dump and spec): {"t": TYPE, "v": X}; for arrays
 * {"t": 9, "et": ELEM_TYPE, "v": [X, ...]} where nested arrays are again {"et":..,"v":..}.
 *
 * Spec: {"alignment": N?, "copy_from": PATH?, "copy_tensors": BOOL?, "remove": [KEY]?,
 *        "kv": [{"key": KEY, "t": T, "v": X}], "tensors": [{"name", "type", "ne", "data"(hex)}]} */
#include "lmc.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- dump ------------------------------------------------------------------------------ */

static void put_hex(const void *p, uint64_t n) {
    const uint8_t *b = p;
    putchar('"');
    for (uint64_t i = 0; i < n; i++) printf("%02x", b[i]);
    putchar('"');
}

static void put_float(double f) {
    if (isnan(f))
        printf("\"%snan\"", signbit(f) ? "-" : "");
    else if (isinf(f))
        printf("\"%sinf\"", f < 0 ? "-" : "");
    else
        printf("\"%a\"", f);
}

/* A scalar read from raw bytes of type t (array elements and scalars alike). */
static void put_scalar(lmc_gguf_type t, const uint8_t *p) {
    switch (t) {
    case LMC_GGUF_UINT8: printf("%u", p[0]); break;
    case LMC_GGUF_INT8: printf("%d", (int8_t)p[0]); break;
    case LMC_GGUF_BOOL: printf("%s", p[0] ? "true" : "false"); break;
    case LMC_GGUF_UINT16: { uint16_t x; memcpy(&x, p, 2); printf("%u", x); break; }
    case LMC_GGUF_INT16: { int16_t x; memcpy(&x, p, 2); printf("%d", x); break; }
    case LMC_GGUF_UINT32: { uint32_t x; memcpy(&x, p, 4); printf("%" PRIu32, x); break; }
    case LMC_GGUF_INT32: { int32_t x; memcpy(&x, p, 4); printf("%" PRId32, x); break; }
    case LMC_GGUF_UINT64: { uint64_t x; memcpy(&x, p, 8); printf("%" PRIu64, x); break; }
    case LMC_GGUF_INT64: { int64_t x; memcpy(&x, p, 8); printf("%" PRId64, x); break; }
    case LMC_GGUF_FLOAT32: { float x; memcpy(&x, p, 4); put_float(x); break; }
    case LMC_GGUF_FLOAT64: { double x; memcpy(&x, p, 8); put_float(x); break; }
    default: printf("null");
    }
}

static size_t elem_size(lmc_gguf_type t) {
    switch (t) {
    case LMC_GGUF_UINT8: case LMC_GGUF_INT8: case LMC_GGUF_BOOL: return 1;
    case LMC_GGUF_UINT16: case LMC_GGUF_INT16: return 2;
    case LMC_GGUF_UINT32: case LMC_GGUF_INT32: case LMC_GGUF_FLOAT32: return 4;
    case LMC_GGUF_UINT64: case LMC_GGUF_INT64: case LMC_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* The array part {"et":..,"v":[..]} of an array value. */
static void put_array_body(const lmc_gguf_value *v) {
    lmc_gguf_type et = lmc_gguf_array_type(v);
    uint64_t n = lmc_gguf_array_len(v);
    printf("\"et\":%d,\"v\":[", (int)et);
    const uint8_t *raw = lmc_gguf_array_data(v);
    size_t es = elem_size(et);
    for (uint64_t j = 0; j < n; j++) {
        if (j) putchar(',');
        if (es) {
            put_scalar(et, raw + j * es);
            /* the typed accessors must agree with the raw bytes */
            if (et != LMC_GGUF_BOOL && et != LMC_GGUF_FLOAT32 && et != LMC_GGUF_FLOAT64 && et != LMC_GGUF_UINT64) {
                int64_t a = lmc_gguf_array_int(v, j);
                double d = lmc_gguf_array_float(v, j);
                if ((double)a != d) fprintf(stderr, "gguf_tool: array_int/array_float disagree at %" PRIu64 "\n", j);
            }
        } else if (et == LMC_GGUF_STRING) {
            lmc_str s = lmc_gguf_array_str(v, j);
            put_hex(s.ptr, s.len);
        } else {
            putchar('{');
            put_array_body(lmc_gguf_array_item(v, j));
            putchar('}');
        }
    }
    putchar(']');
}

static void put_value(const lmc_gguf_value *v) {
    lmc_gguf_type t = lmc_gguf_value_type(v);
    printf("{\"t\":%d,", (int)t);
    if (t == LMC_GGUF_ARRAY) {
        put_array_body(v);
    } else if (t == LMC_GGUF_STRING) {
        lmc_str s;
        lmc_gguf_value_str(v, &s);
        printf("\"v\":");
        put_hex(s.ptr, s.len);
    } else {
        /* Scalars through the typed getters, to test them too. */
        printf("\"v\":");
        int64_t i;
        uint64_t u;
        double f;
        bool b;
        if (t == LMC_GGUF_BOOL && lmc_gguf_value_bool(v, &b) == LMC_OK)
            printf("%s", b ? "true" : "false");
        else if ((t == LMC_GGUF_FLOAT32 || t == LMC_GGUF_FLOAT64) && lmc_gguf_value_float(v, &f) == LMC_OK)
            put_float(f);
        else if ((t == LMC_GGUF_UINT8 || t == LMC_GGUF_UINT16 || t == LMC_GGUF_UINT32 || t == LMC_GGUF_UINT64) &&
                 lmc_gguf_value_uint(v, &u) == LMC_OK)
            printf("%" PRIu64, u);
        else if (lmc_gguf_value_int(v, &i) == LMC_OK)
            printf("%" PRId64, i);
        else
            printf("null");
    }
    putchar('}');
}

static int dump(const char *path) {
    lmc_gguf *g = lmc_gguf_open(path);
    if (!g) {
        fprintf(stderr, "%s\n", lmc_last_error());
        return 1;
    }
    printf("{\"version\":%u,\"alignment\":%" PRIu64 ",\"data_offset\":%" PRIu64 ",\"file_size\":%" PRIu64 ",\n\"kv\":[",
           lmc_gguf_version(g), lmc_gguf_alignment(g), lmc_gguf_data_offset(g), lmc_gguf_file_size(g));
    for (int64_t i = 0; i < lmc_gguf_n_kv(g); i++) {
        const char *k = lmc_gguf_kv_key(g, i);
        printf("%s\n{\"key\":", i ? "," : "");
        put_hex(k, strlen(k));
        printf(",\"value\":");
        put_value(lmc_gguf_kv_value(g, i));
        putchar('}');
    }
    printf("],\n\"tensors\":[");
    for (int64_t i = 0; i < lmc_gguf_n_tensors(g); i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
        printf("%s\n{\"name\":", i ? "," : "");
        put_hex(t->name, strlen(t->name));
        printf(",\"type\":%d,\"ne\":[", (int)t->type);
        for (int d = 0; d < t->n_dims; d++) printf("%s%" PRId64, d ? "," : "", t->ne[d]);
        printf("],\"n_elements\":%" PRId64 ",\"offset\":%" PRIu64 ",\"n_bytes\":%zu}", t->n_elements, t->offset,
               t->n_bytes);
    }
    printf("]}\n");
    lmc_gguf_close(g);
    return 0;
}

/* ---- write ---------------------------------------------------------------------------- */

static int die(const char *what) {
    fprintf(stderr, "gguf_tool write: %s%s%s\n", what, lmc_last_error()[0] ? ": " : "", lmc_last_error());
    return 1;
}

static uint8_t *from_hex(const char *s, size_t *n) {
    size_t len = strlen(s) / 2;
    uint8_t *b = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned x;
        sscanf(s + 2 * i, "%2x", &x);
        b[i] = (uint8_t)x;
    }
    b[len] = 0;
    *n = len;
    return b;
}

/* Packs one spec scalar of type t into p (elem_size(t) bytes). */
static void pack_scalar(lmc_gguf_type t, const cJSON *x, uint8_t *p) {
    if (t == LMC_GGUF_BOOL) {
        p[0] = cJSON_IsTrue(x) ? 1 : 0;
        return;
    }
    const char *s = cJSON_GetStringValue(x);
    if (!s) s = "0";
    if (t == LMC_GGUF_FLOAT32) {
        float f = (float)strtod(s, NULL);
        memcpy(p, &f, 4);
        return;
    }
    if (t == LMC_GGUF_FLOAT64) {
        double f = strtod(s, NULL);
        memcpy(p, &f, 8);
        return;
    }
    bool is_signed = t == LMC_GGUF_INT8 || t == LMC_GGUF_INT16 || t == LMC_GGUF_INT32 || t == LMC_GGUF_INT64;
    uint64_t u = is_signed ? (uint64_t)strtoll(s, NULL, 10) : strtoull(s, NULL, 10);
    memcpy(p, &u, elem_size(t)); /* little-endian: the low bytes */
}

static int set_kv(lmc_gguf_writer *w, const cJSON *e) {
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(e, "key"));
    int t = cJSON_GetObjectItem(e, "t")->valueint;
    const cJSON *x = cJSON_GetObjectItem(e, "v");
    uint8_t buf[8];
    switch (t) {
    case LMC_GGUF_UINT8: pack_scalar(t, x, buf); return lmc_gguf_writer_set_u8(w, key, buf[0]);
    case LMC_GGUF_INT8: pack_scalar(t, x, buf); return lmc_gguf_writer_set_i8(w, key, (int8_t)buf[0]);
    case LMC_GGUF_BOOL: return lmc_gguf_writer_set_bool(w, key, cJSON_IsTrue(x));
    case LMC_GGUF_UINT16: { uint16_t v; pack_scalar(t, x, buf); memcpy(&v, buf, 2); return lmc_gguf_writer_set_u16(w, key, v); }
    case LMC_GGUF_INT16: { int16_t v; pack_scalar(t, x, buf); memcpy(&v, buf, 2); return lmc_gguf_writer_set_i16(w, key, v); }
    case LMC_GGUF_UINT32: { uint32_t v; pack_scalar(t, x, buf); memcpy(&v, buf, 4); return lmc_gguf_writer_set_u32(w, key, v); }
    case LMC_GGUF_INT32: { int32_t v; pack_scalar(t, x, buf); memcpy(&v, buf, 4); return lmc_gguf_writer_set_i32(w, key, v); }
    case LMC_GGUF_UINT64: { uint64_t v; pack_scalar(t, x, buf); memcpy(&v, buf, 8); return lmc_gguf_writer_set_u64(w, key, v); }
    case LMC_GGUF_INT64: { int64_t v; pack_scalar(t, x, buf); memcpy(&v, buf, 8); return lmc_gguf_writer_set_i64(w, key, v); }
    case LMC_GGUF_FLOAT32: { float v; pack_scalar(t, x, buf); memcpy(&v, buf, 4); return lmc_gguf_writer_set_f32(w, key, v); }
    case LMC_GGUF_FLOAT64: { double v; pack_scalar(t, x, buf); memcpy(&v, buf, 8); return lmc_gguf_writer_set_f64(w, key, v); }
    case LMC_GGUF_STRING: {
        size_t n;
        uint8_t *s = from_hex(cJSON_GetStringValue(x), &n);
        int rc = lmc_gguf_writer_set_str(w, key, (const char *)s);
        free(s);
        return rc;
    }
    case LMC_GGUF_ARRAY: {
        int et = cJSON_GetObjectItem(e, "et")->valueint;
        int n = cJSON_GetArraySize(x);
        if (et == LMC_GGUF_STRING) {
            char **strs = calloc((size_t)n + 1, sizeof *strs);
            size_t len;
            for (int j = 0; j < n; j++) strs[j] = (char *)from_hex(cJSON_GetStringValue(cJSON_GetArrayItem(x, j)), &len);
            int rc = lmc_gguf_writer_set_array_str(w, key, (const char *const *)strs, (uint64_t)n);
            for (int j = 0; j < n; j++) free(strs[j]);
            free(strs);
            return rc;
        }
        size_t es = elem_size((lmc_gguf_type)et);
        uint8_t *data = malloc((size_t)n * es + 1);
        for (int j = 0; j < n; j++) pack_scalar((lmc_gguf_type)et, cJSON_GetArrayItem(x, j), data + (size_t)j * es);
        int rc = lmc_gguf_writer_set_array(w, key, (lmc_gguf_type)et, data, (uint64_t)n);
        free(data);
        return rc;
    }
    default: return LMC_ERR_INVALID_ARG;
    }
}

static int write_spec(const char *spec_path, const char *out) {
    FILE *f = fopen(spec_path, "rb");
    if (!f) return die("cannot open the spec");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    if (fread(text, 1, (size_t)len, f) != (size_t)len) return die("cannot read the spec");
    text[len] = 0;
    fclose(f);
    cJSON *spec = cJSON_Parse(text);
    free(text);
    if (!spec) return die("spec is not JSON");

    lmc_gguf_writer *w = lmc_gguf_writer_init();
    lmc_gguf *src = NULL;
    const char *copy_from = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "copy_from"));
    if (copy_from) {
        src = lmc_gguf_open(copy_from);
        if (!src) return die("cannot open copy_from");
        for (int64_t i = 0; i < lmc_gguf_n_kv(src); i++)
            if (lmc_gguf_writer_set_value(w, lmc_gguf_kv_key(src, i), lmc_gguf_kv_value(src, i)) != LMC_OK)
                return die("set_value");
        if (cJSON_IsTrue(cJSON_GetObjectItem(spec, "copy_tensors")))
            for (int64_t i = 0; i < lmc_gguf_n_tensors(src); i++) {
                const lmc_tensor_info *t = lmc_gguf_tensor(src, i);
                if (lmc_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes, false))
                    return die("add_tensor (copy)");
            }
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(spec, "remove")) {
        if (lmc_gguf_writer_remove(w, cJSON_GetStringValue(e)) != LMC_OK) return die("remove");
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(spec, "kv")) {
        if (set_kv(w, e) != LMC_OK) return die("set kv");
    }
    const cJSON *al = cJSON_GetObjectItem(spec, "alignment");
    if (cJSON_IsNumber(al) && lmc_gguf_writer_set_alignment(w, (uint32_t)al->valueint) != LMC_OK)
        return die("set_alignment");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(spec, "tensors")) {
        int64_t ne[LMC_MAX_DIMS];
        const cJSON *jne = cJSON_GetObjectItem(e, "ne");
        int n_dims = cJSON_GetArraySize(jne);
        for (int d = 0; d < n_dims && d < LMC_MAX_DIMS; d++) ne[d] = (int64_t)cJSON_GetArrayItem(jne, d)->valuedouble;
        size_t n;
        uint8_t *data = from_hex(cJSON_GetStringValue(cJSON_GetObjectItem(e, "data")), &n);
        int rc = lmc_gguf_writer_add_tensor(w, cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")),
                                            (lmc_type)cJSON_GetObjectItem(e, "type")->valueint, n_dims, ne, data, n,
                                            true);
        free(data);
        if (rc != LMC_OK) return die("add_tensor");
    }
    if (lmc_gguf_writer_write(w, out) != LMC_OK) return die("write");
    lmc_gguf_writer_free(w);
    lmc_gguf_close(src);
    cJSON_Delete(spec);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "dump") == 0) return dump(argv[2]);
    if (argc == 4 && strcmp(argv[1], "write") == 0) return write_spec(argv[2], argv[3]);
    fprintf(stderr, "usage: gguf_tool dump FILE | gguf_tool write SPEC.json OUT.gguf\n");
    return 2;
}
