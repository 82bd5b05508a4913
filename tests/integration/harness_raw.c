/* harness_raw.c - raw-socket HTTP client and the route tables read from source. */
#include "harness_raw.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Where the headers end in b (the index after "\r\n\r\n"), or 0. */
static size_t head_end(const struct buf *b)
{
    const char *p = b->data ? memmem(b->data, b->len, "\r\n\r\n", 4) : NULL;
    return p ? (size_t)(p - b->data) + 4 : 0;
}

bool h_head_value(const char *head, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    for (const char *line = head; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t vlen = eol ? (size_t)(eol - v) : strlen(v);
            snprintf(out, outlen, "%.*s", (int)vlen, v);
            return true;
        }
        line = eol ? eol + 2 : NULL;
    }
    return false;
}

struct h_resp h_raw(unsigned port, const void *req, size_t len, int timeout_ms, char **head)
{
    struct h_resp r = {0};
    struct buf b = {0};
    long deadline = now_ms() + timeout_ms;
    if (head)
        *head = NULL;

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto out;
    /* Write what the server takes; it may answer (413) and close before the end. */
    for (size_t sent = 0; sent < len;) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT | POLLIN};
        if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
            break;
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
            break;
        ssize_t n = send(fd, (const char *)req + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    size_t body_at = 0;
    long want = -1; /* Content-Length, -1 unknown */
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)left) <= 0)
            break;
        char chunk[16384];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            break;
        buf_append(&b, chunk, (size_t)n);
        if (!body_at && (body_at = head_end(&b)) != 0) {
            char *h = xstrndup(b.data, body_at);
            char value[32];
            if (h_head_value(h, "Content-Length", value, sizeof value))
                want = strtol(value, NULL, 10);
            free(h);
        }
        if (body_at && want >= 0 && b.len >= body_at + (size_t)want)
            break;
    }
    body_at = head_end(&b);
    if (body_at && b.len >= 12 && strncmp(b.data, "HTTP/1.", 7) == 0) {
        r.status = strtol(b.data + 9, NULL, 10);
        char *h = xstrndup(b.data, body_at);
        char ct[128];
        if (h_head_value(h, "Content-Type", ct, sizeof ct))
            snprintf(r.content_type, sizeof r.content_type, "%s", ct);
        size_t blen = b.len - body_at;
        if (want >= 0 && (size_t)want < blen)
            blen = (size_t)want;
        r.body = xstrndup(b.data + body_at, blen);
        r.len = blen;
        if (blen)
            r.json = json_loadb(r.body, blen, 0, NULL);
        if (head)
            *head = h;
        else
            free(h);
    }
out:
    if (!r.body)
        r.body = xstrdup("");
    if (fd >= 0)
        close(fd);
    buf_free(&b);
    return r;
}

struct h_resp h_raw_request(unsigned port, const char *method, const char *target,
                            const char *headers, const void *body, size_t body_len, char **head)
{
    struct buf req = {0};
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n", method,
               target, port);
    if (headers)
        buf_append_str(&req, headers);
    if (body)
        buf_printf(&req, "Content-Length: %zu\r\n", body_len);
    buf_append_str(&req, "\r\n");
    if (body)
        buf_append(&req, body, body_len);
    struct h_resp r = h_raw(port, req.data, req.len, 10000, head);
    buf_free(&req);
    return r;
}

bool h_is_error_shape(const struct h_resp *r)
{
    const json_t *j = r->json;
    const char *code = json_string_value(json_object_get(j, "error"));
    const char *message = json_string_value(json_object_get(j, "message"));
    const json_t *field = json_object_get(j, "field");
    if (!json_is_object(j) || !json_is_false(json_object_get(j, "success")) || !code || !*code ||
        !message || !*message)
        return false;
    if (strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(code))
        return false;
    return !field || json_is_string(field);
}

/* ---------- route tables from source ---------- */

