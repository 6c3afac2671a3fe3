/* memory.c — large buffers that are streamed or read all over (the repacked weights, the
 * KV caches, training's parameters, gradients and activations): on 2 MiB boundaries, on
 * huge pages where the kernel allows them (MADV_HUGEPAGE). With 4 KiB pages every 4 KiB
 * read costs a TLB miss when the buffer is tens of MB. */
#include "lmc-impl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *lmc_alloc_huge(uint64_t n, bool zero) {
    const uint64_t huge = (uint64_t)1 << 21;
    uint64_t size;
    if (n == 0 || !lmc_add_ok(n, huge - 1, &size) || size > SIZE_MAX) return NULL;
    size = size / huge * huge;
    void *m = aligned_alloc((size_t)huge, (size_t)size);
    if (!m) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(m, (size_t)size, MADV_HUGEPAGE); /* advice only: 4 KiB pages if refused */
#endif
    if (zero) memset(m, 0, (size_t)size);
    return m;
}
