/* test_slow_clients.c - slow and idle clients do not stop others from being served.
 * Against tenant-service and notification-service (graph-sim behind): 500 connections
 * per service that connect and send nothing, 500 that send half a request line, 500 that
 * send headers and half a body, and 100 that trickle a header a byte at a time; during
 * each, ordinary requests (a static answer and a database read) must still be answered
 * within a second (5 s under valgrind). Idle connections are closed after
 * HTTP_CONNECTION_TIMEOUT, and both daemons still stop cleanly (no leak) afterwards. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "harness.h"
#include "harness_raw.h"
#include "harness_stack.h"
#include "harness_tenant.h"
#include "uuidutil.h"

#define CLIENTS 500
#define TRICKLERS 100
#define CONN_TIMEOUT_S 3
#define PROBES 10
#define PROBE_LIMIT_MS 1000
#define PROBE_LIMIT_WRAPPED_MS 5000 /* under valgrind (H_WRAPPER) everything is slower */

static struct {
    struct h_stack s;
    char tenant[UUID_STR_LEN];
    char *auth;
} w;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A connected socket to 127.0.0.1:port with data (may be NULL) already sent. */
static int open_client(unsigned port, const char *data)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (data)
        assert_int_equal(send(fd, data, strlen(data), MSG_NOSIGNAL), (ssize_t)strlen(data));
    return fd;
}

static void open_many(int *fds, size_t n, unsigned port, const char *data)
{
    for (size_t i = 0; i < n; i++)
        fds[i] = open_client(port, data);
}

static void close_many(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

/* Ordinary requests to both services (health, and a read that goes to PostgreSQL) each
 * answered 200 within PROBE_LIMIT_MS. Returns the slowest in ms. */
static long probe(const char *during)
{
    long worst = 0;
    long limit = h_wrapped() ? PROBE_LIMIT_WRAPPED_MS : PROBE_LIMIT_MS;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tenants/%s", w.tenant);
    struct {
        unsigned port;
        const char *target;
        const char *headers;
    } reqs[] = {
        {w.s.ts.port, "/health", NULL},
        {w.s.ts.port, path, w.auth},
        {w.s.notif.port, "/health", NULL},
        {w.s.notif.port, "/api/v1/whatsapp/messages?limit=5", w.auth},
    };
    for (int round = 0; round < PROBES; round++) {
        for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
            long t0 = now_ms();
            struct h_resp r =
                h_raw_request(reqs[i].port, "GET", reqs[i].target, reqs[i].headers, NULL, 0, NULL);
            long ms = now_ms() - t0;
            if (r.status != 200 || ms > limit)
                fprintf(stderr, "during %s: GET %s on port %u: %ld after %ld ms\n", during,
                        reqs[i].target, reqs[i].port, r.status, ms);
            assert_int_equal(r.status, 200);
            assert_true(ms <= limit);
            if (ms > worst)
                worst = ms;
            h_resp_free(&r);
        }
    }
    print_message("# during %s: slowest of %d requests %ld ms\n", during, PROBES * 4, worst);
    return worst;
}

/* ---------- fixtures ---------- */