int h_source_routes(const char *service, struct h_route *out, size_t max)
{
    char path[256];
    /* A service's route table is routes.c, in its api/ directory when it has one. */
    snprintf(path, sizeof path, "services/%s/api/routes.c", service);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(path, sizeof path, "services/%s/routes.c", service);
        f = fopen(path, "r");
    }
    if (!f)
        return -1;
    struct buf src = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&src, chunk, n);
    fclose(f);

    /* #define NAME "value" */
    struct {
        char name[64];
        char value[160];
    } defs[32];
    size_t ndefs = 0;
    regex_t def_re, route_re;
    regcomp(&def_re, "#define[ \t]+([A-Z_][A-Z0-9_]*)[ \t]+\"([^\"]*)\"", REG_EXTENDED);
    regcomp(
        &route_re,
        "\\{[ \t\n]*\"(GET|POST|PUT|PATCH|DELETE|HEAD)\",[ \t\n]*(\"([^\"]*)\"|([A-Z_][A-Z0-9_]*))",
        REG_EXTENDED);
    regmatch_t m[5];
    for (const char *p = src.data; ndefs < 32 && regexec(&def_re, p, 3, m, 0) == 0;
         p += m[0].rm_eo) {
        snprintf(defs[ndefs].name, sizeof defs[ndefs].name, "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
                 p + m[1].rm_so);
        snprintf(defs[ndefs].value, sizeof defs[ndefs].value, "%.*s",
                 (int)(m[2].rm_eo - m[2].rm_so), p + m[2].rm_so);
        ndefs++;
    }
    int count = 0;
    for (const char *p = src.data; (size_t)count < max && regexec(&route_re, p, 5, m, 0) == 0;
         p += m[0].rm_eo) {
        struct h_route *r = &out[count];
        snprintf(r->method, sizeof r->method, "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
                 p + m[1].rm_so);
        if (m[3].rm_so >= 0) {
            snprintf(r->pattern, sizeof r->pattern, "%.*s", (int)(m[3].rm_eo - m[3].rm_so),
                     p + m[3].rm_so);
        } else {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(m[4].rm_eo - m[4].rm_so), p + m[4].rm_so);
            r->pattern[0] = '\0';
            for (size_t i = 0; i < ndefs; i++) {
                if (strcmp(defs[i].name, name) == 0)
                    snprintf(r->pattern, sizeof r->pattern, "%s", defs[i].value);
            }
            if (!r->pattern[0])
                snprintf(r->pattern, sizeof r->pattern, "?%s", name); /* never matches */
        }
        count++;
    }
    regfree(&def_re);
    regfree(&route_re);
    buf_free(&src);
    return count > 0 ? count : -1;
}

/* ---------- the live stream ---------- */

bool h_stream_open(struct h_stream *s, const struct h_proc *p, const char *headers)
{
    memset(s, 0, sizeof(*s));
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s->fd, (struct sockaddr *)&a, sizeof a) != 0)
        return false;
    char *req = xasprintf("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Accept: text/event-stream\r\n%s\r\n",
                          headers);
    bool sent = send(s->fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req);
    free(req);
    return sent;
}

/* Reads what the stream has next into s->got, waiting until deadline (now_ms()); false
 * when nothing came by then or the stream ended. */
static bool stream_read_more(struct h_stream *s, long deadline)
{
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        char chunk[4096];
        ssize_t n = recv(s->fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            return false;
        buf_append(&s->got, chunk, (size_t)n);
        return true;
    }
}

static void stream_consume(struct h_stream *s, size_t used)
{
    memmove(s->got.data, s->got.data + used, s->got.len - used + 1);
    s->got.len -= used;
}

bool h_stream_wait(struct h_stream *s, const char *needle, long timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        const char *at = s->got.data ? strstr(s->got.data, needle) : NULL;
        if (at) {
            stream_consume(s, (size_t)(at - s->got.data) + strlen(needle));
            return true;
        }
        if (!stream_read_more(s, deadline))
            return false;
    }
}

char *h_stream_event(struct h_stream *s, const char *type, const char *needle, long timeout_ms)
{
    char line[64];
    snprintf(line, sizeof line, "event: %s\n", type);
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        const char *end;
        while (s->got.data && (end = strstr(s->got.data, "\n\n"))) {
            size_t len = (size_t)(end - s->got.data) + 2;
            char *event = xstrndup(s->got.data, len);
            stream_consume(s, len);
            if (strstr(event, line) && strstr(event, needle))
                return event;
            free(event);
        }
        if (!stream_read_more(s, deadline))
            return NULL;
    }
}

void h_stream_close(struct h_stream *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    buf_free(&s->got);
}
