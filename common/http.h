/* http.h - the HTTP server layer over libmicrohttpd: a thread pool, a route table with
 * path parameters and per-route roles, capped request bodies, JSON responses in the
 * error shape of DESIGN.md section 5, request ids, an access log and request metrics.
 *
 * The server's own threads (a few: one per core) read requests and send answers. A
 * handler that may wait on the database or another service runs on a worker thread
 * instead (when the server has workers), so that the wait holds up no other connection;
 * routes marked HTTP_ROUTE_INLINE (answered from memory, or parked at once) run on the
 * server's thread. A handler reads the request through the accessors below and must
 * answer with exactly one http_reply_*() call; the layer sends it, logs it and frees the
 * request when the connection is done with it. */
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
    /* The handler runs on the server's thread, not a worker: it answers from memory or
     * parks (a group commit, a long poll, a stream), waiting on nothing but a short
     * statement. The hand-over to a worker costs more than such a handler. */
    HTTP_ROUTE_INLINE = 1 << 2,
};

struct http_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* see route_match(); also the metrics label */
    http_handler handler;
    unsigned roles; /* enum auth_role bits allowed; 0 = public, no token needed */
    unsigned flags;
    size_t body_limit; /* bytes; 0 = the server's default */
};

/* Sessions (issue 22): a cookie instead of a bearer token. A request to a route with
 * roles that has no Authorization header but carries the cookie is authenticated by
 * verify (the service's lookup): it fills the principal and the session's CSRF token.
 * Such a request may change something (any method but GET and HEAD) only with that token
 * in X-CSRF-Token (else 403 csrf_token_invalid); an unknown or ended session is 401
 * session_expired. Bearer tokens need no CSRF token: a browser never adds them itself. */
#define HTTP_CSRF_MAX 80
enum http_session_result {
    HTTP_SESSION_OK,
    HTTP_SESSION_NONE,        /* no such session, or it has ended */
    HTTP_SESSION_UNAVAILABLE, /* cannot tell now (the database): 503 */
};
struct http_session_hook {
    const char *cookie; /* the cookie's name; NULL: no sessions */
    enum http_session_result (*verify)(const char *value, struct auth_principal *out,
                                       char csrf[HTTP_CSRF_MAX]);
};

struct http_server_config {
    const char *bind_address; /* "127.0.0.1", "0.0.0.0", "::" */
    unsigned port;            /* 0 = any free port, see http_server_port() */
    unsigned threads;         /* read requests, send answers, run HTTP_ROUTE_INLINE handlers */
    /* run the other handlers' first run; 0: every handler runs on the server's threads */
    unsigned workers;
    size_t body_limit;              /* bytes; larger bodies get 413 */
    unsigned conn_timeout;          /* seconds of inactivity before a connection is closed */
    const struct auth_policy *auth; /* verifies bearer tokens of routes with roles */
    const struct http_route *routes;
    size_t nroutes;
    void *app; /* handed to handlers as http_app(req) */
    struct http_session_hook session;
};

struct http_server;

/* Starts listening and serving. Returns NULL (and logs why) on failure. The config and
 * route table must outlive the server. */
struct http_server *http_server_start(const struct http_server_config *cfg)
    __attribute__((warn_unused_result));
unsigned http_server_port(const struct http_server *srv);
/* Stops accepting connections, answers parked requests, ends streams and lets the
 * requests begun finish (waiting at most 2 s), then frees the server. NULL is fine. */
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
/* A cookie's value by name; NULL when absent. */
const char *http_cookie(const struct http_request *req, const char *name);
/* True when the caller was authenticated by the session cookie, not a bearer token. */
bool http_via_session(const struct http_request *req);

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

/* --- a wait found on the way ---
 *
 * A handler on a server thread that finds it must wait after all (a lookup that has to
 * ask another service) calls http_wait_on_worker(); when it says true, the handler
 * returns without a reply and runs again, from the start, on a worker. False when the
 * handler runs on a worker already or the server has none: then it waits where it is. */
bool http_wait_on_worker(struct http_request *req);

/* --- streams: a body written over time (Server-Sent Events) ---
 *
 * A handler answers with http_reply_stream() instead of a reply: status 200, the headers
 * added before, then whatever http_stream_write() queues, as it comes. While nothing is
 * queued the connection is suspended: a stream holds no worker thread. The stream lasts
 * until the client goes away, http_stream_end() has been called and its bytes sent, or
 * the server stops. The caller holds a reference, which it gives back with
 * http_stream_release() once it is done writing (after the end, or a failed write);
 * the layer keeps its own until the connection is done. Write and end may be called
 * from any thread; the layer never calls back into the caller. */
struct http_stream;
#define HTTP_STREAM_BUFFER_MAX (256 * 1024) /* unsent bytes a slow client may leave */
struct http_stream *http_reply_stream(struct http_request *req, const char *content_type);
/* Queues len bytes (copied). False when the stream has ended or closed, or would hold
 * more than HTTP_STREAM_BUFFER_MAX unsent bytes (then end it: the client is too slow). */
bool http_stream_write(struct http_stream *s, const char *data, size_t len)
    __attribute__((warn_unused_result));
/* False once the stream has ended or its client has gone away (a write would fail). */
bool http_stream_open(struct http_stream *s);
/* Ends the stream once what is queued has been sent. */
void http_stream_end(struct http_stream *s);
/* Gives back the caller's reference; s must not be used afterwards. NULL is fine. */
void http_stream_release(struct http_stream *s);

/* Built-in handlers every service mounts. */
void http_handle_health(struct http_request *req);
void http_handle_metrics(struct http_request *req);

#endif
