/* test_tenant_whatsapp.c - the admin WhatsApp endpoints of tenant-service against the real
 * notification-service with graph-sim behind it: the WABA's numbers and who holds them,
 * assignment with the seed's messages, 409 and the race decided by the unique index,
 * reassignment, unassignment, the audit log, the account's health as graph-sim reports it,
 * the diagnostics checklist with the health of what a tenant uses, what the endpoints
 * say when Graph fails or the master credentials are missing, and that admin requests
 * waiting on a silent notification-service hold up no settings read. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "auth.h"
#include "harness.h"
#include "harness_silent.h"
#include "harness_tenant.h"

#define WABA_ID "987654321098765"
#define GRAPH_TOKEN "EAAtest-graph-token"
/* graph-sim's default numbers: 109876543210001 + i, "+34 612 345 678" + i, ratings
 * GREEN GREEN YELLOW GREEN RED GREEN YELLOW GREEN GREEN RED. */
#define PHONE(nn) "1098765432100" #nn
#define PHONE_GREEN2 PHONE(02)
#define PHONE_YELLOW PHONE(03)
#define PHONE_RED PHONE(05)
#define PHONE_PLATFORM PHONE(12) /* WHATSAPP_PHONE_NUMBER_ID: no bakery may hold it */

static struct {
    char tenant_db[256];
    char notif_db[256];
    struct h_proc sim, notif, ts;
    char *owner_of_x;
} w;

static bool start_notification(struct h_proc *p, const char *graph_url, bool credentials)
{
    char *db = xasprintf("NOTIFICATION_DATABASE_URL=%s", w.notif_db);
    char *graph = xasprintf("GRAPH_API_BASE_URL=%s", graph_url);
    char *tenant = xasprintf("TENANT_SERVICE_URL=%s", ht_dead_url());
    const char *env[] = {
        db,
        graph,
        tenant,
        "JWT_SECRET=" H_JWT_SECRET,
        "PHONE_NUMBERS_CACHE_SECONDS=0",
        "GRAPH_TIMEOUT_MS=2000",
        credentials ? "WHATSAPP_ACCESS_TOKEN=" GRAPH_TOKEN : "WHATSAPP_ACCESS_TOKEN=",
        credentials ? "WHATSAPP_BUSINESS_ACCOUNT_ID=" WABA_ID : "WHATSAPP_BUSINESS_ACCOUNT_ID=",
        "WHATSAPP_PHONE_NUMBER_ID=" PHONE_PLATFORM,
        NULL};
    bool ok = h_start(p, "notification-service", "NOTIFICATION_PORT", env, "/health");
    free(db);
    free(graph);
    free(tenant);
    return ok;
}

static int setup(void **state)
{
    (void)state;
    if (!h_fresh_database("it_tenant_wa", w.tenant_db, sizeof w.tenant_db) ||
        !h_fresh_database("it_tenant_wa_notification", w.notif_db, sizeof w.notif_db))
        return -1;
    const char *sim_env[] = {"GRAPH_SIM_ACCESS_TOKEN=" GRAPH_TOKEN, "GRAPH_SIM_WABA_ID=" WABA_ID,
                             "GRAPH_SIM_PHONE_COUNT=12", NULL};
    if (!h_start(&w.sim, "graph-sim", "GRAPH_SIM_PORT", sim_env, "/ready"))
        return -1;
    if (!start_notification(&w.notif, w.sim.url, true))
        return -1;
    const char *ts_env[] = {"HTTP_THREADS=8", NULL};
    if (!ht_start_tenant(&w.ts, w.tenant_db, w.notif.url, NULL, ts_env))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = h_stop(&w.ts);
    rc |= h_stop(&w.notif);
    rc |= h_stop(&w.sim);
    free(w.owner_of_x);
    return rc == 0 ? 0 : -1;
}

/* ---------- helpers ---------- */

static struct h_resp call(const char *method, const char *path, const char *token, const char *body)
{
    return ht_call(&w.ts, method, path, token, body);
}

static struct h_resp assign(const char *tenant, const char *body, const char *token)
{
    char *path = xasprintf("/api/v1/admin/whatsapp/tenants/%s/assign-phone", tenant);
    struct h_resp r = call("POST", path, token ? token : ht_admin(), body);
    free(path);
    return r;
}

static void assign_ok(const char *tenant, const char *phone_id)
{
    char *body = xasprintf("{\"phone_number_id\": \"%s\"}", phone_id);
    struct h_resp r = assign(tenant, body, NULL);
    if (r.status != 200)
        fprintf(stderr, "assign %s to %s: %ld %s\n", phone_id, tenant, r.status, r.body);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(body);
}

static struct h_resp unassign(const char *tenant)
{
    char *path = xasprintf("/api/v1/admin/whatsapp/tenants/%s/unassign-phone", tenant);
    struct h_resp r = call("DELETE", path, ht_admin(), NULL);
    free(path);
    return r;
}

static long audit_rows(const char *tenant)
{
    char *sql =
        xasprintf("SELECT count(*) FROM whatsapp_assignment_audit WHERE tenant_id = '%s'", tenant);
    char *n = h_sql(w.tenant_db, sql);
    assert_non_null(n);
    long count = strtol(n, NULL, 10);
    free(n);
    free(sql);
    return count;
}

static void set_settings(const char *tenant, const char *body)
{
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", tenant);
    struct h_resp r = call("PUT", path, ht_admin(), body);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(path);
}

