/* test_tenant_settings_cache.c - tenant-service's settings cache (issue 24) on several
 * instances of one database: a change answered by any instance is what every instance
 * reads next, whether it came through the same instance or another, as settings, a
 * number assignment or a plan; a reader whose lease lapsed (stopped with SIGSTOP) or
 * whose LISTEN connection was cut serves nothing stale (held from catching up, for the
 * lease); an instance without a cache
 * (SETTINGS_CACHE_ENTRIES=0) reads and writes correctly beside caching ones; the cache
 * keeps at most SETTINGS_CACHE_ENTRIES documents. Each case first warms the caches with
 * the old value, and checks that the caches do answer, so a stale one would show. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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
#include "harness_stack.h"
#include "harness_tenant.h"
#include "monotonic.h"

#define ROUNDS 40 /* changes per case: a cache that lags gets many chances to show */
/* How many warm reads a cache must answer. Under valgrind (h_wrapped()) a reader's round
 * may outlast its lease now and then, and a read it could not answer is only a miss. */
#define ENOUGH_HITS(hits) ((hits) >= ROUNDS / 2 || h_wrapped())
#define HITS "tenant_settings_cache_hits_total"
#define SERVING "tenant_settings_cache_serving"

static struct h_stack st;  /* graph-sim, notification-service and instance A (st.ts) */
static struct h_proc b;    /* instance B: a cache of the default size */
static struct h_proc c;    /* instance C: a cache of two documents */
static struct h_proc none; /* one case's instance without a cache (pid 0 when not running) */
static char tenants[3][HT_ID_LEN];
static const char *languages[3] = {"es", "en", "eu"};

/* ---------- helpers ---------- */

static char *settings_path(const char *tenant)
{
    return xasprintf("/api/v1/tenants/%s/settings/notifications", tenant);
}

/* The value of key in tenant's settings as instance p answers them now. */
static char *read_key(const struct h_proc *p, const char *tenant, const char *key)
{
    char *path = settings_path(tenant);
    struct h_resp r = ht_call(p, "GET", path, ht_service(), NULL);
    assert_int_equal(r.status, 200);
    const json_t *v = json_object_get(r.json, key);
    char *out = json_is_string(v)    ? xstrdup(json_string_value(v))
                : json_is_integer(v) ? xasprintf("%lld", (long long)json_integer_value(v))
                : json_is_null(v)    ? xstrdup("null")
                                     : xstrdup("?");
    h_resp_free(&r);
    free(path);
    return out;
}

static void assert_reads(const struct h_proc *p, const char *tenant, const char *key,
                         const char *want)
{
    char *got = read_key(p, tenant, key);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "# %s read %s=%s, want %s\n", p->name, key, got, want);
    assert_string_equal(got, want);
    free(got);
}

static void put_language(const struct h_proc *p, const char *tenant, const char *language)
{
    char *path = settings_path(tenant);
    char *body = xasprintf("{\"whatsapp_default_language\": \"%s\"}", language);
    struct h_resp r = ht_call(p, "PUT", path, ht_admin(), body);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(body);
    free(path);
}

static bool serving(void *arg)
{
    return h_metric(((const struct h_proc *)arg)->url, SERVING) == 1;
}

static void wait_serving(const struct h_proc *p)
{
    assert_true(h_wait_until(serving, (void *)p, h_wrapped() ? 60000 : 10000));
}

/* Writes through writer and reads through reader at once, ROUNDS times, each round a
 * new language; the reader's cache is warmed with the old value first. Returns the
 * reader's cache hits over the rounds. */
static double flip_languages(const struct h_proc *writer, const struct h_proc *reader,
                             const char *tenant)
{
    double hits = h_metric(reader->url, HITS);
    for (int i = 0; i < ROUNDS; i++) {
        const char *old = languages[i % 3], *next = languages[(i + 1) % 3];
        assert_reads(reader, tenant, "whatsapp_default_language", old);
        put_language(writer, tenant, next);
        assert_reads(reader, tenant, "whatsapp_default_language", next);
    }
    put_language(writer, tenant, languages[0]); /* back to where every case starts */
    return hits < 0 ? -1 : h_metric(reader->url, HITS) - hits;
}

static void stop_cont(const struct h_proc *p, int sig)
{
    assert_int_equal(kill(p->pid, sig), 0);
}

