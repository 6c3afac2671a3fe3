/* server-impl.h — internals of `lmc serve` (src/server/): request parsing, OpenAI
 * response shaping, metrics, web files, HTTP glue. */
#ifndef LMC_SERVER_IMPL_H
#define LMC_SERVER_IMPL_H

#include "lmc.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

/* ---- request parsing (request.c): no model needed, fuzzed by fuzz_server.c ---- */

typedef enum srv_kind { SRV_CHAT = 0, SRV_COMPLETION = 1 } srv_kind;

typedef struct srv_limits {
    int max_n;            /* largest n                          */
    int64_t max_tokens;   /* largest max_tokens                 */
    int max_stop;         /* stop strings                       */
    size_t max_prompt;    /* prompt bytes / tokens              */
} srv_limits;

#define SRV_MAX_STOP 4

typedef struct srv_gen_request {
    srv_kind kind;
    char *model;
    char *messages_json;         /* chat: the messages array as JSON          */
    char *tools_json;            /* chat: tools array or NULL                 */
    char *prompt;                /* completion: prompt text, or NULL          */
    int32_t *prompt_tokens;      /* completion: prompt as token ids           */
    int64_t n_prompt_tokens;
    bool stream, include_usage, echo;
    int n;
    int64_t max_tokens;          /* -1: not given                             */
    lmc_sampler_params sp;
    lmc_logit_bias *bias;        /* owned; sp.logit_bias points here           */
    char *stop[SRV_MAX_STOP];
    int n_stop;
    int logprobs;                /* -1 none; else top alternatives wanted (0..20) */
} srv_gen_request;

/* Parses and validates a /v1/chat/completions or /v1/completions body. LMC_OK, or
 * LMC_ERR_INVALID_ARG with a message for the client in err (the 400's text) and
 * *param naming the offending field (or NULL). */
int srv_parse_gen(srv_kind kind, const char *body, size_t len, const srv_limits *lim, srv_gen_request *out,
                  char *err, size_t errcap, const char **param);
void srv_gen_request_free(srv_gen_request *r);

typedef struct srv_embed_request {
    char **texts;       /* n_inputs strings, or NULL when token lists were given */
    int32_t **tokens;   /* n_inputs token lists, or NULL                          */
    int64_t *n_tokens;
    int n_inputs;
    bool base64;
} srv_embed_request;
int srv_parse_embed(const char *body, size_t len, const srv_limits *lim, srv_embed_request *out, char *err,
                    size_t errcap, const char **param);
void srv_embed_request_free(srv_embed_request *r);

/* /tokenize {"content": str, "add_special": bool, "with_pieces": bool} and
 * /detokenize {"tokens": [int]} */
typedef struct srv_tok_request {
    char *content;
    bool add_special, with_pieces;
    int32_t *tokens;
    int64_t n_tokens;
} srv_tok_request;
int srv_parse_tokenize(const char *body, size_t len, const srv_limits *lim, srv_tok_request *out, char *err,
                       size_t errcap);
int srv_parse_detokenize(const char *body, size_t len, const srv_limits *lim, srv_tok_request *out, char *err,
                         size_t errcap);
void srv_tok_request_free(srv_tok_request *r);

/* ---- OpenAI shapes (oai.c) ---- */

/* {"error": {"message", "type", "param", "code"}} as a malloc'ed string. */
char *srv_error_json(int status, const char *message, const char *param, const char *code);
const char *srv_finish_name(lmc_finish_reason f);
/* A token's text as a JSON string piece + its bytes (logprobs.content[].bytes). */
cJSON *srv_token_logprob_chat(const lmc_vocab *v, int32_t tok, float lp, const lmc_token_logprob *top, int n_top);
char *srv_token_text(const lmc_vocab *v, int32_t tok); /* malloc'ed, special tokens as text,
                                                          partial UTF-8 as U+FFFD */
bool srv_utf8_valid(const char *s, size_t n);         /* request.c */
size_t srv_utf8_char(const unsigned char *p, size_t n); /* bytes of the valid character at p, 0 if none */
/* Base64 of n bytes (malloc'ed, NUL-terminated). */
char *srv_base64(const unsigned char *p, size_t n);

/* ---- metrics (metrics.c) ---- */

typedef struct srv_metrics srv_metrics;
srv_metrics *srv_metrics_init(void);
void srv_metrics_free(srv_metrics *m);
void srv_metrics_request(srv_metrics *m, const char *endpoint, int status, double seconds);
void srv_metrics_tokens(srv_metrics *m, int64_t prompt, int64_t gen, double ttft_ms);
/* Prometheus text (malloc'ed) with the engine's gauges. */
char *srv_metrics_render(srv_metrics *m, lmc_engine *e, int in_flight);

/* ---- web files (webui.c) ---- */

/* The embedded page file for an URL path ("/" -> "/index.html"), or NULL. */
const unsigned char *srv_webui_find(const char *url, size_t *size, const char **mime);

/* ---- the server (server.c, handlers.c, http.c) ---- */

struct lmc_server {
    lmc_server_params p;
    char *model_name;
    lmc_model *model;
    lmc_vocab *vocab;
    lmc_engine *engine;
    lmc_chat_template *tmpl;
    bool chatml;
    int32_t n_ctx;
    srv_limits lim;
    srv_metrics *metrics;
    struct MHD_Daemon *daemon;
    int port;
    volatile sig_atomic_t stop;
    atomic_int in_flight;   /* generations submitted, not finished */
    atomic_long next_id;
};

/* A handler's answer: status, body, content type, extra header (Retry-After). */
typedef struct srv_reply {
    int status;
    char *body;             /* malloc'ed                                    */
    size_t len;
    const char *ctype;
    int retry_after;        /* > 0: Retry-After header                      */
    struct srv_stream *stream; /* non-NULL: SSE stream instead of body       */
    int client_fd;          /* in: the client's socket, to notice it closing (-1: unknown) */
} srv_reply;

/* True when the peer has closed (or reset) the socket: recv peeks without consuming. */
bool srv_client_gone(int fd);

void srv_reply_json(srv_reply *r, int status, cJSON *j);  /* takes j */
void srv_reply_error(srv_reply *r, int status, const char *msg, const char *param, const char *code);

void srv_handle_chat(lmc_server *s, const char *body, size_t len, srv_reply *r);
void srv_handle_completion(lmc_server *s, const char *body, size_t len, srv_reply *r);
void srv_handle_embeddings(lmc_server *s, const char *body, size_t len, srv_reply *r);
void srv_handle_tokenize(lmc_server *s, const char *body, size_t len, srv_reply *r);
void srv_handle_detokenize(lmc_server *s, const char *body, size_t len, srv_reply *r);
void srv_handle_models(lmc_server *s, srv_reply *r);

/* SSE streams (handlers.c): read the next bytes (blocking); 0 = nothing yet,
 * -1 = end of stream. srv_stream_close cancels if unfinished and drops the ref. */
ssize_t srv_stream_read(struct srv_stream *st, char *buf, size_t max);
void srv_stream_close(struct srv_stream *st);

int srv_http_start(lmc_server *s);
void srv_http_stop(lmc_server *s);

#endif /* LMC_SERVER_IMPL_H */
