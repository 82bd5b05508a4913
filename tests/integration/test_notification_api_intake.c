/* test_notification_api_intake.c - intake's group commit against a real PostgreSQL:
 * requests that arrive while a commit is in flight share the next transaction; the same
 * event twice within one batch is one row (a replay) or one winner and a 409; nothing is
 * answered before its commit (the database dying mid-batch answers errors, and stores
 * nothing); a stop finishes the batch in flight; an order that must ask tenant-service
 * whether its tenant exists waits on a worker, holding up no one. A test holds a lock on
 * whatsapp_messages to keep a commit in flight while it lines up the next batch. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include "alloc.h"
#include "harness.h"
#include "harness_silent.h"
#include "uuidutil.h"

#define TENANT "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define PO_PATH "/api/v1/notifications/purchase-orders"
#define DB_NAME "it_notif_intake"

static char db_url[256];
static struct h_proc api;
static char *svc;

/* ---------- helpers ---------- */

static bool start_daemon(struct h_proc *p, const char *url)
{
    char db[320], graph[64], tenant[64];
    snprintf(db, sizeof db, "NOTIFICATION_DATABASE_URL=%s", url);
    snprintf(graph, sizeof graph, "GRAPH_API_BASE_URL=http://127.0.0.1:%u", h_free_port());
    snprintf(tenant, sizeof tenant, "TENANT_SERVICE_URL=http://127.0.0.1:%u", h_free_port());
    const char *env[] = {db, "JWT_SECRET=" H_JWT_SECRET, graph, tenant, "LOG_LEVEL=info", NULL};
    return h_start(p, "notification-service", "NOTIFICATION_PORT", env, "/ready");
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static long db_count(const char *url, const char *sql)
{
    char *text = h_sql(url, sql);
    long n = text ? strtol(text, NULL, 10) : -1;
    free(text);
    return n;
}

static long rows_in(const char *url, const char *event)
{
    char *sql =
        xasprintf("SELECT count(*) FROM whatsapp_messages WHERE idempotency_key = '%s'", event);
    long n = db_count(url, sql);
    free(sql);
    return n;
}

static char *po_body(const char *event, const char *po_number)
{
    return xasprintf("{\"event_id\": \"%s\", \"tenant_id\": \"" TENANT "\", \"po_number\": "
                     "\"%s\", \"supplier_name\": \"Proveedor ABC\", \"supplier_phone\": "
                     "\"+34 612 345 678\", \"total_amount\": 1250, \"currency\": \"EUR\"}",
                     event, po_number);
}

static double metric(const struct h_proc *p, const char *name)
{
    return h_metric(p->url, name);
}

struct wait_metric {
    const struct h_proc *p;
    const char *name;
    double want;
};

static bool metric_is(void *arg)
{
    struct wait_metric *w = arg;
    return metric(w->p, w->name) == w->want;
}

/* Waits until p has n requests waiting for their commit. */
static void assert_waiting(const struct h_proc *p, double n)
{
    struct wait_metric w = {p, "whatsapp_intake_waiting", n};
    if (!h_wait_until(metric_is, &w, 10000))
        fprintf(stderr, "waiting is %g, not %g\n", metric(p, w.name), n);
    assert_true(metric_is(&w));
}

/* A transaction that keeps intake's INSERT waiting (SHARE conflicts with the ROW
 * EXCLUSIVE an INSERT takes) until hold_end(). */
static PGconn *hold_inserts(const char *url)
{
    PGconn *c = PQconnectdb(url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "BEGIN; LOCK TABLE whatsapp_messages IN SHARE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return c;
}

static void hold_end(PGconn *c)
{
    PGresult *r = PQexec(c, "ROLLBACK");
    PQclear(r);
    PQfinish(c);
}

/* arg: a database name; true when an INSERT waits for a lock there. */
static bool insert_is_blocked(void *arg)
{
    char *sql = xasprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
                          " AND wait_event_type = 'Lock'"
                          " AND query LIKE '%%INSERT INTO whatsapp_messages%%'",
                          (const char *)arg);
    long n = db_count(db_url, sql);
    free(sql);
    return n == 1;
}

/* A request posted on a thread of its own; answered is set when its answer came. */
struct poster {
    const struct h_proc *p;
    char *body;
    pthread_t thread;
    atomic_bool answered;
    struct h_resp resp;
};

static void *post_run(void *arg)
{
    struct poster *ps = arg;
    char *url = h_url(ps->p->url, PO_PATH);
    ps->resp = h_json("POST", url, svc, ps->body);
    free(url);
    atomic_store(&ps->answered, true);
    return NULL;
}

/* Posts body (taken) without waiting for the answer. */
static void post_async(struct poster *ps, const struct h_proc *p, char *body)
{
    memset(ps, 0, sizeof(*ps));
    ps->p = p;
    ps->body = body;
    atomic_init(&ps->answered, false);
    assert_int_equal(pthread_create(&ps->thread, NULL, post_run, ps), 0);
}

static void post_join(struct poster *ps)
{
    pthread_join(ps->thread, NULL);
    free(ps->body);
}

static void poster_free(struct poster *ps)
{
    h_resp_free(&ps->resp);
}

/* A commit held in flight by a lock on database name at url (p's): a blocker request,
 * alone in it, for event. Returns the lock's connection; the blocker is posted into
 * *blocker. */
static PGconn *commit_in_flight(const struct h_proc *p, const char *url, const char *name,
                                struct poster *blocker, const char *event)
{
    PGconn *hold = hold_inserts(url);
    post_async(blocker, p, po_body(event, "PO-BLOCKER"));
    assert_true(h_wait_until(insert_is_blocked, (void *)name, 10000));
    assert_waiting(p, 1);
    return hold;
}

static PGconn *held_commit(struct poster *blocker)
{
    char event[UUID_STR_LEN];
    uuid_new(event);
    return commit_in_flight(&api, db_url, DB_NAME, blocker, event);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---------- setup ---------- */

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!h_fresh_database(DB_NAME, db_url, sizeof db_url))
        return -1;
    svc = h_token("service", NULL, NULL, "order-service", 3600);
    return start_daemon(&api, db_url) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    h_stop(&api);
    free(svc);
    curl_global_cleanup();
    return 0;
}

