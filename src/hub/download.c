/* download.c — resumable downloads of model files (libcurl), verified by SHA-256.
 * The bytes go to DEST.part; the final name appears only after the transfer is
 * complete and the checksum (when given) matches, so an interrupted or corrupt
 * download never looks like a model. */
#include "lmc-impl.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct {
    lmc_progress_fn fn;
    void *user;
    uint64_t offset; /* bytes already on disk when the transfer resumed */
} progress_ctx;

static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    LMC_UNUSED(ultotal);
    LMC_UNUSED(ulnow);
    progress_ctx *c = p;
    if (c->fn) c->fn(c->user, c->offset + (uint64_t)dlnow, dltotal ? c->offset + (uint64_t)dltotal : 0);
    return 0;
}

/* hf://OWNER/REPO/PATH[@REV] -> https://huggingface.co/OWNER/REPO/resolve/REV/PATH */
static int resolve_url(const char *url, char *out, size_t cap) {
    if (strncmp(url, "hf://", 5) != 0) {
        if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8) && strncasecmp(url, "file://", 7))
            return lmc_set_error(LMC_ERR_INVALID_ARG,
                                 "'%s' is not a URL: use https://..., file://... or hf://OWNER/REPO/FILE", url);
        if ((size_t)snprintf(out, cap, "%s", url) >= cap) return lmc_set_error(LMC_ERR_LIMIT, "URL too long");
        return LMC_OK;
    }
    const char *s = url + 5, *slash1 = strchr(s, '/'), *slash2 = slash1 ? strchr(slash1 + 1, '/') : NULL;
    if (!slash1 || !slash2 || !slash2[1])
        return lmc_set_error(LMC_ERR_INVALID_ARG, "'%s': expected hf://OWNER/REPO/FILE[@REVISION]", url);
    const char *path = slash2 + 1, *at = strrchr(path, '@');
    const char *rev = at ? at + 1 : "main";
    int plen = at ? (int)(at - path) : (int)strlen(path);
    int n = snprintf(out, cap, "https://huggingface.co/%.*s/resolve/%s/%.*s", (int)(slash2 - s), s, rev, plen, path);
    if (n < 0 || (size_t)n >= cap) return lmc_set_error(LMC_ERR_LIMIT, "URL too long");
    return LMC_OK;
}

int lmc_download(const char *url, const char *dest, const char *sha256_hex, lmc_progress_fn progress, void *user) {
    if (!url || !dest) return lmc_set_error(LMC_ERR_INVALID_ARG, "download needs a URL and a destination");
    if (sha256_hex && strlen(sha256_hex) != 64)
        return lmc_set_error(LMC_ERR_INVALID_ARG, "sha256 must be 64 hex digits, got '%s'", sha256_hex);
    char full[4096], part[4096];
    int rc = resolve_url(url, full, sizeof full);
    if (rc) return rc;
    if ((size_t)snprintf(part, sizeof part, "%s.part", dest) >= sizeof part)
        return lmc_set_error(LMC_ERR_LIMIT, "destination path too long");

    struct stat st;
    uint64_t have = (stat(part, &st) == 0 && S_ISREG(st.st_mode)) ? (uint64_t)st.st_size : 0;
    FILE *f = fopen(part, have ? "ab" : "wb");
    if (!f) return lmc_set_error(LMC_ERR_IO, "%s: cannot write: %s", part, strerror(errno));

    static int curl_ready = 0; /* curl_global_init is not thread-safe; first use is from the CLI thread */
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = 1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        fclose(f);
        return lmc_set_error(LMC_ERR_NOMEM, "cannot start libcurl");
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    progress_ctx pc = {progress, user, have};
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "lmc/" LMC_VERSION_STRING);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &pc);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    if (have) curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)have);
    const char *token = getenv("HF_TOKEN");
    struct curl_slist *hdr = NULL;
    if (token && *token && strstr(full, "huggingface.co")) {
        char h[1024];
        snprintf(h, sizeof h, "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, h);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    }
    CURLcode res = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    if (fclose(f) != 0 && res == CURLE_OK) return lmc_set_error(LMC_ERR_IO, "%s: write failed", part);
    if (res == CURLE_RANGE_ERROR || (res == CURLE_HTTP_RETURNED_ERROR && code == 416)) {
        /* The server refuses to resume (or .part is already complete): verify what we have. */
        res = CURLE_OK;
    }
    if (res != CURLE_OK) {
        if (stat(part, &st) == 0 && st.st_size == 0) remove(part); /* nothing worth resuming */
        return lmc_set_error(LMC_ERR_IO, "download of %s failed: %s (partial data kept in %s; run again to resume)",
                             full, errbuf[0] ? errbuf : curl_easy_strerror(res), part);
    }
    if (sha256_hex) {
        char got[65];
        rc = lmc_sha256_file(part, got);
        if (rc) return rc;
        if (strcasecmp(got, sha256_hex) != 0) {
            remove(part);
            return lmc_set_error(LMC_ERR_FORMAT, "%s: sha256 is %s, expected %s; the download was deleted", full, got,
                                 sha256_hex);
        }
    }
    if (rename(part, dest) != 0)
        return lmc_set_error(LMC_ERR_IO, "cannot rename %s to %s: %s", part, dest, strerror(errno));
    return LMC_OK;
}
