/* test_http_stop.c - how common/http.c stops (both daemons stop this way at SIGTERM), on an
 * in-process server over real sockets: a request in its handler when the stop begins gets
 * its answer, on a kept-alive connection with Connection: close (its client asks again
 * elsewhere, not during the drain); a client that never finishes its body holds the stop
 * only for the drain's bound; an idle keep-alive connection does not hold it at all; no
 * new connection is served once the stop has begun. Parked long polls answered at a
 * service's stop are test_tenant_plans.c's
 * parked_followers_are_answered_when_the_service_stops. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "harness_raw.h"
#include "http.h"
#include "log.h"
#include "monotonic.h"

#define SLOW_MS 300
#define DRAIN_BOUND_MS 5000 /* the server's drain is 2 s: this leaves room for a slow machine */

static atomic_int in_slow_handler;

static void slow(struct http_request *req)
{
    atomic_store(&in_slow_handler, 1);
    struct timespec ts = {0, SLOW_MS * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    http_reply_bytes(req, 200, "text/plain", "slow answer", 11);
}

static void fast(struct http_request *req)
{
    http_reply_bytes(req, 200, "text/plain", "fast answer", 11);
}

static const struct http_route routes[] = {
    {"GET", "/slow", slow, 0, 0, 0},
    {"GET", "/fast", fast, 0, 0, 0},
    {"POST", "/fast", fast, 0, HTTP_ROUTE_RAW_BODY, 0},
};

static const struct http_server_config config = {
    .bind_address = "127.0.0.1",
    .threads = 2,
    .body_limit = 65536,
    .conn_timeout = 30,
    .routes = routes,
    .nroutes = sizeof routes / sizeof routes[0],
};

/* Waits (10 s at most) until a request is in the slow handler. */
static bool slow_handler_entered(void)
{
    long long deadline = monotonic_ms() + 10000;
    while (!atomic_load(&in_slow_handler) && monotonic_ms() < deadline)
        usleep(1000);
    return atomic_load(&in_slow_handler);
}

/* A TCP connection to 127.0.0.1:port with what was sent, or -1. */
static int connect_and_send(unsigned port, const char *text)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        send(fd, text, strlen(text), MSG_NOSIGNAL) != (ssize_t)strlen(text)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Reads from fd into got (NUL-terminated) until needle has come (any needle when NULL:
 * until the peer closes), or timeout_ms has passed. */
static bool read_into(int fd, char *got, size_t cap, const char *needle, int timeout_ms)
{
    size_t len = 0;
    got[0] = '\0';
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (len < cap - 1) {
        ssize_t n = recv(fd, got + len, cap - 1 - len, 0);
        if (n == 0)
            return needle == NULL;
        if (n < 0)
            return false;
        len += (size_t)n;
        got[len] = '\0';
        if (needle && strstr(got, needle))
            return true;
    }
    return false;
}

struct slow_call {
    unsigned port;
    struct h_resp r;
};

static void *call_slow(void *arg)
{
    struct slow_call *c = arg;
    c->r = h_raw_request(c->port, "GET", "/slow", NULL, NULL, 0, NULL);
    return NULL;
}

struct stopper {
    struct http_server *srv;
};

static void *stop_server(void *arg)
{
    http_server_stop(((struct stopper *)arg)->srv);
    return NULL;
}

static void a_request_in_its_handler_at_stop_gets_its_answer(void **state)
{
    (void)state;
    struct http_server *srv = http_server_start(&config);
    assert_non_null(srv);
    atomic_store(&in_slow_handler, 0);
    struct slow_call c = {.port = http_server_port(srv)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, call_slow, &c), 0);
    assert_true(slow_handler_entered());
    http_server_stop(srv);
    pthread_join(th, NULL);
    assert_int_equal(c.r.status, 200);
    assert_string_equal(c.r.body, "slow answer");
    h_resp_free(&c.r);
}

static void a_body_never_finished_holds_the_stop_only_for_the_drain(void **state)
{
    (void)state;
    struct http_server *srv = http_server_start(&config);
    assert_non_null(srv);
    int fd = connect_and_send(http_server_port(srv), "POST /fast HTTP/1.1\r\nHost: x\r\n"
                                                     "Content-Type: application/json\r\n"
                                                     "Content-Length: 100\r\n\r\n{\"a\":");
    assert_true(fd >= 0);
    usleep(100 * 1000); /* the server has the headers: the request has begun */
    long long start = monotonic_ms();
    http_server_stop(srv);
    long long took = monotonic_ms() - start;
    close(fd);
    if (took > DRAIN_BOUND_MS)
        fail_msg("the stop took %lld ms with a body never finished", took);
}

static void an_idle_keep_alive_connection_does_not_hold_the_stop(void **state)
{
    (void)state;
    struct http_server *srv = http_server_start(&config);
    assert_non_null(srv);
    int fd = connect_and_send(http_server_port(srv), "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(fd >= 0);
    char got[4096];
    assert_true(read_into(fd, got, sizeof got, "fast answer", 5000)); /* it stays open */
    long long start = monotonic_ms();
    http_server_stop(srv);
    long long took = monotonic_ms() - start;
    close(fd);
    if (took > 1000)
        fail_msg("the stop took %lld ms with one idle keep-alive connection", took);
}

static void a_kept_alive_connection_answered_at_stop_is_closed_after(void **state)
{
    (void)state;
    struct http_server *srv = http_server_start(&config);
    assert_non_null(srv);
    atomic_store(&in_slow_handler, 0);
    int fd = connect_and_send(http_server_port(srv), "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(fd >= 0);
    assert_true(slow_handler_entered());
    struct stopper s = {srv};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stop_server, &s), 0);
    char got[4096];
    bool closed = read_into(fd, got, sizeof got, NULL, 5000); /* to the server's close */
    pthread_join(th, NULL);
    close(fd);
    assert_true(closed);
    assert_non_null(strstr(got, "HTTP/1.1 200"));
    assert_non_null(strcasestr(got, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(got, "slow answer"));
}

static void no_new_connection_is_served_once_the_stop_has_begun(void **state)
{
    (void)state;
    struct http_server *srv = http_server_start(&config);
    assert_non_null(srv);
    unsigned port = http_server_port(srv);
    atomic_store(&in_slow_handler, 0);
    struct slow_call c = {.port = port};
    pthread_t caller, stopper_th;
    assert_int_equal(pthread_create(&caller, NULL, call_slow, &c), 0);
    assert_true(slow_handler_entered());
    /* the slow request keeps the drain open while a newcomer knocks */
    struct stopper s = {srv};
    assert_int_equal(pthread_create(&stopper_th, NULL, stop_server, &s), 0);
    usleep(50 * 1000);
    const char *knock = "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct h_resp late = h_raw(port, knock, strlen(knock), 3000, NULL);
    pthread_join(stopper_th, NULL);
    pthread_join(caller, NULL);
    assert_int_equal(c.r.status, 200); /* the one begun before the stop is answered */
    assert_int_equal(late.status, 0);  /* the newcomer is not */
    h_resp_free(&c.r);
    h_resp_free(&late);
}

int main(void)
{
    log_init("test_http_stop", LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_request_in_its_handler_at_stop_gets_its_answer),
        cmocka_unit_test(a_body_never_finished_holds_the_stop_only_for_the_drain),
        cmocka_unit_test(an_idle_keep_alive_connection_does_not_hold_the_stop),
        cmocka_unit_test(a_kept_alive_connection_answered_at_stop_is_closed_after),
        cmocka_unit_test(no_new_connection_is_served_once_the_stop_has_begun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