/* The tenant's row of GET /api/v1/admin/whatsapp/tenants (a new reference). */
static json_t *status_of(const char *tenant)
{
    struct h_resp r = call("GET", "/api/v1/admin/whatsapp/tenants", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    json_t *found = NULL;
    size_t i;
    json_t *item;
    json_array_foreach (r.json, i, item) {
        if (strcmp(json_string_value(json_object_get(item, "tenant_id")), tenant) == 0)
            found = json_incref(item);
    }
    assert_non_null(found);
    h_resp_free(&r);
    return found;
}

/* POSTs body to graph-sim's control API. */
static void sim_control(const char *path, const char *body)
{
    char *url = h_url(w.sim.url, "%s", path);
    struct h_resp r = body ? h_json("POST", url, NULL, body) : h_json("POST", url, NULL, "{}");
    if (r.status != 200)
        fprintf(stderr, "graph-sim %s: %ld %s\n", path, r.status, r.body);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(url);
}

/* ---------- phone numbers and assignment ---------- */

static void phone_numbers_merge_the_waba_with_holders(void **state)
{
    (void)state;
    char x[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Panadería Arrieta", x);
    assign_ok(x, PHONE(07));

    struct h_resp r = call("GET", "/api/v1/admin/whatsapp/phone-numbers", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_array(r.json));
    assert_int_equal(json_array_size(r.json), 12);
    size_t i;
    json_t *item;
    int held = 0;
    json_array_foreach (r.json, i, item) {
        static const char *const keys[] = {"id",
                                           "display_phone_number",
                                           "verified_name",
                                           "quality_rating",
                                           "assigned_tenant_id",
                                           "assigned_tenant_name",
                                           "is_default"};
        assert_int_equal(json_object_size(item), 7);
        for (size_t k = 0; k < 7; k++)
            assert_non_null(json_object_get(item, keys[k]));
        const char *id = json_string_value(json_object_get(item, "id"));
        assert_int_equal(json_is_true(json_object_get(item, "is_default")),
                         strcmp(id, PHONE_PLATFORM) == 0);
        if (strcmp(id, PHONE(07)) == 0) {
            held++;
            assert_string_equal(json_string_value(json_object_get(item, "assigned_tenant_id")), x);
            assert_string_equal(json_string_value(json_object_get(item, "assigned_tenant_name")),
                                "Panadería Arrieta");
            assert_string_equal(json_string_value(json_object_get(item, "display_phone_number")),
                                "+34 612 345 684");
        } else if (strcmp(id, PHONE(01)) == 0) {
            assert_string_equal(json_string_value(json_object_get(item, "display_phone_number")),
                                "+34 612 345 678");
            assert_string_equal(json_string_value(json_object_get(item, "verified_name")),
                                "Panadería San Juan");
            assert_string_equal(json_string_value(json_object_get(item, "quality_rating")),
                                "GREEN");
        } else if (strcmp(id, PHONE_RED) == 0) {
            assert_string_equal(json_string_value(json_object_get(item, "quality_rating")), "RED");
        }
        if (strcmp(id, PHONE(07)) != 0) {
            assert_true(json_is_null(json_object_get(item, "assigned_tenant_id")));
            assert_true(json_is_null(json_object_get(item, "assigned_tenant_name")));
        }
    }
    assert_int_equal(held, 1);
    h_resp_free(&r);
    r = unassign(x);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
}

static void assign_phone_with_the_seed_message(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Panadería San Juan", id);
    char *admin = h_token("admin", NULL, NULL, "ops-maria", 600);
    struct h_resp r = assign(
        id,
        "{\"phone_number_id\": \"" PHONE(01) "\", "
                                             "\"display_phone_number\": \"+34 612 345 678\"}",
        admin);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "success")));
    assert_string_equal(ht_str(&r, "message"),
                        "Phone number +34 612 345 678 assigned to tenant 'Panadería San Juan'");
    assert_string_equal(ht_str(&r, "tenant_id"), id);
    assert_string_equal(ht_str(&r, "phone_number_id"), PHONE(01));
    assert_string_equal(ht_str(&r, "display_phone_number"), "+34 612 345 678");
    h_resp_free(&r);

    /* the settings carry it, the owner sees it, the admin list shows it */
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", id);
    char *owner = ht_user(id, "owner");
    r = call("GET", path, owner, NULL);
    assert_string_equal(ht_str(&r, "whatsapp_phone_number_id"), PHONE(01));
    assert_string_equal(ht_str(&r, "whatsapp_display_phone_number"), "+34 612 345 678");
    h_resp_free(&r);
    json_t *st = status_of(id);
    assert_string_equal(json_string_value(json_object_get(st, "phone_number_id")), PHONE(01));
    assert_string_equal(json_string_value(json_object_get(st, "display_phone_number")),
                        "+34 612 345 678");
    assert_true(json_is_false(json_object_get(st, "whatsapp_enabled")));
    json_decref(st);

    /* one audit row, with the token's sub as the actor */
    char *sql = xasprintf("SELECT action || '|' || phone_number_id || '|' || display_phone_number"
                          " || '|' || actor FROM whatsapp_assignment_audit WHERE tenant_id = '%s'",
                          id);
    char *row = h_sql(w.tenant_db, sql);
    assert_string_equal(row, "assign|" PHONE(01) "|+34 612 345 678|ops-maria");
    free(row);
    free(sql);

    /* the same number again: 200, same message, no new audit row */
    r = assign(id, "{\"phone_number_id\": \"" PHONE(01) "\"}", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "message"),
                        "Phone number +34 612 345 678 assigned to tenant 'Panadería San Juan'");
    h_resp_free(&r);
    assert_int_equal(audit_rows(id), 1);

    /* the owner may now only toggle it on */
    r = call("PUT", path, owner, "{\"whatsapp_enabled\": true}");
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "whatsapp_phone_number_id"), PHONE(01));
    h_resp_free(&r);
    r = call("PUT", path, owner, "{\"whatsapp_phone_number_id\": \"" PHONE(02) "\"}");
    h_assert_error(&r, 403, "phone_assigned_by_admin");
    h_resp_free(&r);

    r = unassign(id);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(owner);
    free(path);
    free(admin);
}

static void display_number_comes_from_the_waba(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Pastelería La Espiga", id);
    struct h_resp r = assign(id, "{\"phone_number_id\": \"" PHONE(04) "\"}", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "display_phone_number"), "+34 612 345 681");
    assert_string_equal(ht_str(&r, "message"),
                        "Phone number +34 612 345 681 assigned to tenant 'Pastelería La Espiga'");
    h_resp_free(&r);
    /* "" and null mean "take it from the WABA" as well */
    r = assign(id, "{\"phone_number_id\": \"" PHONE(04) "\", \"display_phone_number\": \"\"}",
               NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "display_phone_number"), "+34 612 345 681");
    h_resp_free(&r);
    r = assign(id, "{\"phone_number_id\": \"" PHONE(04) "\", \"display_phone_number\": null}",
               NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(audit_rows(id), 1);

    /* the same number written another way changes nothing: the WABA's writing is kept */
    r = assign(
        id,
        "{\"phone_number_id\": \"" PHONE(04) "\", \"display_phone_number\": \"+34 612 34 56 81\"}",
        NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "display_phone_number"), "+34 612 345 681");
    h_resp_free(&r);
    assert_int_equal(audit_rows(id), 1);
    r = unassign(id);
    h_resp_free(&r);
}

/* The platform's own number sends for every bakery without one: it is marked in the
 * list and no bakery may be given it. */
