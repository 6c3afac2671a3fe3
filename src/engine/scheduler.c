/* scheduler.c — continuous batching: one step picks the work of many sequences for a
 * single forward pass within a token budget (n_batch):
 *   1. running sequences in admission order: a decode token each, or the next chunk
 *      of a prompt (chunked prefill), each given the KV blocks it will write
 *      (copy-on-write when a block is shared);
 *   2. waiting sequences are admitted (oldest first) while the budget, the sequence
 *      limit and the free blocks allow; their prompt's cached prefix blocks are
 *      taken from the prefix cache and not computed again;
 *   3. when a sequence needs a block and none is left, the most recently admitted
 *      sequence is preempted: its blocks are dropped (full ones stay in the prefix
 *      cache) and it waits at the front of the queue to be recomputed.
 * After the forward pass each sequence samples its next token (or records scores /
 * embeddings), full blocks are registered in the prefix cache, and finished
 * sequences give their blocks back. Everything here runs on the stepping thread
 * only; the engine lock (mu) is taken just to pick up new requests and cancels. */
#include "engine-impl.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* LMC_ENGINE_LOG set: preemptions are logged to stderr */
static bool g_verbose;
static pthread_once_t g_verbose_once = PTHREAD_ONCE_INIT;
static void verbose_init(void) { g_verbose = getenv("LMC_ENGINE_LOG") != NULL; }

static void vlog(const char *fmt, long long a, long long b) {
    pthread_once(&g_verbose_once, verbose_init);
    if (g_verbose) {
        fprintf(stderr, fmt, a, b);
        fputc('\n', stderr);
    }
}

static void text_append(lmc_seq *s, const char *t, size_t n) {
    if (!n) return;
    if (s->n_text + n + 1 > s->text_cap) {
        size_t cap = LMC_MAX(2 * s->text_cap, s->n_text + n + 64);
        char *b = realloc(s->text, cap);
        if (!b) return; /* text dropped rather than a crash; the tokens still arrive */
        s->text = b;
        s->text_cap = cap;
    }
    memcpy(s->text + s->n_text, t, n);
    s->n_text += n;
    s->text[s->n_text] = 0;
}

/* the request needs the logits of each sequence's last token (generation, beams) */
static bool last_logits(const lmc_ereq *r) { return r->kind == LMC_REQ_GENERATE || r->kind == LMC_REQ_BEAM; }

/* tokens a sequence must run through the model before its next output */
static int64_t seq_need(const lmc_seq *s) {
    return s->req->kind == LMC_REQ_SCORE ? s->n_tokens - 1 : s->n_tokens;
}

void lmc_seq_drop_blocks(lmc_engine *e, lmc_seq *s) {
    for (int64_t i = 0; i < s->n_table; i++)
        if (s->table[i] >= 0) lmc_block_release(&e->pool, s->table[i]);
    s->n_table = 0;
    s->n_computed = 0;
    s->n_hashed = 0;
    s->last_hash = 0;
}

static int table_push(lmc_seq *s, int32_t id) {
    if (s->n_table == s->table_cap) {
        int64_t cap = s->table_cap ? 2 * s->table_cap : 16;
        int32_t *t = realloc(s->table, (size_t)cap * sizeof *t);
        if (!t) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        s->table = t;
        s->table_cap = cap;
    }
    s->table[s->n_table++] = id;
    return LMC_OK;
}

static int tokens_push(lmc_seq *s, int32_t tok) {
    if (s->n_tokens == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 64;
        int32_t *t = realloc(s->tokens, (size_t)cap * sizeof *t);
        if (!t) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        s->tokens = t;
        s->cap = cap;
    }
    s->tokens[s->n_tokens++] = tok;
    return LMC_OK;
}

/* Gives s the blocks for positions [n_computed, upto): new blocks, or a private
 * copy of a shared block about to be written. false when the pool has none left. */
