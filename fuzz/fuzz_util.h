/* fuzz_util.h — how the fuzz targets hand an input to a reader that takes a path. */
#ifndef LMC_FUZZ_UTIL_H
#define LMC_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The bytes in a memory file, reachable as path ("/proc/self/fd/N", cap >= 32): the
 * reader opens, stats and maps it as a real file. The fd to close, or -1. */
static inline int fuzz_memfd(const char *name, const uint8_t *data, size_t size, char *path, size_t cap) {
    int fd = memfd_create(name, 0);
    if (fd < 0) return -1;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

/* dir/name := the n bytes at p (a scratch folder's file); aborts if it cannot */
static inline void fuzz_put(const char *dir, const char *name, const void *p, size_t n) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    fclose(f);
}

#endif /* LMC_FUZZ_UTIL_H */
