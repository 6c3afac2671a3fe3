/* gguf_bytes.h — builds GGUF files byte by byte for tests, well-formed or not: the
 * tests need files the writer would refuse to make (bad counts, overlaps, ...), and
 * files whose every byte they know. Little-endian, as GGUF is. */
#ifndef LMC_TEST_GGUF_BYTES_H
#define LMC_TEST_GGUF_BYTES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
} gb;

static inline void gb_put(gb *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "gb_put: out of memory\n");
            abort();
        }
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static inline void gb_u8(gb *b, uint8_t v) { gb_put(b, &v, 1); }
static inline void gb_u16(gb *b, uint16_t v) { gb_put(b, &v, 2); }
static inline void gb_u32(gb *b, uint32_t v) { gb_put(b, &v, 4); }
static inline void gb_u64(gb *b, uint64_t v) { gb_put(b, &v, 8); }
static inline void gb_f32(gb *b, float v) { gb_put(b, &v, 4); }
static inline void gb_f64(gb *b, double v) { gb_put(b, &v, 8); }
/* A GGUF string: u64 length + bytes. */
static inline void gb_str(gb *b, const char *s) {
    gb_u64(b, strlen(s));
    gb_put(b, s, strlen(s));
}
/* magic, version, tensor count, kv count */
static inline void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gb_put(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}
/* A key with the type tag of its value; the caller appends the payload. */
static inline void gb_key(gb *b, const char *key, uint32_t type) {
    gb_str(b, key);
    gb_u32(b, type);
}
/* A tensor info with up to 4 dimensions. */
static inline void gb_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                             uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) gb_u64(b, ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}
static inline void gb_pad(gb *b, size_t align) {
    while (b->len % align) gb_u8(b, 0);
}
static inline void gb_zeros(gb *b, size_t n) {
    for (size_t i = 0; i < n; i++) gb_u8(b, 0);
}
static inline int gb_write(const gb *b, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t k = b->len ? fwrite(b->p, 1, b->len, f) : 0;
    int rc = fclose(f);
    return (k == b->len && rc == 0) ? 0 : -1;
}
static inline void gb_free(gb *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

#endif /* LMC_TEST_GGUF_BYTES_H */