/* ---------- setup ---------- */

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!hs_start(&st, "tenant_settings_cache", NULL, NULL))
        return -1;
    const char *small[] = {"SETTINGS_CACHE_ENTRIES=2", NULL};
    if (!ht_start_tenant(&b, st.tenant_db, st.notif.url, NULL, NULL) ||
        !ht_start_tenant(&c, st.tenant_db, st.notif.url, NULL, small))
        return -1;
    snprintf(b.name, sizeof b.name, "instance B");
    snprintf(c.name, sizeof c.name, "instance C");
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "Cache bakery %d", i);
        ht_create_tenant(&st.ts, name, tenants[i]);
        put_language(&st.ts, tenants[i], languages[0]);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (none.pid > 0) /* its case failed before stopping it */
        (void)h_stop(&none);
    int rc = h_stop(&c);
    rc |= h_stop(&b);
    rc |= hs_stop(&st);
    curl_global_cleanup();
    return rc == 0 ? 0 : -1;
}

/* ---------- tests ---------- */

static void a_read_after_a_write_through_the_same_instance_sees_it(void **state)
{
    (void)state;
    wait_serving(&st.ts);
    double hits = flip_languages(&st.ts, &st.ts, tenants[0]);
    fprintf(stderr, "# instance A answered %.0f of %d warm reads from its cache\n", hits, ROUNDS);
    assert_true(ENOUGH_HITS(hits)); /* the cache answers: a stale entry would have shown */
}

static void a_write_through_a_is_read_at_once_through_b_and_back(void **state)
{
    (void)state;
    wait_serving(&b);
    wait_serving(&st.ts);
    double hits = flip_languages(&st.ts, &b, tenants[1]);
    fprintf(stderr, "# instance B answered %.0f of %d warm reads from its cache\n", hits, ROUNDS);
    assert_true(ENOUGH_HITS(hits));
    hits = flip_languages(&b, &st.ts, tenants[1]);
    assert_true(ENOUGH_HITS(hits));
}

