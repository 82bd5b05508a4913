/* test_quota.c - plans' monthly quotas enforced exactly (issue 20): the message over the
 * quota ends skipped quota_exceeded, never silently; 50 orders racing through two
 * notification-service instances send exactly the quota; 80% and 100% are announced;
 * a plan change applies to the next order posted at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "harness_stack.h"
#include "harness_tenant.h"
#include "uuidutil.h"

static struct h_stack st;
static struct h_proc second;
static int next_phone;

static void settings(const char *tenant, const char *json)
{
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", tenant);
    struct h_resp r = ht_call(&st.ts, "PUT", path, ht_admin(), json);
    if (r.status != 200)
        fail_msg("settings %s: %ld %s", json, r.status, r.body);
    h_resp_free(&r);
    free(path);
}

static void plan(const char *tenant, const char *json)
{
    char *path = xasprintf("/api/v1/admin/tenants/%s/plan", tenant);
    struct h_resp r = ht_call(&st.ts, "PUT", path, ht_admin(), json);
    if (r.status != 200)
        fail_msg("plan %s: %ld %s", json, r.status, r.body);
    h_resp_free(&r);
    free(path);
}

/* A bakery with WhatsApp on, sending from the platform's number. */
static void bakery(const char *name, char id[HT_ID_LEN])
{
    ht_create_tenant(&st.ts, name, id);
    settings(id, "{\"whatsapp_enabled\": true}");
}

static long post_via(const struct h_proc *p, const char *tenant, char id[UUID_STR_LEN])
{
    char event[UUID_STR_LEN], to[16];
    uuid_new(event);
    snprintf(to, sizeof to, "+3460050%04d", __atomic_fetch_add(&next_phone, 1, __ATOMIC_SEQ_CST));
    char *body = xasprintf("{\"event_id\":\"%s\",\"tenant_id\":\"%s\",\"po_number\":\"PO-20\","
                           "\"supplier_name\":\"Harinas\",\"supplier_phone\":\"%s\","
                           "\"total_amount\":\"10.00\",\"currency\":\"EUR\"}",
                           event, tenant, to);
    struct h_resp r =
        h_call("POST", p->url, ht_service(), body, "/api/v1/notifications/purchase-orders");
    long status = r.status;
    if (id)
        snprintf(id, UUID_STR_LEN, "%s", status == 202 ? ht_str(&r, "message_id") : "");
    h_resp_free(&r);
    free(body);
    return status;
}

static long count(const char *tenant, const char *where)
{
    char *sql = xasprintf("SELECT count(*) FROM whatsapp_messages WHERE tenant_id = '%s' AND %s",
                          tenant, where);
    char *v = h_sql(st.notif_db, sql);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    free(sql);
    return n;
}

struct settled {
    const char *tenant;
    long n;
};

static bool all_final(void *arg)
{
    const struct settled *s = arg;
    return count(s->tenant, "status IN ('sent', 'delivered', 'read', 'skipped', 'failed')") == s->n;
}

/* How many sends graph-sim accepted from the platform's number to this tenant's
 * recipients: the rows' wamids it knows. */
static long sends_of(const char *tenant)
{
    return count(tenant, "wamid IS NOT NULL");
}

/* ---------- the cases ---------- */

static void the_order_over_the_quota_is_skipped_and_says_why(void **state)
{
    (void)state;
    char t[HT_ID_LEN], ids[4][UUID_STR_LEN];
    bakery("Horno Tres", t);
    plan(t, "{\"quota_override\": 3}");
    for (int i = 0; i < 4; i++) {
        assert_int_equal(post_via(&st.notif, t, ids[i]), 202);
        struct settled s = {t, i + 1};
        assert_true(h_wait_until(all_final, &s, 10000));
    }
    assert_int_equal(count(t, "status IN ('sent', 'delivered', 'read')"), 3);
    char *sql = xasprintf("SELECT status || ' ' || coalesce(skip_reason, '') FROM "
                          "whatsapp_messages WHERE id = '%s'",
                          ids[3]);
    char *last = h_sql(st.notif_db, sql);
    assert_string_equal(last, "skipped quota_exceeded");
    free(last);
    free(sql);
    /* 3 of 3 is 100%, and 80% was crossed at the third */
    assert_true(h_log_count(&st.notif, "quota_reached") >= 1);
}

