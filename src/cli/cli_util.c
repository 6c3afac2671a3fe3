/* cli_util.c — option parsing and error printing shared by the commands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
