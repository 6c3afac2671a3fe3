/* engine-impl.h — internals of the serving engine (src/engine/):
 *   block_pool.c     KV blocks: storage (F32/F16/Q8_0), reference counts, the prefix
 *                    cache (chained block hashes -> block, LRU of unused cached blocks)
 *   batch_forward.c  one forward step over the tokens of many sequences, attention
 *                    read through each sequence's block table
 *   scheduler.c      which tokens of which sequences run in the next step: decode
 *                    tokens, prompt chunks, admission, preemption, copy-on-write
 *   engine.c         the public lmc_engine_* API: requests, events, threads
 *
 * Shape legend as in src/model/model-impl.h; in addition
 *   S   block_size (tokens per block)   NB  blocks in the pool
 *   B   tokens in one step (sum over the step's sequences, <= n_batch) */
#ifndef LMC_ENGINE_IMPL_H
#define LMC_ENGINE_IMPL_H

#include "../model/model-impl.h"

#include <pthread.h>

/* ---- block pool and prefix cache (block_pool.c) ---------------------------------- */

typedef struct lmc_kv_block {
    int32_t ref;               /* sequences holding the block                        */
    bool hashed;               /* registered in the prefix cache under hash          */
    uint64_t hash;
    int32_t ht_next;           /* next block in the same hash bucket                 */
    int32_t prev, next;        /* free list / LRU list links (-1 = none)             */
} lmc_kv_block;

typedef struct lmc_block_pool {
    int32_t S;                 /* tokens per block                                   */
    int32_t n_blocks;
    lmc_kv_block *b;           /* [NB]                                               */
    /* unused blocks: plain ones first (a stack), then cached ones in LRU order
     * (evicted oldest first); used blocks are in neither list */
    int32_t free_head;         /* plain free blocks (singly linked via next)         */
    int32_t n_free_plain;
    int32_t lru_head, lru_tail;/* unused cached blocks, least recently used first    */
    int32_t n_cached;
    int32_t *buckets;          /* [n_buckets] first block of each hash bucket, -1    */
    int32_t n_buckets;         /* power of two                                       */
    /* storage: K and V, [n_layer][NB][S * row_bytes] each; inside a block F32/F16 are
     * head-major ([n_head_kv][S][head_dim]: one head's rows contiguous, as attention
     * reads them), Q8_0 row-major ([S][row_bytes], rows quantized whole) */
    lmc_type type;             /* F32, F16 or Q8_0                                   */
    int n_layer;
    int64_t Ckv, head_dim;
    size_t row_bytes;
    uint8_t *k, *v;
    int64_t n_evicted;
} lmc_block_pool;

int lmc_block_pool_init(lmc_block_pool *p, int32_t n_blocks, int32_t S, int n_layer, int64_t Ckv, int64_t head_dim,
                        lmc_type type);
void lmc_block_pool_free(lmc_block_pool *p);
/* Bytes of K + V for one position over every layer (for sizing and stats). */
size_t lmc_block_pool_bytes_per_token(lmc_type type, int n_layer, int64_t Ckv);
/* Blocks that lmc_block_alloc can still hand out (plain free + evictable cached). */
static inline int32_t lmc_block_available(const lmc_block_pool *p) { return p->n_free_plain + p->n_cached; }
/* A block with ref 1 (a plain free one, else the least recently used cached one,
 * which leaves the cache), or -1 when every block is in use. */
int32_t lmc_block_alloc(lmc_block_pool *p);
/* Drops one reference; at 0 a cached block joins the LRU tail, a plain one the free list. */
void lmc_block_release(lmc_block_pool *p, int32_t id);
/* Takes one more reference (a cached block leaves the LRU list when it was unused). */
void lmc_block_retain(lmc_block_pool *p, int32_t id);
/* Hash of a full block: chained over the parent's hash and the block's token ids. */
uint64_t lmc_block_hash(uint64_t parent, const int32_t *tokens, int32_t n);
/* The cached block with this hash, or -1. */
int32_t lmc_block_lookup(const lmc_block_pool *p, uint64_t hash);
/* Registers a full block under hash (no-op when the hash is already cached). */
void lmc_block_register(lmc_block_pool *p, int32_t id, uint64_t hash);
/* Copies every layer's K and V rows of block src to dst (copy-on-write). */
void lmc_block_copy(lmc_block_pool *p, int32_t dst, int32_t src);
/* Writes one position's K and V rows ([Ckv] floats each) into slot of block id. */
void lmc_block_store(lmc_block_pool *p, int layer, int32_t id, int32_t slot, const float *k, const float *v);
/* Gathers positions start..n-1 of a sequence (block table table[]) for one layer
 * into contiguous rows kout/vout [n - start][Ckv] of lmc_block_gather_type (the
 * pool's type for F32/F16, F32 for Q8_0). Blocks marked -1 (outside every window)
 * give zero rows. */
