/* test_gguf_bad.c — every kind of bad GGUF input gives one clear error, never a crash,
 * through the library (lmc_gguf_open returns NULL with a message naming the problem) and
 * through the CLI (`lmc info FILE` exits non-zero with exactly one line on stderr).
 *
 * The malformed files are built here byte by byte (tests/gguf/gguf_bytes.h); truncated
 * files are cut from a real model of ../shared. Also checks the CLI's own usage errors.
 *
 *   test_gguf_bad                     run the checks
 *   test_gguf_bad --write-corpus DIR  write the malformed files as fuzzing seeds */
#include "test_util.h"
#include "gguf/gguf_bytes.h"
#include "lmc.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { T_U8 = 0, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 };
#define P60 (1ull << 60)

static char g_dir[256];

/* ---- running the CLI --------------------------------------------------------------- */

typedef struct {
    int status; /* exit code, or 128 + signal */
    char out[8192], err[8192];
} run_result;

static void read_file_into(const char *path, char *buf, size_t cap) {
    buf[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

/* Runs $LMC_BIN with args (NULL-terminated), capturing stdout and stderr. */
static void run_lmc(run_result *r, const char *const *args) {
    const char *bin = getenv("LMC_BIN");
    char outp[300], errp[300];
    snprintf(outp, sizeof outp, "%s/cli.out", g_dir);
    snprintf(errp, sizeof errp, "%s/cli.err", g_dir);
    const char *argv[16];
    int n = 0;
    argv[n++] = bin;
    for (; args[n - 1] && n < 15; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    read_file_into(outp, r->out, sizeof r->out);
    read_file_into(errp, r->err, sizeof r->err);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* `lmc ARGS` must fail with a usage/error status, print nothing on stdout and exactly
 * one line on stderr that contains expect. */
static void check_cli_fails(const char *what, const char *const *args, const char *expect) {
    run_result r;
    run_lmc(&r, args);
    CHECK_MSG(r.status != 0 && r.status < 128, "%s: exit status %d (want an error exit, no crash)", what, r.status);
    CHECK_MSG(count_lines(r.err) == 1, "%s: stderr has %d lines, want 1:\n%s", what, count_lines(r.err), r.err);
    CHECK_MSG(strstr(r.err, expect) != NULL, "%s: stderr does not mention '%s':\n%s", what, expect, r.err);
    CHECK_MSG(r.out[0] == 0, "%s: stdout not empty:\n%s", what, r.out);
}

static void check_cli_ok(const char *what, const char *const *args, const char *expect_out) {
    run_result r;
    run_lmc(&r, args);
    CHECK_MSG(r.status == 0, "%s: exit status %d, stderr: %s", what, r.status, r.err);
    CHECK_MSG(strstr(r.out, expect_out) != NULL, "%s: stdout does not contain '%s':\n%s", what, expect_out, r.out);
}

/* ---- one bad file: library and CLI ---------------------------------------------------- */

static void check_bad_path(const char *what, const char *path, const char *expect, bool cli) {
    lmc_gguf *g = lmc_gguf_open(path);
    CHECK_MSG(g == NULL, "%s: lmc_gguf_open accepted a bad file", what);
    if (g) {
        lmc_gguf_close(g);
        return;
    }
    const char *msg = lmc_last_error();
    CHECK_MSG(strstr(msg, expect) != NULL, "%s: error does not mention '%s': %s", what, expect, msg);
    CHECK_MSG(strstr(msg, path) != NULL, "%s: error does not name the file: %s", what, msg);
    CHECK_MSG(strchr(msg, '\n') == NULL, "%s: error is not one line: %s", what, msg);
    if (cli) {
        const char *args[] = {"info", path, NULL};
        check_cli_fails(what, args, expect);
    }
}

/* ---- the malformed files ---------------------------------------------------------------- */

/* A valid file: one key, tensors a (F32 [8]) at 0 and b (F32 [4, 2]) at 32. Cases below
 * change one thing in it. */
typedef struct {
    uint32_t version;
    uint64_t n_tensors, n_kv;   /* as written in the header */
    const char *magic;
    uint32_t b_type;
    uint64_t b_offset;
    uint64_t b_ne[5];
    uint32_t b_dims;
    const char *b_name;
    bool truncate_data;
} base_opts;

static base_opts base_defaults(void) {
    base_opts o = {.version = 3, .n_tensors = 2, .n_kv = 1, .magic = "GGUF", .b_type = 0, .b_offset = 32,
                   .b_ne = {4, 2, 1, 1, 1}, .b_dims = 2, .b_name = "b"};
    return o;
}

static void build_base(gb *b, const base_opts *o) {
    gb_put(b, o->magic, 4);
    gb_u32(b, o->version);
    gb_u64(b, o->n_tensors);
    gb_u64(b, o->n_kv);
    gb_key(b, "general.architecture", T_STR);
    gb_str(b, "llama");
    uint64_t ne_a[1] = {8};
    gb_tensor(b, "a", 1, ne_a, 0, 0);
    gb_tensor(b, o->b_name, o->b_dims, o->b_ne, o->b_type, o->b_offset);
    if (o->truncate_data) return; /* ends before the padding that starts the data */
    gb_pad(b, 32);
    gb_zeros(b, 64);
}

typedef void (*build_fn)(gb *b);

#define BASE_CASE(fname, ...)                                                                   \
    static void fname(gb *b) {                                                                  \
        base_opts o = base_defaults();                                                          \
        __VA_ARGS__;                                                                            \
        build_base(b, &o);                                                                      \
    }

BASE_CASE(bad_magic, o.magic = "GGML")
BASE_CASE(bad_version4, o.version = 4)
BASE_CASE(bad_version0, o.version = 0)
BASE_CASE(bad_tensors_2p60, o.n_tensors = P60)
BASE_CASE(bad_kv_2p60, o.n_kv = P60)
BASE_CASE(bad_type_99, o.b_type = 99)
BASE_CASE(bad_type_removed, o.b_type = 4)
BASE_CASE(bad_misaligned, o.b_offset = 36)
BASE_CASE(bad_overlap_same, o.b_offset = 0)
BASE_CASE(bad_overlap_partial, o.b_offset = 0; o.b_ne[0] = 2; o.b_ne[1] = 1)
BASE_CASE(bad_past_end, o.b_offset = 64)
BASE_CASE(bad_past_end_huge, o.b_offset = (uint64_t)-32)
BASE_CASE(bad_no_data, o.truncate_data = true)
BASE_CASE(bad_dup_tensor, o.b_name = "a")
BASE_CASE(bad_dims_0, o.b_dims = 0)
BASE_CASE(bad_dims_5, o.b_dims = 5)
BASE_CASE(bad_shape_overflow, o.b_ne[0] = 1ull << 40; o.b_ne[1] = 1ull << 40)
BASE_CASE(bad_shape_zero_overflow, o.b_ne[0] = 1ull << 62; o.b_ne[1] = 0)
BASE_CASE(bad_shape_negative, o.b_ne[0] = (uint64_t)-8; o.b_ne[1] = 1)
BASE_CASE(bad_row_not_blocks, o.b_type = 2 /* Q4_0: 32 per block */; o.b_ne[0] = 16; o.b_ne[1] = 1)

/* Files whose only key holds the value built by fn. */
static void one_kv(gb *b, void (*fn)(gb *)) {
    gb_header(b, 3, 0, 1);
    fn(b);
}
#define KV_CASE(fname, body)                                                                    \
    static void fname##_kv(gb *b) { body; }                                                     \
    static void fname(gb *b) { one_kv(b, fname##_kv); }

KV_CASE(bad_array_2p60, gb_key(b, "a", T_ARR); gb_u32(b, T_U8); gb_u64(b, P60))
KV_CASE(bad_array_str_2p60, gb_key(b, "a", T_ARR); gb_u32(b, T_STR); gb_u64(b, P60); gb_str(b, "x"))
KV_CASE(bad_array_nested_2p60, gb_key(b, "a", T_ARR); gb_u32(b, T_ARR); gb_u64(b, P60))
KV_CASE(bad_string_huge, gb_key(b, "a", T_STR); gb_u64(b, 1ull << 62); gb_put(b, "abc", 3))
KV_CASE(bad_key_huge, gb_u64(b, UINT64_MAX); gb_put(b, "key-and-some-more-bytes", 23))
KV_CASE(bad_value_type, gb_key(b, "a", 13); gb_u32(b, 0))
KV_CASE(bad_array_elem_type, gb_key(b, "a", T_ARR); gb_u32(b, 77); gb_u64(b, 1); gb_u32(b, 0))
KV_CASE(bad_bool, gb_key(b, "a", T_BOOL); gb_u8(b, 2))
KV_CASE(bad_bool_array, gb_key(b, "a", T_ARR); gb_u32(b, T_BOOL); gb_u64(b, 2); gb_u8(b, 1); gb_u8(b, 7))
KV_CASE(bad_key_nul, gb_u64(b, 3); gb_put(b, "a\0b", 3); gb_u32(b, T_U8); gb_u8(b, 1))
KV_CASE(bad_align_zero, gb_key(b, "general.alignment", T_U32); gb_u32(b, 0))
KV_CASE(bad_align_3, gb_key(b, "general.alignment", T_U32); gb_u32(b, 3))
KV_CASE(bad_align_string, gb_key(b, "general.alignment", T_STR); gb_str(b, "32"))
KV_CASE(bad_align_u64, gb_key(b, "general.alignment", T_U64); gb_u64(b, 64))
KV_CASE(bad_truncated_u32, gb_key(b, "a", T_U32); gb_u16(b, 1))

/* Two keys declared, one present, then bytes that read as an absurd key length. */
static void bad_kv_too_many(gb *b) {
    gb_header(b, 3, 0, 2);
    gb_key(b, "general.name", T_STR);
    gb_str(b, "x");
    for (int i = 0; i < 20; i++) gb_u8(b, 0xff);
}

static void bad_dup_key(gb *b) {
    gb_header(b, 3, 0, 2);
    gb_key(b, "general.name", T_STR);
    gb_str(b, "x");
    gb_key(b, "general.name", T_U32);
    gb_u32(b, 1);
}

static void bad_nested_deep(gb *b) {
    gb_header(b, 3, 0, 1);
    gb_key(b, "a", T_ARR);
    for (int d = 0; d < 9; d++) {
        gb_u32(b, T_ARR);
        gb_u64(b, 1);
    }
    gb_u32(b, T_U8);
    gb_u64(b, 0);
}

/* a: F32 [16] at 0..64, z: empty at 32, c: F32 [8] at 32: c overlaps a behind z. */
static void bad_overlap_behind_empty(gb *b) {
    gb_header(b, 3, 3, 0);
    uint64_t ne_a[1] = {16}, ne_z[2] = {8, 0}, ne_c[1] = {8};
    gb_tensor(b, "a", 1, ne_a, 0, 0);
    gb_tensor(b, "z", 2, ne_z, 0, 32);
    gb_tensor(b, "c", 1, ne_c, 0, 32);
    gb_pad(b, 32);
    gb_zeros(b, 96);
}

static void bad_header_only_magic(gb *b) { gb_put(b, "GGUF", 4); }
static void bad_tiny(gb *b) { gb_put(b, "GG", 2); }

typedef struct {
    const char *name;
    build_fn build;
    const char *expect; /* a phrase the error must contain */
} bad_case;

static const bad_case g_cases[] = {
    {"wrong-magic", bad_magic, "not a GGUF file"},
    {"tiny", bad_tiny, "too small"},
    {"magic-only", bad_header_only_magic, "truncated"},
    {"version-4", bad_version4, "unknown GGUF version 4"},
    {"version-0", bad_version0, "unknown GGUF version 0"},
    {"tensors-2^60", bad_tensors_2p60, "tensor count 1152921504606846976 is impossible"},
    {"kv-2^60", bad_kv_2p60, "metadata count 1152921504606846976 is impossible"},
    {"kv-count-too-high", bad_kv_too_many, "metadata key has length 18446744073709551615"},
    {"array-len-2^60", bad_array_2p60, "array of 1152921504606846976 uint8"},
    {"array-str-len-2^60", bad_array_str_2p60, "array of 1152921504606846976 string"},
    {"array-nested-len-2^60", bad_array_nested_2p60, "array of 1152921504606846976 array"},
    {"string-len-2^62", bad_string_huge, "string value has length 4611686018427387904"},
    {"key-len-max", bad_key_huge, "metadata key has length"},
    {"unknown-value-type", bad_value_type, "unknown value type 13"},
    {"unknown-array-type", bad_array_elem_type, "unknown array element type 77"},
    {"bool-2", bad_bool, "bool value is neither 0 nor 1"},
    {"bool-array-7", bad_bool_array, "bool array element"},
    {"key-with-nul", bad_key_nul, "contains a NUL byte"},
    {"duplicate-key", bad_dup_key, "duplicate metadata key 'general.name'"},
    {"nested-too-deep", bad_nested_deep, "nested too deeply"},
    {"alignment-0", bad_align_zero, "general.alignment must be a uint32 power of two"},
    {"alignment-3", bad_align_3, "general.alignment must be a uint32 power of two"},
    {"alignment-string", bad_align_string, "general.alignment must be a uint32 power of two"},
    {"alignment-u64", bad_align_u64, "general.alignment must be a uint32 power of two"},
    {"truncated-u32", bad_truncated_u32, "truncated"},
    {"tensor-type-99", bad_type_99, "tensor 'b' has unknown type 99"},
    {"tensor-type-removed-4", bad_type_removed, "tensor 'b' has unknown type 4"},
    {"tensor-misaligned", bad_misaligned, "offset 36 is not a multiple of the alignment 32"},
    {"tensors-overlap", bad_overlap_same, "overlap"},
    {"tensors-overlap-partial", bad_overlap_partial, "overlap"},
    {"tensors-overlap-behind-empty", bad_overlap_behind_empty, "tensors 'a' and 'c' overlap"},
    {"tensor-past-end", bad_past_end, "extends past the end"},
    {"tensor-offset-huge", bad_past_end_huge, "extends past the end"},
    {"no-data-section", bad_no_data, "truncated before the tensor data"},
    {"duplicate-tensor", bad_dup_tensor, "duplicate tensor name 'a'"},
    {"tensor-0-dims", bad_dims_0, "has 0 dimensions"},
    {"tensor-5-dims", bad_dims_5, "has 5 dimensions"},
    {"shape-overflow", bad_shape_overflow, "absurd shape"},
    {"shape-zero-dim-overflow", bad_shape_zero_overflow, "too large"},
    {"shape-negative", bad_shape_negative, "absurd shape"},
    {"row-not-whole-blocks", bad_row_not_blocks, "not a multiple of 32"},
};
#define N_CASES (sizeof g_cases / sizeof g_cases[0])

static int write_corpus(const char *dir) {
    mkdir(dir, 0755);
    for (size_t i = 0; i < N_CASES; i++) {
        gb b = {0};
        g_cases[i].build(&b);
        char path[512];
        snprintf(path, sizeof path, "%s/bad-%s", dir, g_cases[i].name);
        if (gb_write(&b, path) != 0) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
        gb_free(&b);
    }
    /* The base file itself, valid. */
    gb b = {0};
    base_opts o = base_defaults();
    build_base(&b, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/seed-base", dir);
    int rc = gb_write(&b, path);
    gb_free(&b);
    return rc ? 1 : 0;
}

/* ---- truncated real models ---------------------------------------------------------------- */

static void check_truncations(const char *model, bool cli_sample) {
    lmc_gguf *g = lmc_gguf_open(model);
    CHECK_MSG(g != NULL, "%s does not open: %s", model, lmc_last_error());
    if (!g) return;
    uint64_t size = lmc_gguf_file_size(g), data = lmc_gguf_data_offset(g);
    int64_t n_t = lmc_gguf_n_tensors(g);
    lmc_gguf_close(g);
    FILE *f = fopen(model, "rb");
    uint8_t *bytes = malloc(size);
    CHECK(f && bytes && fread(bytes, 1, size, f) == size);
    if (f) fclose(f);
    /* Every byte of the fixed header, then a spread through the metadata and tensor
     * infos, then the data section (each cut there leaves the last tensor short). */
    uint64_t cuts[400];
    int n = 0;
    for (uint64_t k = 1; k < 40; k++) cuts[n++] = k;
    for (uint64_t k = 40; k < data && n < 330; k += data / 290 + 1) cuts[n++] = k;
    cuts[n++] = data - 1;
    cuts[n++] = data;
    if (n_t > 0)
        for (int k = 1; k <= 8; k++) cuts[n++] = data + (size - data) * (uint64_t)k / 9;
    cuts[n++] = size - 1;
    char path[512];
    snprintf(path, sizeof path, "%s/truncated.gguf", g_dir);
    int failed_ok = 0;
    for (int i = 0; i < n; i++) {
        uint64_t k = cuts[i];
        if (k >= size) continue;
        FILE *o = fopen(path, "wb");
        CHECK(o && fwrite(bytes, 1, k, o) == k);
        if (o) fclose(o);
        char what[128];
        snprintf(what, sizeof what, "%s cut at %llu of %llu", model, (unsigned long long)k,
                 (unsigned long long)size);
        /* A vocab-only file (no tensors) cut inside its padding is still whole. */
        if (n_t == 0 && k >= data) continue;
        lmc_gguf *t = lmc_gguf_open(path);
        CHECK_MSG(t == NULL, "%s: accepted", what);
        if (t) {
            lmc_gguf_close(t);
            continue;
        }
        const char *msg = lmc_last_error();
        bool named = strstr(msg, "truncated") || strstr(msg, "impossible") || strstr(msg, "does not fit") ||
                     strstr(msg, "past the end") || strstr(msg, "only") || strstr(msg, "too small");
        CHECK_MSG(named && strstr(msg, "byte"), "%s: unclear error: %s", what, msg);
        failed_ok++;
        /* The CLI on a sample of the cuts (a process each). */
        if (cli_sample && (i % 25 == 0 || k >= data)) {
            const char *args[] = {"info", path, NULL};
            run_result r;
            run_lmc(&r, args);
            CHECK_MSG(r.status == 1, "%s via CLI: exit %d", what, r.status);
            CHECK_MSG(count_lines(r.err) == 1 && strstr(r.err, "lmc: error: "), "%s via CLI: stderr: %s", what, r.err);
        }
    }
    printf("%s: %d truncations refused\n", model, failed_ok);
    free(bytes);
    unlink(path);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2]);
    const char *bin = getenv("LMC_BIN");
    CHECK_MSG(bin && access(bin, X_OK) == 0, "LMC_BIN (%s) is not an executable lmc", bin ? bin : "unset");
    if (!bin || access(bin, X_OK) != 0) return t_done("test_gguf_bad");
    snprintf(g_dir, sizeof g_dir, "/tmp/lmc-gguf-bad-XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);

    /* The base file is valid: the cases below fail for their one change only. */
    {
        gb b = {0};
        base_opts o = base_defaults();
        build_base(&b, &o);
        char path[512];
        snprintf(path, sizeof path, "%s/base.gguf", g_dir);
        CHECK(gb_write(&b, path) == 0);
        gb_free(&b);
        lmc_gguf *g = lmc_gguf_open(path);
        CHECK_MSG(g != NULL, "base file refused: %s", lmc_last_error());
        if (g) {
            CHECK_EQ_INT(lmc_gguf_n_tensors(g), 2);
            lmc_gguf_close(g);
        }
        const char *args[] = {"info", path, NULL};
        check_cli_ok("lmc info base.gguf", args, "tensors");
        unlink(path);
    }

    for (size_t i = 0; i < N_CASES; i++) {
        gb b = {0};
        g_cases[i].build(&b);
        char path[512];
        snprintf(path, sizeof path, "%s/%s.gguf", g_dir, g_cases[i].name);
        CHECK(gb_write(&b, path) == 0);
        gb_free(&b);
        check_bad_path(g_cases[i].name, path, g_cases[i].expect, true);
        unlink(path);
    }

    /* Not files of the right kind. */
    char path[512];
    snprintf(path, sizeof path, "%s/no-such-file.gguf", g_dir);
    check_bad_path("missing file", path, "cannot open: No such file", true);
    check_bad_path("directory", g_dir, "is a directory", true);
    snprintf(path, sizeof path, "%s/empty.gguf", g_dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) fclose(f);
    check_bad_path("empty file", path, "file is empty", true);
    unlink(path);
    check_bad_path("GGUF v1 model", t_shared("models/crabml/tinyllamas-stories-260k-f32.gguf"),
                   "GGUF version 1 is not supported", true);

    /* Truncated real files: a model with tensors, and a vocab-only file. */
    check_truncations(t_shared("models/stories260K.gguf"), true);
    check_truncations(t_shared("ref/tokenizer/ggml-vocab-llama-spm.gguf"), false);

    /* Well-formed files with hostile hyperparameters: `lmc info` may refuse them but must
     * not crash (INT64_MIN / -1 used to trap in the head size estimate). */
    {
        gb b = {0};
        gb_header(&b, 3, 0, 4);
        gb_key(&b, "general.architecture", T_STR);
        gb_str(&b, "llama");
        gb_key(&b, "llama.embedding_length", T_I64);
        gb_u64(&b, (uint64_t)INT64_MIN);
        gb_key(&b, "llama.attention.head_count", T_I64);
        gb_u64(&b, (uint64_t)-1);
        gb_key(&b, "llama.context_length", T_U64);
        gb_u64(&b, UINT64_MAX);
        snprintf(path, sizeof path, "%s/hostile-hparams.gguf", g_dir);
        CHECK(gb_write(&b, path) == 0);
        gb_free(&b);
        const char *args[] = {"info", path, NULL};
        run_result r;
        run_lmc(&r, args);
        CHECK_MSG(r.status == 0 || r.status == 1, "lmc info on hostile hyperparameters: exit %d", r.status);
        const char *jargs[] = {"info", "--json", path, NULL};
        run_lmc(&r, jargs);
        CHECK_MSG(r.status == 0 || r.status == 1, "lmc info --json on hostile hyperparameters: exit %d", r.status);
        unlink(path);
    }

    /* The CLI's own usage errors. */
    {
        const char *a1[] = {"frobnicate", NULL};
        check_cli_fails("unknown command", a1, "unknown command 'frobnicate'");
        const char *a2[] = {"info", "--frobnicate", "x.gguf", NULL};
        check_cli_fails("unknown option", a2, "unknown option '--frobnicate'");
        const char *a3[] = {"info", "-m", NULL};
        check_cli_fails("missing option value", a3, "option '-m' needs a value");
        const char *a4[] = {"info", NULL};
        check_cli_fails("no model", a4, "no model given");
        const char *a5[] = {"info", "-c", "abc", t_shared("models/stories260K.gguf"), NULL};
        check_cli_fails("bad option value", a5, "needs an integer");
        const char *h1[] = {"--help", NULL};
        check_cli_ok("lmc --help", h1, "usage: lmc");
        const char *h2[] = {"info", "--help", NULL};
        check_cli_ok("lmc info --help", h2, "usage: lmc info");
        const char *h3[] = {"--version", NULL};
        check_cli_ok("lmc --version", h3, LMC_VERSION_STRING);
    }

    char p[300];
    snprintf(p, sizeof p, "%s/cli.out", g_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/cli.err", g_dir);
    unlink(p);
    rmdir(g_dir);
    return t_done("test_gguf_bad");
}
