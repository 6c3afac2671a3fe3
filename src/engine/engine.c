/* engine.c — the public lmc_engine_* API: creating the engine (pool, buffers, the
 * stepping thread), requests (copied at submit, one sequence per output), events
 * (a callback on the stepping thread, or a queue per request for polling), cancel,
 * and the blocking score / embed calls, which are requests like any other so that
 * they are batched with the rest and use the prefix cache. */
#include "engine-impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

double lmc_engine_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

lmc_engine_params lmc_engine_default_params(void) {
    lmc_engine_params p = {.n_ctx = 0, .kv_mem = 0, .block_size = 16, .n_batch = 512, .n_seq_max = 64,
                           .n_threads = 1, .kv_type = LMC_TYPE_F16, .prefix_cache = true, .background = true};
    return p;
}

lmc_engine_request lmc_engine_default_request(void) {
    lmc_engine_request r;
    memset(&r, 0, sizeof r);
    r.sampling = lmc_sampler_default_params();
    r.sampling.temp = 0.0f;
    r.n_logprobs = -1;
    r.n = 1;
    return r;
}

const char *lmc_finish_reason_name(lmc_finish_reason r) {
    switch (r) {
    case LMC_FINISH_NONE: return "none";
    case LMC_FINISH_EOG: return "eog";
    case LMC_FINISH_STOP: return "stop";
    case LMC_FINISH_LENGTH: return "length";
    case LMC_FINISH_CANCELLED: return "cancelled";
    case LMC_FINISH_ERROR: return "error";
    }
    return "?";
}

static void *engine_thread(void *arg);

lmc_engine *lmc_engine_init(const lmc_model *m, const lmc_vocab *vocab, lmc_engine_params p) {
    if (!m) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_engine_init: model is NULL");
    const lmc_model_hparams *hp = &m->hp;
    if (p.n_threads < 1 || p.n_threads > 1024)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "engine: threads must be between 1 and 1024, got %d", p.n_threads);
    if (p.n_ctx < 0 || p.kv_mem < 0 || p.block_size < 0 || p.n_batch < 0 || p.n_seq_max < 0)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "engine: negative size parameter");
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train;
    if (hp->arch == LMC_ARCH_GPT2 && p.n_ctx > hp->n_ctx_train)
        return lmc_set_error_null(LMC_ERR_LIMIT, "engine: context %d exceeds the %d positions gpt2 has embeddings for",
                                  p.n_ctx, hp->n_ctx_train);
    if (p.block_size == 0) p.block_size = 16;
    if (p.n_batch == 0) p.n_batch = 512;
    if (p.n_seq_max == 0) p.n_seq_max = 64;
    if (vocab && lmc_vocab_n_tokens(vocab) > hp->n_vocab)
        return lmc_set_error_null(LMC_ERR_INVALID_ARG, "engine: the vocabulary has %d tokens, the model %d",
                                  lmc_vocab_n_tokens(vocab), hp->n_vocab);
    const int64_t Ckv = (int64_t)hp->n_head_kv * hp->head_dim;
    if (p.kv_type != LMC_TYPE_F32 && p.kv_type != LMC_TYPE_F16 && p.kv_type != LMC_TYPE_Q8_0)
        return lmc_set_error_null(LMC_ERR_UNSUPPORTED, "engine: KV type %s is not supported (use f32, f16 or q8_0)",
                                  lmc_type_name(p.kv_type) ? lmc_type_name(p.kv_type) : "?");
    const size_t bpt = lmc_block_pool_bytes_per_token(p.kv_type, hp->n_layer, Ckv);
    int64_t n_blocks = p.kv_mem > 0 ? p.kv_mem / (int64_t)(bpt * (size_t)p.block_size)
                                    : ((int64_t)p.n_ctx + p.block_size - 1) / p.block_size;
    if (n_blocks < 1)
        return lmc_set_error_null(LMC_ERR_LIMIT, "engine: --kv-mem %lld bytes is less than one block (%zu bytes)",
                                  (long long)p.kv_mem, bpt * (size_t)p.block_size);
    if (n_blocks > INT32_MAX / 2) n_blocks = INT32_MAX / 2;

    lmc_engine *e = calloc(1, sizeof *e);
    if (!e) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    e->m = m;
    e->vocab = vocab;
    e->p = p;
    e->n_vocab = hp->n_vocab;
    e->next_id = 1;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->step_mu, NULL);
    pthread_cond_init(&e->cv_work, NULL);
    pthread_cond_init(&e->cv_event, NULL);
    const int64_t out_cap = LMC_MIN((int64_t)p.n_batch, LMC_MAX(2 * (int64_t)p.n_seq_max, 128));
    e->running_cap = 2 * p.n_seq_max;
    e->running = malloc((size_t)e->running_cap * sizeof *e->running);
    e->bs = malloc((size_t)p.n_batch * sizeof *e->bs);
    e->bseq = malloc((size_t)p.n_batch * sizeof *e->bseq);
    if (!e->running || !e->bs || !e->bseq) {
        lmc_set_error(LMC_ERR_NOMEM, "out of memory");
        lmc_engine_free(e);
        return NULL;
    }
    if (lmc_block_pool_init(&e->pool, (int32_t)n_blocks, p.block_size, hp->n_layer, Ckv, hp->head_dim, p.kv_type) ||
        lmc_batch_forward_init(&e->fwd, m, &e->pool, p.n_batch, out_cap, p.n_ctx, p.n_threads)) {
        lmc_engine_free(e);
        return NULL;
    }
    e->fwd.flash_attn = p.flash_attn;
    e->st.block_size = p.block_size;
    e->st.n_blocks = n_blocks;
    e->st.n_blocks_free = n_blocks;
    e->st.kv_bytes_per_token = bpt;
    e->st.kv_bytes = bpt * (size_t)p.block_size * (size_t)n_blocks;
    e->st_pub = e->st;
    if (p.background) {
        if (pthread_create(&e->thread, NULL, engine_thread, e)) {
            lmc_set_error(LMC_ERR_INTERNAL, "engine: cannot start its thread");
            lmc_engine_free(e);
            return NULL;
        }
        e->thread_started = true;
    }
    return e;
}

