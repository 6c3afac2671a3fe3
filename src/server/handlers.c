/* handlers.c — the endpoints: prompts rendered/tokenized and checked against the
 * context, generations submitted to the engine (callback mode), results shaped as
 * OpenAI responses or Server-Sent Events chunks. */
#include "server-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- replies ---- */

void srv_reply_json(srv_reply *r, int status, cJSON *j) {
    r->status = status;
    r->body = j ? cJSON_PrintUnformatted(j) : NULL;
    r->len = r->body ? strlen(r->body) : 0;
    r->ctype = "application/json";
    cJSON_Delete(j);
    if (!r->body) srv_reply_error(r, 500, "out of memory", NULL, NULL);
}

void srv_reply_error(srv_reply *r, int status, const char *msg, const char *param, const char *code) {
    r->status = status;
    r->body = srv_error_json(status, msg, param, code);
    r->len = r->body ? strlen(r->body) : 0;
    r->ctype = "application/json";
}

/* ---- a generation in flight ---- */

typedef struct srv_ev {
    int index;
    int32_t token;
    float lp;
    lmc_token_logprob *top;
    int n_top;
    char *text;
    size_t len;
    lmc_finish_reason finish;
    int64_t n_prompt, n_gen;
    double ttft;
} srv_ev;

struct srv_stream {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                /* HTTP side + engine side */
    lmc_server *s;
    int64_t id;
    int fd;                  /* the client's socket (-1: unknown) */
    srv_gen_request req;
    int64_t n_prompt;
    srv_ev *evs;
    size_t n_evs, cap_evs, next; /* next: first event not yet turned into output */
    int n_final;
    bool done, failed, cancelled;
    /* SSE output */
    char *out;
    size_t out_n, out_pos, out_cap;
    bool *role_sent;
    bool tail_sent;
    int64_t n_gen_total;
    char cid[48];
    long created;
};

static void stream_unref(struct srv_stream *st) {
    pthread_mutex_lock(&st->mu);
    int left = --st->refs;
    pthread_mutex_unlock(&st->mu);
    if (left) return;
    for (size_t i = 0; i < st->n_evs; i++) {
        free(st->evs[i].text);
        free(st->evs[i].top);
    }
    free(st->evs);
    free(st->out);
    free(st->role_sent);
    srv_gen_request_free(&st->req);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st);
}

/* Engine thread: copy the event and wake the HTTP thread. */
static void on_event(const lmc_engine_event *ev, void *user) {
    struct srv_stream *st = user;
    pthread_mutex_lock(&st->mu);
    bool last = false;
    if (st->n_evs == st->cap_evs) {
        size_t nc = st->cap_evs * 2 + 16;
        srv_ev *p = realloc(st->evs, nc * sizeof *p);
        if (p) {
            st->evs = p;
            st->cap_evs = nc;
        }
    }
    if (st->n_evs < st->cap_evs) {
        srv_ev *e = &st->evs[st->n_evs++];
        memset(e, 0, sizeof *e);
        e->index = ev->index;
        e->token = ev->token;
        e->lp = ev->logprob;
        e->finish = ev->finish;
        e->n_prompt = ev->n_prompt;
        e->n_gen = ev->n_gen;
        e->ttft = ev->t_first_ms;
        if (ev->text_len && ev->text) {
            e->text = malloc(ev->text_len + 1);
            if (e->text) {
                memcpy(e->text, ev->text, ev->text_len);
                e->text[ev->text_len] = 0;
                e->len = ev->text_len;
            }
        }
        if (ev->n_top > 0 && ev->top) {
            e->top = malloc(sizeof *e->top * (size_t)ev->n_top);
            if (e->top) {
                memcpy(e->top, ev->top, sizeof *e->top * (size_t)ev->n_top);
                e->n_top = ev->n_top;
            }
        }
    } else {
        st->failed = true;
    }
    if (ev->finish != LMC_FINISH_NONE) {
        if (ev->finish == LMC_FINISH_ERROR) st->failed = true;
        st->n_gen_total += ev->n_gen;
        if (++st->n_final == st->req.n) {
            st->done = true;
            last = true;
        }
    }
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (last) {
        atomic_fetch_sub(&st->s->in_flight, 1);
        srv_metrics_tokens(st->s->metrics, ev->n_prompt, st->n_gen_total, ev->t_first_ms);
        stream_unref(st);
    }
}

/* ---- prompts ---- */

