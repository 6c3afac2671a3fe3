/* fuzz_gguf.c — libFuzzer target for the GGUF reader.
 *
 * Each input is put in a memory file (memfd) and opened through its /proc/self/fd path,
 * so the reader runs exactly as on a real file: open, fstat, mmap, parse. When the file
 * opens, every key, value (nested arrays included), string byte and tensor extent is
 * walked through the public API so ASan sees any read the reader's checks let through.
 * Invariants that must hold for any input abort(), which libFuzzer reports as a crash.
 *
 * Built by fuzz/CMakeLists.txt with -fsanitize=fuzzer,address,undefined, and without
 * libFuzzer by tests/fuzz_replay.c, which feeds it the committed corpus in ctest. */
#include "lmc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int g_fd = -1;
static char g_path[64];

static volatile uint64_t g_sink; /* keeps the reads below from being optimised out */

#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_gguf: invariant failed: %s (%s:%d)\n", #cond, __FILE__,  \
                    __LINE__);                                                           \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static void touch(const void *p, uint64_t n) {
    const uint8_t *b = p;
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++) s += b[i];
    g_sink += s;
}

static void walk_value(const lmc_gguf_value *v, int depth) {
    REQUIRE(v != NULL);
    REQUIRE(depth < 64);
    int64_t i;
    uint64_t u;
    double f;
    bool b;
    lmc_str s;
    lmc_gguf_type t = lmc_gguf_value_type(v);
    REQUIRE((unsigned)t < LMC_GGUF_TYPE_COUNT);
    (void)lmc_gguf_type_name(t);
    if (lmc_gguf_value_int(v, &i) == LMC_OK) g_sink += (uint64_t)i;
    if (lmc_gguf_value_uint(v, &u) == LMC_OK) g_sink += u;
    if (lmc_gguf_value_float(v, &f) == LMC_OK) g_sink += (uint64_t)(f == f);
    if (lmc_gguf_value_bool(v, &b) == LMC_OK) g_sink += b;
    if (lmc_gguf_value_str(v, &s) == LMC_OK) {
        REQUIRE(t == LMC_GGUF_STRING);
        touch(s.ptr, s.len);
    }
    if (t != LMC_GGUF_ARRAY) {
        REQUIRE(lmc_gguf_array_len(v) == 0);
        REQUIRE(lmc_gguf_array_item(v, 0) == NULL);
        return;
    }
    lmc_gguf_type et = lmc_gguf_array_type(v);
    REQUIRE((unsigned)et < LMC_GGUF_TYPE_COUNT);
    uint64_t n = lmc_gguf_array_len(v);
    const void *raw = lmc_gguf_array_data(v);
    for (uint64_t j = 0; j < n; j++) {
        if (et == LMC_GGUF_STRING) {
            lmc_str e = lmc_gguf_array_str(v, j);
            touch(e.ptr, e.len);
        } else if (et == LMC_GGUF_ARRAY) {
            walk_value(lmc_gguf_array_item(v, j), depth + 1);
        } else {
            REQUIRE(raw != NULL);
            g_sink += (uint64_t)lmc_gguf_array_int(v, j);
            double d = lmc_gguf_array_float(v, j);
            g_sink += (uint64_t)(d == d);
        }
        const lmc_gguf_value *item = lmc_gguf_array_item(v, j);
        if (item) {
            REQUIRE(lmc_gguf_value_type(item) == et);
            if (et != LMC_GGUF_ARRAY) walk_value(item, depth + 1);
        }
    }
    /* Out-of-range indexes must be refused, not read. */
    REQUIRE(lmc_gguf_array_item(v, n) == NULL);
    lmc_str e = lmc_gguf_array_str(v, n);
    REQUIRE(e.len == 0);
    REQUIRE(lmc_gguf_array_int(v, n) == 0);
}

