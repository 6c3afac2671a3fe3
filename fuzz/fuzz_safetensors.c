/* fuzz_safetensors.c — libFuzzer target for the safetensors reader (src/hf/safetensors.c).
 *
 * Each input is written to a memory file (memfd) and opened through its /proc/self/fd
 * path, exactly as a real file: open, fstat, mmap, header checks. When it opens, every
 * tensor's bytes are read so ASan sees any access the checks let through.
 *   cmake --build build-fuzz --target fuzz_safetensors
 *   mkdir -p /tmp/st-corpus && build-fuzz/fuzz/fuzz_safetensors /tmp/st-corpus fuzz/corpus/safetensors
 * Replayed without libFuzzer by ctest hf_fuzz_replay (tests/fuzz_replay.c). */
#include "lmc.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t g_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_memfd("fuzz_st", data, size, path, sizeof path);
    if (fd < 0) return 0;
    lmc_safetensors *st = lmc_safetensors_open(path);
    if (!st) {
        if (!lmc_last_error()[0]) abort(); /* a rejection always says why */
    } else {
        for (int64_t i = 0; i < lmc_safetensors_n_tensors(st); i++) {
            const lmc_st_tensor *t = lmc_safetensors_tensor(st, i);
            uint64_t elems = 1;
            for (int d = 0; d < t->n_dims; d++) elems *= (uint64_t)t->shape[d];
            if (elems * (uint64_t)t->elem_size != t->n_bytes || t->offset + t->n_bytes > size) abort();
            for (uint64_t k = 0; k < t->n_bytes; k++) g_sink += ((const uint8_t *)t->data)[k];
            if (lmc_safetensors_find(st, t->name) != t) abort();
        }
        lmc_safetensors_close(st);
    }
    close(fd);
    return 0;
}