static int tokenize_prompt(lmc_server *s, const char *text, size_t len, bool maybe_bos, int32_t **ids, int64_t *n) {
    bool add_special = true;
    if (maybe_bos) { /* the template may already have written BOS (as lmc chat) */
        int32_t bos = lmc_vocab_bos(s->vocab);
        if (bos >= 0) {
            char b[128];
            int bl = lmc_token_to_piece(s->vocab, bos, true, b, sizeof b);
            if (bl > 0 && len >= (size_t)bl && memcmp(text, b, (size_t)bl) == 0) add_special = false;
        }
    }
    return lmc_tokenize(s->vocab, text, len, add_special, true, ids, n);
}

/* Renders (chat) or tokenizes (completion) the prompt; 0 or an error reply made. */
static int prepare_prompt(lmc_server *s, srv_gen_request *q, int32_t **ids, int64_t *n, srv_reply *r) {
    if (q->kind == SRV_CHAT) {
        lmc_chat_params cp = lmc_chat_default_params();
        cp.messages_json = q->messages_json;
        cp.tools_json = q->tools_json;
        cp.add_generation_prompt = true;
        char *text = NULL;
        size_t len = 0;
        if (lmc_chat_render(s->tmpl, &cp, &text, &len) != LMC_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "the chat template failed: %s", lmc_last_error());
            srv_reply_error(r, 400, msg, "messages", NULL);
            return -1;
        }
        int rc = tokenize_prompt(s, text, len, true, ids, n);
        free(text);
        if (rc != LMC_OK) {
            srv_reply_error(r, 400, lmc_last_error(), "messages", NULL);
            return -1;
        }
    } else if (q->prompt) {
        if (tokenize_prompt(s, q->prompt, strlen(q->prompt), false, ids, n) != LMC_OK) {
            srv_reply_error(r, 400, lmc_last_error(), "prompt", NULL);
            return -1;
        }
    } else {
        int32_t nv = lmc_vocab_n_tokens(s->vocab);
        for (int64_t i = 0; i < q->n_prompt_tokens; i++)
            if (q->prompt_tokens[i] >= nv) {
                srv_reply_error(r, 400, "a prompt token id is out of the vocabulary", "prompt", NULL);
                return -1;
            }
        *ids = malloc(sizeof **ids * (size_t)q->n_prompt_tokens);
        if (!*ids) {
            srv_reply_error(r, 500, "out of memory", NULL, NULL);
            return -1;
        }
        memcpy(*ids, q->prompt_tokens, sizeof **ids * (size_t)q->n_prompt_tokens);
        *n = q->n_prompt_tokens;
    }
    if (*n == 0) {
        srv_reply_error(r, 400, "the prompt is empty", q->kind == SRV_CHAT ? "messages" : "prompt", NULL);
        return -1;
    }
    return 0;
}

/* ---- building responses ---- */

static void usage_obj(cJSON *o, int64_t prompt, int64_t gen) {
    cJSON *u = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)gen);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(prompt + gen));
}

static cJSON *envelope(struct srv_stream *st, bool chunk) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", st->cid);
    cJSON_AddStringToObject(o, "object", st->req.kind == SRV_CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                                  : "text_completion");
    cJSON_AddNumberToObject(o, "created", (double)st->created);
    cJSON_AddStringToObject(o, "model", st->s->model_name);
    cJSON_AddStringToObject(o, "system_fingerprint", "lmc-" LMC_VERSION_STRING);
    return o;
}

/* Completions-style logprobs of one token, appended to lp {tokens, token_logprobs, top_logprobs, text_offset}. */
static void compl_lp_add(lmc_server *s, cJSON *lp, int32_t tok, const float *logprob, const lmc_token_logprob *top,
                         int n_top, int64_t *offset) {
    char *t = srv_token_text(s->vocab, tok);
    cJSON_AddItemToArray(cJSON_GetObjectItem(lp, "tokens"), cJSON_CreateString(t ? t : ""));
    cJSON_AddItemToArray(cJSON_GetObjectItem(lp, "token_logprobs"),
                         logprob ? cJSON_CreateNumber(*logprob) : cJSON_CreateNull());
    cJSON *tops = cJSON_CreateObject();
    for (int i = 0; i < n_top; i++) {
        char *tt = srv_token_text(s->vocab, top[i].id);
        if (!cJSON_GetObjectItemCaseSensitive(tops, tt ? tt : "")) cJSON_AddNumberToObject(tops, tt ? tt : "", top[i].logprob);
        free(tt);
    }
    cJSON_AddItemToArray(cJSON_GetObjectItem(lp, "top_logprobs"), logprob ? tops : (cJSON_Delete(tops), cJSON_CreateNull()));
    cJSON_AddItemToArray(cJSON_GetObjectItem(lp, "text_offset"), cJSON_CreateNumber((double)*offset));
    *offset += t ? (int64_t)strlen(t) : 0;
    free(t);
}