static void walk(const lmc_gguf *g) {
    uint64_t size = lmc_gguf_file_size(g);
    uint64_t align = lmc_gguf_alignment(g);
    uint32_t ver = lmc_gguf_version(g);
    REQUIRE(ver == 2 || ver == 3);
    REQUIRE(align != 0 && (align & (align - 1)) == 0);
    REQUIRE(lmc_gguf_data_offset(g) % align == 0);
    (void)lmc_gguf_path(g);

    int64_t n_kv = lmc_gguf_n_kv(g);
    REQUIRE(n_kv >= 0);
    for (int64_t i = 0; i < n_kv; i++) {
        const char *key = lmc_gguf_kv_key(g, i);
        REQUIRE(key != NULL);
        REQUIRE(lmc_gguf_find_key(g, key) == i); /* keys are unique */
        REQUIRE(lmc_gguf_get(g, key) == lmc_gguf_kv_value(g, i));
        walk_value(lmc_gguf_kv_value(g, i), 0);
        int64_t iv;
        double dv;
        bool bv;
        lmc_str sv;
        (void)lmc_gguf_get_int(g, key, &iv);
        (void)lmc_gguf_get_float(g, key, &dv);
        (void)lmc_gguf_get_bool(g, key, &bv);
        if (lmc_gguf_get_str(g, key, &sv) == LMC_OK) touch(sv.ptr, sv.len);
    }
    REQUIRE(lmc_gguf_kv_key(g, n_kv) == NULL);
    REQUIRE(lmc_gguf_kv_value(g, -1) == NULL);

    int64_t n_t = lmc_gguf_n_tensors(g);
    REQUIRE(n_t >= 0);
    for (int64_t i = 0; i < n_t; i++) {
        const lmc_tensor_info *t = lmc_gguf_tensor(g, i);
        REQUIRE(t != NULL && t->name != NULL);
        REQUIRE(lmc_gguf_find_tensor(g, t->name) == t); /* names are unique */
        REQUIRE(lmc_type_name(t->type) != NULL);
        REQUIRE(t->n_dims >= 1 && t->n_dims <= LMC_MAX_DIMS);
        int64_t nel = 1;
        for (int d = 0; d < LMC_MAX_DIMS; d++) {
            REQUIRE(t->ne[d] >= 0);
            if (d >= t->n_dims) REQUIRE(t->ne[d] == 1);
            REQUIRE(!__builtin_mul_overflow(nel, t->ne[d], &nel));
        }
        REQUIRE(nel == t->n_elements);
        REQUIRE(t->offset % align == 0);
        /* Extent inside the file; the bytes are then read so a wrong extent faults. */
        uint64_t start = lmc_gguf_data_offset(g) + t->offset;
        REQUIRE(start >= lmc_gguf_data_offset(g));
        REQUIRE(t->n_bytes <= size && start <= size - t->n_bytes);
        uint64_t row = lmc_type_row_bytes(t->type, t->ne[0]);
        REQUIRE(t->ne[0] == 0 || row != 0);
        if (t->n_bytes) {
            const uint8_t *p = t->data;
            g_sink += p[0] + p[t->n_bytes - 1];
        }
    }
    REQUIRE(lmc_gguf_tensor(g, n_t) == NULL);
    REQUIRE(lmc_gguf_find_tensor(g, "\x01no such tensor") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (g_fd < 0) {
        g_fd = memfd_create("fuzz_gguf", MFD_CLOEXEC);
        if (g_fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(g_path, sizeof g_path, "/proc/self/fd/%d", g_fd);
    }
    if (ftruncate(g_fd, 0) != 0 || (size && pwrite(g_fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_gguf: writing the memfd");
        abort();
    }
    lmc_gguf *g = lmc_gguf_open(g_path);
    if (!g) {
        /* Every refusal must say why. */
        const char *msg = lmc_last_error();
        REQUIRE(msg != NULL && msg[0] != '\0');
        return 0;
    }
    walk(g);
    lmc_gguf_close(g);
    return 0;
}
