/* test_settings_now.c - a change takes effect at once (issue 15): the way an owner and
 * an admin act, a setting changed and an order posted the next instant, on one and on
 * two notification-service instances sharing one database. Every case first warms the
 * instances' settings with the old value, so a cache that lags shows; a plan change
 * (issue 20) is held to the same bound. Also: intake with tenant-service down, and the
 * one log line per final outcome. */
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

#define PLATFORM HS_PHONE(01) /* WHATSAPP_PHONE_NUMBER_ID of the stack */
#define ROUNDS 3              /* flips per case: a lagging cache gets several chances to show */

static struct h_stack st;
static struct h_proc second; /* another notification-service on the same database */
static const struct h_proc *instances[2];
static size_t ninstances = 1;
static int next_phone; /* recipients: each order its own, so graph-sim can be asked */

/* ---------- helpers ---------- */

static void unassign(const char *tenant)
{
    char *path = xasprintf("/api/v1/admin/whatsapp/tenants/%s/unassign-phone", tenant);
    struct h_resp r = ht_call(&st.ts, "DELETE", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(path);
}

/* Posts a purchase order of tenant through instance p to a recipient of its own (written
 * to to); writes the message id. Returns the HTTP status. */
static long post(const struct h_proc *p, const char *tenant, char to[16], char id[UUID_STR_LEN])
{
    char event[UUID_STR_LEN];
    uuid_new(event);
    snprintf(to, 16, "+3460020%04d", next_phone++);
    char *body = xasprintf("{\"event_id\":\"%s\",\"tenant_id\":\"%s\",\"po_number\":\"PO-7\","
                           "\"supplier_name\":\"Harinas Norte\",\"supplier_phone\":\"%s\","
                           "\"total_amount\":\"1250.00\",\"currency\":\"EUR\"}",
                           event, tenant, to);
    struct h_resp r =
        h_call("POST", p->url, ht_service(), body, "/api/v1/notifications/purchase-orders");
    long status = r.status;
    id[0] = '\0';
    if (status == 202 || status == 200)
        snprintf(id, UUID_STR_LEN, "%s", ht_str(&r, "message_id"));
    else
        fprintf(stderr, "post: %ld %s\n", r.status, r.body);
    h_resp_free(&r);
    free(body);
    return status;
}

static bool final(void *arg)
{
    char *s = hs_column(&st, arg, "status");
    bool done = strcmp(s, "sent") == 0 || strcmp(s, "delivered") == 0 || strcmp(s, "read") == 0 ||
                strcmp(s, "failed") == 0 || strcmp(s, "skipped") == 0;
    free(s);
    return done;
}

/* The phone number ids graph-sim received for recipient to, comma-separated ("" none). */
static char *sim_senders(const char *to)
{
    struct h_resp r = h_call("GET", st.sim.url, NULL, NULL, "/_sim/messages?to=%%2B%s", to + 1);
    assert_int_equal(r.status, 200);
    struct buf b = {0};
    buf_append_str(&b, "");
    size_t i;
    json_t *m;
    json_array_foreach (json_object_get(r.json, "messages"), i, m)
        buf_printf(&b, "%s%s", i ? "," : "",
                   json_string_value(json_object_get(m, "phone_number_id")));
    h_resp_free(&r);
    return buf_steal(&b);
}

/* Posts an order of tenant through p at once and checks where it went: sent from phone
 * (graph-sim received it from exactly that number), or skipped for reason when phone is
 * NULL (graph-sim received nothing). */
static void expect(const struct h_proc *p, const char *tenant, const char *phone,
                   const char *reason)
{
    char to[16], id[UUID_STR_LEN];
    assert_int_equal(post(p, tenant, to, id), 202);
    if (!h_wait_until(final, id, 10000)) {
        char *s = hs_column(&st, id, "status");
        fail_msg("message %s stayed %s", id, s);
    }
    char *status = hs_column(&st, id, "status");
    char *skip = hs_column(&st, id, "skip_reason");
    char *from = hs_column(&st, id, "phone_number_id");
    char *got = sim_senders(to);
    if (phone) {
        if (strcmp(status, "sent") != 0 || strcmp(from, phone) != 0 || strcmp(got, phone) != 0)
            fail_msg("order %s of %s via %s: %s (%s) from %s, graph-sim got it from [%s]; want "
                     "sent from %s",
                     id, tenant, p->url, status, skip, from, got, phone);
    } else if (strcmp(status, "skipped") != 0 || strcmp(skip, reason) != 0 || got[0]) {
        fail_msg("order %s of %s via %s: %s (%s) from %s, graph-sim got it from [%s]; want "
                 "skipped (%s)",
                 id, tenant, p->url, status, skip, from, got, reason);
    }
    free(status);
    free(skip);
    free(from);
    free(got);
}

/* expect() through every running instance. */
static void expect_all(const char *tenant, const char *phone, const char *reason)
{
    for (size_t i = 0; i < ninstances; i++)
        expect(instances[i], tenant, phone, reason);
}

/* ---------- the cases, each run with one and then two instances ---------- */

static void toggle_on_then_post_at_once_is_sent(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    ht_create_tenant(&st.ts, ninstances == 1 ? "Horno Uno" : "Horno Dos", t);
    hs_assign(&st, t, HS_PHONE(02));
    expect_all(t, NULL, "whatsapp_disabled_for_tenant"); /* warms every cache with "off" */
    for (int round = 0; round < ROUNDS; round++) {
        hs_settings(&st, t, "{\"whatsapp_enabled\": true}");
        expect_all(t, HS_PHONE(02), NULL);
        hs_settings(&st, t, "{\"whatsapp_enabled\": false}");
        expect_all(t, NULL, "whatsapp_disabled_for_tenant");
    }
    unassign(t);
}

static void toggle_off_then_post_at_once_is_skipped(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    ht_create_tenant(&st.ts, ninstances == 1 ? "Obrador Uno" : "Obrador Dos", t);
    hs_assign(&st, t, HS_PHONE(03));
    hs_settings(&st, t, "{\"whatsapp_enabled\": true}");
    expect_all(t, HS_PHONE(03), NULL); /* warms every cache with "on" */
    for (int round = 0; round < ROUNDS; round++) {
        hs_settings(&st, t, "{\"enable_po_notifications\": false}");
        expect_all(t, NULL, "po_notifications_disabled");
        hs_settings(&st, t, "{\"enable_po_notifications\": true, \"whatsapp_enabled\": false}");
        expect_all(t, NULL, "whatsapp_disabled_for_tenant");
        hs_settings(&st, t, "{\"whatsapp_enabled\": true}");
        expect_all(t, HS_PHONE(03), NULL);
    }
    unassign(t);
}

/* A number moved from bakery A to bakery B: A's next order, posted at once, never goes
 * out from it (it goes from the platform's number); B's does. */
static void a_moved_number_stops_sending_for_its_old_holder_at_once(void **state)
{
    (void)state;
    char a[HT_ID_LEN], b[HT_ID_LEN];
    ht_create_tenant(&st.ts, ninstances == 1 ? "Tahona A1" : "Tahona A2", a);
    ht_create_tenant(&st.ts, ninstances == 1 ? "Tahona B1" : "Tahona B2", b);
    hs_settings(&st, a, "{\"whatsapp_enabled\": true}");
    hs_settings(&st, b, "{\"whatsapp_enabled\": true}");
    hs_assign(&st, a, HS_PHONE(04));
    expect_all(a, HS_PHONE(04), NULL);
    expect_all(b, PLATFORM, NULL);
    for (int round = 0; round < ROUNDS; round++) {
        const char *from = round % 2 ? b : a, *to = round % 2 ? a : b;
        unassign(from);
        hs_assign(&st, to, HS_PHONE(04));
        expect_all(from, PLATFORM, NULL);
        expect_all(to, HS_PHONE(04), NULL);
    }
    unassign(a);
    unassign(b);
}

/* A plan change (issue 20) rides the settings feed like any setting: an order posted the
 * instant after the admin's change is counted against the new quota. basic (0 a month)
 * skips it quota_exceeded, enterprise (unlimited) sends it, an override of 0 skips again
 * and taking it away sends. */
static void plan_change_then_post_at_once_follows_the_quota(void **state)
{
    (void)state;
    char t[HT_ID_LEN];
    ht_create_tenant(&st.ts, ninstances == 1 ? "Horno Plan Uno" : "Horno Plan Dos", t);
    hs_assign(&st, t, HS_PHONE(07));
    hs_settings(&st, t, "{\"whatsapp_enabled\": true}");
    expect_all(t, HS_PHONE(07), NULL); /* warms every cache with standard (500 a month) */
    static const char *const changes[] = {"{\"plan\": \"basic\"}", "{\"plan\": \"enterprise\"}",
                                          "{\"quota_override\": 0}",
                                          "{\"plan\": \"standard\", \"quota_override\": null}"};
    char *path = xasprintf("/api/v1/admin/tenants/%s/plan", t);
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < 4; i++) {
            struct h_resp r = ht_call(&st.ts, "PUT", path, ht_admin(), changes[i]);
            assert_int_equal(r.status, 200);
            h_resp_free(&r);
            if (i % 2 == 0)
                expect_all(t, NULL, "quota_exceeded");
            else
                expect_all(t, HS_PHONE(07), NULL);
        }
    }
    free(path);
    unassign(t);
}