static cJSON *compl_lp_new(void) {
    cJSON *lp = cJSON_CreateObject();
    cJSON_AddArrayToObject(lp, "tokens");
    cJSON_AddArrayToObject(lp, "token_logprobs");
    cJSON_AddArrayToObject(lp, "top_logprobs");
    cJSON_AddArrayToObject(lp, "text_offset");
    return lp;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static bool sb_add(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->n + n + 1) * 2;
        char *q = realloc(b->p, nc);
        if (!q) return false;
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return true;
}

/* Non-streaming: the whole response from the collected events. echo_* are the echoed
 * prompt (text and per-token logprobs) for completions. */
static cJSON *build_full(struct srv_stream *st, const int32_t *prompt, int64_t n_prompt, const float *prompt_lp,
                         const lmc_token_logprob *prompt_top) {
    lmc_server *s = st->s;
    int n = st->req.n;
    bool want_lp = st->req.logprobs >= 0;
    cJSON *o = envelope(st, false);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    int64_t gen = 0;
    for (int i = 0; i < n; i++) {
        sbuf text = {0};
        sb_add(&text, "", 0);
        cJSON *lp = NULL;
        int64_t offset = 0;
        if (want_lp) lp = st->req.kind == SRV_CHAT ? cJSON_CreateArray() : compl_lp_new();
        if (st->req.echo) {
            char *pt = NULL;
            size_t pl = 0;
            if (st->req.prompt)
                sb_add(&text, st->req.prompt, strlen(st->req.prompt));
            else if (lmc_detokenize(s->vocab, prompt, n_prompt, false, &pt, &pl) == LMC_OK)
                sb_add(&text, pt, pl);
            free(pt);
            if (lp)
                for (int64_t k = 0; k < n_prompt; k++)
                    compl_lp_add(s, lp, prompt[k], k ? &prompt_lp[k - 1] : NULL,
                                 k ? prompt_top + (size_t)(k - 1) * (size_t)st->req.logprobs : NULL, k ? st->req.logprobs : 0,
                                 &offset);
        }
        lmc_finish_reason fin = LMC_FINISH_LENGTH;
        for (size_t k = 0; k < st->n_evs; k++) {
            const srv_ev *e = &st->evs[k];
            if (e->index != i) continue;
            if (e->len) sb_add(&text, e->text, e->len);
            if (lp && e->token >= 0 && !(e->finish == LMC_FINISH_NONE && lmc_vocab_is_eog(s->vocab, e->token))) {
                if (st->req.kind == SRV_CHAT)
                    cJSON_AddItemToArray(lp, srv_token_logprob_chat(s->vocab, e->token, e->lp, e->top, e->n_top));
                else
                    compl_lp_add(s, lp, e->token, &e->lp, e->top, e->n_top, &offset);
            }
            if (e->finish != LMC_FINISH_NONE) {
                fin = e->finish;
                gen += e->n_gen;
            }
        }
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", i);
        if (st->req.kind == SRV_CHAT) {
            cJSON *m = cJSON_AddObjectToObject(c, "message");
            cJSON_AddStringToObject(m, "role", "assistant");
            cJSON_AddStringToObject(m, "content", text.p ? text.p : "");
            if (lp) {
                cJSON *l = cJSON_AddObjectToObject(c, "logprobs");
                cJSON_AddItemToObject(l, "content", lp);
            } else {
                cJSON_AddNullToObject(c, "logprobs");
            }
        } else {
            cJSON_AddStringToObject(c, "text", text.p ? text.p : "");
            if (lp)
                cJSON_AddItemToObject(c, "logprobs", lp);
            else
                cJSON_AddNullToObject(c, "logprobs");
        }
        cJSON_AddStringToObject(c, "finish_reason", srv_finish_name(fin));
        cJSON_AddItemToArray(choices, c);
        free(text.p);
    }
    usage_obj(o, n_prompt, gen);
    return o;
}

