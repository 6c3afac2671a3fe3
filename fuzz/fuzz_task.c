/* fuzz_task.c — libFuzzer target for `lmc eval`'s task specs and their data files
 * (src/eval/task_spec.c, datasets.c).
 *
 * Input: the spec text, optionally followed by a NUL byte and a data file's bytes. Both
 * go into a scratch folder: the spec as t.task, the data under every name the seeds'
 * specs use (d.jsonl, d.json, d.csv, d.tsv, d.txt, labels.lst), and the task is loaded with
 * that folder as its data folder. Any input must give a task or an error that names
 * something (never a crash, a leak or a sanitizer report).
 *   cmake --build build-fuzz --target fuzz_task
 *   mkdir -p /tmp/task-corpus && build-fuzz/fuzz/fuzz_task /tmp/task-corpus fuzz/corpus/task
 * Replayed without libFuzzer by ctest eval_fuzz_replay (tests/fuzz_replay.c). */
#include "lmc.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_dir[64];
static const char *const g_names[] = {"t.task", "d.jsonl", "d.json", "d.csv", "d.tsv", "d.txt", "labels.lst"};

static void cleanup(void) { /* the scratch folder goes when the process ends */
    char path[128];
    for (size_t i = 0; i < sizeof g_names / sizeof g_names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", g_dir, g_names[i]);
        unlink(path);
    }
    rmdir(g_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "/tmp/lmc_fuzz_task_XXXXXX");
        if (!mkdtemp(g_dir)) abort();
        atexit(cleanup);
    }
    const uint8_t *nul = memchr(data, 0, size);
    const size_t spec_n = nul ? (size_t)(nul - data) : size;
    const uint8_t *d = nul ? nul + 1 : (const uint8_t *)"";
    const size_t dn = nul ? size - spec_n - 1 : 0;
    fuzz_put(g_dir, g_names[0], data, spec_n);
    for (size_t i = 1; i < sizeof g_names / sizeof g_names[0]; i++) fuzz_put(g_dir, g_names[i], d, dn);
    char spec[128];
    snprintf(spec, sizeof spec, "%s/t.task", g_dir);
    lmc_task *t = lmc_task_load(spec, g_dir);
    if (!t) {
        if (!lmc_last_error()[0]) abort(); /* a rejection always says why */
        return 0;
    }
    if (!lmc_task_name(t) || !lmc_task_type(t) || lmc_task_n_items(t) < 0) abort();
    lmc_task_free(t);
    return 0;
}
