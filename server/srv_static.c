/*
 * srv_static.c - the dashboard's files from the web root.
 *
 * Owns which files may be served and their content types.  Design: refuse
 * first, resolve second.  Every decoded path segment is checked ("..",
 * ".", hidden names, encoded slashes and backslashes are refused), then the
 * file's realpath() must still lie inside the web root's realpath, so
 * neither encoded dots nor symlinks lead out of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv_api_handlers.h"
#include "srv_response.h"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
    {".wasm", "application/wasm"},
};

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

static void not_found(struct srv_response *r, const char *detail)
{
    srv_response_problem(r, 404, "not-found", detail, NULL);
}

void srv_api_static(struct srv_app *app, const struct srv_request *req, struct srv_response *r)
{
    char path[PATH_MAX + 64], real[PATH_MAX];
    size_t o, root_len;
    struct stat sb;
    int fd;

    if (!app->web_root[0]) {
        not_found(r, "this aelabd serves no dashboard (no web root was found; start it with "
                     "--web-root DIR); the API is under /api/");
        return;
    }
    o = (size_t)snprintf(path, sizeof path, "%s", app->web_root);
    for (int i = 0; i < req->uri.n_seg; i++) {
        const char *s = req->uri.seg[i];
        bool last = i == req->uri.n_seg - 1;
        if (!s[0] && last) break; /* trailing slash: the directory's index.html */
        if (!s[0] || s[0] == '.' || strchr(s, '/') || strchr(s, '\\')) {
            not_found(r, "no such file (paths may not contain '.', '..', hidden names or "
                         "encoded slashes)");
            return;
        }
        o += (size_t)snprintf(path + o, o < sizeof path ? sizeof path - o : 0, "/%s", s);
        if (o >= sizeof path - 16) {
            not_found(r, "no such file (path too long)");
            return;
        }
    }
    if (!realpath(path, real)) {
        not_found(r, "no such file");
        return;
    }
    root_len = strlen(app->web_root);
    if (strncmp(real, app->web_root, root_len) != 0 ||
        (real[root_len] != '/' && real[root_len] != '\0')) {
        not_found(r, "no such file");
        return;
    }
    if (stat(real, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        size_t n = strlen(real);
        if (n + sizeof "/index.html" > sizeof real) {
            not_found(r, "no such file");
            return;
        }
        memcpy(real + n, "/index.html", sizeof "/index.html");
    }
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        not_found(r, "no such file");
        return;
    }
    r->status = 200;
    r->content_type = content_type(real);
    r->fd = fd;
    r->fd_size = sb.st_size;
    srv_response_header(r, "Cache-Control", "no-cache");
}