/* ---- SSE ---- */

static bool out_add(struct srv_stream *st, const char *s, size_t n) {
    sbuf b = {st->out, st->out_n, st->out_cap};
    bool ok = sb_add(&b, s, n);
    st->out = b.p;
    st->out_n = b.n;
    st->out_cap = b.cap;
    return ok;
}

static void out_json(struct srv_stream *st, cJSON *o) {
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return;
    out_add(st, "data: ", 6);
    out_add(st, s, strlen(s));
    out_add(st, "\n\n", 2);
    free(s);
}

static void sse_event(struct srv_stream *st, const srv_ev *e) {
    lmc_server *s = st->s;
    bool chat = st->req.kind == SRV_CHAT;
    bool want_lp = st->req.logprobs >= 0 && e->token >= 0 &&
                   !(e->finish == LMC_FINISH_NONE && lmc_vocab_is_eog(s->vocab, e->token));
    if (chat && !st->role_sent[e->index]) {
        st->role_sent[e->index] = true;
        cJSON *o = envelope(st, true);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", e->index);
        cJSON *d = cJSON_AddObjectToObject(c, "delta");
        cJSON_AddStringToObject(d, "role", "assistant");
        cJSON_AddStringToObject(d, "content", "");
        cJSON_AddNullToObject(c, "logprobs");
        cJSON_AddNullToObject(c, "finish_reason");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), c);
        out_json(st, o);
    }
    if (!e->len && !want_lp && e->finish == LMC_FINISH_NONE) return;
    cJSON *o = envelope(st, true);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", e->index);
    if (chat) {
        cJSON *d = cJSON_AddObjectToObject(c, "delta");
        if (e->len || e->finish == LMC_FINISH_NONE) cJSON_AddStringToObject(d, "content", e->text ? e->text : "");
    } else {
        cJSON_AddStringToObject(c, "text", e->text ? e->text : "");
    }
    if (want_lp) {
        if (chat) {
            cJSON *l = cJSON_AddObjectToObject(c, "logprobs");
            cJSON *arr = cJSON_AddArrayToObject(l, "content");
            cJSON_AddItemToArray(arr, srv_token_logprob_chat(s->vocab, e->token, e->lp, e->top, e->n_top));
        } else {
            cJSON *lp = compl_lp_new();
            int64_t off = 0;
            compl_lp_add(s, lp, e->token, &e->lp, e->top, e->n_top, &off);
            cJSON_AddItemToObject(c, "logprobs", lp);
        }
    } else {
        cJSON_AddNullToObject(c, "logprobs");
    }
    if (e->finish != LMC_FINISH_NONE)
        cJSON_AddStringToObject(c, "finish_reason", srv_finish_name(e->finish));
    else
        cJSON_AddNullToObject(c, "finish_reason");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), c);
    out_json(st, o);
}

ssize_t srv_stream_read(struct srv_stream *st, char *buf, size_t max) {
    pthread_mutex_lock(&st->mu);
    for (;;) {
        if (st->out_pos < st->out_n) {
            size_t k = st->out_n - st->out_pos;
            if (k > max) k = max;
            memcpy(buf, st->out + st->out_pos, k);
            st->out_pos += k;
            if (st->out_pos == st->out_n) st->out_pos = st->out_n = 0;
            pthread_mutex_unlock(&st->mu);
            return (ssize_t)k;
        }
        if (st->next < st->n_evs) {
            while (st->next < st->n_evs) sse_event(st, &st->evs[st->next++]);
            continue;
        }
        if (st->done) {
            if (st->tail_sent) break;
            st->tail_sent = true;
            if (st->failed) {
                char *err = srv_error_json(500, "the generation failed", NULL, NULL);
                if (err) {
                    out_add(st, "data: ", 6);
                    out_add(st, err, strlen(err));
                    out_add(st, "\n\n", 2);
                    free(err);
                }
            }
            if (st->req.include_usage) {
                cJSON *o = envelope(st, true);
                cJSON_AddArrayToObject(o, "choices");
                usage_obj(o, st->n_prompt, st->n_gen_total);
                out_json(st, o);
            }
            out_add(st, "data: [DONE]\n\n", 14);
            continue;
        }
        /* nothing to send: a client that left is noticed here, not at the next write,
         * so a queued or slow sequence stops holding a slot and KV blocks */
        if (!st->cancelled && (st->s->stop || srv_client_gone(st->fd))) {
            st->cancelled = true;
            lmc_engine_cancel(st->s->engine, st->id);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&st->cv, &st->mu, &ts);
    }
    pthread_mutex_unlock(&st->mu);
    return -1;
}