const lmc_model *lmc_engine_model(const lmc_engine *e) { return e->m; }
lmc_engine_params lmc_engine_get_params(const lmc_engine *e) { return e->p; }

/* ---- requests ------------------------------------------------------------------------ */

static void qevent_free(lmc_qevent *q) {
    if (!q) return;
    free(q->text);
    free(q->top);
    free(q->logits);
    free(q->error);
    free(q);
}

static void seq_free(lmc_seq *s) {
    if (!s) return;
    free(s->tokens);
    free(s->table);
    free(s->text);
    lmc_sampler_free(s->smpl);
    lmc_stop_free(s->stop);
    lmc_detok_free(s->detok);
    free(s);
}

static void req_free(lmc_ereq *r) {
    if (!r) return;
    if (r->seqs)
        for (int32_t i = 0; i < r->n_out; i++) seq_free(r->seqs[i]);
    free(r->seqs);
    if (r->stop_copy)
        for (size_t i = 0; i < r->r.n_stop; i++) free(r->stop_copy[i]);
    free(r->stop_copy);
    free(r->bias_copy);
    for (lmc_qevent *q = r->q_head; q;) {
        lmc_qevent *n = q->next;
        qevent_free(q);
        q = n;
    }
    qevent_free(r->q_cur);
    free(r->embed_acc);
    free(r);
}

/* unlinks r from the live list (mu held) */
static void req_unlink(lmc_engine *e, lmc_ereq *r) {
    for (lmc_ereq **l = &e->reqs; *l; l = &(*l)->next)
        if (*l == r) {
            *l = r->next;
            return;
        }
}

static lmc_ereq *req_find(lmc_engine *e, int64_t id) {
    for (lmc_ereq *r = e->reqs; r; r = r->next)
        if (r->id == id) return r;
    return NULL;
}

