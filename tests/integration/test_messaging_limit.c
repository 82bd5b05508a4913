/* test_messaging_limit.c - the business portfolio's messaging limit shared fairly
 * (issue 20): graph-sim limits the account to 250 unique recipients per rolling 24 h and
 * refuses the 251st as Meta does; notification-service learns the limit from a
 * business_capability_update webhook, keeps every message to a new recipient beyond it
 * waiting (reason messaging_limit) instead of earning the refusal, keeps the last
 * quarter of the limit for bakeries under their share, and sends what waited once the
 * window moves on. Three bakeries race for it through two instances. */
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

#define LIMIT 250
#define SHARE 62 /* 25% of 250 */

static struct h_stack st;
static struct h_proc second;
static char hog[HT_ID_LEN], small[HT_ID_LEN], late[HT_ID_LEN];
static int next_phone;

static long sql_long(const char *sql)
{
    char *v = h_sql(st.notif_db, sql);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

static long count_of(const char *tenant, const char *where)
{
    char *sql = xasprintf("SELECT count(*) FROM whatsapp_messages WHERE tenant_id = '%s' AND %s",
                          tenant, where);
    long n = sql_long(sql);
    free(sql);
    return n;
}

static long sent_of(const char *tenant)
{
    return count_of(tenant, "status IN ('sent', 'delivered', 'read')");
}

static long waiting_of(const char *tenant)
{
    return count_of(tenant, "status = 'queued' AND "
                            "error_message LIKE 'messaging_limit: %'");
}

static long ended_badly(void)
{
    return sql_long("SELECT count(*) FROM whatsapp_messages WHERE status IN ('failed', "
                    "'skipped')");
}

/* graph-sim's own count of the refusals Meta gives past the limit, and of the unique
 * recipients it counted. */
static long sim_refusals(long *used)
{
    struct h_resp r = h_call("GET", st.sim.url, NULL, NULL, "/_sim/stats");
    long refused = json_integer_value(json_object_get(
        json_object_get(json_object_get(r.json, "messages"), "errors_by_code"), "131048"));
    *used = (long)json_integer_value(
        json_object_get(json_object_get(r.json, "messaging_limit"), "used"));
    h_resp_free(&r);
    return refused;
}

struct poster {
    const struct h_proc *p;
    const char *tenant;
    int n;
};

static void *post_orders(void *arg)
{
    const struct poster *o = arg;
    for (int i = 0; i < o->n; i++) {
        char to[16];
        snprintf(to, sizeof to, "+3460070%04d",
                 __atomic_fetch_add(&next_phone, 1, __ATOMIC_SEQ_CST));
        free(hs_post_order(o->p, o->tenant, to));
    }
    return NULL;
}

static void post_all(struct poster *posters, int n)
{
    pthread_t th[8];
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, post_orders, &posters[i]), 0);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

struct expect {
    long sent, waiting; /* over all three bakeries */
};

/* The three bakeries' sent and waiting (as sent_of() and waiting_of() count them) and
 * what is in flight, in one query: one snapshot, and one connection per poll. A waiting
 * row is claimed again now and then to look at the limit (WHATSAPP_PAUSE_PROBE_MAX_MS):
 * while claimed it is 'sending' with its reason kept, and counts as in flight. */
static void counts(long *sent, long *waiting, long *other)
{
    char *sql = xasprintf(
        "SELECT count(*) FILTER (WHERE tenant_id IN ('%s', '%s', '%s') AND status IN "
        "('sent', 'delivered', 'read')) || ' ' || count(*) FILTER (WHERE tenant_id IN ('%s', "
        "'%s', '%s') AND status = 'queued' AND error_message LIKE 'messaging_limit: %%') || ' ' "
        "|| count(*) FILTER (WHERE status = 'sending' OR (status = 'queued' AND (error_message "
        "IS NULL OR error_message NOT LIKE 'messaging_limit: %%'))) FROM whatsapp_messages",
        hog, small, late, hog, small, late);
    char *v = h_sql(st.notif_db, sql);
    *sent = *waiting = *other = -1;
    if (v)
        sscanf(v, "%ld %ld %ld", sent, waiting, other);
    free(v);
    free(sql);
}

static bool settled(void *arg)
{
    const struct expect *e = arg;
    long sent, waiting, other;
    counts(&sent, &waiting, &other);
    return sent == e->sent && waiting == e->waiting && other == 0;
}

/* Nothing in flight: every row sent or waiting for the limit; arg (an expect) gets that
 * snapshot's counts. */
static bool quiet(void *arg)
{
    struct expect *e = arg;
    long other;
    counts(&e->sent, &e->waiting, &other);
    return other == 0;
}

static void report(const char *when)
{
    long used, refused = sim_refusals(&used);
    char *other =
        h_sql(st.notif_db, "SELECT count(*) || ' ' || coalesce(min(status || ': ' || "
                           "coalesce(error_message, '-')), '') FROM whatsapp_messages WHERE "
                           "status NOT IN ('sent', 'delivered', 'read') AND (error_message IS NULL "
                           "OR error_message NOT LIKE 'messaging_limit: %')");
    printf("# %s: sent hog %ld small %ld late %ld; waiting hog %ld small %ld late %ld; "
           "others %s; graph-sim: %ld unique recipients, %ld refusals (131048)\n",
           when, sent_of(hog), sent_of(small), sent_of(late), waiting_of(hog), waiting_of(small),
           waiting_of(late), other ? other : "?", used, refused);
    free(other);
}

/* ---------- the cases ---------- */

/* One bakery's burst takes the account up to limit - share and no further; then it races
 * two bakeries under their share through two instances: they take the last share, the
 * account reaches its limit exactly, the burst's bakery gets none of it, and Graph
 * refuses nothing. */