/* ---------- tests ---------- */

static void a_lone_request_is_committed_at_once_alone(void **state)
{
    (void)state;
    double commits = metric(&api, "whatsapp_intake_commits_total");
    double messages = metric(&api, "whatsapp_intake_committed_messages_total");
    char event[UUID_STR_LEN];
    uuid_new(event);
    char *body = po_body(event, "PO-1");
    char *url = h_url(api.url, PO_PATH);
    struct h_resp r = h_json("POST", url, svc, body);
    assert_int_equal(r.status, 202);
    assert_int_equal(rows_in(db_url, event), 1);
    assert_true(metric(&api, "whatsapp_intake_commits_total") == commits + 1);
    assert_true(metric(&api, "whatsapp_intake_committed_messages_total") == messages + 1);
    h_resp_free(&r);
    free(url);
    free(body);
}

static void requests_arriving_during_a_commit_share_the_next(void **state)
{
    (void)state;
    enum { N = 6 };
    struct poster blocker, ps[N];
    char events[N][UUID_STR_LEN];
    PGconn *hold = held_commit(&blocker);
    double commits = metric(&api, "whatsapp_intake_commits_total");
    double messages = metric(&api, "whatsapp_intake_committed_messages_total");
    for (int i = 0; i < N; i++) {
        uuid_new(events[i]);
        post_async(&ps[i], &api, po_body(events[i], "PO-BATCH"));
    }
    assert_waiting(&api, 1 + N);
    sleep_ms(200);
    assert_false(atomic_load(&blocker.answered));
    for (int i = 0; i < N; i++)
        assert_false(atomic_load(&ps[i].answered));
    hold_end(hold);

    post_join(&blocker);
    assert_int_equal(blocker.resp.status, 202);
    poster_free(&blocker);
    for (int i = 0; i < N; i++) {
        post_join(&ps[i]);
        assert_int_equal(ps[i].resp.status, 202);
        assert_string_equal(str(ps[i].resp.json, "status"), "queued");
        assert_int_equal(rows_in(db_url, events[i]), 1);
        poster_free(&ps[i]);
    }
    /* The blocker's commit, then one for all six. */
    assert_true(metric(&api, "whatsapp_intake_commits_total") == commits + 2);
    assert_true(metric(&api, "whatsapp_intake_committed_messages_total") == messages + 1 + N);
    assert_waiting(&api, 0);
}

/* Lines up bodies[0..n) behind a commit in flight, in this order, one batch; returns
 * when all are answered. */