static bool ensure_blocks(lmc_engine *e, lmc_seq *s, int64_t upto) {
    lmc_block_pool *p = &e->pool;
    const int64_t b0 = s->n_computed / p->S, b1 = (upto - 1) / p->S;
    for (int64_t b = b0; b <= b1; b++) {
        if (b < s->n_table) {
            const int32_t id = s->table[b];
            if (id >= 0 && p->b[id].ref > 1) { /* shared (fork): copy before writing */
                const int32_t nid = lmc_block_alloc(p);
                if (nid < 0) return false;
                lmc_block_copy(p, nid, id);
                lmc_block_release(p, id);
                s->table[b] = nid;
            }
        } else {
            const int32_t id = lmc_block_alloc(p);
            if (id < 0) return false;
            if (table_push(s, id)) {
                lmc_block_release(p, id);
                return false;
            }
        }
    }
    return true;
}

/* Takes the cached blocks of the longest prefix of s's tokens that may be reused:
 * never the positions whose outputs are needed. */
static void prefix_lookup(lmc_engine *e, lmc_seq *s) {
    if (!e->p.prefix_cache || s->n_computed > 0 || s->n_table > 0) return;
    const lmc_ereq *r = s->req;
    int64_t limit;
    if (r->kind == LMC_REQ_SCORE) limit = r->score_from;
    else if (r->kind == LMC_REQ_EMBED) limit = r->pooling == LMC_POOLING_LAST ? s->n_tokens - 1 : 0;
    else limit = s->n_tokens - 1;
    const int32_t S = e->pool.S;
    uint64_t h = 0;
    for (int64_t b = 0; (b + 1) * S <= limit; b++) {
        const uint64_t hb = lmc_block_hash(h, s->tokens + b * S, S);
        const int32_t id = lmc_block_lookup(&e->pool, hb);
        if (id < 0) break;
        if (table_push(s, id)) break;
        lmc_block_retain(&e->pool, id);
        h = hb;
        s->n_hashed = b + 1;
        s->last_hash = hb;
        s->n_computed = (b + 1) * S;
    }
}

/* Registers s's newly filled blocks in the prefix cache. */
static void register_full_blocks(lmc_engine *e, lmc_seq *s) {
    const int32_t S = e->pool.S;
    while ((s->n_hashed + 1) * S <= s->n_computed) {
        const uint64_t h = lmc_block_hash(s->last_hash, s->tokens + s->n_hashed * S, S);
        const int32_t id = s->table[s->n_hashed];
        if (id >= 0 && e->p.prefix_cache) lmc_block_register(&e->pool, id, h);
        s->last_hash = h;
        s->n_hashed++;
    }
}

/* Frees the blocks that lie wholly before every layer's window (none when any layer
 * attends to everything). The next query sits at position n_computed or later and
 * sees keys from position - W + 1 on. */
static void drop_outside_window(lmc_engine *e, lmc_seq *s) {
    int64_t wmax = 0;
    for (int il = 0; il < e->m->hp.n_layer; il++) {
        const int32_t w = lmc_model_layer_window(e->m, il);
        if (w <= 0) return;
        wmax = LMC_MAX(wmax, (int64_t)w);
    }
    const int64_t first_needed = s->n_computed - wmax + 1;
    const int32_t S = e->pool.S;
    for (int64_t b = 0; b < s->n_table && (b + 1) * S <= first_needed; b++)
        if (s->table[b] >= 0) {
            lmc_block_release(&e->pool, s->table[b]);
            s->table[b] = -1;
        }
}

static void running_remove(lmc_engine *e, lmc_seq *s) {
    for (int32_t i = 0; i < e->n_running; i++)
        if (e->running[i] == s) {
            memmove(e->running + i, e->running + i + 1, (size_t)(e->n_running - i - 1) * sizeof *e->running);
            e->n_running--;
            return;
        }
}

static int running_append(lmc_engine *e, lmc_seq *s) {
    if (e->n_running == e->running_cap) {
        int32_t cap = 2 * e->running_cap;
        lmc_seq **r = realloc(e->running, (size_t)cap * sizeof *r);
        if (!r) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        e->running = r;
        e->running_cap = cap;
    }
    e->running[e->n_running++] = s;
    s->state = LMC_SEQ_RUNNING;
    s->admit_order = ++e->admit_counter;
    return LMC_OK;
}

static void wait_push_front(lmc_engine *e, lmc_seq *s) {
    s->next_wait = e->wait_head;
    e->wait_head = s;
    if (!e->wait_tail) e->wait_tail = s;
    s->state = LMC_SEQ_WAITING;
}