static void a_number_assignment_and_a_plan_change_are_read_at_once_everywhere(void **state)
{
    (void)state;
    const char *phones[2] = {HS_PHONE(02), HS_PHONE(03)};
    wait_serving(&b);
    for (int i = 0; i < 6; i++) {
        const char *old = i == 0 ? "" : phones[(i - 1) % 2];
        assert_reads(&b, tenants[2], "whatsapp_phone_number_id", old);
        hs_assign(&st, tenants[2], phones[i % 2]);
        assert_reads(&b, tenants[2], "whatsapp_phone_number_id", phones[i % 2]);
        assert_reads(&st.ts, tenants[2], "whatsapp_phone_number_id", phones[i % 2]);
    }
    char *path = xasprintf("/api/v1/admin/whatsapp/tenants/%s/unassign-phone", tenants[2]);
    struct h_resp r = ht_call(&b, "DELETE", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(path);
    assert_reads(&st.ts, tenants[2], "whatsapp_phone_number_id", "");

    const char *plans[2] = {"enterprise", "basic"};
    path = xasprintf("/api/v1/admin/tenants/%s/plan", tenants[2]);
    for (int i = 0; i < 4; i++) {
        assert_reads(&b, tenants[2], "plan", i == 0 ? "standard" : plans[(i - 1) % 2]);
        char *body = xasprintf("{\"plan\": \"%s\"}", plans[i % 2]);
        r = ht_call(&st.ts, "PUT", path, ht_admin(), body);
        assert_int_equal(r.status, 200);
        h_resp_free(&r);
        free(body);
        assert_reads(&b, tenants[2], "plan", plans[i % 2]);
    }
    r = ht_call(&st.ts, "PUT", path, ht_admin(), "{\"plan\": \"standard\"}");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(path);
}

static void a_reader_whose_lease_lapsed_serves_nothing_stale(void **state)
{
    (void)state;
    wait_serving(&b);
    assert_reads(&b, tenants[1], "whatsapp_default_language", "es");
    assert_reads(&b, tenants[1], "whatsapp_default_language", "es"); /* cached now */
    stop_cont(&b, SIGSTOP); /* B renews nothing, hears nothing, and keeps its cache */
    int64_t t0 = monotonic_ms();
    put_language(&st.ts, tenants[1], "eu");
    int64_t took = monotonic_ms() - t0;
    fprintf(stderr, "# the change waited %lld ms for the stopped reader's lease\n",
            (long long)took);
    /* B's thread must not catch up before the read: the change counter it reads first
     * is locked (the read itself does not need it). */
    PGconn *hold = PQconnectdb(st.tenant_db);
    assert_int_equal(PQstatus(hold), CONNECTION_OK);
    PGresult *res =
        PQexec(hold, "BEGIN; LOCK TABLE settings_change_counter IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    stop_cont(&b, SIGCONT);
    char *got = read_key(&b, tenants[1], "whatsapp_default_language");
    res = PQexec(hold, "COMMIT");
    PQclear(res);
    PQfinish(hold);
    assert_string_equal(got, "eu");
    free(got);
    /* Bounded: the writer waited out the lease, it did not hang on the stopped reader. */
    assert_true(took < 6000 || h_wrapped());
    /* And B takes up its cache again. */
    wait_serving(&b);
    put_language(&b, tenants[1], "es");
    assert_reads(&st.ts, tenants[1], "whatsapp_default_language", "es");
    assert_reads(&b, tenants[1], "whatsapp_default_language", "es");
}

static void a_reader_whose_listen_connection_was_cut_serves_nothing_stale(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++) {
        wait_serving(&b);
        const char *old = languages[i % 3], *next = languages[(i + 1) % 3];
        assert_reads(&b, tenants[0], "whatsapp_default_language", old);
        assert_reads(&b, tenants[0], "whatsapp_default_language", old);
        char *sql = xasprintf("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                              " WHERE application_name = 'bakery-whatsapp settings cache %ld'",
                              (long)b.pid);
        char *cut = h_sql(st.tenant_db, sql);
        assert_non_null(cut);
        assert_string_equal(cut, "1");
        free(cut);
        free(sql);
        put_language(&st.ts, tenants[0], next);
        assert_reads(&b, tenants[0], "whatsapp_default_language", next);
    }
    put_language(&st.ts, tenants[0], languages[0]);
}

static void an_instance_without_a_cache_reads_and_writes_correctly_beside_caching_ones(void **state)
{
    (void)state;
    const char *env[] = {"SETTINGS_CACHE_ENTRIES=0", NULL};
    assert_true(ht_start_tenant(&none, st.tenant_db, st.notif.url, NULL, env));
    snprintf(none.name, sizeof none.name, "instance without a cache");
    wait_serving(&b);
    assert_true(flip_languages(&st.ts, &none, tenants[2]) <= 0); /* it never answers from memory */
    /* Its writes wait for the caching instances as any writer does. */
    double hits = flip_languages(&none, &b, tenants[2]);
    assert_true(ENOUGH_HITS(hits));
    int rc = h_stop(&none);
    none.pid = 0;
    assert_int_equal(rc, 0);
}

static void the_cache_keeps_at_most_its_bound_the_least_recently_read_going_first(void **state)
{
    (void)state;
    wait_serving(&c);
    double evicted = h_metric(c.url, "tenant_settings_cache_evictions_total");
    for (int i = 0; i < 3; i++) /* t0, t1, t2: t0 goes */
        assert_reads(&c, tenants[i], "whatsapp_default_language", languages[0]);
    assert_true(h_metric(c.url, "tenant_settings_cache_entries") == 2);
    assert_true(h_metric(c.url, "tenant_settings_cache_evictions_total") >= evicted + 1);

    double hits = h_metric(c.url, HITS);
    double misses = h_metric(c.url, "tenant_settings_cache_misses_total");
    assert_reads(&c, tenants[2], "whatsapp_default_language", languages[0]); /* kept */
    assert_true(h_metric(c.url, HITS) == hits + 1 || h_wrapped());
    assert_reads(&c, tenants[0], "whatsapp_default_language", languages[0]); /* evicted */
    assert_true(h_metric(c.url, "tenant_settings_cache_misses_total") == misses + 1);
    assert_true(h_metric(c.url, "tenant_settings_cache_entries") == 2);

    /* Under that churn, still every change at once. */
    for (int i = 0; i < 3; i++)
        flip_languages(&st.ts, &c, tenants[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_read_after_a_write_through_the_same_instance_sees_it),
        cmocka_unit_test(a_write_through_a_is_read_at_once_through_b_and_back),
        cmocka_unit_test(a_number_assignment_and_a_plan_change_are_read_at_once_everywhere),
        cmocka_unit_test(a_reader_whose_lease_lapsed_serves_nothing_stale),
        cmocka_unit_test(a_reader_whose_listen_connection_was_cut_serves_nothing_stale),
        cmocka_unit_test(
            an_instance_without_a_cache_reads_and_writes_correctly_beside_caching_ones),
        cmocka_unit_test(the_cache_keeps_at_most_its_bound_the_least_recently_read_going_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