static void one_batch(struct poster *ps, char **bodies, int n)
{
    struct poster blocker;
    PGconn *hold = held_commit(&blocker);
    double commits = metric(&api, "whatsapp_intake_commits_total");
    for (int i = 0; i < n; i++) {
        post_async(&ps[i], &api, bodies[i]);
        assert_waiting(&api, 2 + i); /* queued in this order */
    }
    hold_end(hold);
    post_join(&blocker);
    assert_int_equal(blocker.resp.status, 202);
    poster_free(&blocker);
    for (int i = 0; i < n; i++)
        post_join(&ps[i]);
    assert_true(metric(&api, "whatsapp_intake_commits_total") == commits + 2);
}

static void one_event_twice_in_a_batch_is_one_row_and_a_replay(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    uuid_new(event);
    struct poster ps[2];
    char *bodies[] = {po_body(event, "PO-SAME"), po_body(event, "PO-SAME")};
    one_batch(ps, bodies, 2);
    assert_int_equal(ps[0].resp.status, 202);
    assert_int_equal(ps[1].resp.status, 200);
    assert_true(json_is_true(json_object_get(ps[1].resp.json, "duplicate")));
    assert_null(json_object_get(ps[0].resp.json, "duplicate"));
    assert_string_equal(str(ps[1].resp.json, "message_id"), str(ps[0].resp.json, "message_id"));
    assert_string_equal(str(ps[1].resp.json, "status"), "queued");
    assert_int_equal(rows_in(db_url, event), 1);
    poster_free(&ps[0]);
    poster_free(&ps[1]);
}

static void one_event_changed_in_a_batch_has_one_winner_and_a_409(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    uuid_new(event);
    struct poster ps[2];
    char *bodies[] = {po_body(event, "PO-FIRST"), po_body(event, "PO-SECOND")};
    one_batch(ps, bodies, 2);
    assert_int_equal(ps[0].resp.status, 202);
    h_assert_error(&ps[1].resp, 409, "idempotency_conflict");
    assert_int_equal(rows_in(db_url, event), 1);
    char *sql = xasprintf("SELECT payload->>'po_number' FROM whatsapp_messages"
                          " WHERE idempotency_key = '%s'",
                          event);
    char *po = h_sql(db_url, sql);
    assert_string_equal(po, "PO-FIRST");
    free(po);
    free(sql);
    poster_free(&ps[0]);
    poster_free(&ps[1]);
}

/* A stored event, then in one batch: a changed copy, an exact replay, the changed copy
 * again. Each is judged against the stored row, not against the batch's first. */
static void a_stored_event_replayed_and_changed_in_one_batch(void **state)
{
    (void)state;
    char event[UUID_STR_LEN];
    uuid_new(event);
    char *body = po_body(event, "PO-STORED");
    char *url = h_url(api.url, PO_PATH);
    struct h_resp first = h_json("POST", url, svc, body);
    assert_int_equal(first.status, 202);
    struct poster ps[3];
    char *bodies[] = {po_body(event, "PO-CHANGED"), body, po_body(event, "PO-CHANGED")};
    one_batch(ps, bodies, 3);
    h_assert_error(&ps[0].resp, 409, "idempotency_conflict");
    assert_int_equal(ps[1].resp.status, 200);
    assert_string_equal(str(ps[1].resp.json, "message_id"), str(first.json, "message_id"));
    h_assert_error(&ps[2].resp, 409, "idempotency_conflict");
    assert_int_equal(rows_in(db_url, event), 1);
    for (int i = 0; i < 3; i++)
        poster_free(&ps[i]);
    h_resp_free(&first);
    free(url);
}

static void concurrent_posts_of_one_event_across_batches_make_one_row(void **state)
{
    (void)state;
    enum { N = 24 };
    char event[UUID_STR_LEN];
    uuid_new(event);
    struct poster ps[N];
    for (int i = 0; i < N; i++)
        post_async(&ps[i], &api, po_body(event, i % 2 ? "PO-ODD" : "PO-EVEN"));
    int created = 0, replays = 0, conflicts = 0;
    const char *winner = NULL;
    for (int i = 0; i < N; i++) {
        post_join(&ps[i]);
        if (ps[i].resp.status == 202) {
            created++;
            winner = i % 2 ? "PO-ODD" : "PO-EVEN";
        }
    }
    assert_int_equal(created, 1);
    for (int i = 0; i < N; i++) {
        const char *mine = i % 2 ? "PO-ODD" : "PO-EVEN";
        if (ps[i].resp.status == 200) {
            replays++;
            assert_string_equal(mine, winner);
        } else if (ps[i].resp.status == 409) {
            conflicts++;
            assert_string_not_equal(mine, winner);
            h_assert_error(&ps[i].resp, 409, "idempotency_conflict");
        }
        poster_free(&ps[i]);
    }
    assert_int_equal(replays, N / 2 - 1);
    assert_int_equal(conflicts, N / 2);
    assert_int_equal(rows_in(db_url, event), 1);
}