static lmc_seq *wait_pop(lmc_engine *e) {
    lmc_seq *s = e->wait_head;
    if (s) {
        e->wait_head = s->next_wait;
        if (!e->wait_head) e->wait_tail = NULL;
        s->next_wait = NULL;
    }
    return s;
}

static void preempt(lmc_engine *e, lmc_seq *s) {
    vlog("lmc engine: preempted a sequence of %lld tokens (%lld blocks dropped; it will be recomputed)",
         (long long)s->n_tokens, (long long)s->n_table);
    lmc_seq_drop_blocks(e, s);
    running_remove(e, s);
    wait_push_front(e, s);
    e->st.n_preempted++;
}

/* Ends output s: frees its blocks and sends the final event (text: what the stop
 * filter and the detokenizer still hold). */
static void seq_finish(lmc_engine *e, lmc_seq *s, lmc_finish_reason why, const char *err, bool send_event) {
    lmc_seq_drop_blocks(e, s);
    if (s->state == LMC_SEQ_RUNNING) running_remove(e, s);
    s->state = LMC_SEQ_DONE;
    s->finish = why;
    lmc_ereq *r = s->req;
    if (r->kind == LMC_REQ_GENERATE && !r->forked && s->index == 0) { /* outputs never forked end too */
        r->forked = true;
        for (int32_t k = 1; k < r->n_out; k++) seq_finish(e, r->seqs[k], why, err, send_event);
    }
    if (send_event && r->kind == LMC_REQ_GENERATE) {
        lmc_engine_event ev = {.request = (uint64_t)r->id, .index = s->index, .token = -1, .finish = why,
                               .error = err, .n_prompt = r->n_prompt, .n_cached = s->n_cached, .n_gen = s->n_gen,
                               .t_first_ms = s->t_first_ms, .t_total_ms = lmc_engine_now_ms() - r->t_submit};
        s->n_text = 0;
        if (e->vocab && why != LMC_FINISH_STOP) {
            const char *t;
            size_t n;
            if (s->stop) {
                lmc_stop_flush(s->stop, &t, &n);
                text_append(s, t, n);
            }
            if (s->detok && lmc_detok_flush(s->detok, &t, &n) == LMC_OK) text_append(s, t, n);
        }
        ev.text = e->vocab ? (s->text ? s->text : "") : NULL;
        ev.text_len = s->n_text;
        lmc_engine_deliver(e, s, &ev);
    }
    if (r->kind != LMC_REQ_GENERATE && why == LMC_FINISH_ERROR && err) {
        r->status = LMC_ERR_INTERNAL;
        snprintf(r->errmsg, sizeof r->errmsg, "%s", err);
    }
    if (--r->n_open == 0) lmc_engine_request_finished(e, r);
}

/* ---- outputs ------------------------------------------------------------------------ */

/* log-sum-exp of logits[V] (max-subtracted, sum in double) */
static double log_sum_exp(const float *l, int32_t V) {
    float mx = -INFINITY;
    for (int32_t i = 0; i < V; i++) mx = l[i] > mx ? l[i] : mx;
    double s = 0.0;
    for (int32_t i = 0; i < V; i++) s += exp((double)l[i] - (double)mx);
    return (double)mx + log(s);
}

/* the k largest logits as (id, logprob), largest first, ties to the lower id */
static void top_logprobs(const float *l, int32_t V, double lse, int32_t k, lmc_token_logprob *out) {
    if (k <= 0) return;
    int32_t n = 0;
    for (int32_t i = 0; i < V; i++) {
        if (n == k && !(l[i] > l[out[n - 1].id])) continue;
        int32_t j = n < k ? n++ : k - 1;
        while (j > 0 && l[i] > l[out[j - 1].id]) {
            out[j] = out[j - 1];
            j--;
        }
        out[j].id = i;
    }
    for (int32_t j = 0; j < n; j++) out[j].logprob = (float)((double)l[out[j].id] - lse);
}

static int32_t argmax(const float *l, int32_t V) {
    int32_t b = 0;
    for (int32_t i = 1; i < V; i++)
        if (l[i] > l[b]) b = i;
    return b;
}

