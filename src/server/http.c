/* http.c — libmicrohttpd glue: one thread per connection, bodies collected up to
 * max_body (413 beyond), routing with 404/405, API-key check (401), CORS headers on
 * every answer, SSE responses fed by srv_stream_read, web files. */
#include "server-impl.h"

#include "lmc-impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef struct conn {
    char *body;
    size_t len, cap;
    bool too_large;
    double t0;
} conn;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void add_cors(lmc_server *s, struct MHD_Response *resp) {
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", s->p.cors_origin);
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Content-Type, Authorization");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
}

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    ssize_t n = srv_stream_read(cls, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void stream_free(void *cls) { srv_stream_close(cls); }

bool srv_client_gone(int fd) {
    if (fd < 0) return false;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static enum MHD_Result send_reply(lmc_server *s, struct MHD_Connection *c, srv_reply *r, const char *endpoint,
                                  double t0, const char *allow) {
    struct MHD_Response *resp;
    if (r->stream) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_cb, r->stream, stream_free);
        if (resp) {
            MHD_add_response_header(resp, "Cache-Control", "no-cache");
            MHD_add_response_header(resp, "X-Accel-Buffering", "no");
        } else {
            srv_stream_close(r->stream);
        }
    } else {
        if (r->body)
            resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
        else
            resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) return MHD_NO;
    if (r->ctype) MHD_add_response_header(resp, "Content-Type", r->ctype);
    if (r->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    if (allow) MHD_add_response_header(resp, "Allow", allow);
    add_cors(s, resp);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    srv_metrics_request(s->metrics, endpoint, r->status, now_s() - t0);
    return ret;
}

typedef enum { R_GET, R_POST } route_method;
typedef struct route {
    const char *path;
    route_method method;
    bool auth;
} route;

static const route ROUTES[] = {
    {"/health", R_GET, false},
    {"/metrics", R_GET, false},
    {"/v1/models", R_GET, true},
    {"/v1/chat/completions", R_POST, true},
    {"/v1/completions", R_POST, true},
    {"/v1/embeddings", R_POST, true},
    {"/tokenize", R_POST, true},
    {"/detokenize", R_POST, true},
};

/* Constant-time comparison of the bearer token with the key. */
static bool auth_ok(lmc_server *s, struct MHD_Connection *c) {
    if (!s->p.api_key || !s->p.api_key[0]) return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7)) return false;
    h += 7;
    size_t a = strlen(h), b = strlen(s->p.api_key);
    unsigned diff = a != b;
    for (size_t i = 0; i < a; i++) diff |= (unsigned char)h[i] ^ (unsigned char)s->p.api_key[i % (b ? b : 1)];
    return diff == 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **ptr) {
    (void)version;
    lmc_server *s = cls;
    conn *k = *ptr;
    if (!k) {
        k = calloc(1, sizeof *k);
        if (!k) return MHD_NO;
        k->t0 = now_s();
        *ptr = k;
        /* A declared body over the limit is refused before it is read. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->p.max_body) k->too_large = true;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!k->too_large && k->len + *upload_size > s->p.max_body) k->too_large = true;
        if (!k->too_large) {
            if (k->len + *upload_size + 1 > k->cap) {
                size_t nc = (k->len + *upload_size + 1) * 2;
                if (nc > s->p.max_body + 1) nc = s->p.max_body + 1;
                char *p = realloc(k->body, nc);
                if (!p) return MHD_NO;
                k->body = p;
                k->cap = nc;
            }
            memcpy(k->body + k->len, upload, *upload_size);
            k->len += *upload_size;
            k->body[k->len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    srv_reply r = {0};
    /* handlers waiting on a generation poll it to cancel for a client that left while
     * its request was queued or generating (a write would only notice at the next token) */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    r.client_fd = ci ? ci->connect_fd : -1;
    const char *endpoint = "other";
    const char *allow = NULL;
    if (!strcmp(method, "OPTIONS")) { /* CORS preflight */
        r.status = 204;
        return send_reply(s, c, &r, "options", k->t0, "GET, POST, OPTIONS");
    }
    const route *rt = NULL;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++)
        if (!strcmp(url, ROUTES[i].path)) rt = &ROUTES[i];
    bool is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!rt) {
        size_t size;
        const char *mime;
        const unsigned char *data = is_get ? srv_webui_find(url, &size, &mime) : NULL;
        if (data) {
            struct MHD_Response *resp = MHD_create_response_from_buffer(size, (void *)data, MHD_RESPMEM_PERSISTENT);
            if (!resp) return MHD_NO;
            MHD_add_response_header(resp, "Content-Type", mime);
            add_cors(s, resp);
            enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
            MHD_destroy_response(resp);
            srv_metrics_request(s->metrics, "web", 200, now_s() - k->t0);
            return ret;
        }
        char msg[300];
        snprintf(msg, sizeof msg, "no such endpoint: %s %.200s", method, url);
        srv_reply_error(&r, 404, msg, NULL, "not_found");
        return send_reply(s, c, &r, "other", k->t0, NULL);
    }
    endpoint = rt->path;
    if ((rt->method == R_GET && !is_get) || (rt->method == R_POST && strcmp(method, "POST"))) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s takes %s, not %s", rt->path, rt->method == R_GET ? "GET" : "POST", method);
        srv_reply_error(&r, 405, msg, NULL, "method_not_allowed");
        allow = rt->method == R_GET ? "GET, HEAD, OPTIONS" : "POST, OPTIONS";
        return send_reply(s, c, &r, endpoint, k->t0, allow);
    }
    if (rt->auth && !auth_ok(s, c)) {
        srv_reply_error(&r, 401, "missing or wrong API key (Authorization: Bearer KEY)", NULL, "invalid_api_key");
        return send_reply(s, c, &r, endpoint, k->t0, NULL);
    }
    if (k->too_large) {
        char msg[120];
        snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", s->p.max_body);
        srv_reply_error(&r, 413, msg, NULL, "request_too_large");
        return send_reply(s, c, &r, endpoint, k->t0, NULL);
    }
    if (s->stop) {
        srv_reply_error(&r, 503, "the server is shutting down", NULL, "server_busy");
        r.retry_after = 5;
        return send_reply(s, c, &r, endpoint, k->t0, NULL);
    }
    const char *body = k->body ? k->body : "";
    if (!strcmp(url, "/health")) {
        r.status = 200;
        r.body = strdup("{\"status\":\"ok\"}");
        r.len = r.body ? strlen(r.body) : 0;
        r.ctype = "application/json";
    } else if (!strcmp(url, "/metrics")) {
        r.status = 200;
        r.body = srv_metrics_render(s->metrics, s->engine, atomic_load(&s->in_flight));
        r.len = r.body ? strlen(r.body) : 0;
        r.ctype = "text/plain; version=0.0.4";
    } else if (!strcmp(url, "/v1/models")) {
        srv_handle_models(s, &r);
    } else if (!strcmp(url, "/v1/chat/completions")) {
        srv_handle_chat(s, body, k->len, &r);
    } else if (!strcmp(url, "/v1/completions")) {
        srv_handle_completion(s, body, k->len, &r);
    } else if (!strcmp(url, "/v1/embeddings")) {
        srv_handle_embeddings(s, body, k->len, &r);
    } else if (!strcmp(url, "/tokenize")) {
        srv_handle_tokenize(s, body, k->len, &r);
    } else {
        srv_handle_detokenize(s, body, k->len, &r);
    }
    return send_reply(s, c, &r, endpoint, k->t0, NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **ptr, enum MHD_RequestTerminationCode why) {
    (void)cls;
    (void)c;
    (void)why;
    conn *k = *ptr;
    if (k) {
        free(k->body);
        free(k);
        *ptr = NULL;
    }
}

/* libmicrohttpd's messages to stderr, less the ones a client leaving mid-answer causes:
 * one per dropped stream or half-sent request flooded the log under churn */
static void mhd_log(void *cls, const char *fm, va_list ap) {
    (void)cls;
    if (strstr(fm, "Failed to send the chunked response body") || strstr(fm, "closed by remote side") ||
        strstr(fm, "forcibly closed by remote peer"))
        return;
    vfprintf(stderr, fm, ap);
}

int srv_http_start(lmc_server *s) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)s->p.port);
    if (inet_pton(AF_INET, s->p.host, &addr.sin_addr) != 1)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "server: --host '%s' is not an IPv4 address", s->p.host);
    s->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                                     MHD_USE_ERROR_LOG,
                                 0, NULL, NULL, handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->p.timeout_s,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->p.max_connections,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!s->daemon)
        return lmc_set_error(LMC_ERR_IO, "server: cannot listen on %s:%d (in use?)", s->p.host, s->p.port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : s->p.port;
    return LMC_OK;
}

void srv_http_stop(lmc_server *s) {
    if (!s->daemon) return;
    MHD_quiesce_daemon(s->daemon);
    MHD_stop_daemon(s->daemon); /* joins every connection thread */
    s->daemon = NULL;
}
