/* cache.c — where downloaded models live, and file checksums. */
#include "lmc-impl.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int lmc_model_cache_dir(char *buf, size_t cap) {
    const char *lmc = getenv("LMC_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (lmc && *lmc)
        n = snprintf(buf, cap, "%s/models", lmc);
    else if (xdg && *xdg)
        n = snprintf(buf, cap, "%s/lmc/models", xdg);
    else if (home && *home)
        n = snprintf(buf, cap, "%s/.cache/lmc/models", home);
    else
        return lmc_set_error(LMC_ERR_NOT_FOUND, "no cache folder: set LMC_CACHE_DIR or HOME");
    if (n < 0 || (size_t)n >= cap) return lmc_set_error(LMC_ERR_LIMIT, "cache folder path too long");
    return LMC_OK;
}

int lmc_default_model_path(char *buf, size_t cap) {
    char dir[4096];
    int rc = lmc_model_cache_dir(dir, sizeof dir);
    if (rc) return rc;
    int n = snprintf(buf, cap, "%s/%s", dir, LMC_DEFAULT_MODEL_FILE);
    if (n < 0 || (size_t)n >= cap) return lmc_set_error(LMC_ERR_LIMIT, "model path too long");
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISREG(st.st_mode))
        return lmc_set_error(LMC_ERR_NOT_FOUND,
                             "no model given and the default model is not in %s; "
                             "get it with scripts/get-default-model.sh or pass -m MODEL.gguf", dir);
    return LMC_OK;
}

int lmc_sha256_file(const char *path, char out_hex[65]) {
    FILE *f = fopen(path, "rb");
    if (!f) return lmc_set_error(LMC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = malloc(1 << 20);
    int rc = LMC_OK;
    if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = lmc_set_error(LMC_ERR_NOMEM, "cannot start SHA-256");
        goto done;
    }
    size_t n;
    while ((n = fread(buf, 1, 1 << 20, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
    if (ferror(f)) {
        rc = lmc_set_error(LMC_ERR_IO, "%s: read error", path);
        goto done;
    }
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    for (unsigned i = 0; i < 32; i++) snprintf(out_hex + 2 * i, 3, "%02x", md[i]);
done:
    free(buf);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}