static void the_platform_number_is_reserved(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Panadería Reservada", id);
    struct h_resp r = assign(id, "{\"phone_number_id\": \"" PHONE_PLATFORM "\"}", NULL);
    h_assert_error(&r, 409, "phone_number_reserved");
    assert_string_equal(ht_str(&r, "field"), "phone_number_id");
    assert_non_null(strstr(ht_str(&r, "message"), "default number"));
    h_resp_free(&r);
    assert_int_equal(audit_rows(id), 0);
    r = call("GET", "/api/v1/admin/whatsapp/tenants", ht_admin(), NULL);
    size_t i;
    json_t *t;
    json_array_foreach (r.json, i, t) {
        if (strcmp(json_string_value(json_object_get(t, "tenant_id")), id) == 0)
            assert_true(json_is_null(json_object_get(t, "phone_number_id")));
    }
    h_resp_free(&r);
}

/* A display number that is not the account's is refused, naming the account's; the
 * same number written another way is fine. */
static void a_display_number_not_the_accounts_is_refused(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Panadería Los Tres", id);
    static const char *const wrong[] = {"612", "+34 612 345 678", "+34 612 345 682"};
    for (size_t k = 0; k < 3; k++) {
        char *body = xasprintf(
            "{\"phone_number_id\": \"" PHONE(04) "\", \"display_phone_number\": \"%s\"}", wrong[k]);
        struct h_resp r = assign(id, body, NULL);
        h_assert_error(&r, 422, "display_phone_number_mismatch");
        assert_string_equal(ht_str(&r, "field"), "display_phone_number");
        assert_non_null(strstr(ht_str(&r, "message"), "+34 612 345 681"));
        h_resp_free(&r);
        free(body);
    }
    assert_int_equal(audit_rows(id), 0);
    struct h_resp r = assign(
        id,
        "{\"phone_number_id\": \"" PHONE(04) "\", \"display_phone_number\": \"+34-612-345-681\"}",
        NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "display_phone_number"), "+34 612 345 681");
    h_resp_free(&r);
    r = unassign(id);
    h_resp_free(&r);
}

static void new_number_replaces_the_old_one(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Horno San Blas", id);
    assign_ok(id, PHONE(06));
    assign_ok(id, PHONE(08));
    json_t *st = status_of(id);
    assert_string_equal(json_string_value(json_object_get(st, "phone_number_id")), PHONE(08));
    json_decref(st);

    /* audit: unassign of the old with its reason, then assign of the new */
    char *sql = xasprintf(
        "SELECT string_agg(action || ':' || phone_number_id || ':' || coalesce(reason, '-'), ','"
        " ORDER BY id) FROM whatsapp_assignment_audit WHERE tenant_id = '%s'",
        id);
    char *rows = h_sql(w.tenant_db, sql);
    assert_string_equal(rows, "assign:109876543210006:-,"
                              "unassign:109876543210006:replaced by 109876543210008,"
                              "assign:109876543210008:replaces 109876543210006");
    free(rows);
    free(sql);

    /* the old number is free for somebody else */
    char other[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Forn de Sant Jaume", other);
    assign_ok(other, PHONE(06));
    struct h_resp r = unassign(other);
    h_resp_free(&r);
    r = unassign(id);
    h_resp_free(&r);
}

static void assign_refuses_bad_requests(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Panadería El Trigal", id);
    static const struct {
        const char *body;
        long status;
        const char *code;
        const char *field;
    } cases[] = {
        {"{\"phone_number_id\": \"123456789012345\"}", 422, "phone_number_not_in_waba",
         "phone_number_id"},
        {"{\"phone_number_id\": \"\"}", 422, "validation_error", "phone_number_id"},
        {"{\"phone_number_id\": 109876543210001}", 422, "validation_error", "phone_number_id"},
        {"{\"phone_number_id\": \"1098 7654\"}", 422, "validation_error", "phone_number_id"},
        {"{\"phone_number_id\": \"1'; DROP TABLE tenants;--\"}", 422, "validation_error",
         "phone_number_id"},
        {"{\"phone_number_id\": \"123456789012345678901234567890123\"}", 422, "validation_error",
         "phone_number_id"},
        {"{}", 422, "validation_error", "phone_number_id"},
        {"{\"phone_number_id\": \"" PHONE(01) "\", \"display_phone_number\": \"call me\"}", 422,
         "validation_error", "display_phone_number"},
        {"{\"phone_number_id\": \"" PHONE(01) "\", \"display_phone_number\": 34612345678}", 422,
         "validation_error", "display_phone_number"},
        {"{\"phone_number_id\": \"" PHONE(01) "\", \"tenant_id\": \"x\"}", 422, "validation_error",
         "tenant_id"},
        {"{\"phone_number_id\": ", 400, "malformed_json", NULL},
        {"[]", 422, "invalid_body", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct h_resp r = assign(id, cases[i].body, NULL);
        h_assert_error(&r, cases[i].status, cases[i].code);
        if (cases[i].field)
            assert_string_equal(ht_str(&r, "field"), cases[i].field);
        h_resp_free(&r);
    }
    char *url = h_url(w.ts.url, "/api/v1/admin/whatsapp/tenants/%s/assign-phone", id);
    struct h_resp r = h_http("POST", url, ht_admin(), "text/plain", "109876543210001", 15);
    h_assert_error(&r, 415, "unsupported_media_type");
    h_resp_free(&r);
    free(url);
    r = assign("00000000-0000-4000-8000-000000000000", "{\"phone_number_id\": \"" PHONE(01) "\"}",
               NULL);
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
    r = assign("not-a-tenant", "{\"phone_number_id\": \"" PHONE(01) "\"}", NULL);
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
    assert_int_equal(audit_rows(id), 0);
    json_t *st = status_of(id);
    assert_true(json_is_null(json_object_get(st, "phone_number_id")));
    json_decref(st);
}

static void number_of_another_tenant_is_409(void **state)
{
    (void)state;
    char a[HT_ID_LEN], b[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Confitería Sarasola", a);
    ht_create_tenant(&w.ts, "Panadería Ogi Berri", b);
    assign_ok(a, PHONE(09));
    struct h_resp r = assign(b, "{\"phone_number_id\": \"" PHONE(09) "\"}", NULL);
    h_assert_error(&r, 409, "phone_already_assigned");
    assert_string_equal(ht_str(&r, "message"), "Phone number already assigned to another tenant");
    assert_string_equal(ht_str(&r, "assigned_tenant_id"), a);
    assert_string_equal(ht_str(&r, "assigned_tenant_name"), "Confitería Sarasola");
    h_resp_free(&r);
    assert_int_equal(audit_rows(b), 0);

    /* the seed's way out: find the holder, unassign it, assign again */
    r = call("GET", "/api/v1/admin/whatsapp/tenants", ht_admin(), NULL);
    size_t i;
    json_t *item;
    int holders = 0;
    json_array_foreach (r.json, i, item) {
        const char *phone = json_string_value(json_object_get(item, "phone_number_id"));
        if (phone && strcmp(phone, PHONE(09)) == 0) {
            holders++;
            assert_string_equal(json_string_value(json_object_get(item, "tenant_id")), a);
        }
    }
    assert_int_equal(holders, 1);
    h_resp_free(&r);
    r = unassign(a);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assign_ok(b, PHONE(09));
    r = unassign(b);
    h_resp_free(&r);
}

/* ---------- the race ---------- */

struct racer {
    pthread_barrier_t *start;
    const char *tenant;
    long status;
    char holder[HT_ID_LEN];
};

static void *race_assign(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->start);
    struct h_resp resp = assign(r->tenant, "{\"phone_number_id\": \"" PHONE(10) "\"}", NULL);
    r->status = resp.status;
    snprintf(r->holder, sizeof r->holder, "%s", ht_str(&resp, "assigned_tenant_id"));
    h_resp_free(&resp);
    return NULL;
}

/* Runs n concurrent assignments of one number to n tenants; returns the winner's index. */
static size_t race(char (*tenants)[HT_ID_LEN], size_t n)
{
    pthread_barrier_t start;
    pthread_t threads[8];
    struct racer racers[8];
    size_t winner = n;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        racers[i] = (struct racer){.start = &start, .tenant = tenants[i]};
        assert_int_equal(pthread_create(&threads[i], NULL, race_assign, &racers[i]), 0);
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    for (size_t i = 0; i < n; i++) {
        if (racers[i].status == 200) {
            assert_int_equal(winner, n); /* exactly one winner */
            winner = i;
        } else {
            assert_int_equal(racers[i].status, 409);
        }
    }
    assert_true(winner < n);
    for (size_t i = 0; i < n; i++) {
        if (i != winner)
            assert_string_equal(racers[i].holder, tenants[winner]);
    }
    return winner;
}

static void concurrent_assignments_have_one_winner(void **state)
{
    (void)state;
    char tenants[8][HT_ID_LEN];
    for (size_t i = 0; i < 8; i++) {
        char name[32];
        snprintf(name, sizeof name, "Racer %zu", i);
        ht_create_tenant(&w.ts, name, tenants[i]);
    }
    long wins[8] = {0};
    for (int round = 0; round < 10; round++) {
        size_t winner = race(tenants, 2);
        wins[winner]++;
        struct h_resp r = unassign(tenants[winner]);
        h_resp_free(&r);
    }
    size_t winner = race(tenants, 8);
    wins[winner]++;
    char *holders =
        h_sql(w.tenant_db, "SELECT count(*) FROM tenant_settings WHERE"
                           " notification_settings->>'whatsapp_phone_number_id' = '" PHONE(10) "'");
    assert_string_equal(holders, "1");
    free(holders);
    /* losing left no trace in the audit log: one assign row per win, one unassign row
     * per round won before the last race */
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(audit_rows(tenants[i]), 2 * wins[i] - (i == winner ? 1 : 0));
    struct h_resp r = unassign(tenants[winner]);
    h_resp_free(&r);
}

/* ---------- unassign and the audit log ---------- */

static void unassign_is_idempotent_and_audited(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Obrador Txuri", id);
    assign_ok(id, PHONE(02));
    struct h_resp r = unassign(id);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "success")));
    assert_string_equal(ht_str(&r, "tenant_id"), id);
    assert_string_equal(ht_str(&r, "message"),
                        "Phone number +34 612 345 679 unassigned from tenant 'Obrador Txuri'");
    h_resp_free(&r);
    r = unassign(id);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "message"),
                        "Tenant 'Obrador Txuri' has no phone number assigned");
    h_resp_free(&r);
    assert_int_equal(audit_rows(id), 2);
    json_t *st = status_of(id);
    assert_true(json_is_null(json_object_get(st, "phone_number_id")));
    assert_true(json_is_null(json_object_get(st, "display_phone_number")));
    json_decref(st);
    r = unassign("6f1c3a52-9b1e-4c1d-8f00-1234567890ab");
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
}

