/* hf_open.c — one way to open "a model" for every command: a GGUF file as it is, or a
 * Hugging Face folder converted on the fly.
 *
 * The folder is converted (weights as F32, tokenizer and chat template carried over) into
 * a GGUF in a private temporary folder, mapped, and the file unlinked at once: the map
 * keeps it alive and nothing is left behind, even after a crash. */
#include "lmc-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static lmc_gguf *open_hf_folder(const char *dir) {
    const char *tmp = getenv("TMPDIR");
    char tdir[4096], file[4200];
    snprintf(tdir, sizeof tdir, "%s/lmc-hf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tdir))
        return lmc_set_error_null(LMC_ERR_IO, "%s: cannot make a temporary folder %s: %s", dir, tdir, strerror(errno));
    snprintf(file, sizeof file, "%s/model.gguf", tdir);
    lmc_gguf *g = NULL;
    if (lmc_hf_convert(dir, file, "f32") == LMC_OK) g = lmc_gguf_open(file);
    unlink(file);
    rmdir(tdir);
    return g;
}

lmc_gguf *lmc_gguf_open_model(const char *path) {
    if (!path) return lmc_set_error_null(LMC_ERR_INVALID_ARG, "lmc_gguf_open_model: path is NULL");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char cfg[4200];
        snprintf(cfg, sizeof cfg, "%s/config.json", path);
        if (access(cfg, F_OK) != 0)
            return lmc_set_error_null(LMC_ERR_IO, "%s: is a directory, not a GGUF file nor a Hugging Face model "
                                      "folder (no config.json)", path);
        return open_hf_folder(path);
    }
    return lmc_gguf_open(path);
}