/* The same positions as runs of rows where they are stored (one per block, dropped
 * blocks left out): for the F32 and F16 pools, which attention reads in place. Returns
 * the number of runs written to out (at most (n - start) / S + 2). */
int lmc_block_segments(const lmc_block_pool *p, int layer, const int32_t *table, int64_t start, int64_t n,
                       lmc_kv_seg *out);
void lmc_block_gather(const lmc_block_pool *p, int layer, const int32_t *table, int64_t start, int64_t n,
                      void *kout, void *vout);
lmc_type lmc_block_gather_type(const lmc_block_pool *p);

/* ---- requests and sequences (engine.c, scheduler.c) ------------------------------ */

typedef enum lmc_req_kind { LMC_REQ_GENERATE, LMC_REQ_SCORE, LMC_REQ_EMBED, LMC_REQ_BEAM } lmc_req_kind;

/* PARKED: a beam whose logits were delivered; it keeps its blocks until the search
 * forks the next step's beams from it */
typedef enum lmc_seq_state { LMC_SEQ_WAITING, LMC_SEQ_RUNNING, LMC_SEQ_DONE, LMC_SEQ_PARKED } lmc_seq_state;

typedef struct lmc_ereq lmc_ereq;

/* One output of a request: its tokens, KV block table and sampling state. */
typedef struct lmc_seq {
    lmc_ereq *req;
    int32_t index;             /* output index within the request                    */
    lmc_seq_state state;
    int32_t *tokens;           /* [n_tokens] prompt + generated                      */
    int64_t n_tokens, cap;
    int64_t n_computed;        /* positions whose K/V are in the blocks              */
    int32_t *table;            /* [n_table] block per S positions (-1: dropped)      */
    int64_t n_table, table_cap;
    int64_t n_hashed;          /* leading blocks whose hash is known                 */
    uint64_t last_hash;        /* hash of block n_hashed - 1 (0 for none)            */
    int64_t n_gen;             /* tokens generated                                   */
    int64_t n_cached;          /* prompt tokens taken from the prefix cache          */
    bool hits_counted;         /* n_cached is set (first admission)                  */
    lmc_sampler *smpl;
    int32_t pre_tok;           /* token sampled ahead, in parallel (-1: none)        */
    lmc_stop *stop;
    lmc_detok *detok;
    uint64_t admit_order;      /* for preemption: the newest admitted goes first     */
    int64_t chunk;             /* tokens scheduled in the current step               */
    int64_t out_row;           /* first output row of the step (-1: none)            */
    lmc_finish_reason finish;
    double t_first_ms;
    char *text;                /* text of the event being delivered                  */
    size_t n_text, text_cap;
    struct lmc_seq *next_wait; /* waiting / incoming queue link                      */
} lmc_seq;

/* A queued event (poll mode): the event plus owned copies of what it points to. */
typedef struct lmc_qevent {
    lmc_engine_event ev;
    char *text;
    lmc_token_logprob *top;
    float *logits;
    char *error;
    struct lmc_qevent *next;
} lmc_qevent;

struct lmc_ereq {
    int64_t id;
    lmc_req_kind kind;
    lmc_engine_request r;      /* copy; pointers below own the copied arrays         */
    char **stop_copy;
    lmc_logit_bias *bias_copy;
    int64_t n_prompt;
    int32_t n_out;             /* outputs (n)                                        */
    int32_t n_open;            /* outputs not finished yet                           */
    lmc_seq **seqs;            /* [n_out] (seq 0 exists from the start; the others are
                                  forked once the prompt is computed)                */
    bool forked;
    bool cancel;               /* set by lmc_engine_cancel, acted on by the step     */
    bool cancel_seen;          /* the step's copy of cancel                          */
    bool released;             /* poll mode: the caller released it                  */
    bool done;
    double t_submit;
    /* poll mode */
    lmc_qevent *q_head, *q_tail, *q_cur;
    /* score: [n_cont] outputs written by the step; embed: [C] sum */
    int64_t score_from;        /* first position whose logits are needed (n_ctx - 1) */
    float *lp_out;
    bool *greedy_out;
    int32_t n_top_out;
    lmc_token_logprob *top_out;
    double *embed_acc;         /* [C]                                                */
    float *beam_logits;        /* beam search: [n_out][V] of the current step         */
    float *embed_out;
    lmc_pooling pooling;
    bool normalize;
    int status;                /* LMC_OK or the error of a failed step                */
    char errmsg[256];
    lmc_ereq *next;            /* all live requests                                  */
};