static void audit_log_filters_limits_and_orders(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Panadería Audit", id);
    for (int i = 0; i < 30; i++) {
        assign_ok(id, i % 2 ? PHONE(02) : PHONE(03));
        struct h_resp r = unassign(id);
        h_resp_free(&r);
    }
    char *path = xasprintf("/api/v1/admin/whatsapp/audit-log?tenant_id=%s", id);
    struct h_resp r = call("GET", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 50); /* the default limit */
    json_t *newest = json_array_get(r.json, 0);
    assert_string_equal(json_string_value(json_object_get(newest, "action")), "unassign");
    assert_string_equal(json_string_value(json_object_get(newest, "tenant_id")), id);
    assert_string_equal(json_string_value(json_object_get(newest, "tenant_name")),
                        "Panadería Audit");
    assert_string_equal(json_string_value(json_object_get(newest, "actor")), "platform-admin");
    assert_string_equal(json_string_value(json_object_get(newest, "phone_number_id")), PHONE(02));
    assert_string_equal(json_string_value(json_object_get(newest, "display_phone_number")),
                        "+34 612 345 679");
    assert_non_null(json_object_get(newest, "reason"));
    assert_non_null(json_object_get(newest, "created_at"));
    json_int_t prev = json_integer_value(json_object_get(newest, "id")) + 1;
    size_t i;
    json_t *item;
    json_array_foreach (r.json, i, item) {
        json_int_t rid = json_integer_value(json_object_get(item, "id"));
        assert_true(rid < prev); /* newest first */
        prev = rid;
        assert_string_equal(json_string_value(json_object_get(item, "tenant_id")), id);
    }
    h_resp_free(&r);
    free(path);

    path = xasprintf("/api/v1/admin/whatsapp/audit-log?tenant_id=%s&limit=500", id);
    r = call("GET", path, ht_admin(), NULL);
    assert_int_equal(json_array_size(r.json), 60);
    h_resp_free(&r);
    free(path);
    path = xasprintf("/api/v1/admin/whatsapp/audit-log?tenant_id=%s&limit=1", id);
    r = call("GET", path, ht_admin(), NULL);
    assert_int_equal(json_array_size(r.json), 1);
    h_resp_free(&r);
    free(path);

    /* unfiltered: every tenant's rows, still newest first */
    r = call("GET", "/api/v1/admin/whatsapp/audit-log?limit=500", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_array_size(r.json) > 60);
    h_resp_free(&r);
    r = call("GET", "/api/v1/admin/whatsapp/audit-log?limit=501", ht_admin(), NULL);
    h_assert_error(&r, 422, "validation_error");
    h_resp_free(&r);
}

