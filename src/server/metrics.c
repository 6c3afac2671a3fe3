/* metrics.c — counters behind GET /metrics, rendered as Prometheus text together
 * with the engine's gauges (queue length, KV blocks, prefix-cache hits). */
#include "server-impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_BUCKETS 10
static const double BUCKETS[N_BUCKETS] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

typedef struct hist {
    int64_t count[N_BUCKETS + 1]; /* last: +Inf */
    int64_t n;
    double sum;
} hist;

#define N_ROWS 64
typedef struct row {
    char endpoint[32];
    int status;
    int64_t n;
} row;

struct srv_metrics {
    pthread_mutex_t mu;
    row rows[N_ROWS];
    int n_rows;
    int64_t prompt_tokens, gen_tokens;
    hist latency, ttft;
};

srv_metrics *srv_metrics_init(void) {
    srv_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void srv_metrics_free(srv_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void hist_add(hist *h, double v) {
    int b = 0;
    while (b < N_BUCKETS && v > BUCKETS[b]) b++;
    h->count[b]++;
    h->n++;
    h->sum += v;
}

void srv_metrics_request(srv_metrics *m, const char *endpoint, int status, double seconds) {
    pthread_mutex_lock(&m->mu);
    int i = 0;
    while (i < m->n_rows && (m->rows[i].status != status || strcmp(m->rows[i].endpoint, endpoint))) i++;
    if (i == m->n_rows && m->n_rows < N_ROWS) {
        snprintf(m->rows[i].endpoint, sizeof m->rows[i].endpoint, "%s", endpoint);
        m->rows[i].status = status;
        m->n_rows++;
    }
    if (i < N_ROWS) m->rows[i].n++;
    hist_add(&m->latency, seconds);
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_tokens(srv_metrics *m, int64_t prompt, int64_t gen, double ttft_ms) {
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += prompt;
    m->gen_tokens += gen;
    if (ttft_ms >= 0) hist_add(&m->ttft, ttft_ms / 1000.0);
    pthread_mutex_unlock(&m->mu);
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = (b->cap + (size_t)k + 1) * 2;
        char *q = realloc(b->p, nc);
        if (!q) return;
        b->p = q;
        b->cap = nc;
    }
}

static void hist_render(sbuf *b, const char *name, const char *help, const hist *h) {
    sb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    int64_t cum = 0;
    for (int i = 0; i < N_BUCKETS; i++) {
        cum += h->count[i];
        sb_printf(b, "%s_bucket{le=\"%g\"} %lld\n", name, BUCKETS[i], (long long)cum);
    }
    sb_printf(b, "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %g\n%s_count %lld\n", name, (long long)h->n, name, h->sum, name,
              (long long)h->n);
}

char *srv_metrics_render(srv_metrics *m, lmc_engine *e, int in_flight) {
    sbuf b = {0};
    lmc_engine_stats st;
    memset(&st, 0, sizeof st);
    if (e) lmc_engine_get_stats(e, &st);
    pthread_mutex_lock(&m->mu);
    sb_printf(&b, "# HELP lmc_requests_total HTTP requests by endpoint and status.\n# TYPE lmc_requests_total counter\n");
    for (int i = 0; i < m->n_rows; i++)
        sb_printf(&b, "lmc_requests_total{endpoint=\"%s\",status=\"%d\"} %lld\n", m->rows[i].endpoint,
                  m->rows[i].status, (long long)m->rows[i].n);
    sb_printf(&b, "# HELP lmc_prompt_tokens_total Prompt tokens of finished generations.\n"
                  "# TYPE lmc_prompt_tokens_total counter\nlmc_prompt_tokens_total %lld\n",
              (long long)m->prompt_tokens);
    sb_printf(&b, "# HELP lmc_generated_tokens_total Generated tokens.\n"
                  "# TYPE lmc_generated_tokens_total counter\nlmc_generated_tokens_total %lld\n",
              (long long)m->gen_tokens);
    hist_render(&b, "lmc_request_duration_seconds", "Time from request to the last byte queued.", &m->latency);
    hist_render(&b, "lmc_time_to_first_token_seconds", "Time from submit to the first generated token.", &m->ttft);
    pthread_mutex_unlock(&m->mu);
    sb_printf(&b, "# HELP lmc_requests_in_flight Generations submitted and not finished.\n"
                  "# TYPE lmc_requests_in_flight gauge\nlmc_requests_in_flight %d\n", in_flight);
    sb_printf(&b, "# HELP lmc_queue_length Sequences waiting for the engine.\n# TYPE lmc_queue_length gauge\n"
                  "lmc_queue_length %lld\n", (long long)st.n_waiting);
    sb_printf(&b, "# HELP lmc_sequences_running Sequences in the batch.\n# TYPE lmc_sequences_running gauge\n"
                  "lmc_sequences_running %lld\n", (long long)st.n_running);
    sb_printf(&b, "# HELP lmc_kv_blocks_used KV blocks held by running sequences.\n# TYPE lmc_kv_blocks_used gauge\n"
                  "lmc_kv_blocks_used %lld\n", (long long)st.n_blocks_used);
    sb_printf(&b, "# HELP lmc_kv_blocks_free KV blocks free (cached prefix blocks count as free).\n"
                  "# TYPE lmc_kv_blocks_free gauge\nlmc_kv_blocks_free %lld\n", (long long)st.n_blocks_free);
    sb_printf(&b, "# HELP lmc_kv_blocks_cached Free KV blocks holding a cached prefix.\n"
                  "# TYPE lmc_kv_blocks_cached gauge\nlmc_kv_blocks_cached %lld\n", (long long)st.n_blocks_cached);
    sb_printf(&b, "# HELP lmc_prefix_cache_hit_ratio Prompt tokens reused from the prefix cache / prompt tokens.\n"
                  "# TYPE lmc_prefix_cache_hit_ratio gauge\nlmc_prefix_cache_hit_ratio %g\n",
              st.n_prompt_tokens ? (double)st.n_cached_tokens / (double)st.n_prompt_tokens : 0.0);
    sb_printf(&b, "# HELP lmc_preemptions_total Sequences preempted because the KV pool was full.\n"
                  "# TYPE lmc_preemptions_total counter\nlmc_preemptions_total %lld\n", (long long)st.n_preempted);
    return b.p;
}