/* creates outputs 1..n-1 of s's request sharing s's blocks */
static int fork_outputs(lmc_engine *e, lmc_seq *s) {
    lmc_ereq *r = s->req;
    r->forked = true;
    for (int32_t i = 1; i < r->n_out; i++) {
        lmc_seq *c = r->seqs[i];
        c->n_tokens = 0;
        for (int64_t k = 0; k < s->n_tokens; k++)
            if (tokens_push(c, s->tokens[k])) return LMC_ERR_NOMEM;
        for (int64_t b = 0; b < s->n_table; b++) {
            if (table_push(c, s->table[b])) return LMC_ERR_NOMEM;
            if (s->table[b] >= 0) lmc_block_retain(&e->pool, s->table[b]);
        }
        c->n_computed = s->n_computed;
        c->n_hashed = s->n_hashed;
        c->last_hash = s->last_hash;
        c->n_cached = s->n_cached;
        c->hits_counted = true;
        if (running_append(e, c)) return LMC_ERR_NOMEM;
    }
    return LMC_OK;
}

typedef struct {
    lmc_engine *e;
    int n;
} presample_job;

/* whether s's token this step is sampled plainly from its own logits: a running
 * generation with logits this step and one output (n > 1 forks and samples its siblings
 * from the same logits, in turn). presample_task samples these ahead, and the output loop
 * takes exactly these through the same test, so the two cannot drift apart. */
static bool samples_plainly(const lmc_seq *s, const lmc_batch_seq *b) {
    return s->state == LMC_SEQ_RUNNING && s->req->kind == LMC_REQ_GENERATE && b->logit_row >= 0 && s->req->n_out <= 1;
}

static void presample_task(void *arg, int ith, int nth) {
    const presample_job *j = arg;
    lmc_engine *e = j->e;
    for (int i = ith; i < j->n; i += nth) {
        lmc_seq *s = e->bseq[i];
        const lmc_batch_seq *b = &e->bs[i];
        s->pre_tok = -1;
        if (!samples_plainly(s, b)) continue;
        const int32_t tok = lmc_sampler_sample(s->smpl, e->fwd.logits + b->logit_row * (int64_t)e->n_vocab, e->n_vocab);
        s->pre_tok = tok >= 0 ? tok : -1;
    }
}

/* samples s's next token from logits l[V] (or takes the one sampled ahead) and
 * delivers it */
static void sample_and_emit(lmc_engine *e, lmc_seq *s, const float *l) {
    lmc_ereq *r = s->req;
    const int32_t V = e->n_vocab;
    const int32_t tok = s->pre_tok >= 0 ? s->pre_tok : lmc_sampler_sample(s->smpl, l, V);
    s->pre_tok = -1;
    if (tok < 0) {
        seq_finish(e, s, LMC_FINISH_ERROR, lmc_last_error(), true);
        return;
    }
    lmc_engine_event ev = {.request = (uint64_t)r->id, .index = s->index, .token = tok};
    lmc_token_logprob top[64];
    if (r->r.n_logprobs >= 0) {
        const double lse = log_sum_exp(l, V);
        ev.logprob = (float)((double)l[tok] - lse);
        ev.n_top = LMC_MIN(r->r.n_logprobs, (int32_t)(sizeof top / sizeof top[0]));
        ev.n_top = LMC_MIN(ev.n_top, V);
        top_logprobs(l, V, lse, ev.n_top, top);
        ev.top = top;
    }
    if (r->r.want_logits) ev.logits = l;
    if (tokens_push(s, tok)) {
        seq_finish(e, s, LMC_FINISH_ERROR, lmc_last_error(), true);
        return;
    }
    s->n_gen++;
    e->st.n_gen_tokens++;
    if (s->n_gen == 1) s->t_first_ms = lmc_engine_now_ms() - r->t_submit;
    lmc_stop_reason why = LMC_STOP_NONE;
    s->n_text = 0;
    if (e->vocab) {
        const char *t = "", *out;
        size_t n = 0, len;
        if (lmc_detok_push(s->detok, tok, &t, &n) != LMC_OK) n = 0;
        why = lmc_stop_push(s->stop, tok, t, n, &out, &len);
        text_append(s, out, len);
    } else {
        why = lmc_stop_push(s->stop, tok, NULL, 0, &(const char *){0}, &(size_t){0});
    }
    lmc_finish_reason fin = LMC_FINISH_NONE;
    if (why == LMC_STOP_EOG) fin = LMC_FINISH_EOG;
    else if (why == LMC_STOP_STRING) fin = LMC_FINISH_STOP;
    else if (why == LMC_STOP_MAX_TOKENS || s->n_tokens >= e->p.n_ctx) fin = LMC_FINISH_LENGTH;
    ev.text = e->vocab ? (s->text ? s->text : "") : NULL;
    ev.text_len = s->n_text;
    ev.n_prompt = r->n_prompt;
    ev.n_cached = s->n_cached;
    ev.n_gen = s->n_gen;
    ev.t_first_ms = s->t_first_ms;
    ev.t_total_ms = lmc_engine_now_ms() - r->t_submit;
    if (fin == LMC_FINISH_NONE || fin == LMC_FINISH_STOP) {
        if (fin == LMC_FINISH_STOP) ev.finish = fin;
        lmc_engine_deliver(e, s, &ev);
        if (fin == LMC_FINISH_STOP) seq_finish(e, s, fin, NULL, false);
        return;
    }
    /* EOG / LENGTH: the token's event, then the final one with the held-back text */
    lmc_engine_deliver(e, s, &ev);
    seq_finish(e, s, fin, NULL, true);
}