/* ---- batched forward (batch_forward.c) ------------------------------------------- */

/* The step's work for one sequence: tokens at positions pos0..pos0+T-1 (their ids
 * in tok[]), K/V stored into table; output rows: logits for positions >= out_from
 * (-1: none) and final hidden states (after the output norm) of all T rows when
 * hidden is set. */
typedef struct lmc_batch_seq {
    const int32_t *tok;
    int64_t pos0, T;
    const int32_t *table;
    int64_t out_from;          /* first position with logits, or -1                  */
    bool hidden;
    int64_t logit_row;         /* filled by the forward: first row in logits         */
    int64_t hidden_row;        /* first row in hidden                                */
} lmc_batch_seq;

typedef struct lmc_batch_forward {
    const lmc_model *m;
    lmc_threadpool *tp;
    lmc_block_pool *pool;
    int64_t B;                 /* token capacity of one step                          */
    int64_t n_out_cap;         /* logits rows capacity                                */
    int64_t n_ctx;             /* max positions of a sequence                         */
    bool flash_attn;           /* llama.cpp's flash-attention numerics (F16 pool)     */
    lmc_context shell;         /* buffers in the layout lmc_moe_forward reads          */
    float *kg, *vg;            /* gathered K / V rows [n_threads][n_ctx][Ckv] (F32 size) */
    lmc_kv_seg *seg;           /* block runs [n_threads][n_ctx / S + 2] (F32 / F16 pools) */
    int64_t seg_cap;           /* runs per thread                                       */
    int64_t *row0;             /* [B] first activation row of each step sequence      */
    bool *small;               /* [B] a short sequence (decode): attended whole by one thread */
    float *logits;             /* [n_out_cap][V]                                      */
    float *hidden;             /* [B][C]                                              */
    int32_t *seq_of;           /* [B] which batch sequence a row belongs to           */
    void *mem;
} lmc_batch_forward;

int lmc_batch_forward_init(lmc_batch_forward *f, const lmc_model *m, lmc_block_pool *pool, int64_t B,
                           int64_t n_out_cap, int64_t n_ctx, int n_threads);
void lmc_batch_forward_free(lmc_batch_forward *f);
/* Runs one step over n sequences (sum of T <= B, logits rows <= n_out_cap). */
int lmc_batch_forward_run(lmc_batch_forward *f, lmc_batch_seq *s, int n);

/* ---- the engine ------------------------------------------------------------------ */

struct lmc_engine {
    const lmc_model *m;
    const lmc_vocab *vocab;
    lmc_engine_params p;
    lmc_block_pool pool;
    lmc_batch_forward fwd;
    int32_t n_vocab;
    int32_t max_blocks_seq;    /* blocks of one full-length sequence                 */

    pthread_mutex_t mu;        /* guards everything below and the request list       */
    pthread_cond_t cv_work;    /* engine thread: new work or shutdown                */
    pthread_cond_t cv_event;   /* pollers / waiters: an event or a finish            */
    pthread_mutex_t step_mu;   /* one step at a time (non-background callers)        */
    pthread_t thread;
    bool thread_started, shutdown;

    lmc_ereq *reqs;            /* live requests                                      */
    int64_t next_id;
    lmc_seq *inc_head, *inc_tail; /* submitted, not yet seen by the step (under mu)    */
    lmc_engine_stats st_pub;   /* stats as of the last step (under mu)               */
    int64_t n_live;            /* requests not finished (under mu)                   */
    /* owned by the stepping thread (step_mu) */
    lmc_seq *wait_head, *wait_tail; /* waiting sequences (FIFO, preempted at front)   */
    lmc_seq **running;         /* admitted sequences, in admission order              */
    int32_t n_running, running_cap;
    uint64_t admit_counter;
    lmc_engine_stats st;
    /* step scratch */
    lmc_batch_seq *bs;
    lmc_seq **bseq;
};

/* scheduler.c: one step (admit, forward, sample, emit). Called with step_mu held and
 * mu NOT held. Returns LMC_OK or an error that failed the step's requests. */
int lmc_sched_step(lmc_engine *e);
/* Publishes the step-private counters to st_pub (step_mu held, mu not held). */
void lmc_sched_publish(lmc_engine *e);
/* Frees a sequence's blocks (all references) and resets its KV state. */
void lmc_seq_drop_blocks(lmc_engine *e, lmc_seq *s);

/* engine.c helpers used by the scheduler */
void lmc_engine_deliver(lmc_engine *e, lmc_seq *s, const lmc_engine_event *ev);
void lmc_engine_request_finished(lmc_engine *e, lmc_ereq *r);
double lmc_engine_now_ms(void);

#endif /* LMC_ENGINE_IMPL_H */