void srv_stream_close(struct srv_stream *st) {
    pthread_mutex_lock(&st->mu);
    bool running = !st->done;
    pthread_mutex_unlock(&st->mu);
    if (running) lmc_engine_cancel(st->s->engine, st->id); /* the client went away */
    stream_unref(st);
}

/* ---- generation endpoints ---- */

static void handle_gen(lmc_server *s, srv_kind kind, const char *body, size_t len, srv_reply *r) {
    char err[512];
    const char *param = NULL;
    srv_gen_request q;
    if (srv_parse_gen(kind, body, len, &s->lim, &q, err, sizeof err, &param) != LMC_OK) {
        srv_reply_error(r, 400, err, param, NULL);
        return;
    }
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    if (prepare_prompt(s, &q, &ids, &n_ids, r)) {
        srv_gen_request_free(&q);
        return;
    }
    int64_t max_tokens = q.max_tokens;
    if (max_tokens < 0) max_tokens = kind == SRV_COMPLETION ? 16 : s->n_ctx - n_ids;
    if (kind == SRV_COMPLETION && q.max_tokens < 0 && n_ids + max_tokens > s->n_ctx) max_tokens = s->n_ctx - n_ids;
    if (n_ids >= s->n_ctx || n_ids + max_tokens > s->n_ctx) {
        snprintf(err, sizeof err,
                 "this model's context is %d tokens; the prompt is %lld tokens and max_tokens %lld (%lld in all)",
                 (int)s->n_ctx, (long long)n_ids, (long long)max_tokens, (long long)(n_ids + max_tokens));
        srv_reply_error(r, 400, err, q.max_tokens >= 0 ? "max_tokens" : (kind == SRV_CHAT ? "messages" : "prompt"),
                        "context_length_exceeded");
        free(ids);
        srv_gen_request_free(&q);
        return;
    }
    int32_t nv = lmc_vocab_n_tokens(s->vocab);
    for (size_t i = 0; i < q.sp.n_logit_bias; i++)
        if (q.bias[i].token >= nv) {
            srv_reply_error(r, 400, "a logit_bias token id is out of the vocabulary", "logit_bias", NULL);
            free(ids);
            srv_gen_request_free(&q);
            return;
        }
    if (atomic_fetch_add(&s->in_flight, 1) >= s->p.max_queue) {
        atomic_fetch_sub(&s->in_flight, 1);
        srv_reply_error(r, 503, "the server is busy: too many requests in flight; retry later", NULL, "server_busy");
        r->retry_after = 1;
        free(ids);
        srv_gen_request_free(&q);
        return;
    }
    struct srv_stream *st = calloc(1, sizeof *st);
    bool *roles = calloc((size_t)q.n, sizeof *roles);
    if (!st || !roles) {
        atomic_fetch_sub(&s->in_flight, 1);
        free(st);
        free(roles);
        free(ids);
        srv_gen_request_free(&q);
        srv_reply_error(r, 500, "out of memory", NULL, NULL);
        return;
    }
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    st->refs = 2;
    st->s = s;
    st->fd = r->client_fd;
    st->req = q;
    st->role_sent = roles;
    st->n_prompt = n_ids;
    st->created = (long)time(NULL);
    snprintf(st->cid, sizeof st->cid, "%s-%ld", kind == SRV_CHAT ? "chatcmpl" : "cmpl",
             atomic_fetch_add(&s->next_id, 1));

    /* echo + logprobs: the prompt's own log-probabilities from the engine's scorer */
    float *plp = NULL;
    lmc_token_logprob *ptop = NULL;
    if (q.echo && q.logprobs >= 0 && n_ids > 1) {
        plp = malloc(sizeof *plp * (size_t)n_ids);
        ptop = malloc(sizeof *ptop * (size_t)n_ids * (size_t)(q.logprobs ? q.logprobs : 1));
        int rc = !plp || !ptop ? LMC_ERR_NOMEM
                               : lmc_engine_score(s->engine, ids, 1, ids + 1, n_ids - 1, plp, NULL, q.logprobs,
                                                  q.logprobs ? ptop : NULL);
        if (rc != LMC_OK) {
            /* nothing was submitted: drop the engine's reference and the in-flight count here
             * (they leaked, and every such request kept a --max-queue place forever) */
            atomic_fetch_sub(&s->in_flight, 1);
            st->refs--;
            if (rc == LMC_ERR_NOMEM)
                srv_reply_error(r, 500, "out of memory", NULL, NULL);
            else /* e.g. a prompt larger than the KV pool, as a refused submit */
                srv_reply_error(r, rc == LMC_ERR_LIMIT || rc == LMC_ERR_INVALID_ARG ? 400 : 500, lmc_last_error(),
                                rc == LMC_ERR_LIMIT ? "prompt" : NULL, NULL);
            goto fail;
        }
    }
    if (max_tokens == 0) { /* nothing to generate (echo scoring) */
        for (int i = 0; i < q.n; i++) {
            lmc_engine_event ev = {0};
            ev.index = i;
            ev.token = -1;
            ev.finish = LMC_FINISH_LENGTH;
            ev.n_prompt = n_ids;
            ev.t_first_ms = -1;
            on_event(&ev, st);
        }
    } else {
        lmc_engine_request er = lmc_engine_default_request();
        er.tokens = ids;
        er.n_tokens = n_ids;
        er.sampling = q.sp;
        er.stop = (const char *const *)q.stop;
        er.n_stop = (size_t)q.n_stop;
        er.max_tokens = max_tokens;
        er.n_logprobs = q.logprobs;
        er.n = q.n;
        er.on_event = on_event;
        er.user = st;
        st->id = lmc_engine_submit(s->engine, &er);
        if (st->id < 0) {
            atomic_fetch_sub(&s->in_flight, 1);
            st->refs--;
            srv_reply_error(r, 400, lmc_last_error(), NULL, NULL);
            goto fail;
        }
    }
    if (q.stream) {
        r->status = 200;
        r->stream = st;
        r->ctype = "text/event-stream";
        free(ids);
        free(plp);
        free(ptop);
        return;
    }
    pthread_mutex_lock(&st->mu);
    while (!st->done) {
        if (!st->cancelled && (s->stop || srv_client_gone(st->fd))) { /* nobody will read the answer */
            st->cancelled = true;
            lmc_engine_cancel(s->engine, st->id);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&st->cv, &st->mu, &ts);
    }
    pthread_mutex_unlock(&st->mu);
    if (st->failed)
        srv_reply_error(r, 500, "the generation failed", NULL, NULL);
    else
        srv_reply_json(r, 200, build_full(st, ids, n_ids, plp, ptop));
fail:
    free(ids);
    free(plp);
    free(ptop);
    stream_unref(st);
}

