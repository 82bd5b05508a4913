/* http.c - libmicrohttpd glue: one struct http_request per request, created on the
 * first callback, filled by the upload callbacks, dispatched once the body is complete
 * and freed in the completion callback. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "prng.h"

#define HTTP_MAX_HEADERS 6
#define HTTP_DRAIN_MS 2000 /* at stop, the longest wait for the requests begun */

#define HTTP_STATUS_SLOTS 500 /* statuses 100-599 */

/* Request metrics per route (the last slot for unmatched requests), looked up once and
 * kept: the registry's lookup takes a lock and compares strings. */
struct route_metrics {
    struct metric *_Atomic by_status[HTTP_STATUS_SLOTS];
    struct metric *_Atomic duration;
};

struct http_server {
    struct MHD_Daemon *daemon;
    const struct http_server_config *cfg;
    unsigned port;
    struct route_metrics *metrics; /* cfg->nroutes + 1 */
    /* parked requests (long polls), woken by topic, deadline or stop */
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond; /* a new deadline, or stop */
    struct http_request *parked;
    struct metric *parked_gauge; /* how many are in parked */
    pthread_t park_timer;
    bool park_timer_started;
    atomic_bool stopping;   /* set under park_lock; read anywhere */
    int64_t park_timer_due; /* when the timer wakes next (under park_lock; 0: now) */
    atomic_int in_flight;   /* requests begun and not yet completed (answer sent or aborted) */
    /* open streams, ended all at once when the server stops */
    pthread_mutex_t stream_lock;
    struct http_stream *streams;
    /* the workers: the first run of the handlers of routes without HTTP_ROUTE_INLINE */
    pthread_mutex_t work_lock;
    pthread_cond_t work_cond;
    struct http_request *work_head, **work_tail; /* under work_lock */
    bool work_closing; /* under work_lock: the workers end once the queue is empty */
    pthread_t *workers;
    unsigned nworkers; /* started */
    struct metric *work_queue_gauge;
};

/* A streamed body (http_reply_stream). The buffer and flags are shared by the writer's
 * thread and the connection's, under lock; the list link is the server's, under its
 * stream_lock. Freed when both references (the response's, the caller's) are gone. */
struct http_stream {
    struct http_server *srv;
    struct MHD_Connection *conn;
    atomic_int refs;
    atomic_bool closed; /* the response is done with: conn may be gone */
    pthread_mutex_t lock;
    struct buf out; /* queued bytes; out.data[off..len) not yet sent */
    size_t off;
    bool suspended; /* the connection waits for bytes */
    bool ended;
    struct http_stream *next;
};

struct http_request {
    struct http_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char request_id[65];
    struct timespec start;
    const struct http_route *route;
    char *params[ROUTE_MAX_PARAMS];
    const char *param_names[ROUTE_MAX_PARAMS];
    size_t param_name_lens[ROUTE_MAX_PARAMS];
    size_t nparams;
    struct auth_principal principal;
    bool authenticated;
    bool via_session;           /* by the session cookie, not a bearer token */
    struct http_stream *stream; /* answered with a stream */
    struct buf body;
    bool body_too_large;
    bool dispatched;
    int64_t started_ms;
    /* a parked request: linked in srv->parked while its connection is suspended */
    struct http_request *park_next;
    bool park_asked; /* the handler called http_park() in this run */
    int park_topic;
    int64_t park_deadline_ms;
    bool park_resumed; /* set by the waker before it resumes the connection */
    bool park_expired; /* this run is the last: deadline passed or server stopping */
    bool parked;       /* in srv->parked (under park_lock) */
    bool wake_early;   /* http_wake_request() came before park() (under park_lock) */
    /* a request for the workers: suspended until its handler's run there has ended */
    bool to_worker; /* for a worker, not yet queued */
    bool run_here;  /* the handler may not hand itself over: on a worker, or none are left */
    struct http_request *work_next; /* in srv's queue (under work_lock) */
    /* the handler's own state across runs, released on completion */
    void *state;
    void (*state_release)(void *state);
    /* the reply */
    bool replied;
    bool handed_over; /* the answer is libmicrohttpd's */
    bool drop;        /* close the connection instead of answering */
    unsigned status;
    char *resp_body;
    size_t resp_len;
    const char *resp_type;
    char *hdr_names[HTTP_MAX_HEADERS];
    char *hdr_values[HTTP_MAX_HEADERS];
    size_t nhdrs;
    size_t bytes_sent;
};

/* ---------- accessors ---------- */

void *http_app(const struct http_request *req)
{
    return req->srv->cfg->app;
}

const char *http_method(const struct http_request *req)
{
    return req->method;
}