/* tenant-service down: an order of a bakery this instance never saw is still taken
 * (it must never be lost), and goes out once tenant-service is back. */
static void intake_takes_orders_while_tenant_service_is_down(void **state)
{
    (void)state;
    char t[HT_ID_LEN], to[16], id[UUID_STR_LEN];
    ht_create_tenant(&st.ts, "Panadería Apagón", t);
    hs_settings(&st, t, "{\"whatsapp_enabled\": true}");
    hs_assign(&st, t, HS_PHONE(05));
    unsigned port = st.ts.port;
    assert_int_equal(h_stop(&st.ts), 0);
    assert_int_equal(post(&st.notif, t, to, id), 202);
    char unknown[UUID_STR_LEN], to2[16], id2[UUID_STR_LEN];
    uuid_new(unknown);
    assert_int_equal(post(&st.notif, unknown, to2, id2), 202); /* nobody can say: taken */
    usleep(300 * 1000);
    char *status = hs_column(&st, id, "status");
    assert_string_equal(status, "queued"); /* waits, never skipped */
    free(status);

    char *port_var = xasprintf("TENANT_PORT=%u", port);
    const char *env[] = {port_var, NULL};
    assert_true(ht_start_tenant(&st.ts, st.tenant_db, st.notif.url, "frontend-static", env));
    free(port_var);
    assert_true(h_wait_until(final, id, 15000));
    status = hs_column(&st, id, "status");
    char *from = hs_column(&st, id, "phone_number_id");
    assert_string_equal(status, "sent");
    assert_string_equal(from, HS_PHONE(05));
    free(status);
    free(from);
    unassign(t);
}