/* ---------- the account's health ---------- */

#define HEALTH "/api/v1/admin/whatsapp/health"

/* The object of array whose key is value (borrowed), or NULL. */
static const json_t *find_by(const json_t *array, const char *key, const char *value,
                             const char *key2, const char *value2)
{
    size_t i;
    const json_t *item;
    json_array_foreach (array, i, item) {
        const char *v = json_string_value(json_object_get(item, key));
        const char *v2 = key2 ? json_string_value(json_object_get(item, key2)) : NULL;
        if (v && strcmp(v, value) == 0 && (!key2 || (v2 && strcmp(v2, value2) == 0)))
            return item;
    }
    return NULL;
}

static void assert_str(const json_t *obj, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v || strcmp(v, want) != 0)
        fail_msg("%s is %s, want %s", key, v ? v : "(not a string)", want);
}

/* graph-sim changes one number's status, name, quality and throughput and the
 * portfolio's messaging limit; the health (through tenant-service, from
 * notification-service, which reads Graph with no cache in this suite) says each as
 * graph-sim does, next to the untouched numbers, the templates and the local parts. */
static void health_shows_what_graph_reports(void **state)
{
    (void)state;
    sim_control("/_sim/phone_numbers/update",
                "{\"phone_number_id\": \"" PHONE_YELLOW "\", \"status\": \"FLAGGED\", "
                "\"name_status\": \"DECLINED\", \"quality_rating\": \"RED\", "
                "\"throughput_level\": \"HIGH\"}");
    sim_control("/_sim/settings", "{\"messaging_limit\": 2000}");

    struct h_resp r = call("GET", HEALTH, ht_admin(), NULL);
    if (r.status != 200)
        fail_msg("health: %ld %s", r.status, r.body);
    const json_t *numbers = json_object_get(r.json, "phone_numbers");
    assert_int_equal(json_array_size(numbers), 12);
    const json_t *flagged = find_by(numbers, "id", PHONE_YELLOW, NULL, NULL);
    assert_non_null(flagged);
    assert_str(flagged, "status", "FLAGGED");
    assert_str(flagged, "name_status", "DECLINED");
    assert_str(flagged, "quality_rating", "RED");
    assert_str(flagged, "throughput_level", "HIGH");
    assert_str(flagged, "can_send_message", "LIMITED");
    assert_true(json_is_false(json_object_get(flagged, "is_default")));
    const json_t *fine = find_by(numbers, "id", PHONE_GREEN2, NULL, NULL);
    assert_non_null(fine);
    assert_str(fine, "status", "CONNECTED");
    assert_str(fine, "name_status", "APPROVED");
    assert_str(fine, "quality_rating", "GREEN");
    assert_str(fine, "throughput_level", "STANDARD");
    assert_str(fine, "can_send_message", "AVAILABLE");
    assert_str(fine, "display_phone_number", "+34 612 345 679");
    const json_t *platform = find_by(numbers, "id", PHONE_PLATFORM, NULL, NULL);
    assert_true(json_is_true(json_object_get(platform, "is_default")));
    assert_str(r.json, "messaging_limit", "TIER_2K");

    const json_t *tpl =
        find_by(json_object_get(r.json, "templates"), "name", "po_notification", "language", "es");
    assert_non_null(tpl);
    assert_str(tpl, "status", "APPROVED");
    assert_str(tpl, "category", "UTILITY");
    assert_str(tpl, "quality", "GREEN");
    assert_true(json_string_length(json_object_get(tpl, "id")) > 0);
    assert_true(json_is_null(json_object_get(tpl, "message_send_ttl_seconds")));

    const json_t *version = json_object_get(r.json, "api_version");
    assert_str(version, "asked", "v25.0");
    assert_true(json_is_false(json_object_get(version, "differs")));
    const json_t *account = json_object_get(r.json, "account");
    assert_str(account, "state", "sending");
    assert_true(json_is_null(json_object_get(account, "paused")));
    assert_int_equal(json_array_size(json_object_get(account, "missing")), 0);
    const json_t *graph = json_object_get(r.json, "graph");
    assert_str(graph, "cache", "miss"); /* PHONE_NUMBERS_CACHE_SECONDS=0 */
    assert_true(json_is_null(json_object_get(graph, "error")));
    h_resp_free(&r);

    /* the list endpoints keep their shape: the health's extras are not in them */
    r = call("GET", "/api/v1/admin/whatsapp/phone-numbers", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    flagged = find_by(r.json, "id", PHONE_YELLOW, NULL, NULL);
    assert_str(flagged, "quality_rating", "RED");
    assert_null(json_object_get(flagged, "status"));
    h_resp_free(&r);

    /* the platform admin's only */
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Panadería Curiosa", id);
    char *owner = ht_user(id, "owner");
    r = call("GET", HEALTH, owner, NULL);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = call("GET", HEALTH, ht_service(), NULL);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    free(owner);
    sim_control("/_sim/reset", NULL);
}

/* ---------- diagnostics ---------- */

/* GET diagnostics of tenant; returns the check called name (a new reference) and the
 * overall ok in *all_ok. */
static json_t *diagnose(const struct h_proc *ts, const char *tenant, const char *name, bool *all_ok)
{
    char *path = xasprintf("/api/v1/admin/whatsapp/tenants/%s/diagnostics", tenant);
    struct h_resp r = ht_call(ts, "GET", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "tenant_id"), tenant);
    json_t *found = NULL;
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(r.json, "checks"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            found = json_incref(c);
    }
    assert_non_null(found);
    if (all_ok)
        *all_ok = json_is_true(json_object_get(r.json, "ok"));
    h_resp_free(&r);
    free(path);
    return found;
}

static void check_says(const struct h_proc *ts, const char *tenant, const char *name, bool ok,
                       const char *detail_part)
{
    json_t *c = diagnose(ts, tenant, name, NULL);
    const char *detail = json_string_value(json_object_get(c, "detail"));
    if (json_is_true(json_object_get(c, "ok")) != ok || !strstr(detail, detail_part))
        fprintf(stderr, "check %s: ok=%d detail=%s\n", name, json_is_true(json_object_get(c, "ok")),
                detail);
    assert_int_equal(json_is_true(json_object_get(c, "ok")), ok);
    assert_non_null(strstr(detail, detail_part));
    if (ok)
        assert_true(json_is_null(json_object_get(c, "fix")));
    else
        assert_true(json_string_length(json_object_get(c, "fix")) > 0);
    json_decref(c);
}