void srv_handle_chat(lmc_server *s, const char *body, size_t len, srv_reply *r) {
    handle_gen(s, SRV_CHAT, body, len, r);
}

void srv_handle_completion(lmc_server *s, const char *body, size_t len, srv_reply *r) {
    handle_gen(s, SRV_COMPLETION, body, len, r);
}

/* ---- embeddings, tokenize, detokenize, models ---- */

void srv_handle_embeddings(lmc_server *s, const char *body, size_t len, srv_reply *r) {
    char err[512];
    const char *param = NULL;
    srv_embed_request q;
    if (srv_parse_embed(body, len, &s->lim, &q, err, sizeof err, &param) != LMC_OK) {
        srv_reply_error(r, 400, err, param, NULL);
        return;
    }
    int32_t n_embd = lmc_model_get_hparams(s->model)->n_embd;
    float *vec = malloc(sizeof *vec * (size_t)n_embd);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(o, "data");
    int64_t total = 0;
    int32_t nv = lmc_vocab_n_tokens(s->vocab);
    for (int i = 0; i < q.n_inputs && vec; i++) {
        int32_t *ids = NULL;
        int64_t n = 0;
        if (q.texts) {
            if (lmc_tokenize(s->vocab, q.texts[i], strlen(q.texts[i]), true, false, &ids, &n) != LMC_OK) {
                srv_reply_error(r, 400, lmc_last_error(), "input", NULL);
                goto out;
            }
        } else {
            n = q.n_tokens[i];
            ids = malloc(sizeof *ids * (size_t)(n ? n : 1));
            if (ids) memcpy(ids, q.tokens[i], sizeof *ids * (size_t)n);
            for (int64_t k = 0; ids && k < n; k++)
                if (ids[k] >= nv) {
                    free(ids);
                    srv_reply_error(r, 400, "a token id is out of the vocabulary", "input", NULL);
                    goto out;
                }
        }
        if (n == 0 || n > s->n_ctx) {
            free(ids);
            snprintf(err, sizeof err, "input %d is %lld tokens; it must be 1..%d", i, (long long)n, (int)s->n_ctx);
            srv_reply_error(r, 400, err, "input", "context_length_exceeded");
            goto out;
        }
        int rc = lmc_engine_embed(s->engine, ids, n, LMC_POOLING_MEAN, true, vec);
        free(ids);
        if (rc != LMC_OK) {
            srv_reply_error(r, 500, lmc_last_error(), NULL, NULL);
            goto out;
        }
        total += n;
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "object", "embedding");
        cJSON_AddNumberToObject(d, "index", i);
        if (q.base64) {
            char *b = srv_base64((const unsigned char *)vec, sizeof *vec * (size_t)n_embd); /* little-endian f32 */
            cJSON_AddStringToObject(d, "embedding", b ? b : "");
            free(b);
        } else {
            cJSON *arr = cJSON_AddArrayToObject(d, "embedding");
            for (int32_t k = 0; k < n_embd; k++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(vec[k]));
        }
        cJSON_AddItemToArray(data, d);
    }
    if (!vec) {
        srv_reply_error(r, 500, "out of memory", NULL, NULL);
        goto out;
    }
    cJSON_AddStringToObject(o, "model", s->model_name);
    cJSON *u = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)total);
    cJSON_AddNumberToObject(u, "total_tokens", (double)total);
    srv_metrics_tokens(s->metrics, total, 0, -1);
    srv_reply_json(r, 200, o);
    o = NULL;
