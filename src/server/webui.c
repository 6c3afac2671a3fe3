/* webui.c — the web chat files CMake embeds from src/server/webui/, by URL path. */
#include "server-impl.h"

#include <string.h>

struct lmc_webui_file {
    const char *path;
    const unsigned char *data;
    size_t size;
};
extern const struct lmc_webui_file lmc_webui_files[]; /* NULL-terminated (build step) */

static const char *mime_of(const char *path) {
    static const char *const tab[][2] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
        {".svg", "image/svg+xml"},             {".png", "image/png"},
        {".ico", "image/x-icon"},              {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
            if (!strcmp(dot, tab[i][0])) return tab[i][1];
    return "application/octet-stream";
}

const unsigned char *srv_webui_find(const char *url, size_t *size, const char **mime) {
    if (!strcmp(url, "/")) url = "/index.html";
    for (const struct lmc_webui_file *f = lmc_webui_files; f->path; f++) {
        if (!strcmp(f->path, url)) {
            *size = f->size;
            *mime = mime_of(f->path);
            return f->data;
        }
    }
    return NULL;
}