static void diagnostics_walk_the_checklist(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Panadería Diagnóstico", id);
    bool all_ok = true;
    json_t *c = diagnose(&w.ts, id, "whatsapp_enabled", &all_ok);
    assert_false(all_ok);
    assert_true(json_is_false(json_object_get(c, "ok")));
    json_decref(c);
    check_says(&w.ts, id, "phone_assigned", false, "No phone number");
    check_says(&w.ts, id, "phone_in_waba", false, "No phone number");
    check_says(&w.ts, id, "master_credentials", true, "configured");
    check_says(&w.ts, id, "template_approved", true, "approved in \"es\"");

    /* toggled on and given a GREEN number: everything passes */
    set_settings(id, "{\"whatsapp_enabled\": true}");
    assign_ok(id, PHONE_GREEN2);
    c = diagnose(&w.ts, id, "phone_in_waba", &all_ok);
    assert_true(all_ok);
    assert_string_equal(json_string_value(json_object_get(c, "quality_rating")), "GREEN");
    json_decref(c);

    /* PO notifications off: the first check says so */
    set_settings(id, "{\"enable_po_notifications\": false}");
    check_says(&w.ts, id, "whatsapp_enabled", false, "purchase-order");
    set_settings(id, "{\"enable_po_notifications\": true}");

    /* YELLOW passes with a warning, RED fails with a fix */
    assign_ok(id, PHONE_YELLOW);
    check_says(&w.ts, id, "phone_in_waba", true, "YELLOW");
    assign_ok(id, PHONE_RED);
    c = diagnose(&w.ts, id, "phone_in_waba", &all_ok);
    assert_false(all_ok);
    assert_true(json_is_false(json_object_get(c, "ok")));
    assert_string_equal(json_string_value(json_object_get(c, "quality_rating")), "RED");
    assert_non_null(strstr(json_string_value(json_object_get(c, "fix")), "GREEN"));
    json_decref(c);

    /* every supported language has its approved template in graph-sim */
    set_settings(id, "{\"whatsapp_default_language\": \"eu\"}");
    check_says(&w.ts, id, "template_approved", true, "\"eu\"");
    set_settings(id, "{\"whatsapp_default_language\": \"en\"}");
    check_says(&w.ts, id, "template_approved", true, "\"en\"");

    /* Meta's side changes: the template only pending in es, missing in en; the number
     * removed from the WABA */
    sim_control("/_sim/templates",
                "{\"replace\": true, \"templates\": [{\"name\": \"po_notification\", "
                "\"language\": \"es\", \"category\": \"UTILITY\", \"status\": \"PENDING\", "
                "\"components\": [{\"type\": \"BODY\", \"text\": \"Hola {{1}}, orden {{2}} por "
                "{{3}}.\"}]}]}");
    check_says(&w.ts, id, "template_approved", false, "no \"en\" version");
    set_settings(id, "{\"whatsapp_default_language\": \"es\"}");
    check_says(&w.ts, id, "template_approved", false, "PENDING");
    sim_control("/_sim/phone_numbers",
                "{\"replace\": true, \"phone_numbers\": [{\"id\": \"109876543210001\", "
                "\"display_phone_number\": \"+34 612 345 678\", \"verified_name\": \"Solo\", "
                "\"quality_rating\": \"GREEN\"}]}");
    check_says(&w.ts, id, "phone_in_waba", false, "not in the WhatsApp Business Account");
    sim_control("/_sim/reset", NULL);
    check_says(&w.ts, id, "template_approved", true, "approved");
    struct h_resp r = unassign(id);
    h_resp_free(&r);
    r = call("GET",
             "/api/v1/admin/whatsapp/tenants/6f1c3a52-9b1e-4c1d-8f00-1234567890ab/diagnostics",
             ht_admin(), NULL);
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
}

/* The diagnostics carry the health of what the tenant uses: its own number (else the
 * platform's), its language's template, the account's state; live from Graph. */