/* The database goes away while a commit is in flight and another batch waits behind
 * it: every request is answered with an error, none before, and nothing is stored. */
static void the_database_dying_mid_batch_answers_errors_not_successes(void **state)
{
    (void)state;
    enum { N = 4 };
    char url[256];
    struct h_proc p;
    assert_true(h_fresh_database(DB_NAME "_down", url, sizeof url));
    assert_true(start_daemon(&p, url));
    char events[N + 1][UUID_STR_LEN];
    struct poster ps[N + 1]; /* ps[0] is the blocker, alone in the commit in flight */
    uuid_new(events[0]);
    PGconn *hold = commit_in_flight(&p, url, DB_NAME "_down", &ps[0], events[0]);
    for (int i = 1; i <= N; i++) {
        uuid_new(events[i]);
        post_async(&ps[i], &p, po_body(events[i], "PO-DOWN"));
    }
    assert_waiting(&p, 1 + N);
    sleep_ms(300);
    for (int i = 0; i <= N; i++)
        assert_false(atomic_load(&ps[i].answered));

    /* No new connections, and the daemon's gone (the lock's own is kept). */
    free(h_sql(db_url, "ALTER DATABASE " DB_NAME "_down ALLOW_CONNECTIONS false"));
    char *kill = xasprintf("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                           " WHERE datname = '" DB_NAME "_down' AND pid <> %d",
                           PQbackendPID(hold));
    free(h_sql(db_url, kill));
    free(kill);
    for (int i = 0; i <= N; i++) {
        post_join(&ps[i]);
        h_assert_error(&ps[i].resp, 503, "database_unavailable");
        poster_free(&ps[i]);
    }
    assert_waiting(&p, 0);
    hold_end(hold);
    free(h_sql(db_url, "ALTER DATABASE " DB_NAME "_down ALLOW_CONNECTIONS true"));
    for (int i = 0; i <= N; i++)
        assert_int_equal(rows_in(url, events[i]), 0);

    /* Back: the same events are new (202, not replays). */
    char *po_url = h_url(p.url, PO_PATH);
    for (int i = 0; i <= N; i++) {
        char *body = po_body(events[i], "PO-DOWN");
        struct h_resp r = {0};
        for (int tries = 0; tries < 100; tries++) {
            h_resp_free(&r);
            r = h_json("POST", po_url, svc, body);
            if (r.status != 503)
                break;
            sleep_ms(100);
        }
        assert_int_equal(r.status, 202);
        h_resp_free(&r);
        free(body);
    }
    free(po_url);
    assert_int_equal(h_stop(&p), 0);
    h_drop_database(url);
}

/* SIGTERM while a commit is in flight and another request waits: both are committed
 * and answered before the daemon exits (0). */
static void a_stop_finishes_the_commits_waiting(void **state)
{
    (void)state;
    char url[256];
    struct h_proc p;
    assert_true(h_fresh_database(DB_NAME "_stop", url, sizeof url));
    assert_true(start_daemon(&p, url));
    char events[2][UUID_STR_LEN];
    struct poster ps[2];
    uuid_new(events[0]);
    uuid_new(events[1]);
    PGconn *hold = commit_in_flight(&p, url, DB_NAME "_stop", &ps[0], events[0]);
    post_async(&ps[1], &p, po_body(events[1], "PO-STOP"));
    assert_waiting(&p, 2);
    kill(p.pid, SIGTERM);
    sleep_ms(300);
    assert_false(atomic_load(&ps[0].answered));
    assert_false(atomic_load(&ps[1].answered));
    hold_end(hold);
    for (int i = 0; i < 2; i++) {
        post_join(&ps[i]);
        assert_int_equal(ps[i].resp.status, 202);
        assert_int_equal(rows_in(url, events[i]), 1);
        poster_free(&ps[i]);
    }
    assert_int_equal(h_stop(&p), 0);
    h_drop_database(url);
}