static void a_burst_leaves_the_last_share_to_the_others(void **state)
{
    (void)state;
    struct poster burst = {&st.notif, hog, 220};
    post_all(&burst, 1);
    struct expect e = {LIMIT - SHARE, 220 - (LIMIT - SHARE)};
    bool ok = h_wait_until(settled, &e, 60000);
    report("one bakery's burst of 220");
    assert_true(ok);
    assert_int_equal(sent_of(hog), LIMIT - SHARE);

    struct poster race[6] = {{&st.notif, hog, 10}, {&second, hog, 10},    {&st.notif, small, 10},
                             {&second, small, 10}, {&st.notif, late, 30}, {&second, late, 30}};
    post_all(race, 6);
    e = (struct expect){LIMIT, 240 + 20 + 60 - LIMIT};
    ok = h_wait_until(settled, &e, 60000);
    report("then three bakeries racing through two instances");
    assert_true(ok);
    assert_int_equal(sent_of(hog), LIMIT - SHARE);
    assert_int_equal(sent_of(small) + sent_of(late), SHARE);
    assert_true(sent_of(small) > 0 && sent_of(late) > 0);
    long used, refused = sim_refusals(&used);
    assert_int_equal(refused, 0);
    assert_int_equal(used, LIMIT);
    assert_int_equal(ended_badly(), 0);
}

/* Sending to a recipient reached in the last 24 h costs no place: it goes at once. */
static void a_known_recipient_goes_at_the_limit(void **state)
{
    (void)state;
    char *to = h_sql(st.notif_db, "SELECT recipient_phone FROM whatsapp_messages WHERE "
                                  "status IN ('sent', 'delivered', 'read') LIMIT 1");
    assert_non_null(to);
    long before = sent_of(small);
    char *id = hs_post_order(&st.notif, small, to);
    char *status = NULL;
    for (int i = 0; i < 100; i++) {
        free(status);
        status = hs_column(&st, id, "status");
        if (strcmp(status, "queued") != 0 && strcmp(status, "sending") != 0)
            break;
        usleep(100 * 1000);
    }
    assert_true(strcmp(status, "sent") == 0 || strcmp(status, "delivered") == 0 ||
                strcmp(status, "read") == 0);
    assert_int_equal(sent_of(small), before + 1);
    free(status);
    free(id);
    free(to);
}

/* A day later the window has moved on: what waited goes out, up to the limit again. */
static void what_waited_goes_when_the_window_moves_on(void **state)
{
    (void)state;
    /* what waits, counted when nothing is in flight (a slow run may still be sending) */
    struct expect now;
    assert_true(h_wait_until(quiet, &now, 30000));
    long waiting = now.waiting;
    assert_true(waiting > 0 && waiting < LIMIT - SHARE);
    /* 24 h pass, for graph-sim's count and for the database's */
    hs_sim(&st, "/_sim/clock", "{\"advance_ms\": 86400000}");
    free(h_sql(st.notif_db,
               "UPDATE whatsapp_reach SET reached_at = reached_at - interval '24 hours'"));
    struct expect e = {now.sent + waiting, 0};
    bool ok = h_wait_until(settled, &e, 60000); /* as the others: eventually */
    report("a day later");
    assert_true(ok);
    long used, refused = sim_refusals(&used);
    assert_int_equal(refused, 0);
    assert_int_equal(used, waiting);
    assert_int_equal(ended_badly(), 0);
}

/* ---------- the stack ---------- */

/* Both instances' senders keep to the limit the webhook reported to the first. */
static bool limit_learned(void *arg)
{
    (void)arg;
    return h_metric(st.notif.url, "whatsapp_messaging_limit") == LIMIT &&
           h_metric(second.url, "whatsapp_messaging_limit") == LIMIT;
}

static int setup(void **state)
{
    (void)state;
    static const char *const notif[] = {"WHATSAPP_PAUSE_PROBE_MAX_MS=1000", NULL};
    static const char *const ts[] = {"PLAN_DEFAULT=enterprise", NULL};
    char name[48];
    snprintf(name, sizeof name, "messaging_limit_%ld", (long)getpid());
    if (!hs_start(&st, name, notif, ts) || !hs_start_notification(&st, &second, h_free_port()))
        return -1;
    char *hook = xasprintf("{\"webhook_url\":\"%s/api/v1/whatsapp/webhook\","
                           "\"messaging_limit\":%d,\"status_delay_ms\":50}",
                           st.notif.url, LIMIT);
    hs_sim(&st, "/_sim/settings", hook);
    free(hook);
    ht_create_tenant(&st.ts, "Panadería Ráfaga", hog);
    ht_create_tenant(&st.ts, "Horno Pequeño", small);
    ht_create_tenant(&st.ts, "Obrador Tardío", late);
    const char *tenants[] = {hog, small, late};
    const char *phones[] = {HS_PHONE(02), HS_PHONE(03), HS_PHONE(04)};
    for (int i = 0; i < 3; i++) {
        hs_settings(&st, tenants[i], "{\"whatsapp_enabled\": true}");
        hs_assign(&st, tenants[i], phones[i]);
    }
    /* Meta announces the portfolio's limit; the webhook reaches the first instance, and
     * the second learns it through the database */
    hs_sim(&st, "/_sim/account-events", "{\"field\": \"business_capability_update\"}");
    return h_wait_until(limit_learned, NULL, 10000) ? 0 : -1;
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
        cmocka_unit_test(a_burst_leaves_the_last_share_to_the_others),
        cmocka_unit_test(a_known_recipient_goes_at_the_limit),
        cmocka_unit_test(what_waited_goes_when_the_window_moves_on),
    };
    if (!h_pg_start())
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