static void diagnostics_attach_the_health_of_what_the_tenant_uses(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&w.ts, "Panadería Sana", id);
    char *path = xasprintf("/api/v1/admin/whatsapp/tenants/%s/diagnostics", id);

    /* no number yet: the platform's sends for it */
    struct h_resp r = call("GET", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    const json_t *phone = json_object_get(r.json, "phone_number_health");
    assert_str(phone, "id", PHONE_PLATFORM);
    assert_true(json_is_true(json_object_get(phone, "is_default")));
    h_resp_free(&r);

    set_settings(id, "{\"whatsapp_enabled\": true, \"whatsapp_default_language\": \"en\"}");
    assign_ok(id, PHONE_GREEN2);
    sim_control("/_sim/phone_numbers/update",
                "{\"phone_number_id\": \"" PHONE_GREEN2 "\", \"status\": \"RESTRICTED\"}");
    sim_control("/_sim/templates/update",
                "{\"name\": \"po_notification\", \"language\": \"en\", \"quality\": \"YELLOW\"}");
    r = call("GET", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    phone = json_object_get(r.json, "phone_number_health");
    assert_str(phone, "id", PHONE_GREEN2);
    assert_str(phone, "status", "RESTRICTED");
    assert_str(phone, "can_send_message", "BLOCKED");
    assert_str(phone, "quality_rating", "GREEN");
    assert_str(phone, "throughput_level", "STANDARD");
    const json_t *tpl = json_object_get(r.json, "template_health");
    assert_str(tpl, "name", "po_notification");
    assert_str(tpl, "language", "en");
    assert_str(tpl, "status", "APPROVED");
    assert_str(tpl, "quality", "YELLOW");
    assert_str(json_object_get(r.json, "account"), "state", "sending");
    /* the checks it had stay */
    assert_int_equal(json_array_size(json_object_get(r.json, "checks")), 5);
    h_resp_free(&r);

    /* a language without the template: no entry */
    set_settings(id, "{\"whatsapp_default_language\": \"eu\"}");
    sim_control("/_sim/templates",
                "{\"replace\": true, \"templates\": [{\"name\": \"po_notification\", "
                "\"language\": \"es\", \"category\": \"UTILITY\", \"components\": [{\"type\": "
                "\"BODY\", \"text\": \"Hola {{1}}, orden {{2}} por {{3}}.\"}]}]}");
    r = call("GET", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_null(json_object_get(r.json, "template_health")));
    h_resp_free(&r);
    sim_control("/_sim/reset", NULL);
    r = unassign(id);
    h_resp_free(&r);
    free(path);
}

/* ---------- when the other side fails ---------- */

/* A notification-service of its own (Graph at graph_url, with or without the master
 * credentials) and a tenant-service talking to it, on the suite's tenant database. */
static void start_pair(struct h_proc *notif, struct h_proc *ts, const char *graph_url,
                       bool credentials)
{
    assert_true(start_notification(notif, graph_url, credentials));
    assert_true(ht_start_tenant(ts, w.tenant_db, notif->url, NULL, NULL));
}

static void stop_pair(struct h_proc *notif, struct h_proc *ts)
{
    assert_int_equal(h_stop(ts), 0);
    assert_int_equal(h_stop(notif), 0);
}

static void graph_failing_gives_502(void **state)
{
    (void)state;
    /* a notification-service whose Graph is gone, and that never had a list to serve */
    struct h_proc notif, ts;
    start_pair(&notif, &ts, ht_dead_url(), true);
    char id[HT_ID_LEN];
    ht_create_tenant(&ts, "Panadería Sin Graph", id);

    struct h_resp r = ht_call(&ts, "GET", "/api/v1/admin/whatsapp/phone-numbers", ht_admin(), NULL);
    h_assert_error(&r, 502, "upstream_error");
    assert_non_null(strstr(ht_str(&r, "message"), "notification-service answered HTTP 502"));
    h_resp_free(&r);
    char *path = xasprintf("/api/v1/admin/whatsapp/tenants/%s/assign-phone", id);
    r = ht_call(&ts, "POST", path, ht_admin(), "{\"phone_number_id\": \"" PHONE(01) "\"}");
    h_assert_error(&r, 502, "upstream_error");
    h_resp_free(&r);
    free(path);

    bool all_ok;
    json_t *c = diagnose(&ts, id, "template_approved", &all_ok);
    assert_false(all_ok);
    assert_true(json_is_false(json_object_get(c, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(c, "fix")), "notification-service"));
    json_decref(c);
    check_says(&ts, id, "master_credentials", true, "configured");

    /* the tenant endpoints do not need Graph at all */
    r = ht_call(&ts, "GET", "/api/v1/admin/whatsapp/tenants", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    stop_pair(&notif, &ts);
}

static void missing_master_credentials(void **state)
{
    (void)state;
    struct h_proc notif, ts;
    start_pair(&notif, &ts, w.sim.url, false);
    char id[HT_ID_LEN];
    ht_create_tenant(&ts, "Panadería Sin Credenciales", id);

    struct h_resp r = ht_call(&ts, "GET", "/api/v1/admin/whatsapp/phone-numbers", ht_admin(), NULL);
    h_assert_error(&r, 503, "upstream_unavailable");
    assert_non_null(strstr(ht_str(&r, "message"), "HTTP 503"));
    h_resp_free(&r);

    json_t *c = diagnose(&ts, id, "master_credentials", NULL);
    assert_true(json_is_false(json_object_get(c, "ok")));
    const char *detail = json_string_value(json_object_get(c, "detail"));
    assert_non_null(strstr(detail, "WHATSAPP_ACCESS_TOKEN"));
    assert_non_null(strstr(detail, "WHATSAPP_BUSINESS_ACCOUNT_ID"));
    assert_non_null(strstr(json_string_value(json_object_get(c, "fix")), "restart"));
    json_decref(c);
    stop_pair(&notif, &ts);
}

static void notification_service_stopping_gives_503(void **state)
{
    (void)state;
    struct h_proc notif, ts;
    start_pair(&notif, &ts, w.sim.url, true);
    struct h_resp r = ht_call(&ts, "GET", "/api/v1/admin/whatsapp/phone-numbers", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(h_stop(&notif), 0);
    r = ht_call(&ts, "GET", "/api/v1/admin/whatsapp/phone-numbers", ht_admin(), NULL);
    h_assert_error(&r, 503, "upstream_unavailable");
    h_resp_free(&r);
    /* the health too: notification-service holds it */
    r = ht_call(&ts, "GET", HEALTH, ht_admin(), NULL);
    h_assert_error(&r, 503, "upstream_unavailable");
    assert_non_null(strstr(ht_str(&r, "message"), "unreachable"));
    h_resp_free(&r);
    r = ht_call(&ts, "GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 200); /* tenants and settings still work */
    h_resp_free(&r);
    assert_int_equal(h_stop(&ts), 0);
}

struct message_wait {
    const char *url; /* GET .../messages/{id} */
    const char *token;
};

static bool message_decided(void *arg)
{
    const struct message_wait *m = arg;
    struct h_resp r = h_get(m->url, m->token);
    const char *st = json_string_value(json_object_get(r.json, "status"));
    bool done = r.status == 200 && st && strcmp(st, "queued") != 0 && strcmp(st, "sending") != 0;
    h_resp_free(&r);
    return done;
}

/* Both services with JWT_ISSUER, JWT_AUDIENCE and a JWT_MAX_TTL_SECONDS below the hour
 * their service tokens usually last: the token each mints for the other carries iss and
 * aud and keeps to the maximum. So the admin endpoints that go through
 * notification-service answer, and an order is decided on the settings tenant-service
 * gives notification-service (WhatsApp off: skipped), where a refused service token
 * would leave it waiting for tenant-service. */
static void service_tokens_meet_the_peer_policy(void **state)
{
    (void)state;
    struct h_proc ns, ts;
    unsigned ts_port = h_free_port();
    char *db = xasprintf("NOTIFICATION_DATABASE_URL=%s", w.notif_db);
    char *graph = xasprintf("GRAPH_API_BASE_URL=%s", w.sim.url);
    char *tenant = xasprintf("TENANT_SERVICE_URL=http://127.0.0.1:%u", ts_port);
    char *port = xasprintf("TENANT_PORT=%u", ts_port);
    const char *ns_env[] = {db,
                            graph,
                            tenant,
                            "JWT_SECRET=" H_JWT_SECRET,
                            "JWT_ISSUER=" H_ISSUER,
                            "JWT_AUDIENCE=" H_AUDIENCE,
                            "JWT_MAX_TTL_SECONDS=1800",
                            "SETTINGS_CACHE_TTL_SECONDS=0",
                            "WHATSAPP_ACCESS_TOKEN=" GRAPH_TOKEN,
                            "WHATSAPP_BUSINESS_ACCOUNT_ID=" WABA_ID,
                            "WHATSAPP_PHONE_NUMBER_ID=" PHONE(01),
                            NULL};
    assert_true(h_start(&ns, "notification-service", "NOTIFICATION_PORT", ns_env, "/health"));
    const char *ts_env[] = {port, "JWT_ISSUER=" H_ISSUER, "JWT_AUDIENCE=" H_AUDIENCE,
                            "JWT_MAX_TTL_SECONDS=1800", NULL};
    assert_true(ht_start_tenant(&ts, w.tenant_db, ns.url, NULL, ts_env));

    const struct auth_policy policy = {
        .secret = H_JWT_SECRET, .issuer = H_ISSUER, .audience = H_AUDIENCE, .max_ttl = 1800};
    struct auth_principal p;
    memset(&p, 0, sizeof p);
    p.role = AUTH_ROLE_ADMIN;
    snprintf(p.sub, sizeof p.sub, "policy-admin");
    char *admin = auth_mint(&policy, &p, 600);
    assert_non_null(admin);

    /* tenant-service -> notification-service */
    struct h_resp r = ht_call(&ts, "GET", "/api/v1/admin/whatsapp/phone-numbers", admin, NULL);
    if (r.status != 200)
        fail_msg("phone numbers through the policy pair: %ld %s", r.status, r.body);
    h_resp_free(&r);

    /* notification-service -> tenant-service */
    r = ht_call(&ts, "POST", "/api/v1/tenants", admin, "{\"name\": \"Panadería Política\"}");
    assert_int_equal(r.status, 201);
    char id[HT_ID_LEN];
    snprintf(id, sizeof id, "%s", ht_str(&r, "id"));
    h_resp_free(&r);
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", id);
    r = ht_call(&ts, "PUT", path, admin, "{\"whatsapp_enabled\": false}");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(path);
    char *body =
        xasprintf("{\"event_id\": \"0b6b7f3e-2c1d-4e8f-9a0b-1c2d3e4f5a6b\", \"tenant_id\": "
                  "\"%s\", \"po_number\": \"PO-1\", \"supplier_name\": \"Harinas\", "
                  "\"supplier_phone\": \"+34600100099\", \"total_amount\": \"10.50\", "
                  "\"currency\": \"EUR\"}",
                  id);
    char *url = h_url(ns.url, "/api/v1/notifications/purchase-orders");
    r = h_json("POST", url, admin, body);
    if (r.status != 202)
        fail_msg("purchase order: %ld %s", r.status, r.body);
    char *msg_url = h_url(ns.url, "/api/v1/whatsapp/messages/%s",
                          json_string_value(json_object_get(r.json, "message_id")));
    h_resp_free(&r);
    struct message_wait m = {msg_url, admin};
    assert_true(h_wait_until(message_decided, &m, 10000));
    r = h_get(msg_url, admin);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "skipped");
    h_resp_free(&r);

    free(msg_url);
    free(url);
    free(body);
    free(admin);
    free(db);
    free(graph);
    free(tenant);
    free(port);
    assert_int_equal(h_stop(&ts), 0);
    assert_int_equal(h_stop(&ns), 0);
}

struct admin_call {
    const struct h_proc *ts;
    struct h_resp r;
    atomic_bool done;
};

static void *admin_phone_numbers(void *arg)
{
    struct admin_call *c = arg;
    c->r = ht_call(c->ts, "GET", "/api/v1/admin/whatsapp/phone-numbers", ht_admin(), NULL);
    atomic_store(&c->done, true);
    return NULL;
}

static bool both_workers_wait(void *arg)
{
    return h_silent_requests(arg, "/api/v1/whatsapp/phone-numbers") >= 2;
}

static bool one_queued(void *arg)
{
    return h_metric(((struct h_proc *)arg)->url, "http_worker_queue") == 1;
}

/* Admin requests wait on notification-service (here one that never answers) on the
 * workers: with both of them waiting and a third request queued for one, the one HTTP
 * thread still answers an owner's settings read at once. With waiting handlers on the
 * HTTP threads, that read would wait for UPSTREAM_TIMEOUT_MS. */
static void waiting_admin_requests_do_not_hold_up_settings_reads(void **state)
{
    (void)state;
    struct h_silent *peer = h_silent_start();
    assert_non_null(peer);
    const char *env[] = {"HTTP_THREADS=1", "HTTP_WORKERS=2", NULL};
    struct h_proc ts;
    assert_true(ht_start_tenant(&ts, w.tenant_db, h_silent_url(peer), NULL, env));
    char id[HT_ID_LEN];
    ht_create_tenant(&ts, "Panadería Paciente", id);

    struct admin_call calls[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        calls[i] = (struct admin_call){.ts = &ts};
        assert_int_equal(pthread_create(&th[i], NULL, admin_phone_numbers, &calls[i]), 0);
    }
    assert_true(h_wait_until(both_workers_wait, peer, 10000)); /* both wait on the peer */
    assert_true(h_wait_until(one_queued, &ts, 10000));         /* the third waits for one */

    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", id);
    char *owner = ht_user(id, "owner");
    struct h_resp r = ht_call(&ts, "GET", path, owner, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_boolean(json_object_get(r.json, "whatsapp_enabled")));
    h_resp_free(&r);
    for (int i = 0; i < 3; i++)
        assert_false(atomic_load(&calls[i].done)); /* still waiting on the silent peer */

    for (int i = 0; i < 3; i++) { /* each in turn gets its own timeout's answer */
        pthread_join(th[i], NULL);
        h_assert_error(&calls[i].r, 503, "upstream_unavailable");
        h_resp_free(&calls[i].r);
    }
    assert_int_equal(h_stop(&ts), 0);
    h_silent_stop(peer);
    free(owner);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phone_numbers_merge_the_waba_with_holders),
        cmocka_unit_test(assign_phone_with_the_seed_message),
        cmocka_unit_test(display_number_comes_from_the_waba),
        cmocka_unit_test(the_platform_number_is_reserved),
        cmocka_unit_test(a_display_number_not_the_accounts_is_refused),
        cmocka_unit_test(new_number_replaces_the_old_one),
        cmocka_unit_test(assign_refuses_bad_requests),
        cmocka_unit_test(number_of_another_tenant_is_409),
        cmocka_unit_test(concurrent_assignments_have_one_winner),
        cmocka_unit_test(unassign_is_idempotent_and_audited),
        cmocka_unit_test(audit_log_filters_limits_and_orders),
        cmocka_unit_test(health_shows_what_graph_reports),
        cmocka_unit_test(diagnostics_walk_the_checklist),
        cmocka_unit_test(diagnostics_attach_the_health_of_what_the_tenant_uses),
        cmocka_unit_test(graph_failing_gives_502),
        cmocka_unit_test(missing_master_credentials),
        cmocka_unit_test(service_tokens_meet_the_peer_policy),
        cmocka_unit_test(notification_service_stopping_gives_503),
        cmocka_unit_test(waiting_admin_requests_do_not_hold_up_settings_reads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
