/* http.h - the HTTP server layer over libmicrohttpd: a thread pool, a route table with
 * path parameters and per-route roles, capped request bodies, JSON responses in the
 * error shape of DESIGN.md section 5, request ids, an access log and request metrics.
 *
 * Handlers run synchronously on the server's worker threads. A handler reads the request
 * through the accessors below and must answer with exactly one http_reply_*() call; the
 * layer sends it, logs it and frees the request when the connection is done with it. */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "auth.h"
#include "route.h"

struct http_request;
typedef void (*http_handler)(struct http_request *req);

enum {
    HTTP_ROUTE_RAW_BODY = 1 << 0, /* accept any Content-Type (the handler checks it) */
    HTTP_ROUTE_QUIET = 1 << 1,    /* no access-log line (health checks, metrics) */
};

struct http_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* see route_match(); also the metrics label */
    http_handler handler;
    unsigned roles; /* enum auth_role bits allowed; 0 = public, no token needed */
    unsigned flags;
    size_t body_limit; /* bytes; 0 = the server's default */
};

struct http_server_config {
    const char *bind_address; /* "127.0.0.1", "0.0.0.0", "::" */
    unsigned port;            /* 0 = any free port, see http_server_port() */
    unsigned threads;
    size_t body_limit;              /* bytes; larger bodies get 413 */
    unsigned conn_timeout;          /* seconds of inactivity before a connection is closed */
    const struct auth_policy *auth; /* verifies bearer tokens of routes with roles */
    const struct http_route *routes;
    size_t nroutes;
    void *app; /* handed to handlers as http_app(req) */
};

struct http_server;

/* Starts listening and serving. Returns NULL (and logs why) on failure. The config and
 * route table must outlive the server. */
struct http_server *http_server_start(const struct http_server_config *cfg)
    __attribute__((warn_unused_result));
unsigned http_server_port(const struct http_server *srv);
/* Stops accepting, lets in-flight requests finish, frees the server. NULL is fine. */
void http_server_stop(struct http_server *srv);

/* --- request accessors (borrowed pointers, valid until the reply is sent) --- */
void *http_app(const struct http_request *req);
const char *http_method(const struct http_request *req);
const char *http_path(const struct http_request *req);
const char *http_request_id(const struct http_request *req);
/* A path parameter by name ("id"), NUL-terminated; NULL when the route has none. */
const char *http_param(const struct http_request *req, const char *name);
/* A query-string argument, URL-decoded; NULL when absent. */
const char *http_query(const struct http_request *req, const char *key);
const char *http_header(const struct http_request *req, const char *name);
/* The raw body bytes (NUL-terminated after body_len bytes). */
const char *http_body(const struct http_request *req, size_t *len);
/* The verified caller of a route with roles; NULL on public routes. */
const struct auth_principal *http_principal(const struct http_request *req);

/* Parses the body as a JSON object. On failure it has already replied (400 malformed,
 * 422 not an object) and returns NULL; otherwise a new reference the caller owns. */
json_t *http_body_object(struct http_request *req);

/* --- replies: exactly one per request --- */
/* Sends body (stolen: the reference passes to the layer) with the given status. */
void http_reply_json(struct http_request *req, unsigned status, json_t *body);
/* Sends {"success":false,"error":code,"message":...}. */
void http_reply_error(struct http_request *req, unsigned status, const char *code, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
/* The same with "field" for validation errors. */
void http_reply_field_error(struct http_request *req, unsigned status, const char *code,
                            const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Sends len bytes of data (copied) with the given content type. */
void http_reply_bytes(struct http_request *req, unsigned status, const char *content_type,
                      const void *data, size_t len);
/* Closes the connection without any answer (simulating a network failure). */
void http_reply_drop(struct http_request *req);
/* Adds a response header (both strings copied); call before the reply. */
void http_add_header(struct http_request *req, const char *name, const char *value);

/* --- long polls: a handler may park its request instead of replying ---
 *
 * A handler that has nothing to say yet calls http_park() and returns without a reply.
 * The connection is suspended (it holds no worker thread) until http_server_wake() names
 * the request's topic, or its deadline passes, or the server stops; then the handler runs
 * again on the same request, and may reply or park again. http_park_expired() tells the
 * handler that this run is the last one (deadline passed or server stopping): it must
 * reply. Topics are small integers chosen by the service. */
void http_park(struct http_request *req, int topic, int64_t deadline_ms);
bool http_park_expired(const struct http_request *req);
/* Monotonic milliseconds (monotonic.h) when the request arrived. */
int64_t http_started_ms(const struct http_request *req);
/* Runs the handlers of every request parked on topic again. Safe from any thread. */
void http_server_wake(struct http_server *srv, int topic);

/* --- a request waiting for work done elsewhere (a group commit) ---
 *
 * A handler may hand its request to another thread and park it under HTTP_NO_TOPIC:
 * then only http_wake_request() (or the deadline, or the server stopping) runs the
 * handler again. A wake that comes before the handler has returned is kept, and the
 * handler runs again as soon as it has. The waker must know that req still exists: it
 * does until the request's state (http_set_state()) is released. */
#define HTTP_NO_TOPIC (-1)
void http_wake_request(struct http_request *req);
/* Keeps state with req across the handler's runs (http_state() returns it, NULL before);
 * release(state) is called once when the request is done with, answered or not (the
 * client went away, the server stopped), from the thread that completes it. */
void http_set_state(struct http_request *req, void *state, void (*release)(void *state));
void *http_state(const struct http_request *req);

/* Built-in handlers every service mounts. */
void http_handle_health(struct http_request *req);
void http_handle_metrics(struct http_request *req);

#endif