static int setup(void **state)
{
    (void)state;
    /* Two services times a few hundred sockets each, on our side too. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 4 * CLIENTS + 256) {
        fprintf(stderr, "need %d file descriptors, have %llu\n", 4 * CLIENTS + 256,
                (unsigned long long)rl.rlim_cur);
        return -1;
    }
    static const char timeout[] = "HTTP_CONNECTION_TIMEOUT=3";
    const char *extra[] = {timeout, NULL};
    if (!hs_start(&w.s, "slow", extra, extra))
        return -1;
    w.auth = xasprintf("Authorization: Bearer %s\r\n", ht_admin());
    ht_create_tenant(&w.s.ts, "Panadería Lenta", w.tenant);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(w.auth);
    return hs_stop(&w.s) == 0 ? 0 : -1;
}

/* ---------- cases ---------- */

static void idle_connections_do_not_block_others(void **state)
{
    (void)state;
    static int ts[CLIENTS], ns[CLIENTS];
    open_many(ts, CLIENTS, w.s.ts.port, NULL);
    open_many(ns, CLIENTS, w.s.notif.port, NULL);
    probe("500 idle connections per service");
    close_many(ts, CLIENTS);
    close_many(ns, CLIENTS);
}

static void half_requests_do_not_block_others(void **state)
{
    (void)state;
    static int ts[CLIENTS], ns[CLIENTS];
    open_many(ts, CLIENTS, w.s.ts.port, "GET /api/v1/ten");
    open_many(ns, CLIENTS, w.s.notif.port, "POST /api/v1/notifications/purch");
    probe("500 half request lines per service");
    close_many(ts, CLIENTS);
    close_many(ns, CLIENTS);

    /* Complete headers, then half the promised body: the request is admitted (token and
     * all) and waits for bytes that never come. */
    char *ts_req = xasprintf("PUT /api/v1/tenants/%s/settings/notifications HTTP/1.1\r\n"
                             "Host: x\r\n%sContent-Type: application/json\r\n"
                             "Content-Length: 1000\r\n\r\n{\"whatsapp_enab",
                             w.tenant, w.auth);
    char *ns_req = xasprintf("POST /api/v1/whatsapp/messages HTTP/1.1\r\nHost: x\r\n%s"
                             "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                             "{\"idempotency_key\": \"k",
                             w.auth);
    open_many(ts, CLIENTS, w.s.ts.port, ts_req);
    open_many(ns, CLIENTS, w.s.notif.port, ns_req);
    probe("500 half bodies per service");
    close_many(ts, CLIENTS);
    close_many(ns, CLIENTS);
    free(ts_req);
    free(ns_req);
}

struct trickle {
    unsigned port;
    atomic_bool stop;
    int fds[TRICKLERS];
};

/* Writes one byte of a never-ending header to each connection every 100 ms. */
static void *trickle_run(void *arg)
{
    struct trickle *t = arg;
    static const char line[] = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
    size_t at = 0;
    while (!atomic_load(&t->stop)) {
        for (int i = 0; i < TRICKLERS; i++)
            (void)send(t->fds[i], line + at, 1, MSG_NOSIGNAL);
        at = at + 1 < sizeof line - 1 ? at + 1 : sizeof line - 2;
        usleep(100000);
    }
    return NULL;
}

static void trickling_clients_do_not_block_others(void **state)
{
    (void)state;
    static struct trickle ts, ns;
    pthread_t a, b;
    ts.port = w.s.ts.port;
    ns.port = w.s.notif.port;
    open_many(ts.fds, TRICKLERS, ts.port, NULL);
    open_many(ns.fds, TRICKLERS, ns.port, NULL);
    assert_int_equal(pthread_create(&a, NULL, trickle_run, &ts), 0);
    assert_int_equal(pthread_create(&b, NULL, trickle_run, &ns), 0);
    usleep(300000);
    probe("100 trickling clients per service");
    atomic_store(&ts.stop, true);
    atomic_store(&ns.stop, true);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    close_many(ts.fds, TRICKLERS);
    close_many(ns.fds, TRICKLERS);
}

/* Counts the sockets the server has closed (readable with EOF or reset). */
static size_t closed_by_server(const int *fds, size_t n)
{
    size_t closed = 0;
    for (size_t i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        if (poll(&p, 1, 0) == 1) {
            char c;
            ssize_t r = recv(fds[i], &c, 1, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno == ECONNRESET))
                closed++;
        }
    }
    return closed;
}

static void idle_connections_are_closed_after_the_timeout(void **state)
{
    (void)state;
    static int ts[CLIENTS], ns[CLIENTS];
    open_many(ts, CLIENTS, w.s.ts.port, "GET /health HT");
    open_many(ns, CLIENTS, w.s.notif.port, NULL);
    /* Not before the timeout... */
    usleep((CONN_TIMEOUT_S * 1000 - 1500) * 1000);
    assert_int_equal(closed_by_server(ts, CLIENTS), 0);
    assert_int_equal(closed_by_server(ns, CLIENTS), 0);
    /* ...but soon after it, every one of them. */
    long deadline = now_ms() + (CONN_TIMEOUT_S + 5) * 1000L;
    size_t a = 0, b = 0;
    while (now_ms() < deadline && (a < CLIENTS || b < CLIENTS)) {
        usleep(200000);
        a = closed_by_server(ts, CLIENTS);
        b = closed_by_server(ns, CLIENTS);
    }
    print_message("# closed by the servers: %zu and %zu of %d\n", a, b, CLIENTS);
    assert_int_equal(a, CLIENTS);
    assert_int_equal(b, CLIENTS);
    close_many(ts, CLIENTS);
    close_many(ns, CLIENTS);
    probe("after the timeouts");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_connections_do_not_block_others),
        cmocka_unit_test(half_requests_do_not_block_others),
        cmocka_unit_test(trickling_clients_do_not_block_others),
        cmocka_unit_test(idle_connections_are_closed_after_the_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