struct racer {
    const struct h_proc *p;
    const char *tenant;
    int n;
};

static void *race(void *arg)
{
    const struct racer *r = arg;
    for (int i = 0; i < r->n; i++)
        if (post_via(r->p, r->tenant, NULL) != 202)
            return (void *)1;
    return NULL;
}

/* 50 orders posted at once through two instances sharing the database: exactly the
 * quota goes out, the rest are skipped quota_exceeded. */
static void fifty_racing_orders_send_exactly_the_quota(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Horno Carrera", t);
    plan(t, "{\"quota_override\": 3}");
    struct racer racers[4] = {
        {&st.notif, t, 13}, {&second, t, 13}, {&st.notif, t, 12}, {&second, t, 12}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &racers[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    struct settled s = {t, 50};
    assert_true(h_wait_until(all_final, &s, 30000));
    long sent = sends_of(t), skipped = count(t, "skip_reason = 'quota_exceeded'");
    printf("# 50 racing orders, quota 3, two instances: %ld sent, %ld quota_exceeded\n", sent,
           skipped);
    assert_int_equal(sent, 3);
    assert_int_equal(skipped, 47);
}

/* 80%: with a quota of 5 the fourth order announces quota_warning, the fifth
 * quota_reached. */
static void eighty_percent_and_the_limit_are_announced(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Horno Aviso", t);
    plan(t, "{\"quota_override\": 5}");
    int warned = h_log_count(&st.notif, "quota_warning"),
        reached = h_log_count(&st.notif, "quota_reached");
    for (int i = 0; i < 5; i++) {
        assert_int_equal(post_via(&st.notif, t, NULL), 202);
        struct settled s = {t, i + 1};
        assert_true(h_wait_until(all_final, &s, 10000));
        if (i == 2)
            assert_int_equal(h_log_count(&st.notif, "quota_warning"), warned);
        if (i == 3)
            assert_int_equal(h_log_count(&st.notif, "quota_warning"), warned + 1);
    }
    assert_int_equal(h_log_count(&st.notif, "quota_reached"), reached + 1);
}

/* A plan change applies to the next order posted at once: basic (no WhatsApp) skips,
 * enterprise sends. */
static void a_plan_change_applies_to_the_next_order(void **state)
{
    (void)state;
    char t[HT_ID_LEN], id[UUID_STR_LEN];
    bakery("Horno Plan", t);
    plan(t, "{\"plan\": \"basic\", \"quota_override\": null}");
    assert_int_equal(post_via(&st.notif, t, id), 202);
    struct settled s = {t, 1};
    assert_true(h_wait_until(all_final, &s, 10000));
    assert_int_equal(count(t, "skip_reason = 'quota_exceeded'"), 1);
    plan(t, "{\"plan\": \"enterprise\"}");
    assert_int_equal(post_via(&st.notif, t, id), 202);
    s.n = 2;
    assert_true(h_wait_until(all_final, &s, 10000));
    assert_int_equal(count(t, "status IN ('sent', 'delivered', 'read')"), 1);
}

static int setup(void **state)
{
    (void)state;
    static const char *const notif[] = {"LOG_LEVEL=info", NULL};
    char name[48];
    snprintf(name, sizeof name, "quota_%ld", (long)getpid());
    if (!hs_start(&st, name, notif, NULL))
        return -1;
    return hs_start_notification(&st, &second, h_free_port()) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = h_stop(&second) != 0 ? -1 : 0;
    if (hs_stop(&st) != 0)
        rc = -1;
    h_drop_database(st.tenant_db);
    h_drop_database(st.notif_db);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_order_over_the_quota_is_skipped_and_says_why),
        cmocka_unit_test(fifty_racing_orders_send_exactly_the_quota),
        cmocka_unit_test(eighty_percent_and_the_limit_are_announced),
        cmocka_unit_test(a_plan_change_applies_to_the_next_order),
    };
    if (!h_pg_start())
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