/* grep <message id> tells its whole story: one line for its final outcome, with the
 * tenant, the sender and the wamid. */
static void one_log_line_per_final_outcome(void **state)
{
    (void)state;
    char t[HT_ID_LEN], to[16], sent[UUID_STR_LEN], skipped[UUID_STR_LEN];
    ht_create_tenant(&st.ts, "Panadería Bitácora", t);
    hs_assign(&st, t, HS_PHONE(06));
    assert_int_equal(post(&st.notif, t, to, skipped), 202);
    assert_true(h_wait_until(final, skipped, 10000));
    hs_settings(&st, t, "{\"whatsapp_enabled\": true}");
    assert_int_equal(post(&st.notif, t, to, sent), 202);
    assert_true(h_wait_until(final, sent, 10000));
    char *wamid = hs_column(&st, sent, "wamid");
    usleep(100 * 1000);

    char needle[256];
    snprintf(needle, sizeof needle, " id=%s ", sent);
    assert_int_equal(h_log_count(&st.notif, needle), 1);
    snprintf(needle, sizeof needle, "msg=\"message sent\" id=%s tenant=%s to=+34600***", sent, t);
    assert_int_equal(h_log_count(&st.notif, needle), 1);
    snprintf(needle, sizeof needle, "sender_id=" HS_PHONE(06) " from=+34 61***683 wamid=%s", wamid);
    assert_int_equal(h_log_count(&st.notif, needle), 1);
    snprintf(needle, sizeof needle, " id=%s ", skipped);
    assert_int_equal(h_log_count(&st.notif, needle), 1);
    snprintf(needle, sizeof needle,
             "msg=\"message skipped\" id=%s tenant=%s reason=whatsapp_disabled_for_tenant", skipped,
             t);
    assert_int_equal(h_log_count(&st.notif, needle), 1);
    free(wamid);
    unassign(t);
}

/* ---------- set-up ---------- */

static int setup(void **state)
{
    (void)state;
    char name[48];
    snprintf(name, sizeof name, "settings_now_%ld", (long)getpid());
    if (!hs_start(&st, name, NULL, NULL))
        return -1;
    instances[0] = &st.notif;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = 0;
    if (second.pid && h_stop(&second) != 0)
        rc = -1;
    if (hs_stop(&st) != 0)
        rc = -1;
    h_drop_database(st.tenant_db);
    h_drop_database(st.notif_db);
    return rc;
}

static int two_instances(void **state)
{
    (void)state;
    if (!second.pid && !hs_start_notification(&st, &second, h_free_port()))
        return -1;
    instances[1] = &second;
    ninstances = 2;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(toggle_on_then_post_at_once_is_sent),
        cmocka_unit_test(toggle_off_then_post_at_once_is_skipped),
        cmocka_unit_test(a_moved_number_stops_sending_for_its_old_holder_at_once),
        cmocka_unit_test(plan_change_then_post_at_once_follows_the_quota),
        cmocka_unit_test(intake_takes_orders_while_tenant_service_is_down),
        cmocka_unit_test(one_log_line_per_final_outcome),
        cmocka_unit_test_setup(toggle_on_then_post_at_once_is_sent, two_instances),
        cmocka_unit_test_setup(toggle_off_then_post_at_once_is_skipped, two_instances),
        cmocka_unit_test_setup(a_moved_number_stops_sending_for_its_old_holder_at_once,
                               two_instances),
        cmocka_unit_test_setup(plan_change_then_post_at_once_follows_the_quota, two_instances),
    };
    if (!h_pg_start())
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