static lmc_seq *seq_new(lmc_engine *e, lmc_ereq *r, int32_t index, const int32_t *tok, int64_t n) {
    lmc_seq *s = calloc(1, sizeof *s);
    if (!s) return lmc_set_error_null(LMC_ERR_NOMEM, "out of memory");
    s->pre_tok = -1;
    s->req = r;
    s->index = index;
    s->state = LMC_SEQ_WAITING;
    if (index == 0) {
        s->cap = n + 16;
        if (!(s->tokens = malloc((size_t)s->cap * sizeof *s->tokens))) goto fail;
        memcpy(s->tokens, tok, (size_t)n * sizeof *tok);
        s->n_tokens = n;
    }
    if (r->kind != LMC_REQ_GENERATE) return s;
    lmc_sampler_params sp = r->r.sampling;
    if (sp.seed != LMC_SEED_RANDOM) sp.seed += (uint64_t)index;
    if (!(s->smpl = lmc_sampler_chain_from_params(&sp, e->n_vocab))) goto fail;
    for (int64_t k = 0; k < n; k++) lmc_sampler_accept(s->smpl, tok[k]);
    if (!(s->stop = lmc_stop_init((const char *const *)r->stop_copy, r->r.n_stop, r->r.max_tokens))) goto fail;
    if (e->vocab) {
        if (!(s->detok = lmc_detok_init(e->vocab, false))) goto fail;
        if (!r->r.ignore_eog)
            for (int32_t t = 0; t < lmc_vocab_n_tokens(e->vocab); t++)
                if (lmc_vocab_is_eog(e->vocab, t) && lmc_stop_add_eog(s->stop, t)) goto fail;
    }
    return s;
fail:
    seq_free(s);
    return NULL;
}

/* Builds and queues a request over tokens[n] (copied). */
static int64_t submit_tokens(lmc_engine *e, lmc_ereq *r, const int32_t *tok, int64_t n) {
    const int32_t V = e->n_vocab;
    if (n < 1) return lmc_set_error(LMC_ERR_INVALID_ARG, "engine: empty prompt");
    for (int64_t i = 0; i < n; i++)
        if (tok[i] < 0 || tok[i] >= V)
            return lmc_set_error(LMC_ERR_INVALID_ARG, "engine: token id %d at index %lld is outside the vocabulary [0, %d)",
                                 tok[i], (long long)i, V);
    if (n > e->p.n_ctx)
        return lmc_set_error(LMC_ERR_LIMIT, "engine: prompt of %lld tokens exceeds the context of %d", (long long)n,
                             e->p.n_ctx);
    const int64_t blocks = (n + e->p.block_size - 1) / e->p.block_size;
    if (blocks > e->pool.n_blocks)
        return lmc_set_error(LMC_ERR_LIMIT, "engine: prompt of %lld tokens needs %lld KV blocks, the pool has %d (raise --kv-mem)",
                             (long long)n, (long long)blocks, e->pool.n_blocks);
    r->n_prompt = n;
    r->n_open = r->n_out;
    if (!(r->seqs = calloc((size_t)r->n_out, sizeof *r->seqs))) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < r->n_out; i++)
        if (!(r->seqs[i] = seq_new(e, r, i, tok, n))) return LMC_ERR_NOMEM;
    r->t_submit = lmc_engine_now_ms();
    pthread_mutex_lock(&e->mu);
    r->id = e->next_id++;
    r->next = e->reqs;
    e->reqs = r;
    e->n_live++;
    lmc_seq *s = r->seqs[0];
    if (e->inc_tail) e->inc_tail->next_wait = s;
    else e->inc_head = s;
    e->inc_tail = s;
    pthread_cond_signal(&e->cv_work);
    const int64_t id = r->id;
    pthread_mutex_unlock(&e->mu);
    return id;
}

