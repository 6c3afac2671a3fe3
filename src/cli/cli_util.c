/* cli_util.c — option parsing and error printing shared by the commands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* SMT siblings share a core's vector units and caches: a second thread on a core gains
 * little in these kernels and its share of every dispatch makes the others wait. */
int cli_default_threads(void) {
    int n = 0;
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
    if (n <= 0) {
        const long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 1024 ? 1024 : c > 0 ? (int)c : 1;
    }
    FILE *f = fopen("/sys/devices/system/cpu/smt/active", "r");
    if (f) {
        int smt = 0;
        if (fscanf(f, "%d", &smt) == 1 && smt == 1 && n > 1) n /= 2;
        fclose(f);
    }
    return n < 1 ? 1 : n > 1024 ? 1024 : n;
}

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("lmc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_ERR;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lmc %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'lmc %s --help')\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

int cli_lib_error(void) {
    const char *m = lmc_last_error();
    return cli_error("%s", m && *m ? m : "unknown error");
}

int cli_is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

int cli_value(const char *cmd, int argc, char **argv, int *i, const char **out) {
    if (*i + 1 >= argc) return cli_usage_error(cmd, "option '%s' needs a value", argv[*i]);
    *out = argv[++*i];
    return 0;
}

int cli_int(const char *cmd, int argc, char **argv, int *i, long long min, long long max, long long *out) {
    const char *opt = argv[*i], *s = NULL;
    int rc = cli_value(cmd, argc, argv, i, &s);
    if (rc) return rc;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return cli_usage_error(cmd, "option '%s' needs an integer, got '%s'", opt, s);
    if (v < min || v > max)
        return cli_usage_error(cmd, "option '%s' must be between %lld and %lld, got %lld", opt, min, max, v);
    *out = v;
    return 0;
}

int cli_float(const char *cmd, int argc, char **argv, int *i, double min, double max, double *out) {
    const char *opt = argv[*i], *s = NULL;
    int rc = cli_value(cmd, argc, argv, i, &s);
    if (rc) return rc;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || isnan(v))
        return cli_usage_error(cmd, "option '%s' needs a number, got '%s'", opt, s);
    if (v < min || v > max) return cli_usage_error(cmd, "option '%s' must be between %g and %g, got %g", opt, min, max, v);
    *out = v;
    return 0;
}

const char *cli_bytes(double b, char *buf, size_t cap) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int k = 0;
    while (b >= 1024 && k < 4) {
        b /= 1024;
        k++;
    }
    snprintf(buf, cap, k ? "%.2f %s" : "%.0f %s", b, u[k]);
    return buf;
}

#include <time.h>
#include <unistd.h>

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_mean_sd(const double *x, int n, double *mean, double *sd) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

void cli_progress_init(cli_progress *p, const char *label, int bytes) {
    p->label = label;
    p->bytes = bytes;
    p->tty = isatty(STDERR_FILENO);
    p->t0 = p->last = cli_now();
    p->last_decile = -1;
}

void cli_progress_update(void *vp, uint64_t done, uint64_t total) {
    cli_progress *p = vp;
    double now = cli_now();
    int decile = total ? (int)(10 * done / total) : -1;
    if (p->tty) {
        if (now - p->last < 0.1 && done != total) return;
    } else if (decile == p->last_decile || decile < 0) {
        return;
    }
    p->last = now;
    p->last_decile = decile;
    double el = now - p->t0, rate = el > 0 ? (double)done / el : 0;
    char a[32], b[32], line[256];
    if (p->bytes) {
        cli_bytes((double)done, a, sizeof a);
        cli_bytes((double)total, b, sizeof b);
    } else {
        snprintf(a, sizeof a, "%llu", (unsigned long long)done);
        snprintf(b, sizeof b, "%llu", (unsigned long long)total);
    }
    if (total) {
        int w = 30, fill = (int)(w * (double)done / (double)total);
        char bar[40];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        double eta = rate > 0 ? (double)(total - done) / rate : 0;
        snprintf(line, sizeof line, "%s [%s] %3.0f%% %s / %s  ETA %.0fs", p->label, bar,
                 100.0 * (double)done / (double)total, a, b, eta);
    } else {
        snprintf(line, sizeof line, "%s %s", p->label, a);
    }
    if (p->bytes && rate > 0) {
        char r[32];
        size_t n = strlen(line);
        snprintf(line + n, sizeof line - n, "  %s/s", cli_bytes(rate, r, sizeof r));
    }
    fprintf(stderr, p->tty ? "\r%s\033[K" : "%s\n", line);
}

void cli_progress_done(cli_progress *p) {
    if (p->tty) fputc('\n', stderr);
}
