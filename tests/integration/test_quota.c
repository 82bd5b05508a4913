/* test_quota.c - plans' monthly quotas enforced exactly (issue 20): the message over the
 * quota ends skipped quota_exceeded, never silently; 50 orders racing through two
 * notification-service instances send exactly the quota; 80% and 100% are announced;
 * a plan change applies to the next order posted at once. The month's usage is served by
 * notification-service and shown with the plan by tenant-service; the crossings reach
 * tenant-service's audit log once each. */
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
    assert_true(h_log_count(&st.notif, "quota_reached: ") >= 1);
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
    int warned = h_log_count(&st.notif, "quota_warning: "),
        reached = h_log_count(&st.notif, "quota_reached: ");
    for (int i = 0; i < 5; i++) {
        assert_int_equal(post_via(&st.notif, t, NULL), 202);
        struct settled s = {t, i + 1};
        assert_true(h_wait_until(all_final, &s, 10000));
        if (i == 2)
            assert_int_equal(h_log_count(&st.notif, "quota_warning: "), warned);
        if (i == 3)
            assert_int_equal(h_log_count(&st.notif, "quota_warning: "), warned + 1);
    }
    assert_int_equal(h_log_count(&st.notif, "quota_reached: "), reached + 1);
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

/* notification-service's count of the tenant's month, or -1. */
static long usage_of(const char *tenant)
{
    struct h_resp r = h_call("GET", st.notif.url, ht_service(), NULL,
                             "/api/v1/whatsapp/quota-usage?tenant_id=%s", tenant);
    long used = -1;
    if (r.status == 200) {
        assert_string_equal(ht_str(&r, "tenant_id"), tenant);
        assert_int_equal(strlen(ht_str(&r, "month")), 7);
        used = (long)json_integer_value(json_object_get(r.json, "used"));
    }
    h_resp_free(&r);
    return used;
}

/* The month in BILLING_TIMEZONE as notification-service's database says it. */
static char *this_month(void)
{
    return h_sql(st.notif_db, "SELECT to_char(now() AT TIME ZONE 'Europe/Madrid', 'YYYY-MM')");
}

/* The tenant's plan usage.used as tenant-service serves it to a path, or -1 for null. */
static long plan_usage(const char *path_fmt, const char *tenant, const char *token)
{
    char *path = xasprintf(path_fmt, tenant);
    struct h_resp r = ht_call(&st.ts, "GET", path, token, NULL);
    assert_int_equal(r.status, 200);
    json_t *usage = json_object_get(r.json, "usage");
    assert_non_null(usage);
    long used = -1;
    if (json_is_object(usage)) {
        char *month = this_month();
        assert_string_equal(json_string_value(json_object_get(usage, "month")), month);
        free(month);
        used = (long)json_integer_value(json_object_get(usage, "used"));
    }
    h_resp_free(&r);
    free(path);
    return used;
}