out:
    cJSON_Delete(o);
    free(vec);
    srv_embed_request_free(&q);
}

void srv_handle_tokenize(lmc_server *s, const char *body, size_t len, srv_reply *r) {
    char err[512];
    srv_tok_request q;
    if (srv_parse_tokenize(body, len, &s->lim, &q, err, sizeof err) != LMC_OK) {
        srv_reply_error(r, 400, err, NULL, NULL);
        return;
    }
    int32_t *ids = NULL;
    int64_t n = 0;
    if (lmc_tokenize(s->vocab, q.content, strlen(q.content), q.add_special, true, &ids, &n) != LMC_OK) {
        srv_reply_error(r, 400, lmc_last_error(), "content", NULL);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "tokens");
        for (int64_t i = 0; i < n; i++) {
            if (q.with_pieces) {
                cJSON *t = cJSON_CreateObject();
                cJSON_AddNumberToObject(t, "id", ids[i]);
                char *p = srv_token_text(s->vocab, ids[i]);
                cJSON_AddStringToObject(t, "piece", p ? p : "");
                free(p);
                cJSON_AddItemToArray(arr, t);
            } else {
                cJSON_AddItemToArray(arr, cJSON_CreateNumber(ids[i]));
            }
        }
        srv_reply_json(r, 200, o);
    }
    free(ids);
    srv_tok_request_free(&q);
}

void srv_handle_detokenize(lmc_server *s, const char *body, size_t len, srv_reply *r) {
    char err[512];
    srv_tok_request q;
    if (srv_parse_detokenize(body, len, &s->lim, &q, err, sizeof err) != LMC_OK) {
        srv_reply_error(r, 400, err, NULL, NULL);
        return;
    }
    char *text = NULL;
    size_t tl = 0;
    if (lmc_detokenize(s->vocab, q.tokens, q.n_tokens, false, &text, &tl) != LMC_OK) {
        srv_reply_error(r, 400, lmc_last_error(), "tokens", NULL);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "content", text);
        srv_reply_json(r, 200, o);
    }
    free(text);
    srv_tok_request_free(&q);
}

void srv_handle_models(lmc_server *s, srv_reply *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", s->model_name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", 0);
    cJSON_AddStringToObject(m, "owned_by", "lmc");
    cJSON *meta = cJSON_AddObjectToObject(m, "meta");
    cJSON_AddNumberToObject(meta, "n_ctx", s->n_ctx);
    cJSON_AddNumberToObject(meta, "n_vocab", lmc_vocab_n_tokens(s->vocab));
    cJSON_AddNumberToObject(meta, "n_params", (double)lmc_model_n_params(s->model));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "data"), m);
    srv_reply_json(r, 200, o);
}
