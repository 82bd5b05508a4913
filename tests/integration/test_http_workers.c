/* test_http_workers.c - common/http.c's workers, on an in-process server over real
 * sockets: a handler that waits (on the database, on another service) runs on a worker,
 * so that while every worker waits, routes marked HTTP_ROUTE_INLINE are still answered
 * by the server's one thread, and the requests queued for a worker are answered in turn;
 * a handler that parks on a worker runs again, woken, on the server's thread; an inline
 * handler that finds it must wait moves to a worker; a stop lets the workers finish
 * what they hold. The same through tenant-service (a silent
 * notification-service) is test_tenant_whatsapp.c's
 * waiting_admin_requests_do_not_hold_up_settings_reads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "harness_raw.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"

#define WORKERS 2

/* The waiting handlers block until the test opens the gate. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int waiting; /* handlers blocked at the gate, under gate_lock */

static pthread_t server_thread; /* the thread that ran the last inline handler */
static atomic_bool server_thread_known;

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static int gate_waiting(void)
{
    pthread_mutex_lock(&gate_lock);
    int n = waiting;
    pthread_mutex_unlock(&gate_lock);
    return n;
}

static void waits(struct http_request *req)
{
    pthread_mutex_lock(&gate_lock);
    waiting++;
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    waiting--;
    pthread_mutex_unlock(&gate_lock);
    http_reply_bytes(req, 200, "text/plain", "waited", 6);
}

static void inline_answer(struct http_request *req)
{
    server_thread = pthread_self();
    atomic_store(&server_thread_known, true);
    http_reply_bytes(req, 200, "text/plain", "inline", 6);
}

/* Parks on its first run (a worker's) and wakes itself from another thread; its second
 * run answers which threads the two runs were on. */
struct park_runs {
    pthread_t first, second;
};

static void release_runs(void *state)
{
    free(state);
}

/* The second run's answer: where each run was. */
static void reply_runs(struct http_request *req, struct park_runs *runs)
{
    runs->second = pthread_self();
    char text[64];
    int n = snprintf(text, sizeof text, "first=%s second=%s",
                     pthread_equal(runs->first, server_thread) ? "server" : "worker",
                     pthread_equal(runs->second, server_thread) ? "server" : "worker");
    http_reply_bytes(req, 200, "text/plain", text, (size_t)n);
}

static void *wake_later(void *arg)
{
    usleep(50 * 1000);
    http_wake_request(arg);
    return NULL;
}

static void parks(struct http_request *req)
{
    struct park_runs *runs = http_state(req);
    if (!runs) {
        runs = calloc(1, sizeof(*runs));
        runs->first = pthread_self();
        http_set_state(req, runs, release_runs);
        pthread_t th;
        pthread_create(&th, NULL, wake_later, req);
        pthread_detach(th);
        http_park(req, HTTP_NO_TOPIC, monotonic_ms() + 10000);
        return;
    }
    reply_runs(req, runs);
}

/* Runs first on the server's thread, finds it must wait, and moves to a worker: its
 * second run answers where each run was. */
static void moves(struct http_request *req)
{
    struct park_runs *runs = http_state(req);
    if (!runs) {
        runs = calloc(1, sizeof(*runs));
        runs->first = pthread_self();
        http_set_state(req, runs, release_runs);
        if (http_wait_on_worker(req))
            return;
    }
    reply_runs(req, runs);
}

static const struct http_route routes[] = {
    {"GET", "/waits", waits, 0, 0, 0},
    {"GET", "/inline", inline_answer, 0, HTTP_ROUTE_INLINE, 0},
    {"GET", "/parks", parks, 0, 0, 0},
    {"GET", "/moves", moves, 0, HTTP_ROUTE_INLINE, 0},
};

static const struct http_server_config config = {
    .bind_address = "127.0.0.1",
    .threads = 1,
    .workers = WORKERS,
    .body_limit = 65536,
    .conn_timeout = 30,
    .routes = routes,
    .nroutes = sizeof routes / sizeof routes[0],
};

struct call {
    unsigned port;
    const char *path;
    struct h_resp r;
    atomic_bool done;
};

static void *call_run(void *arg)
{
    struct call *c = arg;
    c->r = h_raw_request(c->port, "GET", c->path, NULL, NULL, 0, NULL);
    atomic_store(&c->done, true);
    return NULL;
}

static bool gate_waiting_is(void *arg)
{
    return gate_waiting() == *(int *)arg;
}

