/* test_tenant_settings_read.c - tenant-service's settings GETs in groups: reads that
 * arrive while one is in flight are answered by one statement, each with its own
 * tenant's document (a repeat, an unknown tenant: 404, all in the same batch), and a
 * lone read is answered alone. A lock on tenant_settings keeps a read in flight while
 * the test lines up the next batch. The database path is the subject, so the instance
 * runs without its cache (SETTINGS_CACHE_ENTRIES=0: every read is such a read; the cache
 * has test_tenant_settings_cache.c). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include "alloc.h"
#include "harness.h"
#include "harness_tenant.h"

#define DB_NAME "it_tenant_settings_read"
#define UNKNOWN "00000000-0000-4000-8000-000000000000"

static char db_url[256];
static struct h_proc ts;
static char tenants[3][HT_ID_LEN];
static const char *languages[3] = {"es", "en", "eu"};

static long db_count(const char *sql)
{
    char *text = h_sql(db_url, sql);
    long n = text ? strtol(text, NULL, 10) : -1;
    free(text);
    return n;
}

static double metric(const char *name)
{
    return h_metric(ts.url, name);
}

static bool waiting_is(void *arg)
{
    return metric("tenant_settings_read_waiting") == *(double *)arg;
}

#define READ_TAIL "FROM tenant_settings s WHERE s.tenant_id = ANY($1::uuid[])"

/* The settings read's statement, waiting for the lock. Matched by its whole tail: the
 * console stream's statement also reads tenant_settings, runs after any commit (setup's,
 * late on a busy machine) and may wait on the same lock; it is none of this test's
 * business. */
static bool select_is_blocked(void *arg)
{
    (void)arg;
    return db_count("SELECT count(*) FROM pg_stat_activity WHERE datname = '" DB_NAME "'"
                    " AND wait_event_type = 'Lock' AND query LIKE '%" READ_TAIL "'") == 1;
}

struct reader {
    char path[128];
    pthread_t thread;
    atomic_bool answered;
    struct h_resp resp;
};

static void *read_run(void *arg)
{
    struct reader *r = arg;
    r->resp = ht_call(&ts, "GET", r->path, ht_service(), NULL);
    atomic_store(&r->answered, true);
    return NULL;
}

static void read_async(struct reader *r, const char *tenant)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->path, sizeof r->path, "/api/v1/tenants/%s/settings/notifications", tenant);
    atomic_init(&r->answered, false);
    assert_int_equal(pthread_create(&r->thread, NULL, read_run, r), 0);
}

/* ---------- setup ---------- */

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!h_fresh_database(DB_NAME, db_url, sizeof db_url))
        return -1;
    const char *no_cache[] = {"SETTINGS_CACHE_ENTRIES=0", NULL};
    if (!ht_start_tenant(&ts, db_url, ht_dead_url(), NULL, no_cache))
        return -1;
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "Bakery %d", i);
        ht_create_tenant(&ts, name, tenants[i]);
        char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", tenants[i]);
        char *body = xasprintf("{\"whatsapp_default_language\": \"%s\"}", languages[i]);
        struct h_resp r = ht_call(&ts, "PUT", path, ht_admin(), body);
        if (r.status != 200)
            return -1;
        h_resp_free(&r);
        free(body);
        free(path);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = h_stop(&ts);
    curl_global_cleanup();
    return rc == 0 ? 0 : -1;
}

/* ---------- tests ---------- */

static void a_lone_read_is_answered_alone(void **state)
{
    (void)state;
    double batches = metric("tenant_settings_read_batches_total");
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", tenants[1]);
    struct h_resp r = ht_call(&ts, "GET", path, ht_service(), NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "whatsapp_default_language"), "en");
    assert_string_equal(ht_str(&r, "plan"), "standard");
    assert_non_null(json_object_get(r.json, "whatsapp_monthly_quota"));
    assert_true(metric("tenant_settings_read_batches_total") == batches + 1);
    h_resp_free(&r);
    free(path);
}

static void reads_during_a_read_share_one_statement_each_its_own_answer(void **state)
{
    (void)state;
    enum { N = 5 };
    /* tenant 0 alone first (held in flight), then 1, 2, an unknown one and 0 again. */
    const char *order[N] = {tenants[0], tenants[1], tenants[2], UNKNOWN, tenants[0]};
    const char *want[N] = {"es", "en", "eu", NULL, "es"};
    struct reader rd[N];
    double batches = metric("tenant_settings_read_batches_total");
    double served = metric("tenant_settings_read_requests_total");

    PGconn *hold = PQconnectdb(db_url);
    assert_int_equal(PQstatus(hold), CONNECTION_OK);
    PGresult *res = PQexec(hold, "BEGIN; LOCK TABLE tenant_settings IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    read_async(&rd[0], order[0]);
    assert_true(h_wait_until(select_is_blocked, NULL, 10000));
    for (int i = 1; i < N; i++)
        read_async(&rd[i], order[i]);
    double n = N;
    assert_true(h_wait_until(waiting_is, &n, 10000));
    for (int i = 0; i < N; i++)
        assert_false(atomic_load(&rd[i].answered));
    res = PQexec(hold, "ROLLBACK");
    PQclear(res);
    PQfinish(hold);

    for (int i = 0; i < N; i++) {
        pthread_join(rd[i].thread, NULL);
        if (want[i]) {
            assert_int_equal(rd[i].resp.status, 200);
            assert_string_equal(ht_str(&rd[i].resp, "whatsapp_default_language"), want[i]);
            assert_string_equal(ht_str(&rd[i].resp, "plan"), "standard");
        } else {
            h_assert_error(&rd[i].resp, 404, "tenant_not_found");
        }
        h_resp_free(&rd[i].resp);
    }
    /* The held read alone, then one statement for the four behind it. */
    assert_true(metric("tenant_settings_read_batches_total") == batches + 2);
    assert_true(metric("tenant_settings_read_requests_total") == served + N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_lone_read_is_answered_alone),
        cmocka_unit_test(reads_during_a_read_share_one_statement_each_its_own_answer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