/* ---- the step ------------------------------------------------------------------------ */

/* Plans s's chunk for this step within the budgets; false if nothing fits. */
static bool plan_chunk(lmc_engine *e, lmc_seq *s, int64_t budget, int64_t out_budget, int64_t *chunk) {
    const int64_t need = seq_need(s) - s->n_computed;
    int64_t c = LMC_MIN(need, budget);
    if (c <= 0) return false;
    const lmc_ereq *r = s->req;
    if (r->kind == LMC_REQ_SCORE) { /* output rows: positions >= score_from */
        const int64_t first = LMC_MAX(r->score_from, s->n_computed);
        const int64_t rows = s->n_computed + c - first;
        if (rows > out_budget) c -= rows - out_budget;
    } else if (last_logits(r) && c == need && out_budget < 1) {
        c--;
    }
    (void)e;
    *chunk = c;
    return c > 0;
}

static int step_inner(lmc_engine *e) {
    /* 1. new requests and cancels */
    pthread_mutex_lock(&e->mu);
    while (e->inc_head) {
        lmc_seq *s = e->inc_head;
        e->inc_head = s->next_wait;
        s->next_wait = NULL;
        if (s->req->kind != LMC_REQ_BEAM) e->st.n_prompt_tokens += s->n_tokens;
        if (e->wait_tail) e->wait_tail->next_wait = s;
        else e->wait_head = s;
        e->wait_tail = s;
    }
    e->inc_tail = NULL;
    for (lmc_ereq *r = e->reqs; r; r = r->next) r->cancel_seen = r->cancel;
    pthread_mutex_unlock(&e->mu);

    for (int32_t i = e->n_running - 1; i >= 0; i--)
        if (e->running[i]->req->cancel_seen) seq_finish(e, e->running[i], LMC_FINISH_CANCELLED, NULL, true);
    for (lmc_seq **link = &e->wait_head, *prev = NULL; *link;) {
        lmc_seq *s = *link;
        if (s->req->cancel_seen) {
            *link = s->next_wait;
            if (e->wait_tail == s) e->wait_tail = prev;
            s->next_wait = NULL;
            s->state = LMC_SEQ_DONE;
            seq_finish(e, s, LMC_FINISH_CANCELLED, NULL, true);
        } else {
            prev = s;
            link = &s->next_wait;
        }
    }

    /* 2. plan: running sequences first (oldest first), then admissions */
    int64_t budget = e->p.n_batch, out_budget = e->fwd.n_out_cap;
    int n = 0;
    for (int32_t i = 0; i < e->n_running && budget > 0;) {
        lmc_seq *s = e->running[i];
        int64_t chunk;
        if (!plan_chunk(e, s, budget, out_budget, &chunk)) {
            i++;
            continue;
        }
        bool ok = ensure_blocks(e, s, s->n_computed + chunk);
        while (!ok && e->n_running - 1 > i) { /* preempt the newest other sequence */
            preempt(e, e->running[e->n_running - 1]);
            ok = ensure_blocks(e, s, s->n_computed + chunk);
        }
        if (!ok) {
            if (i == 0 && n == 0) { /* alone and still no room: the pool is too small */
                seq_finish(e, s, LMC_FINISH_LENGTH, NULL, true);
            } else {
                preempt(e, s);
            }
            continue;
        }
        s->chunk = chunk;
        e->bseq[n++] = s;
        budget -= chunk;
        if (s->req->kind == LMC_REQ_SCORE) out_budget -= s->n_computed + chunk - LMC_MAX(s->req->score_from, s->n_computed);
        else if (last_logits(s->req) && s->n_computed + chunk == seq_need(s)) out_budget--;
        i++;
    }
    while (e->wait_head && budget > 0 && out_budget > 0 && e->n_running < e->p.n_seq_max) {
        lmc_seq *s = e->wait_head;
        prefix_lookup(e, s);
        /* admit when the blocks its prompt still needs are free (plus one spare, as
         * vLLM's watermark); growth beyond that is handled by preemption */
        const int64_t need_blocks = (seq_need(s) + e->pool.S - 1) / e->pool.S - s->n_table;
        if (e->n_running > 0 && need_blocks + 1 > lmc_block_available(&e->pool)) {
            lmc_seq_drop_blocks(e, s); /* a waiting sequence holds no blocks */
            break;
        }
        wait_pop(e);
        if (!s->hits_counted) { /* prompt tokens from the cache, counted at first admission */
            s->hits_counted = true;
            s->n_cached = s->n_computed;
            e->st.n_cached_tokens += s->n_computed;
        }
        if (running_append(e, s)) return LMC_ERR_NOMEM;
        int64_t chunk;
        if (!plan_chunk(e, s, budget, out_budget, &chunk)) continue;
        if (!ensure_blocks(e, s, s->n_computed + chunk)) {
            preempt(e, s);
            break;
        }
        s->chunk = chunk;
        e->bseq[n++] = s;
        budget -= chunk;
        if (s->req->kind == LMC_REQ_SCORE) out_budget -= s->n_computed + chunk - LMC_MAX(s->req->score_from, s->n_computed);
        else if (last_logits(s->req) && s->n_computed + chunk == seq_need(s)) out_budget--;
    }
    if (n == 0) return LMC_OK;

    /* 3. forward */
    for (int i = 0; i < n; i++) {
        lmc_seq *s = e->bseq[i];
        const lmc_ereq *r = s->req;
        lmc_batch_seq *b = &e->bs[i];
        memset(b, 0, sizeof *b);
        b->tok = s->tokens + s->n_computed;
        b->pos0 = s->n_computed;
        b->T = s->chunk;
        b->table = s->table;
        b->out_from = -1;
        if (r->kind == LMC_REQ_SCORE) b->out_from = r->score_from;
        else if (last_logits(r) && s->n_computed + s->chunk == seq_need(s)) b->out_from = seq_need(s) - 1;
        b->hidden = r->kind == LMC_REQ_EMBED;
    }
    const double t0 = lmc_engine_now_ms();
    int rc = lmc_batch_forward_run(&e->fwd, e->bs, n);
    e->st.t_forward_ms += lmc_engine_now_ms() - t0;
    e->st.n_steps++;
    if (rc) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", lmc_last_error());
        for (int i = 0; i < n; i++)
            if (e->bseq[i]->state == LMC_SEQ_RUNNING) seq_finish(e, e->bseq[i], LMC_FINISH_ERROR, msg, true);
        return rc;
    }

    /* 4. outputs: first the plain generations' tokens, sampled on every thread (each
     * sequence has its own sampler, so the tokens are those of sampling in turn; a
     * failure is left for the loop below to sample again and report) */
    presample_job pj = {.e = e, .n = n};
    if (e->fwd.tp && n > 1) lmc_threadpool_run(e->fwd.tp, presample_task, &pj);
    const int64_t C = e->m->hp.n_embd;
    const int32_t V = e->n_vocab;
    for (int i = 0; i < n; i++) {
        lmc_seq *s = e->bseq[i];
        lmc_ereq *r = s->req;
        const lmc_batch_seq *b = &e->bs[i];
        if (s->state != LMC_SEQ_RUNNING) continue;
        s->n_computed += s->chunk;
        e->st.n_computed_tokens += s->chunk;
        register_full_blocks(e, s);
        drop_outside_window(e, s);
        if (r->kind == LMC_REQ_SCORE) {
            const int64_t first = LMC_MAX(r->score_from, b->pos0);
            for (int64_t p = first; p < b->pos0 + b->T; p++) {
                const float *l = e->fwd.logits + (b->logit_row + p - first) * V;
                const int64_t k = p - r->score_from;
                const int32_t want = s->tokens[p + 1];
                const double lse = log_sum_exp(l, V);
                r->lp_out[k] = (float)((double)l[want] - lse);
                if (r->greedy_out) r->greedy_out[k] = argmax(l, V) == want;
                if (r->n_top_out > 0 && r->top_out)
                    top_logprobs(l, V, lse, LMC_MIN(r->n_top_out, V), r->top_out + k * r->n_top_out);
            }
            if (s->n_computed == seq_need(s)) seq_finish(e, s, LMC_FINISH_LENGTH, NULL, false);
        } else if (r->kind == LMC_REQ_EMBED) {
            for (int64_t t = 0; t < b->T; t++) {
                const float *h = e->fwd.hidden + (b->hidden_row + t) * C;
                if (r->pooling == LMC_POOLING_MEAN || b->pos0 + t == s->n_tokens - 1)
                    for (int64_t j = 0; j < C; j++) r->embed_acc[j] += (double)h[j];
            }
            if (s->n_computed == s->n_tokens) {
                double div = r->pooling == LMC_POOLING_MEAN ? (double)s->n_tokens : 1.0, norm = 0.0;
                for (int64_t j = 0; j < C; j++) {
                    const double x = r->embed_acc[j] / div;
                    norm += x * x;
                    r->embed_out[j] = (float)x;
                }
                if (r->normalize && norm > 0.0)
                    for (int64_t j = 0; j < C; j++) r->embed_out[j] = (float)(r->embed_out[j] / sqrt(norm));
                seq_finish(e, s, LMC_FINISH_LENGTH, NULL, false);
            }
        } else if (b->logit_row >= 0 && r->kind == LMC_REQ_BEAM) {
            /* a beam's logits go to the search; the sequence keeps its blocks (the next
             * step's beams fork from it) and waits outside the batch */
            memcpy(r->beam_logits + (size_t)s->index * V, e->fwd.logits + b->logit_row * V, (size_t)V * sizeof(float));
            running_remove(e, s);
            s->state = LMC_SEQ_PARKED;
            if (--r->n_open == 0) lmc_engine_request_finished(e, r);
        } else if (samples_plainly(s, b)) {
            sample_and_emit(e, s, e->fwd.logits + b->logit_row * V); /* the token sampled ahead, if any */
        } else if (b->logit_row >= 0) {
            const float *l = e->fwd.logits + b->logit_row * V;
            if (r->n_out > 1 && !r->forked && fork_outputs(e, s)) {
                seq_finish(e, s, LMC_FINISH_ERROR, "out of memory", true);
                continue;
            }
            if (r->n_out > 1 && s->index == 0 && s->n_gen == 0) {
                for (int32_t k = 1; k < r->n_out; k++)
                    if (r->seqs[k]->state == LMC_SEQ_RUNNING && r->seqs[k]->n_gen == 0)
                        sample_and_emit(e, r->seqs[k], l);
            }
            sample_and_emit(e, s, l);
        }
    }
    return LMC_OK;
}

int lmc_sched_step(lmc_engine *e) {
    int rc = step_inner(e);
    lmc_sched_publish(e);
    return rc;
}

void lmc_sched_publish(lmc_engine *e) {
    pthread_mutex_lock(&e->mu);
    e->st.n_running = e->n_running;
    int64_t nw = 0;
    for (lmc_seq *s = e->wait_head; s; s = s->next_wait) nw++;
    for (lmc_seq *s = e->inc_head; s; s = s->next_wait) nw++;
    e->st.n_waiting = nw;
    e->st.n_blocks_cached = e->pool.n_cached;
    e->st.n_blocks_free = lmc_block_available(&e->pool);
    e->st.n_blocks_used = e->pool.n_blocks - e->st.n_blocks_free;
    e->st_pub = e->st;
    pthread_mutex_unlock(&e->mu);
}
