/* error.c — per-thread last-error message and status names. */
#include "lmc-impl.h"

#include <stdio.h>

static _Thread_local char g_errmsg[1024];

const char *lmc_version(void) { return LMC_VERSION_STRING; }

const char *lmc_last_error(void) { return g_errmsg; }

void lmc_clear_error(void) { g_errmsg[0] = '\0'; }

static void set_msg(const char *fmt, va_list ap) {
    vsnprintf(g_errmsg, sizeof g_errmsg, fmt, ap);
}

int lmc_set_error(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_msg(fmt, ap);
    va_end(ap);
    return code;
}

void *lmc_set_error_null(int code, const char *fmt, ...) {
    LMC_UNUSED(code);
    va_list ap;
    va_start(ap, fmt);
    set_msg(fmt, ap);
    va_end(ap);
    return NULL;
}

const char *lmc_status_str(int status) {
    switch (status) {
    case LMC_OK: return "ok";
    case LMC_ERR_INVALID_ARG: return "invalid argument";
    case LMC_ERR_IO: return "I/O error";
    case LMC_ERR_FORMAT: return "format error";
    case LMC_ERR_NOMEM: return "out of memory";
    case LMC_ERR_NOT_FOUND: return "not found";
    case LMC_ERR_TYPE: return "type mismatch";
    case LMC_ERR_UNSUPPORTED: return "unsupported";
    case LMC_ERR_LIMIT: return "limit exceeded";
    case LMC_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}