static void usage_is_zero_then_counts_the_sends(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Horno Cuenta", t);
    plan(t, "{\"quota_override\": 10}");
    assert_int_equal(usage_of(t), 0);
    char *user = ht_user(t, "owner");
    assert_int_equal(plan_usage("/api/v1/tenants/%s/plan", t, user), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(post_via(&st.notif, t, NULL), 202);
    struct settled s = {t, 3};
    assert_true(h_wait_until(all_final, &s, 10000));
    assert_int_equal(sends_of(t), 3);
    assert_int_equal(usage_of(t), 3);
    assert_int_equal(plan_usage("/api/v1/tenants/%s/plan", t, user), 3);
    assert_int_equal(plan_usage("/api/v1/admin/tenants/%s/plan", t, ht_admin()), 3);
    free(user);

    /* a tenant without a row, and bad tenant ids */
    char other[UUID_STR_LEN];
    uuid_new(other);
    assert_int_equal(usage_of(other), 0);
    const char *bad[] = {"", "?tenant_id=", "?tenant_id=nope", "?tenant_id=1234"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct h_resp r = h_call("GET", st.notif.url, ht_service(), NULL,
                                 "/api/v1/whatsapp/quota-usage%s", bad[i]);
        assert_int_equal(r.status, 422);
        assert_string_equal(ht_str(&r, "field"), "tenant_id");
        h_resp_free(&r);
    }
    /* a tenant user may not ask notification-service directly */
    char *tu = ht_user(t, "owner");
    struct h_resp r =
        h_call("GET", st.notif.url, tu, NULL, "/api/v1/whatsapp/quota-usage?tenant_id=%s", t);
    assert_int_equal(r.status, 403);
    h_resp_free(&r);
    free(tu);
}

/* With notification-service down the plan still answers, usage null. */
static void the_plan_answers_without_notification_service(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    bakery("Horno Solo", t);
    struct h_proc ts2;
    assert_true(ht_start_tenant(&ts2, st.tenant_db, ht_dead_url(), NULL, NULL));
    char *path = xasprintf("/api/v1/admin/tenants/%s/plan", t);
    struct h_resp r = ht_call(&ts2, "GET", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_null(json_object_get(r.json, "usage")));
    assert_string_equal(ht_str(&r, "plan"), "standard");
    h_resp_free(&r);
    free(path);
    assert_int_equal(h_stop(&ts2), 0);
}

/* The audit rows of one action for a tenant, as the admin's audit log shows them. */
static int audit_rows(const char *tenant, const char *action, char *reason, size_t reason_size)
{
    struct h_resp r =
        ht_call(&st.ts, "GET", "/api/v1/admin/whatsapp/audit-log?limit=200", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    int n = 0;
    size_t i;
    json_t *row;
    json_array_foreach (r.json, i, row) {
        if (strcmp(json_string_value(json_object_get(row, "tenant_id")), tenant) == 0 &&
            strcmp(json_string_value(json_object_get(row, "action")), action) == 0) {
            n++;
            if (reason)
                snprintf(reason, reason_size, "%s",
                         json_string_value(json_object_get(row, "reason")));
        }
    }
    h_resp_free(&r);
    return n;
}

struct audit_wait {
    const char *tenant, *action;
};

static bool audited(void *arg)
{
    const struct audit_wait *a = arg;
    return audit_rows(a->tenant, a->action, NULL, 0) >= 1;
}

/* Quota 5: the fourth send writes quota_warning, the fifth quota_reached, each once,
 * and orders beyond the quota write nothing more. */
static void crossings_are_audited_once_each(void **state)
{
    (void)state;
    char t[HT_ID_LEN], reason[256];
    bakery("Horno Auditado", t);
    plan(t, "{\"quota_override\": 5}");
    for (int i = 0; i < 7; i++) {
        assert_int_equal(post_via(&st.notif, t, NULL), 202);
        struct settled s = {t, i + 1};
        assert_true(h_wait_until(all_final, &s, 10000));
        if (i == 2) {
            usleep(1200 * 1000); /* past a posting round of the events thread */
            assert_int_equal(audit_rows(t, "quota_warning", NULL, 0), 0);
        }
    }
    struct audit_wait w = {t, "quota_warning"}, r = {t, "quota_reached"};
    assert_true(h_wait_until(audited, &w, 10000));
    assert_true(h_wait_until(audited, &r, 10000));
    usleep(1200 * 1000);
    char *month = this_month();
    char *want = xasprintf("%s: 4 of 5 messages", month);
    assert_int_equal(audit_rows(t, "quota_warning", reason, sizeof reason), 1);
    assert_string_equal(reason, want);
    free(want);
    want = xasprintf("%s: 5 of 5 messages", month);
    assert_int_equal(audit_rows(t, "quota_reached", reason, sizeof reason), 1);
    assert_string_equal(reason, want);
    free(want);

    /* told again (another instance, a retry): still one row */
    char *path = xasprintf("/api/v1/internal/tenants/%s/quota-events", t);
    char *body = xasprintf(
        "{\"event\": \"quota_reached\", \"used\": 5, \"quota\": 5, \"month\": \"%s\"}", month);
    struct h_resp resp = ht_call(&st.ts, "POST", path, ht_service(), body);
    assert_int_equal(resp.status, 200);
    assert_false(json_is_true(json_object_get(resp.json, "recorded")));
    h_resp_free(&resp);
    assert_int_equal(audit_rows(t, "quota_reached", NULL, 0), 1);
    free(body);
    free(path);
    free(month);
}

static void the_internal_route_checks_input_and_role(void **state)
{
    (void)state;
    char t[HT_ID_LEN], unknown[UUID_STR_LEN];
    bakery("Horno Interno", t);
    uuid_new(unknown);
    char *path = xasprintf("/api/v1/internal/tenants/%s/quota-events", t);
    static const char good[] =
        "{\"event\": \"quota_warning\", \"used\": 4, \"quota\": 5, \"month\": \"2026-12\"}";
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"event\": \"quota_over\", \"used\": 4, \"quota\": 5, \"month\": \"2026-12\"}", "event"},
        {"{\"used\": 4, \"quota\": 5, \"month\": \"2026-12\"}", "event"},
        {"{\"event\": \"quota_warning\", \"used\": -1, \"quota\": 5, \"month\": \"2026-12\"}",
         "used"},
        {"{\"event\": \"quota_warning\", \"used\": \"4\", \"quota\": 5, \"month\": \"2026-12\"}",
         "used"},
        {"{\"event\": \"quota_warning\", \"used\": 4, \"month\": \"2026-12\"}", "quota"},
        {"{\"event\": \"quota_warning\", \"used\": 4, \"quota\": 5, \"month\": \"2026-13\"}",
         "month"},
        {"{\"event\": \"quota_warning\", \"used\": 4, \"quota\": 5, \"month\": \"2026-1\"}",
         "month"},
        {"{\"event\": \"quota_warning\", \"used\": 4, \"quota\": 5}", "month"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct h_resp r = ht_call(&st.ts, "POST", path, ht_service(), bad[i].body);
        assert_int_equal(r.status, 422);
        assert_string_equal(ht_str(&r, "field"), bad[i].field);
        h_resp_free(&r);
    }
    struct h_resp r = ht_call(&st.ts, "POST", path, ht_service(), "{\"event\": ");
    assert_int_equal(r.status, 400);
    h_resp_free(&r);
    /* only services: the admin and the tenant's owner are refused, nothing written */
    char *owner = ht_user(t, "owner");
    const char *refused[] = {ht_admin(), owner};
    for (int i = 0; i < 2; i++) {
        r = ht_call(&st.ts, "POST", path, refused[i], good);
        assert_int_equal(r.status, 403);
        h_resp_free(&r);
    }
    free(owner);
    r = ht_call(&st.ts, "POST", path, NULL, good);
    assert_int_equal(r.status, 401);
    h_resp_free(&r);
    assert_int_equal(audit_rows(t, "quota_warning", NULL, 0), 0);
    free(path);
    path = xasprintf("/api/v1/internal/tenants/%s/quota-events", unknown);
    r = ht_call(&st.ts, "POST", path, ht_service(), good);
    assert_int_equal(r.status, 404);
    h_resp_free(&r);
    free(path);
    path = xasprintf("/api/v1/internal/tenants/%s/quota-events", t);
    r = ht_call(&st.ts, "POST", path, ht_service(), good);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "recorded")));
    h_resp_free(&r);
    assert_int_equal(audit_rows(t, "quota_warning", NULL, 0), 1);
    free(path);
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
        cmocka_unit_test(usage_is_zero_then_counts_the_sends),
        cmocka_unit_test(the_plan_answers_without_notification_service),
        cmocka_unit_test(crossings_are_audited_once_each),
        cmocka_unit_test(the_internal_route_checks_input_and_role),
    };
    if (!h_pg_start())
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