int64_t lmc_engine_submit(lmc_engine *e, const lmc_engine_request *rq) {
    if (!e || !rq) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_submit: bad arguments");
    if (rq->n < 1 || rq->n > 1024) return lmc_set_error(LMC_ERR_INVALID_ARG, "engine: n must be 1..1024, got %d", rq->n);
    if (!e->vocab && (rq->text || rq->n_stop))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "engine: text prompts and stop strings need a vocabulary");
    if (!rq->tokens && !rq->text) return lmc_set_error(LMC_ERR_INVALID_ARG, "engine: request without a prompt");
    int rc = lmc_sampler_params_check(&rq->sampling);
    if (rc) return rc;
    lmc_ereq *r = calloc(1, sizeof *r);
    if (!r) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    r->kind = LMC_REQ_GENERATE;
    r->r = *rq;
    r->n_out = rq->n;
    r->r.tokens = NULL;
    r->r.text = NULL;
    r->r.n_logprobs = rq->n_logprobs < 0 ? -1 : LMC_MIN(rq->n_logprobs, 64);
    if (rq->n_stop) {
        if (!(r->stop_copy = calloc(rq->n_stop, sizeof *r->stop_copy))) goto nomem;
        for (size_t i = 0; i < rq->n_stop; i++)
            if (!rq->stop[i] || !(r->stop_copy[i] = strdup(rq->stop[i]))) goto nomem;
    }
    r->r.stop = NULL;
    if (rq->sampling.n_logit_bias) {
        if (!(r->bias_copy = malloc(rq->sampling.n_logit_bias * sizeof *r->bias_copy))) goto nomem;
        memcpy(r->bias_copy, rq->sampling.logit_bias, rq->sampling.n_logit_bias * sizeof *r->bias_copy);
        r->r.sampling.logit_bias = r->bias_copy;
    }
    int32_t *ids = NULL;
    int64_t n = rq->n_tokens;
    const int32_t *tok = rq->tokens;
    if (!tok) {
        if ((rc = lmc_tokenize(e->vocab, rq->text, strlen(rq->text), true, true, &ids, &n))) {
            req_free(r);
            return rc;
        }
        tok = ids;
    }
    int64_t id = submit_tokens(e, r, tok, n);
    free(ids);
    if (id < 0) req_free(r);
    return id;
nomem:
    req_free(r);
    return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
}

/* ---- events ----------------------------------------------------------------------------- */

void lmc_engine_deliver(lmc_engine *e, lmc_seq *s, const lmc_engine_event *ev) {
    lmc_ereq *r = s->req;
    if (r->r.on_event) {
        r->r.on_event(ev, r->r.user);
        return;
    }
    lmc_qevent *q = calloc(1, sizeof *q);
    if (!q) return;
    q->ev = *ev;
    if (ev->text) {
        q->text = malloc(ev->text_len + 1);
        if (q->text) {
            memcpy(q->text, ev->text, ev->text_len);
            q->text[ev->text_len] = 0;
        }
        q->ev.text = q->text ? q->text : "";
        if (!q->text) q->ev.text_len = 0;
    }
    if (ev->n_top > 0 && (q->top = malloc((size_t)ev->n_top * sizeof *q->top)))
        memcpy(q->top, ev->top, (size_t)ev->n_top * sizeof *q->top);
    q->ev.top = q->top;
    if (!q->top) q->ev.n_top = 0;
    if (ev->logits && (q->logits = malloc((size_t)e->n_vocab * sizeof(float))))
        memcpy(q->logits, ev->logits, (size_t)e->n_vocab * sizeof(float));
    q->ev.logits = q->logits;
    if (ev->error) q->error = strdup(ev->error);
    q->ev.error = q->error;
    pthread_mutex_lock(&e->mu);
    if (r->q_tail) r->q_tail->next = q;
    else r->q_head = q;
    r->q_tail = q;
    pthread_cond_broadcast(&e->cv_event);
    pthread_mutex_unlock(&e->mu);
}

void lmc_engine_request_finished(lmc_engine *e, lmc_ereq *r) {
    pthread_mutex_lock(&e->mu);
    r->done = true;
    e->n_live--;
    pthread_cond_broadcast(&e->cv_event);
    const bool drop = r->kind == LMC_REQ_GENERATE && (r->r.on_event || r->released);
    if (drop) req_unlink(e, r);
    pthread_mutex_unlock(&e->mu);
    if (drop) req_free(r);
}

