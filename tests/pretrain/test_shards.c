/* test_shards.c — lmc_shard_read on shard files written here byte by byte from the
 * format's definition (data_shards.c: "LMCTOKS\0", u32 version, u32 token width, u64
 * count, little-endian tokens): both widths, counts across the reader's chunks, and
 * bad files, whose header is checked against the file's size before any memory is
 * asked for (a 24-byte file claiming 2^39 tokens was "out of memory"). */
#include "test_util.h"
#include "lmc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_path[256];

/* a shard with `count` in its header and `n` tokens value(i) of `width` bytes */
static void write_shard(const char *magic, uint32_t version, uint32_t width, uint64_t count, uint64_t n) {
    FILE *f = fopen(g_path, "wb");
    if (!f) return;
    uint8_t h[24];
    memcpy(h, magic, 8);
    for (int i = 0; i < 4; i++) h[8 + i] = (uint8_t)(version >> (8 * i)), h[12 + i] = (uint8_t)(width >> (8 * i));
    for (int i = 0; i < 8; i++) h[16 + i] = (uint8_t)(count >> (8 * i));
    fwrite(h, 1, 24, f);
    for (uint64_t i = 0; i < n; i++) {
        const uint32_t v = (uint32_t)((i * 2654435761u) % (width == 2 ? 65536u : 200000u));
        for (uint32_t b = 0; b < width; b++) fputc((int)((v >> (8 * b)) & 0xFF), f);
    }
    fclose(f);
}

static void good(uint32_t width, uint64_t n) {
    write_shard("LMCTOKS", 1, width, n, n);
    int32_t *t = NULL;
    int64_t got = -1;
    CHECK_EQ_INT(lmc_shard_read(g_path, &t, &got), LMC_OK);
    CHECK_EQ_INT(got, (int64_t)n);
    int64_t bad = 0;
    for (uint64_t i = 0; t && i < n; i++)
        bad += t[i] != (int32_t)((i * 2654435761u) % (width == 2 ? 65536u : 200000u));
    CHECK_MSG(bad == 0, "width %u, %llu tokens: %lld differ", width, (unsigned long long)n, (long long)bad);
    free(t);
}

static void bad(const char *magic, uint32_t version, uint32_t width, uint64_t count, uint64_t n, const char *want) {
    write_shard(magic, version, width, count, n);
    int32_t *t = NULL;
    int64_t got = -1;
    CHECK(lmc_shard_read(g_path, &t, &got) != LMC_OK);
    CHECK_MSG(strstr(lmc_last_error(), want) && strstr(lmc_last_error(), g_path), "'%s' should say '%s'",
              lmc_last_error(), want);
    CHECK(t == NULL && got == -1);
}

int main(void) {
    snprintf(g_path, sizeof g_path, "/tmp/lmc_test_shards_%d.bin", (int)getpid());
    good(2, 0);
    good(2, 5);
    good(2, 65536 * 2 + 7); /* across the reader's chunks */
    good(4, 65536 + 1);
    bad("LMCTOKX", 1, 2, 3, 3, "not an lmc token shard");
    bad("LMCTOKS", 2, 2, 3, 3, "version 2");
    bad("LMCTOKS", 1, 3, 3, 3, "token width 3");
    bad("LMCTOKS", 1, 2, 10, 9, "truncated");
    bad("LMCTOKS", 1, 4, (uint64_t)1 << 39, 0, "truncated"); /* no 2 TiB allocation first */
    bad("LMCTOKS", 1, 4, UINT64_MAX, 1, "truncated");
    unlink(g_path);
    return t_done("test_shards");
}