const char *http_path(const struct http_request *req)
{
    return req->path;
}

const char *http_request_id(const struct http_request *req)
{
    return req->request_id;
}

const char *http_param(const struct http_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nparams; i++) {
        if (req->param_name_lens[i] == n && memcmp(req->param_names[i], name, n) == 0)
            return req->params[i];
    }
    return NULL;
}

const char *http_query(const struct http_request *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_body(const struct http_request *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

const struct auth_principal *http_principal(const struct http_request *req)
{
    return req->authenticated ? &req->principal : NULL;
}

int64_t http_started_ms(const struct http_request *req)
{
    return req->started_ms;
}

void http_set_state(struct http_request *req, void *state, void (*release)(void *state))
{
    req->state = state;
    req->state_release = release;
}

void *http_state(const struct http_request *req)
{
    return req->state;
}

const char *http_cookie(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

bool http_via_session(const struct http_request *req)
{
    return req->authenticated && req->via_session;
}

/* ---------- parked requests ---------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

void http_park(struct http_request *req, int topic, int64_t deadline_ms)
{
    req->park_asked = true;
    req->park_topic = topic;
    req->park_deadline_ms = deadline_ms;
}

bool http_park_expired(const struct http_request *req)
{
    return req->park_expired;
}

/* Takes req out of the parked list (under park_lock) and resumes its connection: the
 * handler runs again on one of the server's threads. */
static void unpark_locked(struct http_server *srv, struct http_request **link, bool expired)
{
    struct http_request *req = *link;
    *link = req->park_next;
    req->park_next = NULL;
    req->parked = false;
    metric_add(srv->parked_gauge, -1);
    req->park_resumed = true;
    req->park_expired = expired;
    MHD_resume_connection(req->conn);
}

void http_server_wake(struct http_server *srv, int topic)
{
    pthread_mutex_lock(&srv->park_lock);
    for (struct http_request **link = &srv->parked; *link;) {
        if ((*link)->park_topic == topic)
            unpark_locked(srv, link, false);
        else
            link = &(*link)->park_next;
    }
    pthread_mutex_unlock(&srv->park_lock);
}

void http_wake_request(struct http_request *req)
{
    struct http_server *srv = req->srv;
    pthread_mutex_lock(&srv->park_lock);
    if (!req->parked) {
        req->wake_early = true; /* its handler is still running: park() resumes it */
    } else {
        for (struct http_request **link = &srv->parked; *link; link = &(*link)->park_next) {
            if (*link == req) {
                unpark_locked(srv, link, false);
                break;
            }
        }
    }
    pthread_mutex_unlock(&srv->park_lock);
}

/* The timer thread: resumes parked requests whose deadline has passed, and all of them
 * once the server stops. */
static void *park_timer_run(void *arg)
{
    struct http_server *srv = arg;
    pthread_mutex_lock(&srv->park_lock);
    for (;;) {
        int64_t now = monotonic_ms();
        int64_t next = now + 60000;
        for (struct http_request **link = &srv->parked; *link;) {
            if (srv->stopping || (*link)->park_deadline_ms <= now) {
                unpark_locked(srv, link, true);
                continue;
            }
            if ((*link)->park_deadline_ms < next)
                next = (*link)->park_deadline_ms;
            link = &(*link)->park_next;
        }
        if (srv->stopping)
            break;
        srv->park_timer_due = next;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = next - now;
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->park_cond, &srv->park_lock, &ts);
    }
    pthread_mutex_unlock(&srv->park_lock);
    return NULL;
}

/* Lists a request whose handler parked it and whose connection is suspended, so that a
 * wake-up, its deadline or the server's stop resumes it. */
static void enlist_parked(struct http_request *req)
{
    struct http_server *srv = req->srv;
    req->park_asked = false;
    req->park_resumed = false;
    pthread_mutex_lock(&srv->park_lock);
    if (!srv->park_timer_started) {
        srv->park_timer_started = pthread_create(&srv->park_timer, NULL, park_timer_run, srv) == 0;
        if (!srv->park_timer_started)
            log_error("cannot start the long-poll timer; parked requests wait for a wake-up");
    }
    req->park_next = srv->parked;
    srv->parked = req;
    req->parked = true;
    metric_add(srv->parked_gauge, 1);
    if (srv->stopping || req->wake_early)
        unpark_locked(srv, &srv->parked, srv->stopping);
    req->wake_early = false;
    /* Only a deadline before the timer's next wake-up needs it now: a wake-up per parked
     * request would cost every group-committed intake request a futex call. */
    if (req->parked && req->park_deadline_ms < srv->park_timer_due) {
        srv->park_timer_due = 0;
        pthread_cond_signal(&srv->park_cond);
    }
    pthread_mutex_unlock(&srv->park_lock);
}

/* Suspends the connection of a request whose handler parked it. Called on the
 * connection's own thread, inside the access handler, before anyone can resume it. */
static void park(struct http_request *req)
{
    MHD_suspend_connection(req->conn);
    enlist_parked(req);
}

/* ---------- replies ---------- */

static void set_reply(struct http_request *req, unsigned status, const char *type, char *body,
                      size_t len)
{
    if (req->replied) {
        log_error("handler replied twice\troute=\"%s\"", req->route ? req->route->pattern : "");
        free(body);
        return;
    }
    req->replied = true;
    req->status = status;
    req->resp_type = type;
    req->resp_body = body;
    req->resp_len = len;
}

void http_reply_json(struct http_request *req, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (!text)
        text = xstrdup("{}");
    set_reply(req, status, "application/json; charset=utf-8", text, strlen(text));
}

static void reply_error_v(struct http_request *req, unsigned status, const char *code,
                          const char *field, const char *fmt, va_list ap)
{
    char message[512];
    vsnprintf(message, sizeof message, fmt, ap);
    json_t *body = json_pack("{s:b, s:s, s:s}", "success", 0, "error", code, "message", message);
    if (field)
        json_object_set_new(body, "field", json_string(field));
    http_reply_json(req, status, body);
}

void http_reply_error(struct http_request *req, unsigned status, const char *code, const char *fmt,
                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(req, status, code, NULL, fmt, ap);
    va_end(ap);
}

void http_reply_field_error(struct http_request *req, unsigned status, const char *code,
                            const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(req, status, code, field, fmt, ap);
    va_end(ap);
}

void http_reply_bytes(struct http_request *req, unsigned status, const char *content_type,
                      const void *data, size_t len)
{
    char *copy = xmalloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = '\0';
    set_reply(req, status, content_type, copy, len);
}

void http_reply_drop(struct http_request *req)
{
    set_reply(req, 0, "text/plain", NULL, 0);
    req->drop = true;
}

void http_add_header(struct http_request *req, const char *name, const char *value)
{
    if (req->nhdrs == HTTP_MAX_HEADERS)
        return;
    req->hdr_names[req->nhdrs] = xstrdup(name);
    req->hdr_values[req->nhdrs] = xstrdup(value);
    req->nhdrs++;
}

json_t *http_body_object(struct http_request *req)
{
    char err[256];
    json_t *v = json_parse_body(req->body.data, req->body.len, err, sizeof err);
    if (!v) {
        http_reply_error(req, 400, "malformed_json", "%s", err);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        http_reply_error(req, 422, "invalid_body", "request body must be a JSON object");
        return NULL;
    }
    return v;
}

/* ---------- streams ---------- */

struct http_stream *http_reply_stream(struct http_request *req, const char *content_type)
{
    struct http_stream *s = xcalloc(1, sizeof(*s));
    s->srv = req->srv;
    s->conn = req->conn;
    atomic_init(&s->refs, 2);
    atomic_init(&s->closed, false);
    pthread_mutex_init(&s->lock, NULL);
    set_reply(req, 200, content_type, NULL, 0);
    req->stream = s;
    pthread_mutex_lock(&req->srv->stream_lock);
    s->next = req->srv->streams;
    req->srv->streams = s;
    pthread_mutex_unlock(&req->srv->stream_lock);
    return s;
}

void http_stream_release(struct http_stream *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&s->lock);
    buf_free(&s->out);
    free(s);
}

/* Resumes the connection if it waits for bytes. Under s->lock. A suspended connection
 * is never closed (but by MHD_stop_daemon, which stop_streams() precedes), so conn is
 * still there. */
static void stream_kick(struct http_stream *s)
{
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
}

bool http_stream_open(struct http_stream *s)
{
    if (atomic_load(&s->closed))
        return false;
    pthread_mutex_lock(&s->lock);
    bool gone = s->ended;
    if (!gone && s->suspended) {
        /* libmicrohttpd does not watch a suspended connection: a client that went away
         * shows only here, as a hang-up on its socket (which lives while suspended). */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct pollfd p = {.fd = ci ? ci->connect_fd : -1, .events = POLLRDHUP};
        if (ci && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            s->ended = true;
            stream_kick(s); /* it closes as it tries to send the end */
            gone = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return !gone;
}

bool http_stream_write(struct http_stream *s, const char *data, size_t len)
{
    pthread_mutex_lock(&s->lock);
    bool ok = !s->ended && !atomic_load(&s->closed) &&
              s->out.len - s->off + len <= HTTP_STREAM_BUFFER_MAX;
    if (ok) {
        buf_append(&s->out, data, len);
        stream_kick(s);
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

void http_stream_end(struct http_stream *s)
{
    pthread_mutex_lock(&s->lock);
    s->ended = true;
    stream_kick(s);
    pthread_mutex_unlock(&s->lock);
}

/* libmicrohttpd's content reader, on the connection's thread: queued bytes, the end, or
 * nothing yet (then the connection is suspended until a write or the end). */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct http_stream *s = cls;
    ssize_t n = 0;
    pthread_mutex_lock(&s->lock);
    size_t avail = s->out.len - s->off;
    if (avail) {
        size_t take = avail < max ? avail : max;
        memcpy(out, s->out.data + s->off, take);
        s->off += take;
        if (s->off == s->out.len) {
            buf_reset(&s->out);
            s->off = 0;
        }
        n = (ssize_t)take;
    } else if (s->ended) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        s->suspended = true;
        MHD_suspend_connection(s->conn);
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* The response is done with (sent, client gone, server stopping). Takes no lock a
 * writer holds while it calls into libmicrohttpd. */
static void stream_free(void *cls)
{
    struct http_stream *s = cls;
    struct http_server *srv = s->srv;
    atomic_store(&s->closed, true);
    pthread_mutex_lock(&srv->stream_lock);
    for (struct http_stream **link = &srv->streams; *link; link = &(*link)->next) {
        if (*link == s) {
            *link = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&srv->stream_lock);
    http_stream_release(s);
}

/* ---------- built-in handlers ---------- */

void http_handle_health(struct http_request *req)
{
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void http_handle_metrics(struct http_request *req)
{
    struct buf out = {0};
    metrics_render(&out);
    size_t len = out.len;
    set_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf_steal(&out), len);
}

/* ---------- dispatch ---------- */

static bool request_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* Writes a fresh request id: 16 hex digits from a generator seeded from the kernel once.
 * Unique enough to follow a request through the logs, and far cheaper than a UUID
 * (libuuid makes several system calls per id). */
static struct prng request_ids;
static pthread_once_t request_ids_once = PTHREAD_ONCE_INIT;

static void seed_request_ids(void)
{
    prng_seed(&request_ids, prng_os_seed());
}

static void new_request_id(char out[17])
{
    pthread_once(&request_ids_once, seed_request_ids);
    snprintf(out, 17, "%016llx", (unsigned long long)prng_next(&request_ids));
}

/* Finds the route for method and path. Returns it, or NULL with *path_known telling
 * whether another method would have matched (405 rather than 404). */
static const struct http_route *find_route(const struct http_server_config *cfg, const char *method,
                                           const char *path, struct route_params *params,
                                           bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct http_route *r = &cfg->routes[i];
        if (!route_match(r->pattern, path, params))
            continue;
        if (strcmp(r->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
            return r;
        *path_known = true;
    }
    return NULL;
}

static bool is_json_type(const char *type)
{
    if (!type)
        return false;
    while (*type == ' ')
        type++;
    size_t n = strcspn(type, "; ");
    return n == 16 && strncasecmp(type, "application/json", 16) == 0;
}

/* The body cap of the matched route, or the server's. */
static size_t body_limit(const struct http_request *req)
{
    if (req->route && req->route->body_limit)
        return req->route->body_limit;
    return req->srv->cfg->body_limit;
}

/* Equal strings, compared in a time that does not depend on where they differ. */
static bool same_secret(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char diff = na != nb;
    for (size_t i = 0; i < na && i < nb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* Authenticates req by its session cookie (value): replies and returns false when the
 * session is unknown or ended, cannot be checked, or a write lacks its CSRF token. */
static bool admit_session(struct http_request *req, const char *value)
{
    char csrf[HTTP_CSRF_MAX] = "";
    enum http_session_result r = req->srv->cfg->session.verify(value, &req->principal, csrf);
    if (r == HTTP_SESSION_UNAVAILABLE) {
        http_reply_error(req, 503, "database_unavailable",
                         "Sessions cannot be checked now; try again shortly");
        return false;
    }
    if (r != HTTP_SESSION_OK) {
        http_reply_error(req, 401, "session_expired",
                         "The session has ended: open a new sign-in link");
        return false;
    }
    req->authenticated = true;
    req->via_session = true;
    bool reads = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    const char *sent = http_header(req, "X-CSRF-Token");
    if (!reads && (!csrf[0] || !sent || !same_secret(sent, csrf))) {
        http_reply_error(req, 403, "csrf_token_invalid",
                         "A change made with the session cookie needs its X-CSRF-Token header");
        return false;
    }
    return true;
}

/* Decides what the first callback can decide without the body: route, auth, size. */
static void admit(struct http_request *req)
{
    const struct http_server_config *cfg = req->srv->cfg;
    struct route_params params;
    bool path_known;

    req->route = find_route(cfg, req->method, req->path, &params, &path_known);
    if (!req->route) {
        if (path_known)
            http_reply_error(req, 405, "method_not_allowed", "Method %s is not allowed here",
                             req->method);
        else
            http_reply_error(req, 404, "not_found", "No such endpoint");
        return;
    }
    for (size_t i = 0; i < params.count; i++) {
        req->param_names[i] = params.p[i].name;
        req->param_name_lens[i] = params.p[i].name_len;
        req->params[i] = xstrndup(params.p[i].value, params.p[i].value_len);
    }
    req->nparams = params.count;

    const char *session = NULL;
    if (req->route->roles && cfg->session.cookie && !http_header(req, "Authorization"))
        session = http_cookie(req, cfg->session.cookie);
    if (session && *session) {
        if (!admit_session(req, session))
            return;
        if (!(req->route->roles & req->principal.role)) {
            http_reply_error(req, 403, "forbidden", "Your role may not use this endpoint");
            return;
        }
    } else if (req->route->roles) {
        enum auth_result ar = auth_verify_header(http_header(req, "Authorization"), cfg->auth,
                                                 time(NULL), &req->principal);
        if (ar == AUTH_MISSING) {
            http_add_header(req, "WWW-Authenticate", "Bearer");
            http_reply_error(req, 401, "unauthorized", "A bearer token is required");
            return;
        }
        if (ar == AUTH_EXPIRED) {
            http_add_header(req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
            http_reply_error(req, 401, "token_expired", "The bearer token has expired");
            return;
        }
        if (ar != AUTH_OK) {
            http_add_header(req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
            http_reply_error(req, 401, "invalid_token", "%s", auth_result_message(ar));
            return;
        }
        req->authenticated = true;
        if (!(req->route->roles & req->principal.role)) {
            http_reply_error(req, 403, "forbidden", "Your role may not use this endpoint");
            return;
        }
    }

    const char *length = http_header(req, "Content-Length");
    if (length) {
        char *end = NULL;
        unsigned long long n = strtoull(length, &end, 10);
        if (end && *end == '\0' && n > body_limit(req)) {
            http_reply_error(req, 413, "payload_too_large", "Request body exceeds %zu bytes",
                             body_limit(req));
            return;
        }
    }
}

/* Runs the route's handler; it must reply, or park the request (not on its last run). */
static void run_handler(struct http_request *req)
{
    req->route->handler(req);
    if (req->to_worker && !req->replied)
        return; /* http_wait_on_worker(): it runs again on a worker */
    req->to_worker = false;
    if (req->park_asked && !req->replied && !req->park_expired)
        return;
    req->park_asked = false;
    if (!req->replied) {
        log_error("handler did not reply\troute=\"%s\"", req->route->pattern);
        http_reply_error(req, 500, "internal_error", "Internal error");
    }
}

static void dispatch(struct http_request *req)
{
    const char *m = req->method;
    bool has_body_method =
        strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
    if (req->body_too_large) {
        http_reply_error(req, 413, "payload_too_large", "Request body exceeds %zu bytes",
                         body_limit(req));
        return;
    }
    if (has_body_method && !(req->route->flags & HTTP_ROUTE_RAW_BODY) &&
        !is_json_type(http_header(req, "Content-Type"))) {
        http_reply_error(req, 415, "unsupported_media_type",
                         "Content-Type must be application/json");
        return;
    }
    if (req->srv->nworkers && !(req->route->flags & HTTP_ROUTE_INLINE))
        req->to_worker = true; /* on_request() hands it over */
    else
        run_handler(req);
}

/* ---------- workers ----------
 *
 * A handler that waits on the database or another service would hold one of the few
 * HTTP threads (one per core) for that long, and every connection that thread serves
 * with it. So the first run of such a handler is a worker's: the connection is
 * suspended, a worker runs the handler and resumes the connection, and the HTTP thread
 * sends the answer. A handler that parks on a worker is listed as any parked request
 * (its connection is suspended already); its later runs are the HTTP threads'. */

/* Suspends req's connection and queues it for a worker. Inside the access handler, on
 * the connection's thread. False when the workers have ended (the server is stopping):
 * then the caller runs the handler itself. */
static bool work_push(struct http_request *req)
{
    struct http_server *srv = req->srv;
    pthread_mutex_lock(&srv->work_lock);
    if (srv->work_closing) {
        pthread_mutex_unlock(&srv->work_lock);
        return false;
    }
    /* Suspended before a worker can see it, and so before anyone resumes it. */
    MHD_suspend_connection(req->conn);
    req->work_next = NULL;
    *srv->work_tail = req;
    srv->work_tail = &req->work_next;
    metric_add(srv->work_queue_gauge, 1);
    pthread_cond_signal(&srv->work_cond);
    pthread_mutex_unlock(&srv->work_lock);
    return true;
}

static void *worker_run(void *arg)
{
    struct http_server *srv = arg;
    for (;;) {
        pthread_mutex_lock(&srv->work_lock);
        while (!srv->work_head && !srv->work_closing)
            pthread_cond_wait(&srv->work_cond, &srv->work_lock);
        struct http_request *req = srv->work_head;
        if (req) {
            srv->work_head = req->work_next;
            if (!srv->work_head)
                srv->work_tail = &srv->work_head;
            metric_add(srv->work_queue_gauge, -1);
        }
        pthread_mutex_unlock(&srv->work_lock);
        if (!req)
            break; /* closing, and nothing left */
        log_set_request_id(req->request_id);
        req->run_here = true;
        run_handler(req);
        req->run_here = false;
        log_set_request_id(NULL);
        if (req->park_asked)
            enlist_parked(req);
        else /* its answer is in req: the resumed connection sends it */
            MHD_resume_connection(req->conn);
    }
    return NULL;
}

bool http_wait_on_worker(struct http_request *req)
{
    if (!req->srv->nworkers || req->run_here || req->replied || req->park_asked)
        return false;
    req->to_worker = true;
    return true;
}

/* Starts n workers; false (logged) when not one could start. */
static bool workers_start(struct http_server *srv, unsigned n)
{
    srv->work_tail = &srv->work_head;
    srv->work_queue_gauge =
        metrics_gauge("http_worker_queue",
                      "Requests waiting for a worker thread (routes that wait on the database "
                      "or another service).",
                      "");
    srv->workers = xcalloc(n, sizeof(*srv->workers));
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&srv->workers[srv->nworkers], NULL, worker_run, srv) != 0)
            break;
        srv->nworkers++;
    }
    if (n && !srv->nworkers)
        log_error("cannot start the HTTP worker threads");
    else if (srv->nworkers < n)
        log_warn("started fewer HTTP worker threads than configured\tstarted=%u wanted=%u",
                 srv->nworkers, n);
    return !n || srv->nworkers;
}

/* Lets the workers run what is queued, then ends them: after it, no connection waits for
 * a worker. */
static void workers_stop(struct http_server *srv)
{
    pthread_mutex_lock(&srv->work_lock);
    srv->work_closing = true;
    pthread_cond_broadcast(&srv->work_cond);
    pthread_mutex_unlock(&srv->work_lock);
    for (unsigned i = 0; i < srv->nworkers; i++)
        pthread_join(srv->workers[i], NULL);
    free(srv->workers);
    srv->workers = NULL;
    srv->nworkers = 0;
}

static enum MHD_Result queue_reply(struct http_request *req)
{
    /* libmicrohttpd asks again only for an answer it dropped because it is stopping
     * (MHD_queue_response says yes then): it closes the connection anyway, and the body
     * is no longer ours to hand over. */
    if (req->handed_over)
        return MHD_YES;
    req->handed_over = true;
    if (req->drop)
        return MHD_NO; /* libmicrohttpd closes the connection */
    struct MHD_Response *resp =
        req->stream
            ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, req->stream,
                                                stream_free)
            : MHD_create_response_from_buffer(req->resp_len, req->resp_body, MHD_RESPMEM_MUST_FREE);
    if (!resp && req->stream)
        stream_free(req->stream); /* the caller's next write fails */
    req->stream = NULL;           /* the response's now */
    if (!resp)
        return MHD_NO;
    req->resp_body = NULL; /* owned by the response now */
    req->bytes_sent = req->resp_len;
    MHD_add_response_header(resp, "Content-Type", req->resp_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    bool cache_control = false;
    for (size_t i = 0; i < req->nhdrs; i++) {
        MHD_add_response_header(resp, req->hdr_names[i], req->hdr_values[i]);
        cache_control = cache_control || strcasecmp(req->hdr_names[i], "Cache-Control") == 0;
    }
    if (!cache_control) /* the handler's own policy (static files) wins */
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    /* A client on a kept-alive connection asks again elsewhere, not during the drain. */
    if (atomic_load(&req->srv->stopping))
        MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(req->conn, req->status, resp);
    MHD_destroy_response(resp);
    if (ret != MHD_YES)
        log_warn("answer not queued; the connection closes\troute=\"%s\" status=%u",
                 req->route ? req->route->pattern : "unmatched", req->status);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    struct http_server *srv = cls;
    struct http_request *req = *req_cls;
    enum MHD_Result ret = MHD_YES;

    if (!req) {
        req = xcalloc(1, sizeof(*req));
        atomic_fetch_add(&srv->in_flight, 1); /* until on_completed */
        req->srv = srv;
        req->conn = conn;
        req->method = method;
        req->path = url;
        clock_gettime(CLOCK_MONOTONIC, &req->start);
        req->started_ms = (int64_t)req->start.tv_sec * 1000 + req->start.tv_nsec / 1000000;
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        if (request_id_ok(rid))
            snprintf(req->request_id, sizeof req->request_id, "%s", rid);
        else
            new_request_id(req->request_id);
        *req_cls = req;
        log_set_request_id(req->request_id);
        admit(req);
        log_set_request_id(NULL);
        if (req->replied)
            return queue_reply(req);
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t limit = body_limit(req);
        if (!req->body_too_large && req->body.len + *upload_data_size <= limit)
            buf_append(&req->body, upload_data, *upload_data_size);
        else
            req->body_too_large = true; /* keep reading, answer 413 at the end */
        *upload_data_size = 0;
        return MHD_YES;
    }

    log_set_request_id(req->request_id);
    if (!req->dispatched) {
        req->dispatched = true;
        dispatch(req);
    } else if (req->park_resumed) {
        req->park_resumed = false;
        run_handler(req);
    }
    if (req->to_worker) {
        req->to_worker = false;
        if (work_push(req)) {
            log_set_request_id(NULL);
            return MHD_YES;
        }
        req->run_here = true; /* the workers have ended: it waits here */
        run_handler(req);
    }
    if (req->park_asked)
        park(req);
    else if (req->replied)
        ret = queue_reply(req);
    log_set_request_id(NULL);
    return ret;
}

static struct metric *status_counter(const struct http_request *req, const char *pattern,
                                     struct route_metrics *rm)
{
    unsigned slot = req->status >= 100 && req->status < 600 ? req->status - 100 : 0;
    struct metric *m = atomic_load(&rm->by_status[slot]);
    if (!m) {
        char labels[256];
        snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",code=\"%u\"", pattern,
                 req->route ? req->route->method : "any", req->status);
        m = metrics_counter("http_requests_total", "HTTP requests answered.", labels);
        atomic_store(&rm->by_status[slot], m);
    }
    return m;
}

static void record_metrics(const struct http_request *req, const char *pattern, double secs)
{
    const struct http_server_config *cfg = req->srv->cfg;
    size_t idx = req->route ? (size_t)(req->route - cfg->routes) : cfg->nroutes;
    struct route_metrics *rm = &req->srv->metrics[idx];
    metric_inc(status_counter(req, pattern, rm));
    struct metric *h = atomic_load(&rm->duration);
    if (!h) {
        char labels[256];
        snprintf(labels, sizeof labels, "route=\"%s\"", pattern);
        h = metrics_histogram("http_request_duration_seconds",
                              "Time from request start to completion.", labels,
                              metrics_latency_buckets, metrics_latency_nbuckets);
        atomic_store(&rm->duration, h);
    }
    metric_observe(h, secs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    struct http_request *req = *req_cls;
    if (!req)
        return;
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double secs =
        (double)(end.tv_sec - req->start.tv_sec) + (double)(end.tv_nsec - req->start.tv_nsec) / 1e9;
    const char *pattern = req->route ? req->route->pattern : "unmatched";
    if (req->state_release)
        req->state_release(req->state);
    atomic_fetch_sub(&req->srv->in_flight, 1);
    record_metrics(req, pattern, secs);
    if (!(req->route && (req->route->flags & HTTP_ROUTE_QUIET))) {
        log_set_request_id(req->request_id);
        log_info("request\tmethod=%s route=\"%s\" status=%u bytes=%zu ms=%.2f%s", req->method,
                 pattern, req->status, req->bytes_sent, secs * 1000.0,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=true");
        log_set_request_id(NULL);
    }
    for (size_t i = 0; i < req->nparams; i++)
        free(req->params[i]);
    for (size_t i = 0; i < req->nhdrs; i++) {
        free(req->hdr_names[i]);
        free(req->hdr_values[i]);
    }
    free(req->resp_body);
    buf_free(&req->body);
    free(req);
    *req_cls = NULL;
}

/* Decodes %-escapes as libmicrohttpd does, except in a string holding an escaped NUL,
 * which stays undecoded (and so matches no route): a C string cannot carry the NUL, and
 * decoding would cut "/app/page.html%00.png" down to "/app/page.html". */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    if (strstr(s, "%00"))
        return strlen(s);
    return MHD_http_unescape(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("libmicrohttpd: %s", msg);
}

/* Frees what http_server_start() made, the daemon and the workers stopped. */
static void destroy_server(struct http_server *srv)
{
    pthread_cond_destroy(&srv->park_cond);
    pthread_mutex_destroy(&srv->park_lock);
    pthread_mutex_destroy(&srv->stream_lock);
    pthread_cond_destroy(&srv->work_cond);
    pthread_mutex_destroy(&srv->work_lock);
    free(srv->metrics);
    free(srv);
}

struct http_server *http_server_start(const struct http_server_config *cfg)
{
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
    socklen_t addrlen;

    struct sockaddr_in *in4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, cfg->bind_address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->port);
        addrlen = sizeof(*in4);
    } else if (inet_pton(AF_INET6, cfg->bind_address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->port);
        flags |= MHD_USE_IPv6;
        addrlen = sizeof(*in6);
    } else {
        log_error("bind address is not an IP address\taddress=\"%s\"", cfg->bind_address);
        free(srv);
        return NULL;
    }
    (void)addrlen;

    srv->cfg = cfg;
    srv->metrics = xcalloc(cfg->nroutes + 1, sizeof(*srv->metrics));
    srv->parked_gauge = metrics_gauge("http_parked_requests",
                                      "Requests parked: long polls waiting for a change, "
                                      "requests waiting for their group's commit.",
                                      "");
    pthread_mutex_init(&srv->park_lock, NULL);
    pthread_mutex_init(&srv->stream_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->park_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&srv->work_lock, NULL);
    pthread_cond_init(&srv->work_cond, NULL);
    if (!workers_start(srv, cfg->workers)) {
        destroy_server(srv);
        return NULL;
    }
    /* One thread is the internal polling thread alone: libmicrohttpd warns of a pool of
     * one (or none), so then the option is left out. */
    struct MHD_OptionItem pool[] = {
        {cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)cfg->threads,
         NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, srv, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_ARRAY, pool,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->conn_timeout, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)10000, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK, unescape,
        NULL, MHD_OPTION_END);
    if (!srv->daemon) {
        log_error("cannot listen\taddress=%s port=%u", cfg->bind_address, cfg->port);
        workers_stop(srv);
        destroy_server(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    return srv;
}

unsigned http_server_port(const struct http_server *srv)
{
    return srv->port;
}

/* Ends every open stream and gives them a moment to close: libmicrohttpd must not be
 * stopped with a connection suspended. The streams are ended outside stream_lock, which
 * a connection's thread may want while libmicrohttpd holds its own locks. */
static void stop_streams(struct http_server *srv)
{
    for (int round = 0; round < 200; round++) {
        size_t n = 0, cap = 0;
        struct http_stream **open = NULL;
        pthread_mutex_lock(&srv->stream_lock);
        for (struct http_stream *s = srv->streams; s; s = s->next) {
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                open = xrealloc(open, cap * sizeof(*open));
            }
            atomic_fetch_add(&s->refs, 1);
            open[n++] = s;
        }
        pthread_mutex_unlock(&srv->stream_lock);
        for (size_t i = 0; i < n; i++) {
            http_stream_end(open[i]);
            http_stream_release(open[i]);
        }
        free(open);
        if (n == 0)
            break;
        sleep_ms(10);
    }
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    /* A drain, bounded: no new connections; parked requests get their last run (their
     * handlers answer at once) and streams end; every request begun is answered (its
     * completion reported) before the daemon closes what is left. */
    MHD_socket listener = MHD_quiesce_daemon(srv->daemon);
    pthread_mutex_lock(&srv->park_lock);
    srv->stopping = true;
    while (srv->parked)
        unpark_locked(srv, &srv->parked, true);
    pthread_cond_signal(&srv->park_cond);
    bool timer = srv->park_timer_started;
    pthread_mutex_unlock(&srv->park_lock);
    if (timer)
        pthread_join(srv->park_timer, NULL);
    stop_streams(srv);
    for (int ms = 0; ms < HTTP_DRAIN_MS && atomic_load(&srv->in_flight) > 0; ms += 10)
        sleep_ms(10);
    /* libmicrohttpd must not stop with a connection suspended: the workers finish what
     * they hold (from now on a request runs on its HTTP thread). */
    workers_stop(srv);
    stop_streams(srv); /* one a keep-alive connection opened meanwhile */
    MHD_stop_daemon(srv->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener); /* ours since the quiesce, closed only after the stop */
    destroy_server(srv);
}
