/* static.c - the web pages under /app/: the admin page and the settings card at their
 * seed URLs, and their assets, read from STATIC_DIR on each request (see
 * docs/tenant-service.md for the measurement). A path is served only when it is plain
 * (no "..", no hidden or empty segment, no odd byte), resolves with realpath() to a
 * regular file inside the directory, and has a known type: everything else is 404. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "app.h"
#include "handlers.h"
#include "log.h"

#define STATIC_FILE_MAX (4L * 1024 * 1024)
#define PAGE_CSP                                                                                   \
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "              \
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

/* The seed's page URLs and the files behind them. */
static const struct {
    const char *path; /* after /app/ */
    const char *file;
} pages[] = {
    {"admin/whatsapp", "admin-whatsapp.html"},
    {"settings/notifications", "settings-notifications.html"},
    {"sign-in", "sign-in.html"}, /* where a sign-in link leads (issue 22) */
};

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The content type for path's extension, or NULL when we do not serve that kind. */
static const char *content_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    for (size_t i = 0; dot && i < COUNT(types); i++) {
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL;
}

/* True when rel is a plain relative path: segments of [A-Za-z0-9._-], none empty, none
 * starting with a dot (so no ".", "..", or hidden file). libmicrohttpd has already
 * decoded %-escapes, so "%2e%2e" arrives here as ".." and is refused like it. */
static bool plain_path(const char *rel)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789._-/";
    size_t n = strlen(rel);
    if (n == 0 || n > 255 || strspn(rel, allowed) != n)
        return false;
    for (const char *seg = rel;; seg++) {
        if (*seg == '/' || *seg == '.' || *seg == '\0')
            return false; /* empty segment, or one that starts with a dot */
        seg = strchr(seg, '/');
        if (!seg)
            return true;
    }
}

/* The strong validator of a file's current content. */
static void etag_of(const struct stat *st, char *out, size_t outlen)
{
    snprintf(out, outlen, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_size,
             (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
                 (unsigned long long)st->st_mtim.tv_nsec,
             (unsigned long long)st->st_ino);
}

static void reply_not_found(struct http_request *req)
{
    http_reply_error(req, 404, "not_found", "No such page");
}

/* Pages and assets are revalidated on every use (a deploy shows at once), cheaply with
 * the ETag; pages also get the Content-Security-Policy. */
static void add_headers(struct http_request *req, const char *type, const char *etag)
{
    http_add_header(req, "ETag", etag);
    http_add_header(req, "Cache-Control", "no-cache");
    if (strncmp(type, "text/html", 9) == 0)
        http_add_header(req, "Content-Security-Policy", PAGE_CSP);
}

void handle_static(struct http_request *req)
{
    const struct tenant_app *app = http_app(req);
    const char *rel = http_param(req, "*");
    char *root = NULL;
    char *wanted = NULL;
    char *real = NULL;
    char *data = NULL;
    int fd = -1;
    struct stat st;
    char etag[80];

    for (size_t i = 0; i < COUNT(pages); i++) {
        if (strcmp(rel, pages[i].path) == 0)
            rel = pages[i].file;
    }
    if (!plain_path(rel))
        goto not_found;
    root = realpath(app->cfg.static_dir, NULL);
    if (!root) {
        log_warn("STATIC_DIR cannot be resolved\tdir=\"%s\" error=\"%s\"", app->cfg.static_dir,
                 strerror(errno));
        goto not_found;
    }
    wanted = xasprintf("%s/%s", root, rel);
    real = realpath(wanted, NULL);
    size_t root_len = strlen(root);
    /* A symbolic link may lead out of the directory: the resolved path must not. */
    if (!real || strncmp(real, root, root_len) != 0 || real[root_len] != '/')
        goto not_found;
    const char *type = content_type(real);
    if (!type)
        goto not_found;
    fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto not_found;
    if (st.st_size > STATIC_FILE_MAX) {
        log_warn("static file too large to serve\tfile=\"%s\" bytes=%lld", rel,
                 (long long)st.st_size);
        goto not_found;
    }

    etag_of(&st, etag, sizeof etag);
    const char *match = http_header(req, "If-None-Match");
    if (match && strcmp(match, etag) == 0) {
        add_headers(req, type, etag);
        http_reply_bytes(req, 304, type, "", 0);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    size_t got = 0;
    data = xmalloc(size + 1);
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != size) {
        /* The file changed under us; the next request will see it whole. */
        log_warn("static file read short\tfile=\"%s\"", rel);
        http_reply_error(req, 503, "file_changing", "The file is being replaced; try again");
        goto out;
    }
    add_headers(req, type, etag);
    http_reply_bytes(req, 200, type, data, size);
    goto out;
not_found:
    reply_not_found(req);
out:
    if (fd >= 0)
        close(fd);
    free(data);
    free(real);
    free(wanted);
    free(root);
}