/* deadline for pthread_cond_timedwait */
static struct timespec deadline(int timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int lmc_engine_poll(lmc_engine *e, int64_t id, lmc_engine_event *ev, int timeout_ms) {
    if (!e || !ev) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_poll: bad arguments");
    const struct timespec ts = deadline(timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&e->mu);
    lmc_ereq *r = req_find(e, id);
    if (!r || r->released || r->kind != LMC_REQ_GENERATE || r->r.on_event) {
        pthread_mutex_unlock(&e->mu);
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_poll: no poll-mode request %lld", (long long)id);
    }
    for (;;) {
        if (r->q_head) {
            qevent_free(r->q_cur);
            r->q_cur = r->q_head;
            r->q_head = r->q_head->next;
            if (!r->q_head) r->q_tail = NULL;
            r->q_cur->next = NULL;
            *ev = r->q_cur->ev;
            pthread_mutex_unlock(&e->mu);
            return 1;
        }
        if (r->done || timeout_ms == 0) break;
        if (!e->p.background) { /* nobody else steps: do it here */
            pthread_mutex_unlock(&e->mu);
            int rc = lmc_engine_step(e);
            pthread_mutex_lock(&e->mu);
            if (rc < 0) break;
            continue;
        }
        if (timeout_ms < 0) pthread_cond_wait(&e->cv_event, &e->mu);
        else if (pthread_cond_timedwait(&e->cv_event, &e->mu, &ts) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&e->mu);
    return 0;
}

int lmc_engine_release(lmc_engine *e, int64_t id) {
    if (!e) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_release: engine is NULL");
    pthread_mutex_lock(&e->mu);
    lmc_ereq *r = req_find(e, id);
    if (!r || r->released || r->kind != LMC_REQ_GENERATE || r->r.on_event) {
        pthread_mutex_unlock(&e->mu);
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_release: no poll-mode request %lld", (long long)id);
    }
    r->released = true;
    const bool done = r->done;
    if (done) req_unlink(e, r);
    else {
        r->cancel = true;
        pthread_cond_signal(&e->cv_work);
    }
    pthread_mutex_unlock(&e->mu);
    if (done) req_free(r);
    return LMC_OK;
}

int lmc_engine_cancel(lmc_engine *e, int64_t id) {
    if (!e) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_cancel: engine is NULL");
    pthread_mutex_lock(&e->mu);
    lmc_ereq *r = req_find(e, id);
    if (!r || r->done) {
        pthread_mutex_unlock(&e->mu);
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_cancel: no running request %lld", (long long)id);
    }
    r->cancel = true;
    pthread_cond_signal(&e->cv_work);
    pthread_mutex_unlock(&e->mu);
    return LMC_OK;
}

/* waits until r is done (mu held on entry and exit); steps itself without a thread */
static int wait_done(lmc_engine *e, lmc_ereq *r) {
    while (!r->done) {
        if (e->p.background) {
            pthread_cond_wait(&e->cv_event, &e->mu);
        } else {
            pthread_mutex_unlock(&e->mu);
            int rc = lmc_engine_step(e);
            pthread_mutex_lock(&e->mu);
            if (rc < 0 && !r->done) return rc;
        }
    }
    return LMC_OK;
}

int lmc_engine_wait(lmc_engine *e, int64_t id) {
    if (!e) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_wait: engine is NULL");
    /* a callback request is freed by the stepping thread once finished: look it up
     * again after every wake-up instead of keeping the pointer */
    pthread_mutex_lock(&e->mu);
    int rc = LMC_OK;
    for (;;) {
        lmc_ereq *r = req_find(e, id);
        if (!r || r->done) break;
        if (e->p.background) {
            pthread_cond_wait(&e->cv_event, &e->mu);
        } else {
            pthread_mutex_unlock(&e->mu);
            rc = lmc_engine_step(e);
            pthread_mutex_lock(&e->mu);
            if (rc < 0) break;
            rc = LMC_OK;
        }
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ---- stepping --------------------------------------------------------------------------- */

int lmc_engine_step(lmc_engine *e) {
    if (!e) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_step: engine is NULL");
    if (e->p.background && !e->shutdown)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_step: the engine runs its own thread");
    pthread_mutex_lock(&e->step_mu);
    int rc = lmc_sched_step(e);
    pthread_mutex_unlock(&e->step_mu);
    pthread_mutex_lock(&e->mu);
    const int64_t live = e->n_live;
    pthread_mutex_unlock(&e->mu);
    return rc < 0 ? rc : (int)LMC_MIN(live, (int64_t)INT32_MAX);
}

int lmc_engine_run(lmc_engine *e) {
    int rc;
    while ((rc = lmc_engine_step(e)) > 0) {}
    return rc;
}

static bool has_work(lmc_engine *e) { /* mu held; the step-private lists are read by the stepping thread only */
    return e->inc_head || e->n_running > 0 || e->wait_head;
}

static void *engine_thread(void *arg) {
    lmc_engine *e = arg;
    pthread_mutex_lock(&e->mu);
    while (!e->shutdown) {
        bool cancel = false;
        for (lmc_ereq *r = e->reqs; r && !cancel; r = r->next) cancel = r->cancel && !r->done;
        if (!has_work(e) && !cancel) {
            pthread_cond_wait(&e->cv_work, &e->mu);
            continue;
        }
        pthread_mutex_unlock(&e->mu);
        pthread_mutex_lock(&e->step_mu);
        lmc_sched_step(e);
        pthread_mutex_unlock(&e->step_mu);
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

void lmc_engine_free(lmc_engine *e) {
    if (!e) return;
    pthread_mutex_lock(&e->mu);
    e->shutdown = true;
    for (lmc_ereq *r = e->reqs; r; r = r->next) r->cancel = true;
    pthread_cond_broadcast(&e->cv_work);
    pthread_mutex_unlock(&e->mu);
    if (e->thread_started) pthread_join(e->thread, NULL);
    if (e->running && e->bs && e->pool.b) { /* finish what is left: cancelled events, blocks back */
        pthread_mutex_lock(&e->step_mu);
        lmc_sched_step(e);
        pthread_mutex_unlock(&e->step_mu);
    }
    for (lmc_ereq *r = e->reqs; r;) {
        lmc_ereq *n = r->next;
        req_free(r);
        r = n;
    }
    lmc_batch_forward_free(&e->fwd);
    lmc_block_pool_free(&e->pool);
    free(e->running);
    free(e->bs);
    free(e->bseq);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->step_mu);
    pthread_cond_destroy(&e->cv_work);
    pthread_cond_destroy(&e->cv_event);
    free(e);
}

/* ---- score, embed, stats ------------------------------------------------------------------- */

/* Runs an internal request to completion and frees it. */
static int run_internal(lmc_engine *e, lmc_ereq *r, const int32_t *tok, int64_t n) {
    int64_t id = submit_tokens(e, r, tok, n);
    if (id < 0) {
        req_free(r);
        return (int)id;
    }
    pthread_mutex_lock(&e->mu);
    int rc = wait_done(e, r);
    if (rc == LMC_OK && r->status) rc = lmc_set_error(r->status, "%s", r->errmsg);
    if (r->done) req_unlink(e, r);
    pthread_mutex_unlock(&e->mu);
    if (r->done) req_free(r);
    return rc;
}

int lmc_engine_score(lmc_engine *e, const int32_t *ctx, int64_t n_ctx, const int32_t *cont, int64_t n_cont,
                     float *logprobs, bool *is_greedy, int32_t n_top, lmc_token_logprob *top) {
    if (!e || !ctx || n_ctx < 1 || n_cont < 0 || (n_cont && (!cont || !logprobs)) || n_top < 0 || (n_top && !top))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_score: bad arguments");
    if (n_cont == 0) return LMC_OK;
    int32_t *all = malloc((size_t)(n_ctx + n_cont) * sizeof *all);
    lmc_ereq *r = calloc(1, sizeof *r);
    if (!all || !r) {
        free(all);
        free(r);
        return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    memcpy(all, ctx, (size_t)n_ctx * sizeof *all);
    memcpy(all + n_ctx, cont, (size_t)n_cont * sizeof *all);
    r->kind = LMC_REQ_SCORE;
    r->n_out = 1;
    r->score_from = n_ctx - 1;
    r->lp_out = logprobs;
    r->greedy_out = is_greedy;
    r->n_top_out = n_top;
    r->top_out = top;
    int rc = run_internal(e, r, all, n_ctx + n_cont);
    free(all);
    return rc;
}

int lmc_engine_embed(lmc_engine *e, const int32_t *tokens, int64_t n, lmc_pooling pooling, bool normalize,
                     float *out) {
    if (!e || !tokens || n < 1 || !out || (pooling != LMC_POOLING_MEAN && pooling != LMC_POOLING_LAST))
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_embed: bad arguments");
    lmc_ereq *r = calloc(1, sizeof *r);
    if (!r) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    r->kind = LMC_REQ_EMBED;
    r->n_out = 1;
    r->pooling = pooling;
    r->normalize = normalize;
    r->embed_out = out;
    if (!(r->embed_acc = calloc((size_t)e->m->hp.n_embd, sizeof(double)))) {
        free(r);
        return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    return run_internal(e, r, tokens, n);
}

int lmc_engine_get_stats(lmc_engine *e, lmc_engine_stats *s) {
    if (!e || !s) return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_get_stats: bad arguments");
    pthread_mutex_lock(&e->mu);
    *s = e->st_pub;
    int64_t nw = 0;
    for (lmc_seq *q = e->inc_head; q; q = q->next_wait) nw++;
    if (nw > s->n_waiting) s->n_waiting = nw;
    pthread_mutex_unlock(&e->mu);
    return LMC_OK;
}

/* ---- beam search ------------------------------------------------------------------------------ */

typedef struct {
    lmc_engine *e;
    lmc_ereq *r;
    const int32_t *prompt;
    int64_t n_prompt;
} beam_ctx;

/* frees the beams of the previous step (their blocks back to the pool); step_mu held */
static void beams_free(lmc_engine *e, lmc_ereq *r) {
    for (int32_t i = 0; i < r->n_out; i++) {
        lmc_seq_drop_blocks(e, r->seqs[i]);
        seq_free(r->seqs[i]);
    }
    free(r->seqs);
    r->seqs = NULL;
    r->n_out = 0;
}

/* the copy of parent extended by tok, sharing parent's blocks (step_mu held) */
static lmc_seq *beam_fork(lmc_engine *e, lmc_ereq *r, int32_t index, const lmc_seq *parent, int32_t tok) {
    lmc_seq *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->pre_tok = -1;
    s->req = r;
    s->index = index;
    s->state = LMC_SEQ_WAITING;
    s->hits_counted = true;
    s->cap = parent->n_tokens + 16;
    s->table_cap = parent->n_table + 4;
    s->tokens = malloc((size_t)s->cap * sizeof *s->tokens);
    s->table = malloc((size_t)s->table_cap * sizeof *s->table);
    if (!s->tokens || !s->table) {
        seq_free(s);
        return NULL;
    }
    memcpy(s->tokens, parent->tokens, (size_t)parent->n_tokens * sizeof *s->tokens);
    s->tokens[parent->n_tokens] = tok;
    s->n_tokens = parent->n_tokens + 1;
    memcpy(s->table, parent->table, (size_t)parent->n_table * sizeof *s->table);
    s->n_table = parent->n_table;
    for (int64_t b = 0; b < s->n_table; b++)
        if (s->table[b] >= 0) lmc_block_retain(&e->pool, s->table[b]);
    s->n_computed = parent->n_computed;
    s->n_hashed = parent->n_hashed;
    s->last_hash = parent->last_hash;
    return s;
}

static int beam_step(void *user, int32_t step, int32_t n, const int32_t *parent, const int32_t *token, float *logits) {
    beam_ctx *bc = user;
    lmc_engine *e = bc->e;
    lmc_ereq *r = bc->r;
    lmc_seq **seqs = calloc((size_t)n, sizeof *seqs);
    if (!seqs) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    int rc = LMC_OK;
    pthread_mutex_lock(&e->step_mu); /* the pool belongs to the stepping thread */
    for (int32_t i = 0; i < n && !rc; i++) {
        if (step == 0) { /* every beam of the first step is the prompt */
            if ((seqs[i] = seq_new(e, r, 0, bc->prompt, bc->n_prompt))) seqs[i]->index = i;
        }
        else if (parent[i] < 0 || parent[i] >= r->n_out) rc = lmc_set_error(LMC_ERR_INTERNAL, "beam: bad parent");
        else seqs[i] = beam_fork(e, r, i, r->seqs[parent[i]], token[i]);
        if (!rc && !seqs[i]) rc = lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    }
    if (rc) {
        for (int32_t i = 0; i < n; i++)
            if (seqs[i]) {
                lmc_seq_drop_blocks(e, seqs[i]);
                seq_free(seqs[i]);
            }
        free(seqs);
        pthread_mutex_unlock(&e->step_mu);
        return rc;
    }
    beams_free(e, r);
    r->seqs = seqs;
    r->n_out = n;
    pthread_mutex_unlock(&e->step_mu);

    pthread_mutex_lock(&e->mu);
    r->n_open = n;
    r->done = false;
    r->beam_logits = logits;
    e->n_live++;
    for (int32_t i = 0; i < n; i++) {
        lmc_seq *s = seqs[i];
        if (e->inc_tail) e->inc_tail->next_wait = s;
        else e->inc_head = s;
        e->inc_tail = s;
    }
    pthread_cond_signal(&e->cv_work);
    rc = wait_done(e, r);
    if (rc == LMC_OK && r->status) rc = lmc_set_error(r->status, "%s", r->errmsg);
    if (rc == LMC_OK && r->cancel) rc = lmc_set_error(LMC_ERR_INVALID_ARG, "engine: beam search cancelled (engine freed)");
    pthread_mutex_unlock(&e->mu);
    return rc;
}

int lmc_engine_beam_search(lmc_engine *e, const int32_t *prompt, int64_t n_prompt, const lmc_beam_params *p,
                           lmc_beam_result *out) {
    if (!e || !prompt || n_prompt < 1 || !p || !out)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "lmc_engine_beam_search: bad arguments");
    for (int64_t i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= e->n_vocab)
            return lmc_set_error(LMC_ERR_INVALID_ARG, "engine: token id %d at index %lld is outside the vocabulary",
                                 prompt[i], (long long)i);
    if (n_prompt >= e->p.n_ctx)
        return lmc_set_error(LMC_ERR_LIMIT, "engine: prompt of %lld tokens leaves no room in a context of %d",
                             (long long)n_prompt, e->p.n_ctx);
    lmc_beam_params bp = *p;
    if (bp.max_tokens > e->p.n_ctx - n_prompt) bp.max_tokens = (int32_t)(e->p.n_ctx - n_prompt);
    lmc_ereq *r = calloc(1, sizeof *r);
    if (!r) return lmc_set_error(LMC_ERR_NOMEM, "out of memory");
    r->kind = LMC_REQ_BEAM;
    r->n_prompt = n_prompt;
    r->t_submit = lmc_engine_now_ms();
    pthread_mutex_lock(&e->mu);
    r->id = e->next_id++;
    r->next = e->reqs;
    e->reqs = r;
    pthread_mutex_unlock(&e->mu);
    beam_ctx bc = {.e = e, .r = r, .prompt = prompt, .n_prompt = n_prompt};
    int rc = lmc_beam_search(&bp, e->n_vocab, beam_step, &bc, out);
    pthread_mutex_lock(&e->step_mu);
    beams_free(e, r);
    lmc_sched_publish(e); /* the blocks came back outside a step */
    pthread_mutex_unlock(&e->step_mu);
    pthread_mutex_lock(&e->mu);
    req_unlink(e, r);
    pthread_mutex_unlock(&e->mu);
    req_free(r);
    return rc;
}