static void shutdown_is_clean(void **state)
{
    (void)state;
    assert_int_equal(h_stop(&api), 0);
}

/* ---------- a wait on tenant-service ---------- */

struct order_call {
    const char *url;
    char tenant[UUID_STR_LEN];
    struct h_resp r;
    atomic_bool done;
};

static void *post_order(void *arg)
{
    struct order_call *c = arg;
    char event[UUID_STR_LEN];
    uuid_new(event);
    char *body = xasprintf("{\"event_id\": \"%s\", \"tenant_id\": \"%s\", \"po_number\": "
                           "\"PO-W\", \"supplier_name\": \"Proveedor ABC\", \"supplier_phone\": "
                           "\"+34600100200\", \"total_amount\": 10, \"currency\": \"EUR\"}",
                           event, c->tenant);
    c->r = h_json("POST", c->url, svc, body);
    atomic_store(&c->done, true);
    free(body);
    return NULL;
}

static bool two_asks_wait(void *arg)
{
    return h_silent_requests(arg, "tenant_id=") >= 2;
}

/* An order for a tenant the settings cache does not know yet asks tenant-service whether
 * the tenant exists: a wait, so it moves to a worker. With tenant-service silent and
 * three such orders (two workers, both waiting on it), the one HTTP thread still answers
 * at once; each order is then taken (202: tenant-service could not say), none lost. */
static void orders_asking_tenant_service_hold_up_nothing(void **state)
{
    (void)state;
    struct h_silent *peer = h_silent_start();
    assert_non_null(peer);
    char db[320], graph[64], tenant[96];
    snprintf(db, sizeof db, "NOTIFICATION_DATABASE_URL=%s", db_url);
    snprintf(graph, sizeof graph, "GRAPH_API_BASE_URL=http://127.0.0.1:%u", h_free_port());
    snprintf(tenant, sizeof tenant, "TENANT_SERVICE_URL=%s", h_silent_url(peer));
    const char *env[] = {db,
                         "JWT_SECRET=" H_JWT_SECRET,
                         graph,
                         tenant,
                         "UPSTREAM_TIMEOUT_MS=3000",
                         "HTTP_THREADS=1",
                         "HTTP_WORKERS=2",
                         "OUTBOX_ENABLED=false",
                         NULL};
    struct h_proc p;
    assert_true(h_start(&p, "notification-service", "NOTIFICATION_PORT", env, "/health"));
    char *url = h_url(p.url, PO_PATH);
    struct order_call calls[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        calls[i] = (struct order_call){.url = url};
        uuid_new(calls[i].tenant);
        assert_int_equal(pthread_create(&th[i], NULL, post_order, &calls[i]), 0);
    }
    assert_true(h_wait_until(two_asks_wait, peer, 10000));

    char *health = h_url(p.url, "/health");
    struct h_resp r = h_get(health, NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    for (int i = 0; i < 3; i++)
        assert_false(atomic_load(&calls[i].done)); /* all still waiting */

    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        if (calls[i].r.status != 202)
            fail_msg("order %d: %ld %s", i, calls[i].r.status, calls[i].r.body);
        char *sql =
            xasprintf("SELECT count(*) FROM whatsapp_messages WHERE payload->>'tenant_id' = '%s'",
                      calls[i].tenant);
        assert_int_equal(db_count(db_url, sql), 1);
        free(sql);
        h_resp_free(&calls[i].r);
    }
    assert_int_equal(h_stop(&p), 0);
    h_silent_stop(peer);
    free(health);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_lone_request_is_committed_at_once_alone),
        cmocka_unit_test(requests_arriving_during_a_commit_share_the_next),
        cmocka_unit_test(one_event_twice_in_a_batch_is_one_row_and_a_replay),
        cmocka_unit_test(one_event_changed_in_a_batch_has_one_winner_and_a_409),
        cmocka_unit_test(a_stored_event_replayed_and_changed_in_one_batch),
        cmocka_unit_test(concurrent_posts_of_one_event_across_batches_make_one_row),
        cmocka_unit_test(the_database_dying_mid_batch_answers_errors_not_successes),
        cmocka_unit_test(a_stop_finishes_the_commits_waiting),
        cmocka_unit_test(orders_asking_tenant_service_hold_up_nothing),
        cmocka_unit_test(shutdown_is_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