static bool queue_is(void *arg)
{
    struct buf out = {0};
    metrics_render(&out);
    char want[64];
    snprintf(want, sizeof want, "\nhttp_worker_queue %d\n", *(int *)arg);
    bool yes = out.data && strstr(out.data, want);
    buf_free(&out);
    return yes;
}

/* Starts a server and sends WORKERS + 1 requests to the waiting route; returns once every
 * worker waits at the (closed) gate and the last request waits for a worker. */
static struct http_server *start_with_every_worker_waiting(struct call *calls, pthread_t *th)
{
    gate_set(false);
    struct http_server *srv = http_server_start(&config);
    assert_non_null(srv);
    unsigned port = http_server_port(srv);
    for (int i = 0; i < WORKERS + 1; i++) {
        calls[i] = (struct call){.port = port, .path = "/waits"};
        assert_int_equal(pthread_create(&th[i], NULL, call_run, &calls[i]), 0);
    }
    int all = WORKERS, one = 1;
    assert_true(h_wait_until(gate_waiting_is, &all, 10000));
    assert_true(h_wait_until(queue_is, &one, 10000));
    return srv;
}

static void inline_routes_are_answered_while_every_worker_waits(void **state)
{
    (void)state;
    struct call calls[WORKERS + 1];
    pthread_t th[WORKERS + 1];
    struct http_server *srv = start_with_every_worker_waiting(calls, th);
    unsigned port = http_server_port(srv);

    /* The server's one thread still answers, at once, what runs on it. */
    struct h_resp r = h_raw_request(port, "GET", "/inline", NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "inline");
    h_resp_free(&r);
    for (int i = 0; i < WORKERS + 1; i++)
        assert_false(atomic_load(&calls[i].done)); /* none of the waiting ones has its answer */

    gate_set(true); /* the queued one runs once a worker is free */
    for (int i = 0; i < WORKERS + 1; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(calls[i].r.status, 200);
        assert_string_equal(calls[i].r.body, "waited");
        h_resp_free(&calls[i].r);
    }
    int none = 0;
    assert_true(queue_is(&none));
    http_server_stop(srv);
}

/* The body of GET path on a new server of cfg, asked once the server's thread is known
 * (a GET /inline first); the caller frees it. */
static char *answer_of(const struct http_server_config *cfg, const char *path)
{
    struct http_server *srv = http_server_start(cfg);
    assert_non_null(srv);
    unsigned port = http_server_port(srv);
    struct h_resp r = h_raw_request(port, "GET", "/inline", NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_true(atomic_load(&server_thread_known));
    h_resp_free(&r);
    r = h_raw_request(port, "GET", path, NULL, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    char *body = strdup(r.body);
    h_resp_free(&r);
    http_server_stop(srv);
    return body;
}

static void a_handler_parked_on_a_worker_runs_again_on_the_server_thread(void **state)
{
    (void)state;
    char *body = answer_of(&config, "/parks");
    assert_string_equal(body, "first=worker second=server");
    free(body);
}

static void an_inline_handler_that_must_wait_moves_to_a_worker(void **state)
{
    (void)state;
    char *body = answer_of(&config, "/moves");
    assert_string_equal(body, "first=server second=worker");
    free(body);

    /* Without workers it stays: both runs are one, on the server's thread. */
    struct http_server_config none = config;
    none.workers = 0;
    body = answer_of(&none, "/moves");
    assert_string_equal(body, "first=server second=server");
    free(body);
}

static void *open_gate_later(void *arg)
{
    (void)arg;
    usleep(300 * 1000);
    gate_set(true);
    return NULL;
}

static void the_stop_lets_the_workers_finish_what_they_hold(void **state)
{
    (void)state;
    struct call calls[WORKERS + 1];
    pthread_t th[WORKERS + 1];
    struct http_server *srv = start_with_every_worker_waiting(calls, th);
    /* The gate opens while the stop drains: running and queued ones are all answered. */
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
    http_server_stop(srv);
    pthread_join(opener, NULL);
    for (int i = 0; i < WORKERS + 1; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(calls[i].r.status, 200);
        assert_string_equal(calls[i].r.body, "waited");
        h_resp_free(&calls[i].r);
    }
}

int main(void)
{
    log_init("test_http_workers", LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inline_routes_are_answered_while_every_worker_waits),
        cmocka_unit_test(a_handler_parked_on_a_worker_runs_again_on_the_server_thread),
        cmocka_unit_test(an_inline_handler_that_must_wait_moves_to_a_worker),
        cmocka_unit_test(the_stop_lets_the_workers_finish_what_they_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
